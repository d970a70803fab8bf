//! Parallel iteration, collection and extension (cargo feature `rayon`).
#![cfg(feature = "rayon")]

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use rayon::prelude::*;
use snapmap::SnapMap;

/// A map in every internal state at once: keys in tables, keys in dirty indexes, tombstones.
fn mixed(shards: usize) -> SnapMap<u64, u64> {
    let map = SnapMap::builder().shards(shards).build();
    let guard = map.guard();
    for k in 0..4000 {
        map.insert(k, k * 3, &guard);
    }
    testkit::promote(&map);
    for k in (0..4000).step_by(7) {
        map.remove(&k, &guard);
    }
    for k in 4000..5000 {
        map.insert(k, k * 3, &guard);
    }
    assert!(map.stats().amended && map.stats().tombstones > 0);
    map
}

#[test]
fn par_iter_yields_what_iter_yields() {
    for shards in [1, 4, 8, 64] {
        let map = mixed(shards);
        let guard = map.guard();
        let sequential: BTreeMap<u64, u64> = map.iter(&guard).map(|(k, v)| (*k, *v)).collect();
        let parallel: Vec<(u64, u64)> = map.par_iter(&guard).map(|(k, v)| (*k, *v)).collect();
        assert_eq!(
            parallel.len(),
            sequential.len(),
            "{shards} shards: a key twice"
        );
        let parallel: BTreeMap<u64, u64> = parallel.into_iter().collect();
        assert_eq!(parallel, sequential, "{shards} shards");
        let pinned = map.pin();
        assert_eq!(pinned.par_iter().count(), sequential.len());
        assert_eq!((&pinned).into_par_iter().count(), sequential.len());
    }
}

#[test]
fn collect_and_extend_keep_one_value_per_key() {
    let map: SnapMap<u64, u64> = (0..20_000u64)
        .into_par_iter()
        .map(|i| (i % 1000, i))
        .collect();
    assert_eq!(map.len(), 1000);
    let guard = map.guard();
    for (k, v) in map.iter(&guard) {
        assert_eq!(v % 1000, *k, "key {k} holds another key's value {v}");
    }
    map.__check_invariants();

    let mut map = map;
    map.par_extend((500..1500u64).into_par_iter().map(|k| (k, k)));
    assert_eq!(map.len(), 1500);
    assert!(
        !map.stats().amended,
        "par_extend leaves dirty indexes: {}",
        map.stats()
    );
    for k in 1000..1500 {
        assert_eq!(map.get(&k, &map.guard()), Some(&k));
    }

    // Two parallel extensions through shared references at once.
    rayon::join(
        || (&map).par_extend((2000..3000u64).into_par_iter().map(|k| (k, k))),
        || (&map).par_extend((3000..4000u64).into_par_iter().map(|k| (k, k))),
    );
    assert_eq!(map.len(), 3500);
    map.__check_invariants();
}

/// Keys 0..2000 stay present throughout while another thread inserts and removes keys
/// 10,000.. : every parallel iteration yields each stable key exactly once with its value,
/// never a key twice, and only values the churned keys had.
#[test]
fn writes_racing_a_parallel_iteration() {
    let map: SnapMap<u64, u64> = SnapMap::builder().shards(8).build();
    for k in 0..2000 {
        map.insert(k, k, &map.guard());
    }
    let stop = AtomicBool::new(false);
    /// Stops the writer however the iterations end, so that a failed assertion is reported
    /// instead of waiting for the writer for ever.
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Relaxed);
        }
    }
    std::thread::scope(|s| {
        let _stop = Stop(&stop);
        s.spawn(|| {
            let mut k = 10_000;
            while !stop.load(Relaxed) {
                let guard = map.guard();
                for i in 0..64 {
                    map.insert(k + i, k + i, &guard);
                }
                for i in 0..64 {
                    map.remove(&(k + i), &guard);
                }
                map.insert(k % 2000, k % 2000, &guard); // overwrites a stable key, same value
                k += 64;
            }
        });
        for _ in 0..testkit::scaled(50) {
            let guard = map.guard();
            let seen: Vec<(u64, u64)> = map.par_iter(&guard).map(|(k, v)| (*k, *v)).collect();
            let mut keys = HashSet::new();
            for (k, v) in &seen {
                assert!(keys.insert(*k), "key {k} yielded twice");
                assert_eq!(k, v, "key {k} with a value it never had");
            }
            for k in 0..2000 {
                assert!(keys.contains(&k), "stable key {k} missed");
            }
        }
    });
    map.__check_invariants();
}
