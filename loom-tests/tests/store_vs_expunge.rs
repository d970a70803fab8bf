//! Race 2: a store of an existing key against the dirty build that expunges it (the classic
//! unexpunge race of Go's `sync.Map`).
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{contents, explore, promoted};

/// `a` is a tombstone in the snapshot. One thread stores `a` (lock-free while the tombstone is
/// only deleted), the other stores the new key `b`, whose dirty build expunges the tombstone if
/// it is still deleted. The store of `a` must survive: either it revived `a` before the build
/// (which then copies it), or it found `a` expunged and put it back into the dirty table.
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

        assert_eq!(map.stats().dirty_builds, 2);
        // Promoting publishes the dirty table: a store that went only into an expunged entry
        // would vanish here.
        assert_eq!(contents(&map), [(b'a', 10), (b'b', 20)], "a store was lost");
        assert_eq!(map.len(), 2);
        map.__check_invariants();
    });
}
