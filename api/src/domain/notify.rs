//! Live-count notices: changes to a petition's signature count or an event's RSVP count are
//! announced with the current value and version, and so is each update posted to a petition or
//! moved to another publication time (its id is both; subscribers then read the updates they have
//! not been sent, see `petition_updates::Feed`).
//!
//! Counter notices are coalesced: a committed change only marks its counter as moved, and one task
//! per process (`Notifier::start`) reads the moved counters in one statement per kind and sends
//! their current values, at most once every `COALESCE` per counter. On PostgreSQL they go out as
//! one `NOTIFY` statement to every server process listening on the database (`listen`): one
//! notifying commit per process and interval rather than one per signer, since PostgreSQL runs
//! notifying commits one at a time. On SQLite they are published in the process. Each value is
//! read in one statement, so its count and version belong together, and a later read never has a
//! lower version. Updates notices still travel inside their transaction.
//!
//! A notice can still be missed: the `LISTEN` connection drops (notices sent meanwhile go nowhere),
//! or a subscriber falls so far behind that the hub drops notices it had not read. Either way the
//! counters every open subscription watches are read again, one query per kind for all of them, and
//! the values go out as one `Change::Current`; a subscriber sends a value only when its version is
//! newer than the last one it sent, so nothing repeats and nothing goes backwards.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, EntityTrait, Statement, Value,
};
use tokio::sync::{Mutex, MutexGuard, Notify, broadcast};

pub(crate) use super::counters::Counter;
use super::counters::{self, Slotted};
use super::{DomainResult, write};
use crate::infra::db::as_background;

/// How often at most one process sends a notice for one counter.
const COALESCE: Duration = Duration::from_millis(50);

/// How often each process folds counter slots back into their rows (see `counters`).
const FOLD_EVERY: Duration = Duration::from_secs(1);

/// Every how many fold rounds a process also folds the slots any other process left behind (one
/// killed before its next fold): the stored count equals the rows within this many seconds of
/// quiescence even when the process that moved it never comes back.
const SWEEP_EVERY_ROUNDS: u32 = 10;

/// How often the background tasks look whether their notifier is still there.
const ALIVE_CHECK: Duration = Duration::from_secs(1);

/// Notices per `NOTIFY` statement: far below PostgreSQL's bound-parameter limit.
const NOTICES_PER_STATEMENT: usize = 1_000;

/// The PostgreSQL channel notices travel on.
pub const CHANNEL: &str = "fandb_counts";

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
    /// Counters changed by committed transactions of this process, not yet announced.
    moved: std::sync::Mutex<HashSet<(Counter, i64)>>,
    /// Wakes the task that announces them.
    wake: Arc<Notify>,
    /// Counters changed by committed transactions of this process, not folded yet.
    unfolded: std::sync::Mutex<HashSet<(Counter, i64)>>,
    /// The tables (`tables::changed_by`) of the counts this process moved since the response cache
    /// last looked: it drops their answers without waiting for the announcement, which needs a
    /// pooled connection and may queue behind the very writers that moved them.
    moved_tables: AtomicU64,
}

/// How a counted change holds the petition's or event's row (on PostgreSQL; SQLite's write gate
/// serializes every change anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hold {
    /// `FOR SHARE`: many changes at once, none while the row itself changes (its status, say) or
    /// its slots are folded.
    Share,
    /// `FOR UPDATE`: one change at a time, for one that reads the count it checks (a capacity).
    Exclusive,
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
            moved: std::sync::Mutex::new(HashSet::new()),
            wake: Arc::new(Notify::new()),
            unfolded: std::sync::Mutex::new(HashSet::new()),
            moved_tables: AtomicU64::new(0),
        }
    }

    /// Starts this process's background work on `db`: folds the slots any process left behind
    /// (one that stopped before folding what it moved), then announces moved counters (`moved`)
    /// and folds their slots from then on. Both tasks end once the notifier is gone.
    pub(crate) async fn start(self: &Arc<Self>, db: &DatabaseConnection) {
        self.fold_left_behind(db).await;
        tokio::spawn(as_background(announce(Arc::downgrade(self), self.wake.clone(), db.clone())));
        tokio::spawn(as_background(fold(Arc::downgrade(self), db.clone())));
    }

    /// Folds the slots of every counter, those any process left behind included (one that stopped
    /// before folding what it moved); a failure is logged and left for the next sweep.
    async fn fold_left_behind(&self, db: &DatabaseConnection) {
        let gate = self.write_gate().await;
        if let Err(error) = counters::fold_everything(db).await {
            tracing::warn!(error = %error, "counter slots: folding what was left behind failed, trying again later");
        }
        drop(gate);
    }

    /// After a commit that changed (`counter`, `id`): its current value goes out within `COALESCE`,
    /// and its slots are folded within `FOLD_EVERY`.
    pub(crate) fn moved(&self, counter: Counter, id: i64) {
        self.moved_tables.fetch_or(super::tables::changed_by(counter, id), Ordering::SeqCst);
        self.moved_ids().insert((counter, id));
        self.unfolded_ids().insert((counter, id));
        self.wake.notify_one();
    }

    fn moved_ids(&self) -> std::sync::MutexGuard<'_, HashSet<(Counter, i64)>> {
        // Every change to the set is one statement, so it stays whole even if a holder panicked.
        self.moved.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn unfolded_ids(&self) -> std::sync::MutexGuard<'_, HashSet<(Counter, i64)>> {
        // As `moved_ids`.
        self.unfolded.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Folds the slots of the counters this process moved since the last call; put back to be
    /// tried again when one fails. Statements run only when something moved.
    async fn fold_moved(&self, db: &DatabaseConnection) -> DomainResult<()> {
        let unfolded: Vec<(Counter, i64)> = self.unfolded_ids().drain().collect();
        if unfolded.is_empty() {
            return Ok(());
        }
        let gate = self.write_gate().await;
        for (index, (counter, id)) in unfolded.iter().enumerate() {
            let Some(slotted) = counters::of(*counter) else { continue };
            if let Err(error) = slotted.fold(db, *id).await {
                self.unfolded_ids().extend(unfolded[index..].iter().copied());
                return Err(error);
            }
        }
        drop(gate);
        Ok(())
    }

    /// Reads the counters moved since the last call and sends their values: one `NOTIFY`
    /// statement on PostgreSQL, to the hub on SQLite. Put back to be tried again when it fails.
    async fn announce_moved(&self, db: &DatabaseConnection) -> DomainResult<()> {
        let moved: Vec<(Counter, i64)> = self.moved_ids().drain().collect();
        if moved.is_empty() {
            return Ok(());
        }
        let sent = self.send_current(db, &moved).await;
        if sent.is_err() {
            self.moved_ids().extend(moved);
        }
        sent
    }

    async fn send_current(&self, db: &DatabaseConnection, moved: &[(Counter, i64)]) -> DomainResult<()> {
        let mut notices = Vec::with_capacity(moved.len());
        for slotted in [counters::SIGNATURES, counters::GOING] {
            let ids: Vec<i64> =
                moved.iter().filter(|(counter, _)| *counter == slotted.counter).map(|(_, id)| *id).collect();
            for (id, (count, version)) in slotted.totals(db, &ids).await? {
                notices.push(Notice { counter: slotted.counter, id, count, version });
            }
        }
        if self.backend != DatabaseBackend::Postgres {
            for notice in notices {
                self.publish_local(notice);
            }
            return Ok(());
        }
        for chunk in notices.chunks(NOTICES_PER_STATEMENT) {
            let rows = (2..chunk.len() + 2).map(|number| format!("(${number})")).collect::<Vec<_>>().join(", ");
            let mut values: Vec<Value> = vec![CHANNEL.into()];
            values.extend(chunk.iter().map(|notice| Value::from(notice.to_payload())));
            db.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                format!("SELECT pg_notify($1, payload) FROM (VALUES {rows}) AS notices (payload)"),
                values,
            ))
            .await?;
        }
        Ok(())
    }

    /// Receives every change published from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.hub.subscribe()
    }

    /// The tables of the counts this process moved since the last call (see `moved_tables`).
    pub(crate) fn take_moved_tables(&self) -> u64 {
        self.moved_tables.swap(0, Ordering::SeqCst)
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
        for slotted in [counters::SIGNATURES, counters::GOING] {
            for (id, (count, version)) in slotted.totals(db, &ids_of(slotted.counter)).await? {
                current.insert((slotted.counter, id), Notice { counter: slotted.counter, id, count, version });
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
    /// (`write::hold`) and then row `id` of `E` held as `hold` says (see `write::lock`), in the
    /// order `deleteAccount` takes them, so the account cannot be deleted halfway through and a
    /// change that comes after the deletion is `Unauthenticated` rather than a foreign-key failure.
    /// `work` returns its value and how much it moved the counter `slotted` of row `id`, which is
    /// added to one of the row's slots in the same transaction and announced once it is committed.
    pub(crate) async fn counted<E, T>(
        &self,
        db: &DatabaseConnection,
        user_id: i64,
        (slotted, id): (Slotted, i64),
        (what, hold): (&'static str, Hold),
        work: impl AsyncFnOnce(&DatabaseTransaction, E::Model) -> DomainResult<(T, i64)>,
    ) -> DomainResult<T>
    where
        E: EntityTrait,
        <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
    {
        let gate = self.write_gate().await;
        let (value, delta) = write::transaction(db, async |txn| {
            write::hold(txn, user_id).await?;
            let row = match hold {
                Hold::Share => write::share::<E, _>(txn, id, what).await?,
                Hold::Exclusive => write::lock::<E, _>(txn, id, what).await?,
            };
            let (value, delta) = work(txn, row).await?;
            if delta != 0 {
                slotted.add(txn, id, delta).await?;
            }
            Ok((value, delta))
        })
        .await?;
        drop(gate);
        if delta != 0 {
            self.moved(slotted.counter, id);
        }
        Ok(value)
    }
}

/// Announces moved counters until the notifier is gone: right away after a quiet spell, then at
/// most once every `COALESCE`, however many changes commit meanwhile.
async fn announce(notifier: Weak<Notifier>, wake: Arc<Notify>, db: DatabaseConnection) {
    loop {
        // A permit left by `moved` while announcing makes this return at once.
        let woken = tokio::time::timeout(ALIVE_CHECK, wake.notified()).await.is_ok();
        let Some(live) = notifier.upgrade() else { return };
        if !woken {
            continue;
        }
        if let Err(error) = live.announce_moved(&db).await {
            tracing::warn!(error = %error, "counter notices: reading the moved counters failed, trying again");
            live.wake.notify_one();
        }
        drop(live);
        tokio::time::sleep(COALESCE).await;
    }
}

/// Folds the slots of the counters this process moved, every `FOLD_EVERY`, and those of every
/// counter every `SWEEP_EVERY_ROUNDS` rounds, until the notifier is gone. Each fold locks its row,
/// so several processes folding one row are safe (see `Slotted::fold`).
async fn fold(notifier: Weak<Notifier>, db: DatabaseConnection) {
    for round in 1u32.. {
        tokio::time::sleep(FOLD_EVERY).await;
        let Some(live) = notifier.upgrade() else { return };
        if let Err(error) = live.fold_moved(&db).await {
            tracing::warn!(error = %error, "counter slots: folding failed, trying again later");
        }
        if round.is_multiple_of(SWEEP_EVERY_ROUNDS) {
            live.fold_left_behind(&db).await;
        }
    }
}

/// Every kind of public record, as a `Counter::Records` mask: the response cache drops every
/// answer on any such notice, so the mask says what changed for the log and for finer use later.
pub(crate) const ALL_RECORDS: i64 = -1;

impl Notifier {
    /// After a change to public records has committed: tells this process's subscribers at once
    /// (so this process's next read sees it) and, on PostgreSQL, every other process too, from a
    /// task of its own: the answer to the mutation never waits for a connection (with the database
    /// gone, it would wait out the pool's timeout instead of answering `SERVICE_UNAVAILABLE`).
    pub(crate) fn records_changed(&self, db: &DatabaseConnection, kinds: i64) {
        let notice = Notice { counter: Counter::Records, id: kinds, count: 0, version: 0 };
        self.publish_local(notice);
        if self.backend == DatabaseBackend::Postgres {
            let db = db.clone();
            tokio::spawn(as_background(async move {
                if let Err(error) = announce_notice(&db, notice).await {
                    // The other processes' caches then keep answers until their next notice or
                    // time boundary: loud, since that is what an operator must know.
                    tracing::error!(error = %error, "could not announce a change to other processes");
                }
            }));
        }
    }
}

/// Tells every process listening on a PostgreSQL database that public records changed (for
/// writers that have no notifier, such as `fandb import`); nothing on SQLite.
pub async fn announce_records_changed(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    announce_notice(db, Notice { counter: Counter::Records, id: ALL_RECORDS, count: 0, version: 0 }).await
}

async fn announce_notice(db: &DatabaseConnection, notice: Notice) -> Result<(), sea_orm::DbErr> {
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
    use entity::petition;
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
