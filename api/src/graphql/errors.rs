//! The one mapping from domain errors to GraphQL errors, and the codes every error carries.
//!
//! Policy: every error has `extensions.code`. Input errors name the field at fault. Internal errors
//! say nothing of their cause: the detail goes to the log under an `errorId` that the response
//! repeats, so an operator can find it and a client learns nothing about SQL or the schema.

use async_graphql::{Error, ErrorExtensions};

use crate::code;
use crate::domain::DomainError;

/// The masked error for a failure whose `detail` must stay in the log.
pub(crate) fn internal(detail: &str) -> Error {
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
pub(crate) type GqlResult<T> = Result<T, Error>;
