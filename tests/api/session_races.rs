//! Ending a session is final, whatever runs beside it. Each way of ending sessions (`logout`,
//! `changePassword`, `resetPassword`, `setUserRole`, `deleteAccount`) runs against a chain of
//! refreshes of a session it ends, `ROUNDS` times on each database: the chain refreshes again and
//! again until the ender has answered, so one of its refreshes is in flight while the ender
//! commits, however long the ender takes (no sleeps, no timing). Once the ender has answered, no
//! token of the ended sessions works: the last access token the chain was given is refused by
//! `me`, and its last refresh token no longer refreshes. A refresh that loses the race is
//! `UNAUTHENTICATED`, never an internal error. A password change or a deletion racing a chain of
//! sign-ins with the old password likewise leaves none of their sessions working.

use std::cell::Cell;

use entity::enums::Role;
use entity::user;
use futures_util::join;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::support::{TestApp, fixtures};

const ROUNDS: usize = 100;
const REFRESH: &str = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { accessToken } }";
const LOGOUT: &str = "mutation($token: String!) { logout(refreshToken: $token) }";
const CHANGE_PASSWORD: &str =
    "mutation($current: String!, $new: String!) { changePassword(currentPassword: $current, newPassword: $new) }";
const RESET_PASSWORD: &str =
    "mutation($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }";
const SET_ROLE: &str = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { role } }";
const DELETE_ACCOUNT: &str = "mutation($password: String!) { deleteAccount(password: $password) }";
const PASSWORDS: [&str; 2] = ["scrapyard-2563-a", "scrapyard-2563-b"];

/// A session's latest tokens.
struct Tokens {
    access: String,
    refresh: String,
}

/// Refreshes `start` again and again until `done` (the ender has answered) or a refresh is
/// refused (`UNAUTHENTICATED`, nothing else): the last tokens it was given.
async fn refresh_chain(app: &TestApp, start: Tokens, done: &Cell<bool>, round: usize) -> Tokens {
    let mut last = start;
    loop {
        let answer = app.graphql(REFRESH, json!({ "token": last.refresh })).await;
        if answer.get("errors").is_some() {
            assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "round {round}: {answer}");
            return last;
        }
        let pair = &answer["data"]["refreshSession"];
        last = Tokens {
            access: pair["accessToken"].as_str().unwrap().to_owned(),
            refresh: pair["refreshToken"].as_str().unwrap().to_owned(),
        };
        if done.get() {
            return last;
        }
    }
}

/// The status of `{ me { id } }` with `token`.
async fn me_status(app: &TestApp, token: &str) -> u16 {
    let authorization = format!("Bearer {token}");
    let headers = [("content-type", "application/json"), ("authorization", authorization.as_str())];
    let body = json!({ "query": "{ me { id } }" }).to_string().into_bytes();
    let response = app.request("POST", "/graphql", &headers, Some(body)).await;
    if response.status == 401 {
        assert_eq!(response.json()["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{}", response.body);
    }
    response.status
}

/// No token of the session `last` ended with works: its access token is refused, and its refresh
/// token does not refresh.
async fn assert_ended(app: &TestApp, last: &Tokens, round: usize) {
    assert_eq!(me_status(app, &last.access).await, 401, "round {round}: the access token outlived its session");
    let answer = app.graphql(REFRESH, json!({ "token": last.refresh })).await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "round {round}: the refresh token outlived its session: {answer}"
    );
}

/// Runs `ender` and a refresh chain of `session` at once; the ender's answer and the chain's
/// last tokens.
async fn race(app: &TestApp, session: Tokens, round: usize, ender: impl Future<Output = Value>) -> (Value, Tokens) {
    let done = Cell::new(false);
    let ender = async {
        let answer = ender.await;
        done.set(true);
        answer
    };
    join!(ender, refresh_chain(app, session, &done, round))
}

async fn session(app: &TestApp, user_id: i64) -> Tokens {
    let (access, refresh) = fixtures::refreshable_session(&app.db, user_id, Role::Fan).await;
    Tokens { access, refresh }
}

/// A fan registered through the API with `PASSWORDS[0]`.
async fn registered(app: &TestApp, email: &str) -> user::Model {
    let data = app
        .data(
            "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }",
            json!({ "input": { "email": email, "password": PASSWORDS[0], "displayName": "Racing Fan" } }),
        )
        .await;
    let id = fixtures::raw_id(data["register"]["user"]["id"].as_str().unwrap());
    user::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap()
}

/// Signs in as `email` with `password` again and again until `done` (the ender has answered) or a
/// sign-in is refused (`UNAUTHENTICATED`, nothing else): the access tokens it was given.
async fn login_chain(app: &TestApp, email: &str, password: &str, done: &Cell<bool>, round: usize) -> Vec<String> {
    let mut tokens = Vec::new();
    loop {
        let answer = app.graphql(LOGIN, json!({ "email": email, "password": password })).await;
        if answer.get("errors").is_some() {
            assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "round {round}: {answer}");
            return tokens;
        }
        tokens.push(answer["data"]["login"]["accessToken"].as_str().unwrap().to_owned());
        if done.get() {
            return tokens;
        }
    }
}

/// Runs `ender` and a sign-in chain at once; the ender's answer and the chain's access tokens.
async fn race_logins(
    app: &TestApp,
    email: &str,
    password: &str,
    round: usize,
    ender: impl Future<Output = Value>,
) -> (Value, Vec<String>) {
    let done = Cell::new(false);
    let ender = async {
        let answer = ender.await;
        done.set(true);
        answer
    };
    join!(ender, login_chain(app, email, password, &done, round))
}

db_tests!(
    a_password_change_racing_sign_ins_with_the_old_password_ends_them_all,
    deleting_an_account_racing_sign_ins_ends_them_all
);

/// Rounds of the races with sign-ins: each sign-in hashes a password, so fewer.
const LOGIN_ROUNDS: usize = 32;

async fn a_password_change_racing_sign_ins_with_the_old_password_ends_them_all(app: TestApp) {
    let fan = registered(&app, "login.racer@iron.city").await;
    for round in 0..LOGIN_ROUNDS {
        let own = session(&app, fan.id).await;
        let (old, new) = (PASSWORDS[round % 2], PASSWORDS[(round + 1) % 2]);
        let change = app.graphql_as(Some(&own.access), CHANGE_PASSWORD, json!({ "current": old, "new": new }));
        let (answer, signed_in) = race_logins(&app, &fan.email, old, round, change).await;
        assert_eq!(answer["data"]["changePassword"], true, "round {round}: {answer}");
        for token in &signed_in {
            assert_eq!(me_status(&app, token).await, 401, "round {round}: a sign-in with the old password survived");
        }
    }
}

async fn deleting_an_account_racing_sign_ins_ends_them_all(app: TestApp) {
    let template = registered(&app, "login.template@iron.city").await;
    for round in 0..LOGIN_ROUNDS {
        let email = format!("login.deleted.{round}@iron.city");
        let fan = fixtures::user_with_hash(&app.db, &email, &template.password_hash).await;
        let own = session(&app, fan.id).await;
        let delete = app.graphql_as(Some(&own.access), DELETE_ACCOUNT, json!({ "password": PASSWORDS[0] }));
        let (answer, signed_in) = race_logins(&app, &email, PASSWORDS[0], round, delete).await;
        assert_eq!(answer["data"]["deleteAccount"], true, "round {round}: {answer}");
        for token in &signed_in {
            assert_eq!(me_status(&app, token).await, 401, "round {round}: a sign-in outlived the account");
        }
    }
}

db_tests!(
    logout_racing_refreshes_ends_the_session,
    a_password_change_racing_refreshes_ends_every_session,
    a_password_reset_racing_refreshes_ends_every_session,
    a_role_change_racing_refreshes_ends_every_session,
    deleting_an_account_racing_refreshes_ends_every_session
);

async fn logout_racing_refreshes_ends_the_session(app: TestApp) {
    let fan = fixtures::user(&app.db, "Logout Racer").await;
    for round in 0..ROUNDS {
        let start = session(&app, fan.id).await;
        let token = start.refresh.clone();
        let (answer, last) = race(&app, start, round, app.graphql(LOGOUT, json!({ "token": token }))).await;
        assert_eq!(answer["data"]["logout"], true, "round {round}: {answer}");
        assert_ended(&app, &last, round).await;
    }
}

async fn a_password_change_racing_refreshes_ends_every_session(app: TestApp) {
    let fan = registered(&app, "change.racer@iron.city").await;
    for round in 0..ROUNDS {
        let own = session(&app, fan.id).await;
        let other = session(&app, fan.id).await;
        let variables = json!({ "current": PASSWORDS[round % 2], "new": PASSWORDS[(round + 1) % 2] });
        let change = app.graphql_as(Some(&own.access), CHANGE_PASSWORD, variables);
        let (answer, last) = race(&app, other, round, change).await;
        assert_eq!(answer["data"]["changePassword"], true, "round {round}: {answer}");
        assert_ended(&app, &last, round).await;
        assert_ended(&app, &own, round).await;
    }
}

async fn a_password_reset_racing_refreshes_ends_every_session(app: TestApp) {
    let fan = fixtures::user(&app.db, "Reset Racer").await;
    for round in 0..ROUNDS {
        let token = fixtures::reset_token(&app.db, fan.id).await;
        let start = session(&app, fan.id).await;
        let variables = json!({ "token": token, "password": PASSWORDS[round % 2] });
        let (answer, last) = race(&app, start, round, app.graphql(RESET_PASSWORD, variables)).await;
        assert_eq!(answer["data"]["resetPassword"], true, "round {round}: {answer}");
        assert_ended(&app, &last, round).await;
    }
}

async fn a_role_change_racing_refreshes_ends_every_session(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let fan = fixtures::user(&app.db, "Role Racer").await;
    let fan_id = fixtures::gid("User", fan.id);
    for round in 0..ROUNDS {
        let start = session(&app, fan.id).await;
        // Each round changes the role (a role it already has would end nothing).
        let role = if round % 2 == 0 { "MODERATOR" } else { "FAN" };
        let change = app.graphql_as(Some(&admin.access_token), SET_ROLE, json!({ "id": fan_id, "role": role }));
        let (answer, last) = race(&app, start, round, change).await;
        assert_eq!(answer["data"]["setUserRole"]["role"], role, "round {round}: {answer}");
        assert_ended(&app, &last, round).await;
    }
}

async fn deleting_an_account_racing_refreshes_ends_every_session(app: TestApp) {
    // Every round deletes a fan; they share the first one's password hash, so only the deletion
    // checks a password.
    let template = registered(&app, "delete.template@iron.city").await;
    for round in 0..ROUNDS {
        let fan =
            fixtures::user_with_hash(&app.db, &format!("delete.racer.{round}@iron.city"), &template.password_hash)
                .await;
        let own = session(&app, fan.id).await;
        let other = session(&app, fan.id).await;
        let delete = app.graphql_as(Some(&own.access), DELETE_ACCOUNT, json!({ "password": PASSWORDS[0] }));
        let (answer, last) = race(&app, other, round, delete).await;
        assert_eq!(answer["data"]["deleteAccount"], true, "round {round}: {answer}");
        assert_ended(&app, &last, round).await;
    }
}
