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

/// A map of one shard, whose counters the tests below can predict exactly.
fn one_shard() -> Map {
    SnapMap::builder().shards(1).build()
}

/// A one-shard map holding `keys`, each mapped to itself, all promoted into the read table.
fn one_shard_promoted(keys: std::ops::Range<u32>) -> Map {
    let map = one_shard();
    for k in keys {
        map.pin().insert(k, k);
    }
    promote(&map, &ABSENT);
    map
}

/// Reads that the dirty index answers count misses and then promote it: afterwards nothing is
/// amended, there is no dirty index, and the read table holds every key. Reads of absent keys
/// count nothing (they never lock).
#[test]
fn missed_reads_promote_the_dirty_map() {
    let map = one_shard();
    let g = map.guard();
    for k in 0..10 {
        map.insert(k, k, &g);
    }
    // The shard's first key goes straight into its first table; the others into the index.
    let before = map.stats();
    assert!(before.amended);
    assert_eq!((before.read_slots, before.dirty_len), (1, 9), "{before}");

    for _ in 0..100 {
        assert_eq!(map.get(&ABSENT, &g), None);
    }
    assert_eq!(map.stats().misses, 0, "an absent key is not a miss");
    assert_eq!(map.get(&0, &g), Some(&0));
    assert_eq!(map.stats().misses, 0, "a key of the table is not a miss");
    assert_eq!(map.get(&5, &g), Some(&5));
    let after_one = map.stats();
    assert_eq!(after_one.misses, 1, "{after_one}");
    assert_eq!(after_one.promotions, before.promotions);

    // Promotion once the misses reach the shard's size (10).
    for _ in 0..9 {
        assert_eq!(map.get(&5, &g), Some(&5));
    }
    let after = map.stats();
    assert_eq!(after.promotions, before.promotions + 1, "{after}");
    assert!(!after.amended);
    assert_eq!((after.dirty_len, after.misses), (0, 0), "{after}");
    assert_eq!(after.read_slots, 10);
    assert_eq!(after.len, 10);
    map.__check_invariants();
}

/// After a promotion, overwriting or removing a key of the read table needs no dirty index,
/// while storing a new key starts one, which holds only that key (nothing is copied).
#[test]
fn new_key_after_promotion_builds_dirty_map() {
    let map = one_shard_promoted(0..10);
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
    // Only the new key: the table keeps its 10 slots, the tombstone of 4 among them.
    assert_eq!((built.dirty_len, built.read_slots), (1, 10), "{built}");
    map.insert(11, 11, &g);
    assert_eq!(map.stats().dirty_builds, built.dirty_builds);
    assert_eq!(map.stats().dirty_len, 2);
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

/// A removed key stays revivable in place while a dirty index exists; once a compaction has
/// expunged it, storing it again makes a new entry, in the dirty index, which stays after the
/// next promotion.
#[test]
fn tombstone_revived_after_dirty_build() {
    let mut map = one_shard_promoted(0..10);
    {
        let g = map.guard();
        map.remove(&3, &g);
        map.insert(100, 100, &g); // starts the dirty index
        let built = map.stats();
        assert!(built.amended);
        assert_eq!((built.dirty_len, built.tombstones), (1, 1), "{built}");
        assert_eq!(map.get(&3, &g), None);
        assert_eq!(map.insert(3, 30, &g), None);
        assert_eq!(map.get(&3, &g), Some(&30));
        let revived = map.stats();
        assert_eq!((revived.dirty_len, revived.tombstones), (1, 0), "{revived}");
        map.remove(&3, &g);
    }
    map.shrink_to_fit(); // compacts: 3 is expunged and left out of the new table
    let compacted = map.stats();
    assert_eq!(
        (
            compacted.read_slots,
            compacted.tombstones,
            compacted.amended
        ),
        (10, 0, false),
        "{compacted}"
    );
    let g = map.guard();
    assert_eq!(map.insert(3, 30, &g), None);
    assert_eq!(map.stats().dirty_len, 1);
    assert_eq!(map.len(), 11);
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
