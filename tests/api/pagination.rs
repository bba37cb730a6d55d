//! Relay pagination: paging forwards and backwards through every list, one row at a time and in
//! pages of 100, yields each row exactly once and in the same order; the page-size rules hold.

use std::collections::HashSet;

use entity::enums::{CreditRole, QuoteStatus};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures;

/// A list to page through: the field with its fixed arguments, and where its connection sits.
pub(crate) struct List {
    /// e.g. `films(orderBy: {field: TITLE, direction: ASC}` without the closing parenthesis.
    pub(crate) open: &'static str,
    /// e.g. `/films` or `/film/credits`.
    pub(crate) pointer: &'static str,
    /// Wraps the field for nested lists, e.g. `film(slug: "x") { … }`.
    pub(crate) outer: Option<&'static str>,
}

impl List {
    fn query(&self) -> String {
        let separator = if self.open.ends_with('(') { "" } else { ", " };
        let field = format!(
            "{}{separator}first: $first, after: $after, last: $last, before: $before) {{ totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} edges {{ cursor node {{ id }} }} }}",
            self.open
        );
        let body = match self.outer {
            Some(outer) => format!("{outer} {{ {field} }}"),
            None => field,
        };
        format!("query($first: Int, $after: String, $last: Int, $before: String) {{ {body} }}")
    }
}

struct Walk {
    ids: Vec<String>,
    total: u64,
}

async fn page(app: &TestApp, list: &List, variables: Value) -> Value {
    let data = app.data(&list.query(), variables).await;
    data.pointer(list.pointer).unwrap_or_else(|| panic!("{} in {data}", list.pointer)).clone()
}

fn ids_of(connection: &Value) -> Vec<String> {
    connection["edges"].as_array().unwrap().iter().map(|edge| edge["node"]["id"].as_str().unwrap().to_owned()).collect()
}

async fn forward(app: &TestApp, list: &List, size: i64) -> Walk {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    let mut total;
    loop {
        let connection = page(app, list, json!({ "first": size, "after": after })).await;
        total = connection["totalCount"].as_u64().unwrap();
        let page_ids = ids_of(&connection);
        let info = &connection["pageInfo"];
        assert_eq!(info["hasPreviousPage"], after.is_some(), "{}: {info}", list.open);
        if info["hasNextPage"] == true {
            assert_eq!(page_ids.len() as i64, size, "a page before the last is full");
        }
        ids.extend(page_ids);
        if info["hasNextPage"] != true {
            break;
        }
        after = Some(info["endCursor"].as_str().unwrap().to_owned());
        assert!(ids.len() as u64 <= total, "{}: more rows than totalCount", list.open);
    }
    Walk { ids, total }
}

async fn backward(app: &TestApp, list: &List, size: i64) -> Walk {
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut before: Option<String> = None;
    let mut total;
    loop {
        let connection = page(app, list, json!({ "last": size, "before": before })).await;
        total = connection["totalCount"].as_u64().unwrap();
        let info = &connection["pageInfo"];
        assert_eq!(info["hasNextPage"], before.is_some(), "{}: {info}", list.open);
        pages.push(ids_of(&connection));
        if info["hasPreviousPage"] != true {
            break;
        }
        before = Some(info["startCursor"].as_str().unwrap().to_owned());
        assert!(pages.iter().map(Vec::len).sum::<usize>() as u64 <= total, "{}: more rows than totalCount", list.open);
    }
    pages.reverse();
    Walk { ids: pages.into_iter().flatten().collect(), total }
}

/// Every way through `list` sees the same rows once each, as many as `totalCount`; the ids in
/// list order.
pub(crate) async fn assert_walks_agree(app: &TestApp, list: &List, expected_total: u64) -> Vec<String> {
    let one_at_a_time = forward(app, list, 1).await;
    assert_eq!(one_at_a_time.total, expected_total, "{}", list.open);
    assert_eq!(one_at_a_time.ids.len() as u64, expected_total, "{}: forward one at a time", list.open);
    let unique: HashSet<&String> = one_at_a_time.ids.iter().collect();
    assert_eq!(unique.len(), one_at_a_time.ids.len(), "{}: a row repeated", list.open);
    for (name, walk) in [
        ("forward by 100", forward(app, list, 100).await),
        ("forward by 7", forward(app, list, 7).await),
        ("backward one at a time", backward(app, list, 1).await),
        ("backward by 100", backward(app, list, 100).await),
        ("backward by 7", backward(app, list, 7).await),
    ] {
        assert_eq!(walk.total, expected_total, "{}: {name}", list.open);
        assert_eq!(walk.ids, one_at_a_time.ids, "{}: {name} differs from forward one at a time", list.open);
    }
    one_at_a_time.ids
}

db_tests!(
    paging_films_in_every_order_sees_each_row_once,
    paging_people_quotes_events_and_petitions_sees_each_row_once,
    paging_a_films_credits_sees_each_credit_once,
    more_than_100_rows_a_page_is_refused,
    the_default_page_is_20_rows,
    bad_page_arguments_are_refused_with_their_field,
    an_empty_page_has_no_cursors
);

async fn paging_films_in_every_order_sees_each_row_once(app: TestApp) {
    fixtures::films(&app.db, 105).await;
    for open in [
        "films(",
        "films(orderBy: { field: TITLE, direction: DESC }",
        "films(orderBy: { field: RELEASE_DATE, direction: ASC }",
        "films(orderBy: { field: RELEASE_DATE, direction: DESC }",
        "films(orderBy: { field: CREATED_AT, direction: DESC }",
        "films(filter: { status: RELEASED }, orderBy: { field: RELEASE_DATE, direction: ASC }",
    ] {
        let total = if open.contains("RELEASED") { 54 } else { 107 };
        assert_walks_agree(&app, &List { open, pointer: "/films", outer: None }, total).await;
    }
}

async fn paging_people_quotes_events_and_petitions_sees_each_row_once(app: TestApp) {
    let people = fixtures::people(&app.db, 30).await;
    fixtures::quotes(&app.db, people[0].id, None, 30, QuoteStatus::Published).await;
    fixtures::quotes(&app.db, people[1].id, None, 5, QuoteStatus::Pending).await;
    fixtures::events(&app.db, 30, None).await;
    fixtures::petitions(&app.db, 30).await;
    let lists = [
        ("people(", "/people", 36),
        ("people(orderBy: { field: BIRTH_DATE, direction: DESC }", "/people", 36),
        ("quotes(", "/quotes", 33),
        ("quotes(orderBy: { field: SAID_ON, direction: ASC }", "/quotes", 33),
        ("events(", "/events", 32),
        ("events(orderBy: { field: TITLE, direction: DESC }", "/events", 32),
        ("petitions(", "/petitions", 31),
        ("petitions(orderBy: { field: CLOSES_AT, direction: ASC }", "/petitions", 31),
    ];
    for (open, pointer, total) in lists {
        assert_walks_agree(&app, &List { open, pointer, outer: None }, total).await;
    }
}

async fn paging_a_films_credits_sees_each_credit_once(app: TestApp) {
    let films = fixtures::films(&app.db, 1).await;
    let people = fixtures::people(&app.db, 25).await;
    for (i, person) in people.iter().enumerate() {
        let billing = (i % 4 != 0).then_some((i % 6) as i32);
        fixtures::credit(&app.db, films[0].id, person.id, CreditRole::Crew, billing).await;
    }
    let list = List { open: "credits(", pointer: "/film/credits", outer: Some(r#"film(slug: "fixture-film-0")"#) };
    assert_walks_agree(&app, &list, 25).await;
}

async fn more_than_100_rows_a_page_is_refused(app: TestApp) {
    for query in [
        "{ films(first: 101) { totalCount } }",
        "{ quotes(last: 101) { totalCount } }",
        r#"{ film(slug: "alita-battle-angel") { credits(first: 500) { totalCount } } }"#,
    ] {
        let error = app.error(query, json!({})).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{query}");
    }
    let error = app.error("{ films(first: 101) { totalCount } }", json!({})).await;
    assert_eq!(error["extensions"]["field"], "first");
    let data = app.data("{ films(first: 100) { totalCount } }", json!({})).await;
    assert_eq!(data["films"]["totalCount"], 2);
}

async fn the_default_page_is_20_rows(app: TestApp) {
    fixtures::films(&app.db, 30).await;
    let data = app.data("{ films { nodes { id } pageInfo { hasNextPage } } }", json!({})).await;
    assert_eq!(data["films"]["nodes"].as_array().unwrap().len(), 20);
    assert_eq!(data["films"]["pageInfo"]["hasNextPage"], true);
}

async fn bad_page_arguments_are_refused_with_their_field(app: TestApp) {
    let cases = [
        ("{ films(first: -1) { totalCount } }", "first"),
        ("{ films(first: 1, last: 1) { totalCount } }", "last"),
        (r#"{ films(after: "not-a-cursor") { totalCount } }"#, "after"),
        (r#"{ films(last: 2, before: "bm9wZQ") { totalCount } }"#, "before"),
    ];
    for (query, field) in cases {
        let error = app.error(query, json!({})).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{query}");
        assert_eq!(error["extensions"]["field"], field, "{query}");
    }
}

async fn an_empty_page_has_no_cursors(app: TestApp) {
    let data = app
        .data("{ films(first: 0) { totalCount nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }", json!({}))
        .await;
    assert_eq!(data["films"]["nodes"], json!([]));
    assert_eq!(data["films"]["totalCount"], 2);
    assert_eq!(data["films"]["pageInfo"]["startCursor"], Value::Null);
}
