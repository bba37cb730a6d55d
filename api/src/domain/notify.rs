//! Live-count notices: every change to a petition's signature count or an event's RSVP count is
//! announced with its new value and version.
//!
//! On PostgreSQL a notice is a `NOTIFY` sent inside the changing transaction, so it is delivered at
//! commit, in commit order, to every server process listening on the database (`listen`). On
//! SQLite writes go through one process-wide gate, and the notice is published after the commit
//! while the gate is still held, so notices also arrive in commit order.

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use tokio::sync::{Mutex, MutexGuard, broadcast};

use super::DomainResult;

/// The PostgreSQL channel notices travel on.
pub const CHANNEL: &str = "fandb_counts";

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// A petition's signatures.
    Petition,
    /// An event's RSVPs going.
    Event,
}

/// A new value of a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    pub counter: Counter,
    pub id: i64,
    pub count: i64,
    pub version: i64,
}

impl Notice {
    /// The `NOTIFY` payload: `p:ID:COUNT:VERSION` or `e:…`.
    pub fn to_payload(self) -> String {
        let kind = match self.counter {
            Counter::Petition => 'p',
            Counter::Event => 'e',
        };
        format!("{kind}:{}:{}:{}", self.id, self.count, self.version)
    }

    /// Reads a payload written by `to_payload`.
    pub fn from_payload(payload: &str) -> Option<Self> {
        let mut parts = payload.split(':');
        let counter = match parts.next()? {
            "p" => Counter::Petition,
            "e" => Counter::Event,
            _ => return None,
        };
        let id = parts.next()?.parse().ok()?;
        let count = parts.next()?.parse().ok()?;
        let version = parts.next()?.parse().ok()?;
        Some(Self { counter, id, count, version })
    }
}

/// Publishes notices to this process's subscribers, and orders writes on SQLite.
pub struct Notifier {
    hub: broadcast::Sender<Notice>,
    backend: DatabaseBackend,
    sqlite_gate: Mutex<()>,
}

/// Held while a counter changes; on SQLite it is the process-wide write gate.
pub struct WriteGuard<'a> {
    _gate: Option<MutexGuard<'a, ()>>,
}

impl Notifier {
    /// A notifier for the database behind `db`.
    pub fn new(db: &DatabaseConnection) -> Self {
        let (hub, _) = broadcast::channel(16_384);
        Self { hub, backend: db.get_database_backend(), sqlite_gate: Mutex::new(()) }
    }

    /// Receives every notice published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.hub.subscribe()
    }

    /// Hands a notice to this process's subscribers (for notices that arrive from PostgreSQL).
    pub fn publish_local(&self, notice: Notice) {
        // No subscriber is not an error.
        let _ = self.hub.send(notice);
    }

    /// To hold from before a counter's transaction begins until after `committed`.
    pub async fn write_gate(&self) -> WriteGuard<'_> {
        let gate = match self.backend {
            DatabaseBackend::Sqlite => Some(self.sqlite_gate.lock().await),
            _ => None,
        };
        WriteGuard { _gate: gate }
    }

    /// Inside the changing transaction: on PostgreSQL, queues the `NOTIFY` for commit.
    pub async fn in_transaction<C: ConnectionTrait>(&self, txn: &C, notice: Notice) -> DomainResult<()> {
        if self.backend == DatabaseBackend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), notice.to_payload().into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// After the commit: on SQLite, publishes the notice (PostgreSQL delivers its own).
    pub fn committed(&self, notice: Option<Notice>) {
        if let Some(notice) = notice
            && self.backend != DatabaseBackend::Postgres
        {
            self.publish_local(notice);
        }
    }
}
