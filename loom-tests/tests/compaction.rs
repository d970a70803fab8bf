//! Race 4: a compaction against concurrent stores and removals: no lost update, no
//! use-after-free.
//!
//! Under `cfg(loom)` the compaction floor is 2 tombstones (64 in a normal build), so a third
//! tombstone, with one live key left, triggers one.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread::{self, JoinHandle};
use loom_tests::{
    assert_one_of, assert_tombstones_bounded, compactions, contents, explore, flush_epoch,
    one_shard, probe_contents, probes_one_removal_from_compaction, promoted, promoted_probes,
    promotions, spawn_on, spawn_removal, Map, Probe,
};

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

/// Keys 0..4 in the snapshot with 0 and 1 removed, then the new key 9 inserted: the dirty build
/// expunges the two tombstones and copies 2, 3 and 9. One more removal compacts while the dirty
/// table exists, so the compaction rebuilds from the dirty table (keeping the unpromoted 9).
fn compaction_due_with_dirty_table() -> Arc<Map<u8, Probe>> {
    let map = probes_one_removal_from_compaction();
    assert!(map.pin().insert(9, Probe::new(9)).is_none());
    if one_shard() {
        assert_eq!(compactions(&map), 0, "the set-up compacted");
    }
    Arc::new(map)
}

/// The compaction rebuilds from the dirty table, racing a lock-free overwrite of the live key 3
/// and a reader that holds the value the compactor removes and reads it afterwards. The new key
/// survives the compaction, the overwrite is kept, the held value stays readable.
#[test]
fn compaction_rebuilds_from_dirty() {
    explore("compaction_rebuilds_from_dirty", || {
        let map = compaction_due_with_dirty_table();
        let compactor = spawn_removal(&map, 2);
        let guard = map.guard();
        let two = map.get(&2, &guard);
        let old_three = map.insert(3, Probe::new(30), &guard).map(Probe::read);
        assert_eq!(map.get(&9, &guard).map(Probe::read), Some(9), "9 was lost");
        // Read after the other thread may have removed and compacted it away.
        assert_one_of(two.map(Probe::read), &[None, Some(2)]);
        assert_eq!(old_three, Some(3));
        drop(guard);
        assert_eq!(compactor.join().unwrap(), Some(2));

        if one_shard() {
            assert_eq!(compactions(&map), 1);
        }
        map.__check_invariants();
        assert_tombstones_bounded(&map);
        assert_eq!(
            probe_contents(&map),
            [(3, 30), (9, 9)],
            "an update was lost"
        );
    });
}

/// A tombstone that only the dirty index holds: 0..4 in the table, the new key 5 inserted into
/// the index and removed, then 0 removed (two tombstones for three live keys). Removing 1 makes
/// three tombstones for two live keys and compacts, rebuilding from the table and the index,
/// while the other thread stores 5 again: lock-free into its tombstone in the index, or, once
/// the compaction expunged it, as a new key under the lock.
#[test]
fn compaction_of_dirty_only_tombstone() {
    explore("compaction_of_dirty_only_tombstone", || {
        let map = promoted_probes(0..4);
        assert!(map.pin().insert(5, Probe::new(5)).is_none());
        assert_eq!(map.pin().remove(&5).map(Probe::read), Some(5));
        assert_eq!(map.pin().remove(&0).map(Probe::read), Some(0));
        if one_shard() {
            assert_eq!(compactions(&map), 0, "the set-up compacted");
        }
        let map = Arc::new(map);

        let storer = spawn_on(&map, |map| {
            assert!(
                map.pin().insert(5, Probe::new(50)).is_none(),
                "5 was removed"
            );
        });
        assert_eq!(map.pin().remove(&1).map(Probe::read), Some(1));
        storer.join().unwrap();

        // A revival lowers the tombstone count: storing 5 before 1 is removed leaves two
        // tombstones for three live keys, within the bound, and no compaction is due.
        if one_shard() {
            assert_one_of(compactions(&map), &[0, 1]);
        }
        map.__check_invariants();
        assert_tombstones_bounded(&map);
        assert_eq!(
            probe_contents(&map),
            [(2, 2), (3, 3), (5, 50)],
            "the store of 5 was lost"
        );
        assert_eq!(map.len(), 3);
    });
}

/// A compaction racing a promotion: with the dirty table of [`compaction_due_with_dirty_table`]
/// (three entries, so three misses promote it), one thread removes 2, which compacts unless a
/// promotion came first (it unlinks the expunged tombstones and the count drops), while the
/// other looks up the dirty-only key 9 three times and reads the value of 2 it held before.
#[test]
fn compaction_vs_promotion() {
    explore("compaction_vs_promotion", || {
        let map = compaction_due_with_dirty_table();
        let compactor = spawn_removal(&map, 2);
        let guard = map.guard();
        let two = map.get(&2, &guard);
        for _ in 0..3 {
            assert_eq!(
                map.get(&9, &guard).map(Probe::read),
                Some(9),
                "9 was missed"
            );
        }
        assert_one_of(two.map(Probe::read), &[None, Some(2)]);
        drop(guard);
        assert_eq!(compactor.join().unwrap(), Some(2));

        // Both published a snapshot, or the compaction published 9 before the misses promoted.
        if one_shard() {
            assert_one_of(
                (promotions(&map), compactions(&map)),
                &[(2, 0), (1, 1), (2, 1)],
            );
        }
        map.__check_invariants();
        assert_tombstones_bounded(&map);
        assert_eq!(probe_contents(&map), [(3, 3), (9, 9)]);
    });
}
