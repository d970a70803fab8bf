//! The tombstone bound: once no write is in flight, at most `max(floor, len)` deleted keys are
//! still indexed, whatever the schedule of the removals that lead to a compaction.
//!
//! In its own test binary, because it was written to fail on the first round's protocol (issue
//! 10, defect 1), and a failing model aborts its whole process, which must not take other models
//! with it.
#![cfg(loom)]

use loom::sync::Arc;
use loom_tests::{
    assert_tombstones_bounded, compactions, contents, explore, one_shard, promoted, spawn_on,
};

/// Keys 0..4 in the snapshot; 0 removed and stored again three times. Then one thread removes 0
/// while the other removes 1 and 2, lock-free, in every interleaving.
///
/// On the first round's protocol, the three revivals left three removals counted for no
/// tombstone; the removal of 0 then started a compaction that reset the count, counted one
/// tombstone, and, preempted there, let the other thread's removals each see a count below the
/// threshold; it then found its own count too small to rebuild and added it back: three
/// tombstones with one live key, and no thread left to compact them. Today the count is exact (a
/// revival lowers it) and the removal that takes it over the bound is the one that compacts, from
/// its own increment's result, so the bound holds in every interleaving.
#[test]
fn compaction_that_does_not_rebuild() {
    explore("compaction_that_does_not_rebuild", || {
        let map = promoted((0..4u8).map(|k| (k, u32::from(k))));
        for round in 0..3 {
            assert_eq!(map.pin().remove(&0), Some(&0));
            assert_eq!(map.pin().insert(0, 0), None, "round {round}");
        }
        if one_shard() {
            assert_eq!(compactions(&map), 0, "the set-up compacted");
        }
        let map = Arc::new(map);

        let remover = spawn_on(&map, |map| {
            let guard = map.guard();
            (
                map.remove(&1, &guard).copied(),
                map.remove(&2, &guard).copied(),
            )
        });
        assert_eq!(map.pin().remove(&0), Some(&0));
        assert_eq!(remover.join().unwrap(), (Some(1), Some(2)));

        assert_tombstones_bounded(&map);
        assert_eq!(contents(&map), [(3, 3)]);
        map.__check_invariants();
    });
}
