//! The small rules a new user trips over, answered alike on SQLite and PostgreSQL: numbers that
//! fit their type, nulls that cannot clear a required field, capacities, cursors, billing order,
//! and the protocol details around the answers (socket close codes, metrics formats, preflights).

use entity::enums::Role;
use serde_json::{Value, json};

#[track_caller]
fn assert_bad_input(error: &Value, field: &str) {
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
    assert_eq!(error["extensions"]["field"], field, "{error}");
}

const PETITION: &str = "open-letter-to-disney-alita-sequel";

async fn id_of(app: &crate::support::TestApp, field: &str, slug: &str) -> String {
    let data = app.data(&format!("{{ {field}(slug: \"{slug}\") {{ id }} }}"), json!({})).await;
    data[field]["id"].as_str().unwrap().to_owned()
}

db_tests! {
    async fn a_petition_goal_beyond_a_32_bit_int_is_bad_user_input(app) {
        let admin = app.sign_in_as(Role::Admin).await;
        let token = &admin.access_token;
        let before = app.data("{ petitions { totalCount } }", json!({})).await;
        let inline = app
            .error_as(token, r#"mutation { createPetition(input: { title: "Big", body: "b", target: "t", goal: 3000000000 }) { goal } }"#, json!({}))
            .await;
        assert_bad_input(&inline, "input.goal");
        let create = "mutation($input: CreatePetitionInput!) { createPetition(input: $input) { goal } }";
        let variables = json!({ "input": { "title": "Big", "body": "b", "target": "t", "goal": 3_000_000_000_i64 } });
        let error = app.error_as(token, create, variables).await;
        assert_bad_input(&error, "input.goal");
        assert_eq!(app.data("{ petitions { totalCount } }", json!({})).await, before, "nothing was created");

        let id = id_of(&app, "petition", PETITION).await;
        let update = app
            .error_as(token, "mutation($id: ID!) { updatePetition(id: $id, input: { goal: 2147483648 }) { goal } }", json!({ "id": id }))
            .await;
        assert_bad_input(&update, "input.goal");
        let largest = app
            .data_as(token, "mutation($id: ID!) { updatePetition(id: $id, input: { goal: 2147483647 }) { goal } }", json!({ "id": id }))
            .await;
        assert_eq!(largest["updatePetition"]["goal"], 2_147_483_647_i64, "the largest Int is a goal");
    }
}
