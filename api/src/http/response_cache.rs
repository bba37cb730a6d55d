//! The response cache: the answers to anonymous queries, by document, operation name and
//! variables, kept in memory and handed out again until something they may have read changes.
//!
//! What is kept: the body of an answer with no error to a query (never a mutation or a
//! subscription) by a request with no viewer, read on the primary through the read planner (see
//! `graphql::execute`). Nothing in such an answer depends on who asks, so one answer serves every
//! anonymous client; a request with credentials never reads or fills the cache.
//!
//! When it goes: every change to public data is announced on the notifier's hub (`notify`), by
//! every process on the database (PostgreSQL `NOTIFY`, heard by `listen`), and the cache drops
//! the answers that read a table the notice says changed: each answer keeps the tables its planned
//! statements named (`domain::tables`; every table when a root field was not planned), a record
//! change touches every table, a moved count only its own. It reads the hub itself on each
//! lookup and store, so a change
//! this process made is seen by its very next request, and one another process made as soon as
//! its notice arrives (the invalidation latency: the `NOTIFY` round trip, a few milliseconds). A
//! notice that may have been missed (a lagging hub, a `LISTEN` connection lost and back) drops
//! everything too. Signature and RSVP counts move many times a second during a campaign hour:
//! their notices drop the answers at most once per `COUNTER_WINDOW`, so a count is at most that
//! much older than the database, plus the latency.
//!
//! Time moves visibility too: a scheduled petition update becomes visible at its publication time,
//! a petition closes at its closing time, an event starts and ends. Every answer is dropped at the
//! next such moment after the earliest read it might hold (`next_boundary`).
//!
//! A read that began before a change and ends after it holds the old data: each lookup hands out
//! a ticket with the cache's generation, every drop moves the generation on and marks the tables it
//! covered with it, and an answer that read a table marked after its ticket is not kept.
//!
//! One read per key at a time: a request for a key being read waits for that read's answer
//! instead of reading too (when a count moves, the hundreds of clients polling it wait for one
//! read rather than each running its own), unless a drop came since that read began; it then
//! reads once the read under way has ended. Reads of one key thus end in the order they began,
//! so an answer kept never holds a count older than one an earlier answer gave a client.
//!
//! A request sent again byte for byte (the same `GET` query string or `POST` body, with no
//! viewer) is answered before its JSON is parsed: the cache remembers which key the bytes stood
//! for once the request went the whole way (`remember_sent`), and with it the units of its cost,
//! which the hit still charges. A document sent by hash alone is remembered only when the
//! trusted-documents manifest holds it.
//!
//! The cache is bounded by `FANDB_RESPONSE_CACHE_BYTES` (bodies, keys and bookkeeping); the least
//! recently used answers go first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use async_graphql::Variables;
use chrono::{DateTime, Utc};
use entity::{event, petition, petition_update};
use lru::LruCache;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::broadcast::{self, error::TryRecvError};
use tokio::sync::watch;

use crate::domain::notify::{Change, Counter as Kind, Notifier};
use crate::domain::tables;

/// The least time between two drops caused by count notices alone.
pub(crate) const COUNTER_WINDOW: Duration = Duration::from_millis(50);
/// What an answer costs beside its key and body: the map's entry and the bookkeeping.
const ENTRY_OVERHEAD: usize = 160;
/// The largest share of the bound one answer may take.
const LARGEST_SHARE: usize = 8;

/// The cache's counters in `/metrics`.
#[derive(Debug, Clone, Default)]
pub(crate) struct CacheCounters {
    hits: Counter,
    misses: Counter,
    invalidations: Counter,
}

impl CacheCounters {
    /// Registers `fandb_response_cache_{hits,misses,invalidations}_total`.
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "response_cache_hits",
            "Anonymous queries answered from the response cache",
            self.hits.clone(),
        );
        registry.register(
            "response_cache_misses",
            "Anonymous queries the response cache could not answer, run against the database",
            self.misses.clone(),
        );
        registry.register(
            "response_cache_invalidations",
            "Times the response cache dropped its answers (a change notice, a missed notice, a time boundary)",
            self.invalidations.clone(),
        );
    }
}

/// A kept answer.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    /// The serialized GraphQL response.
    pub(crate) body: Bytes,
    /// The SHA-256 of `body` (hex), which its entity tag is made from.
    pub(crate) digest: Arc<str>,
    /// The executed operation's name, for the metrics of a hit.
    pub(crate) operation: Option<Arc<str>>,
    /// The tables the answer was read from (`domain::tables`): a change to any other leaves it.
    pub(crate) tables: u64,
    /// The number of the ticket its read began with (0 until kept).
    pub(crate) ticket: u64,
}

/// How a request was sent: a `GET`'s query string, or a `POST`'s body. Only a `GET` answer may
/// also be kept by shared caches (`http::graphql`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SentBy {
    Get,
    Post,
}

/// What a request sent before stands for: the key of its answer, and the units of its cost its
/// client is charged beyond the first (`cost::units_beyond_plain`).
#[derive(Debug, Clone)]
struct Alias {
    key: Arc<str>,
    units: u32,
}

/// The requests, as sent, whose answers have keys: a request sent again byte for byte is answered
/// without parsing its JSON or building its key. Bounded apart from the answers, at an eighth of
/// the cache's bound; the least recently used go first.
struct SentRequests {
    by_get: LruCache<Bytes, Alias>,
    by_post: LruCache<Bytes, Alias>,
    bytes: usize,
}

impl SentRequests {
    fn of(&mut self, by: SentBy) -> &mut LruCache<Bytes, Alias> {
        match by {
            SentBy::Get => &mut self.by_get,
            SentBy::Post => &mut self.by_post,
        }
    }
}

/// What a miss must bring back to `store` its answer.
#[derive(Debug, Clone, Copy)]
struct Ticket {
    generation: u64,
    /// Handed out in lookup order: a kept answer is replaced only by one whose read began later.
    number: u64,
    /// When the read began: the earliest moment its answer may reflect.
    started: DateTime<Utc>,
}

/// What a lookup found: a kept answer, a read of the same key under way to wait for, or the
/// turn to read it (and to `store` the answer, or drop the `Lead` to let the waiters run).
pub(crate) enum Lookup<'a> {
    Hit(Cached),
    Follow(Follow),
    Lead(Lead<'a>),
}

/// A read of one key under way in this process: requests for the same key wait for its answer
/// instead of reading too, while no drop came since it began. Reads of one key run one after
/// the other, so a later read never ends before an earlier one and an older count never replaces
/// a newer one another client saw.
struct Flight {
    /// The number of its ticket.
    number: u64,
    /// The generation it began in: requests of the same generation wait for it.
    generation: u64,
    /// Whether its read may have begun: until then, requests of any generation wait for it (it
    /// reads after they came), so at most two reads of one key are ever under way or waiting.
    reading: Arc<AtomicBool>,
    answer: watch::Receiver<Option<Cached>>,
}

/// A request waiting for another request's read of the same key.
pub(crate) struct Follow {
    answer: watch::Receiver<Option<Cached>>,
}

impl Follow {
    /// The answer the read kept or would have kept; `None` when it gave none (an error, a
    /// dropped connection, or past `wait`): the request then runs on its own, keeping nothing.
    pub(crate) async fn answer(mut self, wait: Duration) -> Option<Cached> {
        let answered = self.answer.wait_for(Option::is_some);
        tokio::time::timeout(wait, answered).await.ok()?.ok().and_then(|answer| answer.clone())
    }
}

/// The turn of a request to read a key: its ticket, and the waiters it answers. Dropped without
/// `store`, it tells the waiters to run on their own.
pub(crate) struct Lead<'a> {
    cache: &'a ResponseCache,
    key: String,
    ticket: Ticket,
    answer: watch::Sender<Option<Cached>>,
    /// The read of the same key this one comes after, when one was under way.
    before: Option<watch::Receiver<Option<Cached>>>,
    /// Set once this one may read (see `Flight::reading`).
    reading: Arc<AtomicBool>,
}

impl Lead<'_> {
    /// Waits (at most `wait`) for the read of the same key that began before this one to end,
    /// so that this one reads later.
    pub(crate) async fn wait_turn(&mut self, wait: Duration) {
        if let Some(mut before) = self.before.take() {
            let _ = tokio::time::timeout(wait, before.wait_for(Option::is_some)).await;
        }
        self.reading.store(true, Ordering::SeqCst);
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        let mut inner = self.cache.lock();
        if inner.flights.get(&self.key).is_some_and(|flight| flight.number == self.ticket.number) {
            inner.flights.remove(&self.key);
        }
    }
}

/// The next moment time changes what is visible, as read after `from`.
#[derive(Debug, Clone, Copy)]
struct Boundary {
    from: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
}

struct Inner {
    entries: LruCache<String, Cached>,
    /// The reads under way, by key (at most one per key).
    flights: HashMap<String, Flight>,
    sent: SentRequests,
    bytes: usize,
    /// Moves on at every drop.
    generation: u64,
    /// For each table's bit, the generation of the last drop that covered it.
    dropped_at: [u64; 64],
    changes: broadcast::Receiver<Change>,
    /// The notifier, for the counts this process moved (`Notifier::take_moved_tables`).
    notifier: Arc<Notifier>,
    /// The last ticket number handed out.
    tickets: u64,
    /// The tables of counts that moved since the last drop for counts, not dropped yet.
    counts_moved: u64,
    last_counts_drop: Instant,
    /// Unknown (`None`) until an answer is kept after the last drop of everything.
    boundary: Option<Boundary>,
}

impl Inner {
    /// Whether a drop covered any of `tables` after `ticket` was handed out.
    fn dropped_since(&self, ticket: Ticket, tables: u64) -> bool {
        (0..64).any(|bit| tables & (1 << bit) != 0 && self.dropped_at[bit] > ticket.generation)
    }
}

/// The response cache of one process.
pub(crate) struct ResponseCache {
    inner: Mutex<Inner>,
    budget: usize,
    counters: CacheCounters,
}

impl ResponseCache {
    /// An empty cache of at most `budget` bytes, dropping answers on `notifier`'s notices.
    pub(crate) fn new(notifier: &Arc<Notifier>, budget: usize, counters: CacheCounters) -> Self {
        let inner = Inner {
            entries: LruCache::unbounded(),
            flights: HashMap::new(),
            sent: SentRequests { by_get: LruCache::unbounded(), by_post: LruCache::unbounded(), bytes: 0 },
            bytes: 0,
            generation: 0,
            dropped_at: [0; 64],
            changes: notifier.subscribe(),
            notifier: notifier.clone(),
            tickets: 0,
            counts_moved: 0,
            last_counts_drop: Instant::now(),
            boundary: None,
        };
        Self { inner: Mutex::new(inner), budget, counters }
    }

    /// The key of a request: its document, operation name and variables (`None` when the
    /// variables cannot be written out, which leaves the request uncached).
    pub(crate) fn key(query: &str, operation_name: Option<&str>, variables: &Variables) -> Option<String> {
        let variables = serde_json::to_string(variables).ok()?;
        let name = operation_name.unwrap_or_default();
        let mut key = String::with_capacity(query.len() + name.len() + variables.len() + 2);
        // NUL separates the parts: a GraphQL name holds none, and JSON escapes it.
        key.push_str(name);
        key.push('\0');
        key.push_str(&variables);
        key.push('\0');
        key.push_str(query);
        Some(key)
    }

    /// The kept answer for `key`; else the read of it under way since the last drop, to wait
    /// for; else the turn to read it (after the read under way, if any).
    pub(crate) fn lookup(&self, key: &str) -> Lookup<'_> {
        let started = Utc::now();
        let mut inner = self.lock();
        self.catch_up(&mut inner);
        if let Some(cached) = inner.entries.get(key) {
            self.counters.hits.inc();
            return Lookup::Hit(cached.clone());
        }
        let generation = inner.generation;
        let joinable = |flight: &&Flight| flight.generation == generation || !flight.reading.load(Ordering::SeqCst);
        if let Some(flight) = inner.flights.get(key).filter(joinable) {
            // Counted once it is answered (`count_hit`) or runs after all (`count_miss`).
            return Lookup::Follow(Follow { answer: flight.answer.clone() });
        }
        self.counters.misses.inc();
        inner.tickets += 1;
        let ticket = Ticket { generation, number: inner.tickets, started };
        let (answer, waiting) = watch::channel(None);
        let before = inner.flights.get(key).map(|before| before.answer.clone());
        // With no read before it, it reads at once.
        let reading = Arc::new(AtomicBool::new(before.is_none()));
        let flight = Flight { number: ticket.number, generation, reading: reading.clone(), answer: waiting };
        inner.flights.insert(key.to_owned(), flight);
        Lookup::Lead(Lead { cache: self, key: key.to_owned(), ticket, answer, before, reading })
    }

    /// The kept answer for `key`, if any: a hit counted, a miss not (the caller goes on to
    /// `lookup`, or runs elsewhere and counts it with `count_miss`).
    pub(crate) fn lookup_kept(&self, key: &str) -> Option<Cached> {
        let mut inner = self.lock();
        self.catch_up(&mut inner);
        let cached = inner.entries.get(key)?.clone();
        self.counters.hits.inc();
        Some(cached)
    }

    /// The kept answer for a request sent byte for byte as one `remember_sent` saw, with the
    /// units of its cost beyond the first; `None` when there is none: the request then goes the
    /// whole way, which looks it up by its key. Counts nothing: the caller counts the hit
    /// (`count_hit`) once it hands the answer out.
    pub(crate) fn lookup_sent(&self, by: SentBy, sent: &[u8]) -> Option<(Cached, u32)> {
        let mut inner = self.lock();
        self.catch_up(&mut inner);
        let alias = inner.sent.of(by).get(sent)?.clone();
        let cached = inner.entries.get(&*alias.key)?.clone();
        Some((cached, alias.units))
    }

    /// Counts a hit of `lookup_sent`, or a `Follow` answered.
    pub(crate) fn count_hit(&self) {
        self.counters.hits.inc();
    }

    /// Counts a `Follow` that got no answer and runs on its own.
    pub(crate) fn count_miss(&self) {
        self.counters.misses.inc();
    }

    /// Remembers that the request sent as `sent` (with no viewer, through the planner, its document
    /// given as text or trusted) is the one whose answer is kept under `key`.
    pub(crate) fn remember_sent(&self, by: SentBy, sent: Bytes, key: &str, units: u32) {
        let size = sent.len() + key.len() + ENTRY_OVERHEAD;
        let bound = self.budget / LARGEST_SHARE;
        if size > bound / LARGEST_SHARE {
            return;
        }
        let mut inner = self.lock();
        let requests = &mut inner.sent;
        if requests.of(by).peek(&sent[..]).is_some_and(|alias| &*alias.key == key) {
            return;
        }
        let alias = Alias { key: Arc::from(key), units };
        if let Some((old, alias)) = requests.of(by).push(sent, alias) {
            requests.bytes -= old.len() + alias.key.len() + ENTRY_OVERHEAD;
        }
        requests.bytes += size;
        while requests.bytes > bound {
            let evicted = match (requests.by_get.len(), requests.by_post.len()) {
                (0, 0) => break,
                (gets, posts) if gets >= posts => requests.by_get.pop_lru(),
                _ => requests.by_post.pop_lru(),
            };
            if let Some((old, alias)) = evicted {
                requests.bytes -= old.len() + alias.key.len() + ENTRY_OVERHEAD;
            }
        }
    }

    /// Keeps the answer a lead read, unless something changed since its ticket was handed out,
    /// and hands it to the requests that waited for it.
    pub(crate) async fn store(&self, db: &DatabaseConnection, lead: Lead<'_>, cached: Cached) {
        self.keep(db, lead.ticket, lead.key.clone(), cached.clone()).await;
        lead.answer.send_replace(Some(cached));
    }

    async fn keep(&self, db: &DatabaseConnection, ticket: Ticket, key: String, mut cached: Cached) {
        cached.ticket = ticket.number;
        let size = key.len() + cached.body.len() + ENTRY_OVERHEAD;
        if size > self.budget / LARGEST_SHARE {
            return;
        }
        let tables = cached.tables;
        let known = {
            let mut inner = self.lock();
            self.catch_up(&mut inner);
            if inner.dropped_since(ticket, tables) {
                return;
            }
            inner.boundary.is_some()
        };
        if !known {
            let next = match next_boundary(db, ticket.started).await {
                Ok(next) => next,
                Err(error) => {
                    tracing::warn!(error = %error, "response cache: could not read the next time boundary");
                    return;
                }
            };
            let mut inner = self.lock();
            self.catch_up(&mut inner);
            if inner.dropped_since(ticket, tables) {
                return;
            }
            if inner.boundary.is_none() {
                inner.boundary = Some(Boundary { from: ticket.started, next });
            }
        }
        let mut inner = self.lock();
        // A boundary that passed meanwhile drops everything, and with it this ticket's generation.
        self.catch_up(&mut inner);
        if inner.dropped_since(ticket, tables) || inner.boundary.is_none_or(|boundary| boundary.from > ticket.started) {
            return;
        }
        // A read that began later kept its answer first: this one may be older (a count lower
        // than one a client already saw), so the later one stays.
        if inner.entries.peek(&key).is_some_and(|kept| kept.ticket > ticket.number) {
            return;
        }
        if let Some(old) = inner.entries.put(key.clone(), cached) {
            inner.bytes -= key.len() + old.body.len() + ENTRY_OVERHEAD;
        }
        inner.bytes += size;
        while inner.bytes > self.budget {
            let Some((key, old)) = inner.entries.pop_lru() else { break };
            inner.bytes -= key.len() + old.body.len() + ENTRY_OVERHEAD;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change to the map keeps it whole, even one a panic interrupted after it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the notices that arrived since the last look, and drops the answers that read a table
    /// one of them touched (`tables::changed_by`): records changed (every table a mutation may
    /// touch), counts moved (at most once per window). A notice of updates, one that may have been
    /// missed, or a time boundary passed drops everything.
    fn catch_up(&self, inner: &mut Inner) {
        let mut changed = 0;
        inner.counts_moved |= inner.notifier.take_moved_tables();
        loop {
            match inner.changes.try_recv() {
                Ok(Change::One(notice)) => match notice.counter {
                    Kind::Petition | Kind::Event => inner.counts_moved |= tables::changed_by(notice.counter, notice.id),
                    Kind::PetitionUpdates | Kind::Records => changed |= tables::changed_by(notice.counter, notice.id),
                },
                Ok(Change::Current(_)) | Err(TryRecvError::Lagged(_)) => changed = tables::ALL,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        if inner.counts_moved != 0 && inner.last_counts_drop.elapsed() >= COUNTER_WINDOW {
            changed |= std::mem::take(&mut inner.counts_moved);
            inner.last_counts_drop = Instant::now();
        }
        if inner.boundary.and_then(|boundary| boundary.next).is_some_and(|next| Utc::now() >= next) {
            changed = tables::ALL;
        }
        if changed != 0 {
            self.drop_reading(inner, changed);
        }
    }

    /// Drops every answer that read one of `changed`, and moves the generation on for them.
    fn drop_reading(&self, inner: &mut Inner, changed: u64) {
        inner.generation += 1;
        for bit in 0..64 {
            if changed & (1 << bit) != 0 {
                inner.dropped_at[bit] = inner.generation;
            }
        }
        if changed == tables::ALL {
            inner.entries.clear();
            inner.bytes = 0;
            inner.counts_moved = 0;
            inner.boundary = None;
        } else {
            let stale: Vec<String> = inner
                .entries
                .iter()
                .filter(|(_, cached)| cached.tables & changed != 0)
                .map(|(key, _)| key.clone())
                .collect();
            for key in stale {
                if let Some(old) = inner.entries.pop(&key) {
                    inner.bytes -= key.len() + old.body.len() + ENTRY_OVERHEAD;
                }
            }
        }
        self.counters.invalidations.inc();
    }
}

/// The first moment after `after` at which time changes what a read sees: a scheduled update
/// becomes visible, a petition closes, an event starts or ends (one with no end ends
/// `events::DEFAULT_DURATION` after it starts).
async fn next_boundary(db: &DatabaseConnection, after: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, DbErr> {
    let open_ended = event::Entity::find()
        .filter(event::Column::EndsAt.is_null())
        .filter(event::Column::StartsAt.gt(after - crate::domain::events::DEFAULT_DURATION));
    let candidates = [
        first_after::<petition_update::Entity>(db, petition_update::Column::PublishedAt, after).await?,
        first_after::<petition::Entity>(db, petition::Column::ClosesAt, after).await?,
        first_after::<event::Entity>(db, event::Column::StartsAt, after).await?,
        first_after::<event::Entity>(db, event::Column::EndsAt, after).await?,
        earliest(db, open_ended, event::Column::StartsAt)
            .await?
            .map(|starts_at| starts_at + crate::domain::events::DEFAULT_DURATION),
    ];
    Ok(candidates.into_iter().flatten().min())
}

/// The earliest value of `column` after `after`.
async fn first_after<E: EntityTrait>(
    db: &DatabaseConnection,
    column: E::Column,
    after: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    earliest(db, E::find().filter(column.gt(after)), column).await
}

/// The earliest value of `column` among the rows `select` finds.
async fn earliest<E: EntityTrait>(
    db: &DatabaseConnection,
    select: sea_orm::Select<E>,
    column: E::Column,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    select.select_only().column(column).order_by_asc(column).limit(1).into_tuple::<DateTime<Utc>>().one(db).await
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::panic, reason = "a failing test should fail loudly")]
mod tests {
    use sea_orm::{ConnectOptions, Database};

    use super::*;
    use crate::domain::notify::{ALL_RECORDS, Notice};

    async fn migrated_memory_db() -> DatabaseConnection {
        let mut options = ConnectOptions::new("sqlite::memory:");
        options.max_connections(1).sqlx_logging(false);
        let db = Database::connect(options).await.unwrap();
        crate::infra::db::migrate(&db).await.unwrap();
        db
    }

    /// A cache of `budget` bytes on a fresh database, with its notifier.
    async fn cache_of(budget: usize) -> (DatabaseConnection, Arc<Notifier>, ResponseCache) {
        let db = migrated_memory_db().await;
        let notifier = Arc::new(Notifier::new(&db));
        let cache = ResponseCache::new(&notifier, budget, CacheCounters::default());
        (db, notifier, cache)
    }

    fn answer(body: &str) -> Cached {
        Cached {
            body: Bytes::from(body.to_owned()),
            digest: Arc::from(""),
            operation: None,
            tables: tables::ALL,
            ticket: 0,
        }
    }

    /// The turn to read `key`, which must not be kept nor under way.
    fn lead<'a>(cache: &'a ResponseCache, key: &str) -> Lead<'a> {
        match cache.lookup(key) {
            Lookup::Lead(lead) => lead,
            _ => panic!("{key} is kept or under way"),
        }
    }

    /// The kept answer for `key`, if any (a lead it gets instead is dropped at once).
    fn kept(cache: &ResponseCache, key: &str) -> Option<Bytes> {
        match cache.lookup(key) {
            Lookup::Hit(cached) => Some(cached.body),
            _ => None,
        }
    }

    fn records_changed(notifier: &Notifier, mask: i64) {
        notifier.publish_local(Notice { counter: Kind::Records, id: mask, count: 0, version: 0 });
    }

    #[tokio::test]
    async fn an_answer_read_before_a_change_is_not_kept_and_one_read_after_it_is() {
        let (db, notifier, cache) = cache_of(1 << 20).await;
        let before = lead(&cache, "k");
        records_changed(&notifier, ALL_RECORDS);
        cache.store(&db, before, answer("old")).await;
        assert!(kept(&cache, "k").is_none(), "the read began before the change");

        cache.store(&db, lead(&cache, "k"), answer("new")).await;
        assert_eq!(kept(&cache, "k").unwrap(), "new");
        records_changed(&notifier, ALL_RECORDS);
        assert!(kept(&cache, "k").is_none(), "a change drops it");
    }

    #[tokio::test]
    async fn a_notice_drops_only_the_answers_that_read_what_it_touched() {
        let (db, notifier, cache) = cache_of(1 << 20).await;
        let films = Cached { tables: tables::named_in(r#"SELECT 1 FROM "films""#), ..answer("films") };
        let updates = Cached { tables: tables::named_in(r#"SELECT 1 FROM "petition_updates""#), ..answer("updates") };
        cache.store(&db, lead(&cache, "films"), films.clone()).await;
        cache.store(&db, lead(&cache, "updates"), updates.clone()).await;
        let reading_films = lead(&cache, "films later");
        let reading_updates = lead(&cache, "updates later");
        records_changed(&notifier, i64::from_ne_bytes(updates.tables.to_ne_bytes()));
        assert_eq!(kept(&cache, "films").unwrap(), "films", "a change to updates touches no film");
        assert!(kept(&cache, "updates").is_none(), "it drops what read the updates");
        cache.store(&db, reading_films, films).await;
        cache.store(&db, reading_updates, updates).await;
        assert!(kept(&cache, "films later").is_some(), "a read of films that straddled it is kept");
        assert!(kept(&cache, "updates later").is_none(), "a read of updates that straddled it is not");
    }

    #[tokio::test]
    async fn a_request_for_a_key_being_read_waits_for_that_read() {
        let (db, _notifier, cache) = cache_of(1 << 20).await;
        let first = lead(&cache, "count");
        let Lookup::Follow(follow) = cache.lookup("count") else { panic!("a second request reads too") };
        cache.store(&db, first, answer("1")).await;
        assert_eq!(follow.answer(Duration::from_secs(5)).await.unwrap().body, "1");

        // A read that ends without an answer (an error, a dropped connection) lets its waiters run.
        let failing = lead(&cache, "other");
        let Lookup::Follow(follow) = cache.lookup("other") else { panic!("a second request reads too") };
        drop(failing);
        assert!(follow.answer(Duration::from_secs(5)).await.is_none());
        assert!(matches!(cache.lookup("other"), Lookup::Lead(_)), "the next request reads");
    }

    #[tokio::test]
    async fn after_a_drop_a_read_waits_for_the_one_under_way_and_only_the_later_is_kept() {
        let (db, notifier, cache) = cache_of(1 << 20).await;
        let older = lead(&cache, "count");
        records_changed(&notifier, ALL_RECORDS);
        let mut newer = lead(&cache, "count");
        let order = Mutex::new(Vec::new());
        futures_util::future::join(
            async {
                newer.wait_turn(Duration::from_secs(5)).await;
                order.lock().unwrap().push("the newer reads");
            },
            async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                order.lock().unwrap().push("the older ends");
                cache.store(&db, older, answer("1")).await;
            },
        )
        .await;
        assert_eq!(*order.lock().unwrap(), ["the older ends", "the newer reads"]);
        assert!(kept(&cache, "count").is_none(), "the older read began before the drop");
        cache.store(&db, newer, answer("2")).await;
        assert_eq!(kept(&cache, "count").unwrap(), "2");
    }

    #[tokio::test]
    async fn at_most_one_read_waits_behind_the_one_under_way() {
        let (db, notifier, cache) = cache_of(1 << 20).await;
        let older = lead(&cache, "count");
        records_changed(&notifier, ALL_RECORDS);
        let mut newer = lead(&cache, "count");
        records_changed(&notifier, ALL_RECORDS);
        let Lookup::Follow(follow) = cache.lookup("count") else { panic!("a third read queued up") };
        drop(older);
        newer.wait_turn(Duration::from_secs(5)).await;
        cache.store(&db, newer, answer("3")).await;
        assert_eq!(follow.answer(Duration::from_secs(5)).await.unwrap().body, "3", "it reads after both drops");
    }

    #[tokio::test]
    async fn a_request_sent_again_finds_its_answer_until_a_change_drops_it() {
        let (db, notifier, cache) = cache_of(1 << 20).await;
        cache.store(&db, lead(&cache, "k"), answer("kept")).await;
        let sent = b"{\"query\":\"k\"}";
        cache.remember_sent(SentBy::Post, Bytes::from_static(sent), "k", 3);
        let (hit, units) = cache.lookup_sent(SentBy::Post, sent).unwrap();
        assert_eq!((hit.body, units), (Bytes::from_static(b"kept"), 3));
        assert!(cache.lookup_sent(SentBy::Get, sent).is_none(), "a GET is sent otherwise");
        assert!(cache.lookup_sent(SentBy::Post, b"{\"query\": \"k\"}").is_none(), "other bytes");
        records_changed(&notifier, ALL_RECORDS);
        assert!(cache.lookup_sent(SentBy::Post, sent).is_none(), "the change dropped its answer");
    }

    #[tokio::test]
    async fn the_least_recently_used_answers_go_when_the_bound_is_reached() {
        // Room for eight answers of 50 bytes with their two-byte keys and bookkeeping.
        let entry = 2 + 50 + ENTRY_OVERHEAD;
        let (db, _notifier, cache) = cache_of(8 * entry + 10).await;
        for index in 0..8 {
            let key = format!("k{index}");
            cache.store(&db, lead(&cache, &key), answer(&"x".repeat(50))).await;
        }
        assert!(kept(&cache, "k0").is_some(), "all eight fit; k0 is now the most recently used");
        cache.store(&db, lead(&cache, "k8"), answer(&"x".repeat(50))).await;
        assert!(kept(&cache, "k1").is_none(), "the least recently used went");
        assert!(kept(&cache, "k0").is_some() && kept(&cache, "k8").is_some() && kept(&cache, "k2").is_some());
        cache.store(&db, lead(&cache, "huge"), answer(&"x".repeat(300))).await;
        assert!(kept(&cache, "huge").is_none(), "an answer above an eighth of the bound is not kept");
    }
}
