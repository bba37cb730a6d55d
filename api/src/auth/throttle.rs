//! Sign-in throttling: a per-IP budget of attempts (`login` and `register`, which both cost a
//! password hash), and the failed-login defences of `lockout` (growing delays per email and
//! address, a lock per email that spares known-good addresses). State is kept in memory per
//! process.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::lockout::LoginGuard;
use crate::config::Limits;
use crate::domain::{DomainError, DomainResult};

/// Attempts between sweeps of the per-IP budgets.
const SWEEP_THRESHOLD: usize = 10_000;

/// Sign-in attempt budgets and failed-login defences.
pub struct SignInThrottle {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    logins: LoginGuard,
    attempts: AtomicU64,
}

impl SignInThrottle {
    /// A throttle with the configured limits.
    pub fn new(limits: &Limits) -> Self {
        let per_minute = NonZeroU32::new(limits.sign_ins_per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            per_ip: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
            logins: LoginGuard::new(limits),
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

    /// Lets a login on `email` from `ip` go ahead (counted as failed until `record_success`), or
    /// says how long to wait: this address is being slowed down on this email, or the email is
    /// locked and this address is not a known-good one.
    pub fn admit_login(&self, email: &str, ip: Option<IpAddr>) -> DomainResult<()> {
        self.logins.admit(email, ip, Instant::now())
    }

    /// Notes a failed login on `email` from `ip`.
    pub fn record_failure(&self, email: &str, ip: Option<IpAddr>) {
        self.logins.failed(email, ip, Instant::now());
    }

    /// Notes a successful login on `email` from `ip`.
    pub fn record_success(&self, email: &str, ip: Option<IpAddr>) {
        self.logins.succeeded(email, ip, Instant::now());
    }
}

/// Seconds to wait, rounded up so a client that waits exactly that long is let in.
pub fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}
