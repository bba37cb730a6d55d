//! The HTTP surface (actix-web only): the whole route table sits in `configure`; the middleware
//! around every route (request ids and access logs, CORS) in `middleware_stack`.

pub(crate) mod access;
pub(crate) mod account;
pub(crate) mod calendar;
pub(crate) mod campaign;
pub(crate) mod client_ip;
pub(crate) mod errors;
pub(crate) mod exposition;
pub(crate) mod graphiql;
pub(crate) mod graphql;
pub(crate) mod health;
pub(crate) mod metrics;
pub(crate) mod preflight;
pub(crate) mod rate_limit;
pub(crate) mod response_cache;
pub(crate) mod subscriptions;

use actix_web::http::header;
use actix_web::{HttpRequest, guard, middleware, web};
use sea_orm::DatabaseConnection;

use std::sync::Arc;

use crate::auth::Auth;
use crate::config::Environment;
use crate::graphql::AppSchema;

/// The largest request body accepted on `/graphql`.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) schema: AppSchema,
    pub(crate) db: DatabaseConnection,
    pub(crate) auth: Arc<Auth>,
    pub(crate) request_limiter: Arc<crate::limits::request::RequestLimiter>,
    pub(crate) environment: Environment,
    pub(crate) metrics: Arc<metrics::Metrics>,
    /// The request and socket limits the handlers apply themselves.
    pub(crate) limits: Arc<crate::config::Limits>,
    /// Open WebSockets per client IP.
    pub(crate) sockets: Arc<crate::limits::socket::SocketRegistry>,
    /// Proxies trusted to name the client (see `client_ip`).
    pub(crate) trusted_proxies: Arc<crate::config::TrustedProxies>,
    /// Turns `true` when the server begins to stop: open sockets then say goodbye.
    pub(crate) shutdown: tokio::sync::watch::Receiver<bool>,
    /// Where query operations read, when a read replica is configured.
    pub(crate) read_routing: Option<Arc<crate::infra::replica::ReadRouting>>,
    /// The documents of recent requests, parsed (the schema keeps them; see `graphql::documents`).
    pub(crate) documents: Arc<crate::graphql::documents::DocumentCache>,
    /// The counter subscriptions sockets serve outside the schema's executor.
    pub(crate) live_counts: Arc<crate::graphql::live_counts::LiveCounts>,
    /// Seconds a shared cache may keep an anonymous GET answer (see `graphql`).
    pub(crate) cache_max_age: u32,
    /// The answers to anonymous queries, unless `FANDB_RESPONSE_CACHE=off` (see `response_cache`).
    pub(crate) response_cache: Option<Arc<response_cache::ResponseCache>>,
    /// The host of `FANDB_PUBLIC_URL`, which calendar UIDs are made with (see `calendar`).
    pub(crate) public_host: Option<String>,
    /// Who may read `/metrics` on this listener.
    pub(crate) metrics_exposure: metrics::Exposure,
}

/// A route for `GET` and for `HEAD`, which runs the same handler: a `HEAD` gets the status and
/// headers `GET` would, `Content-Length` included. The HTTP/1 encoder (`actix-http`, the only
/// protocol this server speaks) writes no body in answer to a `HEAD`, so no handler has to know.
fn get() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers every route; every `GET` route answers `HEAD` too (see `get`).
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .route("/", get().to(graphiql::redirect))
        .route("/graphiql", get().to(graphiql::page))
        .route("/graphiql/assets/{file}", get().to(graphiql::asset))
        .route("/account/verify", get().to(account::verify))
        .route("/account/reset", get().to(account::reset))
        .route("/account/reset.js", get().to(account::reset_script))
        .route("/campaign", get().to(campaign::page))
        .route("/campaign/campaign.css", get().to(campaign::styles))
        .route("/campaign/campaign.js", get().to(campaign::script))
        .route("/campaign/operations.json", get().to(campaign::operations))
        .service(
            web::resource("/graphql")
                .wrap(middleware::from_fn(rate_limit::limit_requests))
                .route(web::post().to(graphql::post))
                .route(web::get().guard(guard::Header("upgrade", "websocket")).to(subscriptions::websocket))
                .route(get().to(graphql::get))
                .route(web::route().to(graphql::method_not_allowed)),
        )
        .route("/events/{slug}.ics", get().to(calendar::event))
        .route("/healthz", get().to(health::live))
        .route("/readyz", get().to(health::ready))
        .route("/metrics", get().to(metrics::scrape));
}

/// The routes of the metrics listener (`FANDB_METRICS_LISTEN`): `/metrics` alone.
pub(crate) fn configure_metrics(config: &mut web::ServiceConfig) {
    config.route("/metrics", get().to(metrics::scrape));
}

/// CORS for the configured browser origins only: `GET`/`POST` with `Authorization`,
/// `Content-Type` and `Accept`, no credentials (the API uses no cookies). A request from any other
/// origin is served without CORS headers, so a browser will not hand the answer to that page. A
/// preflight asking for other headers too is answered without them (see `preflight`).
pub(crate) fn cors(origins: &[String]) -> preflight::Cors {
    let allowed = [header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT, access::REQUEST_ID];
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST"])
        .allowed_headers(allowed.clone())
        .expose_headers([
            access::REQUEST_ID,
            header::RETRY_AFTER,
            header::HeaderName::from_static("ratelimit-limit"),
            header::HeaderName::from_static("ratelimit-remaining"),
            header::HeaderName::from_static("ratelimit-reset"),
        ])
        .max_age(3600)
        .block_on_origin_mismatch(false);
    for origin in origins {
        cors = cors.allowed_origin(origin.trim());
    }
    preflight::Cors::new(cors, &allowed)
}

/// The bearer token of a request: `None` without an `Authorization` header; an error for any
/// other scheme or a malformed header.
pub(crate) fn bearer(request: &HttpRequest) -> Result<Option<&str>, ()> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?.trim();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim()))
        }
        _ => Err(()),
    }
}
