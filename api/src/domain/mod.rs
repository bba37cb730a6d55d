//! The rules of fandb: what a list shows, what a filter means, what a change may do. Free of GraphQL
//! and HTTP, so the same rules serve the API, the command line and the seed loader.

pub mod account_mail;
pub(crate) mod accounts;
pub mod audit;
pub(crate) mod counters;
pub mod enrollment;
mod error;
pub(crate) mod events;
pub(crate) mod expensive;
pub mod films;
pub(crate) mod mailbox;
pub mod notify;
pub(crate) mod paging;
pub mod people;
pub(crate) mod petition_updates;
pub(crate) mod petitions;
pub(crate) mod quotes;
pub(crate) mod row_counts;
pub(crate) mod search;
pub mod sessions;
pub(crate) mod sources;
pub(crate) mod stats;
pub(crate) mod tables;
pub(crate) mod text;
pub(crate) mod users;
pub mod validate;
mod viewer;
pub(crate) mod where_filter;
pub mod write;

// The error and the viewer are named `domain::DomainError` and `domain::Viewer`, their
// modules kept private so that each has one name.
pub use error::{DomainError, DomainResult};
pub(crate) use viewer::Viewer;

use chrono::{DateTime, SubsecRound, Utc};

/// The current time at the precision both databases keep (microseconds), so a value read back
/// compares equal to the one written. Inside `frozen` it is that instant, and the read is noted.
pub(crate) fn now() -> DateTime<Utc> {
    FROZEN.try_with(Frozen::read).unwrap_or_else(|_| Utc::now().trunc_subsecs(6))
}

/// One instant that `now` returns throughout a scope, and whether anything asked for it.
#[derive(Debug)]
pub(crate) struct Frozen {
    at: DateTime<Utc>,
    read: std::sync::atomic::AtomicBool,
}

impl Frozen {
    fn read(&self) -> DateTime<Utc> {
        self.read.store(true, std::sync::atomic::Ordering::Relaxed);
        self.at
    }
}

tokio::task_local! {
    static FROZEN: Frozen;
}

/// Runs `work` with `now` frozen at the current time (the read planner plans a root field so, to
/// know which bound values are the time; see `graphql::plan::cache`).
pub(crate) async fn frozen<F: std::future::Future>(work: F) -> F::Output {
    let at = Utc::now().trunc_subsecs(6);
    FROZEN.scope(Frozen { at, read: std::sync::atomic::AtomicBool::new(false) }, work).await
}

/// The frozen instant of the current scope and whether `now` was read in it so far, if frozen.
pub(crate) fn frozen_now() -> Option<(DateTime<Utc>, bool)> {
    FROZEN.try_with(|frozen| (frozen.at, frozen.read.load(std::sync::atomic::Ordering::Relaxed))).ok()
}

/// Begins a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: it takes the write lock
/// at once (waiting out the busy timeout), so a transaction that reads before it writes never fails
/// because another writer committed in between.
/// Inside a transaction (an import) it is a savepoint.
pub(crate) async fn begin_write<C: sea_orm::TransactionTrait<Transaction = sea_orm::DatabaseTransaction>>(
    db: &C,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// How many times a write is tried again after the database aborted it to break a deadlock or a
/// serialization conflict.
const RETRIES: u32 = 3;

/// Runs `write` (one whole transaction) and runs it again, up to `RETRIES` times, when the database
/// aborted it to break a deadlock or a serialization conflict; such an abort rolled everything back,
/// so the retry starts from scratch. Past the retries the client is told to try again shortly.
pub(crate) async fn retrying<T, F, Fut>(mut write: F) -> DomainResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = DomainResult<T>>,
{
    let mut attempt = 0;
    loop {
        match write().await {
            Err(DomainError::Contention) if attempt < RETRIES => {
                attempt += 1;
                // A short random pause, so the transactions that collided do not collide again.
                let pause = u64::from(attempt) * 5 + fastrand::u64(0..10);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            Err(DomainError::Contention) => return Err(DomainError::Unavailable),
            other => return other,
        }
    }
}
