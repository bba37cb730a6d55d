//! `fandb backup FILE` and `fandb restore FILE`: a consistent copy of a running database, verified
//! and written atomically, and the way back. SQLite copies itself in one read transaction
//! (`VACUUM INTO`), so the server keeps serving and writing; PostgreSQL goes through `pg_dump` and
//! `pg_restore` in their custom format. Neither command ever leaves a half-written file under the
//! name asked for: each writes a temporary file beside it, checks it, syncs it and renames it.

mod files;
mod postgres;
mod sqlite;

use std::path::{Path, PathBuf};

/// Why a backup or a restore stopped; it changed nothing the operator asked it to keep.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The command would have overwritten or damaged something; the message says how to proceed.
    #[error("{0}")]
    Refused(String),
    /// The file given to `restore` is not a usable fandb backup.
    #[error("{path}: {message}")]
    NotABackup { path: PathBuf, message: String },
    /// `pg_dump` or `pg_restore` is missing or failed.
    #[error("{0}")]
    Tool(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("database: {0}")]
    Database(String),
}

impl BackupError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io { path: path.to_owned(), source }
    }
}

impl From<sea_orm::sqlx::Error> for BackupError {
    fn from(error: sea_orm::sqlx::Error) -> Self {
        Self::Database(error.to_string())
    }
}

impl From<sea_orm::DbErr> for BackupError {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Database(error.to_string())
    }
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BackupReport {
    pub(crate) path: PathBuf,
    pub(crate) bytes: u64,
}

/// Copies the database at `database_url` into `file` while it stays in use. An existing `file` is
/// refused unless `overwrite`, and then replaced only by a copy that passed its check.
pub(crate) async fn backup(database_url: &str, file: &Path, overwrite: bool) -> Result<BackupReport, BackupError> {
    files::check_target(file, overwrite)?;
    if let Some(path) = sqlite::path_of(database_url) {
        sqlite::backup(&path?, file, overwrite).await?;
    } else {
        postgres::backup(database_url, file, overwrite).await?;
    }
    let bytes = std::fs::metadata(file).map_err(BackupError::io(file))?.len();
    Ok(BackupReport { path: file.to_owned(), bytes })
}

/// Replaces the database at `database_url` with the backup in `file`, then applies the migrations
/// this binary has that the backup lacks. A database holding any row is refused unless `force`;
/// a SQLite database another process has open (a running server) is refused even then.
pub(crate) async fn restore(database_url: &str, file: &Path, force: bool) -> Result<(), BackupError> {
    if !file.is_file() {
        return Err(BackupError::NotABackup { path: file.to_owned(), message: "no such file".to_owned() });
    }
    match sqlite::path_of(database_url) {
        Some(path) => sqlite::restore(&path?, file, force).await?,
        None => postgres::restore(database_url, file, force).await?,
    }
    let connection = crate::infra::db::connect(database_url).await?;
    crate::infra::db::migrate(&connection).await?;
    connection.close().await?;
    Ok(())
}

/// The migrations a backup has that this binary does not know: it was made by a newer fandb, and
/// this one would run on a schema it was not written for.
fn unknown_migrations(applied: &[String]) -> Vec<String> {
    use migration::MigratorTrait;
    let known: Vec<String> = migration::Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    applied.iter().filter(|name| !known.contains(name)).cloned().collect()
}

/// The refusal of a database that holds rows.
fn refuse_data(what: &str, tables: &[String]) -> BackupError {
    let mut named = tables.iter().take(4).cloned().collect::<Vec<_>>().join(", ");
    if tables.len() > 4 {
        named.push_str(&format!(" and {} more tables", tables.len() - 4));
    }
    BackupError::Refused(format!(
        "{what} is not empty (rows in {named}): restore replaces everything in it; run it again with --force to do so"
    ))
}
