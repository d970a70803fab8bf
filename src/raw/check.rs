//! A full check of the invariants listed in the module docs, for tests and fuzzing.

use super::{entry, must_compact, RawMap, MIN_TOMBSTONES};
use crate::sync::epoch;

impl<K: Eq + Send + Sync + 'static, V: Send + Sync + 'static> RawMap<K, V> {
    /// Panics with a description if an invariant does not hold. Meaningful only while no write
    /// is in flight; `hash_of` recomputes a key's hash.
    pub(crate) fn check_invariants(&self, hash_of: impl Fn(&K) -> u64) {
        let guard = &epoch::pin();
        let mut tombstones = 0;
        for (index, shard) in self.shards.iter().enumerate() {
            let (mut live, mut dead) = (0, 0);
            if let Some(snapshot) = shard.snapshot(guard) {
                let fresh = snapshot.fresh(guard);
                assert!(
                    snapshot.table.len() > 0 || fresh.is_some(),
                    "an empty snapshot is published instead of none"
                );
                if let Some(fresh) = fresh {
                    assert_eq!(
                        fresh.slots().count(),
                        fresh.len(),
                        "the index length drifted"
                    );
                }
                for slot in snapshot.slots(guard) {
                    let found = entry(slot.entry, guard);
                    assert_eq!(slot.hash, hash_of(found.key()), "a stored hash is stale");
                    assert!(
                        std::ptr::eq(self.shard(slot.hash), shard),
                        "an entry is in shard {index}, not the one its hash selects"
                    );
                    assert!(!found.is_expunged(guard), "a linked entry is expunged");
                    let in_table = snapshot.table.find(slot.hash, |key| key == found.key());
                    let in_fresh = fresh.and_then(|f| f.find(slot.hash, |key| key == found.key()));
                    match (in_table, in_fresh) {
                        (Some(a), Some(b)) => panic!(
                            "a key is both in the table and in the index (same entry: {})",
                            a == b
                        ),
                        (Some(other), None) | (None, Some(other)) => {
                            assert!(other == slot.entry, "a key has two linked entries");
                        }
                        (None, None) => panic!("an indexed entry cannot be found by its key"),
                    }
                    if found.is_live(guard) {
                        live += 1;
                    } else {
                        dead += 1;
                    }
                }
            }
            let counts = shard.counts();
            assert_eq!(counts.live, live, "shard {index}: the live count drifted");
            assert_eq!(counts.dead, dead, "shard {index}: the dead count drifted");
            assert!(
                !must_compact(dead, live, self.shard_count()),
                "shard {index}: {dead} tombstones exceed the bound for {live} live entries"
            );
            tombstones += dead as usize;
        }
        assert!(
            tombstones <= MIN_TOMBSTONES.max(self.len()),
            "{tombstones} tombstones exceed the bound for {} live entries",
            self.len()
        );
    }
}
