//! The one mapping from domain errors to GraphQL errors, and the codes every error carries.
//!
//! Policy: every error has `extensions.code`. Input errors name the field at fault. Internal errors
//! say nothing of their cause: the detail goes to the log under an `errorId` that the response
//! repeats, so an operator can find it and a client learns nothing about SQL or the schema.

use async_graphql::{Error, ErrorExtensions};

use crate::domain::DomainError;

/// The stable codes of `extensions.code`.
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const CONFLICT: &str = "CONFLICT";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    /// A WebSocket already runs as many operations as it may.
    pub const TOO_MANY_OPERATIONS: &str = "TOO_MANY_OPERATIONS";
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    /// The server has no way to send mail (production without `FANDB_SMTP_URL`): asking again
    /// will not help until an operator configures it.
    pub const MAIL_NOT_CONFIGURED: &str = "MAIL_NOT_CONFIGURED";
    /// With `FANDB_REQUIRE_VERIFIED_EMAIL`: `register` succeeded as far as it can say (a link is in
    /// the mailbox), or `login` met an address that is not proven yet.
    pub const EMAIL_VERIFICATION_PENDING: &str = "EMAIL_VERIFICATION_PENDING";
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
}

/// The masked error for a failure whose `detail` must stay in the log.
pub fn internal(detail: &str) -> Error {
    let error_id = crate::telemetry::new_id();
    tracing::error!(error.id = %error_id, error.detail = %detail, "internal error");
    Error::new("internal error").extend_with(|_, extensions| {
        extensions.set("code", code::INTERNAL_SERVER_ERROR);
        extensions.set("errorId", error_id.as_str());
    })
}

impl From<DomainError> for Error {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Internal(detail) => internal(&detail),
            DomainError::InvalidInput { field, message } => Error::new(message).extend_with(|_, extensions| {
                extensions.set("code", code::BAD_USER_INPUT);
                extensions.set("field", field.as_str());
            }),
            DomainError::Conflict { field: Some(field), message } => {
                Error::new(message).extend_with(|_, extensions| {
                    extensions.set("code", code::CONFLICT);
                    extensions.set("field", field.as_str());
                })
            }
            DomainError::RateLimited { retry_after } => Error::new(error.to_string()).extend_with(|_, extensions| {
                extensions.set("code", code::RATE_LIMITED);
                extensions.set("retryAfter", retry_after);
            }),
            other => {
                let code = match &other {
                    DomainError::NotFound(_) => code::NOT_FOUND,
                    DomainError::Conflict { .. } => code::CONFLICT,
                    DomainError::Forbidden | DomainError::Unverified => code::FORBIDDEN,
                    DomainError::MailNotConfigured => code::MAIL_NOT_CONFIGURED,
                    DomainError::RegistrationPending | DomainError::VerificationPending => {
                        code::EMAIL_VERIFICATION_PENDING
                    }
                    DomainError::Unauthenticated | DomainError::WrongCredentials => code::UNAUTHENTICATED,
                    DomainError::Unavailable | DomainError::Contention => code::SERVICE_UNAVAILABLE,
                    DomainError::Internal(_) | DomainError::InvalidInput { .. } | DomainError::RateLimited { .. } => {
                        code::INTERNAL_SERVER_ERROR
                    }
                };
                Error::new(other.to_string()).extend_with(|_, extensions| extensions.set("code", code))
            }
        }
    }
}

/// Shorthand for resolver results.
pub type GqlResult<T> = Result<T, Error>;
