//! Liveness (the process serves) and readiness (the database answers a real read quickly).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use sea_orm::{ConnectionTrait, Statement};

use super::AppState;

/// How long readiness waits for the database before saying no.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: 200 while the process serves.
pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok")
}

/// `GET /readyz`: 200 when the database answers a read of a real table within two seconds, 503
/// when not (down, unreachable, or locked by another process), and 503 "degraded" while the
/// shared state's Redis does not answer.
pub(crate) async fn ready(state: web::Data<AppState>) -> HttpResponse {
    // A table read, not just a ping: SQLite answers pings even while another process holds the
    // file locked.
    let probe = Statement::from_string(state.db.get_database_backend(), "SELECT id FROM films LIMIT 1");
    match tokio::time::timeout(READINESS_TIMEOUT, state.db.query_one_raw(probe)).await {
        // Serving, but not as configured: a balancer should prefer the processes that reach Redis.
        Ok(Ok(_)) if state.request_limiter.shared_budget_answering() == Some(false) => {
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("degraded: Redis is unreachable; limits are enforced per process, sign-ins are refused")
        }
        Ok(Ok(_)) => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ready"),
        outcome => {
            let reason = if outcome.is_err() { "timed out" } else { "failed" };
            tracing::warn!(reason, "readiness check: the database does not answer");
            HttpResponse::ServiceUnavailable().content_type("text/plain; charset=utf-8").body("database unavailable")
        }
    }
}
