//! Promotion triggered by the misses of `remove` and `try_insert` (not only of lookups).
#![cfg(loom)]

use loom::sync::Arc;
use loom_tests::{assert_one_of, contents, explore, one_shard, promoted, promotions, spawn_on};

/// `a` in the table, and `b` only in the dirty index: a shard of two entries, so two misses
/// promote it. One thread removes `b`, the other `try_insert`s it; each finds `b` through the
/// index, counting a miss, and the one whose miss is the second promotes (lock-free lookups go
/// on meanwhile, on the old snapshot or the new one). Either the insert finds `b` present and
/// the removal takes it, or the removal comes first and the insert revives it.
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
        if one_shard() {
            assert_eq!(
                promotions(&map),
                before + 1,
                "the misses did not promote once"
            );
        }

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
