//! Promotion triggered by the misses of `remove` and `try_insert` (not only of lookups).
#![cfg(loom)]

use loom::sync::Arc;
use loom_tests::{assert_one_of, contents, explore, promoted, promotions, spawn_on};

/// `a` in the snapshot, `b` only in the dirty table (two entries: two misses promote). One
/// thread removes `b`, the other `try_insert`s it; each misses the snapshot and counts a miss
/// under the lock, unless the other one's miss promoted first. Either the insert finds `b`
/// present and the removal takes it, or the removal comes first and the insert stores; in both
/// cases exactly one promotion happens, and the operation after it finds `b` in the new
/// snapshot (a recheck skipped under the lock would lose it there).
#[test]
fn remove_and_try_insert_misses_promote() {
    explore("remove_and_try_insert_misses_promote", || {
        let map = promoted([(b'a', 1u32)]);
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
                (Err(2), Some(2), vec![(b'a', 1)]),
                (Ok(20), Some(2), vec![(b'a', 1), (b'b', 20)]),
            ],
        );
        map.__check_invariants();
    });
}
