//! State that every fandb process behind one load balancer shares, kept in Redis when
//! `FANDB_REDIS_URL` is set: the per-IP request budget, the per-IP sign-in budget and the email
//! lock's count of failing addresses. Each decision is one Lua script run (`EVALSHA`), so it is
//! atomic across processes and costs one round trip; the clock is Redis's own (`TIME`), so the
//! processes' clocks need not agree.
//!
//! Redis going away is the callers' to decide on (`Unreachable`): the request budget lets requests
//! through, sign-ins are refused. One warning is logged when it goes away (again at most once a
//! minute while it stays away), one line when it is back, and every failed call counts in
//! `fandb_redis_errors_total`. The connection manager reconnects on the next call, so no restart is
//! needed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisResult, Script};

use crate::auth::Secret;

/// The longest one decision may wait on Redis before it counts as unreachable.
const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// The least time between two warnings about the same outage.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// One GCRA step: the theoretical arrival time (TAT, microseconds of Redis time) of the key moves
/// one emission interval on if that stays within `burst` intervals of now. Returns
/// `{1, remaining}` or `{0, microseconds to wait}`. Numbers are written with `%.0f` because Lua's
/// default formatting keeps only 14 digits.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then tat = math.max(tonumber(stored), now) end
local limit = interval * burst
local new_tat = tat + interval
if new_tat - now > limit then
  return {0, new_tat - now - limit}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', math.ceil((new_tat - now) / 1000)))
return {1, math.floor((limit - (new_tat - now)) / interval)}
";

/// The email lock's admission: milliseconds the email stays locked (`KEYS[1]`) for client
/// `ARGV[1]`, or 0 when it is not locked or the client is known-good for it (`KEYS[2]`, a sorted
/// set of clients scored by when that ends, in milliseconds of Redis time).
const LOCK_ADMIT: &str = r"
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local good = redis.call('ZSCORE', KEYS[2], ARGV[1])
if good and tonumber(good) > now then return 0 end
return ttl
";

/// A failed login from client `ARGV[1]`: it joins the failing clients (`KEYS[2]`, remembered for
/// `ARGV[2]` ms each); once `ARGV[3]` of them failed and the email (`KEYS[1]`) is not locked yet,
/// it is locked for `ARGV[2]` ms and the count starts over. Returns 1 when this locked it.
const LOCK_FAILED: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now))
redis.call('ZADD', KEYS[2], string.format('%.0f', now + window), ARGV[1])
redis.call('PEXPIRE', KEYS[2], string.format('%.0f', window))
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], '1', 'PX', string.format('%.0f', window))
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
";

/// A successful login from client `ARGV[1]`: it leaves the failing clients (`KEYS[1]`) and is
/// known-good (`KEYS[2]`) for `ARGV[2]` ms.
const LOCK_SUCCEEDED: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local good = tonumber(ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now))
redis.call('ZADD', KEYS[2], string.format('%.0f', now + good), ARGV[1])
redis.call('PEXPIRE', KEYS[2], string.format('%.0f', good))
return 1
";

/// The Redis keys of one email's lock. The email is hashed: Redis holds no addresses in clear.
#[derive(Debug, Clone)]
pub struct EmailKeys {
    locked: String,
    failing: String,
    known_good: String,
}

impl EmailKeys {
    /// The keys of `email` (as the lock sees it).
    pub fn new(email: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(email.as_bytes());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        Self {
            locked: format!("fandb:lock:{hex}:locked"),
            failing: format!("fandb:lock:{hex}:failing"),
            known_good: format!("fandb:lock:{hex}:good"),
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Redis could not answer in time; the caller fails open or closed.
#[derive(Debug, Clone, Copy)]
pub struct Unreachable;

/// What one GCRA step decided.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Let through; this many more are allowed right now.
    Allowed { remaining: u32 },
    /// Refused; the next one is allowed after this long.
    Refused { wait: Duration },
}

/// The Redis connection and scripts of one process.
pub struct SharedState {
    connection: ConnectionManager,
    gcra: Script,
    lock_admit: Script,
    lock_failed: Script,
    lock_succeeded: Script,
    errors: Counter,
    failing: AtomicBool,
    last_warning: AtomicU64,
}

impl SharedState {
    /// A client for `url`; the connection is made on the first call (Redis need not be up at
    /// start-up), and failed calls count on `errors`.
    pub fn connect(url: &Secret, errors: Counter) -> RedisResult<Self> {
        let client = Client::open(url.expose())?;
        // Few, short retries: a request waiting on a reconnect waits at most about CALL_TIMEOUT.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200))
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)));
        Ok(Self {
            connection: ConnectionManager::new_lazy_with_config(client, config)?,
            gcra: Script::new(GCRA),
            lock_admit: Script::new(LOCK_ADMIT),
            lock_failed: Script::new(LOCK_FAILED),
            lock_succeeded: Script::new(LOCK_SUCCEEDED),
            errors,
            failing: AtomicBool::new(false),
            last_warning: AtomicU64::new(0),
        })
    }

    /// One GCRA step on `key`: a bucket of `burst` refilled one every `interval`.
    pub async fn gcra(&self, key: &str, burst: u32, interval: Duration) -> Result<Step, Unreachable> {
        let interval = u64::try_from(interval.as_micros()).unwrap_or(u64::MAX).max(1);
        let mut invocation = self.gcra.key(key);
        invocation.arg(interval).arg(burst.max(1));
        let mut connection = self.connection.clone();
        let (allowed, value): (u8, u64) = self.outcome(invocation.invoke_async(&mut connection)).await?;
        Ok(if allowed == 1 {
            Step::Allowed { remaining: u32::try_from(value).unwrap_or(u32::MAX) }
        } else {
            Step::Refused { wait: Duration::from_micros(value) }
        })
    }

    /// How long the email stays locked for `client`; `None` when it is not, or `client` is
    /// known-good for it.
    pub async fn email_locked(&self, keys: &EmailKeys, client: &str) -> Result<Option<Duration>, Unreachable> {
        let mut invocation = self.lock_admit.key(&keys.locked);
        invocation.key(&keys.known_good).arg(client);
        let mut connection = self.connection.clone();
        let left: i64 = self.outcome(invocation.invoke_async(&mut connection)).await?;
        Ok(u64::try_from(left).ok().filter(|left| *left > 0).map(Duration::from_millis))
    }

    /// Counts a failed login from `client`, locking the email for `window` once `lock_after`
    /// clients failed within it; true when this failure locked it.
    pub async fn email_failed(
        &self,
        keys: &EmailKeys,
        client: &str,
        window: Duration,
        lock_after: usize,
    ) -> Result<bool, Unreachable> {
        let mut invocation = self.lock_failed.key(&keys.locked);
        invocation.key(&keys.failing).arg(client).arg(millis(window)).arg(lock_after.max(1));
        let mut connection = self.connection.clone();
        let locked: u8 = self.outcome(invocation.invoke_async(&mut connection)).await?;
        Ok(locked == 1)
    }

    /// Notes a successful login from `client`: known-good for `known_good_for`.
    pub async fn email_succeeded(
        &self,
        keys: &EmailKeys,
        client: &str,
        known_good_for: Duration,
    ) -> Result<(), Unreachable> {
        let mut invocation = self.lock_succeeded.key(&keys.failing);
        invocation.key(&keys.known_good).arg(client).arg(millis(known_good_for));
        let mut connection = self.connection.clone();
        let _: u8 = self.outcome(invocation.invoke_async(&mut connection)).await?;
        Ok(())
    }

    /// Awaits a call within `CALL_TIMEOUT`, and notes an outage or its end.
    async fn outcome<T>(&self, call: impl Future<Output = RedisResult<T>>) -> Result<T, Unreachable> {
        let error = match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(value)) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("shared state: Redis answers again");
                }
                return Ok(value);
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {CALL_TIMEOUT:?}"),
        };
        self.errors.inc();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let last = self.last_warning.load(Ordering::Relaxed);
        let newly = !self.failing.swap(true, Ordering::Relaxed);
        if (newly || now.saturating_sub(last) >= WARN_EVERY.as_secs())
            && self.last_warning.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            tracing::warn!(%error, "shared state: Redis is unreachable; requests pass unmetered, sign-ins are refused");
        }
        Err(Unreachable)
    }
}
