//! Guards the server's capacity per client: a request budget per client IP on `/graphql`, a
//! bucket of `request_burst` requests refilled at `requests_per_second` (GCRA, by `governor`).
//! The `http::rate_limit` middleware spends one request of it per request and the request's cost
//! (`graphql::cost`) the rest; every answer but a public one (which shared caches keep for
//! everyone) says what is left in `RateLimit-*` headers; an empty bucket gets 429 with
//! `Retry-After` and a `RATE_LIMITED` GraphQL error.
//! The buckets live in this process's memory, or in Redis (`shared_state`) so that every process
//! behind one load balancer draws from the same one; when Redis cannot answer, each process
//! enforces the same budget in its own buckets until Redis is back: never limits off, and never
//! the whole API down with it.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::http::header::{HeaderName, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota};

use super::whole_seconds;
use crate::config::Limits;
use crate::infra::shared_state::{SharedState, Step};

/// How often (in requests) state of clients whose bucket is full again is dropped.
const SWEEP_EVERY: u64 = 4096;

/// The per-IP request budgets of one server.
pub(crate) struct RequestLimiter {
    buckets: Buckets,
    burst: u32,
    per_second: u32,
}

/// Where the buckets are kept.
enum Buckets {
    /// In this process.
    Local(LocalBuckets),
    /// In Redis, shared by every process using it; this process's own while Redis is away.
    Shared { shared: Arc<SharedState>, fallback: LocalBuckets },
}

/// Buckets in this process's memory.
struct LocalBuckets {
    buckets: DefaultKeyedRateLimiter<IpAddr, StateInformationMiddleware>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl LocalBuckets {
    fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        Self {
            buckets: DefaultKeyedRateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
                .with_middleware::<StateInformationMiddleware>(),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// Spends `units` of `ip`'s bucket; `full_refill` is the wait when `units` exceed a whole one.
    fn check(&self, ip: IpAddr, units: NonZeroU32, full_refill: u64) -> Verdict {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.buckets.retain_recent();
        }
        match self.buckets.check_key_n(&ip, units) {
            Ok(Ok(snapshot)) => Verdict::Allowed { remaining: snapshot.remaining_burst_capacity() },
            Ok(Err(not_until)) => {
                Verdict::Refused { retry_after: whole_seconds(not_until.wait_time_from(self.clock.now())).max(1) }
            }
            // More than a full bucket: no wait makes it fit.
            Err(_) => Verdict::Refused { retry_after: full_refill.max(1) },
        }
    }
}

/// What a client learns about its budget.
pub(crate) enum Verdict {
    /// Let through; this many requests are left right now.
    Allowed { remaining: u32 },
    /// Refused; try again after this many seconds.
    Refused { retry_after: u64 },
}

impl RequestLimiter {
    /// Budgets with the configured rate and burst, in Redis when `shared` is given.
    pub(crate) fn new(limits: &Limits, shared: Option<Arc<SharedState>>) -> Self {
        let per_second = NonZeroU32::new(limits.requests_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.request_burst).unwrap_or(per_second);
        let local = LocalBuckets::new(per_second, burst);
        let buckets = match shared {
            Some(shared) => Buckets::Shared { shared, fallback: local },
            None => Buckets::Local(local),
        };
        Self { buckets, burst: burst.get(), per_second: per_second.get() }
    }

    /// Whether the shared budget is answering: `None` without Redis.
    pub(crate) fn shared_budget_answering(&self) -> Option<bool> {
        match &self.buckets {
            Buckets::Local(_) => None,
            Buckets::Shared { shared, .. } => Some(shared.is_answering()),
        }
    }

    pub(crate) async fn check(&self, ip: IpAddr, units: NonZeroU32) -> Verdict {
        let full_refill = u64::from(self.burst.div_ceil(self.per_second));
        match &self.buckets {
            Buckets::Local(local) => local.check(ip, units, full_refill),
            Buckets::Shared { shared, fallback } => {
                let interval = Duration::from_secs(1) / self.per_second;
                match shared.gcra(&format!("fandb:rl:req:{ip}"), self.burst, interval, units.get()).await {
                    Ok(Step::Allowed { remaining }) => Verdict::Allowed { remaining },
                    Ok(Step::Refused { wait }) => Verdict::Refused { retry_after: whole_seconds(wait).max(1) },
                    Err(_) => fallback.check(ip, units, full_refill),
                }
            }
        }
    }

    /// Spends one request of `ip`'s budget (an operation over a WebSocket costs what a request
    /// does); when it is empty, the seconds to wait.
    pub(crate) async fn spend(&self, ip: IpAddr) -> Result<(), u64> {
        self.spend_units(ip, NonZeroU32::MIN).await
    }

    /// Spends `units` requests of `ip`'s budget, or says how many seconds to wait.
    pub(crate) async fn spend_units(&self, ip: IpAddr, units: NonZeroU32) -> Result<(), u64> {
        match self.check(ip, units).await {
            Verdict::Allowed { .. } => Ok(()),
            Verdict::Refused { retry_after } => Err(retry_after),
        }
    }

    /// The most requests a full bucket holds.
    pub(crate) fn burst(&self) -> u32 {
        self.burst
    }

    /// The `RateLimit-*` headers for a client with `remaining` requests left.
    pub(crate) fn headers(&self, remaining: u32) -> [(HeaderName, HeaderValue); 4] {
        let refill_seconds = (self.burst - remaining.min(self.burst)).div_ceil(self.per_second);
        let window = self.burst.div_ceil(self.per_second);
        [
            (HeaderName::from_static("ratelimit-limit"), HeaderValue::from(self.burst)),
            (HeaderName::from_static("ratelimit-remaining"), HeaderValue::from(remaining)),
            (HeaderName::from_static("ratelimit-reset"), HeaderValue::from(refill_seconds)),
            (
                HeaderName::from_static("ratelimit-policy"),
                HeaderValue::from_str(&format!("{};w={window}", self.burst))
                    .unwrap_or(HeaderValue::from_static("unknown")),
            ),
        ]
    }
}
