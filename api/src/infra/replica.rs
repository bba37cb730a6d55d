//! Reads from a PostgreSQL streaming replica (`FANDB_DATABASE_READ_URL`), without a client ever
//! missing its own writes.
//!
//! Query operations go to the replica; mutations, `me` and subscriptions stay on the primary.
//! After a mutation, the primary's WAL position is remembered for the viewer (their user and their
//! client IP, in Redis when it is configured, so every process knows): until the replica has
//! replayed that position, the viewer's queries go to the primary. A fixed delay would not do: a
//! replica may fall behind for any length of time.
//!
//! A watcher samples the primary's WAL position and the replica's replay position twice a second.
//! The replica's lag is how long ago the primary was at a position the replica has replayed, so an
//! idle primary counts as no lag, and a replica that stopped receiving WAL counts as lagging even
//! though it replays all it has. A replica that does not answer, or lags more than
//! `FANDB_REPLICA_MAX_LAG`, is skipped until it catches up.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::infra::shared_state::SharedState;

/// How often the watcher samples both positions.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// The longest one sample may wait on either database.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a viewer's last write position is kept: past it, a replica within its allowed lag
/// has replayed it anyway.
const WRITE_MEMORY: Duration = Duration::from_secs(60);

/// Parses a `pg_lsn` (`16/B374D848`) into a comparable number.
pub(crate) fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.split_once('/')?;
    Some((u64::from_str_radix(high, 16).ok()? << 32) | u64::from_str_radix(low, 16).ok()?)
}

/// What the watcher last learnt of the replica.
#[derive(Debug, Default)]
struct Health {
    /// The position the replica had replayed, when it last answered.
    replayed: Option<u64>,
    /// Whether reads may go to it: it answered, within the allowed lag.
    usable: bool,
    /// The primary's recent positions, oldest first, with when they were read.
    primary: VecDeque<(Instant, u64)>,
}

/// Where a request's reads go.
pub(crate) struct ReadRouting {
    primary: DatabaseConnection,
    replica: DatabaseConnection,
    max_lag: Duration,
    health: Mutex<Health>,
    /// Viewers' last write positions when no Redis is configured (one process).
    local_writes: Mutex<HashMap<String, (Instant, u64)>>,
    shared: Option<Arc<SharedState>>,
}

impl ReadRouting {
    /// Routes reads between `primary` and `replica`, and starts the watcher (which stops once the
    /// routing is dropped).
    pub(crate) fn start(
        primary: DatabaseConnection,
        replica: DatabaseConnection,
        max_lag: Duration,
        shared: Option<Arc<SharedState>>,
    ) -> Arc<Self> {
        let routing = Arc::new(Self {
            primary,
            replica,
            max_lag,
            health: Mutex::new(Health::default()),
            local_writes: Mutex::new(HashMap::new()),
            shared,
        });
        tokio::spawn(watch(Arc::downgrade(&routing)));
        routing
    }

    /// The replica, when a query operation of the viewer signed in as `user` (if anyone) from
    /// `client` may read from it: it is usable and has replayed the viewer's last write. `None`
    /// means the primary.
    pub(crate) async fn for_query(&self, user: Option<i64>, client: Option<IpAddr>) -> Option<DatabaseConnection> {
        let replayed = {
            let health = self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            health.replayed.filter(|_| health.usable)?
        };
        match self.last_write(&keys(user, client)).await {
            Ok(Some(written)) if written > replayed => None,
            Ok(_) => Some(self.replica.clone()),
            // Not knowing the viewer's last write, the primary is the safe answer.
            Err(()) => None,
        }
    }

    /// Notes that the replica failed a read: it is skipped until the watcher sees it answer again.
    pub(crate) fn replica_failed(&self) {
        let mut health = self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if health.usable {
            tracing::warn!("read replica: a read failed; reads go to the primary");
        }
        health.usable = false;
        health.replayed = None;
    }

    /// Remembers the primary's current WAL position as the last write of the viewer signed in as
    /// `user` (if anyone) from `client` (called after a mutation ran).
    pub(crate) async fn wrote(&self, user: Option<i64>, client: Option<IpAddr>) {
        let Some(position) = current_position(&self.primary).await else {
            return;
        };
        let keys = keys(user, client);
        match &self.shared {
            Some(shared) => {
                for key in &keys {
                    // Redis being away shows in its own metric and log line; reads then go to the
                    // primary (`last_write` fails too), so nothing is missed.
                    let _ = shared.mark_write(key, position, WRITE_MEMORY).await;
                }
            }
            None => {
                let now = Instant::now();
                let mut writes = self.local_writes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                writes.retain(|_, (at, _)| now.duration_since(*at) < WRITE_MEMORY);
                for key in keys {
                    let entry = writes.entry(key).or_insert((now, position));
                    *entry = (now, entry.1.max(position));
                }
            }
        }
    }

    async fn last_write(&self, keys: &[String]) -> Result<Option<u64>, ()> {
        match &self.shared {
            Some(shared) => shared.last_write(keys).await.map_err(|_| ()),
            None => {
                let writes = self.local_writes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = Instant::now();
                Ok(keys
                    .iter()
                    .filter_map(|key| writes.get(key))
                    .filter(|(at, _)| now.duration_since(*at) < WRITE_MEMORY)
                    .map(|(_, position)| *position)
                    .max())
            }
        }
    }

    /// Takes one sample of both positions and decides whether the replica is usable.
    async fn sample(&self) {
        let (primary, replica) = tokio::join!(current_position(&self.primary), replayed_position(&self.replica));
        let now = Instant::now();
        let mut health = self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(position) = primary {
            health.primary.push_back((now, position));
        }
        // Samples older than the allowed lag (and one more, the newest such) are all it takes.
        while health.primary.len() > 1
            && health.primary.get(1).is_some_and(|(at, _)| now.duration_since(*at) > self.max_lag)
        {
            health.primary.pop_front();
        }
        let lag = replica.and_then(|replayed| {
            health
                .primary
                .iter()
                .rev()
                .find(|(_, position)| *position <= replayed)
                .map(|(at, _)| now.duration_since(*at))
        });
        let usable = lag.is_some_and(|lag| lag <= self.max_lag + SAMPLE_EVERY);
        if usable != health.usable {
            if usable {
                tracing::info!("read replica: in use");
            } else {
                tracing::warn!(?lag, max_lag = ?self.max_lag, "read replica: down or lagging; reads go to the primary");
            }
        }
        health.usable = usable;
        health.replayed = replica;
    }
}

/// The keys a viewer's writes are remembered under: their user, and their client IP (a client
/// that has just signed up or in has no user in its earlier requests).
fn keys(user: Option<i64>, client: Option<IpAddr>) -> Vec<String> {
    let mut keys = Vec::with_capacity(2);
    if let Some(user) = user {
        keys.push(format!("fandb:wrote:user:{user}"));
    }
    if let Some(ip) = client {
        keys.push(format!("fandb:wrote:ip:{ip}"));
    }
    keys
}

async fn single_lsn(db: &DatabaseConnection, sql: &str) -> Option<u64> {
    let statement = Statement::from_string(db.get_database_backend(), sql);
    let row = tokio::time::timeout(SAMPLE_TIMEOUT, db.query_one_raw(statement)).await.ok()?.ok()??;
    let text: Option<String> = row.try_get_by_index(0).ok()?;
    parse_lsn(&text?)
}

/// The primary's current WAL write position.
async fn current_position(primary: &DatabaseConnection) -> Option<u64> {
    single_lsn(primary, "SELECT pg_current_wal_lsn()::text").await
}

/// The position a replica has replayed; `None` if it does not answer or is not a replica.
async fn replayed_position(replica: &DatabaseConnection) -> Option<u64> {
    single_lsn(replica, "SELECT pg_last_wal_replay_lsn()::text").await
}

async fn watch(routing: Weak<ReadRouting>) {
    let mut ticks = tokio::time::interval(SAMPLE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(routing) = routing.upgrade() else { return };
        routing.sample().await;
    }
}

#[cfg(test)]
mod tests {
    use super::parse_lsn;

    #[test]
    fn positions_compare_in_wal_order() {
        assert_eq!(parse_lsn("0/0"), Some(0));
        assert_eq!(parse_lsn("16/B374D848"), Some((0x16 << 32) | 0xB374_D848));
        assert!(parse_lsn("1/0") > parse_lsn("0/FFFFFFFF"));
        assert_eq!(parse_lsn("nonsense"), None);
    }
}
