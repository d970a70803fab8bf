//! `clear` against insert, remove, iteration and promotion: it linearizes at one point, and
//! what it removes stays readable under the guards that saw it.
#![cfg(loom)]

use loom::sync::Arc;
use loom_tests::{
    assert_one_of, explore, new_map, one_shard, probe_contents, promoted_probes, promotions,
    spawn_on, Map, Probe,
};

/// Runs `clear` on this thread against `other` on a spawned one, then checks the invariants;
/// returns what `other` returned.
fn clear_against<T: Send + 'static>(
    map: Map<u8, Probe>,
    other: impl FnOnce(&Map<u8, Probe>) -> T + Send + 'static,
) -> (Arc<Map<u8, Probe>>, T) {
    let map = Arc::new(map);
    let racer = spawn_on(&map, other);
    map.clear();
    let seen = racer.join().unwrap();
    map.__check_invariants();
    (map, seen)
}

/// `a` = 1; the other thread overwrites `a` and inserts the new key `b`. The clear comes before
/// both stores, between them, or after both.
#[test]
fn clear_vs_insert() {
    explore("clear_vs_insert", || {
        let (map, old_a) = clear_against(promoted_probes([1]), |map| {
            let old_a = map.pin().insert(1, Probe::new(10)).map(Probe::read);
            assert!(map.pin().insert(2, Probe::new(20)).is_none());
            old_a
        });
        let after = probe_contents(&map);
        assert_eq!(map.len(), after.len());
        assert_one_of(
            (old_a, after),
            &[
                (None, vec![(1, 10), (2, 20)]),
                (Some(1), vec![(2, 20)]),
                (Some(1), vec![]),
            ],
        );
        map.__check_invariants();
    });
}

/// `a` = 1, `b` = 2; the other thread holds `b`'s value, removes `a` then `b`, and reads the
/// held value afterwards. Each value is removed exactly once, by the clear or by the removal
/// (the count of live entries shows a double removal: a new key afterwards must count one), and
/// the value the clear unlinked stays readable under the guard.
///
/// `clear` removes the entries one at a time before it publishes the empty snapshot, so it is
/// not atomic: the removal of `a` can find it cleared and the removal of `b`, after it, still
/// find `b` (`(None, Some(2))`), an outcome no single-point clear allows. Go's `Clear` swaps
/// the snapshot at once and does not show it.
#[test]
fn clear_vs_remove() {
    explore("clear_vs_remove", || {
        let (map, removed) = clear_against(promoted_probes([1, 2]), |map| {
            let guard = map.guard();
            let held = map.get(&2, &guard);
            let removed = (
                map.remove(&1, &guard).map(Probe::read),
                map.remove(&2, &guard).map(Probe::read),
            );
            assert_one_of(held.map(Probe::read), &[None, Some(2)]);
            removed
        });
        assert_one_of(
            removed,
            &[
                (Some(1), Some(2)),
                (Some(1), None),
                (None, None),
                (None, Some(2)),
            ],
        );
        assert_eq!(probe_contents(&map), []);
        assert_eq!(map.len(), 0);
        assert!(map.pin().insert(3, Probe::new(3)).is_none());
        assert_eq!(map.len(), 1, "a value was counted as removed twice");
    });
}

/// `a`, `b` in the snapshot; the other thread iterates, keeps the values it was given and
/// reads them after the iteration, while this thread clears: no key twice, each value the one
/// its key had, and every value readable until the iterating guard drops.
#[test]
fn clear_vs_iteration() {
    explore("clear_vs_iteration", || {
        let (map, ()) = clear_against(promoted_probes([1, 2]), |map| {
            let guard = map.guard();
            let seen: Vec<(u8, &Probe)> = map.iter(&guard).map(|(k, v)| (*k, v)).collect();
            let mut keys: Vec<u8> = seen.iter().map(|&(k, _)| k).collect();
            keys.dedup();
            assert_eq!(keys.len(), seen.len(), "a key was yielded twice: {keys:?}");
            for (k, v) in seen {
                assert_eq!(v.read(), u32::from(k), "a value the key never had");
            }
        });
        assert_eq!(probe_contents(&map), []);
    });
}

/// `a` in the snapshot and `b` only in the dirty table (two entries: two misses promote). The
/// other thread looks `b` up twice, promoting unless the clear came first; `b` is found until
/// the clear, and never after it.
#[test]
fn clear_vs_promotion() {
    explore("clear_vs_promotion", || {
        let map = promoted_probes([1]);
        assert!(map.pin().insert(2, Probe::new(2)).is_none());
        let before = promotions(&map);
        let (map, found) = clear_against(map, move |map| {
            let first = map.pin().get(&2).map(Probe::read);
            let second = map.pin().get(&2).map(Probe::read);
            (first, second)
        });
        assert_one_of(found, &[(Some(2), Some(2)), (Some(2), None), (None, None)]);
        if one_shard() {
            assert!(promotions(&map) <= before + 1);
        }
        assert_eq!(probe_contents(&map), []);
        assert_eq!(map.len(), 0);
        // The map still works after the race: a new key is found again.
        assert!(map.pin().insert(3, Probe::new(3)).is_none());
        assert_eq!(probe_contents(&map), [(3, 3)]);
        map.__check_invariants();
    });
}

/// An empty map cleared against a first insert: the insert is kept or cleared, never half.
#[test]
fn clear_vs_first_insert() {
    explore("clear_vs_first_insert", || {
        let (map, ()) = clear_against(new_map(), |map| {
            assert!(map.pin().insert(1, Probe::new(1)).is_none());
        });
        let after = probe_contents(&map);
        assert_eq!(map.len(), after.len());
        assert_one_of(after, &[vec![], vec![(1, 1)]]);
    });
}
