//! The application under test, spawned on `127.0.0.1:0`, and the HTTP client that talks to it.
//! Every GraphQL response is checked for the API-wide invariants: each error has an
//! `extensions.code`, and no message leaks SQL.
//!
//! Every read sent through `graphql`/`graphql_as` is also sent a second time with
//! `x-fandb-read-path: resolvers`, which makes the server resolve it field by field instead of
//! through the read planner, and the two answers must be the same (see `check_read_paths`). The
//! second request is left out of `statements()`, and is not sent where it would change what a test
//! measures: on servers with real rate limits, in production, or after `without_differential`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use api::config::Secret;
use api::config::{Environment, Limits, Settings};
use api::startup::Application;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

/// The JWT secret of every test server, so tests can forge tokens with it and without it.
pub const TEST_JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";

/// The request header that sends a read through the resolvers rather than the read planner
/// (honoured outside production only), and its value.
pub const READ_PATH_HEADER: (&str, &str) = ("x-fandb-read-path", "resolvers");

/// The limits of every test server unless its `configure` changes them: out of the way of tests
/// that send many requests.
fn raised_limits() -> Limits {
    Limits {
        requests_per_second: 1_000_000,
        request_burst: 1_000_000,
        sign_ins_per_minute: 1_000_000,
        failures_before_delay: 1_000_000,
        lock_after_ips: 1_000_000,
        operations_per_socket: 1_000_000,
        sockets_per_ip: 1_000_000,
        socket_operations_per_second: 1_000_000,
        socket_operation_burst: 1_000_000,
        ..Limits::default()
    }
}

/// A signed-in test user.
pub struct SignedIn {
    pub id: i64,
    pub global_id: String,
    pub email: String,
    pub access_token: String,
}

/// A running server and what a test needs to talk to it and look behind it.
pub struct TestApp {
    pub address: String,
    /// `http://127.0.0.1:port` of the metrics listener, when the settings asked for one.
    pub metrics_address: Option<String>,
    /// The database the server runs on.
    pub database_url: String,
    /// A connection to the same database, for fixtures.
    pub db: DatabaseConnection,
    statements: Arc<AtomicU64>,
    /// Statements run by the second, resolver-path requests, which `statements()` leaves out.
    differential_statements: Arc<AtomicU64>,
    /// Whether reads are also sent through the resolvers and compared (see the module doc).
    differential: bool,
    client: awc::Client,
}

/// Two answers to one read that differ: the read planner's and the resolvers'.
#[derive(Debug)]
pub struct ReadPathMismatch {
    pub planner: (u16, String),
    pub resolvers: (u16, String),
}

impl std::fmt::Display for ReadPathMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the read planner answered {} {}\nthe resolvers answered  {} {}",
            self.planner.0, self.planner.1, self.resolvers.0, self.resolvers.1
        )
    }
}

/// A raw HTTP response.
pub struct RawResponse {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: String,
}

impl RawResponse {
    /// A header's value, or "" when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }

    /// The body as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }
}

impl TestApp {
    /// Migrates `database_url`, loads the Alita data set, and serves on a free port, with rate
    /// limits raised out of the way (the rate-limit tests respawn with the real ones).
    pub async fn spawn(database_url: &str) -> Self {
        Self::spawn_with(database_url, |_| {}).await
    }

    /// A second server on this test's database, with its settings changed by `configure`.
    pub async fn respawn(&self, configure: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_with(&self.database_url, configure).await
    }

    /// Like `spawn`, with the settings changed by `configure` last.
    pub async fn spawn_with(database_url: &str, configure: impl FnOnce(&mut Settings)) -> Self {
        let mut db = api::infra::db::connect(database_url).await.expect("connect to the test database");
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        db.set_metric_callback(move |_| {
            if !api::infra::db::running_in_background() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        let mut settings = Settings::new(database_url);
        settings.listen = "127.0.0.1:0".to_owned();
        settings.jwt_secret = Secret::new(TEST_JWT_SECRET);
        settings.workers = Some(2);
        settings.limits = raised_limits();
        // Fixtures write behind the server's back, as no deployment does, so a kept answer would
        // outlive them: the response cache is on only where a test asks (`response_cache`).
        settings.response_cache = false;
        configure(&mut settings);
        // A second request would spend a budget a test measures when it lowered any limit, and
        // production ignores the read-path header anyway.
        let differential = settings.limits == raised_limits() && settings.environment != Environment::Production;
        // A server told it sits behind a transaction pooler connects through it, as `fandb serve`
        // does; the fixtures' connection stays direct.
        let server_db = if settings.database_transaction_pooler {
            let mut pooled =
                api::infra::db::connect_pooled(&settings.database_url).await.expect("connect through the pooler");
            let counter = statements.clone();
            pooled.set_metric_callback(move |_| {
                if !api::infra::db::running_in_background() {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            });
            pooled
        } else {
            db.clone()
        };
        let application = Application::build_with_db(&settings, server_db).await.expect("build the application");
        let address = format!("http://127.0.0.1:{}", application.port());
        let metrics_address = application.metrics_port().map(|port| format!("http://127.0.0.1:{port}"));
        actix_web::rt::spawn(application.run_until_stopped());
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).disable_redirects().finish();
        Self {
            address,
            metrics_address,
            database_url: database_url.to_owned(),
            db,
            statements,
            differential_statements: Arc::new(AtomicU64::new(0)),
            differential,
            client,
        }
    }

    /// This server without the second, resolver-path request of each read, for tests in which
    /// two identical reads in a row may answer differently (the database going away and coming
    /// back) or which count the requests themselves (metrics).
    pub fn without_differential(mut self) -> Self {
        self.differential = false;
        self
    }

    /// SQL statements run through the server's connection so far, but for its background work
    /// (announcing changes, folding counters; `api::infra::db::as_background`) and those of the
    /// resolver-path duplicates of reads (tests that count statements send one request at a time,
    /// so the duplicate's statements are exactly those run while it was in flight).
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::SeqCst) - self.differential_statements.load(Ordering::SeqCst)
    }

    /// Sends a raw request.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> RawResponse {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.client.request(method, format!("{}{}", self.address, path));
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        let mut response = match body {
            Some(body) => request.send_body(body).await,
            None => request.send().await,
        }
        .expect("send the request");
        let body = response.body().limit(16 * 1024 * 1024).await.expect("read the body");
        RawResponse {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> RawResponse {
        self.request("GET", path, &[], None).await
    }

    /// POSTs a GraphQL operation and returns the JSON response, checked for the invariants (and,
    /// for a read, compared with the resolvers' answer).
    #[track_caller]
    pub fn graphql<'a>(&'a self, query: &'a str, variables: Value) -> impl std::future::Future<Output = Value> + 'a {
        self.graphql_as(None, query, variables)
    }

    /// POSTs a GraphQL operation from the loopback address `ip` (e.g. "127.0.0.2": all of
    /// 127.0.0.0/8 is loopback on Linux), so the server sees another client IP; checked for the
    /// invariants.
    pub async fn graphql_from(&self, ip: &str, query: &str, variables: Value) -> Value {
        let local: std::net::IpAddr = ip.parse().expect("an IP address");
        let client =
            awc::Client::builder().timeout(Duration::from_secs(30)).disable_redirects().local_address(local).finish();
        let body = serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("JSON");
        let mut response = client
            .post(format!("{}/graphql", self.address))
            .insert_header(("content-type", "application/json"))
            .send_body(body)
            .await
            .unwrap_or_else(|error| panic!("send the request from {ip}: {error}"));
        let body = response.body().limit(16 * 1024 * 1024).await.expect("read the body");
        let body = String::from_utf8_lossy(&body).into_owned();
        assert_eq!(response.status().as_u16(), 200, "POST /graphql from {ip} answered {}: {body}", response.status());
        let json: Value = serde_json::from_str(&body).unwrap_or_else(|error| panic!("not JSON ({error}): {body}"));
        assert_invariants(&json);
        json
    }

    /// POSTs a GraphQL operation with `Authorization: Bearer token` (none when `None`), checked for
    /// the invariants; a read is sent again through the resolvers and must get the same answer.
    pub async fn graphql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let response = self.post_graphql(token, query, &variables, false).await;
        assert_eq!(response.status, 200, "POST /graphql answered {}: {}", response.status, response.body);
        let json = response.json();
        assert_invariants(&json);
        if self.differential && is_read(query) {
            let before = self.statements.load(Ordering::SeqCst);
            let resolvers = self.post_graphql(token, query, &variables, true).await;
            let run = self.statements.load(Ordering::SeqCst) - before;
            self.differential_statements.fetch_add(run, Ordering::SeqCst);
            if let Err(mismatch) = compare_read_paths(&response, &resolvers) {
                panic!(
                    "the read planner and the resolvers disagree on\n{query}\nwith variables {variables}\n{mismatch}\n\
                     (a test that cannot compare its reads opts out with TestApp::without_differential)"
                );
            }
        }
        json
    }

    /// Sends a read through the read planner and then through the resolvers, and returns the
    /// planner's answer (checked for the invariants), or both when they differ. Unlike
    /// `graphql_as`, it does not refuse a non-200 status and sends both requests on any server.
    pub async fn both_read_paths(
        &self,
        token: Option<&str>,
        query: &str,
        variables: &Value,
    ) -> Result<Value, ReadPathMismatch> {
        let planner = self.post_graphql(token, query, variables, false).await;
        let resolvers = self.post_graphql(token, query, variables, true).await;
        compare_read_paths(&planner, &resolvers)?;
        Ok(planner.json())
    }

    /// One POST of a GraphQL operation, through the resolvers when `resolvers` is set.
    async fn post_graphql(&self, token: Option<&str>, query: &str, variables: &Value, resolvers: bool) -> RawResponse {
        let body = serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("JSON");
        let authorization = token.map(|token| format!("Bearer {token}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization.as_str()));
        }
        if resolvers {
            headers.push(READ_PATH_HEADER);
        }
        self.request("POST", "/graphql", &headers, Some(body)).await
    }

    /// The `data` of an operation as `token` that must succeed.
    pub async fn data_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self.graphql_as(Some(token), query, variables).await;
        assert!(response.get("errors").is_none(), "unexpected errors: {response}");
        response["data"].clone()
    }

    /// The first error of an operation as `token` that must fail.
    pub async fn error_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self.graphql_as(Some(token), query, variables).await;
        let errors = response["errors"].as_array().unwrap_or_else(|| panic!("expected errors: {response}"));
        errors[0].clone()
    }

    /// Registers a new account through the API and gives it `role` behind the API's back.
    pub async fn sign_in_as(&self, role: entity::enums::Role) -> SignedIn {
        use sea_orm::{ActiveModelTrait, ActiveValue, EntityTrait};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let email = format!("user{}@example.com", COUNTER.fetch_add(1, Ordering::Relaxed));
        let data = self
            .data(
                "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }",
                json!({ "input": { "email": email, "password": "correct horse battery", "displayName": format!("{role:?} user") } }),
            )
            .await;
        let payload = &data["register"];
        let global_id = payload["user"]["id"].as_str().expect("an id").to_owned();
        let id = super::fixtures::raw_id(&global_id);
        if role != entity::enums::Role::Fan {
            let user = entity::user::Entity::find_by_id(id).one(&self.db).await.expect("query").expect("the user");
            let mut model: entity::user::ActiveModel = user.into();
            model.role = ActiveValue::Set(role);
            model.update(&self.db).await.expect("set the role");
        }
        SignedIn { id, global_id, email, access_token: payload["accessToken"].as_str().expect("a token").to_owned() }
    }

    /// The `data` of an operation that must succeed.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.graphql(query, variables).await;
        assert!(response.get("errors").is_none(), "unexpected errors: {response}");
        response["data"].clone()
    }

    /// The first error of an operation that must fail.
    pub async fn error(&self, query: &str, variables: Value) -> Value {
        let response = self.graphql(query, variables).await;
        let errors = response["errors"].as_array().unwrap_or_else(|| panic!("expected errors: {response}"));
        assert!(!errors.is_empty(), "expected errors: {response}");
        errors[0].clone()
    }
}

/// Whether the two answers to one read are the same: the status, and the JSON body whole, data
/// and errors, but for what cannot be the same from one request to the next:
/// - the order of an object's members and of the errors: async-graphql 7 resolves sibling fields
///   concurrently and puts each member, and each error, in the answer as its field finishes
///   (`FuturesUnordered` in `do_resolve_container`), so two runs of one query through the same
///   resolvers may list them in different orders (a `Value` compares members by name, and the
///   errors are compared sorted);
/// - the `errorId` of an internal error, new for each.
///
/// Each answer that is JSON is also checked for the invariants.
fn compare_read_paths(planner: &RawResponse, resolvers: &RawResponse) -> Result<(), ReadPathMismatch> {
    let same = planner.status == resolvers.status
        && match (comparable(planner), comparable(resolvers)) {
            (Some(planner), Some(resolvers)) => planner == resolvers,
            (None, None) => planner.body == resolvers.body,
            _ => false,
        };
    if same {
        Ok(())
    } else {
        Err(ReadPathMismatch {
            planner: (planner.status, planner.body.clone()),
            resolvers: (resolvers.status, resolvers.body.clone()),
        })
    }
}

/// A JSON answer as `compare_read_paths` compares it; `None` when it is not JSON.
fn comparable(response: &RawResponse) -> Option<Value> {
    let mut json: Value = serde_json::from_str(&response.body).ok()?;
    assert_invariants(&json);
    if let Some(errors) = json.get_mut("errors").and_then(Value::as_array_mut) {
        for error in errors.iter_mut() {
            if let Some(extensions) = error.get_mut("extensions").and_then(Value::as_object_mut) {
                extensions.remove("errorId");
            }
        }
        errors.sort_by_cached_key(Value::to_string);
    }
    Some(json)
}

/// Whether a GraphQL document holds only reads: at least one operation, every operation a query
/// (`{ … }` or `query …`), the rest fragments. A lexical check (comments, strings and block
/// strings skipped, braces counted), so the test crate needs no GraphQL parser; a document that
/// does not parse is still a read when what it has of its definitions says so (both paths then
/// answer the same syntax error).
pub fn is_read(document: &str) -> bool {
    let mut chars = document.chars().peekable();
    let mut depth = 0usize;
    let mut at_definition = true;
    let mut operations = 0;
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' || c == '\r' {
                        break;
                    }
                }
            }
            '"' => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    if chars.peek() == Some(&'"') {
                        // A block string: to the next unescaped `"""`.
                        chars.next();
                        let mut quotes = 0;
                        let mut escaped = false;
                        for c in chars.by_ref() {
                            match c {
                                '"' if !escaped => {
                                    quotes += 1;
                                    if quotes == 3 {
                                        break;
                                    }
                                }
                                '\\' => {
                                    quotes = 0;
                                    escaped = true;
                                    continue;
                                }
                                _ => quotes = 0,
                            }
                            escaped = false;
                        }
                    }
                    // Otherwise the empty string `""`.
                } else {
                    let mut escaped = false;
                    for c in chars.by_ref() {
                        match c {
                            '\\' if !escaped => escaped = true,
                            '"' if !escaped => break,
                            '\n' | '\r' => break,
                            _ => escaped = false,
                        }
                    }
                }
            }
            '{' => {
                if depth == 0 && at_definition {
                    // The query shorthand.
                    operations += 1;
                    at_definition = false;
                }
                depth += 1;
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    at_definition = true;
                }
            }
            c if depth == 0 && at_definition && (c.is_ascii_alphabetic() || c == '_') => {
                let mut name = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_ascii_alphanumeric() || next == '_' {
                        name.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                match name.as_str() {
                    "query" => operations += 1,
                    "fragment" => {}
                    _ => return false,
                }
                at_definition = false;
            }
            _ => {}
        }
    }
    operations > 0
}

/// Every error carries `extensions.code`, and no message mentions SQL.
#[track_caller]
pub fn assert_invariants(response: &Value) {
    let Some(errors) = response.get("errors").and_then(Value::as_array) else {
        return;
    };
    for error in errors {
        assert!(error["extensions"]["code"].is_string(), "error without extensions.code: {error}");
        let message = error["message"].as_str().unwrap_or_default().to_lowercase();
        for leak in ["select ", "insert ", "sqlx", "constraint", "syntax error at", "sqlite", "postgres"] {
            assert!(!message.contains(leak), "error message leaks `{leak}`: {error}");
        }
    }
}
