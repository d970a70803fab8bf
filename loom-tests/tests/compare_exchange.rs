//! Race 7: `compare_exchange` against `remove`, and `update` against `update`: no lost
//! increment, no exchange on a removed key.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{
    assert_one_of, assert_tombstones_bounded, compactions, contents, explore, one_shard,
    probe_contents, probes_one_removal_from_compaction, promoted, spawn_on, spawn_removal, Probe,
};

/// `a` = 1. One thread exchanges 1 for 2, the other removes `a`. Either the exchange comes
/// first (and the removal takes 2), or the removal does (and the exchange finds no key and
/// never inserts one).
#[test]
fn compare_exchange_vs_remove() {
    explore("compare_exchange_vs_remove", || {
        let map = Arc::new(promoted([(b'a', 1)]));
        let remover = {
            let map = map.clone();
            thread::spawn(move || map.pin().remove(&b'a').copied())
        };
        let exchanged = match map.pin().compare_exchange(&b'a', &1, 2) {
            Ok(previous) => Ok(*previous),
            Err(err) => {
                assert_eq!(err.new, 2, "the rejected value comes back");
                Err(err.current.copied())
            }
        };
        let removed = remover.join().unwrap();

        assert_one_of(
            (exchanged, removed),
            &[(Ok(1), Some(2)), (Err(None), Some(1))],
        );
        map.__check_invariants();
        assert_eq!(contents(&map), [], "the exchange inserted a key");
    });
}

/// `a` = 0 and two threads increment it with `update`: both increments land, and each caller
/// gets the value its own increment produced.
#[test]
fn update_vs_update() {
    explore("update_vs_update", || {
        let map = Arc::new(promoted([(b'a', 0u32)]));
        let other = {
            let map = map.clone();
            thread::spawn(move || *map.pin().update(&b'a', |v| v + 1).unwrap())
        };
        let here = *map.pin().update(&b'a', |v| v + 1).unwrap();
        let there = other.join().unwrap();

        assert_one_of((here, there), &[(1, 2), (2, 1)]);
        assert_eq!(contents(&map), [(b'a', 2)], "an increment was lost");
        map.__check_invariants();
    });
}

/// `a` is a tombstone in the snapshot. The other thread inserts the new key `b` (a dirty build,
/// which expunges `a`) and then stores `a` again (under the lock, into the expunged entry);
/// this thread exchanges `a` from 5 to 6 and then updates it. Before the revival both find
/// no key and insert nothing; after it, they change the revived value.
#[test]
fn compare_exchange_vs_expunge() {
    explore("compare_exchange_vs_expunge", || {
        let map = promoted([(b'a', 1u32)]);
        assert_eq!(map.pin().remove(&b'a'), Some(&1));
        let map = Arc::new(map);
        let reviver = spawn_on(&map, |map| {
            assert!(map.pin().insert(b'b', 2).is_none());
            assert!(map.pin().insert(b'a', 5).is_none(), "a was deleted");
        });
        let exchanged = match map.pin().compare_exchange(&b'a', &5, 6) {
            Ok(previous) => Ok(*previous),
            Err(err) => Err(err.current.copied()),
        };
        let updated = map.pin().update(&b'a', |v| v + 10).copied();
        reviver.join().unwrap();

        let after = contents(&map);
        assert_one_of(
            (exchanged, updated, after),
            &[
                (Err(None), None, vec![(b'a', 5), (b'b', 2)]),
                (Err(None), Some(15), vec![(b'a', 15), (b'b', 2)]),
                (Ok(5), Some(16), vec![(b'a', 16), (b'b', 2)]),
            ],
        );
        map.__check_invariants();
    });
}

/// Keys 0..4 in the snapshot, 0 and 1 removed: the other thread's removal of 2 compacts. This
/// thread holds 3's value, exchanges 2 for 20 and increments 3 while the compaction copies the
/// live entries into a new snapshot, then reads the held value. The exchange linearizes with
/// the removal, the increment is not lost, the held value stays readable.
#[test]
fn compare_exchange_and_update_vs_compaction() {
    explore("compare_exchange_and_update_vs_compaction", || {
        let map = Arc::new(probes_one_removal_from_compaction());
        let compactor = spawn_removal(&map, 2);
        let guard = map.guard();
        let held = map.get(&3, &guard).expect("3 is present");
        let exchanged = match map.compare_exchange(&2, &Probe::new(2), Probe::new(20), &guard) {
            Ok(previous) => Ok(previous.read()),
            Err(err) => Err(err.current.map(Probe::read)),
        };
        let updated = map.update(&3, |v| Probe::new(v.read() + 10), &guard);
        assert_eq!(updated.map(Probe::read), Some(13), "the increment was lost");
        assert_eq!(held.read(), 3);
        drop(guard);
        let removed = compactor.join().unwrap();

        assert_one_of(
            (exchanged, removed),
            &[(Ok(2), Some(20)), (Err(None), Some(2))],
        );
        if one_shard() {
            assert_eq!(compactions(&map), 1);
        }
        map.__check_invariants();
        assert_tombstones_bounded(&map);
        assert_eq!(probe_contents(&map), [(3, 13)]);
    });
}
