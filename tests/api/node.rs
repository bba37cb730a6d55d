//! Global IDs: `node`/`nodes` round trips for every public type, and clear errors for bad IDs.

use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures::{self, gid};

db_tests!(
    every_public_object_round_trips_through_node,
    node_resolves_fields_through_fragments,
    bad_global_ids_are_bad_user_input,
    ids_that_name_nothing_resolve_to_null,
    me_is_null_for_anonymous_requests
);

async fn every_public_object_round_trips_through_node(app: TestApp) {
    let petition = app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id } }"#, json!({})).await;
    let petition_id = fixtures::raw_id(petition["petition"]["id"].as_str().unwrap());
    let fan = fixtures::user(&app.db, "Node Fan").await;
    fixtures::signature(&app.db, petition_id, fan.id, true, Some("NZ")).await;

    let data = app
        .data(
            r#"{ films(first: 1) { nodes { id __typename } }
                 people(first: 1) { nodes { id __typename } }
                 quotes(first: 1) { nodes { id __typename } }
                 events(first: 1) { nodes { id __typename } }
                 petitions(first: 1) { nodes { id __typename signatures { nodes { id __typename } } } }
                 film(slug: "alita-battle-angel") { credits(first: 1) { nodes { id __typename } } } }"#,
            json!({}),
        )
        .await;
    let objects = [
        &data["films"]["nodes"][0],
        &data["people"]["nodes"][0],
        &data["quotes"]["nodes"][0],
        &data["events"]["nodes"][0],
        &data["petitions"]["nodes"][0],
        &data["petitions"]["nodes"][0]["signatures"]["nodes"][0],
        &data["film"]["credits"]["nodes"][0],
    ];
    let ids: Vec<Value> = objects.iter().map(|object| object["id"].clone()).collect();
    for object in &objects {
        let found =
            app.data("query($id: ID!) { node(id: $id) { id __typename } }", json!({ "id": object["id"] })).await;
        assert_eq!(found["node"]["id"], object["id"]);
        assert_eq!(found["node"]["__typename"], object["__typename"]);
    }
    let found = app.data("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": ids })).await;
    let found_ids: Vec<Value> = found["nodes"].as_array().unwrap().iter().map(|node| node["id"].clone()).collect();
    assert_eq!(found_ids, ids);
}

async fn node_resolves_fields_through_fragments(app: TestApp) {
    let film = app.data(r#"{ film(slug: "alita-battle-angel") { id } }"#, json!({})).await;
    let data = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Film { title sequels { totalCount } } } }",
            json!({ "id": film["film"]["id"] }),
        )
        .await;
    assert_eq!(data["node"]["title"], "Alita: Battle Angel");
    assert_eq!(data["node"]["sequels"]["totalCount"], 1);
}

async fn bad_global_ids_are_bad_user_input(app: TestApp) {
    for bad in ["not base64!", "", "RmlsbQ", &base64_of("Film:abc"), &base64_of("Spaceship:1"), &base64_of("Film:-3")] {
        let error = app.error("query($id: ID!) { node(id: $id) { id } }", json!({ "id": bad })).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{bad}");
        assert_eq!(error["extensions"]["field"], "id", "{bad}");
        assert!(error["message"].as_str().unwrap().contains("not a valid ID"));
    }
    let error = app
        .error("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": [gid("Film", 1), "garbage"] }))
        .await;
    assert_eq!(error["extensions"]["field"], "ids");
}

async fn ids_that_name_nothing_resolve_to_null(app: TestApp) {
    let data = app
        .data(
            "query($a: ID!, $b: ID!, $c: ID!) { a: node(id: $a) { id } b: node(id: $b) { id } c: node(id: $c) { id } }",
            json!({ "a": gid("Film", 424_242), "b": gid("Rsvp", 1), "c": gid("User", 1) }),
        )
        .await;
    assert_eq!(data, json!({ "a": null, "b": null, "c": null }));
}

async fn me_is_null_for_anonymous_requests(app: TestApp) {
    let data = app.data("{ me { id } }", json!({})).await;
    assert_eq!(data["me"], Value::Null);
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
