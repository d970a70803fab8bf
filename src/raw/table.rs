//! Tables of entry pointers, and the read snapshot built on one.
//!
//! A table slot holds a key's hash beside the pointer to its entry, so copying, merging or
//! rebuilding a table reads slots in order and never touches an entry, nor runs the user's `Hash`
//! or `Eq`; a lookup compares the full hash before it dereferences an entry to compare keys.

use std::iter::{Chain, Copied, Flatten};

use hashbrown::{hash_table, HashTable};

use super::fresh::{Fresh, FreshSlots};
use super::node::EntryPtr;
use crate::sync::epoch::{self, Atomic, Guard};
use crate::sync::Ordering::{Acquire, Relaxed};

/// A table slot: an entry and its key's hash.
pub(crate) struct Indexed<K, V> {
    pub(crate) hash: u64,
    pub(crate) entry: EntryPtr<K, V>,
}

impl<K, V> Clone for Indexed<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V> Copy for Indexed<K, V> {}

/// A hash table of entry pointers, keyed by the hashes stored beside them.
pub(crate) struct Table<K, V> {
    inner: HashTable<Indexed<K, V>>,
}

impl<K, V> Table<K, V> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Table {
            inner: HashTable::with_capacity(capacity),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    pub(crate) fn iter(&self) -> hash_table::Iter<'_, Indexed<K, V>> {
        self.inner.iter()
    }

    /// Finds the entry whose key satisfies `eq` among those with this hash.
    pub(crate) fn find(&self, hash: u64, mut eq: impl FnMut(&K) -> bool) -> Option<EntryPtr<K, V>> {
        self.inner
            .find(hash, |slot| slot.hash == hash && eq(slot.entry.key()))
            .map(|slot| slot.entry)
    }

    /// Indexes an entry whose key the table does not hold yet.
    pub(crate) fn insert_unique(&mut self, slot: Indexed<K, V>) {
        self.inner.insert_unique(slot.hash, slot, |slot| slot.hash);
    }
}

/// The slots of a snapshot: its table's, then its index's.
pub(crate) type Slots<'g, K, V> = Chain<
    Copied<hash_table::Iter<'g, Indexed<K, V>>>,
    Flatten<std::option::IntoIter<FreshSlots<'g, K, V>>>,
>;

/// An immutable read snapshot: a table that never changes once published, and the index of the
/// entries added since, which only the holder of the shard's lock extends.
pub(crate) struct Snapshot<K, V> {
    pub(crate) table: Table<K, V>,
    /// Entries for keys the table lacks, added after it was published (null: none yet). A
    /// snapshot's index is only ever replaced by a larger copy of itself, never emptied.
    pub(crate) fresh: Atomic<Fresh<K, V>>,
}

impl<K, V> Snapshot<K, V> {
    pub(crate) fn new(table: Table<K, V>) -> Self {
        Snapshot {
            table,
            fresh: Atomic::null(),
        }
    }

    /// The index of entries added since the table was published, if there are any.
    pub(crate) fn fresh<'g>(&self, guard: &'g Guard) -> Option<&'g Fresh<K, V>> {
        // SAFETY: an index is published with a release store once built, is never changed except
        // by the lock holder's release stores into its slots, and a replaced one is retired
        // through the epoch, so the one loaded here stays allocated while `guard` is pinned.
        unsafe { self.fresh.load(Acquire, guard).as_ref() }
    }

    /// Every entry the snapshot indexes: the table's, then the index's.
    pub(crate) fn slots<'g>(&'g self, guard: &'g Guard) -> Slots<'g, K, V> {
        let fresh = self.fresh(guard).map(Fresh::slots).into_iter().flatten();
        self.table.iter().copied().chain(fresh)
    }

    /// The number of entries indexed: the table's and the index's.
    pub(crate) fn len(&self, guard: &Guard) -> usize {
        self.table.len() + self.fresh(guard).map_or(0, Fresh::len)
    }
}

impl<K, V> Drop for Snapshot<K, V> {
    fn drop(&mut self) {
        // SAFETY: a snapshot is dropped only when no guard can reach it any more (it was retired
        // through the epoch, or the map is owned exclusively), and with it its current index.
        let guard = unsafe { epoch::unprotected() };
        let fresh = self.fresh.swap(epoch::Shared::null(), Relaxed, guard);
        if !fresh.is_null() {
            // SAFETY: as above; the index came from an `Owned` and is reached only from here.
            drop(unsafe { fresh.into_owned() });
        }
    }
}
