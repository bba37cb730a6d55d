//! Rate limits: a request budget per client IP on `/graphql` (429 with `Retry-After` and
//! `RateLimit-*` headers) and sign-in attempts per IP. Failed-login delays and locks are in
//! `lockout`.

use api::config::Limits;
use serde_json::{Value, json};

use crate::support::TestApp;

const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { accessToken } }";
const REGISTER: &str = "mutation($email: String!) { register(input: { email: $email, password: \"long-enough-password\", displayName: \"Fan\" }) { accessToken } }";

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("none")
}

fn retry_after(response: &Value) -> u64 {
    response["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap_or_else(|| panic!("no retryAfter: {response}"))
}

/// A server on the same database with the production request budget and `sign_ins` as given.
async fn with_limits(app: &TestApp, limits: Limits) -> TestApp {
    app.respawn(|settings| settings.limits = limits).await
}

fn no_request_budget() -> Limits {
    Limits { requests_per_second: 1_000_000, request_burst: 1_000_000, ..Limits::default() }
}

db_tests!(
    a_client_beyond_its_burst_gets_429_and_changes_nothing,
    sign_in_attempts_are_capped_per_ip,
    public_cached_answers_carry_no_per_client_headers
);

async fn a_client_beyond_its_burst_gets_429_and_changes_nothing(app: TestApp) {
    // The default burst of 50, refilled at one a second so that a slow machine sending the
    // burst does not refill it as fast as it spends it.
    let limited = with_limits(&app, Limits { requests_per_second: 1, ..Limits::default() }).await;
    let query = serde_json::to_vec(&json!({ "query": "{ films { totalCount } }" })).unwrap();
    let headers = [("content-type", "application/json")];
    let mut allowed = 0;
    let refusal = loop {
        let response = limited.request("POST", "/graphql", &headers, Some(query.clone())).await;
        if response.status == 429 {
            break response;
        }
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.header("ratelimit-limit"), "50");
        assert!(response.header("ratelimit-remaining").parse::<u32>().unwrap() < 50);
        allowed += 1;
        assert!(allowed <= 80, "the burst of 50 at 1/s was never exhausted");
    };
    assert!(allowed >= 50, "only {allowed} requests went through before the limit");
    let seconds: u64 = refusal.header("retry-after").parse().expect("a Retry-After in seconds");
    assert!((1..=1).contains(&seconds), "Retry-After {seconds}");
    assert_eq!(refusal.header("ratelimit-remaining"), "0");
    let body = refusal.json();
    assert_eq!(code(&body), "RATE_LIMITED");
    assert_eq!(retry_after(&body), seconds);

    // A refused mutation is not run.
    let register =
        serde_json::to_vec(&json!({ "query": REGISTER, "variables": { "email": "refused@iron.city" } })).unwrap();
    let response = limited.request("POST", "/graphql", &headers, Some(register)).await;
    assert_eq!(response.status, 429);
    let login = app.graphql(LOGIN, json!({ "email": "refused@iron.city", "password": "long-enough-password" })).await;
    assert_eq!(code(&login), "UNAUTHENTICATED", "the refused registration stored nothing");

    // Health checks are not budgeted, and the budget refills.
    assert_eq!(limited.get("/healthz").await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let response = limited.request("POST", "/graphql", &headers, Some(query)).await;
    assert_eq!(response.status, 200, "the budget refilled after Retry-After");
}

async fn sign_in_attempts_are_capped_per_ip(app: TestApp) {
    // Two a minute: the budget refills one attempt every 30 s, far longer than hashing three
    // passwords takes even on a loaded machine.
    let limited = with_limits(&app, Limits { sign_ins_per_minute: 2, ..no_request_budget() }).await;
    for attempt in 0..2 {
        let response = limited
            .graphql(LOGIN, json!({ "email": format!("nobody{attempt}@iron.city"), "password": "wrong-password" }))
            .await;
        assert_eq!(code(&response), "UNAUTHENTICATED", "attempt {attempt}");
    }
    let response = limited.graphql(LOGIN, json!({ "email": "nobody@iron.city", "password": "wrong-password" })).await;
    assert_eq!(code(&response), "RATE_LIMITED");
    assert!((1..=30).contains(&retry_after(&response)));
    let response = limited.graphql(REGISTER, json!({ "email": "late@iron.city" })).await;
    assert_eq!(code(&response), "RATE_LIMITED", "registering spends the same budget");
    assert!(response["data"].is_null());
    let login = app.graphql(LOGIN, json!({ "email": "late@iron.city", "password": "long-enough-password" })).await;
    assert_eq!(code(&login), "UNAUTHENTICATED", "the refused registration stored nothing");
}

/// The sign-in operations, by the one list the budget and the one-a-request rule use.
fn sign_in_operations() -> Vec<&'static str> {
    api::limits::sign_in::SIGN_IN_OPERATIONS.iter().map(|operation| operation.field()).collect()
}

/// The names in backticks in `text`, in order.
fn backticked(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// A file of the repository's documentation.
fn doc(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn the_docs_name_exactly_the_sign_in_operations() {
    // The settings table's row of the budget.
    let operations = doc("docs/OPERATIONS.md");
    let row = operations
        .lines()
        .find(|line| line.starts_with("| `--sign-ins-per-minute` |"))
        .expect("the --sign-ins-per-minute row of the settings table");
    let meaning = row.trim_matches('|').split(" | ").nth(3).unwrap_or_else(|| panic!("four cells: {row}"));
    assert_eq!(backticked(meaning), sign_in_operations(), "docs/OPERATIONS.md's --sign-ins-per-minute row: {row}");
    // The limits table's row of the one-a-request rule.
    let api = doc("docs/API.md");
    let row = api
        .lines()
        .find(|line| line.starts_with("| sign-in operations in one request ("))
        .expect("the one-a-request row of docs/API.md's limits");
    let list = &row[..row.find(") |").expect("the closing parenthesis")];
    assert_eq!(backticked(list), sign_in_operations(), "docs/API.md's one-a-request row: {row}");
}

#[test]
fn fandb_help_names_exactly_the_sign_in_operations() {
    for args in [&["--help"][..], &["serve", "--help"]] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_fandb")).args(args).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let help = String::from_utf8(output.stdout).unwrap();
        // The option's text runs to the next option (a line starting with `-` once indented).
        let start = help.find("--sign-ins-per-minute").unwrap_or_else(|| panic!("no --sign-ins-per-minute: {help}"));
        let entry: String = help[start..]
            .lines()
            .enumerate()
            .take_while(|(index, line)| *index == 0 || !line.trim_start().starts_with('-'))
            .map(|(_, line)| line.trim())
            .collect::<Vec<_>>()
            .join(" ");
        let list = entry.split_once("operations: ").unwrap_or_else(|| panic!("no list in: {entry}")).1;
        let list = list.split(" [").next().unwrap_or(list);
        let named: Vec<&str> = list.split(',').map(str::trim).collect();
        assert_eq!(named, sign_in_operations(), "fandb {}: {entry}", args.join(" "));
    }
}

/// Whether `response` has a header of one client's own: its budget, or a cookie.
fn per_client_headers(response: &crate::support::app::RawResponse) -> Vec<String> {
    response
        .headers
        .keys()
        .map(|name| name.as_str().to_ascii_lowercase())
        .filter(|name| name.starts_with("ratelimit-") || name == "retry-after" || name == "set-cookie")
        .collect()
}

async fn public_cached_answers_carry_no_per_client_headers(app: TestApp) {
    let cached = app
        .respawn(|settings| {
            settings.cache_max_age = 60;
            settings.limits = Limits { requests_per_second: 1_000, ..Limits::default() };
        })
        .await;
    // `{ films { totalCount } }`
    let path = "/graphql?query=%7B%20films%20%7B%20totalCount%20%7D%20%7D";
    let public = cached.request("GET", path, &[], None).await;
    assert_eq!(public.status, 200, "{}", public.body);
    assert_eq!(public.header("cache-control"), "public, max-age=60");
    assert_eq!(per_client_headers(&public), Vec::<String>::new(), "a shared cache would serve them to all");
    let tag = public.header("etag").to_owned();
    let revalidated = cached.request("GET", path, &[("if-none-match", &tag)], None).await;
    assert_eq!(revalidated.status, 304);
    assert_eq!(per_client_headers(&revalidated), Vec::<String>::new(), "a 304 updates the cached headers");

    // Answers no shared cache keeps still tell the client its budget.
    let body = serde_json::to_vec(&json!({ "query": "{ films { totalCount } }" })).unwrap();
    let posted = cached.request("POST", "/graphql", &[("content-type", "application/json")], Some(body)).await;
    assert_eq!(posted.header("cache-control"), "private, no-store");
    assert_eq!(posted.header("ratelimit-limit"), "50", "{:?}", posted.headers);
    assert!(!posted.header("ratelimit-remaining").is_empty(), "{:?}", posted.headers);
    let failed = cached.request("GET", "/graphql?query=%7B%20nope%20%7D", &[], None).await;
    assert_eq!(failed.header("cache-control"), "private, no-store");
    assert_eq!(failed.header("ratelimit-limit"), "50", "{:?}", failed.headers);
}
