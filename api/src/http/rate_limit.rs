//! The middleware that applies the request budget (`limits::request`) on `/graphql`: one request
//! of the client's budget per request, the `RateLimit-*` headers on every answer but a public one,
//! and 429 with `Retry-After` once the bucket is empty.

use std::num::NonZeroU32;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use super::AppState;
use super::client_ip::client_ip;
use super::errors::{HttpError, Refusal};
use crate::limits::request::Verdict;

/// The middleware on `/graphql`: spends one request of the client's budget.
pub(crate) async fn limit_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limiter = request.app_data::<web::Data<AppState>>().map(|state| state.request_limiter.clone());
    let (Some(limiter), Some(client)) = (limiter, client_ip(request.request())) else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    match limiter.check(client, NonZeroU32::MIN).await {
        Verdict::Allowed { remaining } => {
            let mut response = next.call(request).await?;
            // A shared cache would hand one client's budget to everyone it serves that answer.
            if !is_public(response.headers()) {
                for (name, value) in limiter.headers(remaining) {
                    response.headers_mut().insert(name, value);
                }
            }
            Ok(response.map_into_left_body())
        }
        Verdict::Refused { retry_after } => {
            let refusal = HttpError::from(Refusal::RateLimited { retry_after }).with_headers(limiter.headers(0));
            Ok(request.into_response(refusal.error_response()).map_into_right_body())
        }
    }
}

/// Whether an answer may be kept by shared caches (`Cache-Control: public`, see `graphql`).
fn is_public(headers: &actix_web::http::header::HeaderMap) -> bool {
    headers
        .get_all(actix_web::http::header::CACHE_CONTROL)
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.split(',').any(|directive| directive.trim().eq_ignore_ascii_case("public")))
}
