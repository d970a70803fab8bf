//! The tombstone bound: once no write is in flight, at most `max(floor, len)` deleted keys are
//! still indexed, also after a compaction that decided not to rebuild.
//!
//! In its own test binary: it fails until the compaction's decision is fixed (issue 10, defect
//! 1), and a failing model aborts its whole process, which must not take other models with it.
#![cfg(loom)]

use loom::sync::Arc;
use loom_tests::{assert_tombstones_bounded, compactions, contents, explore, promoted, spawn_on};

/// Keys 0..4 in the snapshot; 0 removed and stored again three times, which leaves no
/// tombstone but three removals counted (a revival does not lower the count). One thread
/// removes 0, which starts a compaction: it resets the count, counts one tombstone (0) and,
/// preempted there, lets the other thread remove 1 and 2 lock-free, each seeing a count below
/// the threshold. The compactor then finds its own count too small to rebuild and adds it back:
/// three tombstones with one live key, and no thread left to compact them.
#[test]
fn compaction_that_does_not_rebuild() {
    explore("compaction_that_does_not_rebuild", || {
        let map = promoted((0..4u8).map(|k| (k, u32::from(k))));
        for round in 0..3 {
            assert_eq!(map.pin().remove(&0), Some(&0));
            assert_eq!(map.pin().insert(0, 0), None, "round {round}");
        }
        assert_eq!(compactions(&map), 0, "the set-up compacted");
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
