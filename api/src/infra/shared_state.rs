//! State that every fandb process behind one load balancer shares, kept in Redis when
//! `FANDB_REDIS_URL` is set: the per-IP request budget, the per-IP sign-in budget and the
//! failed-login defences (delays per email and address, the email lock, known-good addresses).
//! Each decision is one Lua script run (`EVALSHA`), so it is atomic across processes and costs one
//! round trip; the clock is Redis's own (`TIME`), so the processes' clocks need not agree.
//!
//! Redis going away is the callers' to decide on (`Unreachable`): the request budget falls back
//! to this process's own buckets, sign-ins are refused. A call waits at most `CALL_TIMEOUT`; after
//! a failure a circuit breaker answers `Unreachable` at once for `BREAK_FOR`, then lets one call
//! try again, so a frozen Redis costs requests nothing while it stays frozen and recovery is
//! automatic. One warning is logged when it goes away (again at most once a minute while it stays
//! away), one line when it is back, and every failed call counts in `fandb_redis_errors_total`.
//! The connection manager reconnects on the next call, so no restart is needed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisResult, Script};

use crate::config::Secret;

/// The longest one decision may wait on Redis before it counts as unreachable: a round trip on a
/// healthy network is well under a millisecond.
const CALL_TIMEOUT: Duration = Duration::from_millis(150);

/// How long after a failed call Redis is not asked at all (the breaker is open).
const BREAK_FOR: Duration = Duration::from_secs(2);

/// The least time between two warnings about the same outage.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// One GCRA step: the theoretical arrival time (TAT, microseconds of Redis time) of the key moves
/// `ARGV[3]` emission intervals on (the request's cost) if that stays within `burst` intervals of now. Returns
/// `{1, remaining}` or `{0, microseconds to wait}`. Numbers are written with `%.0f` because Lua's
/// default formatting keeps only 14 digits.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3] or '1')
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then tat = math.max(tonumber(stored), now) end
local limit = interval * burst
local new_tat = tat + interval * cost
if new_tat - now > limit then
  return {0, new_tat - now - limit}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', math.ceil((new_tat - now) / 1000)))
return {1, math.floor((limit - (new_tat - now)) / interval)}
";

/// Raises `KEYS[1]` to the WAL position `ARGV[1]` (never lowers it: two writes may finish out of
/// order) and keeps it `ARGV[2]` ms.
const MARK_WRITE: &str = r"
local stored = redis.call('GET', KEYS[1])
if (not stored) or tonumber(stored) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
";

/// A login attempt from client `ARGV[1]`: refused for the milliseconds returned while the email
/// is locked (`KEYS[1]`) and the client is not known-good for it (`KEYS[2]`, a sorted set of
/// clients scored by when that ends, in milliseconds of Redis time). Otherwise it counts as a
/// strike of the (email, client) (`KEYS[3]`): from the `ARGV[2]`-th strike on each one waits
/// `ARGV[3]` ms doubled per strike up to `ARGV[4]` ms, and a strike before the wait is over is
/// refused (returning the new wait). Strikes are forgotten (the key expires) `ARGV[5]` ms after
/// the last one, or the larger of `ARGV[6]` and `ARGV[4]` ms once delayed, never before the wait.
/// Returns 0 to let the attempt go ahead.
const LOGIN_ADMIT: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  local good = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if not (good and tonumber(good) > now) then return ttl end
end
local delay_after = tonumber(ARGV[2])
local max_delay = tonumber(ARGV[4])
local count = tonumber(redis.call('HGET', KEYS[3], 'count') or '0') + 1
local not_before = tonumber(redis.call('HGET', KEYS[3], 'not_before') or '0')
local early = not_before > now
local memory = tonumber(ARGV[5])
if count >= delay_after then
  not_before = now + math.min(tonumber(ARGV[3]) * 2 ^ (count - delay_after), max_delay)
  memory = math.max(tonumber(ARGV[6]), max_delay)
end
redis.call('HSET', KEYS[3], 'count', string.format('%.0f', count), 'not_before', string.format('%.0f', not_before))
redis.call('PEXPIRE', KEYS[3], string.format('%.0f', math.max(not_before - now, memory, 1)))
if early then return not_before - now end
return 0
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

/// A successful login from client `ARGV[1]`: it leaves the failing clients (`KEYS[1]`), is
/// known-good (`KEYS[2]`) for `ARGV[2]` ms, and its strikes (`KEYS[3]`) are cleared.
const LOCK_SUCCEEDED: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local good = tonumber(ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now))
redis.call('ZADD', KEYS[2], string.format('%.0f', now + good), ARGV[1])
redis.call('PEXPIRE', KEYS[2], string.format('%.0f', good))
redis.call('DEL', KEYS[3])
return 1
";

/// The Redis keys of logins on one email from one client. The email is hashed: Redis holds no
/// email addresses in clear.
#[derive(Debug, Clone)]
pub(crate) struct LoginKeys {
    client: String,
    locked: String,
    failing: String,
    known_good: String,
    strikes: String,
}

impl LoginKeys {
    /// The keys of `email` (as the lock sees it) and `client` (an IP, or a /64).
    pub(crate) fn new(email: &str, client: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(email.as_bytes());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        Self {
            client: client.to_owned(),
            locked: format!("fandb:lock:{hex}:locked"),
            failing: format!("fandb:lock:{hex}:failing"),
            known_good: format!("fandb:lock:{hex}:good"),
            strikes: format!("fandb:lock:{hex}:strikes:{client}"),
        }
    }
}

/// The failed-login delays, as `LOGIN_ADMIT` applies them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StrikePolicy {
    /// Strikes before the first wait.
    pub(crate) delay_after: u32,
    /// The first wait.
    pub(crate) base_delay: Duration,
    /// The longest wait.
    pub(crate) max_delay: Duration,
    /// How long strikes short of a wait are remembered.
    pub(crate) window: Duration,
    /// How long strikes that reached a wait are remembered (at least `max_delay`).
    pub(crate) delayed_memory: Duration,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Redis could not answer in time; the caller fails open or closed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unreachable;

/// What one GCRA step decided.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    /// Let through; this many more are allowed right now.
    Allowed { remaining: u32 },
    /// Refused; the next one is allowed after this long.
    Refused { wait: Duration },
}

/// The Redis connection and scripts of one process.
pub(crate) struct SharedState {
    connection: ConnectionManager,
    gcra: Script,
    login_admit: Script,
    lock_failed: Script,
    lock_succeeded: Script,
    errors: Counter,
    mark_write: Script,
    failing: AtomicBool,
    last_warning: AtomicU64,
    /// Until when (milliseconds since the epoch) no call is made; 0 while the breaker is closed.
    open_until: AtomicU64,
}

impl SharedState {
    /// A client for `url`; the connection is made on the first call (Redis need not be up at
    /// start-up), and failed calls count on `errors`.
    pub(crate) fn connect(url: &Secret, errors: Counter) -> RedisResult<Self> {
        let client = Client::open(url.expose())?;
        // Few, short retries: a request waiting on a reconnect waits at most about CALL_TIMEOUT.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200))
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT));
        Ok(Self {
            connection: ConnectionManager::new_lazy_with_config(client, config)?,
            gcra: Script::new(GCRA),
            login_admit: Script::new(LOGIN_ADMIT),
            lock_failed: Script::new(LOCK_FAILED),
            lock_succeeded: Script::new(LOCK_SUCCEEDED),
            mark_write: Script::new(MARK_WRITE),
            errors,
            failing: AtomicBool::new(false),
            last_warning: AtomicU64::new(0),
            open_until: AtomicU64::new(0),
        })
    }

    /// One GCRA step of `cost` cells on `key`: a bucket of `burst` refilled one every `interval`.
    pub(crate) async fn gcra(&self, key: &str, burst: u32, interval: Duration, cost: u32) -> Result<Step, Unreachable> {
        let interval = u64::try_from(interval.as_micros()).unwrap_or(u64::MAX).max(1);
        let mut invocation = self.gcra.key(key);
        invocation.arg(interval).arg(burst.max(1)).arg(cost.max(1));
        let mut connection = self.connection.clone();
        let (allowed, value): (u8, u64) = self.outcome(invocation.invoke_async(&mut connection)).await?;
        Ok(if allowed == 1 {
            Step::Allowed { remaining: u32::try_from(value).unwrap_or(u32::MAX) }
        } else {
            Step::Refused { wait: Duration::from_micros(value) }
        })
    }

    /// Lets a login go ahead (counted as a strike), or says how long to wait: the email is locked
    /// and the client not known-good for it, or the client is early for its growing delay.
    pub(crate) async fn login_admit(
        &self,
        keys: &LoginKeys,
        policy: &StrikePolicy,
    ) -> Result<Option<Duration>, Unreachable> {
        let mut invocation = self.login_admit.key(&keys.locked);
        invocation.key(&keys.known_good).key(&keys.strikes).arg(&keys.client).arg(policy.delay_after.max(1));
        invocation.arg(millis(policy.base_delay)).arg(millis(policy.max_delay));
        invocation.arg(millis(policy.window)).arg(millis(policy.delayed_memory));
        let mut connection = self.connection.clone();
        let wait: i64 = self.outcome(invocation.invoke_async(&mut connection)).await?;
        Ok(u64::try_from(wait).ok().filter(|wait| *wait > 0).map(Duration::from_millis))
    }

    /// Counts a failed login toward the email lock, locking the email for `window` once
    /// `lock_after` clients failed within it; true when this failure locked it.
    pub(crate) async fn login_failed(
        &self,
        keys: &LoginKeys,
        window: Duration,
        lock_after: usize,
    ) -> Result<bool, Unreachable> {
        let mut invocation = self.lock_failed.key(&keys.locked);
        invocation.key(&keys.failing).arg(&keys.client).arg(millis(window)).arg(lock_after.max(1));
        let mut connection = self.connection.clone();
        let locked: u8 = self.outcome(invocation.invoke_async(&mut connection)).await?;
        Ok(locked == 1)
    }

    /// Notes a successful login: the client's strikes are cleared and it is known-good for the
    /// email for `known_good_for`.
    pub(crate) async fn login_succeeded(&self, keys: &LoginKeys, known_good_for: Duration) -> Result<(), Unreachable> {
        let mut invocation = self.lock_succeeded.key(&keys.failing);
        invocation.key(&keys.known_good).key(&keys.strikes).arg(&keys.client).arg(millis(known_good_for));
        let mut connection = self.connection.clone();
        let _: u8 = self.outcome(invocation.invoke_async(&mut connection)).await?;
        Ok(())
    }

    /// Raises the WAL position `key`'s last write reached to at least `lsn`, remembered for `ttl`.
    pub(crate) async fn mark_write(&self, key: &str, lsn: u64, ttl: Duration) -> Result<(), Unreachable> {
        let mut invocation = self.mark_write.key(key);
        invocation.arg(lsn).arg(millis(ttl).max(1));
        let mut connection = self.connection.clone();
        let _: u8 = self.outcome(invocation.invoke_async(&mut connection)).await?;
        Ok(())
    }

    /// The highest WAL position the last writes of `keys` reached, if any is remembered.
    pub(crate) async fn last_write(&self, keys: &[String]) -> Result<Option<u64>, Unreachable> {
        let mut connection = self.connection.clone();
        let positions: Vec<Option<u64>> =
            self.outcome(redis::cmd("MGET").arg(keys).query_async(&mut connection)).await?;
        Ok(positions.into_iter().flatten().max())
    }

    /// Whether Redis answered the last call (false while it is away, until a call succeeds).
    pub(crate) fn is_answering(&self) -> bool {
        !self.failing.load(Ordering::Relaxed)
    }

    /// Whether a call may go to Redis now: the breaker is closed, or it has been open for
    /// `BREAK_FOR` and this caller is the one that tries again.
    fn may_call(&self) -> bool {
        let open_until = self.open_until.load(Ordering::Acquire);
        if open_until == 0 {
            return true;
        }
        let now = now_millis();
        now >= open_until
            && self
                .open_until
                .compare_exchange(
                    open_until,
                    now.saturating_add(millis(BREAK_FOR)),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
    }

    /// Awaits a call within `CALL_TIMEOUT` (none while the breaker is open), and notes an outage
    /// or its end.
    async fn outcome<T>(&self, call: impl Future<Output = RedisResult<T>>) -> Result<T, Unreachable> {
        if !self.may_call() {
            return Err(Unreachable);
        }
        let error = match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(value)) => {
                self.open_until.store(0, Ordering::Release);
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("shared state: Redis answers again");
                }
                return Ok(value);
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {CALL_TIMEOUT:?}"),
        };
        self.open_until.store(now_millis().saturating_add(millis(BREAK_FOR)), Ordering::Release);
        self.errors.inc();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let last = self.last_warning.load(Ordering::Relaxed);
        let newly = !self.failing.swap(true, Ordering::Relaxed);
        if (newly || now.saturating_sub(last) >= WARN_EVERY.as_secs())
            && self.last_warning.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            tracing::warn!(
                %error,
                "shared state: Redis is unreachable; each process enforces the request budget alone, sign-ins are refused"
            );
        }
        Err(Unreachable)
    }
}

fn now_millis() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(u64::MAX)
}
