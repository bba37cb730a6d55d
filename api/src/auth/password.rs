//! Passwords: argon2id at OWASP's minimum (m = 19 MiB, t = 2, p = 1) as PHC strings with a salt per
//! hash, computed on a fixed number of threads at normal priority behind a bounded queue. The
//! thread count caps the CPU hashing can take (half the cores by default), so a burst of logins
//! cannot stall reads; normal priority means busy reads cannot starve logins either. A full queue,
//! or a job that waited too long in it, is answered at once with `RateLimited` and a retry hint.
//! Unknown accounts are checked against a dummy hash so they cost the same time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::oneshot;

use super::error::{AuthError, AuthResult};
use crate::config::Limits;

/// The shortest password accepted.
pub(crate) const MIN_LENGTH: usize = 8;
/// The longest password accepted (checked before hashing, so a huge input costs nothing).
pub(crate) const MAX_LENGTH: usize = 128;
/// The longest a job may wait in the queue before it is refused instead of run: well inside the
/// 10 s execution timeout, so a login is told to retry rather than timed out.
const MAX_QUEUE_WAIT: Duration = Duration::from_secs(5);
/// The first guess at one hash's wall time, until one has been measured.
const INITIAL_HASH_MICROS: u64 = 50_000;

fn argon2() -> AuthResult<Argon2<'static>> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|error| AuthError::Internal(format!("argon2 params: {error}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks a new password: its length, that it is not only white space, and that it is not one
/// of the most common passwords (any case, see `common_passwords`); `field` names the input at
/// fault.
pub(crate) fn check_strength(password: &str, field: &str) -> AuthResult<()> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(AuthError::invalid(field, format!("must be at least {MIN_LENGTH} characters")));
    }
    if length > MAX_LENGTH {
        return Err(AuthError::invalid(field, format!("must be at most {MAX_LENGTH} characters")));
    }
    if password.chars().all(char::is_whitespace) {
        return Err(AuthError::invalid(field, "must not be only white space"));
    }
    if super::common_passwords::is_common(password) {
        return Err(AuthError::invalid(field, "is one of the most common passwords: choose another"));
    }
    Ok(())
}

/// A unit of hashing work: run with `None`, or with `Some(retry_after)` when it waited too long and
/// must only answer that; it says whether it hashed.
struct Job {
    queued_at: Instant,
    work: Box<dyn FnOnce(Option<u64>) -> bool + Send>,
}

/// What the hashing threads and the callers share.
struct Pool {
    jobs: Mutex<Receiver<Job>>,
    threads: usize,
    queue: usize,
    /// A moving average of one job's wall time (it grows when the CPU is contended).
    hash_micros: AtomicU64,
}

impl Pool {
    /// Seconds until a full queue has likely drained: what a refused caller should wait.
    fn retry_after(&self) -> u64 {
        let micros = self.hash_micros.load(Ordering::Relaxed).max(1);
        let drain = (self.queue as u64 + self.threads as u64).saturating_mul(micros) / self.threads.max(1) as u64;
        drain.div_ceil(1_000_000).max(1)
    }

    fn record(&self, took: Duration) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let old = self.hash_micros.load(Ordering::Relaxed);
        self.hash_micros.store(old - old / 8 + sample / 8, Ordering::Relaxed);
    }
}

/// Hashes and verifies passwords on a fixed number of threads behind a bounded queue.
pub(crate) struct Passwords {
    jobs: SyncSender<Job>,
    pool: Arc<Pool>,
    dummy_hash: String,
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new(&Limits::default())
    }
}

impl Passwords {
    /// Starts `limits.hash_threads` hashing threads behind a queue of `limits.hash_queue` jobs.
    pub(crate) fn new(limits: &Limits) -> Self {
        let threads = limits.hash_threads.max(1);
        let queue = limits.hash_queue;
        let (sender, receiver) = sync_channel::<Job>(queue);
        let pool = Arc::new(Pool {
            jobs: Mutex::new(receiver),
            threads,
            queue,
            hash_micros: AtomicU64::new(INITIAL_HASH_MICROS),
        });
        for index in 0..threads {
            let pool = pool.clone();
            let spawned =
                std::thread::Builder::new().name(format!("fandb-hash-{index}")).spawn(move || hashing_thread(&pool));
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start a password hashing thread");
            }
        }
        // A fixed PHC string with real parameters: verifying against it costs what a real check costs.
        let dummy_hash =
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Q2b0eMHe7x9CfxvW8/bYJsJ7rU5Kq2lFfDm0b4m9pWk"
                .to_owned();
        Self { jobs: sender, pool, dummy_hash }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> AuthResult<T> + Send + 'static) -> AuthResult<T> {
        let (answer, answered) = oneshot::channel();
        let work = Box::new(move |too_late: Option<u64>| {
            // The caller gave up (timeout, disconnect): don't spend 60 ms on an answer nobody reads.
            if answer.is_closed() {
                return false;
            }
            let (result, hashed) = match too_late {
                Some(retry_after) => (Err(AuthError::RateLimited { retry_after }), false),
                None => (work(), true),
            };
            let _ = answer.send(result);
            hashed
        });
        match self.jobs.try_send(Job { queued_at: Instant::now(), work }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(AuthError::RateLimited { retry_after: self.pool.retry_after() });
            }
            Err(TrySendError::Disconnected(_)) => return Err(AuthError::Unavailable),
        }
        answered.await.map_err(|_| AuthError::Unavailable)?
    }
    /// The PHC string of a new hash of `password`.
    pub(crate) async fn hash(&self, password: &str) -> AuthResult<String> {
        let password = password.to_owned();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()?
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|error| AuthError::Internal(format!("hashing: {error}")))
        })
        .await
    }

    /// Whether `password` matches `phc`; with `None` (no such account) a dummy hash is checked
    /// instead and the answer is always `false`.
    pub(crate) async fn verify(&self, password: &str, phc: Option<&str>) -> AuthResult<bool> {
        let known = phc.is_some();
        let phc = phc.unwrap_or(&self.dummy_hash).to_owned();
        let password = password.to_owned();
        self.run(move || {
            let parsed =
                PasswordHash::new(&phc).map_err(|error| AuthError::Internal(format!("stored hash: {error}")))?;
            Ok(argon2()?.verify_password(password.as_bytes(), &parsed).is_ok() && known)
        })
        .await
    }
}

/// Runs hashing jobs until the pool is dropped; a job that waited past `MAX_QUEUE_WAIT` is refused
/// rather than run, so the queue drains quickly once it has fallen behind.
fn hashing_thread(pool: &Pool) {
    loop {
        let job = match pool.jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        if job.queued_at.elapsed() > MAX_QUEUE_WAIT {
            let _ = (job.work)(Some(pool.retry_after()));
            continue;
        }
        let started = Instant::now();
        if (job.work)(None) {
            pool.record(started.elapsed());
        }
    }
}
