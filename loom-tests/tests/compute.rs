//! Races of `compute`: against a removal of the key, and, on an absent key, against
//! `try_insert` of the same key.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{assert_one_of, contents, explore, new_map, promoted};
use snapmap::{Compute, Operation};

/// Adds one to the value, or inserts 1.
fn increment(current: Option<&u32>) -> Operation<u32, ()> {
    match current {
        Some(n) => Operation::Insert(n + 1),
        None => Operation::Insert(1),
    }
}

/// `k` holds 10 in the snapshot. One thread increments it with `compute`, the other removes it.
/// Either the increment comes first (11 is removed) or the removal does (the increment then
/// inserts 1 into the tombstone); nothing else.
#[test]
fn compute_vs_remove() {
    explore("compute_vs_remove", || {
        let map = Arc::new(promoted([(b'k', 10u32)]));
        let remover = {
            let map = map.clone();
            thread::spawn(move || map.pin().remove(&b'k').copied())
        };
        let computed = match map.pin().compute(b'k', increment) {
            Compute::Updated { old, new } => (Some(*old), *new),
            Compute::Inserted(new) => (None, *new),
            other => panic!("an increment must store: {other:?}"),
        };
        let removed = remover.join().unwrap();

        let outcome = (computed, removed, contents(&map));
        assert_one_of(
            outcome,
            &[
                ((Some(10), 11), Some(11), vec![]),
                ((None, 1), Some(10), vec![(b'k', 1)]),
            ],
        );
        map.__check_invariants();
    });
}

/// `k` is absent. One thread inserts 1 with `compute`, the other `try_insert`s 5: exactly one
/// inserts; if `try_insert` wins, the compute runs again on its value and stores 6.
#[test]
fn compute_on_absent_key_vs_try_insert() {
    explore("compute_on_absent_key_vs_try_insert", || {
        let map = Arc::new(new_map::<u8, u32>());
        let inserter = {
            let map = map.clone();
            thread::spawn(move || map.pin().try_insert(b'k', 5).is_ok())
        };
        let computed = match map.pin().compute(b'k', increment) {
            Compute::Inserted(new) => (None, *new),
            Compute::Updated { old, new } => (Some(*old), *new),
            other => panic!("an increment must store: {other:?}"),
        };
        let inserted = inserter.join().unwrap();

        let outcome = (computed, inserted, contents(&map));
        assert_one_of(
            outcome,
            &[
                ((None, 1), false, vec![(b'k', 1)]),
                ((Some(5), 6), true, vec![(b'k', 6)]),
            ],
        );
        map.__check_invariants();
    });
}
