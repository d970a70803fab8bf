//! An entry's first value lives in the entry's own block. Its replacement retires it on one
//! thread while a removal on another compacts the entry away and retires the entry: the two
//! deferred destructors may run in either order, and a reader may still hold the first value.
//! The block must outlive both (loom reports a block freed twice or never, and the reader's
//! [`Probe`] reports a value dropped under its guard).
#![cfg(loom)]

use loom::sync::Arc;
use loom_tests::{
    explore, flush_epoch, probe_contents, probes_one_removal_from_compaction, spawn_on, Probe,
};

/// Keys 2 and 3 live with their first values, 0 and 1 tombstones. This thread holds key 2's
/// first value, removes key 2 (the removal that compacts, retiring key 2's entry) and reads the
/// held value afterwards. The other thread overwrites key 2 (retiring its first value, unless the
/// removal took it) and flushes its deferred destructors, before or after this thread's.
#[test]
fn first_value_replaced_while_its_entry_is_compacted() {
    explore("first_value_replaced_while_its_entry_is_compacted", || {
        let map = Arc::new(probes_one_removal_from_compaction());
        let guard = map.guard();
        let held = map.get(&2, &guard).expect("key 2 is present");
        let writer = spawn_on(&map, |map| {
            let previous = map.pin().insert(2, Probe::new(20)).map(Probe::read);
            flush_epoch(1);
            previous
        });
        let removed = map.remove(&2, &guard).map(Probe::read);
        assert_eq!(held.read(), 2, "a held first value changed");
        drop(guard);
        flush_epoch(1);
        let previous = writer.join().unwrap();

        map.__check_invariants();
        match (removed, previous) {
            // The overwrite went first and the removal took its value.
            (Some(20), Some(2)) => assert_eq!(probe_contents(&map), [(3, 3)]),
            // The removal took the first value, and the store came after it.
            (Some(2), None) => assert_eq!(probe_contents(&map), [(2, 20), (3, 3)]),
            outcome => panic!("not linearizable: (removed, replaced) = {outcome:?}"),
        }
    });
}
