//! Sign-in throttling: a per-IP budget of attempts (`login` and `register`, which both cost a
//! password hash) and a lock on an email after repeated failed logins. Unknown emails are tracked
//! exactly like known ones, so a lock reveals nothing about which accounts exist. State is kept in
//! memory per process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::Limits;
use crate::domain::{DomainError, DomainResult};

/// How many emails (or attempts, for IPs) are remembered before old entries are swept.
const SWEEP_THRESHOLD: usize = 10_000;

/// Failed logins on one email.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Sign-in attempt budgets and email locks.
pub struct SignInThrottle {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    failures: Mutex<HashMap<String, Failures>>,
    failures_before_lock: u32,
    lock_duration: Duration,
    attempts: AtomicU64,
}

impl SignInThrottle {
    /// A throttle with the configured limits.
    pub fn new(limits: &Limits) -> Self {
        let per_minute = NonZeroU32::new(limits.sign_ins_per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            per_ip: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
            failures: Mutex::new(HashMap::new()),
            failures_before_lock: limits.failures_before_lock.max(1),
            lock_duration: limits.lock_duration,
            attempts: AtomicU64::new(0),
        }
    }

    /// Spends one attempt of `ip`'s budget, or says when the next one is allowed.
    pub fn attempt(&self, ip: Option<IpAddr>) -> DomainResult<()> {
        let Some(ip) = ip else { return Ok(()) };
        if self.attempts.fetch_add(1, Ordering::Relaxed).is_multiple_of(SWEEP_THRESHOLD as u64) {
            // Forget clients whose budget is full again.
            self.per_ip.retain_recent();
        }
        self.per_ip.check_key(&ip).map_err(|not_until| DomainError::RateLimited {
            retry_after: whole_seconds(not_until.wait_time_from(self.clock.now())),
        })
    }

    /// Refuses a login on `email` while it is locked.
    pub fn check_unlocked(&self, email: &str) -> DomainResult<()> {
        let now = Instant::now();
        let failures = self.failures.lock().map_err(|_| DomainError::Internal("sign-in throttle poisoned".into()))?;
        match failures.get(email).and_then(|entry| entry.locked_until) {
            Some(until) if until > now => Err(DomainError::RateLimited { retry_after: whole_seconds(until - now) }),
            _ => Ok(()),
        }
    }

    /// Counts a failed login on `email`, locking it at the limit.
    pub fn record_failure(&self, email: &str) {
        let now = Instant::now();
        let Ok(mut failures) = self.failures.lock() else { return };
        if failures.len() >= SWEEP_THRESHOLD {
            let lock_duration = self.lock_duration;
            failures.retain(|_, entry| {
                entry.locked_until.is_some_and(|until| until > now) || now.duration_since(entry.last) < lock_duration
            });
        }
        let entry = failures.entry(email.to_owned()).or_insert(Failures { count: 0, last: now, locked_until: None });
        if entry.locked_until.is_some_and(|until| until <= now) || now.duration_since(entry.last) >= self.lock_duration
        {
            // The lock or the run of failures is over: count afresh.
            *entry = Failures { count: 0, last: now, locked_until: None };
        }
        entry.count += 1;
        entry.last = now;
        if entry.count >= self.failures_before_lock {
            entry.locked_until = Some(now + self.lock_duration);
            tracing::warn!("an email was locked after repeated failed logins");
        }
    }

    /// Forgets the failures of `email` after a successful login.
    pub fn record_success(&self, email: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(email);
        }
    }
}

/// Seconds to wait, rounded up so a client that waits exactly that long is let in.
pub fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}
