//! `search` and `searchHits`: ranked full-text search over everything public, the same on both
//! databases, accent- and case-insensitive, prefix-matching, kept current by the database, and
//! never a database error whatever the query.

use entity::enums::{QuoteStatus, Role};
use serde_json::{Value, json};

use crate::support::{TestApp, fixtures};

const HITS: &str = "query($q: String!, $first: Int) { searchHits(query: $q, first: $first) { snippet rank node { __typename
    ... on Film { slug title } ... on Person { slug name } ... on Quote { text } ... on Event { slug } ... on Petition { slug } } } }";

async fn hits(app: &TestApp, query: &str) -> Vec<Value> {
    app.data(HITS, json!({ "q": query })).await["searchHits"].as_array().unwrap().clone()
}

fn first_is(hits: &[Value], typename: &str, key: &str, value: &str) {
    let first = hits.first().unwrap_or_else(|| panic!("no hits; expected {typename} {value}"));
    assert_eq!(first["node"]["__typename"], typename, "{hits:?}");
    assert_eq!(first["node"][key], value, "{hits:?}");
}

db_tests!(
    the_right_records_come_first_for_the_campaigns_searches,
    a_snippet_quotes_the_stored_text_and_marks_the_match,
    bad_queries_find_nothing_or_are_refused_clearly,
    search_is_kept_current_and_shows_only_published_quotes,
    the_record_a_query_names_comes_first_with_a_real_rank
);

async fn the_right_records_come_first_for_the_campaigns_searches(app: TestApp) {
    let still = hits(&app, "still might happen").await;
    first_is(&still, "Quote", "text", "It still might happen.");
    assert!(still[0]["snippet"].as_str().unwrap().contains("«"), "the snippet highlights the match: {still:?}");

    let motorball = hits(&app, "motorball").await;
    assert_eq!(motorball[0]["node"]["__typename"], "Film", "{motorball:?}");
    first_is(&hits(&app, "weta").await, "Person", "slug", "weta-fx");
    first_is(&hits(&app, "Disney").await, "Petition", "slug", "open-letter-to-disney-alita-sequel");

    // Case, accents and prefixes (as you type).
    first_is(&hits(&app, "salazar").await, "Person", "slug", "rosa-salazar");
    first_is(&hits(&app, "ROSA SALA").await, "Person", "slug", "rosa-salazar");
    first_is(&hits(&app, "Wētā").await, "Person", "slug", "weta-fx");

    // The union list of the contract gives the same order.
    let union =
        app.data("{ search(query: \"disney\", first: 3) { __typename ... on Petition { slug } } }", json!({})).await;
    assert_eq!(union["search"][0]["slug"], "open-letter-to-disney-alita-sequel");
    assert!(union["search"].as_array().unwrap().len() <= 3);
    let ranks: Vec<f64> = hits(&app, "alita").await.iter().map(|hit| hit["rank"].as_f64().unwrap()).collect();
    assert!(ranks.windows(2).all(|pair| pair[0] >= pair[1]), "best first: {ranks:?}");
}

async fn a_snippet_quotes_the_stored_text_and_marks_the_match(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let create = "mutation($input: CreateFilmInput!) { createFilm(input: $input) { id } }";
    let input =
        json!({ "title": "Iron City — Zalem", "synopsis": "Wētā’s “Motorball” returns…", "status": "ANNOUNCED" });
    app.data_as(&admin.access_token, create, json!({ "input": input })).await;

    let weta = hits(&app, "weta").await;
    assert!(!weta.is_empty());
    for hit in &weta {
        let snippet = hit["snippet"].as_str().unwrap();
        assert!(snippet.contains("«Wētā"), "the match is marked in the stored spelling: {snippet}");
        assert!(!snippet.contains("Weta") && !snippet.contains("..."), "no unaccented copy: {snippet}");
    }
    let zalem = hits(&app, "zalem").await;
    let film = zalem.iter().find(|hit| hit["node"]["title"] == "Iron City — Zalem").expect("the film is found");
    assert_eq!(film["snippet"], "Iron City — «Zalem»");
    let motorball = hits(&app, "motorball returns").await;
    let film = motorball.iter().find(|hit| hit["node"]["title"] == "Iron City — Zalem").expect("the film is found");
    let snippet = film["snippet"].as_str().unwrap();
    assert!(snippet.starts_with("Wētā’s “«Motorball»” «returns»"), "{snippet}");
    assert!(
        "Wētā’s “Motorball” returns…".contains(&snippet.replace(['«', '»'], "")),
        "a quote of the synopsis: {snippet}"
    );
}

async fn bad_queries_find_nothing_or_are_refused_clearly(app: TestApp) {
    for query in ["", "   ", "!!! ??? ...", "&|!:*()<>", "\"'\\"] {
        assert!(hits(&app, query).await.is_empty(), "{query:?}");
    }
    let long = "a".repeat(1000);
    let error = app.error(HITS, json!({ "q": long })).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(error["extensions"]["field"], "query");
    let error = app.error(HITS, json!({ "q": "alita", "first": 51 })).await;
    assert_eq!(error["extensions"]["field"], "first");
    // Operators of either engine are plain words here.
    hits(&app, "alita AND NOT disney OR -weta NEAR(x y) title:alita").await;
}

async fn search_is_kept_current_and_shows_only_published_quotes(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let created = app
        .data_as(
            &admin.access_token,
            r#"mutation { createFilm(input: { title: "Gunnm Origins", status: ANNOUNCED }) { id } }"#,
            json!({}),
        )
        .await;
    let id = created["createFilm"]["id"].clone();
    first_is(&hits(&app, "gunnm").await, "Film", "title", "Gunnm Origins");
    app.data_as(
        &admin.access_token,
        r#"mutation($id: ID!) { updateFilm(id: $id, input: { title: "Last Order" }) { id } }"#,
        json!({ "id": id }),
    )
    .await;
    assert!(hits(&app, "gunnm").await.is_empty(), "the old title is gone from the index");
    first_is(&hits(&app, "last order").await, "Film", "title", "Last Order");
    app.data_as(&admin.access_token, "mutation($id: ID!) { deleteFilm(id: $id) }", json!({ "id": id })).await;
    assert!(hits(&app, "last order").await.is_empty(), "a deleted film is gone");

    let person = fixtures::people(&app.db, 1).await;
    fixtures::quotes(&app.db, person[0].id, None, 1, QuoteStatus::Pending).await;
    assert!(hits(&app, "fixture quote").await.is_empty(), "pending quotes are not public");
    fixtures::quotes(&app.db, person[0].id, None, 1, QuoteStatus::Published).await;
    let found = hits(&app, "fixture quote").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0]["node"]["text"].as_str().unwrap().contains("Published"));
}

async fn the_record_a_query_names_comes_first_with_a_real_rank(app: TestApp) {
    // "alita" is in most rows of the data set (FTS5's bm25 then weighs it at 1e-6), and in the
    // titles of the sequel, the screenings, the hashtag hour, the open letter and a quote.
    for (query, title) in [
        ("alita", "Alita: Battle Angel"),
        ("Alita: Battle Angel", "Alita: Battle Angel"),
        ("alita battle angel sequel", "Alita: Battle Angel sequel"),
    ] {
        let found = hits(&app, query).await;
        first_is(&found, "Film", "title", title);
        let ranks: Vec<f64> = found.iter().map(|hit| hit["rank"].as_f64().unwrap()).collect();
        assert!(ranks[0] > 0.1, "{query:?}: the best match's rank is a real number: {ranks:?}");
        assert!(ranks.iter().all(|rank| *rank > 0.0), "{query:?}: {ranks:?}");
        assert!(ranks.windows(2).all(|pair| pair[0] >= pair[1]), "{query:?}: best first: {ranks:?}");
    }
    first_is(&hits(&app, "rosa salazar").await, "Person", "slug", "rosa-salazar");
}
