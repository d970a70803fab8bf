//! Stores to live entries racing a dirty build and a promotion, with a reader that holds the
//! overwritten value and reads it afterwards.
#![cfg(loom)]

use loom::sync::Arc;
use loom_tests::{
    explore, flush_epoch, one_shard, probe_contents, promoted_probes, promotions, spawn_on, Probe,
};

/// `a` = 1 in the snapshot. This thread holds `a`'s value, inserts the new key `b` (a dirty
/// build, which copies `a`'s entry), looks `b` up twice (two misses promote the dirty table)
/// and then reads the held value again. The other thread looks `b` up and, if it finds it,
/// overwrites `a` twice (lock-free: the entry is live), retiring the values it replaces and
/// trying to reclaim them.
///
/// Finding `b` orders the overwrites after this thread's first look at `a`: only the later read
/// of the held value can race the reclamation of the value it replaced, which is why the value
/// is a [`Probe`]. The held value stays readable, the last store survives the build and the
/// promotion, and `b` is found.
#[test]
fn live_store_vs_dirty_build_and_promotion() {
    explore("live_store_vs_dirty_build_and_promotion", || {
        let map = Arc::new(promoted_probes([1]));
        let before = promotions(&map);
        let storer = spawn_on(&map, |map| {
            if map.pin().get(&2).is_none() {
                return false;
            }
            // The values replaced are checked by the held read and the final contents.
            assert!(map.pin().insert(1, Probe::new(10)).is_some());
            assert!(map.pin().insert(1, Probe::new(11)).is_some());
            flush_epoch(2);
            true
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
        assert_eq!(held.read(), 1, "a held value changed");
        drop(guard);
        let stored = storer.join().unwrap();

        if one_shard() {
            assert_eq!(promotions(&map), before + 1);
        }
        map.__check_invariants();
        let a = if stored { 11 } else { 1 };
        assert_eq!(probe_contents(&map), [(1, a), (2, 2)], "a store was lost");
    });
}
