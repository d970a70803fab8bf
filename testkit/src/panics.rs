//! Panics raised on purpose: a hook that keeps them quiet, and a check that a call panics.

use std::panic;
use std::sync::Once;

/// Prefix of every panic message the tests raise on purpose; the hook installed by
/// [`quiet_intentional_panics`] keeps those off stderr.
pub const TRAP: &str = "intentional test panic";

/// Installs (once per process) a panic hook that stays silent for the panics the tests raise on
/// purpose (messages starting with [`TRAP`]) and hands every other panic to the previous hook, so
/// real failures are still reported in full. It stays installed: tests run in parallel threads
/// of one process, so restoring the hook from one test would race with the others.
pub fn quiet_intentional_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            if !message.is_some_and(|m| m.starts_with(TRAP)) {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, expecting it to panic.
#[track_caller]
pub fn expect_panic<R>(what: &str, f: impl FnOnce() -> R) {
    let result = panic::catch_unwind(panic::AssertUnwindSafe(f));
    assert!(result.is_err(), "{what}: expected a panic");
}
