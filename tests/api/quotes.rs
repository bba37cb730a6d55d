//! Quotes: lists, filters, and the rule that only published quotes are public.

use entity::enums::QuoteStatus;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures::{self, gid};

db_tests!(
    every_seeded_quote_keeps_its_source,
    quotes_filter_by_text_person_film_and_status,
    a_pending_quote_is_invisible_to_the_public_everywhere
);

async fn every_seeded_quote_keeps_its_source(app: TestApp) {
    let data = app.data("{ quotes { totalCount nodes { text source person { name } status } } }", json!({})).await;
    assert_eq!(data["quotes"]["totalCount"], 3);
    for quote in data["quotes"]["nodes"].as_array().unwrap() {
        assert_eq!(quote["source"], "Collider");
        assert_eq!(quote["person"]["name"], "Rosa Salazar");
        assert_eq!(quote["status"], "PUBLISHED");
    }
}

async fn quotes_filter_by_text_person_film_and_status(app: TestApp) {
    let ids = app
        .data(r#"{ person(slug: "rosa-salazar") { id } film(slug: "alita-battle-angel-sequel") { id } }"#, json!({}))
        .await;
    let query = "query($filter: QuoteFilter) { quotes(filter: $filter) { totalCount nodes { text } } }";
    let data = app.data(query, json!({ "filter": { "textContains": "STILL MIGHT" } })).await;
    assert_eq!(data["quotes"]["nodes"], json!([{ "text": "It still might happen." }]));
    let data = app.data(query, json!({ "filter": { "personId": ids["person"]["id"] } })).await;
    assert_eq!(data["quotes"]["totalCount"], 3);
    let data = app.data(query, json!({ "filter": { "filmId": ids["film"]["id"] } })).await;
    assert_eq!(data["quotes"]["totalCount"], 1);
    let data = app.data(query, json!({ "filter": { "status": "PUBLISHED", "personId": gid("Person", 999) } })).await;
    assert_eq!(data["quotes"]["totalCount"], 0);
}

async fn a_pending_quote_is_invisible_to_the_public_everywhere(app: TestApp) {
    let ids =
        app.data(r#"{ person(slug: "rosa-salazar") { id } film(slug: "alita-battle-angel") { id } }"#, json!({})).await;
    let person_id = fixtures::raw_id(ids["person"]["id"].as_str().unwrap());
    let film_id = fixtures::raw_id(ids["film"]["id"].as_str().unwrap());
    let pending = fixtures::quotes(&app.db, person_id, Some(film_id), 1, QuoteStatus::Pending).await;
    let rejected = fixtures::quotes(&app.db, person_id, Some(film_id), 1, QuoteStatus::Rejected).await;
    for hidden in [&pending[0], &rejected[0]] {
        let id = gid("Quote", hidden.id);
        let data = app
            .data(
                r#"query($id: ID!) {
                     quote(id: $id) { text } node(id: $id) { id } nodes(ids: [$id]) { id }
                     quotes(first: 100) { totalCount nodes { id } }
                     pendingOnly: quotes(filter: { status: PENDING }) { totalCount }
                     film(slug: "alita-battle-angel") { quotes(first: 100) { totalCount nodes { id } } }
                     person(slug: "rosa-salazar") { quotes(first: 100) { totalCount nodes { id } } } }"#,
                json!({ "id": id }),
            )
            .await;
        assert_eq!(data["quote"], Value::Null);
        assert_eq!(data["node"], Value::Null);
        assert_eq!(data["nodes"], json!([null]));
        assert_eq!(data["quotes"]["totalCount"], 3);
        assert_eq!(data["pendingOnly"]["totalCount"], 0);
        assert_eq!(data["film"]["quotes"]["totalCount"], 2);
        assert_eq!(data["person"]["quotes"]["totalCount"], 3);
        for list in [&data["quotes"], &data["film"]["quotes"], &data["person"]["quotes"]] {
            assert!(list["nodes"].as_array().unwrap().iter().all(|node| node["id"] != json!(id)));
        }
    }
}
