//! A three-thread model small enough for CI: two writers and a reader on one key.
//!
//! Each thread registers with the epoch collector and every pin is several atomic operations,
//! so three threads cost far more than two; `ci/loom.sh` runs this one in CI at its own bound
//! (`LOOM_MAX_PREEMPTIONS=1`), apart from the two-thread suite.
#![cfg(loom)]

use loom::sync::Arc;
use loom_tests::{assert_one_of, explore, probe_contents, promoted_probes, spawn_on, Probe};

/// `a` = 1. One thread overwrites `a` with 2, another removes it, and this one reads it and
/// reads the value again after the others may have retired it. The reader sees a value `a`
/// had, and the pair of writes is one of their two orders.
#[test]
#[ignore = "three threads: ci/loom.sh runs it at LOOM_MAX_PREEMPTIONS=1"]
fn writer_remover_reader() {
    explore("writer_remover_reader", || {
        let map = Arc::new(promoted_probes([1]));
        let writer = spawn_on(&map, |map| {
            map.pin().insert(1, Probe::new(2)).map(Probe::read)
        });
        let remover = spawn_on(&map, |map| map.pin().remove(&1).map(Probe::read));
        let guard = map.guard();
        let seen = map.get(&1, &guard);
        let first = seen.map(Probe::read);
        assert_one_of(first, &[None, Some(1), Some(2)]);
        assert_eq!(
            seen.map(Probe::read),
            first,
            "a value changed under a guard"
        );
        drop(guard);
        let (replaced, removed) = (writer.join().unwrap(), remover.join().unwrap());

        let after = probe_contents(&map);
        assert_one_of(
            (replaced, removed, after),
            &[(Some(1), Some(2), vec![]), (None, Some(1), vec![(1, 2)])],
        );
        map.__check_invariants();
    });
}
