//! `/account/verify` and `/account/reset`: the pages the links in account mail open. The
//! verification link verifies on `GET` and says so (on the server: no GraphQL document of its
//! own); the reset link opens a form whose script calls `resetPassword` with the token from the
//! address, and the same page without a token (the campaign page's "Forgot your password?") asks
//! for a link with `requestPasswordReset`. The script runs those operations from the campaign's
//! trusted-documents manifest (`clients/campaign/AccountPages.graphql`), so the page works on a
//! server restricted to it. Neither page is cached or sends a referrer, so the token stays in the
//! one tab that opened it. `HEAD` on the verification link checks the token without using it (link
//! scanners send `HEAD`).

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::AppState;
use crate::domain::{DomainError, account_mail};

const RESET_PAGE: &str = include_str!("../../static/account-reset.html");
const RESET_SCRIPT: &str = include_str!("../../static/account-reset.js");

const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; \
                      base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The query of a mailed link.
#[derive(Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

fn page(status: StatusCode, content_type: &str, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(body)
}

/// A small page that says one thing.
fn message(status: StatusCode, title: &str, text: &str) -> HttpResponse {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}</style>\
         </head><body><main><h1 id=\"title\">{title}</h1><p id=\"message\">{text}</p>\
         <p><a href=\"/campaign\">Back to the campaign</a></p></main></body></html>\n"
    );
    page(status, "text/html; charset=utf-8", body)
}

/// `GET /account/verify?token=…`: verifies the address the token was mailed to. `HEAD` answers
/// what `GET` would without using the token up.
pub(crate) async fn verify(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
    request: HttpRequest,
) -> HttpResponse {
    let token = query.into_inner().token.unwrap_or_default();
    let outcome = if request.method() == Method::HEAD {
        account_mail::check_verification(&state.db, &token).await
    } else {
        account_mail::verify_email(&state.db, &token).await.map(|_| ())
    };
    match outcome {
        Ok(()) => message(StatusCode::OK, "Email address verified", "Thank you: your email address is verified."),
        Err(DomainError::InvalidInput { .. }) => message(
            StatusCode::BAD_REQUEST,
            "This link does not work",
            "This link is invalid, already used or expired. Sign in and ask for a new one.",
        ),
        Err(DomainError::Unavailable | DomainError::Contention) => message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again shortly",
            "The service is unavailable right now: open the link again in a moment.",
        ),
        Err(error) => {
            let error_id = crate::telemetry::new_id();
            tracing::error!(error.id = %error_id, error.detail = ?error, "verifying an email address failed");
            message(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "Please try again later.")
        }
    }
}

/// `GET /account/reset?token=…`: the form that sets a new password; without a token, the form
/// that asks for a link.
pub(crate) async fn reset() -> HttpResponse {
    page(StatusCode::OK, "text/html; charset=utf-8", RESET_PAGE.to_owned())
}

/// `GET /account/reset.js`.
pub(crate) async fn reset_script() -> HttpResponse {
    page(StatusCode::OK, "text/javascript; charset=utf-8", RESET_SCRIPT.to_owned())
}
