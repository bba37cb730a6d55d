//! Live-count notices: every change to a petition's signature count or an event's RSVP count is
//! announced with its new value and version, and so is each update posted to a petition or moved
//! to another publication time (its id is both; subscribers then read the updates they have not
//! been sent, see `petition_updates::Feed`).
//!
//! On PostgreSQL a notice is a `NOTIFY` sent inside the changing transaction, so it is delivered at
//! commit, in commit order, to every server process listening on the database (`listen`). On
//! SQLite writes go through one process-wide gate, and the notice is published after the commit
//! while the gate is still held, so notices also arrive in commit order.
//!
//! A notice can still be missed: the `LISTEN` connection drops (notices sent meanwhile go nowhere),
//! or a subscriber falls so far behind that the hub drops notices it had not read. Either way the
//! counters every open subscription watches are read again, one query per kind for all of them, and
//! the values go out as one `Change::Current`; a subscriber sends a value only when its version is
//! newer than the last one it sent, so nothing repeats and nothing goes backwards.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use entity::{event, petition};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect, Statement,
};
use tokio::sync::{Mutex, MutexGuard, broadcast};

use super::DomainResult;

/// Ids per re-read statement: far below both databases' bound-parameter limits.
const IDS_PER_QUERY: usize = 5_000;

/// The PostgreSQL channel notices travel on.
pub const CHANNEL: &str = "fandb_counts";

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Counter {
    /// A petition's signatures.
    Petition,
    /// An event's RSVPs going.
    Event,
    /// A petition's updates: one was posted or its publication time changed. The value and version
    /// are its id, but subscribers look at neither: any notice makes them read their feed again.
    PetitionUpdates,
    /// Public records changed (a mutation, an import): the id is a mask of `records` kinds, the
    /// count and version are 0. Only the response cache looks at it (`http::response_cache`).
    Records,
}

/// A new value of a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Notice {
    pub(crate) counter: Counter,
    pub(crate) id: i64,
    pub(crate) count: i64,
    pub(crate) version: i64,
}

impl Notice {
    /// The `NOTIFY` payload: `p:ID:COUNT:VERSION`, `e:…` or `u:…`.
    pub(crate) fn to_payload(self) -> String {
        let kind = match self.counter {
            Counter::Petition => 'p',
            Counter::Event => 'e',
            Counter::PetitionUpdates => 'u',
            Counter::Records => 'r',
        };
        format!("{kind}:{}:{}:{}", self.id, self.count, self.version)
    }

    /// Reads a payload written by `to_payload`.
    pub(crate) fn from_payload(payload: &str) -> Option<Self> {
        let mut parts = payload.split(':');
        let counter = match parts.next()? {
            "p" => Counter::Petition,
            "e" => Counter::Event,
            "u" => Counter::PetitionUpdates,
            "r" => Counter::Records,
            _ => return None,
        };
        let id = parts.next()?.parse().ok()?;
        let count = parts.next()?.parse().ok()?;
        let version = parts.next()?.parse().ok()?;
        Some(Self { counter, id, count, version })
    }
}

/// The current values of watched counters, keyed by what they count.
pub(crate) type Current = HashMap<(Counter, i64), Notice>;

/// What subscribers receive.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// One counter moved.
    One(Notice),
    /// Watched counters as just read from the database, after notices may have been missed.
    Current(Arc<Current>),
}

impl Change {
    /// The value this change carries for (`counter`, `id`), if any.
    pub(crate) fn value_of(&self, counter: Counter, id: i64) -> Option<Notice> {
        match self {
            Self::One(notice) => (notice.counter == counter && notice.id == id).then_some(*notice),
            Self::Current(current) => current.get(&(counter, id)).copied(),
        }
    }
}

/// Publishes notices to this process's subscribers, and orders writes on SQLite.
pub(crate) struct Notifier {
    hub: broadcast::Sender<Change>,
    backend: DatabaseBackend,
    sqlite_gate: Mutex<()>,
    /// How many open subscriptions watch each counter.
    watched: std::sync::Mutex<HashMap<(Counter, i64), usize>>,
    /// Re-reads asked for so far (lagging subscribers ask).
    rereads_asked: AtomicU64,
    /// Held while re-reading; holds how many of the asked re-reads a finished one has answered.
    rereads_answered: Mutex<u64>,
}

/// An open subscription's claim on a counter: while it lives, re-reads include the counter.
pub(crate) struct Watching {
    notifier: Arc<Notifier>,
    key: (Counter, i64),
}

impl Drop for Watching {
    fn drop(&mut self) {
        let mut watched = self.notifier.watched_ids();
        if let Some(subscriptions) = watched.get_mut(&self.key) {
            *subscriptions -= 1;
            if *subscriptions == 0 {
                watched.remove(&self.key);
            }
        }
    }
}

/// Held while a counter changes; on SQLite it is the process-wide write gate.
pub(crate) struct WriteGuard<'a> {
    _gate: Option<MutexGuard<'a, ()>>,
}

impl Notifier {
    /// A notifier for the database behind `db`.
    pub(crate) fn new(db: &DatabaseConnection) -> Self {
        let (hub, _) = broadcast::channel(16_384);
        Self {
            hub,
            backend: db.get_database_backend(),
            sqlite_gate: Mutex::new(()),
            watched: std::sync::Mutex::new(HashMap::new()),
            rereads_asked: AtomicU64::new(0),
            rereads_answered: Mutex::new(0),
        }
    }

    /// Receives every change published from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.hub.subscribe()
    }

    /// Counts (`counter`, `id`) as watched until the returned claim is dropped; take it before
    /// reading the first value, so no re-read after that read leaves the counter out.
    pub(crate) fn watch(self: &Arc<Self>, counter: Counter, id: i64) -> Watching {
        *self.watched_ids().entry((counter, id)).or_insert(0) += 1;
        Watching { notifier: self.clone(), key: (counter, id) }
    }

    fn watched_ids(&self) -> std::sync::MutexGuard<'_, HashMap<(Counter, i64), usize>> {
        // The map stays consistent even if a holder panicked: every change to it is one statement.
        self.watched.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Hands a notice to this process's subscribers (for notices that arrive from PostgreSQL).
    pub(crate) fn publish_local(&self, notice: Notice) {
        // No subscriber is not an error.
        let _ = self.hub.send(Change::One(notice));
    }

    /// Reads every watched counter from `db` (one query per kind and 5,000 ids) and publishes the
    /// values. The `LISTEN` side calls it on its own connection once a new `LISTEN` is in place.
    pub(crate) async fn reread_on<C: ConnectionTrait>(&self, db: &C) -> DomainResult<()> {
        let keys: Vec<(Counter, i64)> = self.watched_ids().keys().copied().collect();
        if keys.is_empty() {
            return Ok(());
        }
        let ids_of = |kind| keys.iter().filter(|(counter, _)| *counter == kind).map(|(_, id)| *id).collect::<Vec<_>>();
        let mut current = Current::with_capacity(keys.len());
        for ids in ids_of(Counter::Petition).chunks(IDS_PER_QUERY) {
            let rows: Vec<(i64, i64, i64)> = petition::Entity::find()
                .select_only()
                .columns([petition::Column::Id, petition::Column::SignatureCount, petition::Column::CountVersion])
                .filter(petition::Column::Id.is_in(ids.iter().copied()))
                .into_tuple()
                .all(db)
                .await?;
            for (id, count, version) in rows {
                current.insert((Counter::Petition, id), Notice { counter: Counter::Petition, id, count, version });
            }
        }
        for ids in ids_of(Counter::Event).chunks(IDS_PER_QUERY) {
            let rows: Vec<(i64, i64, i64)> = event::Entity::find()
                .select_only()
                .columns([event::Column::Id, event::Column::GoingCount, event::Column::CountVersion])
                .filter(event::Column::Id.is_in(ids.iter().copied()))
                .into_tuple()
                .all(db)
                .await?;
            for (id, count, version) in rows {
                current.insert((Counter::Event, id), Notice { counter: Counter::Event, id, count, version });
            }
        }
        // Updates subscribers read their feeds again whatever the value, so there is nothing to read.
        for id in ids_of(Counter::PetitionUpdates) {
            let notice = Notice { counter: Counter::PetitionUpdates, id, count: 0, version: 0 };
            current.insert((Counter::PetitionUpdates, id), notice);
        }
        let _ = self.hub.send(Change::Current(Arc::new(current)));
        Ok(())
    }

    /// For a subscriber that lagged: re-reads every watched counter from `db` and publishes the
    /// values. Subscribers that lag together share one re-read: a re-read that began after a
    /// subscriber asked answers it.
    pub(crate) async fn reread(&self, db: &DatabaseConnection) -> DomainResult<()> {
        let asked = self.rereads_asked.fetch_add(1, Ordering::SeqCst) + 1;
        let mut answered = self.rereads_answered.lock().await;
        if *answered >= asked {
            return Ok(());
        }
        let answers = self.rereads_asked.load(Ordering::SeqCst);
        self.reread_on(db).await?;
        *answered = answers;
        Ok(())
    }

    /// To hold from before a counter's transaction begins until after `committed`.
    pub(crate) async fn write_gate(&self) -> WriteGuard<'_> {
        let gate = match self.backend {
            DatabaseBackend::Sqlite => Some(self.sqlite_gate.lock().await),
            _ => None,
        };
        WriteGuard { _gate: gate }
    }

    /// Inside the changing transaction: on PostgreSQL, queues the `NOTIFY` for commit.
    pub(crate) async fn in_transaction<C: ConnectionTrait>(&self, txn: &C, notice: Notice) -> DomainResult<()> {
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
    pub(crate) fn committed(&self, notice: Option<Notice>) {
        if let Some(notice) = notice
            && self.backend != DatabaseBackend::Postgres
        {
            self.publish_local(notice);
        }
    }

    /// A change user `user_id` makes to their own rows that may move a counter (an RSVP, a
    /// signature): one write transaction under the write gate with the user's row held
    /// (`write::hold`) and then row `id` of `E` locked (see `write::lock`), in the order
    /// `deleteAccount` takes them, so the account cannot be deleted halfway through and a change
    /// that comes after the deletion is `Unauthenticated` rather than a foreign-key failure.
    /// `work` returns its value and the notice of the counter it moved, if any, which is queued in
    /// the transaction and published once it is committed.
    pub(crate) async fn counted<E, T>(
        &self,
        db: &DatabaseConnection,
        user_id: i64,
        id: i64,
        what: &'static str,
        work: impl AsyncFnOnce(&DatabaseTransaction, E::Model) -> DomainResult<(T, Option<Notice>)>,
    ) -> DomainResult<T>
    where
        E: EntityTrait,
        <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
    {
        let gate = self.write_gate().await;
        let (value, notice) = super::write::transaction(db, async |txn| {
            super::write::hold(txn, user_id).await?;
            let row = super::write::lock::<E, _>(txn, id, what).await?;
            let (value, notice) = work(txn, row).await?;
            if let Some(notice) = notice {
                self.in_transaction(txn, notice).await?;
            }
            Ok((value, notice))
        })
        .await?;
        self.committed(notice);
        drop(gate);
        Ok(value)
    }
}

/// Every kind of public record, as a `Counter::Records` mask: the response cache drops every
/// answer on any such notice, so the mask says what changed for the log and for finer use later.
pub(crate) const ALL_RECORDS: i64 = -1;

impl Notifier {
    /// After a change to public records has committed: tells this process's subscribers at once
    /// (so this process's next read sees it) and, on PostgreSQL, every other process too.
    pub(crate) async fn records_changed(&self, db: &DatabaseConnection, kinds: i64) {
        let notice = Notice { counter: Counter::Records, id: kinds, count: 0, version: 0 };
        self.publish_local(notice);
        if self.backend == DatabaseBackend::Postgres
            && let Err(error) = announce(db, notice).await
        {
            // The other processes' caches then keep answers until their next notice or time
            // boundary: loud, since that is what an operator must know.
            tracing::error!(error = %error, "could not announce a change to other processes");
        }
    }
}

/// Tells every process listening on a PostgreSQL database that public records changed (for
/// writers that have no notifier, such as `fandb import`); nothing on SQLite.
pub async fn announce_records_changed(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    announce(db, Notice { counter: Counter::Records, id: ALL_RECORDS, count: 0, version: 0 }).await
}

async fn announce(db: &DatabaseConnection, notice: Notice) -> Result<(), sea_orm::DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), notice.to_payload().into()],
    ))
    .await
    .map(|_| ())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::panic, reason = "a failing test should fail loudly")]
mod tests {
    use sea_orm::{ActiveModelTrait, ConnectOptions, Database, Set};
    use tokio::sync::broadcast::error::TryRecvError;

    use super::*;

    async fn petition(db: &DatabaseConnection, slug: &str) -> i64 {
        let now = chrono::Utc::now();
        let row = petition::ActiveModel {
            slug: Set(slug.to_owned()),
            title: Set(slug.to_owned()),
            body: Set("Please.".to_owned()),
            target: Set("A studio".to_owned()),
            goal: Set(100),
            status: Set(entity::enums::PetitionStatus::Open),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        row.insert(db).await.unwrap().id
    }

    /// A migrated in-memory SQLite database on one connection (each connection would be its own).
    async fn migrated_memory_db() -> DatabaseConnection {
        let mut options = ConnectOptions::new("sqlite::memory:");
        options.max_connections(1).sqlx_logging(false);
        let db = Database::connect(options).await.unwrap();
        crate::infra::db::migrate(&db).await.unwrap();
        db
    }

    #[tokio::test]
    async fn a_reread_publishes_the_current_value_of_every_watched_counter_and_only_those() {
        let db = migrated_memory_db().await;
        let (watched, forgotten) = (petition(&db, "watched").await, petition(&db, "forgotten").await);
        let notifier = Arc::new(Notifier::new(&db));
        let mut receiver = notifier.subscribe();
        let first = notifier.watch(Counter::Petition, watched);
        let second = notifier.watch(Counter::Petition, watched);
        drop(notifier.watch(Counter::Petition, forgotten));
        db.execute_unprepared(&format!(
            "UPDATE petitions SET signature_count = 7, count_version = 3 WHERE id = {watched}"
        ))
        .await
        .unwrap();

        notifier.reread(&db).await.unwrap();
        let Change::Current(current) = receiver.try_recv().unwrap() else { panic!("expected a re-read") };
        assert_eq!(current.len(), 1, "only counters a subscription still watches are read");
        let expected = Notice { counter: Counter::Petition, id: watched, count: 7, version: 3 };
        assert_eq!(Change::Current(current).value_of(Counter::Petition, watched), Some(expected));

        drop(first);
        notifier.reread(&db).await.unwrap();
        assert!(
            matches!(receiver.try_recv(), Ok(Change::Current(current)) if current.len() == 1),
            "still watched once"
        );
        drop(second);
        notifier.reread(&db).await.unwrap();
        assert!(matches!(receiver.try_recv(), Err(TryRecvError::Empty)), "nothing watched, nothing read");
    }

    #[tokio::test]
    async fn a_reread_names_each_watched_petition_for_its_updates() {
        let db = migrated_memory_db().await;
        let (watched, forgotten) = (petition(&db, "watched").await, petition(&db, "forgotten").await);
        let notifier = Arc::new(Notifier::new(&db));
        let mut receiver = notifier.subscribe();
        let _watching = notifier.watch(Counter::PetitionUpdates, watched);
        drop(notifier.watch(Counter::PetitionUpdates, forgotten));

        notifier.reread(&db).await.unwrap();
        let Change::Current(current) = receiver.try_recv().unwrap() else { panic!("expected a re-read") };
        let change = Change::Current(current);
        assert!(change.value_of(Counter::PetitionUpdates, watched).is_some(), "even with no update yet");
        assert!(change.value_of(Counter::PetitionUpdates, forgotten).is_none());
        let notice = Notice { counter: Counter::PetitionUpdates, id: watched, count: 12, version: 12 };
        assert_eq!(Notice::from_payload(&notice.to_payload()), Some(notice));
    }
}
