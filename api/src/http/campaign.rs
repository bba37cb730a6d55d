//! `/campaign`: the fans' page, plain HTML, CSS and JavaScript compiled into the binary. It uses
//! only the public GraphQL API, sending only the documents of its trusted-documents manifest (one
//! query on load, then live counts over the subscription socket, and the header's totals fetched
//! again when a count moves and every minute); the Content-Security-Policy keeps it to this
//! origin, but for images: posters, photos
//! and petition and event images are https URLs of other sites (the API refuses any other scheme).
//! Each petition shows its latest update, the API's sanitized HTML of its Markdown; the policy
//! would stop an inline script even if one got through.

use actix_web::HttpResponse;
use actix_web::http::header;

const PAGE: &str = include_str!("../../static/campaign.html");
const STYLES: &str = include_str!("../../static/campaign.css");
const SCRIPT: &str = include_str!("../../static/campaign.js");
/// The page's operations, and the account pages' (`/account/reset` loads it from here too): the
/// trusted-documents manifest graphql-codegen generates from `clients/campaign/*.graphql`, so the
/// pages send exactly the documents a server restricted to that manifest runs.
const OPERATIONS: &str = include_str!("../../../clients/campaign/persisted-documents.json");

const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; \
                      img-src 'self' data: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body)
}

/// `GET /campaign`.
pub(crate) async fn page() -> HttpResponse {
    asset("text/html; charset=utf-8", PAGE)
}

/// `GET /campaign/campaign.css`.
pub(crate) async fn styles() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLES)
}

/// `GET /campaign/campaign.js`.
pub(crate) async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// `GET /campaign/operations.json`: the manifest the script runs its operations from.
pub(crate) async fn operations() -> HttpResponse {
    asset("application/json", OPERATIONS)
}
