//! A full check of the invariants listed in the module docs, for tests and fuzzing.

use super::{compaction_threshold, entry, signed, RawMap};
use crate::sync::epoch;
use crate::sync::Ordering::{Acquire, Relaxed};

impl<K: Eq, V> RawMap<K, V> {
    /// Panics with a description if an invariant does not hold. Meaningful only while no write
    /// is in flight; `hash_of` recomputes a key's hash.
    pub(crate) fn check_invariants(&self, hash_of: impl Fn(&K) -> u64) {
        let guard = &epoch::pin();
        let locked = self.locked.lock();
        let snapshot = self.snapshot(guard);
        let dirty = locked.dirty.as_ref();
        assert_eq!(
            snapshot.amended.load(Acquire),
            dirty.is_some(),
            "the snapshot is amended exactly while a dirty table exists"
        );

        for &ptr in snapshot.table.iter() {
            let found = entry(ptr, guard);
            match dirty {
                Some(dirty) if found.is_expunged(guard) => {
                    assert!(
                        !dirty.contains(ptr),
                        "an expunged entry is in the dirty table"
                    );
                    assert!(
                        locked.expunged.contains(&ptr),
                        "an expunged entry is not listed"
                    );
                }
                Some(dirty) => assert!(
                    dirty.contains(ptr),
                    "a snapshot entry is not in the dirty table"
                ),
                None => assert!(
                    !found.is_expunged(guard),
                    "expunged entry without a dirty table"
                ),
            }
        }
        match dirty {
            Some(dirty) => {
                assert!(
                    dirty.iter().any(|&ptr| !snapshot.table.contains(ptr)),
                    "an amended snapshot lacks none of the dirty table's keys"
                );
                assert!(
                    locked.misses < dirty.len(),
                    "misses reached the dirty length unpromoted"
                );
            }
            None => {
                assert_eq!(locked.misses, 0, "misses counted without a dirty table");
                assert!(
                    locked.expunged.is_empty(),
                    "expunged entries listed without a dirty table"
                );
            }
        }

        let (mut live, mut dead) = (0, 0);
        for ptr in Self::linked(snapshot, dirty, guard) {
            let found = entry(ptr, guard);
            assert_eq!(found.hash, hash_of(&found.key), "a cached hash is stale");
            if dirty.is_some_and(|dirty| dirty.contains(ptr)) {
                assert!(
                    !found.is_expunged(guard),
                    "the dirty table holds an expunged entry"
                );
            }
            for table in [Some(&snapshot.table), dirty].into_iter().flatten() {
                if let Some(other) = table.find(found.hash, |key| *key == found.key) {
                    assert!(other == ptr, "a key has two linked entries");
                }
            }
            if found.is_live(guard) {
                live += 1;
            } else {
                dead += 1;
            }
        }
        assert_eq!(
            signed(self.live.load(Relaxed)),
            live,
            "the live count drifted"
        );
        assert!(
            signed(self.dead.load(Relaxed)) >= dead,
            "the dead count undercounts: {} < {dead}",
            signed(self.dead.load(Relaxed))
        );
        let tombstones = snapshot
            .table
            .iter()
            .filter(|&&ptr| !entry(ptr, guard).is_live(guard))
            .count();
        assert!(
            tombstones <= compaction_threshold(self.len()),
            "{tombstones} tombstones exceed the bound for {} live entries",
            self.len()
        );
    }
}
