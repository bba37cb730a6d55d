//! No N+1: nested lists cost a fixed number of SQL statements whatever the page sizes (up to
//! what the complexity budget allows). A root field the read planner covers costs exactly one
//! statement; the resolvers (`x-fandb-read-path: resolvers`) stay within their batch budgets.

use entity::enums::{CreditRole, QuoteStatus};
use serde_json::json;

use crate::support::{TestApp, fixtures};

async fn statements_for(app: &TestApp, query: &str, variables: serde_json::Value) -> u64 {
    let before = app.statements();
    app.data(query, variables).await;
    app.statements() - before
}

/// The statements of `query` resolved field by field, as before the planner.
async fn resolver_statements_for(app: &TestApp, query: &str, variables: serde_json::Value) -> u64 {
    let body = serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("JSON");
    let headers = [("content-type", "application/json"), ("x-fandb-read-path", "resolvers")];
    let before = app.statements();
    let response = app.request("POST", "/graphql", &headers, Some(body)).await;
    let statements = app.statements() - before;
    let json = response.json();
    assert!(json.get("errors").is_none(), "unexpected errors: {json}");
    statements
}

async fn films_with_credits(app: &TestApp) {
    let films = fixtures::films(&app.db, 25).await;
    let people = fixtures::people(&app.db, 12).await;
    for film in &films {
        for (i, person) in people.iter().enumerate().take(((film.id % 10) + 2) as usize) {
            fixtures::credit(&app.db, film.id, person.id, CreditRole::Cast, Some(i as i32)).await;
        }
        fixtures::quotes(&app.db, people[0].id, Some(film.id), 2, QuoteStatus::Published).await;
    }
}

db_tests!(
    twenty_films_with_credits_and_people_cost_one_statement_planned_and_four_resolved,
    each_planned_root_field_costs_one_statement,
    a_deeply_nested_query_stays_within_a_fixed_budget_at_any_page_size,
    a_signed_in_fans_view_of_petitions_and_events_costs_the_same_at_any_page_size,
    petitions_with_counts_cost_the_same_at_any_page_size
);

async fn twenty_films_with_credits_and_people_cost_one_statement_planned_and_four_resolved(app: TestApp) {
    films_with_credits(&app).await;
    let query = "query($films: Int, $credits: Int) { films(first: $films) { totalCount nodes { title
                   credits(first: $credits) { nodes { role person { name } } } } } }";
    // (27 films × 40 credits is near the complexity budget of 5000.)
    for (films, credits) in [(1, 1), (2, 5), (20, 10), (27, 40)] {
        let variables = json!({ "films": films, "credits": credits });
        let statements = statements_for(&app, query, variables.clone()).await;
        assert_eq!(statements, 1, "films: {films}, credits: {credits}: one planned statement");
        let resolved = resolver_statements_for(&app, query, variables).await;
        assert_eq!(resolved, 4, "films: {films}, credits: {credits}: films, their count, credits, people");
    }
}

async fn each_planned_root_field_costs_one_statement(app: TestApp) {
    films_with_credits(&app).await;
    let query = r#"{ a: films(first: 5) { nodes { title quotes(first: 3) { nodes { text person { name } } } } }
                    b: film(slug: "alita-battle-angel") { title credits { nodes { person { name } } } }
                    c: people(last: 4) { totalCount edges { cursor node { name credits { nodes { film { title } } } } } }
                    d: node(id: "RmlsbTox") { id ... on Film { sequels { nodes { title } } } } }"#;
    assert_eq!(statements_for(&app, query, json!({})).await, 4, "four planned root fields, four statements");
    let planned = app.get("/metrics").await.body;
    for field in ["films", "film", "people", "node"] {
        assert!(
            planned.contains(&format!("fandb_read_planned_total{{field=\"{field}\"}}")),
            "{field} is counted as planned: {planned}"
        );
    }
    // A root field with anything the planner does not read resolves as before, and is counted.
    let fallback = r#"{ petitions(first: 2) { nodes { title viewerHasSigned } } }"#;
    app.data(fallback, json!({})).await;
    let metrics = app.get("/metrics").await.body;
    assert!(
        metrics.contains("fandb_read_plan_fallbacks_total{field=\"petitions\"} 1"),
        "the fallback is counted by field: {metrics}"
    );
}

async fn a_deeply_nested_query_stays_within_a_fixed_budget_at_any_page_size(app: TestApp) {
    films_with_credits(&app).await;
    let query = "query($films: Int, $credits: Int) { films(first: $films) { totalCount nodes { title
                   credits(first: $credits) { totalCount nodes { role person { name quotes(first: 2) { nodes { text } } } } }
                   quotes(first: 3) { totalCount nodes { text person { name } } }
                   sequelOf { title } } } }";
    // Loader batches of sibling subtrees may or may not coincide, so the exact number can
    // vary by one or two; what must not happen is growth with the number of rows.
    for (films, credits) in [(2, 1), (20, 10), (27, 15)] {
        let variables = json!({ "films": films, "credits": credits });
        assert_eq!(statements_for(&app, query, variables.clone()).await, 1, "films: {films}, credits: {credits}");
        let statements = resolver_statements_for(&app, query, variables).await;
        assert!(statements <= 11, "films: {films}, credits: {credits}: {statements} statements resolved");
    }
}

async fn a_signed_in_fans_view_of_petitions_and_events_costs_the_same_at_any_page_size(app: TestApp) {
    fixtures::petitions(&app.db, 30).await;
    fixtures::events(&app.db, 30, None).await;
    let (_, token) = fixtures::fan(&app.db, "Counting Fan").await;
    let query =
        "query($n: Int) { petitions(first: $n) { nodes { viewerHasSigned signaturesByCountry { country count } } }
                   events(first: $n) { nodes { viewerRsvp { status } rsvpCount } } }";
    let mut costs = Vec::new();
    for n in [2, 31] {
        let before = app.statements();
        app.data_as(&token, query, json!({ "n": n })).await;
        costs.push(app.statements() - before);
    }
    assert_eq!(costs[0], costs[1], "statements grew with the page size: {costs:?}");
}

async fn petitions_with_counts_cost_the_same_at_any_page_size(app: TestApp) {
    fixtures::petitions(&app.db, 30).await;
    let query = "query($n: Int) { petitions(first: $n) { nodes { title signatureCount progress film { title } signatures(first: 5) { totalCount nodes { displayName } } } } }";
    let small = statements_for(&app, query, json!({ "n": 2 })).await;
    let large = statements_for(&app, query, json!({ "n": 31 })).await;
    assert_eq!(small, large);
}

db_tests!(the_benchmark_shapes_stay_within_their_statement_budgets);

async fn the_benchmark_shapes_stay_within_their_statement_budgets(app: TestApp) {
    films_with_credits(&app).await;
    let cursor =
        app.data("{ quotes(first: 5) { pageInfo { endCursor } } }", json!({})).await["quotes"]["pageInfo"]["endCursor"]
            .clone();
    let shapes = [
        (
            "a",
            r#"{ film(slug: "alita-battle-angel") { slug title releaseDate credits(first: 20) { nodes { role character person { id name } } } } }"#,
            json!({}),
            3,
        ),
        (
            "b",
            "query($after: String) { quotes(first: 50, after: $after) { nodes { id text source saidOn person { name } film { title } } } }",
            json!({ "after": cursor }),
            3,
        ),
        (
            "c",
            r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id title goal signatureCount film { id slug title } } }"#,
            json!({}),
            // The petition, its film, and its count with the count's slots (one batched loader).
            3,
        ),
        (
            "d",
            "{ films(first: 20) { nodes { id title credits(first: 10) { nodes { role character person { id name } } } quotes(first: 5) { nodes { id text saidOn } } } } }",
            json!({}),
            5,
        ),
    ];
    for (shape, query, variables, budget) in shapes {
        let statements = statements_for(&app, query, variables.clone()).await;
        assert_eq!(statements, 1, "shape {shape}: one planned statement");
        let resolved = resolver_statements_for(&app, query, variables).await;
        assert!(resolved <= budget, "shape {shape}: {resolved} statements resolved, budget {budget}");
    }
}
