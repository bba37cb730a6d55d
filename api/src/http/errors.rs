//! Every refusal the HTTP layer makes outside GraphQL execution, as one actix `ResponseError`: a
//! status, headers, and a GraphQL-shaped body (`{"errors": [{"message", "extensions": {"code"}}]}`)
//! with the codes of `graphql::errors`. Each kind has its code; no code is chosen by reading a
//! message.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::code;
use crate::domain::DomainError;

/// The media type an error body is written in: the one the client negotiated for `/graphql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum MediaType {
    /// `application/graphql-response+json`.
    GraphqlResponseJson,
    /// `application/json`.
    #[default]
    Json,
}

impl MediaType {
    /// The `Content-Type` header value.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }
}

/// What went wrong, by kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// A malformed request (its message says what): 400 `BAD_REQUEST`.
    #[error("{0}")]
    BadRequest(String),
    /// A body over the limit: 413, and the connection is closed (the rest is not read).
    #[error("the body is larger than {0} KiB")]
    BodyTooLarge(usize),
    /// A body that broke off: 400, connection closed.
    #[error("the body could not be read")]
    BodyUnreadable,
    /// A body that did not arrive within the read deadline: 408 `REQUEST_TIMEOUT`, closed.
    #[error("the body did not arrive in time")]
    BodyTimeout,
    /// A body that is not JSON: 415.
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    /// A document nested too deep to parse safely: 400 `GRAPHQL_PARSE_FAILED`.
    #[error("the document nests deeper than {0} levels")]
    TooDeep(usize),
    /// A mutation or subscription sent with GET: 405 with `Allow: POST`.
    #[error("only queries may be sent with GET; send mutations with POST")]
    MutationOverGet,
    /// A bearer token that does not hold: 401 `UNAUTHENTICATED` with `WWW-Authenticate`.
    #[error("invalid or expired access token")]
    Unauthenticated,
    /// A client over its request budget: 429 `RATE_LIMITED` with `Retry-After`.
    #[error("too many requests; slow down")]
    RateLimited {
        /// Seconds until a request would be let through.
        retry_after: u64,
    },
    /// No such resource (named): 404 `NOT_FOUND`.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The database (or another service) cannot serve now: 503 `SERVICE_UNAVAILABLE`.
    #[error("the service is unavailable, try again shortly")]
    Unavailable,
    /// An operation that ran past its deadline (and was rolled back): 503 `SERVICE_UNAVAILABLE`.
    #[error("the request took too long; try again shortly")]
    TimedOut,
    /// A fault of ours: 500 `INTERNAL_SERVER_ERROR`; the detail is logged under an error id, never
    /// sent.
    #[error("internal error")]
    Internal(String),
}

impl From<DomainError> for Refusal {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Unauthenticated => Self::Unauthenticated,
            DomainError::Unavailable | DomainError::Contention => Self::Unavailable,
            DomainError::RateLimited { retry_after } => Self::RateLimited { retry_after },
            DomainError::NotFound(what) => Self::NotFound(what),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<crate::auth::error::AuthError> for Refusal {
    fn from(error: crate::auth::error::AuthError) -> Self {
        DomainError::from(error).into()
    }
}

impl Refusal {
    /// The refusal written in `media_type`.
    pub(crate) fn in_media_type(self, media_type: MediaType) -> HttpError {
        HttpError { refusal: self, media_type, extra_headers: Vec::new() }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::BodyUnreadable | Self::TooDeep(_) => StatusCode::BAD_REQUEST,
            Self::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MutationOverGet => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unavailable | Self::TimedOut => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_)
            | Self::BodyTooLarge(_)
            | Self::BodyUnreadable
            | Self::UnsupportedMediaType
            | Self::MutationOverGet => "BAD_REQUEST",
            Self::BodyTimeout => "REQUEST_TIMEOUT",
            Self::TooDeep(_) => code::GRAPHQL_PARSE_FAILED,
            Self::Unauthenticated => code::UNAUTHENTICATED,
            Self::RateLimited { .. } => code::RATE_LIMITED,
            Self::NotFound(_) => code::NOT_FOUND,
            Self::Unavailable | Self::TimedOut => code::SERVICE_UNAVAILABLE,
            Self::Internal(_) => code::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the rest of the request cannot be trusted to be read: the connection is closed.
    fn closes_connection(&self) -> bool {
        matches!(self, Self::BodyTooLarge(_) | Self::BodyUnreadable | Self::BodyTimeout)
    }
}

/// A refusal, the media type it is written in, and any headers that go with it.
#[derive(Debug, thiserror::Error)]
#[error("{refusal}")]
pub(crate) struct HttpError {
    refusal: Refusal,
    media_type: MediaType,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
}

impl HttpError {
    /// Adds headers (a rate limit's `RateLimit-*`).
    pub(crate) fn with_headers(mut self, headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>) -> Self {
        self.extra_headers.extend(headers);
        self
    }
}

impl From<Refusal> for HttpError {
    fn from(refusal: Refusal) -> Self {
        refusal.in_media_type(MediaType::default())
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        self.refusal.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if self.refusal.closes_connection() {
            response.force_close();
        }
        let mut extensions = json!({ "code": self.refusal.code() });
        let message = match &self.refusal {
            Refusal::Internal(detail) => {
                let masked = crate::graphql::errors::internal(detail);
                if let Some(error_id) = masked.extensions.as_ref().and_then(|values| values.get("errorId")) {
                    extensions["errorId"] = serde_json::to_value(error_id).unwrap_or_default();
                }
                masked.message
            }
            other => other.to_string(),
        };
        match &self.refusal {
            Refusal::MutationOverGet => {
                response.insert_header((header::ALLOW, HeaderValue::from_static("POST")));
            }
            Refusal::Unauthenticated => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                ));
            }
            Refusal::RateLimited { retry_after } => {
                response.insert_header((header::RETRY_AFTER, *retry_after));
                extensions["retryAfter"] = json!(retry_after);
            }
            _ => {}
        }
        for (name, value) in &self.extra_headers {
            response.insert_header((name.clone(), value.clone()));
        }
        response
            .content_type(self.media_type.content_type())
            .json(json!({ "errors": [{ "message": message, "extensions": extensions }] }))
    }
}
