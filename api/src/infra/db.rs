//! Connecting to SQLite or PostgreSQL with the pool settings each needs, and migrating.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::Connection;
use sea_orm::sqlx::sqlite::{SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

tokio::task_local! {
    static BACKGROUND: ();
}

/// Runs `work` marked as background work: statements no request asked for (announcing, folding),
/// which a caller counting a request's statements leaves out (`running_in_background`).
pub async fn as_background<F: std::future::Future>(work: F) -> F::Output {
    BACKGROUND.scope((), work).await
}

/// Whether the running task is background work started with `as_background`.
pub fn running_in_background() -> bool {
    BACKGROUND.try_with(|_| ()).is_ok()
}

/// Opens a pool on `url`. SQLite runs in WAL mode, syncing every commit, with a busy timeout and
/// foreign keys on;
/// PostgreSQL gets a bounded pool with a connect timeout and a 5 s statement timeout.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    Database::connect(options(url, Pooling::None)).await
}

/// Connects through a transaction-pooling PgBouncer: no statement cache (a prepared statement
/// lives on one server connection, and the pooler moves the client between them after each
/// transaction), and no session options at start-up (PgBouncer refuses them; its `connect_query`
/// sets the statement timeout, see `deploy/pgbouncer.ini`). The vendored sqlx-postgres keeps each
/// statement's PARSE and EXECUTE in one exchange in this mode (`vendor/README.md`).
pub async fn connect_pooled(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = options(url, Pooling::Transaction);
    options.max_connections(32);
    Database::connect(options).await
}

/// Like `connect`, but the first connection is only made when a statement needs it (a read
/// replica that is down at start-up must not stop the start).
pub(crate) async fn connect_lazy(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = options(url, Pooling::None);
    options.connect_lazy(true).min_connections(0);
    Database::connect(options).await
}

/// What sits between fandb and PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pooling {
    /// A session of fandb's own on each connection.
    None,
    /// A transaction pooler: nothing may outlive a transaction on a server connection.
    Transaction,
}

fn options(url: &str, pooling: Pooling) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        // A connection a burst opened closes 10 to 20 s after the burst (the pool looks every
        // `idle_timeout`), with its buffers, statement cache and, on SQLite, page cache: RSS comes
        // back down. Steady traffic keeps its connections.
        .idle_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        options
            .max_connections(8)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|sqlite| {
                // FULL: each commit syncs the WAL before it is acknowledged, so an acknowledged
                // write survives a power cut, and a disk that cannot take it fails the commit
                // instead of failing silently at write-back.
                sqlite
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
            })
            .map_sqlx_sqlite_pool_opts(|pool| {
                pool.after_release(|connection, _| Box::pin(discard_if_in_transaction(connection)))
            });
    } else {
        // A runaway statement is cut off by the database rather than holding a connection.
        options.max_connections(16).min_connections(1).map_sqlx_postgres_opts(move |postgres| match pooling {
            Pooling::None => postgres.options([("statement_timeout", "5s")]),
            Pooling::Transaction => postgres.statement_cache_capacity(0),
        });
    }
    options
}

/// Whether a connection coming back to the pool may be reused: not when it is still inside a
/// transaction. A COMMIT that fails (a full disk, an I/O error) leaves the transaction open, or
/// rolled back behind the driver's back so that the ROLLBACK sent on drop fails too; such a
/// connection, reused, would show its uncommitted rows to later reads, hold the write lock, and
/// nest later writes inside a transaction that never commits. It is closed instead, and the pool
/// opens a fresh one.
async fn discard_if_in_transaction(connection: &mut SqliteConnection) -> Result<bool, sea_orm::sqlx::Error> {
    // The ping queues behind the rollback the dropped transaction sent, so the depth read after
    // it is the settled one.
    connection.ping().await?;
    let reusable = !connection.is_in_transaction();
    if !reusable {
        tracing::warn!("a database connection was left inside a failed transaction: closing it");
    }
    Ok(reusable)
}

/// Applies every pending migration; on SQLite, then lets the planner refresh statistics that are
/// missing or stale (`PRAGMA optimize`, cheap when there is nothing to do).
pub(crate) async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        db.execute_unprepared("PRAGMA optimize").await?;
    }
    Ok(())
}
