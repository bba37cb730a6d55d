//! Every request runs in a `request` span carrying its id (the client's `X-Request-Id` when it is
//! a short token, a new one otherwise), which every log line written while serving it inherits;
//! the id is echoed in the response, and one line per request records status and latency. The
//! id also reaches the GraphQL context (`domain::audit::RequestId`), so audit rows carry it. The
//! span names the client IP (see `client_ip`: behind a trusted proxy, the client it names).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use tracing::Instrument;

use super::AppState;
use super::client_ip::client_ip;
use crate::domain::audit::RequestId;
use crate::telemetry::new_id;

/// The header a request id travels in.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The client's request id if it is safe to log and echo: 1 to 64 of `[A-Za-z0-9._-]`.
fn client_request_id(request: &ServiceRequest) -> Option<String> {
    let value = request.headers().get(REQUEST_ID)?.to_str().ok()?;
    let safe = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'));
    safe.then(|| value.to_owned())
}

/// The middleware around the whole application.
pub(crate) async fn trace_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = client_request_id(&request).unwrap_or_else(new_id);
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.path(),
        client_ip = %client_ip(request.request()).map(|ip| ip.to_string()).unwrap_or_default(),
        operation = tracing::field::Empty,
    );
    // The GraphQL handler hands it to the audit trail (see `domain::audit`).
    request.extensions_mut().insert(RequestId(id.clone()));
    let metrics = request.app_data::<web::Data<AppState>>().map(|state| state.metrics.clone());
    let started = Instant::now();
    let mut response = next.call(request).instrument(span.clone()).await?;
    let status = response.status().as_u16();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    if let Some(metrics) = metrics {
        metrics.response(status);
    }
    span.in_scope(|| {
        tracing::info!(status, elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, "served");
    });
    Ok(response)
}
