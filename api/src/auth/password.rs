//! Passwords: argon2id at OWASP's minimum (m = 19 MiB, t = 2, p = 1) as PHC strings with a salt per
//! hash, computed off the async executor and at most one per core at once (less one core), so
//! logins never stall other requests. Unknown accounts are checked against a dummy hash so they cost the same time.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

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

/// Hashes and verifies passwords on the blocking pool, a bounded number at a time.
pub struct Passwords {
    permits: Arc<Semaphore>,
    dummy_hash: String,
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

impl Passwords {
    /// A hasher allowing one hash per core at once, less one core kept for everything else (so a
    /// burst of logins cannot starve reads), and at least one.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        let permits = cores.saturating_sub(1).max(1);
        // A fixed PHC string with real parameters: verifying against it costs what a real check costs.
        let dummy_hash =
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Q2b0eMHe7x9CfxvW8/bYJsJ7rU5Kq2lFfDm0b4m9pWk"
                .to_owned();
        Self { permits: Arc::new(Semaphore::new(permits)), dummy_hash }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> DomainResult<T> + Send + 'static) -> DomainResult<T> {
        let _permit = self.permits.acquire().await.map_err(|_| DomainError::Unavailable)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|error| DomainError::Internal(format!("hashing task: {error}")))?
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
