//! `retain` against a compaction that retires the very snapshot it walks.
#![cfg(loom)]

use loom::sync::Arc;
use loom_tests::{
    assert_one_of, assert_tombstones_bounded, compactions, explore, one_shard, probe_contents,
    probes_one_removal_from_compaction, spawn_removal,
};

/// Keys 0..4 in the snapshot, 0 and 1 removed: one more removal compacts. The other thread
/// removes 2 (and compacts, then tries to reclaim the old snapshot), while this thread's
/// `retain` walks that snapshot and rejects 2 as well. Exactly one of them removes 2 and that
/// one compacts; the walk goes on over the retired snapshot and still reads 3.
#[test]
fn retain_vs_compaction() {
    explore("retain_vs_compaction", || {
        let map = Arc::new(probes_one_removal_from_compaction());
        let compactor = spawn_removal(&map, 2);
        let mut seen = Vec::new();
        map.retain(|k, v| {
            seen.push((*k, v.read()));
            *k != 2
        });
        let removed = compactor.join().unwrap();

        assert_one_of(removed, &[None, Some(2)]);
        assert!(seen.contains(&(3, 3)), "retain skipped 3: {seen:?}");
        assert!(seen.iter().all(|&(k, v)| v == u32::from(k)), "{seen:?}");
        if one_shard() {
            assert_eq!(compactions(&map), 1);
        }
        map.__check_invariants();
        assert_tombstones_bounded(&map);
        assert_eq!(probe_contents(&map), [(3, 3)]);
    });
}
