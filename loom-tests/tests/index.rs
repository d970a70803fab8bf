//! Races on a snapshot's dirty index: a lookup against the insert that publishes its key there,
//! and against the insert that replaces the index with a larger copy.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{assert_one_of, contents, explore, one_shard, promoted};

/// `0` is in the table and `1` in the dirty index. One thread inserts the new key `2` into that
/// index; the other looks `2` up without a lock. It sees nothing or the whole entry: the slot's
/// pointer is published (release) after the entry and its hash were written, and read back with
/// acquire. A relaxed publication (`relaxed_index_publish`) lets the reader reach the entry
/// without being ordered after its creation. (The first entry of an index is published by the
/// release store of the index itself, which is why the index must exist before the race.)
#[test]
fn lookup_vs_index_publication() {
    explore("lookup_vs_index_publication", || {
        let map = promoted([(0u8, 0u32)]);
        assert_eq!(map.pin().insert(1, 1), None);
        let map = Arc::new(map);
        let writer = {
            let map = map.clone();
            thread::spawn(move || assert_eq!(map.pin().insert(2, 2), None))
        };
        let found = map.pin().get(&2).copied();
        assert_one_of(found, &[None, Some(2)]);
        writer.join().unwrap();

        assert_eq!(
            map.pin().get(&2),
            Some(&2),
            "the insert returned, the key must be found"
        );
        map.__check_invariants();
    });
}

/// Five keys in the table and four in the dirty index, which is then full (eight slots under
/// loom): the next new key replaces the index with a copy twice its size. A lookup of a key the
/// old index holds, racing that replacement, finds it whichever copy it probes; the new key is
/// found or not, and found once the insert has returned.
#[test]
fn lookup_vs_index_growth() {
    explore("lookup_vs_index_growth", || {
        let map = promoted((0..5u8).map(|k| (k, u32::from(k))));
        for k in 5..9 {
            assert_eq!(map.pin().insert(k, u32::from(k)), None);
        }
        if one_shard() {
            assert_eq!(map.stats().dirty_len, 4);
        }
        let map = Arc::new(map);
        let writer = {
            let map = map.clone();
            thread::spawn(move || assert_eq!(map.pin().insert(9, 9), None))
        };
        {
            let guard = map.guard();
            assert_eq!(
                map.get(&5, &guard),
                Some(&5),
                "a key of the old index was missed"
            );
            assert_one_of(map.get(&9, &guard).copied(), &[None, Some(9)]);
        }
        writer.join().unwrap();

        assert_eq!(map.pin().get(&9), Some(&9));
        map.__check_invariants();
        let expected: Vec<_> = (0..10u8).map(|k| (k, u32::from(k))).collect();
        assert_eq!(contents(&map), expected);
    });
}
