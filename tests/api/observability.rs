//! What operators and browsers see around the GraphQL answers: request ids, `/metrics`, CORS.

use crate::support::TestApp;
use serde_json::json;

db_tests!(
    every_response_carries_a_request_id,
    metrics_count_operations_errors_responses_and_the_pool,
    cors_answers_only_the_configured_origins_and_never_with_credentials
);

async fn every_response_carries_a_request_id(app: TestApp) {
    let generated = app.get("/healthz").await;
    let id = generated.header("x-request-id").to_owned();
    assert!(!id.is_empty() && id.len() <= 64, "a generated id: {id:?}");
    assert_ne!(app.get("/healthz").await.header("x-request-id"), id, "a new id per request");

    let echoed = app.request("GET", "/healthz", &[("x-request-id", "campaign-site.42")], None).await;
    assert_eq!(echoed.header("x-request-id"), "campaign-site.42", "a safe client id is kept");
    let unsafe_id = app.request("GET", "/healthz", &[("x-request-id", "a b\"c")], None).await;
    assert_ne!(unsafe_id.header("x-request-id"), "a b\"c", "an unsafe client id is replaced");
    assert!(!unsafe_id.header("x-request-id").is_empty());
}

async fn metrics_count_operations_errors_responses_and_the_pool(app: TestApp) {
    // The counts below are of these requests exactly: no second, resolver-path request of each.
    let app = app.without_differential();
    app.data("query FilmTitles { films { nodes { title } } }", json!({})).await;
    app.data("query FilmTitles { films { nodes { title } } }", json!({})).await;
    app.error("query MissingFilm { film(slug: \"no-such-film\", id: \"x\") { title } }", json!({})).await;
    app.graphql("{ films { totalCount } }", json!({})).await;
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.header("content-type").starts_with("application/openmetrics-text"),
        "{}",
        metrics.header("content-type")
    );
    let text = metrics.body;
    let line = |prefix: &str| {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in\n{text}"))
            .to_owned()
    };
    assert_eq!(
        line("fandb_graphql_operation_duration_seconds_count{operation=\"FilmTitles\"}"),
        "fandb_graphql_operation_duration_seconds_count{operation=\"FilmTitles\"} 2"
    );
    assert!(line("fandb_graphql_operation_duration_seconds_count{operation=\"anonymous\"}").ends_with(" 1"));
    assert!(line("fandb_graphql_operation_duration_seconds_bucket{le=").contains("operation="));
    assert!(line("fandb_graphql_errors_total{code=\"BAD_USER_INPUT\"}").ends_with(" 1"));
    assert_eq!(line("fandb_http_responses_total{status=\"200\"}"), "fandb_http_responses_total{status=\"200\"} 4");
    line("fandb_db_pool_connections{state=\"in_use\"}");
    line("fandb_db_pool_connections{state=\"idle\"}");
    line("fandb_db_pool_max_connections ");
    line("fandb_db_statements_total ");
    assert_eq!(line("fandb_subscription_sockets_open "), "fandb_subscription_sockets_open 0");
    assert!(text.trim_end().ends_with("# EOF"));
}

async fn cors_answers_only_the_configured_origins_and_never_with_credentials(app: TestApp) {
    let app = app.respawn(|settings| settings.cors_origins = vec!["https://alita-army.example".to_owned()]).await;
    let preflight = |origin: &'static str| {
        let app = &app;
        async move {
            app.request(
                "OPTIONS",
                "/graphql",
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "authorization, content-type"),
                ],
                None,
            )
            .await
        }
    };
    let allowed = preflight("https://alita-army.example").await;
    assert!(allowed.status < 300, "{} {}", allowed.status, allowed.body);
    assert_eq!(allowed.header("access-control-allow-origin"), "https://alita-army.example");
    assert!(allowed.header("access-control-allow-methods").contains("POST"));
    assert!(allowed.header("access-control-allow-headers").to_lowercase().contains("authorization"));
    assert_eq!(allowed.header("access-control-allow-credentials"), "", "no cookies, no credentials");

    let other = preflight("https://evil.example").await;
    assert_eq!(other.header("access-control-allow-origin"), "");

    let body = serde_json::to_vec(&json!({ "query": "{ films { totalCount } }" })).unwrap();
    let simple = app
        .request(
            "POST",
            "/graphql",
            &[("origin", "https://alita-army.example"), ("content-type", "application/json")],
            Some(body.clone()),
        )
        .await;
    assert_eq!(simple.status, 200);
    assert_eq!(simple.header("access-control-allow-origin"), "https://alita-army.example");
    assert!(simple.header("access-control-expose-headers").to_lowercase().contains("x-request-id"));
    let foreign = app
        .request(
            "POST",
            "/graphql",
            &[("origin", "https://evil.example"), ("content-type", "application/json")],
            Some(body),
        )
        .await;
    assert_eq!(foreign.header("access-control-allow-origin"), "", "no CORS grant for other origins");
    assert!(foreign.headers.get("set-cookie").is_none());
}
