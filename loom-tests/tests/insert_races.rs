//! Race 6: `get_or_insert`, `get_or_insert_with` and `try_insert` racing on one absent key:
//! exactly one value wins and every caller sees that one.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{
    assert_one_of, contents, explore, flush_epoch, new_map, probe_contents, promoted,
    promoted_probes, spawn_on, Map, Probe,
};

/// Races `get_or_insert` (main thread) against `try_insert` (spawned) on key `k`, then checks
/// that exactly one of them stored and that both report the value that won.
fn race(map: Map<u8, u32>) {
    let map = Arc::new(map);
    let contender = {
        let map = map.clone();
        thread::spawn(move || match map.pin().try_insert(b'k', 2) {
            Ok(stored) => (true, *stored),
            Err(err) => {
                assert_eq!(err.not_inserted, 2, "the rejected value comes back");
                (false, *err.current)
            }
        })
    };
    let seen_here = *map.pin().get_or_insert(b'k', 1);
    let (contender_won, seen_there) = contender.join().unwrap();

    let winner = if contender_won { 2 } else { 1 };
    assert_eq!(
        (seen_here, seen_there),
        (winner, winner),
        "the callers disagree"
    );
    map.__check_invariants();
    assert_eq!(contents(&map), [(b'k', winner)]);
    assert_eq!(map.len(), 1);
}

/// The key is in neither table: both callers take the lock, and the second must find the
/// first one's entry in the dirty table.
#[test]
fn insert_race_on_new_key() {
    explore("insert_race_on_new_key", || race(new_map()));
}

/// The key is a tombstone in the snapshot: both callers compete with a compare-and-swap on the
/// deleted entry, without the lock.
#[test]
fn insert_race_on_tombstone() {
    explore("insert_race_on_tombstone", || {
        let map = promoted([(b'k', 0)]);
        assert_eq!(map.pin().remove(&b'k'), Some(&0));
        race(map);
    });
}

/// `get_or_insert_with` against `get_or_insert` on a new key: the closure runs at most once
/// (it may run and still lose the race), and the value stored is the closure's only if it ran.
#[test]
fn get_or_insert_with_race() {
    explore("get_or_insert_with_race", || {
        let map = Arc::new(new_map::<u8, u32>());
        let other = {
            let map = map.clone();
            thread::spawn(move || *map.pin().get_or_insert(b'k', 1))
        };
        let mut calls = 0;
        let seen_here = *map.pin().get_or_insert_with(b'k', || {
            calls += 1;
            2
        });
        let seen_there = other.join().unwrap();

        assert_eq!(seen_here, seen_there, "the callers disagree");
        assert!(calls <= 1, "the closure ran {calls} times");
        if seen_here == 2 {
            assert_eq!(calls, 1, "a value was stored without running the closure");
        }
        assert_eq!(contents(&map), [(b'k', seen_here)]);
        map.__check_invariants();
    });
}

/// Three callers on a new key: `get_or_insert`, `try_insert` and `get_or_insert_with`. One
/// value wins, all three report it, and only the winner's value is in the map.
///
/// Three threads, each registering with the epoch collector, cost about 900,000 interleavings
/// at preemption bound 1 (minutes), so this deeper model runs on request (`ci/loom.sh deep`).
#[test]
#[ignore = "three threads: minutes at LOOM_MAX_PREEMPTIONS=1; run with `ci/loom.sh deep`"]
fn three_callers_on_new_key() {
    explore("three_callers_on_new_key", || {
        let map = Arc::new(new_map::<u8, u32>());
        let trying = {
            let map = map.clone();
            thread::spawn(move || match map.pin().try_insert(b'k', 2) {
                Ok(stored) => *stored,
                Err(err) => *err.current,
            })
        };
        let computing = {
            let map = map.clone();
            thread::spawn(move || *map.pin().get_or_insert_with(b'k', || 3))
        };
        let here = *map.pin().get_or_insert(b'k', 1);
        let seen = [here, trying.join().unwrap(), computing.join().unwrap()];

        assert!(
            seen.iter().all(|&v| v == here),
            "the callers disagree: {seen:?}"
        );
        assert_eq!(contents(&map), [(b'k', here)]);
        map.__check_invariants();
    });
}

/// `try_insert` reviving a tombstone against a lock-free `insert` of the same key: whichever
/// comes first, the `insert` wins the final value; `try_insert` either stored (and `insert`
/// then returns its value) or found `insert`'s value and hands its own back.
#[test]
fn try_insert_revival_vs_insert() {
    explore("try_insert_revival_vs_insert", || {
        let map = promoted([(b'k', 0u32)]);
        assert_eq!(map.pin().remove(&b'k'), Some(&0));
        let map = Arc::new(map);
        let reviver = spawn_on(&map, |map| match map.pin().try_insert(b'k', 2) {
            Ok(stored) => Ok(*stored),
            Err(err) => {
                assert_eq!(err.not_inserted, 2, "the rejected value comes back");
                Err(*err.current)
            }
        });
        let replaced = map.pin().insert(b'k', 1).copied();
        let revived = reviver.join().unwrap();

        assert_one_of((revived, replaced), &[(Ok(2), Some(2)), (Err(1), None)]);
        map.__check_invariants();
        assert_eq!(contents(&map), [(b'k', 1)]);
        assert_eq!(map.len(), 1);
    });
}

/// `get_or_insert_with` against `remove` of a present key, with the value it returned read
/// after the removal may have retired it: either it found the old value (the closure did not
/// run, and the removal took that value), or the removal came first and the closure's value
/// was stored.
#[test]
fn get_or_insert_with_vs_remove() {
    explore("get_or_insert_with_vs_remove", || {
        let map = Arc::new(promoted_probes([1]));
        let remover = spawn_on(&map, |map| {
            let removed = map.pin().remove(&1).map(Probe::read);
            flush_epoch(2);
            removed
        });
        let mut calls = 0;
        let guard = map.guard();
        let got = map.get_or_insert_with(
            1,
            || {
                calls += 1;
                Probe::new(5)
            },
            &guard,
        );
        let seen = got.read();
        // Read again after the removal may have retired it: still readable, unchanged.
        assert_eq!(got.read(), seen);
        drop(guard);
        let removed = remover.join().unwrap();

        let after = probe_contents(&map);
        assert_one_of(
            (seen, calls, removed, after),
            &[(1, 0, Some(1), vec![]), (5, 1, Some(1), vec![(1, 5)])],
        );
        map.__check_invariants();
    });
}
