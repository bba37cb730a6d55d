//! Sessions end when the user (or an admin) ends them: after `logout`, `changePassword`,
//! `setUserRole` or the user's deletion, the access tokens of the ended sessions are refused on the
//! next request (401, `UNAUTHENTICATED`) by every server process, not when they expire; and
//! checking costs an authenticated request no more than the one statement it already made.

use entity::enums::Role;
use serde_json::{Value, json};

use crate::support::TestApp;

const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { accessToken refreshToken } }";
const REFRESH: &str = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }";
const LOGOUT: &str = "mutation($token: String!) { logout(refreshToken: $token) }";
const CHANGE_PASSWORD: &str =
    "mutation($current: String!, $new: String!) { changePassword(currentPassword: $current, newPassword: $new) }";
const SET_ROLE: &str = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { role } }";
const PASSWORD: &str = "scrapyard-2563";

/// One signed-in session's tokens.
struct Tokens {
    access: String,
    refresh: String,
}

fn tokens(payload: &Value) -> Tokens {
    Tokens {
        access: payload["accessToken"].as_str().unwrap_or_else(|| panic!("no access token: {payload}")).to_owned(),
        refresh: payload["refreshToken"].as_str().unwrap_or_else(|| panic!("no refresh token: {payload}")).to_owned(),
    }
}

/// Registers `email` (the first session); its global id and tokens.
async fn register(app: &TestApp, email: &str) -> (String, Tokens) {
    let data = app
        .data(REGISTER, json!({ "input": { "email": email, "password": PASSWORD, "displayName": "Session Fan" } }))
        .await;
    (data["register"]["user"]["id"].as_str().unwrap().to_owned(), tokens(&data["register"]))
}

/// Another session of `email`.
async fn login(app: &TestApp, email: &str, password: &str) -> Tokens {
    tokens(&app.data(LOGIN, json!({ "email": email, "password": password })).await["login"])
}

/// The status of `{ me { id } }` with `token`, after checking what a refusal looks like.
async fn me_status(app: &TestApp, token: &str) -> u16 {
    let authorization = format!("Bearer {token}");
    let response = app
        .request(
            "POST",
            "/graphql",
            &[("content-type", "application/json"), ("authorization", &authorization)],
            Some(json!({ "query": "{ me { id } }" }).to_string().into_bytes()),
        )
        .await;
    let body = response.json();
    match response.status {
        200 => assert!(body["data"]["me"]["id"].is_string(), "{body}"),
        401 => {
            assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
            assert!(body.get("data").is_none(), "nothing may run as anonymous: {body}");
        }
        other => panic!("{other}: {body}"),
    }
    response.status
}

/// The status of `token` on each of `servers` (e.g. `app` and a second server on its database).
async fn works_on(servers: &[&TestApp], token: &str) -> Vec<u16> {
    let mut statuses = Vec::new();
    for server in servers {
        statuses.push(me_status(server, token).await);
    }
    statuses
}

db_tests!(
    logout_ends_its_session_and_only_that_one,
    a_password_change_ends_every_session_of_that_user_only,
    a_role_change_by_an_admin_ends_the_users_sessions,
    deleting_a_user_ends_all_their_sessions,
    checking_the_session_costs_no_extra_statement
);

async fn logout_ends_its_session_and_only_that_one(app: TestApp) {
    let other = app.respawn(|_| {}).await;
    let servers = [&app, &other];
    let (_, first) = register(&app, "logout@iron.city").await;
    let second = login(&app, "logout@iron.city", PASSWORD).await;
    // A refreshed session is the same session: its new access token ends with it too.
    let refreshed = tokens(&app.data(REFRESH, json!({ "token": first.refresh })).await["refreshSession"]);
    assert_eq!(works_on(&servers, &first.access).await, [200, 200]);
    assert_eq!(works_on(&servers, &refreshed.access).await, [200, 200]);

    assert_eq!(app.data(LOGOUT, json!({ "token": refreshed.refresh })).await["logout"], true);
    assert_eq!(works_on(&servers, &first.access).await, [401, 401], "the token issued at sign-in");
    assert_eq!(works_on(&servers, &refreshed.access).await, [401, 401], "the token issued at refresh");
    assert_eq!(works_on(&servers, &second.access).await, [200, 200], "another session of the same user");
    // Signing in again starts a session that works.
    let again = login(&app, "logout@iron.city", PASSWORD).await;
    assert_eq!(works_on(&servers, &again.access).await, [200, 200]);
}

async fn a_password_change_ends_every_session_of_that_user_only(app: TestApp) {
    let other = app.respawn(|_| {}).await;
    let servers = [&app, &other];
    let (_, first) = register(&app, "change@iron.city").await;
    let second = login(&app, "change@iron.city", PASSWORD).await;
    let (_, bystander) = register(&app, "bystander@iron.city").await;

    let changed =
        app.data_as(&first.access, CHANGE_PASSWORD, json!({ "current": PASSWORD, "new": "new-scrapyard-2563" })).await;
    assert_eq!(changed["changePassword"], true);
    assert_eq!(works_on(&servers, &first.access).await, [401, 401], "the session that changed it");
    assert_eq!(works_on(&servers, &second.access).await, [401, 401], "another session");
    assert_eq!(works_on(&servers, &bystander.access).await, [200, 200], "another user");
    let fresh = login(&other, "change@iron.city", "new-scrapyard-2563").await;
    assert_eq!(works_on(&servers, &fresh.access).await, [200, 200]);
}

async fn a_role_change_by_an_admin_ends_the_users_sessions(app: TestApp) {
    let other = app.respawn(|_| {}).await;
    let servers = [&app, &other];
    let admin = app.sign_in_as(Role::Admin).await;
    let (fan_id, fan) = register(&app, "promoted@iron.city").await;
    let second = login(&app, "promoted@iron.city", PASSWORD).await;

    let promoted = app.data_as(&admin.access_token, SET_ROLE, json!({ "id": fan_id, "role": "MODERATOR" })).await;
    assert_eq!(promoted["setUserRole"]["role"], "MODERATOR");
    assert_eq!(works_on(&servers, &fan.access).await, [401, 401]);
    assert_eq!(works_on(&servers, &second.access).await, [401, 401]);
    assert_eq!(works_on(&servers, &admin.access_token).await, [200, 200], "the admin's own session");
    let moderator = login(&app, "promoted@iron.city", PASSWORD).await;
    let me = app.data_as(&moderator.access, "{ me { role } }", json!({})).await;
    assert_eq!(me["me"]["role"], "MODERATOR", "signed in again under the new role");
    // Setting the role it already has changes nothing, and ends nothing.
    app.data_as(&admin.access_token, SET_ROLE, json!({ "id": fan_id, "role": "MODERATOR" })).await;
    assert_eq!(works_on(&servers, &moderator.access).await, [200, 200]);
}

async fn deleting_a_user_ends_all_their_sessions(app: TestApp) {
    use sea_orm::EntityTrait;
    let other = app.respawn(|_| {}).await;
    let servers = [&app, &other];
    let (id, first) = register(&app, "deleted@iron.city").await;
    let second = login(&app, "deleted@iron.city", PASSWORD).await;
    assert_eq!(works_on(&servers, &second.access).await, [200, 200]);

    let user_id = crate::support::fixtures::raw_id(&id);
    entity::user::Entity::delete_by_id(user_id).exec(&app.db).await.unwrap();
    assert_eq!(works_on(&servers, &first.access).await, [401, 401]);
    assert_eq!(works_on(&servers, &second.access).await, [401, 401]);
    let refresh = app.graphql(REFRESH, json!({ "token": second.refresh })).await;
    assert_eq!(refresh["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

async fn checking_the_session_costs_no_extra_statement(app: TestApp) {
    let (_, session) = register(&app, "counted@iron.city").await;
    let authorization = format!("Bearer {}", session.access);
    let body = json!({ "query": "{ __typename }" }).to_string().into_bytes();
    // The fewest statements one request made over three tries (nothing else may run meanwhile,
    // but a background statement can only add).
    let fewest = async |headers: &[(&str, &str)]| {
        let mut fewest = u64::MAX;
        for _ in 0..3 {
            let before = app.statements();
            let response = app.request("POST", "/graphql", headers, Some(body.clone())).await;
            assert_eq!(response.status, 200, "{}", response.body);
            assert_eq!(response.json()["data"]["__typename"], "Query");
            fewest = fewest.min(app.statements() - before);
        }
        fewest
    };
    let anonymous = fewest(&[("content-type", "application/json")]).await;
    let authenticated =
        fewest(&[("content-type", "application/json"), ("authorization", authorization.as_str())]).await;
    assert_eq!(anonymous, 0, "an anonymous request reads nothing to find out who it is");
    assert_eq!(authenticated, 1, "the user, the role and the session in one statement");
}

db_tests!(an_open_websocket_starts_nothing_more_once_its_session_ends);

async fn an_open_websocket_starts_nothing_more_once_its_session_ends(app: TestApp) {
    use crate::support::ws::{Event, Subscriber};
    let (_, first) = register(&app, "socket@iron.city").await;
    let mut socket = Subscriber::connect(&app.address, Some(&first.access)).await.expect("a socket");
    // Signed in: the socket runs the viewer's operations.
    socket.subscribe("1", "{ me { id } }", json!({})).await;
    let Event::Message(answer) = socket.event().await else { panic!("the socket closed") };
    assert!(answer["payload"]["data"]["me"]["id"].is_string(), "{answer}");

    // The session ends (over HTTP, on another server process): the next operation the socket
    // starts closes it with 4403 instead of running as the ended session.
    let other = app.respawn(|_| {}).await;
    assert_eq!(other.data(LOGOUT, json!({ "token": first.refresh })).await["logout"], true);
    socket.subscribe("2", "{ me { id } }", json!({})).await;
    loop {
        match socket.event().await {
            Event::Message(message) => {
                assert_ne!(message["id"], "2", "an operation ran after its session ended: {message}");
            }
            Event::Closed(code) => {
                assert_eq!(code, Some(4403));
                break;
            }
        }
    }
    // Anonymous sockets have no session to end.
    let mut anonymous = Subscriber::connect(&app.address, None).await.expect("a socket");
    anonymous.subscribe("1", "{ __typename }", json!({})).await;
    let Event::Message(answer) = anonymous.event().await else { panic!("the socket closed") };
    assert_eq!(answer["payload"]["data"]["__typename"], "Query");
}
