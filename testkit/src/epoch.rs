//! Waiting for epoch-based reclamation: flushing this thread's deferred garbage and waiting,
//! with a timeout, for what a test expects to be freed.

use std::thread;
use std::time::{Duration, Instant};

use snapmap::SnapMap;

/// How long [`settle`] waits for deferred reclamation before giving up.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

thread_local! {
    /// A map kept only to obtain guards through the public API.
    static PINNER: SnapMap<u8, u8> = SnapMap::new();
}

/// Pins this thread repeatedly and flushes its deferred garbage to the global collector, which
/// advances the epoch and runs destructors whose objects no guard can still see.
pub fn flush_epoch() {
    PINNER.with(|pinner| {
        // Under Miri, where each flush is costly, fewer per round; `settle` loops anyway.
        for _ in 0..if cfg!(miri) { 4 } else { 64 } {
            pinner.guard().flush();
        }
    });
}

/// Flushes the epoch, sleeping briefly between rounds, until `done` holds or
/// [`SETTLE_TIMEOUT`] passes. Returns the last result of `done`; callers follow up with an
/// exact assertion so a timeout reports the real numbers.
pub fn settle(mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        flush_epoch();
        if done() {
            return true;
        }
        if start.elapsed() > SETTLE_TIMEOUT {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
}
