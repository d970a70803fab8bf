//! Races on tombstones that a shard unlinks from its dirty index in place, without publishing a
//! new snapshot: a store of the deleted key against its unlinking, and an iteration against the
//! unlinking and the refill of the slot by a new key.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{contents, explore, flush_epoch, new_map, one_shard};

/// Keys 0, 1 and 5 in the dirty index of a fresh map, and 0 deleted; one more removal takes the
/// shard over its tombstone bound (2 under loom, plus half the live count).
fn one_removal_from_unlinking() -> Arc<loom_tests::Map<u8, u32>> {
    let map = new_map();
    for k in [0u8, 1, 5] {
        assert_eq!(map.pin().insert(k, u32::from(k)), None);
    }
    assert_eq!(map.pin().remove(&0), Some(&0));
    if one_shard() {
        let stats = map.stats();
        assert_eq!((stats.dirty_len, stats.tombstones), (3, 1), "{stats}");
    }
    Arc::new(map)
}

/// The other thread removes 1: two tombstones for one live key, which the shard unlinks from the
/// index where they are, unless 0 is stored again first. This thread stores 0 meanwhile:
/// lock-free into its tombstone, or, once the unlinking expunged it, as a new key under the
/// lock. The store is never lost: the unlinking expunges an entry (a compare-and-swap from the
/// tombstone) before it takes it out of the index, so a revival either comes first, and the
/// entry stays, or fails and goes to the lock. Unlinking a tombstone without expunging it
/// (`unlink_without_expunge`) lets the revival land in an entry no index holds.
#[test]
fn store_vs_unlink() {
    explore("store_vs_unlink", || {
        let map = one_removal_from_unlinking();
        let remover = {
            let map = map.clone();
            thread::spawn(move || {
                assert_eq!(map.pin().remove(&1), Some(&1));
                flush_epoch(2);
            })
        };
        assert_eq!(map.pin().insert(0, 40), None, "0 was deleted");
        remover.join().unwrap();

        map.__check_invariants();
        assert_eq!(contents(&map), [(0, 40), (5, 5)], "the store of 0 was lost");
        assert_eq!(map.len(), 2);
        // How the tombstones went is the interleaving's choice: storing 0 before 1 is removed
        // leaves one tombstone for two live keys, and nothing to drop; three misses (the
        // removals' and the store's) may promote the index first, leaving the tombstones to a
        // compaction; and a revival whose count lands after the unlinking makes that look short
        // of its goal, and a compaction follows it. `__check_invariants` checks the bound.
    });
}

/// The other thread removes 1, which takes the shard over its tombstone bound: both tombstones
/// are expunged and unlinked where they are, with no new snapshot. It then stores the new key 2,
/// which takes the first unlinked slot, 0's. An iteration racing both yields 5, and 1 and 2 at
/// most once each, never 0.
///
/// A slot read through a tag word loaded before the unlink may hold 2's entry already: its
/// pointer is read with acquire, which pairs with the release store of it. A relaxed store
/// (`relaxed_slot_refill`) lets the iteration reach 2's entry without being ordered after its
/// creation.
#[test]
fn iteration_vs_unlink_and_refill() {
    explore("iteration_vs_unlink_and_refill", || {
        let map = one_removal_from_unlinking();
        let writer = {
            let map = map.clone();
            thread::spawn(move || {
                assert_eq!(map.pin().remove(&1), Some(&1));
                assert_eq!(map.pin().insert(2, 2), None);
                flush_epoch(2);
            })
        };
        let guard = map.guard();
        let seen: Vec<(u8, u32)> = map.iter(&guard).map(|(k, v)| (*k, *v)).collect();
        let mut keys: Vec<u8> = seen.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), seen.len(), "a key was yielded twice: {seen:?}");
        assert!(
            seen.contains(&(5, 5)),
            "a key present throughout was missed: {seen:?}"
        );
        assert!(!keys.contains(&0), "a removed key was yielded: {seen:?}");
        drop(guard);
        writer.join().unwrap();

        if one_shard() {
            let stats = map.stats();
            assert_eq!(
                (
                    stats.dirty_len,
                    stats.tombstones,
                    stats.purges,
                    stats.compactions
                ),
                (2, 0, 1, 0),
                "{stats}"
            );
        }
        map.__check_invariants();
        assert_eq!(contents(&map), [(2, 2), (5, 5)]);
    });
}
