//! Race 1: a reader on the old snapshot while misses promote the dirty index.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{explore, one_shard, promoted};

/// `a` is in the snapshot's table, `b` only in its dirty index (two entries, so two lookups
/// answered by the index promote it). The reader keeps a reference from the old snapshot across
/// the promotion; every lookup of a present key finds it, whichever snapshot it runs on and
/// whoever promotes.
#[test]
fn load_vs_promotion() {
    explore("load_vs_promotion", || {
        let map = Arc::new(promoted([(b'a', 1)]));
        map.pin().insert(b'b', 2);

        let reader = {
            let map = map.clone();
            thread::spawn(move || {
                let guard = map.guard();
                let a = map.get(&b'a', &guard);
                assert_eq!(map.get(&b'b', &guard), Some(&2), "b was missed");
                assert_eq!(a, Some(&1));
                assert_eq!(map.get(&b'a', &guard), Some(&1));
            })
        };
        // Two misses: enough to promote on their own, wherever the reader's miss falls.
        for _ in 0..2 {
            assert_eq!(map.pin().get(&b'b'), Some(&2), "b was missed");
        }
        reader.join().unwrap();

        if one_shard() {
            let stats = map.stats();
            assert_eq!(
                (stats.promotions, stats.amended, stats.read_slots),
                (1, false, 2)
            );
        }
        map.__check_invariants();
    });
}
