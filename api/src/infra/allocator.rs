//! The process's allocator. glibc keeps the pages a burst freed in its arenas instead of giving
//! them back: after 100 parallel sign-ins a server stayed about 10 MB above its idle size for good,
//! none of it live. `malloc_trim` gives every arena's free pages back to the system: when a
//! burst of sign-ins ends (`auth::password`), and every `TRIM_EVERY` for what other bursts leave
//! (the pool's connections closed after their idle timeout, sockets gone).

use std::time::Duration;

/// How often the server gives free pages back, whatever happened meanwhile.
const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Gives free pages back every `TRIM_EVERY` until the runtime stops (on a blocking thread: the
/// walk locks each arena in turn, which a worker must not wait for).
pub(crate) async fn trim_periodically() {
    let mut ticks = tokio::time::interval(TRIM_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let _ = tokio::task::spawn_blocking(give_back_free_pages).await;
    }
}

/// Gives the allocator's free pages back to the system; `true` when some went back. Call it at a
/// quiet moment: glibc locks each arena in turn while it walks it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub(crate) fn give_back_free_pages() -> bool {
    // SAFETY: `malloc_trim` takes no pointers and touches only the allocator's own free lists,
    // under the arena locks every allocation takes too.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Other allocators give freed pages back themselves, or have no such call.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn give_back_free_pages() -> bool {
    false
}
