//! Answers to the letter of the GraphQL spec, on the read planner and on the resolvers alike:
//! response keys in the order of the merged selection (§7.2.2), the same bytes for the same
//! request, errors that null the nearest nullable parent (§6.4.4), `@skip`/`@include` reading a
//! variable's default, type conditions nested in any order, and a skipped field simply absent.
//! The bodies are compared as text: a parsed JSON map would hide the order of its keys.

use serde_json::{Value, json};

use crate::support::app::READ_PATH_HEADER;
use crate::support::{TestApp, fixtures};

db_tests!(
    keys_follow_the_selection_on_both_read_paths,
    a_signed_in_fans_keys_follow_the_selection,
    identical_gets_give_one_body_and_one_etag,
    an_error_in_a_non_null_field_nulls_the_nearest_nullable_parent,
    a_skipped_field_is_absent_and_its_parent_an_empty_object,
    skip_and_include_read_a_variables_default,
    type_conditions_apply_nested_in_any_order,
    a_repeated_key_is_merged_where_it_first_appears,
    a_failed_mutation_field_stops_the_ones_after_it,
    skip_and_include_apply_inside_aggregates_and_the_planner_reads_them
);

const PETITION: &str = "open-letter-to-disney-alita-sequel";

/// One POST of `query` on the read planner and one on the resolvers: their raw bodies.
async fn both_bodies(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> [String; 2] {
    let body = serde_json::to_vec(&json!({ "query": query, "variables": variables })).unwrap();
    let authorization = token.map(|token| format!("Bearer {token}"));
    let mut answers = Vec::new();
    for resolvers in [false, true] {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization.as_str()));
        }
        if resolvers {
            headers.push(READ_PATH_HEADER);
        }
        let response = app.request("POST", "/graphql", &headers, Some(body.clone())).await;
        assert_eq!(response.status, 200, "{}", response.body);
        answers.push(response.body);
    }
    let [planner, resolvers]: [String; 2] = answers.try_into().unwrap();
    [planner, resolvers]
}

/// Both read paths answer `query` with exactly `expected` (compact JSON text, keys in order).
async fn answers_exactly(app: &TestApp, query: &str, variables: Value, expected: &str) {
    for (path, body) in ["planner", "resolvers"].iter().zip(both_bodies(app, None, query, variables).await) {
        assert_eq!(body, expected, "the {path} answered\n{query}");
    }
}

/// The order in which `keys` first appear in `body`.
fn key_positions(body: &str, keys: &[&str]) -> Vec<usize> {
    keys.iter()
        .map(|key| body.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("no key {key} in {body}")))
        .collect()
}

fn assert_in_order(body: &str, keys: &[&str]) {
    let positions = key_positions(body, keys);
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "keys not in the order {keys:?}: {body}");
}

async fn keys_follow_the_selection_on_both_read_paths(app: TestApp) {
    let query = format!(
        r#"{{ petition(slug: "{PETITION}") {{ signatureCount signaturesByCountry {{ country count }} title viewerHasSigned }}
             z: films(first: 1) {{ totalCount }} a: film(slug: "alita-battle-angel") {{ title id releaseDate }} }}"#
    );
    for body in both_bodies(&app, None, &query, json!({})).await {
        assert_in_order(
            &body,
            &["petition", "signatureCount", "signaturesByCountry", "title", "viewerHasSigned", "z", "a"],
        );
        let film = &body[body.find("\"a\":{").unwrap()..];
        assert_in_order(film, &["title", "id", "releaseDate"]);
    }
}

async fn a_signed_in_fans_keys_follow_the_selection(app: TestApp) {
    let (_, token) = fixtures::fan(&app.db, "Ordered Fan").await;
    let query = "{ me { signatures(first: 1) { totalCount } rsvps(first: 1) { totalCount } displayName email } }";
    for body in both_bodies(&app, Some(&token), query, json!({})).await {
        assert_in_order(&body, &["signatures", "rsvps", "displayName", "email"]);
    }
}

async fn identical_gets_give_one_body_and_one_etag(app: TestApp) {
    // A planned read, and one that mixes resolver-served fields (statistics, the viewer's own).
    let queries = [
        format!(
            r#"{{ petition(slug: "{PETITION}") {{ signatureCount signaturesByCountry {{ country count }} title viewerHasSigned }} }}"#
        ),
        r#"{ campaign { totals { openPetitions signatures } topPetitions { title signatureCount } } films(first: 2) { nodes { title } } search(query: "alita") { __typename } }"#.to_owned(),
    ];
    for query in queries {
        let path =
            format!("/graphql?query={}", url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>());
        let mut bodies = std::collections::BTreeSet::new();
        let mut etags = std::collections::BTreeSet::new();
        for _ in 0..40 {
            let response = app.get(&path).await;
            assert_eq!(response.status, 200, "{}", response.body);
            bodies.insert(response.body.clone());
            etags.insert(response.header("etag").to_owned());
        }
        assert_eq!(bodies.len(), 1, "40 identical GETs gave {} bodies: {bodies:#?}", bodies.len());
        assert_eq!(etags.len(), 1, "40 identical GETs gave {} ETags", etags.len());
    }
}

async fn an_error_in_a_non_null_field_nulls_the_nearest_nullable_parent(app: TestApp) {
    // `nodes` is `[Node]!`: its error nulls `data`, even beside a field that succeeded.
    for body in both_bodies(
        &app,
        None,
        r#"{ a: node(id: "RmlsbTox") { id } nodes(ids: ["RmlsbTox", "Rm9vOjE="]) { id } }"#,
        json!({}),
    )
    .await
    {
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["data"], Value::Null, "{body}");
        assert!(body.starts_with(r#"{"data":null,"errors":"#), "{body}");
        assert_eq!(json["errors"][0]["path"], json!(["nodes"]), "{body}");
        assert_eq!(json["errors"].as_array().unwrap().len(), 1, "{body}");
    }
    // An argument refused on a non-null root connection.
    for body in both_bodies(
        &app,
        None,
        r#"{ a: film(slug: "alita-battle-angel") { title } films(first: 500) { totalCount } }"#,
        json!({}),
    )
    .await
    {
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["data"], Value::Null, "{body}");
        assert_eq!(json["errors"][0]["path"], json!(["films"]), "{body}");
        assert_eq!(json["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    }
    // Below a nullable parent: the film is null, its sibling root field stays, and the error
    // keeps the path of the field that raised it.
    for body in both_bodies(
        &app,
        None,
        r#"{ film(slug: "alita-battle-angel") { title credits(first: -1) { totalCount } } people(first: 1) { totalCount } }"#,
        json!({}),
    )
    .await
    {
        let json: Value = serde_json::from_str(&body).unwrap();
        assert!(body.starts_with(r#"{"data":{"film":null,"people":{"totalCount":"#), "{body}");
        assert_eq!(json["errors"][0]["path"], json!(["film", "credits"]), "{body}");
    }
    // Through a list of non-null items: the error nulls the whole connection's parent.
    for body in both_bodies(
        &app,
        None,
        "{ petitions(first: 1) { nodes { goal signatures(first: 500) { totalCount } } } }",
        json!({}),
    )
    .await
    {
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["data"], Value::Null, "{body}");
        assert_eq!(json["errors"][0]["path"], json!(["petitions", "nodes", 0, "signatures"]), "{body}");
    }
}

async fn a_skipped_field_is_absent_and_its_parent_an_empty_object(app: TestApp) {
    answers_exactly(&app, "{ films(first: 1) { totalCount @skip(if: true) } }", json!({}), r#"{"data":{"films":{}}}"#)
        .await;
    answers_exactly(
        &app,
        r#"{ film(slug: "alita-battle-angel") { title @include(if: false) } }"#,
        json!({}),
        r#"{"data":{"film":{}}}"#,
    )
    .await;
}

async fn skip_and_include_read_a_variables_default(app: TestApp) {
    let query = r#"query ($s: Boolean = true, $i: Boolean = false) {
        film(slug: "alita-battle-angel") { slug title @skip(if: $s) ...Dates @include(if: $i) __typename @skip(if: $s) }
    } fragment Dates on Film { releaseDate }"#;
    answers_exactly(&app, query, json!({}), r#"{"data":{"film":{"slug":"alita-battle-angel"}}}"#).await;
    // Given values win over the defaults.
    answers_exactly(
        &app,
        query,
        json!({ "s": false, "i": true }),
        r#"{"data":{"film":{"slug":"alita-battle-angel","title":"Alita: Battle Angel","releaseDate":"2019-02-14","__typename":"Film"}}}"#,
    )
    .await;
}

async fn type_conditions_apply_nested_in_any_order(app: TestApp) {
    answers_exactly(
        &app,
        r#"{ film(slug: "alita-battle-angel") { ... on SearchResult { ... on Film { title } } } }"#,
        json!({}),
        r#"{"data":{"film":{"title":"Alita: Battle Angel"}}}"#,
    )
    .await;
    answers_exactly(
        &app,
        r#"{ film(slug: "alita-battle-angel") { ... on Node { ... on SearchResult { ... on Film { slug } ... on Person { name } } } } }"#,
        json!({}),
        r#"{"data":{"film":{"slug":"alita-battle-angel"}}}"#,
    )
    .await;
    // A condition on another member of the union selects nothing: an empty object, not null.
    answers_exactly(
        &app,
        r#"{ film(slug: "alita-battle-angel") { ... on SearchResult { ... on Person { name } } } }"#,
        json!({}),
        r#"{"data":{"film":{}}}"#,
    )
    .await;
    // Through a union field, where the object's own type is known only at run time: a film has
    // its slug, every other hit is an empty object.
    let [planner, resolvers] = both_bodies(
        &app,
        None,
        r#"{ search(query: "alita", first: 10) { ... on SearchResult { ... on Node { ... on Film { slug } } } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(planner, resolvers);
    assert!(planner.contains(r#"{"slug":"alita-battle-angel"}"#), "{planner}");
    let hits: Value = serde_json::from_str(&planner).unwrap();
    for hit in hits["data"]["search"].as_array().unwrap() {
        let fields = hit.as_object().unwrap();
        assert!(fields.is_empty() || fields.keys().eq(["slug"]), "{planner}");
    }
    assert!(planner.contains("{}"), "no hit other than a film: {planner}");
}

async fn a_repeated_key_is_merged_where_it_first_appears(app: TestApp) {
    answers_exactly(
        &app,
        r#"{ f: film(slug: "alita-battle-angel") { title } p: people(first: 1) { totalCount } f: film(slug: "alita-battle-angel") { slug title } }"#,
        json!({}),
        &format!(
            r#"{{"data":{{"f":{{"title":"Alita: Battle Angel","slug":"alita-battle-angel"}},"p":{{"totalCount":{}}}}}}}"#,
            app.data("{ people(first: 1) { totalCount } }", json!({})).await["people"]["totalCount"]
        ),
    )
    .await;
    // An error under one occurrence nulls the merged value, and is reported once.
    for body in both_bodies(
        &app,
        None,
        r#"{ f: film(slug: "alita-battle-angel") { title } f: film(slug: "alita-battle-angel") { credits(first: -1) { totalCount } } g: film(slug: "alita-battle-angel") { credits(first: -1) { totalCount } credits(first: -1) { totalCount } } }"#,
        json!({}),
    )
    .await
    {
        let json: Value = serde_json::from_str(&body).unwrap();
        assert!(body.starts_with(r#"{"data":{"f":null,"g":null},"errors":"#), "{body}");
        let paths: Vec<&Value> = json["errors"].as_array().unwrap().iter().map(|error| &error["path"]).collect();
        assert_eq!(paths, [&json!(["f", "credits"]), &json!(["g", "credits"])], "{body}");
    }
}

async fn a_failed_mutation_field_stops_the_ones_after_it(app: TestApp) {
    // Mutation fields run one after another; a non-null one that fails nulls `data` and the
    // fields after it never run (graphql-js does the same).
    let (_, token) = fixtures::fan(&app.db, "Serial Fan").await;
    let petition = app.data(&format!(r#"{{ petition(slug: "{PETITION}") {{ id }} }}"#), json!({})).await;
    let id = petition["petition"]["id"].as_str().unwrap().to_owned();
    let response = app
        .graphql_as(
            Some(&token),
            "mutation($id: ID!) { a: signPetition(petitionId: \"Rm9vOjE=\") { id } b: signPetition(petitionId: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(response["data"], Value::Null, "{response}");
    assert_eq!(response["errors"][0]["path"], json!(["a"]), "{response}");
    let signed =
        app.data_as(&token, &format!(r#"{{ petition(slug: "{PETITION}") {{ viewerHasSigned }} }}"#), json!({})).await;
    assert_eq!(signed["petition"]["viewerHasSigned"], false, "the second field ran");
}

async fn skip_and_include_apply_inside_aggregates_and_the_planner_reads_them(app: TestApp) {
    let with_directives = r#"query ($s: Boolean = true, $i: Boolean!) {
        films { aggregate { count @skip(if: $s) sum { runtimeMinutes @include(if: $i) budgetUsd }
                            ... @include(if: $i) { min { releaseDate } } max @skip(if: true) { releaseDate } }
                groupedAggregates(groupBy: [STATUS]) { keys count @include(if: $i) ...Sums @skip(if: $s) }
                nodes @skip(if: $s) { title } } }
        fragment Sums on FilmGroup { sum { runtimeMinutes } }"#;
    let without = r#"{ films { aggregate { sum { budgetUsd } } groupedAggregates(groupBy: [STATUS]) { keys } } }"#;
    let skipped = both_bodies(&app, None, with_directives, json!({ "i": false })).await;
    let expected = both_bodies(&app, None, without, json!({})).await;
    assert_eq!(skipped, expected, "what a directive leaves out is absent, on both read paths");
    let kept = both_bodies(&app, None, with_directives, json!({ "s": false, "i": true })).await;
    assert_eq!(kept[0], kept[1], "the planner and the resolvers agree");
    let json: Value = serde_json::from_str(&kept[0]).unwrap();
    let films = &json["data"]["films"];
    assert!(films["aggregate"]["count"].as_i64().is_some_and(|count| count > 0), "{json}");
    assert!(films["aggregate"]["min"]["releaseDate"].is_string(), "{json}");
    assert!(films["aggregate"].get("max").is_none(), "{json}");
    assert!(films["groupedAggregates"][0]["sum"].is_object() && films["nodes"].is_array(), "{json}");
    let metrics = app.get("/metrics").await.body;
    assert!(metrics.contains("fandb_read_planned_total{field=\"films\"}"), "{metrics}");
    assert!(
        !metrics.contains("fandb_read_plan_fallbacks_total{field=\"films\"}"),
        "directives leave nothing to the resolvers: {metrics}"
    );
}
