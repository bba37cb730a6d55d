//! What can go wrong proving who is asking. The domain turns it into its own error
//! (`From<AuthError> for DomainError`), so `auth` needs nothing of the domain's error type.

use sea_orm::DbErr;

/// Why a sign-in, a token or a password check failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No valid credentials.
    #[error("authentication required")]
    Unauthenticated,
    /// Too many attempts; try again after `retry_after` seconds.
    #[error("too many requests")]
    RateLimited { retry_after: u64 },
    /// What the check needs (the database, Redis, a hashing thread) cannot serve now.
    #[error("the service is unavailable, try again shortly")]
    Unavailable,
    /// An input breaks a rule (a password too short); `field` is the input at fault.
    #[error("{message}")]
    InvalidInput { field: String, message: String },
    /// A database failure, for the domain to classify as it classifies its own.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// A failure whose detail is for the log only.
    #[error("internal error")]
    Internal(String),
}

impl AuthError {
    /// A bad value for the input field at `field`.
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput { field: field.into(), message: message.into() }
    }
}

/// The result of an auth operation.
pub(crate) type AuthResult<T> = Result<T, AuthError>;
