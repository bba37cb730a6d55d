//! Connecting to SQLite or PostgreSQL with the pool settings each needs, and migrating.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

/// Opens a pool on `url`. SQLite runs in WAL mode with a busy timeout and foreign keys on;
/// PostgreSQL gets a bounded pool with a connect timeout and a 5 s statement timeout.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .idle_timeout(Duration::from_secs(300));
    if url.starts_with("sqlite:") {
        options.max_connections(8).min_connections(1).map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    } else {
        // A runaway statement is cut off by the database rather than holding a connection.
        options
            .max_connections(16)
            .min_connections(1)
            .map_sqlx_postgres_opts(|postgres| postgres.options([("statement_timeout", "5s")]));
    }
    Database::connect(options).await
}

/// Applies every pending migration; on SQLite, then lets the planner refresh statistics that are
/// missing or stale (`PRAGMA optimize`, cheap when there is nothing to do).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        db.execute_unprepared("PRAGMA optimize").await?;
    }
    Ok(())
}
