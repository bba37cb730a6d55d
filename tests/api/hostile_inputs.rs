//! Hostile inputs: every client mistake found so far is refused with a coded client error naming
//! the field, never a 500 or `INTERNAL_SERVER_ERROR`, on both databases.

use crate::support::TestApp;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entity::enums::Role;
use serde_json::{Value, json};

const CREATE_FILM: &str = "mutation($input: CreateFilmInput!) { createFilm(input: $input) { id budgetUsd } }";

#[track_caller]
fn assert_bad_input(error: &Value, field: &str) {
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
    assert_eq!(error["extensions"]["field"], field, "{error}");
}

db_tests!(
    money_given_as_a_string_is_bad_user_input,
    a_value_of_the_wrong_type_is_one_error_naming_its_argument,
    a_huge_filter_string_is_bad_user_input,
    a_cursor_from_another_order_is_bad_user_input,
    a_nul_byte_in_any_string_is_bad_user_input,
    a_modifier_letter_apostrophe_searches_without_error,
    an_event_slug_with_a_nul_byte_is_not_found
);

async fn money_given_as_a_string_is_bad_user_input(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let error = app
        .error_as(
            &admin.access_token,
            CREATE_FILM,
            json!({ "input": { "title": "Money Film", "status": "ANNOUNCED", "budgetUsd": "100" } }),
        )
        .await;
    assert_bad_input(&error, "input.budgetUsd");
    let inline = app
        .error_as(
            &admin.access_token,
            "mutation { createFilm(input: { title: \"Money Film\", status: ANNOUNCED, budgetUsd: \"100\" }) { id } }",
            json!({}),
        )
        .await;
    assert_bad_input(&inline, "input.budgetUsd");
    let fractional = app
        .error_as(
            &admin.access_token,
            CREATE_FILM,
            json!({ "input": { "title": "Money Film", "status": "ANNOUNCED", "budgetUsd": 1.5 } }),
        )
        .await;
    assert_bad_input(&fractional, "input.budgetUsd");
    let films = app.data("{ films(filter: { titleContains: \"Money Film\" }) { totalCount } }", json!({})).await;
    assert_eq!(films["films"]["totalCount"], 0);
}

async fn a_value_of_the_wrong_type_is_one_error_naming_its_argument(app: TestApp) {
    let response = app.graphql("query($n: Int) { films(first: $n) { totalCount } }", json!({ "n": "ten" })).await;
    let errors = response["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{response}");
    assert_bad_input(&errors[0], "first");
    // An Int beyond 32 bits (refused while the query is costed): one error, named.
    for (query, variables) in [
        ("query($n: Int) { films(last: $n) { totalCount } }", json!({ "n": 3_000_000_000u64 })),
        ("{ films(first: 3000000000) { totalCount } }", json!({})),
    ] {
        let response = app.graphql(query, variables).await;
        let errors = response["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{response}");
        assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{response}");
        assert!(matches!(errors[0]["extensions"]["field"].as_str(), Some("first" | "last")), "{response}");
    }
    // An input object sent as something else is refused while resolving; still named.
    for wrong in [json!("#AlitaArmy"), json!(true), json!([null, null]), json!(7)] {
        let error = app
            .error("mutation($input: LoginInput!) { login(input: $input) { accessToken } }", json!({ "input": wrong }))
            .await;
        assert_bad_input(&error, "input");
    }
    let error = app.error("{ films(filter: { releasedAfter: \"yesterday\" }) { totalCount } }", json!({})).await;
    assert_bad_input(&error, "filter.releasedAfter");
    let error = app
        .error(
            "query($d: Date) { films(filter: { releasedAfter: $d }) { totalCount } }",
            json!({ "d": "-200000-01-01" }),
        )
        .await;
    assert_bad_input(&error, "filter.releasedAfter");
}

async fn a_huge_filter_string_is_bad_user_input(app: TestApp) {
    let long = "a".repeat(50_000);
    let error = app
        .error("query($t: String) { films(filter: { titleContains: $t }) { totalCount } }", json!({ "t": long }))
        .await;
    assert_bad_input(&error, "filter.titleContains");
    let percent = "%_".repeat(25_000);
    let error = app
        .error("query($t: String) { films(filter: { titleContains: $t }) { totalCount } }", json!({ "t": percent }))
        .await;
    assert_bad_input(&error, "filter.titleContains");
}

async fn a_cursor_from_another_order_is_bad_user_input(app: TestApp) {
    let by_title = app
        .data("{ films(first: 1, orderBy: { field: TITLE, direction: ASC }) { edges { cursor } } }", json!({}))
        .await;
    let cursor = by_title["films"]["edges"][0]["cursor"].as_str().unwrap().to_owned();
    for (order, argument) in [("RELEASE_DATE", "after"), ("CREATED_AT", "after"), ("RELEASE_DATE", "before")] {
        let query = format!(
            "query($c: String) {{ films(first: 2, {argument}: $c, orderBy: {{ field: {order}, direction: ASC }}) {{ edges {{ cursor }} }} }}"
        );
        let query = if argument == "before" { query.replace("first: 2", "last: 2") } else { query };
        let error = app.error(&query, json!({ "c": cursor })).await;
        assert_bad_input(&error, argument);
    }
    // A forged cursor naming the right column with a value of another type, or a NUL.
    for forged in [
        json!({ "s": "release_date", "v": { "text": "x" }, "i": 1 }),
        json!({ "s": "release_date", "v": { "int": 7 }, "i": 1 }),
        json!({ "s": "title", "v": { "text": "a\u{0}" }, "i": 1 }),
        json!({ "s": "title", "v": "null", "i": 1 }),
    ] {
        let cursor = URL_SAFE_NO_PAD.encode(forged.to_string());
        let error = app
            .error("query($c: String) { films(first: 2, after: $c, orderBy: { field: RELEASE_DATE, direction: ASC }) { totalCount } }", json!({ "c": cursor }))
            .await;
        assert_bad_input(&error, "after");
    }
    // A cursor of a film's quotes is no position in the list of all films.
    let nested = app.data("{ people(first: 1, filter: { nameContains: \"salazar\" }) { nodes { quotes(first: 1) { edges { cursor } } } } }", json!({})).await;
    let quote_cursor = nested["people"]["nodes"][0]["quotes"]["edges"][0]["cursor"].as_str().expect("a quote cursor");
    let error = app.error("query($c: String) { films(after: $c) { totalCount } }", json!({ "c": quote_cursor })).await;
    assert_bad_input(&error, "after");
    // The same column in the other direction is another order too (see consistency.rs).
    let error = app
        .error("query($c: String) { films(first: 1, after: $c, orderBy: { field: TITLE, direction: DESC }) { totalCount } }", json!({ "c": cursor }))
        .await;
    assert_bad_input(&error, "after");
}

async fn a_nul_byte_in_any_string_is_bad_user_input(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let error = app
        .error_as(
            &admin.access_token,
            CREATE_FILM,
            json!({ "input": { "title": "Nul\u{0}Film", "status": "ANNOUNCED" } }),
        )
        .await;
    assert_bad_input(&error, "input.title");
    let inline = app
        .error_as(
            &admin.access_token,
            "mutation { createFilm(input: { title: \"Nul\\u0000Film\", status: ANNOUNCED }) { id } }",
            json!({}),
        )
        .await;
    assert_bad_input(&inline, "input.title");
    let filter = app
        .error("query($t: String) { films(filter: { titleContains: $t }) { totalCount } }", json!({ "t": "a\u{0}" }))
        .await;
    assert_bad_input(&filter, "filter.titleContains");
    let search = app.error("query($q: String!) { searchHits(query: $q) { rank } }", json!({ "q": "alita\u{0}" })).await;
    assert_bad_input(&search, "query");
    let slug = app.error("query($s: String) { film(slug: $s) { id } }", json!({ "s": "\u{0}" })).await;
    assert_bad_input(&slug, "slug");
    // In a variable's default, a list, a fragment, a nested field's argument: the same answer.
    let default = app
        .error("query($t: String = \"a\\u0000\") { films(filter: { titleContains: $t }) { totalCount } }", json!({}))
        .await;
    assert_bad_input(&default, "filter.titleContains");
    let list =
        app.error("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": ["RmlsbTox", "\u{0}"] })).await;
    assert_bad_input(&list, "ids.1");
    let fragment = app
        .error(
            "{ ...F } fragment F on Query { people(filter: { nameContains: \"\\u0000\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_bad_input(&fragment, "filter.nameContains");
    let nested = app
        .error(
            "query($c: String) { films(first: 1) { nodes { quotes(after: $c) { totalCount } } } }",
            json!({ "c": "\u{0}" }),
        )
        .await;
    assert_bad_input(&nested, "after");
    let films = app.data("{ films(filter: { titleContains: \"Nul\" }) { totalCount } }", json!({})).await;
    assert_eq!(films["films"]["totalCount"], 0);
}

async fn a_modifier_letter_apostrophe_searches_without_error(app: TestApp) {
    for query in ["ʼ", "alitaʼs", "ʼalita", "rosa ʼ salazar", "'", "a'b", "ˈ", "\u{2019}"] {
        let response =
            app.graphql("query($q: String!) { searchHits(query: $q) { rank } }", json!({ "q": query })).await;
        assert!(response.get("errors").is_none(), "{query}: {response}");
    }
}

async fn an_event_slug_with_a_nul_byte_is_not_found(app: TestApp) {
    for path in ["/events/%00.ics", "/events/a%00b.ics", "/events/%FF.ics"] {
        let response = app.get(path).await;
        assert!(matches!(response.status, 400 | 404), "{path} answered {}: {}", response.status, response.body);
    }
}
