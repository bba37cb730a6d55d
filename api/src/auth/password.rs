//! Passwords: argon2id at OWASP's minimum (m = 19 MiB, t = 2, p = 1) as PHC strings with a salt per
//! hash, computed on a fixed number of threads at normal priority behind a bounded queue. The
//! thread count caps the CPU hashing can take (half the cores by default), so a burst of logins
//! cannot stall reads; normal priority means busy reads cannot starve logins either. A full queue,
//! or a job that waited too long in it, is answered at once with `RateLimited` and a retry hint.
//! Unknown accounts are checked against a dummy hash so they cost the same time.
//!
//! Memory: each hashing thread hashes and verifies in one Argon2 working memory of its own, kept
//! while jobs keep coming and given back to the system once the thread has been idle for
//! `KEEP_MEMORY`, so a burst of sign-ins takes at most threads × 19 MiB, and only while it lasts.
//! When the last thread gives its memory back, the allocator is asked to give back what the
//! burst's requests freed too (`infra::allocator`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
/// How long an idle hashing thread keeps its working memory: a burst reuses it from one job to
/// the next, and once the burst is over it goes back to the system.
const KEEP_MEMORY: Duration = Duration::from_secs(2);
/// The least a working memory reserves, in 1 KiB blocks: just over 32 MiB, glibc's largest mmap
/// threshold. glibc maps an allocation at least as large as its (sliding) threshold on its own and
/// unmaps it when freed; a smaller one, once a freed 19 MiB mapping has slid the threshold up past
/// it, comes from an arena that keeps the pages after the free (RSS never came back down). Reserved
/// pages that are never written cost no memory.
const RESERVED_BLOCKS: usize = 32 * 1024 + 1;

/// The parameters of every new hash.
fn params() -> AuthResult<Params> {
    Params::new(19 * 1024, 2, 1, None).map_err(|error| AuthError::Internal(format!("argon2 params: {error}")))
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

/// A hashing thread's Argon2 working memory: allocated at its first job, reused by every job
/// after it, released when the thread has been idle for `KEEP_MEMORY`.
#[derive(Default)]
struct Memory(Vec<Block>);

impl Memory {
    /// `count` blocks of working memory, grown if it is smaller (their contents are whatever the
    /// last job left: Argon2 writes every block before it reads it).
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.0.capacity() < count {
            self.0 = Vec::with_capacity(count.max(RESERVED_BLOCKS));
        }
        self.0.resize(count, Block::default());
        &mut self.0
    }

    fn held(&self) -> bool {
        self.0.capacity() > 0
    }

    fn release(&mut self) {
        self.0 = Vec::new();
    }
}

/// The PHC string of a new argon2id hash of `password` with a fresh salt, computed in `memory`:
/// the same string `argon2`'s `PasswordHasher` makes.
fn hash_in(memory: &mut Memory, password: &[u8]) -> AuthResult<String> {
    let internal = |error: argon2::password_hash::Error| AuthError::Internal(format!("hashing: {error}"));
    let params = params()?;
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buffer = [0_u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buffer).map_err(internal)?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = Output::init_with(params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN), |out| {
        Ok(argon2.hash_password_into_with_memory(password, salt_bytes, out, memory.blocks(params.block_count()))?)
    })
    .map_err(internal)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `phc` (any argon2 variant, version and parameters it
/// names), computed in `memory`: what `argon2`'s `PasswordVerifier` answers. A string that does not
/// parse is an error; one that parses but names what argon2 cannot compute does not match.
fn verify_in(memory: &mut Memory, password: &[u8], phc: &str) -> AuthResult<bool> {
    let parsed = PasswordHash::new(phc).map_err(|error| AuthError::Internal(format!("stored hash: {error}")))?;
    let mut matches = || -> argon2::password_hash::Result<bool> {
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return Ok(false) };
        let algorithm = Algorithm::try_from(parsed.algorithm)?;
        let version = parsed.version.map(Version::try_from).transpose()?.unwrap_or_default();
        let params = Params::try_from(&parsed)?;
        let mut salt_buffer = [0_u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buffer)?;
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let output = Output::init_with(expected.len(), |out| {
            Ok(argon2.hash_password_into_with_memory(password, salt_bytes, out, memory.blocks(params.block_count()))?)
        })?;
        // `Output`'s equality takes the same time wherever the outputs differ.
        Ok(output == expected)
    };
    Ok(matches().unwrap_or(false))
}

/// A unit of hashing work: run with `None`, or with `Some(retry_after)` when it waited too long and
/// must only answer that, in the thread's working memory; it says whether it hashed.
type Work = Box<dyn FnOnce(Option<u64>, &mut Memory) -> bool + Send>;

/// Work and when it was queued.
struct Job {
    queued_at: Instant,
    work: Work,
}

/// The jobs waiting for a thread.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Threads waiting for a job: a job one of them takes at once does not wait.
    idle: usize,
    /// Set when `Passwords` is dropped: the threads finish the queue and end.
    closed: bool,
}

/// What the hashing threads and the callers share.
struct Pool {
    queue: Mutex<Queue>,
    /// Signalled when a job is queued or the pool closes.
    ready: Condvar,
    threads: usize,
    capacity: usize,
    /// A moving average of one job's wall time (it grows when the CPU is contended).
    hash_micros: AtomicU64,
    /// Threads holding a working memory now.
    memories: AtomicUsize,
}

impl Pool {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // Every change to the queue is one statement: it stays consistent if a holder panicked.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Seconds until a full queue has likely drained: what a refused caller should wait.
    fn retry_after(&self) -> u64 {
        let micros = self.hash_micros.load(Ordering::Relaxed).max(1);
        let drain = (self.capacity as u64 + self.threads as u64).saturating_mul(micros) / self.threads.max(1) as u64;
        drain.div_ceil(1_000_000).max(1)
    }

    fn record(&self, took: Duration) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let old = self.hash_micros.load(Ordering::Relaxed);
        self.hash_micros.store(old - old / 8 + sample / 8, Ordering::Relaxed);
    }

    /// The next job, waiting for one; `None` once the pool is closed and drained. An idle thread
    /// gives `memory` back after `KEEP_MEMORY` without a job.
    fn next_job(&self, memory: &mut Memory) -> Option<Job> {
        let mut queue = self.queue();
        loop {
            if let Some(job) = queue.jobs.pop_front() {
                return Some(job);
            }
            if queue.closed {
                return None;
            }
            queue.idle += 1;
            if memory.held() {
                let (guard, waited) =
                    self.ready.wait_timeout(queue, KEEP_MEMORY).unwrap_or_else(PoisonError::into_inner);
                queue = guard;
                queue.idle -= 1;
                if waited.timed_out() && queue.jobs.is_empty() {
                    // Unmapping 19 MiB takes a moment: not while callers wait for the lock.
                    drop(queue);
                    memory.release();
                    // The last thread to go idle after a burst: what the burst's requests freed
                    // is still held by the allocator's arenas.
                    if self.memories.fetch_sub(1, Ordering::Relaxed) == 1 {
                        crate::infra::allocator::give_back_free_pages();
                    }
                    queue = self.queue();
                }
            } else {
                queue = self.ready.wait(queue).unwrap_or_else(PoisonError::into_inner);
                queue.idle -= 1;
            }
        }
    }
}

/// Hashes and verifies passwords on a fixed number of threads behind a bounded queue.
pub(crate) struct Passwords {
    pool: Arc<Pool>,
    dummy_hash: String,
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new(&Limits::default())
    }
}

impl Drop for Passwords {
    fn drop(&mut self) {
        self.pool.queue().closed = true;
        self.pool.ready.notify_all();
    }
}

impl Passwords {
    /// Starts `limits.hash_threads` hashing threads behind a queue of `limits.hash_queue` jobs.
    pub(crate) fn new(limits: &Limits) -> Self {
        let threads = limits.hash_threads.max(1);
        let pool = Arc::new(Pool {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            threads,
            capacity: limits.hash_queue,
            hash_micros: AtomicU64::new(INITIAL_HASH_MICROS),
            memories: AtomicUsize::new(0),
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
        Self { pool, dummy_hash }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> AuthResult<T> + Send + 'static,
    ) -> AuthResult<T> {
        let (answer, answered) = oneshot::channel();
        let work = Box::new(move |too_late: Option<u64>, memory: &mut Memory| {
            // The caller gave up (timeout, disconnect): don't spend 60 ms on an answer nobody reads.
            if answer.is_closed() {
                return false;
            }
            let (result, hashed) = match too_late {
                Some(retry_after) => (Err(AuthError::RateLimited { retry_after }), false),
                None => (work(memory), true),
            };
            let _ = answer.send(result);
            hashed
        });
        {
            let mut queue = self.pool.queue();
            if queue.closed {
                return Err(AuthError::Unavailable);
            }
            if queue.jobs.len() >= self.pool.capacity + queue.idle {
                return Err(AuthError::RateLimited { retry_after: self.pool.retry_after() });
            }
            queue.jobs.push_back(Job { queued_at: Instant::now(), work });
        }
        self.pool.ready.notify_one();
        answered.await.map_err(|_| AuthError::Unavailable)?
    }

    /// The PHC string of a new hash of `password`.
    pub(crate) async fn hash(&self, password: &str) -> AuthResult<String> {
        let password = password.to_owned();
        self.run(move |memory| hash_in(memory, password.as_bytes())).await
    }

    /// Whether `password` matches `phc`; with `None` (no such account) a dummy hash is checked
    /// instead and the answer is always `false`.
    pub(crate) async fn verify(&self, password: &str, phc: Option<&str>) -> AuthResult<bool> {
        let known = phc.is_some();
        let phc = phc.unwrap_or(&self.dummy_hash).to_owned();
        let password = password.to_owned();
        self.run(move |memory| Ok(verify_in(memory, password.as_bytes(), &phc)? && known)).await
    }

    /// How many hashing threads hold a working memory now.
    #[cfg(test)]
    fn memories(&self) -> usize {
        self.pool.memories.load(Ordering::Relaxed)
    }
}

/// Runs hashing jobs until the pool is closed, all in one working memory; a job that waited past
/// `MAX_QUEUE_WAIT` is refused rather than run, so the queue drains quickly once it has fallen behind.
fn hashing_thread(pool: &Pool) {
    let mut memory = Memory::default();
    while let Some(job) = pool.next_job(&mut memory) {
        if job.queued_at.elapsed() > MAX_QUEUE_WAIT {
            let _ = (job.work)(Some(pool.retry_after()), &mut memory);
            continue;
        }
        let started = Instant::now();
        let held = memory.held();
        if (job.work)(None, &mut memory) {
            pool.record(started.elapsed());
        }
        if memory.held() && !held {
            pool.memories.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test should fail loudly")]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    /// The standard hasher at fandb's parameters: how every stored hash was made before.
    fn standard() -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params().unwrap())
    }

    #[test]
    fn a_new_hash_is_a_standard_phc_string_that_the_standard_verifier_accepts() {
        let mut memory = Memory::default();
        let phc = hash_in(&mut memory, b"correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(standard().verify_password(b"correct horse battery", &parsed).is_ok());
        assert!(standard().verify_password(b"correct horse batter", &parsed).is_err());
        // Reused memory gives a second, different (salted) hash that also verifies.
        let again = hash_in(&mut memory, b"correct horse battery").unwrap();
        assert_ne!(again, phc);
        assert!(standard().verify_password(b"correct horse battery", &PasswordHash::new(&again).unwrap()).is_ok());
    }

    #[test]
    fn a_hash_made_the_standard_way_verifies_in_reused_memory() {
        let salt = SaltString::generate(&mut OsRng);
        let old = standard().hash_password(b"long-enough-password", &salt).unwrap().to_string();
        let mut memory = Memory::default();
        assert!(verify_in(&mut memory, b"long-enough-password", &old).unwrap());
        assert!(!verify_in(&mut memory, b"long-enough-passwore", &old).unwrap());
        assert!(verify_in(&mut memory, b"long-enough-password", &old).unwrap(), "after a mismatch in the same memory");
        // Other parameters (a smaller and a larger memory cost) verify in the same memory too.
        for m_cost in [8 * 1024, 24 * 1024] {
            let params = Params::new(m_cost, 1, 1, None).unwrap();
            let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
            let phc = other.hash_password(b"another password", &salt).unwrap().to_string();
            assert!(verify_in(&mut memory, b"another password", &phc).unwrap(), "m = {m_cost}");
            assert!(!verify_in(&mut memory, b"another passwore", &phc).unwrap(), "m = {m_cost}");
        }
    }

    #[test]
    fn a_string_that_is_no_phc_hash_is_an_error_and_one_argon2_cannot_compute_does_not_match() {
        let mut memory = Memory::default();
        assert!(verify_in(&mut memory, b"password", "not a hash").is_err());
        assert!(!verify_in(&mut memory, b"password", "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ").unwrap());
        let foreign = "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E";
        assert!(!verify_in(&mut memory, b"password", foreign).unwrap());
    }

    #[test]
    fn a_burst_reuses_one_memory_per_thread_and_an_idle_thread_gives_it_back() {
        let passwords = Passwords::new(&Limits { hash_threads: 2, hash_queue: 8, ..Limits::default() });
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        runtime.block_on(async {
            let hashes = futures_util::future::join_all((0..6).map(|_| passwords.hash("long-enough-password"))).await;
            for phc in hashes {
                assert!(passwords.verify("long-enough-password", Some(&phc.unwrap())).await.unwrap());
            }
        });
        assert!((1..=2).contains(&passwords.memories()), "{} memories for 2 threads", passwords.memories());
        let deadline = Instant::now() + KEEP_MEMORY * 15;
        while passwords.memories() > 0 {
            assert!(Instant::now() < deadline, "{} memories still held after the burst", passwords.memories());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
