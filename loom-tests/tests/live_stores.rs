//! Stores to live entries racing a dirty build and a promotion, with a reader that holds the
//! overwritten value and reads it afterwards.
#![cfg(loom)]

use loom::sync::Arc;
use loom_tests::{
    assert_one_of, explore, flush_epoch, probe_contents, promoted_probes, promotions, spawn_on,
    Probe,
};

/// `a` = 1 in the snapshot. One thread overwrites `a` twice (lock-free: the entry is live),
/// retiring the values it replaces and trying to reclaim them. This thread holds `a`'s value,
/// inserts the new key `b` (a dirty build, which copies `a`'s entry), looks `b` up twice (two
/// misses promote the dirty table) and then reads the held value: it is still readable, the
/// last store survives the build and the promotion, and `b` is found.
#[test]
fn live_store_vs_dirty_build_and_promotion() {
    explore("live_store_vs_dirty_build_and_promotion", || {
        let map = Arc::new(promoted_probes([1]));
        let before = promotions(&map);
        let storer = spawn_on(&map, |map| {
            let first = map.pin().insert(1, Probe::new(10)).map(Probe::read);
            let second = map.pin().insert(1, Probe::new(11)).map(Probe::read);
            flush_epoch(2);
            (first, second)
        });
        let guard = map.guard();
        let held = map.get(&1, &guard).expect("a is present");
        assert!(map.insert(2, Probe::new(2), &guard).is_none());
        for _ in 0..2 {
            assert_eq!(
                map.get(&2, &guard).map(Probe::read),
                Some(2),
                "b was missed"
            );
        }
        // Read after the other thread may have replaced and retired it.
        assert_one_of(held.read(), &[1, 10, 11]);
        drop(guard);
        assert_eq!(storer.join().unwrap(), (Some(1), Some(10)));

        assert_eq!(promotions(&map), before + 1);
        map.__check_invariants();
        assert_eq!(probe_contents(&map), [(1, 11), (2, 2)], "a store was lost");
    });
}
