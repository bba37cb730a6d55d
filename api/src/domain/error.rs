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
    /// The viewer must verify their email address first (`FANDB_REQUIRE_VERIFIED_EMAIL`).
    #[error(
        "verify your email address first: open the link mailed to you, or ask for a new one with resendVerification"
    )]
    Unverified,
    /// A registration that needs its address proven (`FANDB_REQUIRE_VERIFIED_EMAIL`): the same
    /// answer whether the address was new or taken (`enrollment`).
    #[error("check your mailbox: we sent a link to finish signing up")]
    RegistrationPending,
    /// A right password for an account whose address is not proven yet, where that is required.
    #[error(
        "confirm your email address first: open the link we mailed you, or get a new one with requestPasswordReset"
    )]
    VerificationPending,
    /// The viewer must sign in first.
    #[error("authentication required")]
    Unauthenticated,
    /// A login with a wrong email or password (the same answer for both).
    #[error("wrong email or password")]
    WrongCredentials,
    /// Too many attempts; try again after `retry_after` seconds.
    #[error("too many requests")]
    RateLimited { retry_after: u64 },
    /// The database aborted the transaction to break a deadlock or a serialization conflict;
    /// running it again is safe (`retrying` does, and reports `Unavailable` past its retries).
    #[error("the database was busy resolving a conflict, try again shortly")]
    Contention,
    /// The database cannot be reached right now.
    #[error("the service is unavailable, try again shortly")]
    Unavailable,
    /// This server cannot send mail (production without `FANDB_SMTP_URL`).
    #[error("this server cannot send mail: email verification and password reset are unavailable")]
    MailNotConfigured,
    /// A failure whose detail is for the log only.
    #[error("internal error")]
    Internal(String),
}

impl DomainError {
    /// A clash with an existing record on `field`.
    pub(crate) fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Conflict { field: Some(field.into()), message: message.into() }
    }

    /// A bad value for the input field at `field`.
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput { field: field.into(), message: message.into() }
    }

    /// The error of a nested input placed under `path`: a field named from the mutation's
    /// `input` (`input.name`) is renamed to sit under `path` (`input.credits[0].person.create.name`),
    /// so a nested element's error names the element. Other errors pass unchanged.
    pub(crate) fn at(self, path: &str) -> Self {
        let rebase = |field: String| match field.strip_prefix("input") {
            Some(rest) if rest.is_empty() || rest.starts_with('.') => format!("{path}{rest}"),
            _ => format!("{path}.{field}"),
        };
        match self {
            Self::InvalidInput { field, message } => Self::InvalidInput { field: rebase(field), message },
            Self::Conflict { field, message } => {
                Self::Conflict { field: Some(rebase(field.unwrap_or_else(|| "input".into()))), message }
            }
            other => other,
        }
    }
}

/// A sign-in limit's refusal, as the auth error of the same name maps.
impl From<crate::limits::sign_in::SignInError> for DomainError {
    fn from(error: crate::limits::sign_in::SignInError) -> Self {
        use crate::limits::sign_in::SignInError;
        match error {
            SignInError::RateLimited { retry_after } => Self::RateLimited { retry_after },
            SignInError::Unavailable => Self::Unavailable,
            SignInError::Internal(detail) => Self::Internal(detail),
        }
    }
}

impl From<crate::auth::error::AuthError> for DomainError {
    fn from(error: crate::auth::error::AuthError) -> Self {
        use crate::auth::error::AuthError;
        match error {
            AuthError::Unauthenticated => Self::Unauthenticated,
            AuthError::RateLimited { retry_after } => Self::RateLimited { retry_after },
            AuthError::Unavailable => Self::Unavailable,
            AuthError::InvalidInput { field, message } => Self::InvalidInput { field, message },
            AuthError::Database(error) => Self::from(error),
            AuthError::Internal(detail) => Self::Internal(detail),
        }
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
                if is_contention(inner.as_ref()) =>
            {
                Self::Contention
            }
            DbErr::Query(RuntimeErr::SqlxError(inner)) | DbErr::Exec(RuntimeErr::SqlxError(inner))
                if is_connection_failure(inner.as_ref()) =>
            {
                Self::Unavailable
            }
            DbErr::Query(RuntimeErr::SqlxError(inner)) | DbErr::Exec(RuntimeErr::SqlxError(inner)) => {
                Self::Internal(describe_driver_error(inner))
            }
            _ => Self::Internal(error.to_string()),
        }
    }
}

/// Whether the database aborted a transaction to break a deadlock (`40P01`) or a serialization
/// conflict (`40001`).
fn is_contention(error: &sea_orm::sqlx::Error) -> bool {
    match error {
        sea_orm::sqlx::Error::Database(database) => {
            database.code().is_some_and(|code| code == "40001" || code == "40P01")
        }
        _ => false,
    }
}

/// Whether a driver error means the database is out of reach, busy or shutting down rather than
/// the query being wrong: the client should try again shortly.
fn is_connection_failure(error: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match error {
        Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed | Error::Tls(_) => true,
        // PostgreSQL's SQLSTATEs are often all digits (57014, 53100), so the driver, not the
        // code's shape, says which database's code it is.
        Error::Database(database) => database.code().is_some_and(|code| {
            if database.try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>().is_some() {
                is_transient_sqlstate(&code)
            } else {
                is_transient_sqlite_code(&code)
            }
        }),
        _ => false,
    }
}

/// SQLite result codes of a database that cannot serve right now: the client should try again,
/// and nothing it asked for was stored. The primary code is the low byte of the extended one.
/// BUSY, LOCKED, IOERR (a failed write or fsync), CANTOPEN and FULL: the disk or the lock, not the
/// query.
fn is_transient_sqlite_code(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6 | 10 | 13 | 14))
}

/// PostgreSQL SQLSTATEs of a database that cannot serve right now, likewise.
fn is_transient_sqlstate(code: &str) -> bool {
    // PostgreSQL: connection exceptions (08), insufficient resources such as a full disk or too
    // many connections (53), a cancelled statement, shutdown, and system or I/O errors (58).
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("58")
        || matches!(code, "57014" | "57P01" | "57P02" | "57P03")
}

/// What the log may say about a failed statement: the database's error code and kind, never its
/// message (which can quote values, SQL or constraint names).
fn describe_driver_error(error: &sea_orm::sqlx::Error) -> String {
    match error {
        sea_orm::sqlx::Error::Database(database) => {
            format!("database error {} ({:?})", database.code().unwrap_or_default(), database.kind())
        }
        other => format!("driver error: {}", driver_error_kind(other)),
    }
}

fn driver_error_kind(error: &sea_orm::sqlx::Error) -> &'static str {
    use sea_orm::sqlx::Error;
    match error {
        Error::Configuration(_) => "configuration",
        Error::RowNotFound => "row not found",
        Error::TypeNotFound { .. } => "type not found",
        Error::ColumnIndexOutOfBounds { .. } => "column index out of bounds",
        Error::ColumnNotFound(_) => "column not found",
        Error::ColumnDecode { .. } => "column decode",
        Error::Decode(_) => "decode",
        Error::Encode(_) => "encode",
        Error::Protocol(_) => "protocol",
        _ => "other",
    }
}

/// The result type of domain functions.
pub type DomainResult<T> = Result<T, DomainError>;

#[cfg(test)]
mod tests {
    use super::DomainError;

    fn field(error: DomainError) -> Option<String> {
        match error {
            DomainError::InvalidInput { field, .. } => Some(field),
            DomainError::Conflict { field, .. } => field,
            _ => None,
        }
    }

    #[test]
    fn a_nested_error_is_named_under_its_element() {
        let at = "input.credits[0].person.create";
        assert_eq!(
            field(DomainError::invalid("input.name", "x").at(at)),
            Some("input.credits[0].person.create.name".to_owned())
        );
        assert_eq!(field(DomainError::conflict("input.slug", "x").at("films[2]")), Some("films[2].slug".to_owned()));
        assert_eq!(field(DomainError::invalid("person", "x").at("credits[1]")), Some("credits[1].person".to_owned()));
        assert_eq!(
            field(DomainError::invalid("inputs", "x").at("a")),
            Some("a.inputs".to_owned()),
            "only the `input` root"
        );
        let bare = DomainError::Conflict { field: None, message: "x".into() };
        assert_eq!(field(bare.at("input.credits[3]")), Some("input.credits[3]".to_owned()));
        assert!(matches!(DomainError::Forbidden.at("input.credits[0]"), DomainError::Forbidden));
    }
}
