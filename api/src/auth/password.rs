//! Passwords: argon2id at OWASP's minimum (m = 19 MiB, t = 2, p = 1) as PHC strings with a salt per
//! hash, computed on a pool of one thread per core in the idle scheduling class, so a
//! burst of logins uses idle CPU but never stalls other requests. Unknown accounts are checked
//! against a dummy hash so they cost the same time.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::oneshot;

use crate::domain::{DomainError, DomainResult};

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 8;
/// The longest password accepted (checked before hashing, so a huge input costs nothing).
pub const MAX_LENGTH: usize = 128;

fn argon2() -> DomainResult<Argon2<'static>> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|error| DomainError::Internal(format!("argon2 params: {error}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks a new password's length; `field` names the input at fault.
pub fn check_strength(password: &str, field: &str) -> DomainResult<()> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(DomainError::invalid(field, format!("must be at least {MIN_LENGTH} characters")));
    }
    if length > MAX_LENGTH {
        return Err(DomainError::invalid(field, format!("must be at most {MAX_LENGTH} characters")));
    }
    Ok(())
}

/// A unit of hashing work; it answers through its own channel.
type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords on dedicated low-priority threads, one per core.
pub struct Passwords {
    jobs: Sender<Job>,
    dummy_hash: String,
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

impl Passwords {
    /// Starts one hashing thread per core, each at the lowest priority the OS grants.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        let (sender, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..cores {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("fandb-hash-{index}"))
                .spawn(move || hashing_thread(&receiver));
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start a password hashing thread");
            }
        }
        // A fixed PHC string with real parameters: verifying against it costs what a real check costs.
        let dummy_hash =
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Q2b0eMHe7x9CfxvW8/bYJsJ7rU5Kq2lFfDm0b4m9pWk"
                .to_owned();
        Self { jobs: sender, dummy_hash }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> DomainResult<T> + Send + 'static) -> DomainResult<T> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller gave up (timeout, disconnect): don't spend 60 ms on an answer nobody reads.
            if !answer.is_closed() {
                let _ = answer.send(work());
            }
        });
        self.jobs.send(job).map_err(|_| DomainError::Unavailable)?;
        answered.await.map_err(|_| DomainError::Unavailable)?
    }

    /// The PHC string of a new hash of `password`.
    pub async fn hash(&self, password: &str) -> DomainResult<String> {
        let password = password.to_owned();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()?
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|error| DomainError::Internal(format!("hashing: {error}")))
        })
        .await
    }

    /// Whether `password` matches `phc`; with `None` (no such account) a dummy hash is checked
    /// instead and the answer is always `false`.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> DomainResult<bool> {
        let known = phc.is_some();
        let phc = phc.unwrap_or(&self.dummy_hash).to_owned();
        let password = password.to_owned();
        self.run(move || {
            let parsed =
                PasswordHash::new(&phc).map_err(|error| DomainError::Internal(format!("stored hash: {error}")))?;
            Ok(argon2()?.verify_password(password.as_bytes(), &parsed).is_ok() && known)
        })
        .await
    }
}

/// Runs hashing jobs until the pool is dropped, after lowering this thread's priority.
fn hashing_thread(jobs: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Puts the calling thread in the idle scheduling class (Linux `SCHED_IDLE`; the lowest priority
/// elsewhere): it runs only when no request wants the CPU and is preempted as soon as one does.
fn lower_priority() {
    use thread_priority::{ThreadPriority, ThreadSchedulePolicy};
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let result = thread_priority::set_thread_priority_and_policy(
        thread_priority::thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(thread_priority::NormalThreadSchedulePolicy::Idle),
    );
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let result = thread_priority::set_current_thread_priority(ThreadPriority::Min);
    if let Err(error) = result {
        tracing::warn!(?error, "could not lower the password hashing thread's priority");
    }
}
