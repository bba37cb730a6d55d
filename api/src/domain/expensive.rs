//! Expensive reads (full-text search) take turns: at most half the cores' worth run at once, the
//! rest wait in a bounded queue, so that a client spending its whole budget on searches slows
//! other searches, not every cheap read behind them in the database pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use super::DomainError;

/// How many expensive reads may wait for their turn; past it one is refused at once.
pub(crate) const MAX_WAITING: usize = 64;
/// The longest an expensive read waits for its turn.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(5);

/// The turns of expensive reads in one process.
pub(crate) struct ExpensiveReads {
    turns: Semaphore,
    waiting: AtomicUsize,
}

impl Default for ExpensiveReads {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new((cores / 2).max(1))
    }
}

impl ExpensiveReads {
    /// Turns for `at_once` reads at a time.
    pub(crate) fn new(at_once: usize) -> Self {
        Self { turns: Semaphore::new(at_once.max(1)), waiting: AtomicUsize::new(0) }
    }

    /// Waits for a turn, held until the permit drops; `RateLimited` when the queue is full or
    /// the turn does not come within `MAX_WAIT`.
    pub(crate) async fn turn(&self) -> Result<SemaphorePermit<'_>, DomainError> {
        if let Ok(permit) = self.turns.try_acquire() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(DomainError::RateLimited { retry_after: 1 });
        }
        let permit = tokio::time::timeout(MAX_WAIT, self.turns.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match permit {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(DomainError::RateLimited { retry_after: MAX_WAIT.as_secs() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let reads = ExpensiveReads::new(1);
        let _held = reads.turn().await;
        reads.waiting.store(MAX_WAITING, Ordering::Release);
        assert!(matches!(reads.turn().await, Err(DomainError::RateLimited { .. })));
    }
}
