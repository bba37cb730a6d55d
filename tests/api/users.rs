//! The account side: the admins' user list and what of an account each viewer sees.

use entity::enums::Role;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::support::fixtures::{self, gid};

const PASSWORD: &str = "correct horse battery";
const USERS: &str = "query($filter: UserFilter, $order: UserOrder, $first: Int, $after: String) {
    users(filter: $filter, orderBy: $order, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { id email role } } }";

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("none")
}

db_tests! {
    async fn an_admin_pages_through_users_filtered_and_ordered(app) {
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
            seen.extend(page["users"]["nodes"].as_array().unwrap().iter().map(|node| node["email"].as_str().unwrap().to_owned()));
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
        let emails: Vec<&str> = recent["users"]["nodes"].as_array().unwrap().iter().map(|node| node["email"].as_str().unwrap()).collect();
        assert_eq!(emails, vec![admin.email.as_str()]);
        let newest = app.data_as(token, USERS, json!({ "first": 1 })).await;
        assert_eq!(newest["users"]["nodes"][0]["id"], admin.global_id.as_str());

        // Who logged in last comes first; who never did, last.
        app.graphql(
            "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }",
            json!({ "e": admin.email, "p": PASSWORD }),
        )
        .await;
        let by_login = app.data_as(token, USERS, json!({ "order": { "field": "LAST_LOGIN_AT", "direction": "DESC" }, "first": 100 })).await;
        assert_eq!(by_login["users"]["nodes"][0]["id"], admin.global_id.as_str());

        // Bad arguments name the argument at fault.
        let cursor = app.data_as(token, USERS, json!({ "order": { "field": "EMAIL", "direction": "ASC" }, "first": 1 })).await["users"]["pageInfo"]["endCursor"].clone();
        let other_order = app.error_as(token, USERS, json!({ "after": cursor })).await;
        assert_eq!((other_order["extensions"]["code"].as_str(), other_order["extensions"]["field"].as_str()), (Some("BAD_USER_INPUT"), Some("after")));
        let long = app.error_as(token, USERS, json!({ "filter": { "emailContains": "x".repeat(255) } })).await;
        assert_eq!(long["extensions"]["field"], "filter.emailContains");
        let too_many = app.error_as(token, USERS, json!({ "first": 101 })).await;
        assert_eq!(too_many["extensions"]["field"], "first");
    }

    async fn only_admins_may_list_or_fetch_users_and_no_one_else_sees_an_account(app) {
        let fan = app.sign_in_as(Role::Fan).await;
        let other = app.sign_in_as(Role::Fan).await;
        let moderator = app.sign_in_as(Role::Moderator).await;
        let admin = app.sign_in_as(Role::Admin).await;
        let one = "query($id: ID!) { user(id: $id) { id email emailVerified lastLoginAt createdAt } }";
        for (token, expected) in [(None, "UNAUTHENTICATED"), (Some(&fan.access_token), "FORBIDDEN"), (Some(&moderator.access_token), "FORBIDDEN")] {
            let listed = app.graphql_as(token.map(String::as_str), USERS, json!({})).await;
            assert_eq!(code(&listed), expected);
            assert!(listed["data"].is_null(), "{listed}");
            let fetched = app.graphql_as(token.map(String::as_str), one, json!({ "id": fan.global_id })).await;
            assert_eq!(code(&fetched), expected);
        }

        // An admin sees the account's details.
        let seen = app.data_as(&admin.access_token, one, json!({ "id": fan.global_id })).await;
        assert_eq!(seen["user"]["email"], fan.email.as_str());
        assert_eq!(seen["user"]["emailVerified"], false, "no mail is sent yet, so no address is verified");
        assert_eq!(seen["user"]["lastLoginAt"], Value::Null, "registering is not a login");
        assert!(seen["user"]["createdAt"].is_string());
        let missing = app.data_as(&admin.access_token, one, json!({ "id": gid("User", 999_999) })).await;
        assert_eq!(missing["user"], Value::Null);
        let wrong_type = app.error_as(&admin.access_token, one, json!({ "id": gid("Film", 1) })).await;
        assert_eq!((wrong_type["extensions"]["code"].as_str(), wrong_type["extensions"]["field"].as_str()), (Some("BAD_USER_INPUT"), Some("id")));

        // A fan cannot reach another account at all, so none of its fields show.
        let node = "query($id: ID!) { node(id: $id) { ... on User { email createdAt } } }";
        assert_eq!(app.data_as(&other.access_token, node, json!({ "id": fan.global_id })).await["node"], Value::Null);
        assert_eq!(app.data(node, json!({ "id": fan.global_id })).await["node"], Value::Null);
    }

    async fn a_login_is_noted_and_shown_to_the_user_and_admins(app) {
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
}
