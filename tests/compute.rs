//! Atomic read-modify-write: `compute`, `update_or_insert`, `update_or_insert_with` and
//! `remove_entry`, on every state a key can be in, under contention, and when the closure panics.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;

use snapmap::{Compute, Operation, SnapMap};

type Map = SnapMap<u32, u64>;

/// A map in which key 1 is in a read table, 2 in a dirty index, 3 a tombstone and 4 absent.
fn every_state(shards: usize) -> Map {
    let map: Map = SnapMap::builder().shards(shards).build();
    let m = map.pin();
    m.insert(1, 10);
    m.insert(3, 30);
    drop(m);
    testkit::promote(&map);
    let m = map.pin();
    m.insert(2, 20);
    m.remove(&3);
    drop(m);
    map.__check_invariants();
    map
}

fn layouts() -> [usize; 2] {
    [1, 4]
}

#[test]
fn compute_inserts_updates_removes_and_aborts() {
    for shards in layouts() {
        let map = every_state(shards);
        let g = map.guard();
        let bump = |current: Option<&u64>| match current {
            Some(n) => Operation::<u64, ()>::Insert(n + 1),
            None => Operation::Insert(0),
        };
        assert_eq!(
            map.compute(1, bump, &g),
            Compute::Updated { old: &10, new: &11 }
        );
        assert_eq!(
            map.compute(2, bump, &g),
            Compute::Updated { old: &20, new: &21 }
        );
        assert_eq!(map.compute(3, bump, &g), Compute::Inserted(&0), "tombstone");
        assert_eq!(map.compute(4, bump, &g), Compute::Inserted(&0), "absent");
        map.__check_invariants();

        let remove = |_: Option<&u64>| Operation::<u64, ()>::Remove;
        assert_eq!(map.compute(1, remove, &g), Compute::Removed(&11));
        assert_eq!(
            map.compute(1, remove, &g),
            Compute::Unchanged,
            "now a tombstone"
        );
        assert_eq!(
            map.compute(9, remove, &g),
            Compute::Unchanged,
            "never stored"
        );

        let abort = |current: Option<&u64>| Operation::<u64, _>::Abort(current.copied());
        assert_eq!(map.compute(2, abort, &g), Compute::Aborted(Some(21)));
        assert_eq!(map.compute(1, abort, &g), Compute::Aborted(None));
        assert_eq!(map.get(&2, &g), Some(&21), "abort changes nothing");

        let mut all: Vec<_> = map.iter(&g).map(|(&k, &v)| (k, v)).collect();
        all.sort_unstable();
        assert_eq!(all, [(2, 21), (3, 0), (4, 0)]);
        assert_eq!(map.len(), 3);
        map.__check_invariants();
    }
}

#[test]
fn update_or_insert_and_remove_entry_in_every_state() {
    for shards in layouts() {
        let map = every_state(shards);
        let g = map.guard();
        for (key, expected) in [(1, 11), (2, 21), (3, 7), (4, 7)] {
            assert_eq!(map.update_or_insert(key, |n| n + 1, 7, &g), &expected);
        }
        let defaults = AtomicUsize::new(0);
        let default = || {
            defaults.fetch_add(1, Relaxed);
            100
        };
        assert_eq!(map.update_or_insert_with(1, |n| n * 2, default, &g), &22);
        assert_eq!(
            defaults.load(Relaxed),
            0,
            "the default of a present key never runs"
        );
        assert_eq!(map.update_or_insert_with(5, |n| n * 2, default, &g), &100);
        assert_eq!(defaults.load(Relaxed), 1);

        assert_eq!(map.remove_entry(&5, &g), Some((&5, &100)));
        assert_eq!(map.remove_entry(&5, &g), None);
        assert_eq!(map.pin().remove_entry(&2), Some((&2, &21)));
        assert_eq!(map.len(), 3);
        map.__check_invariants();
    }
}

/// Four threads add to a few counters with each read-modify-write method: no increment is lost,
/// while the counters move between the dirty indexes and the tables.
#[test]
fn counters_lose_no_increment_under_four_threads() {
    const THREADS: u64 = 4;
    const ROUNDS: u64 = if cfg!(miri) { 20 } else { 5_000 };
    const KEYS: u32 = 8;
    for shards in layouts() {
        let map: Arc<Map> = Arc::new(SnapMap::builder().shards(shards).build());
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let map = map.clone();
                thread::spawn(move || {
                    for round in 0..ROUNDS {
                        let key = (round as u32 + t as u32) % KEYS;
                        let m = map.pin();
                        match round % 3 {
                            0 => {
                                m.update_or_insert(key, |n| n + 1, 1);
                            }
                            1 => {
                                m.update_or_insert_with(key, |n| n + 1, || 1);
                            }
                            _ => {
                                m.compute(key, |current| match current {
                                    Some(n) => Operation::<u64, ()>::Insert(n + 1),
                                    None => Operation::Insert(1),
                                });
                            }
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        let total: u64 = map.pin().values().sum();
        assert_eq!(total, THREADS * ROUNDS, "{shards} shards");
        map.__check_invariants();
    }
}

/// Against removals of the same key, `update_or_insert_with` runs its default at most once per
/// call, and always returns a value that was stored.
#[test]
fn update_or_insert_with_against_removals() {
    const ROUNDS: u64 = if cfg!(miri) { 20 } else { 20_000 };
    let map: Arc<Map> = Arc::new(SnapMap::builder().shards(1).build());
    let remover = {
        let map = map.clone();
        thread::spawn(move || {
            for _ in 0..ROUNDS {
                map.pin().remove(&0);
            }
        })
    };
    for round in 0..ROUNDS {
        let calls = AtomicUsize::new(0);
        let stored = *map.pin().update_or_insert_with(
            0,
            |n| n + 1,
            || {
                calls.fetch_add(1, Relaxed);
                1_000_000 + round
            },
        );
        assert!(
            calls.load(Relaxed) <= 1,
            "the default ran twice in one call"
        );
        assert!(stored >= 1_000_000, "{stored} was never a value of the key");
    }
    remover.join().unwrap();
    map.__check_invariants();
}

/// Dropping one of these counts it; the map must drop every value exactly once.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Relaxed);
    }
}

#[test]
fn a_panicking_closure_changes_nothing_and_leaks_nothing() {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let map: SnapMap<u32, Counted> = SnapMap::builder().shards(1).build();
        map.pin().insert(1, Counted(drops.clone()));
        let m = map.pin();
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            let _ = m.compute(1, |_| -> Operation<Counted, ()> { panic!("intentional") });
        }));
        assert!(panicked.is_err());
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            m.update_or_insert_with(2, |_| unreachable!(), || panic!("intentional"));
        }));
        assert!(panicked.is_err());
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            m.update_or_insert(1, |_| panic!("intentional"), Counted(drops.clone()));
        }));
        assert!(panicked.is_err());
        drop(m);
        // The default given to the last call was dropped by its unwinding; nothing else.
        assert_eq!(drops.load(Relaxed), 1);
        map.__check_invariants();
        assert_eq!(map.len(), 1);
        assert!(map.contains_key(&1) && !map.contains_key(&2));
        map.pin().insert(2, Counted(drops.clone()));
    }
    // The two values the map held, and the default dropped earlier.
    assert_eq!(drops.load(Relaxed), 3);
}
