//! Guards passwords and mailboxes against guessing and flooding: a per-IP budget of sign-in
//! attempts (the `SIGN_IN_OPERATIONS`, each of which hashes or checks a password, or sends mail),
//! and the failed-login defences of `lockout` (growing delays per email and address, a lock per
//! email that spares known-good addresses). All of it lives in this process's memory, or in Redis
//! (`infra::shared_state`) shared by every process; when Redis cannot answer, sign-ins are refused
//! (`SERVICE_UNAVAILABLE`): failing open would hand password guessers an unmetered window whenever
//! Redis is down.

pub(crate) mod lockout;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::whole_seconds;
use crate::config::Limits;
use crate::infra::shared_state::{SharedState, Step};
use lockout::LoginGuard;

/// Why a sign-in operation is refused before it runs.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SignInError {
    /// Too many attempts; try again after `retry_after` seconds.
    #[error("too many requests")]
    RateLimited { retry_after: u64 },
    /// The shared state the budgets live in (Redis) cannot answer: sign-ins are refused rather
    /// than let through unmetered.
    #[error("the service is unavailable, try again shortly")]
    Unavailable,
    /// A failure whose detail is for the log only.
    #[error("internal error")]
    Internal(String),
}

/// The result of a sign-in limit's check.
pub(crate) type SignInResult<T> = Result<T, SignInError>;

/// An operation that spends the client's sign-in budget (`FANDB_SIGN_INS_PER_MINUTE`): it hashes
/// or checks a password, or sends mail. `SignInThrottle::attempt` takes one, so whatever spends
/// the budget is a variant here, and so in `SIGN_IN_OPERATIONS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOperation {
    Login,
    Register,
    ChangePassword,
    DeleteAccount,
    ResetPassword,
    RequestPasswordReset,
    ResendVerification,
}

impl SignInOperation {
    /// The mutation's name in the schema.
    pub const fn field(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Register => "register",
            Self::ChangePassword => "changePassword",
            Self::DeleteAccount => "deleteAccount",
            Self::ResetPassword => "resetPassword",
            Self::RequestPasswordReset => "requestPasswordReset",
            Self::ResendVerification => "resendVerification",
        }
    }
}

/// Every sign-in operation, the one list the budget, the one-a-request rule
/// (`limits::document`), `fandb --help` and the tables of docs/OPERATIONS.md and docs/API.md name (a test compares them).
pub const SIGN_IN_OPERATIONS: &[SignInOperation] = &[
    SignInOperation::Login,
    SignInOperation::Register,
    SignInOperation::ChangePassword,
    SignInOperation::DeleteAccount,
    SignInOperation::ResetPassword,
    SignInOperation::RequestPasswordReset,
    SignInOperation::ResendVerification,
];

/// The sign-in operations' names joined by `separator`, with `last` before the last one
/// (`login, register or deleteAccount`), for messages and `--help`.
pub(crate) fn sign_in_operation_list(separator: &str, last: &str) -> String {
    let names: Vec<&str> = SIGN_IN_OPERATIONS.iter().map(|operation| operation.field()).collect();
    match names.split_last() {
        Some((final_name, [])) => (*final_name).to_owned(),
        Some((final_name, rest)) => format!("{}{last}{final_name}", rest.join(separator)),
        None => String::new(),
    }
}

/// Attempts between sweeps of the per-IP budgets.
const SWEEP_THRESHOLD: usize = 10_000;

/// Sign-in attempt budgets and failed-login defences.
pub(crate) struct SignInThrottle {
    per_ip: PerIp,
    logins: LoginGuard,
}

/// Where the per-IP budgets are kept.
enum PerIp {
    /// In this process.
    Local { buckets: DefaultKeyedRateLimiter<IpAddr>, clock: DefaultClock, attempts: AtomicU64 },
    /// In Redis: a bucket of `per_minute` refilled one every `interval`.
    Shared { shared: Arc<SharedState>, per_minute: u32, interval: Duration },
}

impl SignInThrottle {
    /// A throttle with the configured limits, its per-IP budgets in Redis when `shared` is given.
    pub(crate) fn new(limits: &Limits, shared: Option<Arc<SharedState>>) -> Self {
        let per_minute = NonZeroU32::new(limits.sign_ins_per_minute).unwrap_or(NonZeroU32::MIN);
        let shared_lock = shared.clone();
        let per_ip = match shared {
            Some(shared) => PerIp::Shared {
                shared,
                per_minute: per_minute.get(),
                interval: Duration::from_secs(60) / per_minute.get(),
            },
            None => PerIp::Local {
                buckets: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute)),
                clock: DefaultClock::default(),
                attempts: AtomicU64::new(0),
            },
        };
        Self { per_ip, logins: LoginGuard::with_shared_state(limits, shared_lock) }
    }

    /// Spends one attempt of `ip`'s budget on `operation`, or says when the next one is allowed.
    /// Every operation draws from the same budget; the name goes in the refusal's log line.
    pub(crate) async fn attempt(&self, operation: SignInOperation, ip: Option<IpAddr>) -> SignInResult<()> {
        let Some(ip) = ip else { return Ok(()) };
        let spent = self.spend(ip).await;
        if let Err(SignInError::RateLimited { retry_after }) = &spent {
            tracing::debug!(operation = operation.field(), retry_after, "sign-in budget spent: refused");
        }
        spent
    }

    async fn spend(&self, ip: IpAddr) -> SignInResult<()> {
        match &self.per_ip {
            PerIp::Local { buckets, clock, attempts } => {
                if attempts.fetch_add(1, Ordering::Relaxed).is_multiple_of(SWEEP_THRESHOLD as u64) {
                    // Forget clients whose budget is full again.
                    buckets.retain_recent();
                }
                buckets.check_key(&ip).map_err(|not_until| SignInError::RateLimited {
                    retry_after: whole_seconds(not_until.wait_time_from(clock.now())),
                })
            }
            PerIp::Shared { shared, per_minute, interval } => {
                match shared.gcra(&format!("fandb:rl:signin:{ip}"), *per_minute, *interval, 1).await {
                    Ok(Step::Allowed { .. }) => Ok(()),
                    Ok(Step::Refused { wait }) => Err(SignInError::RateLimited { retry_after: whole_seconds(wait) }),
                    Err(_) => Err(SignInError::Unavailable),
                }
            }
        }
    }

    /// Lets a login on `email` from `ip` go ahead (counted as failed until `record_success`), or
    /// says how long to wait: this address is being slowed down on this email, or the email is
    /// locked and this address is not a known-good one.
    pub(crate) async fn admit_login(&self, email: &str, ip: Option<IpAddr>) -> SignInResult<()> {
        self.logins.check(email, ip).await
    }

    /// Notes a failed login on `email` from `ip`.
    pub(crate) async fn record_failure(&self, email: &str, ip: Option<IpAddr>) {
        self.logins.fail(email, ip).await;
    }

    /// Notes a successful login on `email` from `ip`.
    pub(crate) async fn record_success(&self, email: &str, ip: Option<IpAddr>) {
        self.logins.succeed(email, ip).await;
    }
}
