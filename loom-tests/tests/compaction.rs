//! Race 4: a compaction against concurrent stores and removals: no lost update, no
//! use-after-free.
//!
//! Under `cfg(loom)` the compaction floor is 2 tombstones (64 in a normal build), so a third
//! tombstone, with one live key left, triggers one.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread::{self, JoinHandle};
use loom_tests::{assert_one_of, contents, explore, flush_epoch, one_shard, promoted, Map};

/// Keys 0..4 in the snapshot (key `k` holds `k`), of which 0 and 1 are tombstones: one more
/// removal makes three tombstones among one live key, which compacts.
fn one_removal_from_compaction() -> Arc<Map<u8, u32>> {
    let map = promoted((0..4u8).map(|k| (k, u32::from(k))));
    for k in 0..2 {
        assert_eq!(map.pin().remove(&k), Some(&u32::from(k)));
    }
    if one_shard() {
        assert_eq!(map.stats().compactions, 0);
    }
    Arc::new(map)
}

/// A thread that removes key 2, and so compacts unless the other thread's removal did, then
/// tries to reclaim what it retired.
fn spawn_compactor(map: &Arc<Map<u8, u32>>) -> JoinHandle<()> {
    let map = map.clone();
    thread::spawn(move || {
        assert_eq!(map.pin().remove(&2), Some(&2));
        flush_epoch(2);
    })
}

/// Keys 0..4 are in the snapshot and 0, 1 are already tombstones. Removing 2 compacts: it
/// expunges the tombstones and publishes a snapshot of the live entries. Meanwhile the other
/// thread overwrites the live key 3 (lock-free), revives the tombstone 0 (lock-free if it is
/// still only deleted, under the lock as a new key once it is expunged) and keeps references
/// from the old snapshot until its guard drops, while the compacting thread tries to reclaim
/// the old snapshot.
#[test]
fn compaction_vs_store() {
    explore("compaction_vs_store", || {
        let map = one_removal_from_compaction();
        let compactor = spawn_compactor(&map);
        let guard = map.guard();
        let old_three = map.insert(3, 30, &guard);
        assert_eq!(map.insert(0, 40, &guard), None, "0 was deleted");
        assert_eq!(old_three, Some(&3));
        drop(guard);
        compactor.join().unwrap();

        // Reviving 0 before 2 is removed takes a tombstone away, and then the shard stays
        // within its bound without compacting; `__check_invariants` checks the bound.
        let stats = map.stats();
        if one_shard() {
            assert_one_of(stats.compactions, &[0, 1]);
        }
        map.__check_invariants();
        assert_eq!(contents(&map), [(0, 40), (3, 30)], "an update was lost");
        map.__check_invariants();
    });
}

/// The same compaction against a concurrent removal of the last other live key, which adds a
/// tombstone of its own, by a thread that holds a reference to the value the compacting thread
/// removes while that thread tries to reclaim it: every removal returns its value exactly once,
/// a reference to the removed value stays valid, and exactly one of the two removals compacts.
#[test]
fn compaction_vs_remove() {
    explore("compaction_vs_remove", || {
        let map = one_removal_from_compaction();
        let compactor = spawn_compactor(&map);
        let guard = map.guard();
        let two = map.get(&2, &guard);
        assert_eq!(map.remove(&3, &guard), Some(&3));
        assert_eq!(map.remove(&3, &guard), None);
        // Read before or after the other thread removed it, but still readable now.
        assert_one_of(two.copied(), &[None, Some(2)]);
        drop(guard);
        compactor.join().unwrap();

        if one_shard() {
            assert_eq!(map.stats().compactions, 1);
        }
        map.__check_invariants();
        assert_eq!(contents(&map), []);
        assert_eq!(map.len(), 0);
    });
}
