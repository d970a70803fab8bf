//! The map's protocol, independent of hashing.
//!
//! The map is a fixed number of independent **shards**, chosen by hash bits that no table
//! probes with (see [`RawMap::shard`]). Each shard is the classic `sync.Map` unit, reworked so
//! that no read ever locks and no writer copies the whole shard:
//!
//! - a **read snapshot** reached through an epoch-protected pointer: an immutable table of
//!   `(hash, entry)` slots, plus
//! - the snapshot's **index of new keys** ([`fresh`]): a lock-free open-addressing table that only
//!   the holder of the shard's lock extends, and that readers probe when the table misses. It
//!   plays the part of Go's dirty map, but holds only the keys the table lacks, so the first new
//!   key after a promotion copies nothing;
//! - a **mutex** that serialises the writers that add a key or publish a new snapshot;
//! - counters of live entries, tombstones and misses, on a cache line readers never load.
//!
//! An entry is one allocation holding its key, its first value and an atomic pointer to its
//! current value (the first one, or a cell holding a value stored later); its states (live,
//! deleted, expunged) are described in [`entry`], and who frees its block, and when, in [`node`].
//! Every public operation reduces to: find the key's entry lock-free (table, then index), then
//! change its value pointer with a compare-and-swap. Only an insert of a key the snapshot lacks
//! takes the lock, and so do the publications of a new snapshot: a **promotion** (the index
//! merged into a new table, when lookups answered by the index have added up to the shard's
//! size, or when the index has grown as large as the table), a **compaction** (a new table
//! without the tombstones) and a `clear` of more keys than a shard may keep as tombstones (a
//! `clear` of fewer deletes them in place, as removals do).
//!
//! # Invariants (per shard)
//!
//! 1. A published snapshot's table never changes; its index only gains entries (or is replaced
//!    by a larger copy of itself); entries change only their value pointers.
//! 2. Every *linked* entry (one the current snapshot's table or index holds) is live or deleted,
//!    never expunged; a key has at most one linked entry, in the table or in the index, never
//!    both.
//! 3. An entry is expunged only by the lock holder, at the moment it leaves it out of the snapshot
//!    that replaces the current one; it then stays expunged and is retired with the old snapshot,
//!    exactly once. Values are retired by the thread whose compare-and-swap replaced them.
//! 4. Only the lock holder adds entries to the index or replaces the snapshot.
//! 5. Once no write is in flight, the shard's counts (`live` and `dead`, packed in one word) are
//!    the number of live linked entries and the number of deleted ones, exactly: each transition
//!    into or out of "deleted" moves one entry between them, with one read-modify-write by the
//!    thread whose compare-and-swap made it (a removal after its compare-and-swap; a revival
//!    before it, and once more, the other way, if the compare-and-swap fails); an insert adds one
//!    to `live`, and a compaction or a `clear` subtracts what it expunged. Only the lock holder
//!    changes their sum.
//! 6. Once no write is in flight, no shard has `dead > (MIN_TOMBSTONES / shards + live) / 2`
//!    ([`must_compact`]), so the whole map holds at most `MIN_TOMBSTONES / 2 + len / 2 ≤
//!    max(MIN_TOMBSTONES, len)` tombstones. Take the last read-modify-write, in the word's
//!    order, that raises `dead`: a removal's, or a failed revival's taking its count back. It
//!    sees both counts at once; only inserts, counted revivals, compactions and clears follow it,
//!    and each of those lowers `dead` or raises `live`, so it sees a `dead` at least the final one
//!    and a `live` at most the final one. If the final state is over the bound, so was what it
//!    saw, and its thread compacted under the lock after every tombstone was made (each removal's
//!    compare-and-swap happens before its read-modify-write, which this one's acquires). A
//!    revival taken back must make the check: a removal that ran while the revival was counted
//!    saw a `live` one too high.
//! 7. The live count never misses a key that a store made live and that nothing has removed
//!    since: read at any moment, it is at least the number of the shard's entries whose current
//!    value a store that happened before the read made live (an insert, or a revival) and no
//!    removal or `clear` has deleted. Every store that makes an entry live counts it before the
//!    entry can be seen live (an insert before linking it, a revival before its compare-and-swap),
//!    and every decrement follows the compare-and-swap that deleted or expunged the value: so each
//!    decrement of `live` follows, in the word's order, the increment of the store that made its
//!    value live (that store's compare-and-swap happens before the removal's, through the chain of
//!    compare-and-swaps on the entry's value pointer), and a failed revival's decrement follows its
//!    own increment. `clear` relies on this to leave alone a shard whose count reads zero or less:
//!    every key it holds is a tombstone, or was written while the `clear` ran. (A revival counted
//!    only after its compare-and-swap broke this: with `a` live, a revival of `b` and then a
//!    removal of `b` counted first took the count to zero.)
//!
//! # Why a lookup finds every key inserted before it started
//!
//! An insert of a new key holds the lock, stores the entry's hash and pointer into a slot of the
//! current snapshot's index, then the slot's tag into its group's tag word (release), and then
//! the index length (release); or it
//! publishes a larger copy of the index (release), or a whole new snapshot holding the entry
//! (release). A lookup loads the snapshot pointer (acquire), probes its table, loads its index
//! pointer (acquire) and probes that. If the insert happened before the lookup:
//!
//! - the lookup's snapshot is the one the insert wrote to, or a later one (the snapshot pointer's
//!   modification order). A later snapshot was built by a lock holder after the insert, from a
//!   table and an index that held the entry, so its table holds it (a compaction keeps every entry
//!   whose value was live when it looked; a tombstone it expunges was a deleted key);
//! - with the same snapshot, the index pointer it loads is the one the insert wrote to or a later
//!   copy, and a copy is made by the lock holder from the complete index it replaces;
//! - in that index, the probe crosses only groups that were full when the entry was added (they
//!   stay full), and the acquire load of its group's tag word reads the insert's release store
//!   or a later one (tags are only ever added), so it sees the tag, and the slot written before.
//!
//! A lookup that started earlier may or may not see the entry: either answer is linearizable,
//! at the load of the tag word. A lookup that finds an entry through a snapshot that has meanwhile
//! been replaced still finds the key's linked entry, unless a compaction or `clear` expunged it, in
//! which case the key was absent at that moment, and writers go back to the current snapshot.
//!
//! # Why an insert never adds a key twice
//!
//! An insert that did not find its key takes the lock and checks whether the snapshot or its
//! index changed since its lock-free look (the snapshot pointer, and the index length read before
//! the probe: only the lock holder changes either). If neither did, no entry was added since, and
//! the key is still absent; otherwise it looks again under the lock. Either way the entry it adds
//! is the key's only linked one (invariant 2).

mod check;
mod entry;
mod fresh;
mod node;
#[cfg(feature = "rayon")]
pub(crate) mod par;
mod reclaim;
mod shard;
mod slot;
mod table;
#[cfg(test)]
mod tests;

use hashbrown::hash_table;

use self::entry::Entry;
use self::fresh::{Fresh, FreshSlots};
use self::node::EntryPtr;
use self::reclaim::drop_all;
use self::shard::Shard;
use self::table::Indexed;
use crate::stats::Stats;
use crate::sync::epoch::Guard;

/// Fewest tombstones the whole map may keep, whatever its size: a map holds at most
/// `max(MIN_TOMBSTONES, len)` of them once no write is in flight.
///
/// Loom models use a floor of 2 (a tighter bound than the one promised), so that a handful of
/// removals reaches a compaction.
const MIN_TOMBSTONES: usize = if cfg!(loom) { 2 } else { 64 };

/// The index of new keys is merged into the table once it holds this many entries, or as many
/// as the table if that is more.
const MERGE_FLOOR: usize = if cfg!(loom) { 2 } else { 16 };

/// The largest shard count: 16 bits of the hash select the shard.
pub(crate) const MAX_SHARDS: usize = 1 << 16;

/// Whether a shard (one of `shards`) with `dead` tombstones and `live` live entries must compact:
/// `dead > (MIN_TOMBSTONES / shards + live) / 2`, in integers.
fn must_compact(dead: isize, live: isize, shards: usize) -> bool {
    let shards = shards as isize;
    2 * shards * dead > MIN_TOMBSTONES as isize + shards * live.max(0)
}

/// Borrows an entry found through a table reachable under `guard`.
fn entry<K, V>(ptr: EntryPtr<K, V>, guard: &Guard) -> &Entry<K, V> {
    // SAFETY: every caller found `ptr` in a snapshot's table or index loaded under `guard`;
    // entries are retired (never freed directly) once unlinked, so they outlive `guard`
    // (invariant 3).
    unsafe { ptr.get(guard) }
}

pub(crate) struct RawMap<K, V> {
    shards: Box<[Shard<K, V>]>,
    /// `hash >> shift` puts the shard bits lowest (see [`RawMap::shard`]).
    shift: u32,
}

// SAFETY: the raw pointers inside (entries, values, snapshots) are owned by the map, which hands
// out only shared references to keys and values (`K, V: Sync`) and moves or drops keys and values
// on whichever thread removes or reclaims them (`K, V: Send`).
unsafe impl<K: Send + Sync, V: Send + Sync> Send for RawMap<K, V> {}

// SAFETY: as for `Send`; all shared state is reached through atomics, the mutexes and the epoch.
unsafe impl<K: Send + Sync, V: Send + Sync> Sync for RawMap<K, V> {}

impl<K, V> RawMap<K, V> {
    /// A map of `shards` shards (a power of two, at most [`MAX_SHARDS`]) with room for about
    /// `capacity` keys.
    pub(crate) fn new(shards: usize, capacity: usize) -> Self {
        assert!(shards.is_power_of_two() && shards <= MAX_SHARDS);
        let per_shard = capacity.div_ceil(shards);
        RawMap {
            shards: (0..shards).map(|_| Shard::new(per_shard)).collect(),
            // hashbrown probes with the low bits and tags slots with the top 7, and so does the
            // index of new keys. The shard bits sit just below the tag.
            shift: 57 - shards.trailing_zeros(),
        }
    }

    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The index of the shard that holds keys with this hash.
    fn shard_index(&self, hash: u64) -> usize {
        (hash >> self.shift) as usize & (self.shards.len() - 1)
    }

    /// The shard that holds keys with this hash.
    fn shard(&self, hash: u64) -> &Shard<K, V> {
        &self.shards[self.shard_index(hash)]
    }

    pub(crate) fn len(&self) -> usize {
        let live: isize = self.shards.iter().map(Shard::live).sum();
        live.max(0) as usize
    }
}

impl<K, V> RawMap<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// Finds the key's linked entry, without a lock.
    #[inline]
    pub(crate) fn find<'g>(
        &'g self,
        hash: u64,
        eq: impl FnMut(&K) -> bool,
        guard: &'g Guard,
    ) -> Option<&'g Entry<K, V>> {
        let found = self.shard(hash).find(hash, eq, guard)?;
        Some(entry(found, guard))
    }

    /// Go's `Swap`: stores the value and returns the previous one.
    pub(crate) fn insert<'g>(
        &'g self,
        hash: u64,
        key: K,
        value: V,
        guard: &'g Guard,
    ) -> Option<&'g V>
    where
        K: Eq,
    {
        let shards = self.shard_count();
        self.shard(hash).insert(hash, key, value, shards, guard)
    }

    /// Go's `LoadOrStore`: returns the current value, or stores this one if the key is absent.
    pub(crate) fn try_insert<'g>(
        &'g self,
        hash: u64,
        key: K,
        value: V,
        guard: &'g Guard,
    ) -> Result<&'g V, (&'g V, V)>
    where
        K: Eq,
    {
        let shards = self.shard_count();
        self.shard(hash).try_insert(hash, key, value, shards, guard)
    }

    /// Removes the value if `pred` accepts it (Go's `LoadAndDelete` and `CompareAndDelete`).
    pub(crate) fn remove<'g>(
        &'g self,
        hash: u64,
        eq: impl FnMut(&K) -> bool,
        pred: impl FnMut(&V) -> bool,
        guard: &'g Guard,
    ) -> Option<&'g V> {
        let shards = self.shard_count();
        self.shard(hash).remove(hash, eq, pred, shards, guard)
    }

    /// Applies `decide`'s last decision about the key atomically.
    pub(crate) fn compute<'g, T>(
        &'g self,
        hash: u64,
        key: K,
        decide: impl FnMut(Option<&'g V>, Option<V>) -> crate::compute::Operation<V, T>,
        guard: &'g Guard,
    ) -> crate::compute::Compute<'g, V, T>
    where
        K: Eq,
    {
        let shards = self.shard_count();
        self.shard(hash).compute(hash, key, decide, shards, guard)
    }

    /// Removes the key; returns its key and the removed value.
    pub(crate) fn remove_entry<'g>(
        &'g self,
        hash: u64,
        eq: impl FnMut(&K) -> bool,
        guard: &'g Guard,
    ) -> Option<(&'g K, &'g V)> {
        let shards = self.shard_count();
        self.shard(hash).remove_entry(hash, eq, shards, guard)
    }

    /// Go's `CompareAndSwap`, generalized to a predicate.
    pub(crate) fn compare_exchange<'g>(
        &'g self,
        hash: u64,
        eq: impl FnMut(&K) -> bool,
        matches: impl FnMut(&V) -> bool,
        new: V,
        guard: &'g Guard,
    ) -> Result<&'g V, (Option<&'g V>, V)> {
        self.shard(hash)
            .compare_exchange(hash, eq, matches, new, guard)
    }

    /// Replaces the value `v` with `f(v)`; returns the new value.
    pub(crate) fn update<'g>(
        &'g self,
        hash: u64,
        eq: impl FnMut(&K) -> bool,
        f: impl Fn(&V) -> V,
        guard: &'g Guard,
    ) -> Option<&'g V> {
        self.shard(hash).update(hash, eq, f, guard)
    }

    /// Merges every shard's index of new keys into its table.
    pub(crate) fn promote(&self, guard: &Guard) {
        for shard in self.shards.iter() {
            shard.promote(guard);
        }
    }

    /// Iterates over the live entries, shard by shard, without locking.
    pub(crate) fn iter<'g>(&'g self, guard: &'g Guard) -> SnapshotIter<'g, K, V> {
        SnapshotIter::new(self.shards.iter(), guard)
    }

    /// Removes every entry whose key and value `keep` rejects, unless its value changed after
    /// `keep` saw it.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool, guard: &Guard) {
        for shard in self.shards.iter() {
            let Some(snapshot) = shard.snapshot(guard) else {
                continue;
            };
            for slot in snapshot.slots(guard) {
                let found = entry(slot.entry, guard);
                let current = found.load_ptr(guard);
                let Some(value) = entry::value_of(current) else {
                    continue;
                };
                if !keep(found.key(), value) && found.delete_exact(current, guard) {
                    shard.removed(slot.entry, current, self.shard_count(), guard);
                }
            }
        }
    }

    /// Removes every entry, one shard at a time.
    pub(crate) fn clear(&self, guard: &Guard) {
        for shard in self.shards.iter() {
            shard.clear(self.shard_count(), guard);
        }
    }

    pub(crate) fn stats(&self, guard: &Guard) -> Stats {
        let mut stats = Stats {
            len: 0,
            read_slots: 0,
            tombstones: 0,
            dirty_len: 0,
            amended: false,
            misses: 0,
            promotions: 0,
            dirty_builds: 0,
            compactions: 0,
            shards: self.shard_count(),
        };
        for shard in self.shards.iter() {
            shard.add_stats(&mut stats, guard);
        }
        stats.len = self.len();
        stats
    }

    /// Merges and compacts every shard (with exclusive access, so retired memory is freed at
    /// once).
    pub(crate) fn shrink_to_fit(&mut self) {
        for shard in self.shards.iter_mut() {
            shard.shrink_to_fit();
        }
    }
}

impl<K, V> RawMap<K, V> {
    /// The live value of a key, with exclusive access.
    pub(crate) fn get_mut(&mut self, hash: u64, eq: impl FnMut(&K) -> bool) -> Option<&mut V> {
        let index = self.shard_index(hash);
        self.shards[index].get_mut(hash, eq)
    }

    /// Moves every live key and value out, leaving the map empty.
    pub(crate) fn drain(&mut self) -> Vec<(K, V)> {
        let entries: Vec<_> = self.shards.iter_mut().flat_map(Shard::unlink_all).collect();
        entries
            .into_iter()
            .filter_map(|entry| match entry.into_parts() {
                (key, Some(value)) => Some((key, value)),
                (_, None) => None,
            })
            .collect()
    }
}

/// The live entries of every shard's snapshot, as key and value references valid for the guard's
/// lifetime.
pub(crate) struct SnapshotIter<'g, K, V> {
    shards: std::slice::Iter<'g, Shard<K, V>>,
    /// The current shard's table (none before the first shard, or if it has no snapshot).
    table: Option<hash_table::Iter<'g, Indexed<K, V>>>,
    /// The current shard's index of new keys, walked once its table is done.
    fresh: Option<FreshSlots<'g, K, V>>,
    guard: &'g Guard,
}

impl<'g, K, V> SnapshotIter<'g, K, V> {
    fn new(shards: std::slice::Iter<'g, Shard<K, V>>, guard: &'g Guard) -> Self {
        SnapshotIter {
            shards,
            table: None,
            fresh: None,
            guard,
        }
    }
}

/// The key of a slot's entry and its live value, if it has one.
fn live<K, V>(slot: Indexed<K, V>, guard: &Guard) -> Option<(&K, &V)> {
    let found = entry(slot.entry, guard);
    Some((found.key(), found.load(guard)?))
}

impl<'g, K, V> Iterator for SnapshotIter<'g, K, V> {
    type Item = (&'g K, &'g V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let slot = match self.table.as_mut().and_then(Iterator::next) {
                Some(slot) => *slot,
                None => match self.fresh.as_mut().and_then(Iterator::next) {
                    Some(slot) => slot,
                    None => {
                        let snapshot = self.shards.next()?.snapshot(self.guard);
                        self.table = snapshot.map(|snapshot| snapshot.table.iter());
                        self.fresh = snapshot
                            .and_then(|snapshot| snapshot.fresh(self.guard))
                            .map(Fresh::slots);
                        continue;
                    }
                },
            };
            if let Some(live) = live(slot, self.guard) {
                return Some(live);
            }
        }
    }

    /// The same walk, driven from inside: each table's own `fold` runs the loop, with no
    /// per-entry check of which table or shard comes next.
    fn fold<B, F>(self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        let guard = self.guard;
        let mut visit = |acc, slot| match live(slot, guard) {
            Some(live) => f(acc, live),
            None => acc,
        };
        let acc = self
            .table
            .into_iter()
            .flatten()
            .copied()
            .fold(init, &mut visit);
        let acc = self.fresh.into_iter().flatten().fold(acc, &mut visit);
        self.shards
            .fold(acc, |acc, shard| match shard.snapshot(guard) {
                Some(snapshot) => snapshot.slots(guard).fold(acc, &mut visit),
                None => acc,
            })
    }
}

impl<K, V> Drop for RawMap<K, V> {
    fn drop(&mut self) {
        let entries: Vec<_> = self.shards.iter_mut().flat_map(Shard::unlink_all).collect();
        if !cfg!(loom) {
            // Cells this thread retired, from this map or another, wait in its batch; handing
            // them over now lets the heap return as soon as the epoch advances.
            reclaim::retire_this_threads_batch();
        }
        drop_all(entries);
    }
}
