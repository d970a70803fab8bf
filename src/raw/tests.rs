//! Unit tests of the protocol's internal states, small enough to run under Miri.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use super::RawMap;
use crate::sync::epoch;

/// A `RawMap<String, Vec<u32>>` with the hashing that `SnapMap` would do, so that every key
/// and value owns heap memory for Miri to track.
struct Harness {
    raw: RawMap<String, Vec<u32>>,
    hasher: RandomState,
}

impl Harness {
    fn new(shards: usize) -> Self {
        Harness {
            raw: RawMap::new(shards, 0),
            hasher: RandomState::new(),
        }
    }

    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    fn get(&self, key: &str) -> Option<Vec<u32>> {
        let guard = &epoch::pin();
        let found = self.raw.find(self.hash(key), |k| k == key, guard)?;
        found.load(guard).cloned()
    }

    fn insert(&self, key: &str, value: u32) -> Option<Vec<u32>> {
        let guard = &epoch::pin();
        let hash = self.hash(key);
        self.raw
            .insert(hash, key.to_owned(), vec![value], guard)
            .cloned()
    }

    fn remove(&self, key: &str) -> Option<Vec<u32>> {
        let guard = &epoch::pin();
        let hash = self.hash(key);
        self.raw
            .remove(hash, |k| k == key, |_| true, guard)
            .cloned()
    }

    fn check(&self) {
        self.raw.check_invariants(|key| self.hash(key));
    }

    fn stats(&self) -> crate::Stats {
        self.raw.stats(&epoch::pin())
    }
}

fn key(i: u32) -> String {
    format!("key-{i}")
}

/// Runs `test` on a map of one shard (Go's layout) and on one of four.
fn each_layout(test: impl Fn(Harness)) {
    for shards in [1, 4] {
        test(Harness::new(shards));
    }
}

#[test]
fn first_table_index_promotion_and_revival() {
    let map = Harness::new(1);
    assert_eq!(map.insert(&key(0), 0), None);
    let stats = map.stats();
    assert_eq!((stats.read_slots, stats.amended), (1, false), "{stats}");
    // Later new keys go into the dirty index, which readers probe without a lock.
    for i in 1..8 {
        assert_eq!(map.insert(&key(i), i), None);
    }
    let stats = map.stats();
    assert_eq!(
        (stats.read_slots, stats.dirty_len, stats.dirty_builds),
        (1, 7, 1)
    );
    map.check();
    // Lookups answered by the index promote it once they add up to the shard's size.
    for _ in 0..2 {
        for i in 0..8 {
            assert_eq!(map.get(&key(i)), Some(vec![i]));
        }
    }
    let stats = map.stats();
    assert_eq!(
        (stats.promotions, stats.amended, stats.read_slots),
        (1, false, 8),
        "{stats}"
    );
    map.check();

    // A tombstone in the table is revived lock-free and stops counting as dead.
    assert_eq!(map.remove(&key(3)), Some(vec![3]));
    assert_eq!(map.stats().tombstones, 1);
    assert_eq!(map.insert(&key(3), 30), None);
    assert_eq!(map.stats().tombstones, 0);
    map.check();
    // A tombstone in the index, revived the same way.
    assert_eq!(map.insert(&key(100), 100), None);
    assert_eq!(map.remove(&key(100)), Some(vec![100]));
    assert_eq!(map.stats().tombstones, 1);
    map.check();
    assert_eq!(map.insert(&key(100), 101), None);
    assert_eq!(map.get(&key(100)), Some(vec![101]));
    map.check();
    assert_eq!(map.raw.len(), 9);
}

#[test]
fn a_full_index_merges_into_the_table() {
    // Enough keys for several merges per layout: a shard merges its index once the index is
    // full and at least as large as the table, at about 26, 75, 172 and 365 keys.
    let keys = if cfg!(miri) { 400 } else { 1000 };
    each_layout(|map| {
        for i in 0..keys {
            assert_eq!(map.insert(&key(i), i), None);
        }
        map.check();
        let stats = map.stats();
        assert!(stats.promotions >= 4, "{stats}");
        assert!(stats.dirty_len < stats.read_slots, "{stats}");
        for i in 0..keys {
            assert_eq!(map.get(&key(i)), Some(vec![i]));
        }
    });
}

#[test]
fn mass_removal_compacts_and_clear_resets() {
    each_layout(|map| {
        // 70 removals outnumber both the 64-tombstone floor and the 30 live keys.
        for i in 0..100 {
            map.insert(&key(i), i);
        }
        for i in 0..70 {
            assert_eq!(map.remove(&key(i)), Some(vec![i]));
            if i % 10 == 9 {
                map.check();
            }
        }
        let stats = map.stats();
        assert!(stats.compactions >= 1, "{stats}");
        assert!(stats.tombstones <= 64, "{stats}");
        assert_eq!(stats.len, 30);

        map.raw.clear(&epoch::pin());
        map.check();
        assert_eq!(map.raw.len(), 0);
        // A shard left with few keys clears them in place; every slot left is a tombstone.
        let stats = map.stats();
        assert_eq!(
            stats.read_slots + stats.dirty_len,
            stats.tombstones,
            "{stats}"
        );
        assert!(stats.tombstones <= 64, "{stats}");
        assert_eq!(map.get(&key(95)), None);
        assert_eq!(map.insert(&key(95), 1), None);
        map.check();
    });
}

#[test]
fn clear_costs_what_the_map_holds() {
    let map = Harness::new(1);
    for i in 0..3 {
        map.insert(&key(i), i);
    }
    let guard = &epoch::pin();
    let before = map.raw.shards[0].snapshot(guard).map(std::ptr::from_ref);
    map.raw.clear(guard);
    // Three keys are deleted in place: no new snapshot, no table.
    assert_eq!(
        map.raw.shards[0].snapshot(guard).map(std::ptr::from_ref),
        before
    );
    let stats = map.stats();
    assert_eq!((stats.len, stats.tombstones, stats.compactions), (0, 3, 0));
    assert_eq!(map.insert(&key(1), 10), None, "a revival");
    assert_eq!(map.get(&key(1)), Some(vec![10]));
    map.check();

    // A map of more keys than its tombstone bound publishes an empty snapshot instead.
    for i in 0..100 {
        map.insert(&key(i), i);
    }
    map.raw.clear(guard);
    assert!(map.raw.shards[0].snapshot(guard).is_none());
    assert_eq!(map.raw.len(), 0);
    map.check();
}

#[test]
fn exclusive_access_drains_and_shrinks() {
    each_layout(|mut map| {
        for i in 0..40 {
            map.insert(&key(i), i);
        }
        for i in 0..20 {
            map.remove(&key(i));
        }
        let hash = map.hash(&key(30));
        map.raw.get_mut(hash, |k| *k == key(30)).unwrap().push(7);
        assert_eq!(map.get(&key(30)), Some(vec![30, 7]));

        map.raw.shrink_to_fit();
        map.check();
        let stats = map.stats();
        assert_eq!(
            (stats.read_slots, stats.tombstones, stats.dirty_len),
            (20, 0, 0)
        );

        let mut drained = map.raw.drain();
        drained.sort();
        assert_eq!(drained.len(), 20);
        assert_eq!(map.raw.len(), 0);
        map.check();
    });
}

#[test]
fn zero_sized_values_get_distinct_cells() {
    let map: RawMap<u8, ()> = RawMap::new(1, 0);
    let guard = &epoch::pin();
    map.insert(1, 1, (), guard);
    let first = map.find(1, |k| *k == 1, guard).unwrap().load_ptr(guard);
    map.insert(1, 1, (), guard);
    let second = map.find(1, |k| *k == 1, guard).unwrap().load_ptr(guard);
    assert_ne!(first, second, "two live cells share an address");
}

#[test]
fn concurrent_writers_keep_the_counts_exact() {
    each_layout(concurrent_writers);
}

fn concurrent_writers(map: Harness) {
    std::thread::scope(|s| {
        for t in 0..2u32 {
            let map = &map;
            s.spawn(move || {
                for round in 0..3 {
                    for i in 0..12 {
                        let shared = key(i);
                        let own = key(100 * (t + 1) + i);
                        map.insert(&shared, round);
                        map.insert(&own, round);
                        if i % 3 == t {
                            map.remove(&shared);
                        }
                        map.get(&shared);
                        map.remove(&own);
                    }
                }
            });
        }
    });
    map.check();
    let guard = &epoch::pin();
    let seen = map.raw.iter(guard).count();
    assert_eq!(seen, map.raw.len());
}

#[test]
#[cfg(not(loom))]
fn a_shard_is_two_cache_lines() {
    // Readers load only the first line; writers' lock and counters fill the second. An empty
    // map is its shards and nothing else, so this is also its whole heap: 128 bytes a shard.
    assert_eq!(
        std::mem::size_of::<super::shard::Shard<String, Vec<u32>>>(),
        128
    );
    assert_eq!(std::mem::align_of::<super::shard::Shard<u8, u8>>(), 128);
}

#[test]
fn a_capacity_sizes_the_first_dirty_index() {
    let map = Harness {
        raw: RawMap::new(1, 100),
        hasher: RandomState::new(),
    };
    for i in 0..100 {
        assert_eq!(map.insert(&key(i), i), None);
    }
    // The first key is the first table; the others all fit the first index: no copy, no merge.
    let stats = map.stats();
    assert_eq!(
        (
            stats.read_slots,
            stats.dirty_len,
            stats.dirty_builds,
            stats.promotions
        ),
        (1, 99, 1, 0),
        "{stats}"
    );
    map.check();
}

mod first_values;
