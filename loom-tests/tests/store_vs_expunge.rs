//! Race 2: a store of a deleted key against the first new key after a promotion (in Go's
//! `sync.Map`, the dirty build that expunges the tombstone: the classic unexpunge race).
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{contents, explore, one_shard, promoted};

/// `a` is a tombstone in the snapshot. One thread stores `a` (lock-free: a tombstone stays
/// linked until a compaction), the other stores the new key `b`, which starts the snapshot's
/// dirty index under the lock. Unlike Go's dirty build, starting the index copies and expunges
/// nothing, so the store of `a` must revive the tombstone in place, whichever runs first.
#[test]
fn store_vs_dirty_build() {
    explore("store_vs_dirty_build", || {
        let map = Arc::new(promoted([(b'a', 1)]));
        assert_eq!(map.pin().remove(&b'a'), Some(&1));

        let storer = {
            let map = map.clone();
            thread::spawn(move || {
                assert_eq!(map.pin().insert(b'a', 10), None, "a was deleted");
            })
        };
        assert_eq!(map.pin().insert(b'b', 20), None);
        storer.join().unwrap();

        if one_shard() {
            assert_eq!(map.stats().dirty_builds, 1);
        }
        // Iteration walks the table and the dirty index: a store into an entry that neither
        // holds would vanish here.
        assert_eq!(contents(&map), [(b'a', 10), (b'b', 20)], "a store was lost");
        assert_eq!(map.len(), 2);
        map.__check_invariants();
    });
}
