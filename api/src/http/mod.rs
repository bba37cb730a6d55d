//! The HTTP surface (actix-web only): the whole route table sits in `configure`.

pub mod calendar;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod limits;
pub mod rate_limit;
pub mod subscriptions;

use actix_web::{guard, middleware, web};
use sea_orm::DatabaseConnection;

use std::sync::Arc;

use crate::auth::Auth;
use crate::config::Environment;
use crate::graphql::AppSchema;

/// The largest request body accepted on `/graphql`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub db: DatabaseConnection,
    pub auth: Arc<Auth>,
    pub request_limiter: Arc<rate_limit::RequestLimiter>,
    pub environment: Environment,
}

/// Registers every route.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .route("/", web::get().to(graphiql::redirect))
        .route("/graphiql", web::get().to(graphiql::page))
        .service(
            web::resource("/graphql")
                .wrap(middleware::from_fn(rate_limit::limit_requests))
                .route(web::post().to(graphql::post))
                .route(web::get().guard(guard::Header("upgrade", "websocket")).to(subscriptions::websocket))
                .route(web::get().to(graphql::get))
                .route(web::route().to(graphql::method_not_allowed)),
        )
        .route("/events/{slug}.ics", web::get().to(calendar::event))
        .route("/healthz", web::get().to(health::live))
        .route("/readyz", web::get().to(health::ready));
}
