//! Promotion triggered by the misses of `remove` and `try_insert` (not only of lookups).
#![cfg(loom)]

use loom::sync::Arc;
use loom_tests::{assert_one_of, contents, explore, promoted, promotions, spawn_on};

/// An empty snapshot, and `b` only in the dirty table (one entry: one miss promotes). One
/// thread removes `b`, the other `try_insert`s it; each misses the snapshot, and the first one
/// to count its miss under the lock promotes. The other one looked at the old snapshot before
/// that and then waits for the lock: it must look again, find `b` in the new snapshot, and not
/// give up because the dirty table is gone. Either the insert finds `b` present and the removal
/// takes it, or the removal comes first and the insert stores.
#[test]
fn remove_and_try_insert_misses_promote() {
    explore("remove_and_try_insert_misses_promote", || {
        let map = promoted::<u8, u32>([]);
        assert!(map.pin().insert(b'b', 2).is_none());
        let before = promotions(&map);
        let map = Arc::new(map);

        let remover = spawn_on(&map, |map| map.pin().remove(&b'b').copied());
        let inserted = match map.pin().try_insert(b'b', 20) {
            Ok(stored) => Ok(*stored),
            Err(err) => {
                assert_eq!(err.not_inserted, 20, "the rejected value comes back");
                Err(*err.current)
            }
        };
        let removed = remover.join().unwrap();
        assert_eq!(
            promotions(&map),
            before + 1,
            "the misses did not promote once"
        );

        let after = contents(&map);
        assert_one_of(
            (inserted, removed, after),
            &[
                (Err(2), Some(2), vec![]),
                (Ok(20), Some(2), vec![(b'b', 20)]),
            ],
        );
        map.__check_invariants();
    });
}
