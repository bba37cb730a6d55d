//! The HTTP surface: GraphiQL, redirects, health, and the GraphQL-over-HTTP rules of `/graphql`.

use crate::support::TestApp;
use serde_json::json;

const FILM_QUERY: &str = r#"{ film(slug: "alita-battle-angel") { title } }"#;

fn encode(query: &str) -> String {
    let mut out = String::new();
    for byte in query.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

db_tests!(
    graphiql_is_served_and_the_root_redirects_to_it,
    health_endpoints_answer,
    queries_work_over_get,
    a_mutation_over_get_is_405_with_allow_post,
    post_bodies_must_be_json,
    batches_bad_json_and_wrong_parameter_types_are_400,
    oversized_bodies_are_413,
    the_response_type_follows_accept,
    request_errors_are_400_under_graphql_response_json_and_200_under_json,
    field_errors_keep_status_200_even_under_graphql_response_json,
    other_methods_on_graphql_are_405
);

async fn graphiql_is_served_and_the_root_redirects_to_it(app: TestApp) {
    let page = app.get("/graphiql").await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(page.body.contains("graphiql") && page.body.contains("/graphql"));
    let root = app.get("/").await;
    assert!(matches!(root.status, 301 | 302 | 303 | 307 | 308), "{}", root.status);
    assert_eq!(root.header("location"), "/graphiql");
}

async fn health_endpoints_answer(app: TestApp) {
    assert_eq!(app.get("/healthz").await.status, 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.body);
}

async fn queries_work_over_get(app: TestApp) {
    let response = app.get(&format!("/graphql?query={}", encode(FILM_QUERY))).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(response.header("content-type").starts_with("application/json"));
    assert_eq!(response.json()["data"]["film"]["title"], "Alita: Battle Angel");

    let query = "query($slug: String!) { film(slug: $slug) { title } }";
    let variables = encode(r#"{"slug":"alita-battle-angel-sequel"}"#);
    let response = app.get(&format!("/graphql?query={}&variables={variables}", encode(query))).await;
    assert_eq!(response.json()["data"]["film"]["title"], "Alita: Battle Angel sequel");
}

async fn a_mutation_over_get_is_405_with_allow_post(app: TestApp) {
    let response = app.get(&format!("/graphql?query={}", encode("mutation { signPetition }"))).await;
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), "POST");
}

async fn post_bodies_must_be_json(app: TestApp) {
    let body = serde_json::to_vec(&json!({ "query": FILM_QUERY })).unwrap();
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1"] {
        let response = app.request("POST", "/graphql", &[("content-type", content_type)], Some(body.clone())).await;
        assert_eq!(response.status, 415, "{content_type}");
    }
    let response =
        app.request("POST", "/graphql", &[("content-type", "application/json; charset=utf-8")], Some(body)).await;
    assert_eq!(response.status, 200);
}

async fn batches_bad_json_and_wrong_parameter_types_are_400(app: TestApp) {
    let json_header = [("content-type", "application/json")];
    for body in [
        json!([{ "query": FILM_QUERY }]).to_string(),
        "{ not json".to_owned(),
        json!({ "query": 42 }).to_string(),
        json!({ "query": FILM_QUERY, "variables": "a string" }).to_string(),
        json!({ "notQuery": FILM_QUERY }).to_string(),
    ] {
        let response = app.request("POST", "/graphql", &json_header, Some(body.clone().into_bytes())).await;
        assert_eq!(response.status, 400, "{body}: {}", response.body);
    }
}

async fn oversized_bodies_are_413(app: TestApp) {
    let padding = " ".repeat(70 * 1024);
    let body = json!({ "query": format!("{{ films {{ totalCount }} }}{padding}") }).to_string();
    let response =
        app.request("POST", "/graphql", &[("content-type", "application/json")], Some(body.into_bytes())).await;
    assert_eq!(response.status, 413);
    assert_eq!(response.json()["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{}", response.body);
}

async fn the_response_type_follows_accept(app: TestApp) {
    let body = serde_json::to_vec(&json!({ "query": FILM_QUERY })).unwrap();
    let graphql_response = [("content-type", "application/json"), ("accept", "application/graphql-response+json")];
    let response = app.request("POST", "/graphql", &graphql_response, Some(body.clone())).await;
    assert_eq!(response.status, 200);
    assert!(response.header("content-type").starts_with("application/graphql-response+json"));

    let json_only = [("content-type", "application/json"), ("accept", "application/json")];
    let response = app.request("POST", "/graphql", &json_only, Some(body.clone())).await;
    assert!(response.header("content-type").starts_with("application/json"));

    let html_only = [("content-type", "application/json"), ("accept", "text/html")];
    let response = app.request("POST", "/graphql", &html_only, Some(body)).await;
    assert_eq!(response.status, 406);
}

async fn request_errors_are_400_under_graphql_response_json_and_200_under_json(app: TestApp) {
    for (query, code) in [("{ films { ", "GRAPHQL_PARSE_FAILED"), ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED")] {
        let body = serde_json::to_vec(&json!({ "query": query })).unwrap();
        let strict = [("content-type", "application/json"), ("accept", "application/graphql-response+json")];
        let response = app.request("POST", "/graphql", &strict, Some(body.clone())).await;
        assert_eq!(response.status, 400, "{query}");
        let json = response.json();
        assert!(json.get("data").is_none(), "a request error has no data: {json}");
        assert_eq!(json["errors"][0]["extensions"]["code"], code);

        let legacy = [("content-type", "application/json"), ("accept", "application/json")];
        let response = app.request("POST", "/graphql", &legacy, Some(body)).await;
        assert_eq!(response.status, 200, "{query}");
        assert_eq!(response.json()["errors"][0]["extensions"]["code"], code);
    }
}

async fn field_errors_keep_status_200_even_under_graphql_response_json(app: TestApp) {
    let body = serde_json::to_vec(&json!({ "query": "{ films(first: 1000) { totalCount } }" })).unwrap();
    let strict = [("content-type", "application/json"), ("accept", "application/graphql-response+json")];
    let response = app.request("POST", "/graphql", &strict, Some(body)).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

async fn other_methods_on_graphql_are_405(app: TestApp) {
    let response = app.request("PUT", "/graphql", &[], None).await;
    assert_eq!(response.status, 405);
    assert!(response.header("allow").contains("POST"));
}

db_tests!(a_nesting_bomb_is_refused_and_the_server_keeps_serving);

async fn a_nesting_bomb_is_refused_and_the_server_keeps_serving(app: TestApp) {
    let deep_list = format!("{{ film(id: {}\"x\"{}) {{ title }} }}", "[".repeat(2_000), "]".repeat(2_000));
    let deep_object = format!("{{ films(filter: {}) {{ totalCount }} }}", "{a: ".repeat(2_000) + &"}".repeat(2_000));
    for query in [deep_list, deep_object] {
        let body = serde_json::to_vec(&json!({ "query": query })).unwrap();
        let response = app.request("POST", "/graphql", &[("content-type", "application/json")], Some(body)).await;
        assert_eq!(response.status, 400, "{}", &response.body[..response.body.len().min(300)]);
        assert_eq!(response.json()["errors"][0]["extensions"]["code"], "GRAPHQL_PARSE_FAILED");
        let response = app.get(&format!("/graphql?query={}", encode(&query))).await;
        assert_eq!(response.status, 400);
    }
    let still_up = app.data("{ films { totalCount } }", json!({})).await;
    assert_eq!(still_up["films"]["totalCount"], 2);
}

db_tests!(postgres_connections_cut_off_runaway_statements);

async fn postgres_connections_cut_off_runaway_statements(app: TestApp) {
    use sea_orm::{ConnectionTrait, Statement};
    if !app.database_url.starts_with("postgres") {
        return; // SQLite has no statement timeout; its busy timeout bounds lock waits instead.
    }
    let backend = app.db.get_database_backend();
    let row = app.db.query_one_raw(Statement::from_string(backend, "SHOW statement_timeout")).await.unwrap().unwrap();
    let timeout: String = row.try_get("", "statement_timeout").unwrap();
    assert_eq!(timeout, "5s");
}

db_tests!(the_campaign_page_and_graphiql_are_served_from_the_binary);

async fn the_campaign_page_and_graphiql_are_served_from_the_binary(app: TestApp) {
    let page = app.get("/campaign").await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(
        page.header("content-security-policy").contains("script-src 'self'"),
        "{}",
        page.header("content-security-policy")
    );
    assert!(page.body.contains("/campaign/campaign.js"));
    for (path, kind) in [
        ("/campaign/campaign.js", "text/javascript"),
        ("/campaign/campaign.css", "text/css"),
        ("/graphiql/assets/graphiql.min.js", "text/javascript"),
        ("/graphiql/assets/react.production.min.js", "text/javascript"),
        ("/graphiql/assets/graphiql.min.css", "text/css"),
    ] {
        let asset = app.get(path).await;
        assert_eq!(asset.status, 200, "{path}");
        assert!(asset.header("content-type").starts_with(kind), "{path}: {}", asset.header("content-type"));
    }
    assert_eq!(app.get("/graphiql/assets/../../Cargo.toml").await.status, 404);
    assert_eq!(app.get("/graphiql/assets/nothing.js").await.status, 404);
    assert!(!app.get("/graphiql").await.body.contains("unpkg.com"), "GraphiQL needs no CDN");
}

/// An answer read off the wire: the status line's code, the headers, and every byte the server
/// sent after them until it closed the connection.
struct Wire {
    status: u16,
    headers: Vec<(String, String)>,
    after_headers: Vec<u8>,
}

impl Wire {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// Sends `method path` over a plain TCP connection with `Connection: close` and reads the answer
/// to the end, so a body sent after a `HEAD` answer (which a client would take for the start of
/// the next answer) shows up in `after_headers`.
async fn on_the_wire(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)]) -> Wire {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: the server did not close the connection"))
        .unwrap();
    let end = raw.windows(4).position(|window| window == b"\r\n\r\n").expect("the end of the headers") + 4;
    let head = String::from_utf8(raw[..end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Wire { status, headers, after_headers: raw[end..].to_vec() }
}

/// Headers that differ between two requests whatever the method: the date, the request id, the
/// budget left, and the connection's own.
const PER_REQUEST: [&str; 5] = ["date", "x-request-id", "ratelimit-remaining", "ratelimit-reset", "connection"];

/// A header's comma-separated items, sorted: actix-cors lists `Access-Control-Expose-Headers` in
/// the order of a hash set, which differs between workers, for GET and GET alike.
fn items(value: &str) -> Vec<&str> {
    let mut items: Vec<&str> = value.split(',').map(str::trim).collect();
    items.sort_unstable();
    items
}

/// `HEAD path` answers what `GET path` does, with no body on the wire.
async fn assert_head_matches_get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Wire {
    let get = on_the_wire(app, "GET", path, headers).await;
    let head = on_the_wire(app, "HEAD", path, headers).await;
    assert_eq!(head.status, get.status, "HEAD {path}");
    assert!(
        head.after_headers.is_empty(),
        "HEAD {path} sent a body: {:?}",
        String::from_utf8_lossy(&head.after_headers)
    );
    // `/metrics` counts the requests themselves, so its length moves between two scrapes.
    let varying: &[&str] = if path == "/metrics" { &["content-length"] } else { &[] };
    for (name, value) in &get.headers {
        if PER_REQUEST.contains(&name.as_str()) || varying.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(head.header(name).map(items), Some(items(value)), "HEAD {path}: {name}");
    }
    for (name, _) in &head.headers {
        assert!(
            PER_REQUEST.contains(&name.as_str()) || get.header(name).is_some(),
            "HEAD {path} has {name}, GET has not"
        );
    }
    head
}

db_tests!(
    head_answers_every_get_route_with_its_status_and_headers_and_no_body,
    head_on_a_verification_link_checks_it_without_using_it
);

async fn head_answers_every_get_route_with_its_status_and_headers_and_no_body(app: TestApp) {
    let query = format!("/graphql?query={}", encode(FILM_QUERY));
    let mutation = format!("/graphql?query={}", encode("mutation { signPetition }"));
    for (path, status) in [
        ("/", 307),
        ("/graphiql", 200),
        ("/graphiql/assets/graphiql.min.css", 200),
        ("/graphiql/assets/nothing.js", 404),
        ("/account/verify?token=made-up", 400),
        ("/account/reset?token=made-up", 200),
        ("/account/reset.js", 200),
        ("/campaign", 200),
        ("/campaign/campaign.css", 200),
        ("/campaign/campaign.js", 200),
        ("/campaign/operations.json", 200),
        (query.as_str(), 200),
        (mutation.as_str(), 405),
        ("/events/alitasequel-worldwide-hashtag-hour-2019.ics", 200),
        ("/events/no-such-event.ics", 404),
        ("/healthz", 200),
        ("/readyz", 200),
        ("/metrics", 200),
    ] {
        let head = assert_head_matches_get(&app, path, &[]).await;
        assert_eq!(head.status, status, "HEAD {path}");
        if status == 200 {
            assert!(head.header("content-type").is_some_and(|value| !value.is_empty()), "HEAD {path}: Content-Type");
            assert_ne!(head.header("content-length"), Some("0"), "HEAD {path}: GET's Content-Length");
        }
    }
    // A cacheable GraphQL answer: the same ETag and Cache-Control, and 304 for a tag the client holds.
    let head = assert_head_matches_get(&app, &query, &[]).await;
    let tag = head.header("etag").expect("an ETag").to_owned();
    assert!(head.header("cache-control").unwrap().starts_with("public"), "{:?}", head.header("cache-control"));
    let revalidated = assert_head_matches_get(&app, &query, &[("if-none-match", tag.as_str())]).await;
    assert_eq!(revalidated.status, 304);
    let campaign = assert_head_matches_get(&app, "/campaign", &[]).await;
    assert_eq!(campaign.header("cache-control"), Some("public, max-age=300"));
    // HEAD is now a method /graphql allows.
    let put = app.request("PUT", "/graphql", &[], None).await;
    assert_eq!(put.header("allow"), "GET, HEAD, POST");
}

async fn head_on_a_verification_link_checks_it_without_using_it(app: TestApp) {
    use api::config::Secret;
    let sink = crate::support::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = app.respawn(move |settings| settings.mail.smtp_url = Some(Secret::new(url))).await;
    let email = "head.check@iron.city";
    app.data(
        "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }",
        json!({ "input": { "email": email, "password": "correct horse battery", "displayName": "Head" } }),
    )
    .await;
    let link = sink.next_to(email).await.link("/account/verify");
    let path = link.strip_prefix(&app.address).unwrap().to_owned();
    // A link scanner's HEAD learns the link works, and the link still works for the fan.
    let head = on_the_wire(&app, "HEAD", &path, &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.after_headers.is_empty());
    assert_eq!(head.header("cache-control"), Some("no-store"));
    assert_eq!(head.header("referrer-policy"), Some("no-referrer"));
    let opened = app.get(&path).await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    // Used: GET and HEAD both say so.
    assert_head_matches_get(&app, &path, &[]).await;
    assert_eq!(on_the_wire(&app, "HEAD", &path, &[]).await.status, 400);
}
