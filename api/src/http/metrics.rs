//! `GET /metrics` in the Prometheus text formats (`prometheus-client`, see `exposition`): GraphQL operations and their
//! latency by operation name, errors by code, HTTP responses by status, the database pool
//! (connections in use and idle, and the most it may open), SQL statements sent, subscription
//! sockets open, and the hits and misses of the document cache.
//! Operation names come from clients: with a trusted-documents manifest only the names of its
//! operations get a series of their own; without one, only the first `MAX_OPERATION_NAMES`
//! well-formed ones do. The rest are counted as `other`.
//!
//! Who may read it (`Exposure`): with `FANDB_METRICS_TOKEN`, only a request bearing that token
//! (401 otherwise); without one, anyone outside production, and in production nobody on the API's
//! own address (404) — `FANDB_METRICS_LISTEN` then serves it on an address of its own.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sea_orm::{DatabaseBackend, DatabaseConnection};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use super::exposition::{self, Format};

/// How many distinct operation names get their own series.
const MAX_OPERATION_NAMES: usize = 200;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

type HistogramFamily = Family<OperationLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 8 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// The metrics of one server.
pub(crate) struct Metrics {
    registry: Registry,
    operations: HistogramFamily,
    errors: Family<CodeLabels, Counter>,
    responses: Family<StatusLabels, Counter>,
    pool: Family<PoolLabels, Gauge>,
    pool_max: Gauge,
    subscribers: Gauge<i64, std::sync::atomic::AtomicI64>,
    live_counts: Gauge<i64, std::sync::atomic::AtomicI64>,
    statements: Counter,
    redis_errors: Counter,
    replica_queries: Counter,
    replica_fallbacks: Counter,
    plan_counters: crate::graphql::plan::PlanCounters,
    document_cache_hits: Counter,
    document_cache_misses: Counter,
    response_cache: super::response_cache::CacheCounters,
    operation_names: Mutex<HashSet<String>>,
    /// The trusted manifest's operation names, when there is one: the only names labelled.
    manifest_names: OnceLock<HashSet<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("fandb");
        let operations: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "graphql_operation_duration_seconds",
            "GraphQL operations executed and how long they took, by operation name",
            operations.clone(),
        );
        let errors = Family::<CodeLabels, Counter>::default();
        registry.register("graphql_errors", "GraphQL errors returned, by extensions.code", errors.clone());
        let responses = Family::<StatusLabels, Counter>::default();
        registry.register("http_responses", "HTTP responses, by status code", responses.clone());
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register("db_pool_connections", "Database pool connections, in use or idle", pool.clone());
        let pool_max = Gauge::default();
        registry.register("db_pool_max_connections", "The most connections the pool opens", pool_max.clone());
        let subscribers = Gauge::default();
        registry.register("subscription_sockets_open", "WebSocket subscription connections open", subscribers.clone());
        let live_counts = Gauge::default();
        registry.register(
            "live_counts_served",
            "Counter subscriptions served by their sockets outside the GraphQL executor",
            live_counts.clone(),
        );
        let statements = Counter::default();
        registry.register("db_statements", "SQL statements sent to the database", statements.clone());
        let redis_errors = Counter::default();
        registry.register("redis_errors", "Shared-state (Redis) calls that failed or timed out", redis_errors.clone());
        let replica_queries = Counter::default();
        registry.register("replica_queries", "Query operations the read replica answered", replica_queries.clone());
        let replica_fallbacks = Counter::default();
        registry.register(
            "replica_fallbacks",
            "Query operations the read replica failed, answered again by the primary",
            replica_fallbacks.clone(),
        );
        let plan_counters = crate::graphql::plan::PlanCounters::default();
        plan_counters.register(&mut registry);
        let document_cache_hits = Counter::default();
        registry.register(
            "document_cache_hits",
            "GraphQL documents found parsed in the document cache",
            document_cache_hits.clone(),
        );
        let document_cache_misses = Counter::default();
        registry.register(
            "document_cache_misses",
            "GraphQL documents not in the document cache, parsed afresh",
            document_cache_misses.clone(),
        );
        let response_cache = super::response_cache::CacheCounters::default();
        response_cache.register(&mut registry);
        Self {
            registry,
            response_cache,
            document_cache_hits,
            document_cache_misses,
            plan_counters,
            replica_queries,
            replica_fallbacks,
            statements,
            redis_errors,
            operations,
            errors,
            responses,
            pool,
            pool_max,
            subscribers,
            live_counts,
            operation_names: Mutex::new(HashSet::new()),
            manifest_names: OnceLock::new(),
        }
    }

    /// Labels operations only by these names (a trusted manifest's), every other as `other`.
    pub(crate) fn label_only(&self, names: HashSet<String>) {
        // Set once, at start-up, before any request.
        let _ = self.manifest_names.set(names);
    }

    /// Records one executed operation and the codes of its errors.
    pub(crate) fn operation(&self, name: Option<&str>, elapsed: Duration, error_codes: &[&str]) {
        let labels = OperationLabels { operation: self.operation_label(name) };
        self.operations.get_or_create(&labels).observe(elapsed.as_secs_f64());
        for code in error_codes {
            self.error(code);
        }
    }

    /// Counts one error with `code`.
    pub(crate) fn error(&self, code: &str) {
        self.errors.get_or_create(&CodeLabels { code: code.to_owned() }).inc();
    }

    /// Counts one SQL statement (from the connection's metric callback).
    pub(crate) fn statement(&self) {
        self.statements.inc();
    }

    /// The counter of failed shared-state (Redis) calls, for the shared state to count on.
    pub(crate) fn redis_errors(&self) -> Counter {
        self.redis_errors.clone()
    }

    /// The hit and miss counters of the document cache, for the cache to count on.
    pub(crate) fn document_cache(&self) -> (Counter, Counter) {
        (self.document_cache_hits.clone(), self.document_cache_misses.clone())
    }

    /// The response cache's counters, for the cache to count on.
    pub(crate) fn response_cache(&self) -> super::response_cache::CacheCounters {
        self.response_cache.clone()
    }

    /// Counts one query operation the replica answered.
    pub(crate) fn replica_query(&self) {
        self.replica_queries.inc();
    }

    /// Counts one query operation the replica failed (the primary then answered it).
    pub(crate) fn replica_fallback(&self) {
        self.replica_fallbacks.inc();
    }

    /// The read planner's counters (planned root fields and fallbacks, by field).
    pub(crate) fn plan_counters(&self) -> crate::graphql::plan::PlanCounters {
        self.plan_counters.clone()
    }

    /// Counts one HTTP response.
    pub(crate) fn response(&self, status: u16) {
        self.responses.get_or_create(&StatusLabels { status: status.to_string() }).inc();
    }

    /// The gauge of counter subscriptions served outside the executor (`graphql::live_counts`).
    pub(crate) fn live_counts_served(&self) -> Gauge<i64, std::sync::atomic::AtomicI64> {
        self.live_counts.clone()
    }

    /// A subscription socket opened; it counts as open until the guard is dropped.
    pub(crate) fn subscriber_opened(self: &std::sync::Arc<Self>) -> SubscriberGuard {
        self.subscribers.inc();
        SubscriberGuard(self.clone())
    }

    fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|name| is_graphql_name(name)) else {
            return "anonymous".to_owned();
        };
        if let Some(allowed) = self.manifest_names.get() {
            return if allowed.contains(name) { name.to_owned() } else { "other".to_owned() };
        }
        let Ok(mut names) = self.operation_names.lock() else { return "other".to_owned() };
        if names.contains(name) {
            return name.to_owned();
        }
        if names.len() < MAX_OPERATION_NAMES {
            names.insert(name.to_owned());
            return name.to_owned();
        }
        "other".to_owned()
    }

    /// The text exposition, with the pool read now.
    fn render(&self, db: &DatabaseConnection) -> Result<String, std::fmt::Error> {
        let (size, idle, max) = match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle(), pool.options().get_max_connections())
            }
            DatabaseBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle(), pool.options().get_max_connections())
            }
            _ => (0, 0, 0),
        };
        let idle = i64::try_from(idle).unwrap_or(i64::MAX);
        self.pool.get_or_create(&PoolLabels { state: "in_use" }).set(i64::from(size) - idle);
        self.pool.get_or_create(&PoolLabels { state: "idle" }).set(idle);
        self.pool_max.set(i64::from(max));
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Keeps a subscription socket counted as open.
pub(crate) struct SubscriberGuard(std::sync::Arc<Metrics>);

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.subscribers.dec();
    }
}

/// Whether `name` is a GraphQL name (safe to log and to use as a label).
pub(crate) fn is_graphql_name(name: &str) -> bool {
    let mut characters = name.chars();
    name.len() <= 64
        && characters.next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|rest| rest.is_ascii_alphanumeric() || rest == '_')
}

/// The digest of `FANDB_METRICS_TOKEN`: compared, never the token itself, so neither its bytes nor
/// its length shows in how long a wrong guess takes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct MetricsToken([u8; 32]);

impl MetricsToken {
    /// The token's digest.
    pub(crate) fn new(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Whether `given` is the token, in constant time.
    fn admits(&self, given: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        self.0.ct_eq(&given).into()
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(**redacted**)")
    }
}

/// Who may read `/metrics` on one listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exposure {
    /// Anyone (development, or the metrics listener without a token).
    Open,
    /// A request with `Authorization: Bearer <the token>`; 401 for any other.
    Token(MetricsToken),
    /// Nobody: 404, as if there were no such path (production without a token).
    Off,
}

impl Exposure {
    /// On the API's own listener: the token when one is set; otherwise open, unless in
    /// production or when the metrics have a listener of their own.
    pub(crate) fn api(token: Option<MetricsToken>, production: bool, own_listener: bool) -> Self {
        match token {
            Some(token) => Self::Token(token),
            None if production || own_listener => Self::Off,
            None => Self::Open,
        }
    }

    /// On the metrics listener (`FANDB_METRICS_LISTEN`): the token when one is set, else open.
    pub(crate) fn own_listener(token: Option<MetricsToken>) -> Self {
        token.map_or(Self::Open, Self::Token)
    }

    /// The answer to a `request` that may not read the metrics; `None` when it may.
    fn refusal(&self, request: &HttpRequest) -> Option<HttpResponse> {
        match self {
            Self::Open => None,
            Self::Off => Some(HttpResponse::NotFound().finish()),
            Self::Token(token) => match super::bearer(request) {
                Ok(Some(given)) if token.admits(given) => None,
                _ => Some(
                    HttpResponse::Unauthorized()
                        .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
                        .finish(),
                ),
            },
        }
    }
}

/// `GET /metrics`: OpenMetrics, or the classic text format when `Accept` prefers `text/plain`;
/// only for those the listener's `Exposure` admits.
pub(crate) async fn scrape(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    if let Some(refused) = state.metrics_exposure.refusal(&request) {
        return refused;
    }
    let accept = request.headers().get(header::ACCEPT).and_then(|value| value.to_str().ok());
    match (state.metrics.render(&state.db), exposition::negotiate(accept)) {
        (Ok(text), Format::OpenMetrics) => HttpResponse::Ok().content_type(exposition::OPENMETRICS).body(text),
        (Ok(text), Format::Classic) => {
            HttpResponse::Ok().content_type(exposition::CLASSIC).body(exposition::classic(&text))
        }
        (Err(_), _) => HttpResponse::InternalServerError().finish(),
    }
}
