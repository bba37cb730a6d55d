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

/// Adds `ARGV[1]` to the set `KEYS[1]` of members remembered for `ARGV[2]` milliseconds each
/// (a sorted set scored by expiry), drops the expired ones and returns how many are left.
const REMEMBER: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl), ARGV[1])
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', ttl))
return redis.call('ZCARD', KEYS[1])
";

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
    remember: Script,
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
            remember: Script::new(REMEMBER),
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

    /// Remembers `member` in the set `key` for `ttl`, and says how many members it holds now.
    pub async fn remember(&self, key: &str, member: &str, ttl: Duration) -> Result<u64, Unreachable> {
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut invocation = self.remember.key(key);
        invocation.arg(member).arg(ttl);
        let mut connection = self.connection.clone();
        self.outcome(invocation.invoke_async(&mut connection)).await
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
