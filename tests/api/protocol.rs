//! The statistics the map reports and the paths of its algorithm they count: promotion by
//! missed reads, dirty builds, compaction and the revival of removed keys.
//!
//! These tests are about `Stats` and the current snapshot/dirty protocol, so they assert on the
//! counters; a redesign of the protocol changes them (and `states.rs`), nothing else.

use snapmap::{SnapMap, Stats};
use testkit::{settle, DropKey, DropVal, Tracker};

use crate::states::{promote, promoted};
use crate::{entries, Map, ABSENT};

/// A new map's stats are all zero, and `Stats` prints a one-line summary.
#[test]
fn stats_of_new_map_and_display() {
    let map = Map::new();
    let stats: Stats = map.stats();
    assert_eq!(
        (
            stats.len,
            stats.read_slots,
            stats.tombstones,
            stats.dirty_len
        ),
        (0, 0, 0, 0)
    );
    assert!(!stats.amended);
    assert_eq!(stats.misses, 0);
    assert_eq!(
        (stats.promotions, stats.dirty_builds, stats.compactions),
        (0, 0, 0)
    );
    let shown = stats.to_string();
    assert!(!shown.is_empty() && !shown.contains('\n'), "{shown:?}");
    assert!(format!("{stats:?}").contains("tombstones"));
}

/// Reads of keys that only the dirty map holds count misses and then promote it: afterwards
/// nothing is amended, there is no dirty map, and the snapshot indexes every key.
#[test]
fn missed_reads_promote_the_dirty_map() {
    let map = Map::new();
    let g = map.guard();
    for k in 0..10 {
        map.insert(k, k, &g);
    }
    let before = map.stats();
    assert!(before.amended);
    assert_eq!(before.dirty_len, 10);
    assert!(before.misses + 1 < before.dirty_len);

    assert_eq!(map.get(&0, &g), Some(&0));
    let after_one = map.stats();
    assert_eq!(after_one.misses, before.misses + 1, "{after_one}");
    assert_eq!(after_one.promotions, before.promotions);

    for _ in 0..4 * before.dirty_len {
        assert_eq!(map.get(&0, &g), Some(&0));
    }
    let after = map.stats();
    assert!(after.promotions > before.promotions, "{after}");
    assert!(!after.amended);
    assert_eq!((after.dirty_len, after.misses), (0, 0), "{after}");
    assert_eq!(after.read_slots, 10);
    assert_eq!(after.len, 10);
    map.__check_invariants();
}

/// After a promotion, overwriting a snapshot key needs no dirty map, while storing a new key
/// builds one from the snapshot and marks the map amended.
#[test]
fn new_key_after_promotion_builds_dirty_map() {
    let map = promoted(0..10);
    let g = map.guard();
    let promoted = map.stats();
    assert_eq!(promoted.dirty_len, 0);

    map.insert(3, 33, &g);
    map.remove(&4, &g);
    let overwritten = map.stats();
    assert_eq!(
        overwritten.dirty_builds, promoted.dirty_builds,
        "{overwritten}"
    );
    assert!(!overwritten.amended);

    map.insert(10, 10, &g);
    let built = map.stats();
    assert_eq!(built.dirty_builds, promoted.dirty_builds + 1, "{built}");
    assert!(built.amended);
    // The 9 live snapshot entries (the tombstone of 4 is expunged) plus the new key.
    assert_eq!(built.dirty_len, 10, "{built}");
    map.insert(11, 11, &g);
    assert_eq!(map.stats().dirty_builds, built.dirty_builds);
    assert_eq!(map.len(), 11);
    map.__check_invariants();
}

/// Removing most of a large map compacts its snapshot with no further insert, bounding the
/// tombstones by `max(64, len)`.
#[test]
fn mass_removal_compacts_without_insert() {
    let map = promoted(0..1000);
    let g = map.guard();
    let before = map.stats();
    assert_eq!((before.read_slots, before.tombstones), (1000, 0));
    for k in 0..1000 {
        if k % 100 != 0 {
            assert_eq!(map.remove(&k, &g), Some(&k));
        }
        let stats = map.stats();
        assert!(
            stats.tombstones <= stats.len.max(64),
            "after removing {k}: {stats}"
        );
    }
    let after = map.stats();
    assert!(after.compactions > before.compactions, "{after}");
    assert_eq!(after.len, 10);
    assert!(after.tombstones <= 64, "{after}");
    assert_eq!(after.read_slots, after.len + after.tombstones, "{after}");
    assert_eq!(
        entries(&map),
        (0..10).map(|k| (100 * k, 100 * k)).collect::<Vec<_>>()
    );
    map.__check_invariants();
}

/// Removing every key, whether in the snapshot or the dirty map only, leaves an empty map with at
/// most 64 tombstones.
#[test]
fn removing_everything_leaves_few_tombstones() {
    let map = promoted(0..600);
    let g = map.guard();
    for k in 600..1200 {
        map.insert(k, k, &g); // dirty map only
    }
    for k in 0..1200 {
        assert_eq!(map.remove(&k, &g), Some(&k));
    }
    let stats = map.stats();
    assert_eq!((map.len(), stats.len), (0, 0));
    assert!(map.is_empty());
    assert!(stats.tombstones <= 64, "{stats}");
    assert_eq!(entries(&map), []);
    map.__check_invariants();
}

/// Removing every key frees every value and all but at most 64 keys once the epoch advances,
/// with no later insert; dropping the map frees the rest.
#[test]
fn removing_everything_frees_keys_and_values() {
    let keys = Tracker::new();
    let values = Tracker::new();
    let map: SnapMap<DropKey, DropVal> = SnapMap::new();
    {
        let g = map.guard();
        for k in 0..1000 {
            map.insert(DropKey::new(k, &keys), DropVal::new(k, &values), &g);
        }
    }
    promote(&map, &u64::MAX);
    {
        let g = map.guard();
        for k in 0..1000 {
            assert_eq!(map.remove(&k, &g).map(DropVal::v), Some(k));
        }
    }
    map.__check_invariants();
    values.assert_all_dropped("removed values");
    settle(|| keys.live() <= 64);
    assert!(keys.live() <= 64, "{} keys still alive", keys.live());
    drop(map);
    keys.assert_all_dropped("keys after the map dropped");
}

/// A removed key is revived by a store while it is a tombstone in the snapshot, without building
/// a dirty map.
#[test]
fn tombstone_revived_before_dirty_build() {
    let map = promoted(0..10);
    let g = map.guard();
    map.remove(&3, &g);
    let removed = map.stats();
    assert_eq!((removed.tombstones, removed.read_slots), (1, 10));
    assert_eq!(map.insert(3, 30, &g), None);
    let revived = map.stats();
    assert_eq!(map.get(&3, &g), Some(&30));
    assert_eq!(revived.len, 10);
    assert_eq!(revived.tombstones, 0);
    assert_eq!(revived.dirty_builds, removed.dirty_builds);
    assert!(!revived.amended);
    map.__check_invariants();
}

/// A removed key that a dirty build expunged is stored again correctly, and stays after the next
/// promotion.
#[test]
fn tombstone_revived_after_dirty_build() {
    let map = promoted(0..10);
    let g = map.guard();
    map.remove(&3, &g);
    map.insert(100, 100, &g); // dirty build: 3 becomes expunged
    let built = map.stats();
    assert!(built.amended);
    assert_eq!(built.dirty_len, 10, "{built}");
    assert_eq!(map.get(&3, &g), None);
    assert_eq!(map.insert(3, 30, &g), None);
    assert_eq!(map.get(&3, &g), Some(&30));
    assert_eq!(map.len(), 11);
    assert_eq!(map.stats().dirty_len, 11);
    promote(&map, &ABSENT);
    assert_eq!(map.get(&3, &g), Some(&30));
    assert_eq!(map.insert(3, 31, &g), Some(&30));
    let mut expected: Vec<_> = (0..10).map(|k| (k, k)).collect();
    expected[3] = (3, 31);
    expected.push((100, 100));
    assert_eq!(entries(&map), expected);
    assert_eq!(map.stats().tombstones, 0);
    map.__check_invariants();
}
