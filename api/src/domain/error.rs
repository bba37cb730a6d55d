//! The one error type of the domain layer. Variants are named after what the user sees; the GraphQL
//! layer maps each to a stable `extensions.code` in one place (`graphql::errors`).
//!
//! Database errors never travel as text: `From<DbErr>` keeps unique violations as `Conflict`,
//! connection trouble as `Unavailable`, and everything else as an opaque `Internal`.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Everything a domain function can refuse or fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DomainError {
    /// The thing asked for does not exist (or is not visible to the viewer).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// An input value breaks a rule; `field` is the path of the input at fault.
    #[error("{message}")]
    InvalidInput { field: String, message: String },
    /// The change would break a uniqueness rule; `field` is the input at fault when known.
    #[error("{message}")]
    Conflict { field: Option<String>, message: String },
    /// The viewer is signed in but lacks the role.
    #[error("you are not allowed to do this")]
    Forbidden,
    /// The viewer must sign in first.
    #[error("authentication required")]
    Unauthenticated,
    /// A login with a wrong email or password (the same answer for both).
    #[error("wrong email or password")]
    WrongCredentials,
    /// Too many attempts; try again after `retry_after` seconds.
    #[error("too many requests")]
    RateLimited { retry_after: u64 },
    /// The database cannot be reached right now.
    #[error("the service is unavailable, try again shortly")]
    Unavailable,
    /// A failure whose detail is for the log only.
    #[error("internal error")]
    Internal(String),
}

impl DomainError {
    /// A clash with an existing record on `field`.
    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Conflict { field: Some(field.into()), message: message.into() }
    }

    /// A bad value for the input field at `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput { field: field.into(), message: message.into() }
    }
}

impl From<DbErr> for DomainError {
    fn from(error: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(_)) = error.sql_err() {
            return Self::Conflict {
                field: None,
                message: "a record with the same unique value already exists".to_owned(),
            };
        }
        match &error {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::Unavailable,
            DbErr::Query(RuntimeErr::SqlxError(inner)) | DbErr::Exec(RuntimeErr::SqlxError(inner))
                if is_connection_failure(inner.as_ref()) =>
            {
                Self::Unavailable
            }
            _ => Self::Internal(error.to_string()),
        }
    }
}

/// Whether a driver error means the database is out of reach rather than the query being wrong.
fn is_connection_failure(error: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    matches!(error, Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed | Error::Tls(_))
}

/// The result type of domain functions.
pub type DomainResult<T> = Result<T, DomainError>;
