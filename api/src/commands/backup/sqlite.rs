//! SQLite: `VACUUM INTO` copies the database as one read transaction sees it (in WAL mode readers
//! do not block the server's writers, nor they it), so every write committed before the copy began
//! is in it. Restore installs a checked copy only when no other process has the database open.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteLockingMode};
use sea_orm::sqlx::{self, Connection};

use super::files::Temp;
use super::{BackupError, refuse_data, unknown_migrations};

/// The file of a `sqlite:` URL, or `None` for any other database.
pub(crate) fn path_of(database_url: &str) -> Option<Result<PathBuf, BackupError>> {
    let rest = database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    Some(if path.is_empty() || path == ":memory:" {
        Err(BackupError::Refused("an in-memory SQLite database has nothing to back up or restore".to_owned()))
    } else {
        Ok(PathBuf::from(path))
    })
}

/// Copies the live database at `source` into `target`.
pub(crate) async fn backup(source: &Path, target: &Path, overwrite: bool) -> Result<(), BackupError> {
    if !source.is_file() {
        return Err(BackupError::Refused(format!("{}: no such database file", source.display())));
    }
    if same_file(source, target) {
        return Err(BackupError::Refused(format!("{} is the database itself: back it up elsewhere", target.display())));
    }
    let temp = Temp::beside(target)?;
    let options =
        SqliteConnectOptions::new().filename(source).create_if_missing(false).busy_timeout(Duration::from_secs(30));
    let mut connection = SqliteConnection::connect_with(&options).await?;
    let into = temp
        .path
        .to_str()
        .ok_or_else(|| BackupError::Refused(format!("{}: the backup's path must be valid UTF-8", target.display())))?;
    sqlx::query("VACUUM INTO ?").bind(into).execute(&mut connection).await?;
    connection.close().await?;
    check(&temp.path).await.map_err(|error| match error {
        // The copy of a database that is not fandb's, or is damaged: say so of the source.
        BackupError::NotABackup { message, .. } => BackupError::NotABackup { path: source.to_owned(), message },
        other => other,
    })?;
    temp.install(target, overwrite)
}

/// Replaces the database at `target` with the backup `file`.
pub(crate) async fn restore(target: &Path, file: &Path, force: bool) -> Result<(), BackupError> {
    if same_file(file, target) {
        return Err(BackupError::Refused(format!("{} is the database itself", file.display())));
    }
    if !target.exists() && side_file(target, "-wal").exists() {
        // Its pages would be replayed into the new file.
        return Err(BackupError::Refused(format!(
            "{} is there without its database: move it away, then restore",
            side_file(target, "-wal").display()
        )));
    }
    // The copy is checked, not the original, so what is installed is exactly what passed.
    let temp = Temp::beside(target)?;
    std::fs::copy(file, &temp.path).map_err(BackupError::io(file))?;
    check(&temp.path).await.map_err(|error| match error {
        BackupError::NotABackup { message, .. } => BackupError::NotABackup { path: file.to_owned(), message },
        other => other,
    })?;
    if target.exists() {
        release_unused(target, force).await?;
    }
    temp.install(target, true)?;
    // Left by a process that had the old database open; the new file must not meet its WAL.
    let shm = side_file(target, "-shm");
    let _ = std::fs::remove_file(shm);
    Ok(())
}

/// Checks that the database at `target` is closed by everyone else and empty (or `force`), and
/// closes it cleanly: its WAL folded back and removed, so the new file will not meet it.
///
/// A running fandb keeps a connection open, and in WAL mode every open connection holds a shared
/// lock that an exclusive-mode `BEGIN EXCLUSIVE` cannot get past: that is how a live server is
/// told apart, and such a database is never replaced, `--force` or not (the server would go on
/// writing into the old file, and its WAL would meet the new one).
async fn release_unused(target: &Path, force: bool) -> Result<(), BackupError> {
    let in_use = || {
        BackupError::Refused(format!(
            "{} is open in another process (a running fandb?): stop every server using it, then restore",
            target.display()
        ))
    };
    let options = SqliteConnectOptions::new()
        .filename(target)
        .create_if_missing(false)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::ZERO);
    let mut connection = SqliteConnection::connect_with(&options).await.map_err(|error| busy_as(error, in_use))?;
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut connection).await.map_err(|error| busy_as(error, in_use))?;
    let tables = tables_with_rows(&mut connection).await?;
    sqlx::query("COMMIT").execute(&mut connection).await?;
    if !tables.is_empty() && !force {
        connection.close().await?;
        return Err(refuse_data(&target.display().to_string(), &tables));
    }
    // The exclusive lock lasts until the connection closes, and the last connection to close
    // checkpoints the WAL and deletes it.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut connection).await?;
    connection.close().await?;
    if side_file(target, "-wal").exists() {
        return Err(in_use());
    }
    Ok(())
}

/// `error`, or `in_use()` when it is SQLite's "busy" or "locked".
fn busy_as(error: sqlx::Error, in_use: impl FnOnce() -> BackupError) -> BackupError {
    let code = error.as_database_error().and_then(|error| error.code()).and_then(|code| code.parse::<i32>().ok());
    // The primary result code is the low byte of an extended one: 5 SQLITE_BUSY, 6 SQLITE_LOCKED.
    match code.map(|code| code & 0xff) {
        Some(5 | 6) => in_use(),
        _ => error.into(),
    }
}

/// Checks a copy: SQLite finds it intact, it is a fandb database (it has the migrations table),
/// and no newer fandb made it.
async fn check(copy: &Path) -> Result<(), BackupError> {
    let not_a_backup = |message: String| BackupError::NotABackup { path: copy.to_owned(), message };
    let options = SqliteConnectOptions::new()
        .filename(copy)
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Delete)
        .busy_timeout(Duration::from_secs(5));
    let mut connection = SqliteConnection::connect_with(&options)
        .await
        .map_err(|error| not_a_backup(format!("not a SQLite database ({error})")))?;
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut connection)
        .await
        .map_err(|error| not_a_backup(format!("not a SQLite database ({error})")))?;
    if problems != ["ok"] {
        return Err(not_a_backup(format!("the SQLite integrity check failed: {}", problems.join("; "))));
    }
    let has_migrations: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations')",
    )
    .fetch_one(&mut connection)
    .await?;
    if !has_migrations {
        return Err(not_a_backup("a SQLite database, but not a fandb one (it has no seaql_migrations table)".into()));
    }
    let applied: Vec<String> =
        sqlx::query_scalar("SELECT version FROM seaql_migrations").fetch_all(&mut connection).await?;
    connection.close().await?;
    let unknown = unknown_migrations(&applied);
    if !unknown.is_empty() {
        return Err(not_a_backup(format!(
            "made by a newer fandb (migrations this one lacks: {}): restore it with that version",
            unknown.join(", ")
        )));
    }
    Ok(())
}

/// The tables (but SQLite's own and the migrations') that hold at least one row.
async fn tables_with_rows(connection: &mut SqliteConnection) -> Result<Vec<String>, BackupError> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> 'seaql_migrations' ORDER BY name",
    )
    .fetch_all(&mut *connection)
    .await?;
    let mut with_rows = Vec::new();
    for table in tables {
        let quoted = table.replace('"', "\"\"");
        let any: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT EXISTS (SELECT 1 FROM \"{quoted}\")")))
            .fetch_one(&mut *connection)
            .await?;
        if any {
            with_rows.push(table);
        }
    }
    Ok(with_rows)
}

/// Whether two paths name one existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `PATH-wal` or `PATH-shm`.
fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut side = path.to_owned().into_os_string();
    side.push(suffix);
    PathBuf::from(side)
}
