//! Failed-login defences that protect an account without letting strangers lock its owner out:
//!
//! - per (email, client IP): after `delay_after` attempts without a success, each further attempt
//!   waits 1 s, 2 s, 4 s … up to `max_delay`; an attempt made before its wait is over is refused
//!   and doubles the wait again, so hammering only slows the hammering address down;
//! - per email: once `lock_after_ips` distinct addresses have failed on it within `window`, the
//!   email is locked for `window` for every address except the *known-good* ones, those that
//!   signed in to it successfully within `known_good_for`.
//!
//! A known-good address is an IP (an IPv6 /64) rather than a token: it needs nothing from the
//! client, and an attacker who can send from the owner's own network is still held to the
//! per-address delays. Everything is keyed by the email as typed, never by whether an account
//! exists, so the answers reveal nothing about which accounts exist. State lives in memory, per
//! process; with Redis (`shared_state`) all of it lives there instead, shared by every process,
//! with the same rules. A check that Redis cannot answer refuses the login (`SERVICE_UNAVAILABLE`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::super::whole_seconds;
use super::{SignInError, SignInResult};
use crate::config::Limits;
use crate::infra::shared_state::{LoginKeys, SharedState, StrikePolicy};

/// How long the strikes of an address that reached the delays are remembered after its last
/// attempt: long enough that waiting for them to be forgotten is slower than pacing the delays.
const DELAYED_MEMORY: Duration = Duration::from_secs(24 * 60 * 60);

/// Entries kept before the first sweep of forgotten ones.
const SWEEP_THRESHOLD: usize = 10_000;

/// The longest any configured duration is taken to be, so adding it to an `Instant` cannot
/// overflow.
const LONGEST: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// A client address as the defences see it: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64,
/// the block one household or server usually holds.
type Client = Option<IpAddr>;

fn client(ip: Option<IpAddr>) -> Client {
    ip.map(|ip| match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    })
}

/// The configured limits, checked.
#[derive(Debug, Clone, Copy)]
struct Policy {
    delay_after: u32,
    first_delay: Duration,
    max_delay: Duration,
    lock_after_ips: usize,
    window: Duration,
    known_good_for: Duration,
}

impl Policy {
    /// The wait after the `strikes`-th attempt without a success.
    fn delay(&self, strikes: u32) -> Option<Duration> {
        let beyond = strikes.checked_sub(self.delay_after)?;
        let delay = self.first_delay.checked_mul(2u32.checked_pow(beyond).unwrap_or(u32::MAX)).unwrap_or(Duration::MAX);
        Some(delay.min(self.max_delay))
    }
}

/// Attempts without a success from one address on one email.
#[derive(Debug, Clone, Copy)]
struct Strikes {
    count: u32,
    last: Instant,
    not_before: Instant,
}

impl Strikes {
    fn forgotten(&self, now: Instant, policy: &Policy) -> bool {
        let memory =
            if self.count >= policy.delay_after { DELAYED_MEMORY.max(policy.max_delay) } else { policy.window };
        now >= self.not_before && now.duration_since(self.last) >= memory
    }
}

/// The addresses that failed on one email lately, and its lock.
#[derive(Debug, Default)]
struct EmailFailures {
    failing: HashMap<Client, Instant>,
    locked_until: Option<Instant>,
}

impl EmailFailures {
    fn locked(&self, now: Instant) -> Option<Instant> {
        self.locked_until.filter(|until| *until > now)
    }

    fn forget_old(&mut self, now: Instant, window: Duration) {
        self.failing.retain(|_, at| now.duration_since(*at) < window);
        if self.locked(now).is_none() {
            self.locked_until = None;
        }
    }
}

#[derive(Debug, Default)]
struct State {
    strikes: HashMap<(String, Client), Strikes>,
    emails: HashMap<String, EmailFailures>,
    known_good: HashMap<(String, Client), Instant>,
    sweep_at: usize,
}

impl State {
    /// Drops forgotten entries once the maps have doubled since the last sweep.
    fn sweep(&mut self, now: Instant, policy: &Policy) {
        let size = self.strikes.len() + self.emails.len() + self.known_good.len();
        if size < self.sweep_at.max(SWEEP_THRESHOLD) {
            return;
        }
        self.strikes.retain(|_, strikes| !strikes.forgotten(now, policy));
        self.emails.retain(|_, email| {
            email.forget_old(now, policy.window);
            email.locked_until.is_some() || !email.failing.is_empty()
        });
        self.known_good.retain(|_, since| now.duration_since(*since) < policy.known_good_for);
        self.sweep_at = 2 * (self.strikes.len() + self.emails.len() + self.known_good.len());
    }
}

/// How a client is named in Redis.
fn client_key(ip: Option<IpAddr>) -> String {
    client(ip).map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// Growing delays per (email, address) and a lock per email that spares known-good addresses.
pub(crate) struct LoginGuard {
    policy: Policy,
    state: Mutex<State>,
    /// Where all of it lives instead of `state`, shared by every process.
    shared: Option<Arc<SharedState>>,
}

impl LoginGuard {
    /// A guard with the configured limits.
    #[cfg(test)]
    pub(crate) fn new(limits: &Limits) -> Self {
        Self::with_shared_state(limits, None)
    }

    /// Like `new`, everything kept in `shared` (Redis) when given.
    pub(crate) fn with_shared_state(limits: &Limits, shared: Option<Arc<SharedState>>) -> Self {
        let first_delay = limits.first_delay.clamp(Duration::from_secs(1), LONGEST);
        Self {
            shared,
            policy: Policy {
                delay_after: limits.failures_before_delay.max(1),
                first_delay,
                max_delay: limits.max_delay.clamp(first_delay, LONGEST),
                lock_after_ips: usize::try_from(limits.lock_after_ips.max(1)).unwrap_or(usize::MAX),
                window: limits.lock_duration.min(LONGEST),
                known_good_for: limits.known_good_duration.min(LONGEST),
            },
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> SignInResult<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| SignInError::Internal("login guard poisoned".into()))
    }

    /// Lets a login attempt on `email` from `ip` go ahead, counting it as a failure until
    /// `succeeded` says otherwise (so parallel attempts cannot slip past the count), or says how
    /// long to wait.
    pub(crate) fn admit(&self, email: &str, ip: Option<IpAddr>, now: Instant) -> SignInResult<()> {
        let policy = self.policy;
        let key = (email.to_owned(), client(ip));
        let mut state = self.state()?;
        state.sweep(now, &policy);
        let known_good =
            state.known_good.get(&key).is_some_and(|since| now.duration_since(*since) < policy.known_good_for);
        if !known_good && let Some(until) = state.emails.get(email).and_then(|failures| failures.locked(now)) {
            return Err(SignInError::RateLimited { retry_after: whole_seconds(until - now) });
        }
        let strikes = state.strikes.entry(key).or_insert(Strikes { count: 0, last: now, not_before: now });
        if strikes.forgotten(now, &policy) {
            *strikes = Strikes { count: 0, last: now, not_before: now };
        }
        let early = strikes.not_before > now;
        strikes.count = strikes.count.saturating_add(1);
        strikes.last = now;
        if let Some(delay) = policy.delay(strikes.count) {
            strikes.not_before = now + delay;
        }
        if early {
            return Err(SignInError::RateLimited { retry_after: whole_seconds(strikes.not_before - now) });
        }
        Ok(())
    }

    /// Notes a failed login on `email` from `ip`, locking the email when enough addresses failed.
    pub(crate) fn failed(&self, email: &str, ip: Option<IpAddr>, now: Instant) {
        let policy = self.policy;
        let Ok(mut state) = self.state() else { return };
        let failures = state.emails.entry(email.to_owned()).or_default();
        failures.forget_old(now, policy.window);
        failures.failing.insert(client(ip), now);
        if failures.locked_until.is_none() && failures.failing.len() >= policy.lock_after_ips {
            failures.locked_until = Some(now + policy.window);
            // The lock has its own clock: after it, as many addresses must fail again.
            failures.failing.clear();
            tracing::warn!("an email was locked after failed logins from many addresses");
        }
    }

    /// Notes a successful login on `email` from `ip`: that address's strikes are cleared and it is
    /// known-good from now on. Other addresses' strikes and a lock in force stay: the owner
    /// signing in does not lift what attackers earned.
    pub(crate) fn succeeded(&self, email: &str, ip: Option<IpAddr>, now: Instant) {
        let client = client(ip);
        let key = (email.to_owned(), client);
        let Ok(mut state) = self.state() else { return };
        state.strikes.remove(&key);
        if let Some(failures) = state.emails.get_mut(email) {
            failures.failing.remove(&client);
        }
        state.known_good.insert(key, now);
    }

    /// `admit` now, in Redis when shared.
    pub(crate) async fn check(&self, email: &str, ip: Option<IpAddr>) -> SignInResult<()> {
        let Some(shared) = &self.shared else { return self.admit(email, ip, Instant::now()) };
        let policy = StrikePolicy {
            delay_after: self.policy.delay_after,
            base_delay: self.policy.first_delay,
            max_delay: self.policy.max_delay,
            window: self.policy.window,
            delayed_memory: DELAYED_MEMORY,
        };
        match shared.login_admit(&LoginKeys::new(email, &client_key(ip)), &policy).await {
            Ok(None) => Ok(()),
            Ok(Some(wait)) => Err(SignInError::RateLimited { retry_after: whole_seconds(wait) }),
            Err(_) => Err(SignInError::Unavailable),
        }
    }

    /// `failed` now, in Redis when shared.
    pub(crate) async fn fail(&self, email: &str, ip: Option<IpAddr>) {
        let Some(shared) = &self.shared else { return self.failed(email, ip, Instant::now()) };
        let keys = LoginKeys::new(email, &client_key(ip));
        // A failure to record is counted and logged by `shared_state`.
        if let Ok(true) = shared.login_failed(&keys, self.policy.window, self.policy.lock_after_ips).await {
            tracing::warn!("an email was locked after failed logins from many addresses");
        }
    }

    /// `succeeded` now, in Redis when shared.
    pub(crate) async fn succeed(&self, email: &str, ip: Option<IpAddr>) {
        let Some(shared) = &self.shared else { return self.succeeded(email, ip, Instant::now()) };
        // A failure to record is counted and logged by `shared_state`; the login went through.
        let _ = shared.login_succeeded(&LoginKeys::new(email, &client_key(ip)), self.policy.known_good_for).await;
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::panic, reason = "a failing test should fail loudly")]
mod tests {
    use super::*;

    fn guard() -> LoginGuard {
        LoginGuard::new(&Limits {
            failures_before_delay: 3,
            max_delay: Duration::from_secs(60),
            lock_after_ips: 3,
            lock_duration: Duration::from_secs(600),
            known_good_duration: Duration::from_secs(3600),
            ..Limits::default()
        })
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    fn wait(result: SignInResult<()>) -> Option<u64> {
        match result {
            Ok(()) => None,
            Err(SignInError::RateLimited { retry_after }) => Some(retry_after),
            Err(other) => panic!("unexpected {other}"),
        }
    }

    fn fail(guard: &LoginGuard, email: &str, ip: Option<IpAddr>, now: Instant) -> Option<u64> {
        let waited = wait(guard.admit(email, ip, now));
        if waited.is_none() {
            guard.failed(email, ip, now);
        }
        waited
    }

    #[test]
    fn waits_double_up_to_the_cap_and_patience_is_rewarded_the_same() {
        let guard = guard();
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(fail(&guard, "a@b.c", ip(1), start), None);
        }
        // Hammering: each early attempt doubles the wait.
        let early: Vec<_> = (0..8).map(|_| fail(&guard, "a@b.c", ip(1), start)).collect();
        assert_eq!(early, [Some(2), Some(4), Some(8), Some(16), Some(32), Some(60), Some(60), Some(60)]);
        // Waiting it out lets one attempt through, and the next waits longer still.
        let later = start + Duration::from_secs(60);
        assert_eq!(fail(&guard, "a@b.c", ip(1), later), None);
        assert_eq!(fail(&guard, "a@b.c", ip(1), later), Some(60));
        // Another address, and the same address on another email, are untouched.
        assert_eq!(fail(&guard, "a@b.c", ip(2), start), None);
        assert_eq!(fail(&guard, "x@b.c", ip(1), start), None);
    }

    #[test]
    fn huge_settings_do_not_overflow() {
        let guard = LoginGuard::new(&Limits {
            failures_before_delay: 1,
            max_delay: Duration::MAX,
            lock_after_ips: 2,
            lock_duration: Duration::MAX,
            known_good_duration: Duration::MAX,
            ..Limits::default()
        });
        let now = Instant::now();
        assert_eq!(fail(&guard, "a@b.c", ip(1), now), None);
        let waits: Vec<_> = (0..100).map(|_| fail(&guard, "a@b.c", ip(1), now).unwrap()).collect();
        assert_eq!(waits.last(), Some(&LONGEST.as_secs()));
        assert_eq!(fail(&guard, "a@b.c", ip(2), now), None);
        assert_eq!(fail(&guard, "a@b.c", ip(3), now), Some(LONGEST.as_secs()), "locked");
    }

    #[test]
    fn ipv6_counts_by_slash_64_and_mapped_ipv4_as_ipv4() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let same_block: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(client(Some(one)), client(Some(same_block)));
        assert_ne!(client(Some(one)), client(Some("2001:db8:1:3::1".parse().unwrap())));
        assert_eq!(client(Some("::ffff:10.0.0.1".parse().unwrap())), ip(1));
    }

    #[test]
    fn many_addresses_lock_an_email_except_for_known_good_ones_until_the_window_ends() {
        let guard = guard();
        let now = Instant::now();
        guard.admit("a@b.c", ip(9), now).unwrap();
        guard.succeeded("a@b.c", ip(9), now);
        for last in 1..=3 {
            assert_eq!(fail(&guard, "a@b.c", ip(last), now), None);
        }
        assert_eq!(wait(guard.admit("a@b.c", ip(4), now)), Some(600));
        assert_eq!(wait(guard.admit("a@b.c", ip(1), now)), Some(600));
        assert_eq!(wait(guard.admit("a@b.c", ip(9), now)), None, "a known-good address is let in");
        guard.succeeded("a@b.c", ip(9), now);
        assert_eq!(wait(guard.admit("a@b.c", ip(4), now)), Some(600), "the owner's success does not lift the lock");
        let after = now + Duration::from_secs(600);
        assert_eq!(wait(guard.admit("a@b.c", ip(4), after)), None);
        // Known-good status fades.
        let much_later = now + Duration::from_secs(3600);
        for last in 1..=3 {
            fail(&guard, "a@b.c", ip(last + 10), much_later);
        }
        assert!(wait(guard.admit("a@b.c", ip(9), much_later)).is_some());
    }
}
