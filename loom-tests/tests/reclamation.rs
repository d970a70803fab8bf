//! Race 8: reclamation. Once the model's threads have finished and the map is dropped, every
//! key and value put into it was dropped exactly once: none leaked, none dropped twice, whether
//! it was overwritten, removed, rejected, or still in the map.
//!
//! The drops are counted during the execution, on whichever thread runs each destructor, and
//! checked once the execution has ended and the collector has run everything retired (see
//! `explore_then`). loom itself also reports, at the end of every execution of every model, a
//! value cell that was never freed or freed twice: snapmap allocates cells through loom then.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{explore_then, flush_epoch, promoted, Ledger, Tracked};

/// Keys and values are drop-counted objects; `label` is what the map compares.
#[test]
fn every_key_and_value_dropped_once() {
    explore_then(
        "every_key_and_value_dropped_once",
        || {
            let ledger = Ledger::new(9);
            let object = |label, id| Tracked::new(label, id, &ledger);
            let map = Arc::new(promoted([(object(0, 0), object(0, 1))]));

            let churner = {
                let map = map.clone();
                let (key, value, probe) = (object(0, 2), object(10, 3), object(0, 4));
                thread::spawn(move || {
                    let guard = map.guard();
                    // Overwrites key 0: the new key object is not needed and is dropped, the old
                    // value is retired.
                    assert_eq!(map.insert(key, value, &guard).map(|v| v.label), Some(0));
                    assert_eq!(map.remove(&probe, &guard).map(|v| v.label), Some(10));
                    drop(guard);
                    flush_epoch(2);
                })
            };
            {
                let guard = map.guard();
                // A new key: builds a dirty table, expunging key 0 if it is a tombstone by then.
                assert!(map.insert(object(1, 5), object(20, 6), &guard).is_none());
                // Key 0 is live (10 or the original 0) or deleted; if absent, this stores 30.
                let current = map.get_or_insert(object(0, 7), object(30, 8), &guard);
                assert!([0, 10, 30].contains(&current.label), "{current:?}");
            }
            churner.join().unwrap();

            map.__check_invariants();
            drop(map);
            ledger
        },
        |ledger| ledger.assert_each_dropped_once(),
    );
}
