//! Checks of the model set-up itself: loom sees crossbeam-epoch's atomics, and the map still
//! refuses a guard from another collector when built for loom.
#![cfg(loom)]

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use loom::thread;
use loom_tests::{explore, new_map};

/// Two threads that share nothing but crossbeam-epoch's own state (its global epoch and list of
/// participants). With crossbeam built for loom they interleave in several ways; with
/// crossbeam's `std` atomics loom would see no shared access, explore one interleaving, and
/// `explore` would fail. This is the silent false pass that a build with `--cfg loom` but
/// without `--cfg crossbeam_loom` would give (snapmap also refuses to compile that way).
#[test]
fn crossbeam_epoch_is_instrumented() {
    explore("crossbeam_epoch_is_instrumented", || {
        let pinner = thread::spawn(|| crossbeam_epoch::pin().flush());
        crossbeam_epoch::pin().flush();
        pinner.join().unwrap();
    });
}

const REFUSAL: &str = "another epoch collector";

/// The message of a panic raised with a literal or a formatted string.
fn message(payload: &(dyn Any + Send)) -> &str {
    match payload.downcast_ref::<&str>() {
        Some(message) => message,
        None => payload.downcast_ref::<String>().map_or("", String::as_str),
    }
}

/// A guard from another collector does not protect what the map retires through the global
/// one, so the map must refuse it; under loom the global collector is loom's, and the check
/// must still tell the two apart.
#[test]
fn guard_of_another_collector_is_refused() {
    // Keep the expected panic's message off the output; report any other panic as usual.
    static QUIET: Once = Once::new();
    QUIET.call_once(|| {
        let report = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !message(info.payload()).contains(REFUSAL) {
                report(info);
            }
        }));
    });

    loom::model(|| {
        let map = new_map::<u8, u8>();
        map.pin().insert(1, 1);

        let collector = crossbeam_epoch::Collector::new();
        let handle = collector.register();
        let foreign = handle.pin();
        let refused = panic::catch_unwind(AssertUnwindSafe(|| map.get(&1, &foreign).copied()))
            .expect_err("a foreign guard was accepted");
        let message = message(&*refused);
        assert!(message.contains(REFUSAL), "unexpected panic: {message:?}");
        drop(foreign);

        assert_eq!(map.get(&1, &map.guard()), Some(&1));
    });
}
