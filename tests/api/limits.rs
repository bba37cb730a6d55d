//! Document limits: data depth 10 (introspection 20), 15 aliases, 5 directives per field —
//! refused as request errors before anything runs.

use crate::support::TestApp;
use serde_json::json;

fn nested(levels: usize) -> String {
    // films(1) nodes(2) sequelOf(3..) … title: a data path `levels` fields deep.
    let mut query = String::from("films { nodes { ");
    for _ in 0..levels.saturating_sub(3) {
        query.push_str("sequelOf { ");
    }
    query.push_str("title");
    for _ in 0..levels.saturating_sub(3) {
        query.push_str(" }");
    }
    query.push_str(" } }");
    format!("{{ {query} }}")
}

db_tests!(
    data_nests_at_most_ten_fields_deep_and_introspection_twenty,
    at_most_fifteen_aliases_and_five_directives_per_field,
    a_limit_breach_is_a_request_error
);

async fn data_nests_at_most_ten_fields_deep_and_introspection_twenty(app: TestApp) {
    app.data(&nested(10), json!({})).await;
    let error = app.error(&nested(11), json!({})).await;
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("deeper than 10"));

    let type_ref = "kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }";
    let introspection =
        format!("{{ __schema {{ types {{ fields {{ args {{ type {{ {type_ref} }} }} type {{ {type_ref} }} }} }} }} }}");
    let data = app.data(&introspection, json!({})).await;
    assert!(data["__schema"]["types"].as_array().unwrap().len() > 10, "client generators' introspection still works");
}

async fn at_most_fifteen_aliases_and_five_directives_per_field(app: TestApp) {
    let aliases = |n: usize| {
        format!("{{ {} }}", (0..n).map(|i| format!("a{i}: films {{ totalCount }}")).collect::<Vec<_>>().join(" "))
    };
    app.data(&aliases(15), json!({})).await;
    let error = app.error(&aliases(16), json!({})).await;
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");

    let directives = |n: usize| format!("{{ films {} {{ totalCount }} }}", "@include(if: true) ".repeat(n));
    let error = app.error(&directives(6), json!({})).await;
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("directives"));
}

async fn a_limit_breach_is_a_request_error(app: TestApp) {
    let body = serde_json::to_vec(&json!({ "query": nested(12) })).unwrap();
    let strict = [("content-type", "application/json"), ("accept", "application/graphql-response+json")];
    let response = app.request("POST", "/graphql", &strict, Some(body)).await;
    assert_eq!(response.status, 400);
    assert!(response.json().get("data").is_none());
}

db_tests!(one_login_or_register_per_request);

async fn one_login_or_register_per_request(app: TestApp) {
    let two = r#"mutation { a: login(input: { email: "a@b.co", password: "password-1" }) { accessToken }
                            b: login(input: { email: "a@b.co", password: "password-2" }) { accessToken } }"#;
    let error = app.error(two, json!({})).await;
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("at most one"));
    let mixed = r#"mutation { login(input: { email: "a@b.co", password: "password-1" }) { accessToken }
                              ...R } fragment R on Mutation { register(input: { email: "c@d.co", password: "password-2", displayName: "C" }) { accessToken } }"#;
    assert_eq!(app.error(mixed, json!({})).await["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    let one = app
        .error(r#"mutation { login(input: { email: "a@b.co", password: "password-1" }) { accessToken } }"#, json!({}))
        .await;
    assert_eq!(one["extensions"]["code"], "UNAUTHENTICATED", "a single login runs");
}

db_tests!(a_query_costs_what_its_pages_can_fetch_at_most_five_thousand);

async fn a_query_costs_what_its_pages_can_fetch_at_most_five_thousand(app: TestApp) {
    // 20 films × (10 credits with their person + 5 quotes): well within the budget.
    let modest = "{ films(first: 20) { nodes { title credits(first: 10) { nodes { person { name } } } quotes(first: 5) { nodes { text } } } } }";
    app.data(modest, json!({})).await;
    // 100 films × 100 credits each: ten thousand rows, however short the text of the query.
    let greedy = "{ films(first: 100) { nodes { credits(first: 100) { nodes { person { name } } } } } }";
    let error = app.error(greedy, json!({})).await;
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().to_lowercase().contains("complex"), "{error}");
    // Unstated page sizes count as the default page of 20.
    let defaulted =
        "{ films { nodes { credits { nodes { person { name films: credits { nodes { film { title } } } } } } } } }";
    let error = app.error(defaulted, json!({})).await;
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
}

db_tests!(a_document_sent_again_is_refused_as_it_was_the_first_time);

/// The server keeps recent documents parsed, and their validations by operation name and
/// variables; a document refused once is refused again with the same errors, and one that passed
/// with small variables is still costed by the variables it comes with next.
async fn a_document_sent_again_is_refused_as_it_was_the_first_time(app: TestApp) {
    // The cache's counters are read below; the resolver-path duplicates would count too.
    let app = app.without_differential();
    let paged =
        "query Paged($n: Int) { films(first: $n) { nodes { credits(first: 100) { nodes { person { name } } } } } }";
    app.data(paged, json!({ "n": 1 })).await;
    // 100 films × 100 credits: too complex, whatever passed with `n: 1` before.
    let too_complex = app.graphql(paged, json!({ "n": 100 })).await;
    let error = &too_complex["errors"][0];
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{too_complex}");
    assert!(error["message"].as_str().unwrap().to_lowercase().contains("complex"), "{error}");
    assert_eq!(app.graphql(paged, json!({ "n": 100 })).await, too_complex, "refused again, the same way");
    let mistyped = app.graphql(paged, json!({ "n": "ten" })).await;
    assert_eq!(mistyped["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{mistyped}");
    assert_eq!(app.graphql(paged, json!({ "n": "ten" })).await, mistyped);
    app.data(paged, json!({ "n": 1 })).await;

    // A clean document does not clean the variables sent with it.
    let by_slug = "query BySlug($slug: String) { film(slug: $slug) { title } }";
    assert_eq!(app.data(by_slug, json!({ "slug": "no-such-film" })).await["film"], json!(null));
    let nul = app.graphql(by_slug, json!({ "slug": "no\u{0}film" })).await;
    assert_eq!(nul["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{nul}");
    assert_eq!(nul["errors"][0]["extensions"]["field"], "slug", "{nul}");
    assert_eq!(app.graphql(by_slug, json!({ "slug": "no\u{0}film" })).await, nul);

    let metrics = app.get("/metrics").await.body;
    let value = |name: &str| {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no `{name}` in\n{metrics}"))
            .to_owned()
    };
    assert_eq!(value("fandb_document_cache_misses_total"), "2", "each text parsed once");
    assert_eq!(value("fandb_document_cache_hits_total"), "7");
}
