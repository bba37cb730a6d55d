//! No N+1: nested lists cost a fixed number of SQL statements whatever the page sizes (up to
//! what the complexity budget allows).

use entity::enums::{CreditRole, QuoteStatus};
use serde_json::json;

use crate::support::{TestApp, fixtures};

async fn statements_for(app: &TestApp, query: &str, variables: serde_json::Value) -> u64 {
    let before = app.statements();
    app.data(query, variables).await;
    app.statements() - before
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
    twenty_films_with_credits_and_people_cost_three_statements_at_any_page_size,
    a_deeply_nested_query_stays_within_a_fixed_budget_at_any_page_size,
    a_signed_in_fans_view_of_petitions_and_events_costs_the_same_at_any_page_size,
    petitions_with_counts_cost_the_same_at_any_page_size
);

async fn twenty_films_with_credits_and_people_cost_three_statements_at_any_page_size(app: TestApp) {
    films_with_credits(&app).await;
    let query = "query($films: Int, $credits: Int) { films(first: $films) { nodes { title
                   credits(first: $credits) { nodes { role person { name } } } } } }";
    // (27 films × 40 credits is near the complexity budget of 5000.)
    for (films, credits) in [(1, 1), (2, 5), (20, 10), (27, 40)] {
        let statements = statements_for(&app, query, json!({ "films": films, "credits": credits })).await;
        assert_eq!(statements, 3, "films: {films}, credits: {credits}: one for films, one for credits, one for people");
    }
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
        let statements = statements_for(&app, query, json!({ "films": films, "credits": credits })).await;
        assert!(statements <= 11, "films: {films}, credits: {credits}: {statements} statements");
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
            r#"{ film(slug: "alita-battle-angel") { title credits(first: 20) { nodes { role character person { name } } } } }"#,
            json!({}),
            3,
        ),
        (
            "b",
            "query($after: String) { quotes(first: 50, after: $after) { nodes { text source person { name } film { title } } } }",
            json!({ "after": cursor }),
            3,
        ),
        (
            "c",
            r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { title signatureCount goal film { title } } }"#,
            json!({}),
            2,
        ),
        (
            "d",
            "{ films(first: 20) { nodes { title credits(first: 10) { nodes { role person { name } } } quotes(first: 5) { nodes { text } } } } }",
            json!({}),
            5,
        ),
    ];
    for (shape, query, variables, budget) in shapes {
        let statements = statements_for(&app, query, variables).await;
        assert!(statements <= budget, "shape {shape}: {statements} statements, budget {budget}");
    }
}
