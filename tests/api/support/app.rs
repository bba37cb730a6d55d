//! The application under test, spawned on `127.0.0.1:0`, and the HTTP client that talks to it.
//! Every GraphQL response is checked for the API-wide invariants: each error has an
//! `extensions.code`, and no message leaks SQL.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use api::auth::Secret;
use api::config::{Limits, Settings};
use api::startup::Application;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

/// The JWT secret of every test server, so tests can forge tokens with it and without it.
pub const TEST_JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";

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
    /// The database the server runs on.
    pub database_url: String,
    /// A connection to the same database, for fixtures.
    pub db: DatabaseConnection,
    statements: Arc<AtomicU64>,
    client: awc::Client,
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
        let mut db = api::db::connect(database_url).await.expect("connect to the test database");
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let mut settings = Settings::new(database_url);
        settings.listen = "127.0.0.1:0".to_owned();
        settings.jwt_secret = Secret::new(TEST_JWT_SECRET);
        settings.workers = Some(2);
        settings.limits = Limits {
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
        };
        configure(&mut settings);
        // A server told it sits behind a transaction pooler connects through it, as `fandb serve`
        // does; the fixtures' connection stays direct.
        let server_db = if settings.database_transaction_pooler {
            let mut pooled = api::db::connect_pooled(&settings.database_url).await.expect("connect through the pooler");
            let counter = statements.clone();
            pooled.set_metric_callback(move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
            });
            pooled
        } else {
            db.clone()
        };
        let application = Application::build_with_db(&settings, server_db).await.expect("build the application");
        let address = format!("http://127.0.0.1:{}", application.port());
        actix_web::rt::spawn(application.run_until_stopped());
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).disable_redirects().finish();
        Self { address, database_url: database_url.to_owned(), db, statements, client }
    }

    /// SQL statements run through the server's connection so far.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::SeqCst)
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

    /// POSTs a GraphQL operation and returns the JSON response, checked for the invariants.
    #[track_caller]
    pub fn graphql<'a>(&'a self, query: &'a str, variables: Value) -> impl std::future::Future<Output = Value> + 'a {
        let body = serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("JSON");
        async move {
            let response = self.request("POST", "/graphql", &[("content-type", "application/json")], Some(body)).await;
            assert_eq!(response.status, 200, "POST /graphql answered {}: {}", response.status, response.body);
            let json = response.json();
            assert_invariants(&json);
            json
        }
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

    /// POSTs a GraphQL operation with `Authorization: Bearer token` (none when `None`).
    pub async fn graphql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("JSON");
        let authorization = token.map(|token| format!("Bearer {token}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization.as_str()));
        }
        let response = self.request("POST", "/graphql", &headers, Some(body)).await;
        assert_eq!(response.status, 200, "POST /graphql answered {}: {}", response.status, response.body);
        let json = response.json();
        assert_invariants(&json);
        json
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
