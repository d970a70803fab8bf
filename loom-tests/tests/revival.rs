//! Revivals (stores into a tombstone) are counted before their compare-and-swap and taken back
//! if it fails, so that a shard's live count never misses a key a returned store made live, and
//! a `clear` may skip every shard that counts none (invariant 7).
#![cfg(loom)]

use loom::sync::Arc;
use loom_tests::{assert_one_of, contents, explore, one_shard, promoted, spawn_on};

/// `a` = 1 and the tombstone of `b`; the other thread revives `b` while this one removes `b`,
/// clears, and looks `a` up. `a` was stored before the clear began and nothing else writes it,
/// so the clear must remove it, whatever the revival and the removal do around it.
///
/// Counted after its compare-and-swap, as it once was, the revival of `b` could be
/// in the shard while its count was not: the removal of `b` then took the live count to zero
/// with `a` live, and the clear skipped the shard.
#[test]
fn clear_vs_revival() {
    explore("clear_vs_revival", || {
        let map = promoted([(1u8, 1u32), (2, 2)]);
        assert_eq!(map.pin().remove(&2), Some(&2));
        let map = Arc::new(map);
        let reviver = spawn_on(&map, |map| map.pin().insert(2, 20).is_none());
        let removed = map.pin().remove(&2).copied();
        map.clear();
        assert_eq!(
            map.pin().get(&1),
            None,
            "the clear left a key stored before it began"
        );
        assert!(reviver.join().unwrap(), "the tombstone held a value");
        let after = contents(&map);
        assert_eq!(map.len(), after.len(), "the live count drifted");
        // The removal came after the revival, or found the tombstone; the clear came after the
        // revival, or before it.
        assert_one_of(
            (removed, after),
            &[(Some(20), vec![]), (None, vec![]), (None, vec![(2, 20)])],
        );
        map.__check_invariants();
    });
}

/// `a` = 1, `b` = 2 and the tombstone of `c`; both threads revive `c`, and this one then removes
/// `a` and `b`. One revival wins; the other's compare-and-swap fails, and it takes its count
/// back and stores over the winner.
///
/// The count must come out exact (a revival that fails and keeps its count leaves the live count
/// one too high), and the tombstone bound must hold: the removals may run while the losing
/// revival is counted, see one live entry too many and not compact, so taking the count back
/// must make the check a removal makes (on one shard the final two tombstones with one live
/// entry are over the loom floor).
#[test]
fn revival_taken_back() {
    explore("revival_taken_back", || {
        let map = promoted([(1u8, 1u32), (2, 2), (3, 3)]);
        assert_eq!(map.pin().remove(&3), Some(&3));
        let map = Arc::new(map);
        let reviver = spawn_on(&map, |map| map.pin().insert(3, 30).copied());
        let mine = map.pin().insert(3, 31).copied();
        assert_eq!(map.pin().remove(&1), Some(&1));
        assert_eq!(map.pin().remove(&2), Some(&2));
        let theirs = reviver.join().unwrap();
        let after = contents(&map);
        assert_eq!(map.len(), after.len(), "the live count drifted");
        assert_one_of(
            (mine, theirs, after),
            &[
                (None, Some(31), vec![(3, 30)]),
                (Some(30), None, vec![(3, 31)]),
            ],
        );
        if one_shard() {
            assert_eq!(
                map.stats().tombstones,
                0,
                "the tombstones were not compacted"
            );
        }
        map.__check_invariants();
    });
}
