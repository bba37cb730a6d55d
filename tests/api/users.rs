//! The account side: the admins' user list, what of an account each viewer sees, a fan's own
//! signatures, RSVPs and quotes, changing a profile, deleting an account and exporting its data.

use std::time::Duration;

use api::config::Limits;
use entity::enums::{QuoteStatus, Role, RsvpStatus};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::support::fixtures::{self, gid};
use crate::support::process::ServerProcess;
use crate::support::ws::Subscriber;
use crate::support::{TestApp, app::SignedIn};

const PETITION: &str = "open-letter-to-disney-alita-sequel";
const EVENT: &str = "alitaarmy-fan-screenings";
const PASSWORD: &str = "correct horse battery";
const USERS: &str = "query($filter: UserFilter, $order: UserOrder, $first: Int, $after: String) {
    users(filter: $filter, orderBy: $order, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { id email role } } }";
const SIGN: &str =
    "mutation($p: ID!, $input: SignPetitionInput) { signPetition(petitionId: $p, input: $input) { id } }";
const RSVP: &str = "mutation($e: ID!) { rsvpEvent(eventId: $e, status: GOING) { id } }";
const DELETE: &str = "mutation($password: String!) { deleteAccount(password: $password) }";
const MINE: &str = "query($n: Int) { me {
    signatures(first: $n) { totalCount pageInfo { hasNextPage endCursor } nodes { displayName country comment petition { slug } } }
    rsvps(first: $n) { totalCount nodes { status event { slug } } }
    submittedQuotes(first: $n) { totalCount nodes { text status person { name } } } } }";

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("none")
}

async fn global_ids(app: &TestApp) -> Value {
    app.data(
        &format!(
            r#"{{ petition(slug: "{PETITION}") {{ id }} event(slug: "{EVENT}") {{ id }}
                person(slug: "rosa-salazar") {{ id }} film(slug: "alita-battle-angel") {{ id }} }}"#
        ),
        json!({}),
    )
    .await
}

/// `fan` signs the open letter (privately), RSVPs to the fan screenings and submits a quote.
async fn take_part(app: &TestApp, fan: &SignedIn, ids: &Value) {
    let token = &fan.access_token;
    let private = json!({ "p": ids["petition"]["id"], "input": { "country": "JP", "comment": "Bring her back" } });
    app.data_as(token, SIGN, private).await;
    app.data_as(token, RSVP, json!({ "e": ids["event"]["id"] })).await;
    let quote =
        json!({ "input": { "text": "Motorball forever.", "personId": ids["person"]["id"], "source": "A fan panel" } });
    app.data_as(token, "mutation($input: SubmitQuoteInput!) { submitQuote(input: $input) { id } }", quote).await;
}

async fn counts(app: &TestApp) -> (Value, Value) {
    let data = app
        .data(
            &format!(
                r#"{{ petition(slug: "{PETITION}") {{ signatureCount }} event(slug: "{EVENT}") {{ rsvpCount }} }}"#
            ),
            json!({}),
        )
        .await;
    (data["petition"]["signatureCount"].clone(), data["event"]["rsvpCount"].clone())
}

async fn user_exists(app: &TestApp, id: i64) -> bool {
    entity::user::Entity::find_by_id(id).one(&app.db).await.unwrap().is_some()
}

db_tests!(
    an_admin_pages_through_users_filtered_and_ordered,
    an_admin_sorts_users_by_several_keys,
    only_admins_may_list_or_fetch_users_and_no_one_else_sees_an_account,
    a_login_is_noted_and_shown_to_the_user_and_admins,
    my_signatures_rsvps_and_quotes_are_listed_newest_first_and_only_to_me,
    my_lists_cost_the_same_statements_at_any_page_size,
    updating_my_profile_changes_my_name_everywhere_and_checks_it,
    deleting_my_account_needs_my_password_and_moves_the_live_counters,
    deleting_an_account_is_held_to_the_sign_in_limits,
    exporting_my_data_gives_every_row_that_names_me_and_no_secret,
    a_moderators_export_holds_the_petition_updates_they_posted,
    the_account_mutations_write_no_password_token_or_email_to_the_log
);

async fn an_admin_pages_through_users_filtered_and_ordered(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = admin.access_token.as_str();
    let mut fans = Vec::new();
    for i in 0..7 {
        let user = fixtures::user(&app.db, &format!("Listed Fan {i}")).await;
        if i < 2 {
            let mut model: entity::user::ActiveModel = user.clone().into();
            model.role = Set(Role::Moderator);
            model.update(&app.db).await.unwrap();
        }
        fans.push(user);
    }
    let mut expected: Vec<String> = fans.iter().map(|user| user.email.clone()).collect();
    expected.sort();

    // Every page by email, three at a time, through the cursors: each listed fan once, in order.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let variables = json!({ "filter": { "emailContains": "LISTED.FAN" }, "order": { "field": "EMAIL", "direction": "ASC" }, "first": 3, "after": after });
        let page = app.data_as(token, USERS, variables).await;
        assert_eq!(page["users"]["totalCount"], 7);
        seen.extend(
            page["users"]["nodes"].as_array().unwrap().iter().map(|node| node["email"].as_str().unwrap().to_owned()),
        );
        if page["users"]["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["users"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, expected);

    let moderators = app.data_as(token, USERS, json!({ "filter": { "role": "MODERATOR" } })).await;
    assert_eq!(moderators["users"]["totalCount"], 2);
    assert!(moderators["users"]["nodes"].as_array().unwrap().iter().all(|node| node["role"] == "MODERATOR"));

    // The fixtures registered on 2020-01-01; the admin just now, so first in the default order.
    let recent = app.data_as(token, USERS, json!({ "filter": { "createdAfter": "2020-01-02T00:00:00Z" } })).await;
    let emails: Vec<&str> =
        recent["users"]["nodes"].as_array().unwrap().iter().map(|node| node["email"].as_str().unwrap()).collect();
    assert_eq!(emails, vec![admin.email.as_str()]);
    let newest = app.data_as(token, USERS, json!({ "first": 1 })).await;
    assert_eq!(newest["users"]["nodes"][0]["id"], admin.global_id.as_str());

    // Who logged in last comes first; who never did, last.
    app.graphql(
        "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }",
        json!({ "e": admin.email, "p": PASSWORD }),
    )
    .await;
    let by_login = app
        .data_as(token, USERS, json!({ "order": { "field": "LAST_LOGIN_AT", "direction": "DESC" }, "first": 100 }))
        .await;
    assert_eq!(by_login["users"]["nodes"][0]["id"], admin.global_id.as_str());

    // Bad arguments name the argument at fault.
    let cursor = app
        .data_as(token, USERS, json!({ "order": { "field": "EMAIL", "direction": "ASC" }, "first": 1 }))
        .await["users"]["pageInfo"]["endCursor"]
        .clone();
    let other_order = app.error_as(token, USERS, json!({ "after": cursor })).await;
    assert_eq!(
        (other_order["extensions"]["code"].as_str(), other_order["extensions"]["field"].as_str()),
        (Some("BAD_USER_INPUT"), Some("after"))
    );
    let long = app.error_as(token, USERS, json!({ "filter": { "emailContains": "x".repeat(255) } })).await;
    assert_eq!(long["extensions"]["field"], "filter.emailContains");
    let too_many = app.error_as(token, USERS, json!({ "first": 101 })).await;
    assert_eq!(too_many["extensions"]["field"], "first");
}

const SORTED_USERS: &str = "query($sort: [UserOrder!], $first: Int, $after: String, $last: Int, $before: String) {
    users(filter: { emailContains: \"sorted.fan\" }, sort: $sort, first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { id } } }";

async fn an_admin_sorts_users_by_several_keys(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = admin.access_token.as_str();
    // Names out of id order, and logins that tie so the name has to break them.
    let login = |day: i64| chrono::DateTime::from_timestamp(1_600_000_000 + day * 86_400, 0).unwrap();
    let mut fans = Vec::new();
    for (i, letter) in ["E", "B", "D", "A", "C", "F", "G"].into_iter().enumerate() {
        let user = fixtures::user(&app.db, &format!("Sorted Fan {letter}")).await;
        let last_login = match i % 3 {
            0 => None,
            1 => Some(login(1)),
            _ => Some(login(2)),
        };
        let mut model: entity::user::ActiveModel = user.clone().into();
        model.last_login_at = Set(last_login);
        fans.push(model.update(&app.db).await.unwrap());
    }
    // Latest login first, who never logged in last, then by name.
    fans.sort_by(|a, b| {
        match (a.last_login_at, b.last_login_at) {
            (Some(x), Some(y)) => y.cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then(a.display_name.cmp(&b.display_name))
    });
    let expected: Vec<String> = fans.iter().map(|user| gid("User", user.id)).collect();
    let sort =
        json!([{ "field": "LAST_LOGIN_AT", "direction": "DESC" }, { "field": "DISPLAY_NAME", "direction": "ASC" }]);
    let ids = |page: &Value| -> Vec<String> {
        page["users"]["nodes"].as_array().unwrap().iter().map(|node| node["id"].as_str().unwrap().to_owned()).collect()
    };

    // Forwards two at a time, then backwards from the end: each fan once, in the same order.
    let (mut forwards, mut after) = (Vec::new(), Value::Null);
    loop {
        let page = app.data_as(token, SORTED_USERS, json!({ "sort": sort, "first": 2, "after": after })).await;
        assert_eq!(page["users"]["totalCount"], 7);
        forwards.extend(ids(&page));
        if page["users"]["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["users"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(forwards, expected);
    let (mut backwards, mut before) = (Vec::new(), Value::Null);
    loop {
        let page = app.data_as(token, SORTED_USERS, json!({ "sort": sort, "last": 3, "before": before })).await;
        let mut chunk = ids(&page);
        chunk.extend(backwards);
        backwards = chunk;
        if page["users"]["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        before = page["users"]["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(backwards, expected);

    // A key twice is refused, and so is a cursor of another order.
    let twice = json!([{ "field": "EMAIL", "direction": "ASC" }, { "field": "EMAIL", "direction": "DESC" }]);
    let error = app.error_as(token, SORTED_USERS, json!({ "sort": twice })).await;
    assert_eq!(
        (error["extensions"]["code"].as_str(), error["extensions"]["field"].as_str()),
        (Some("BAD_USER_INPUT"), Some("sort"))
    );
    let cursor =
        app.data_as(token, SORTED_USERS, json!({ "sort": sort, "first": 1 })).await["users"]["pageInfo"]["endCursor"]
            .clone();
    let by_email = json!([{ "field": "EMAIL", "direction": "ASC" }]);
    let error = app.error_as(token, SORTED_USERS, json!({ "sort": by_email, "after": cursor })).await;
    assert_eq!(
        (error["extensions"]["code"].as_str(), error["extensions"]["field"].as_str()),
        (Some("BAD_USER_INPUT"), Some("after"))
    );
}

async fn only_admins_may_list_or_fetch_users_and_no_one_else_sees_an_account(app: TestApp) {
    let fan = app.sign_in_as(Role::Fan).await;
    let other = app.sign_in_as(Role::Fan).await;
    let moderator = app.sign_in_as(Role::Moderator).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let one =
        "query($id: ID!) { user(id: $id) { id email emailVerified lastLoginAt createdAt signatures { totalCount } } }";
    for (token, expected) in [
        (None, "UNAUTHENTICATED"),
        (Some(&fan.access_token), "FORBIDDEN"),
        (Some(&moderator.access_token), "FORBIDDEN"),
    ] {
        let listed = app.graphql_as(token.map(String::as_str), USERS, json!({})).await;
        assert_eq!(code(&listed), expected);
        assert!(listed["data"].is_null(), "{listed}");
        let fetched = app.graphql_as(token.map(String::as_str), one, json!({ "id": fan.global_id })).await;
        assert_eq!(code(&fetched), expected);
    }

    // An admin sees the account's details, but not what the fan signed.
    let seen = app.data_as(&admin.access_token, one, json!({ "id": fan.global_id })).await;
    assert_eq!(seen["user"]["email"], fan.email.as_str());
    assert_eq!(seen["user"]["emailVerified"], false, "no mail is sent yet, so no address is verified");
    assert_eq!(seen["user"]["lastLoginAt"], Value::Null, "registering is not a login");
    assert!(seen["user"]["createdAt"].is_string());
    assert_eq!(seen["user"]["signatures"], Value::Null);
    let missing = app.data_as(&admin.access_token, one, json!({ "id": gid("User", 999_999) })).await;
    assert_eq!(missing["user"], Value::Null);
    let wrong_type = app.error_as(&admin.access_token, one, json!({ "id": gid("Film", 1) })).await;
    assert_eq!(
        (wrong_type["extensions"]["code"].as_str(), wrong_type["extensions"]["field"].as_str()),
        (Some("BAD_USER_INPUT"), Some("id"))
    );

    // A fan cannot reach another account at all, so none of its fields show.
    let node = "query($id: ID!) { node(id: $id) { ... on User { email createdAt } } }";
    assert_eq!(app.data_as(&other.access_token, node, json!({ "id": fan.global_id })).await["node"], Value::Null);
    assert_eq!(app.data(node, json!({ "id": fan.global_id })).await["node"], Value::Null);
}

async fn a_login_is_noted_and_shown_to_the_user_and_admins(app: TestApp) {
    let fan = app.sign_in_as(Role::Fan).await;
    let login = "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { user { lastLoginAt emailVerified } } }";
    let before = chrono::Utc::now();
    let data = app.data(login, json!({ "e": fan.email, "p": PASSWORD })).await;
    let at = data["login"]["user"]["lastLoginAt"].as_str().expect("set by the login");
    let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
    assert!(at >= before - chrono::Duration::seconds(1), "{at} is the login's time");
    assert_eq!(data["login"]["user"]["emailVerified"], false);
    let me = app.data_as(&fan.access_token, "{ me { lastLoginAt } }", json!({})).await;
    let shown = chrono::DateTime::parse_from_rfc3339(me["me"]["lastLoginAt"].as_str().unwrap()).unwrap();
    assert_eq!(shown, at);
}

async fn my_signatures_rsvps_and_quotes_are_listed_newest_first_and_only_to_me(app: TestApp) {
    let ids = global_ids(&app).await;
    let fan = app.sign_in_as(Role::Fan).await;
    take_part(&app, &fan, &ids).await;
    // A second, public signature, newer than the first.
    let petition = fixtures::petitions(&app.db, 2).await.remove(1);
    app.data_as(&fan.access_token, SIGN, json!({ "p": gid("Petition", petition.id), "input": { "public": true } }))
        .await;

    let mine = app.data_as(&fan.access_token, MINE, json!({})).await;
    let signatures = &mine["me"]["signatures"];
    assert_eq!(signatures["totalCount"], 2);
    assert_eq!(signatures["nodes"][0]["petition"]["slug"], petition.slug.as_str(), "newest first");
    assert_eq!(
        signatures["nodes"][1],
        json!({ "displayName": "Fan user", "country": "JP", "comment": "Bring her back", "petition": { "slug": PETITION } }),
        "a private signature shows its details to its signer"
    );
    assert_eq!(
        mine["me"]["rsvps"],
        json!({ "totalCount": 1, "nodes": [{ "status": "GOING", "event": { "slug": EVENT } }] })
    );
    assert_eq!(
        mine["me"]["submittedQuotes"],
        json!({ "totalCount": 1, "nodes": [{ "text": "Motorball forever.", "status": "PENDING", "person": { "name": "Rosa Salazar" } }] })
    );

    // Paged like every list.
    let first = app.data_as(&fan.access_token, MINE, json!({ "n": 1 })).await;
    assert_eq!(first["me"]["signatures"]["pageInfo"]["hasNextPage"], true);
    let rest = app
        .data_as(
            &fan.access_token,
            "query($after: String) { me { signatures(after: $after) { nodes { petition { slug } } } } }",
            json!({ "after": first["me"]["signatures"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(rest["me"]["signatures"]["nodes"], json!([{ "petition": { "slug": PETITION } }]));

    // Nobody else sees the private details, and another fan's lists are their own.
    let public =
        app.data(&format!(r#"{{ petition(slug: "{PETITION}") {{ signatures {{ totalCount }} }} }}"#), json!({})).await;
    assert_eq!(public["petition"]["signatures"]["totalCount"], 0);
    let other = app.sign_in_as(Role::Fan).await;
    let theirs = app.data_as(&other.access_token, MINE, json!({})).await;
    for list in ["signatures", "rsvps", "submittedQuotes"] {
        assert_eq!(theirs["me"][list]["totalCount"], 0, "{list}");
    }
}

async fn my_lists_cost_the_same_statements_at_any_page_size(app: TestApp) {
    let (fan, token) = fixtures::fan(&app.db, "Busy Fan").await;
    let person = fixtures::people(&app.db, 1).await.remove(0);
    for petition in fixtures::petitions(&app.db, 30).await {
        fixtures::signature(&app.db, petition.id, fan.id, false, Some("NZ")).await;
    }
    for event in fixtures::events(&app.db, 30, None).await {
        entity::rsvp::ActiveModel {
            event_id: Set(event.id),
            user_id: Set(fan.id),
            status: Set(RsvpStatus::Interested),
            created_at: Set(event.created_at),
            updated_at: Set(event.created_at),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    fixtures::quotes(&app.db, person.id, None, 30, QuoteStatus::Pending).await;
    entity::quote::Entity::update_many()
        .col_expr(entity::quote::Column::SubmittedById, sea_orm::sea_query::Expr::value(fan.id))
        .filter(entity::quote::Column::PersonId.eq(person.id))
        .exec(&app.db)
        .await
        .unwrap();
    let mut costs = Vec::new();
    for n in [2, 30] {
        let before = app.statements();
        let data = app.data_as(&token, MINE, json!({ "n": n })).await;
        costs.push(app.statements() - before);
        assert_eq!(data["me"]["signatures"]["nodes"].as_array().unwrap().len(), n);
        assert_eq!(data["me"]["submittedQuotes"]["nodes"].as_array().unwrap().len(), n);
    }
    assert_eq!(costs[0], costs[1], "statements grew with the page size: {costs:?}");
}

async fn updating_my_profile_changes_my_name_everywhere_and_checks_it(app: TestApp) {
    let ids = global_ids(&app).await;
    let fan = app.sign_in_as(Role::Fan).await;
    app.data_as(&fan.access_token, SIGN, json!({ "p": ids["petition"]["id"], "input": { "public": true } })).await;
    let update = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { displayName email } }";
    for (name, why) in [("   ", "blank"), (&"x".repeat(101) as &str, "too long")] {
        let refused = app.error_as(&fan.access_token, update, json!({ "input": { "displayName": name } })).await;
        assert_eq!(refused["extensions"]["code"], "BAD_USER_INPUT", "{why}");
        assert_eq!(refused["extensions"]["field"], "input.displayName", "{why}");
    }
    assert_eq!(
        app.data_as(&fan.access_token, "{ me { displayName } }", json!({})).await["me"]["displayName"],
        "Fan user",
        "nothing changed"
    );

    let kept = app.data_as(&fan.access_token, update, json!({ "input": {} })).await;
    assert_eq!(kept["updateProfile"], json!({ "displayName": "Fan user", "email": fan.email }));
    let changed =
        app.data_as(&fan.access_token, update, json!({ "input": { "displayName": "  Hunter-Warrior " } })).await;
    assert_eq!(changed["updateProfile"]["displayName"], "Hunter-Warrior");
    let signatures = app
        .data(
            &format!(r#"{{ petition(slug: "{PETITION}") {{ signatures {{ nodes {{ displayName }} }} }} }}"#),
            json!({}),
        )
        .await;
    assert_eq!(signatures["petition"]["signatures"]["nodes"], json!([{ "displayName": "Hunter-Warrior" }]));
}

async fn deleting_my_account_needs_my_password_and_moves_the_live_counters(app: TestApp) {
    let ids = global_ids(&app).await;
    let fan = app.sign_in_as(Role::Fan).await;
    take_part(&app, &fan, &ids).await;
    let others = fixtures::petitions(&app.db, 4).await;
    for petition in [&others[1], &others[3]] {
        app.data_as(&fan.access_token, SIGN, json!({ "p": gid("Petition", petition.id) })).await;
    }
    assert_eq!(counts(&app).await, (json!(1), json!(1)));
    let query = "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) { signatureCount } }";
    let mut subscriber =
        Subscriber::start(&app.address, None, query, json!({ "p": ids["petition"]["id"] })).await.unwrap();
    assert_eq!(subscriber.next_data().await["petitionSignatureCount"]["signatureCount"], 1);

    // A wrong password changes nothing.
    let wrong = app.error_as(&fan.access_token, DELETE, json!({ "password": "not my password" })).await;
    assert_eq!(
        (wrong["extensions"]["code"].as_str(), wrong["extensions"]["field"].as_str()),
        (Some("BAD_USER_INPUT"), Some("password"))
    );
    assert!(user_exists(&app, fan.id).await);
    assert_eq!(counts(&app).await, (json!(1), json!(1)));

    let deleted = app.data_as(&fan.access_token, DELETE, json!({ "password": PASSWORD })).await;
    assert_eq!(deleted["deleteAccount"], true);
    assert_eq!(
        subscriber.next_data().await["petitionSignatureCount"]["signatureCount"],
        0,
        "subscribers see the signature go"
    );
    assert_eq!(counts(&app).await, (json!(0), json!(0)));
    assert!(!user_exists(&app, fan.id).await);
    for petition in [&others[1], &others[3]] {
        let stored = crate::support::fixtures::stored_count(&app.db, "petitions", petition.id).await;
        assert_eq!(stored, 0, "every petition signed gives its signature back");
    }
    let signatures = entity::signature::Entity::find()
        .filter(entity::signature::Column::UserId.eq(fan.id))
        .count(&app.db)
        .await
        .unwrap();
    let sessions = entity::refresh_token::Entity::find()
        .filter(entity::refresh_token::Column::UserId.eq(fan.id))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!((signatures, sessions), (0, 0));
    // The submitted quote stays, no longer anyone's.
    let quote = entity::quote::Entity::find()
        .filter(entity::quote::Column::Text.eq("Motorball forever."))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(quote.submitted_by_id, None);

    // The account is gone: its token is refused and its password no longer signs in.
    let bearer = format!("Bearer {}", fan.access_token);
    let headers = [("content-type", "application/json"), ("authorization", bearer.as_str())];
    let body = serde_json::to_vec(&json!({ "query": "{ me { id } }" })).unwrap();
    let refused = app.request("POST", "/graphql", &headers, Some(body)).await;
    assert_eq!((refused.status, code(&refused.json())), (401, "UNAUTHENTICATED"));
    let login = app
        .graphql(
            "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }",
            json!({ "e": fan.email, "p": PASSWORD }),
        )
        .await;
    assert_eq!(code(&login), "UNAUTHENTICATED");
}

async fn deleting_an_account_is_held_to_the_sign_in_limits(app: TestApp) {
    let fan = app.sign_in_as(Role::Fan).await;
    let two =
        format!("mutation {{ a: deleteAccount(password: \"{PASSWORD}\") b: deleteAccount(password: \"{PASSWORD}\") }}");
    let aliased = app.error_as(&fan.access_token, &two, json!({})).await;
    assert_eq!(aliased["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "one password check per request");

    // Two free wrong guesses from this address, then a wait, even for the right password.
    let delayed = app
        .respawn(|settings| {
            settings.limits = Limits {
                requests_per_second: 1_000_000,
                request_burst: 1_000_000,
                sign_ins_per_minute: 1_000_000,
                failures_before_delay: 2,
                first_delay: Duration::from_secs(100),
                ..Limits::default()
            }
        })
        .await;
    for _ in 0..2 {
        let wrong = delayed.error_as(&fan.access_token, DELETE, json!({ "password": "a wrong guess" })).await;
        assert_eq!(wrong["extensions"]["code"], "BAD_USER_INPUT");
    }
    let refused = delayed.error_as(&fan.access_token, DELETE, json!({ "password": PASSWORD })).await;
    assert_eq!(refused["extensions"]["code"], "RATE_LIMITED");
    assert!(refused["extensions"]["retryAfter"].as_u64().unwrap() >= 1);
    assert!(user_exists(&app, fan.id).await);

    // And each attempt spends the address's sign-in budget.
    let budget = app
        .respawn(|settings| {
            settings.limits = Limits {
                requests_per_second: 1_000_000,
                request_burst: 1_000_000,
                sign_ins_per_minute: 1,
                ..Limits::default()
            }
        })
        .await;
    let other = app.sign_in_as(Role::Fan).await;
    let wrong = budget.error_as(&other.access_token, DELETE, json!({ "password": "a wrong guess" })).await;
    assert_eq!(wrong["extensions"]["code"], "BAD_USER_INPUT");
    let refused = budget.error_as(&other.access_token, DELETE, json!({ "password": PASSWORD })).await;
    assert_eq!(refused["extensions"]["code"], "RATE_LIMITED");
    assert!(user_exists(&app, other.id).await);
}

async fn exporting_my_data_gives_every_row_that_names_me_and_no_secret(app: TestApp) {
    // The export carries the instant it was made (`exportedAt`): two exports in a row differ.
    let app = app.without_differential();
    let ids = global_ids(&app).await;
    let fan = app.sign_in_as(Role::Fan).await;
    take_part(&app, &fan, &ids).await;
    let data = app.data_as(&fan.access_token, "{ exportMyData }", json!({})).await;
    let text = data["exportMyData"].as_str().expect("the document as text");
    let document: Value = serde_json::from_str(text).expect("a JSON document");
    assert_eq!(document["user"]["id"], fan.global_id.as_str());
    assert_eq!(document["user"]["email"], fan.email.as_str());
    assert_eq!(document["user"]["role"], "FAN");
    assert_eq!(document["signatures"][0]["petition"]["id"], ids["petition"]["id"]);
    assert_eq!(document["signatures"][0]["comment"], "Bring her back");
    assert_eq!(document["rsvps"][0]["event"]["id"], ids["event"]["id"]);
    assert_eq!(document["rsvps"][0]["status"], "GOING");
    assert_eq!(document["submittedQuotes"][0]["text"], "Motorball forever.");
    assert_eq!(document["submittedQuotes"][0]["status"], "PENDING");
    assert_eq!(document["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(document["postedPetitionUpdates"], json!([]), "a fan posts no updates");
    assert!(!text.contains("argon2") && !text.contains(&fan.access_token), "no password hash or token");
    for secret in ["passwordHash", "tokenHash", "familyId"] {
        assert!(!text.contains(secret), "{secret}");
    }
    let anonymous = app.graphql("{ exportMyData }", json!({})).await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
}

async fn a_moderators_export_holds_the_petition_updates_they_posted(app: TestApp) {
    let app = app.without_differential();
    let moderator = app.sign_in_as(Role::Moderator).await;
    let petition = gid("Petition", fixtures::petitions(&app.db, 1).await.remove(0).id);
    let posted = app
        .data_as(
            &moderator.access_token,
            "mutation($petition: ID!) { postPetitionUpdate(petitionId: $petition, input: { title: \"Thanks\", body: \"**50k**\" }) { id } }",
            json!({ "petition": petition }),
        )
        .await;
    let data = app.data_as(&moderator.access_token, "{ exportMyData }", json!({})).await;
    let document: Value = serde_json::from_str(data["exportMyData"].as_str().expect("text")).expect("JSON");
    let updates = &document["postedPetitionUpdates"];
    assert_eq!(updates.as_array().map(Vec::len), Some(1), "{document}");
    assert_eq!(updates[0]["id"], posted["postPetitionUpdate"]["id"]);
    assert_eq!(updates[0]["petition"], petition.as_str());
    assert_eq!(updates[0]["body"], "**50k**");
}

async fn the_account_mutations_write_no_password_token_or_email_to_the_log(app: TestApp) {
    let mut server = ServerProcess::start(&app.database_url, &[]);
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let url = format!("{}/graphql", server.address);
    let (email, password, guess) = ("log.check@iron.city", "log-check-password-2563", "log-check-wrong-guess-77");
    let call = |token: Option<String>, query: &'static str, variables: Value| {
        let mut request = client.post(&url);
        if let Some(token) = token {
            request = request.insert_header(("authorization", format!("Bearer {token}")));
        }
        async move {
            let mut response =
                request.send_json(&json!({ "query": query, "variables": variables })).await.expect("send");
            response.json::<Value>().await.expect("a JSON body")
        }
    };
    let registered = call(
        None,
        "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken } }",
        json!({ "input": { "email": email, "password": password, "displayName": "Log Check" } }),
    )
    .await;
    let access = registered["data"]["register"]["accessToken"].as_str().expect("a token").to_owned();
    let refresh = registered["data"]["register"]["refreshToken"].as_str().expect("a token").to_owned();
    let update = "mutation { updateProfile(input: { displayName: \"Log Checked\" }) { displayName } }";
    assert!(call(Some(access.clone()), update, json!({})).await.get("errors").is_none());
    assert!(call(Some(access.clone()), "{ exportMyData }", json!({})).await.get("errors").is_none());
    let wrong = call(Some(access.clone()), DELETE, json!({ "password": guess })).await;
    assert_eq!(code(&wrong), "BAD_USER_INPUT");
    let deleted = call(Some(access.clone()), DELETE, json!({ "password": password })).await;
    assert_eq!(deleted["data"]["deleteAccount"], true, "{deleted}");
    server.terminate();
    assert_eq!(server.wait(Duration::from_secs(30)), Some(0));
    let output = server.output();
    assert!(!output.is_empty());
    for line in &output {
        for secret in [password, guess, access.as_str(), refresh.as_str(), email, "$argon2", "Bearer "] {
            assert!(!line.contains(secret), "a log line holds `{secret}`: {line}");
        }
    }
}
