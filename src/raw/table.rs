//! Tables of entry pointers, and the read snapshot built on one.
//!
//! A table slot holds a key's hash beside the pointer to its entry, so copying, merging or
//! rebuilding a table reads slots in order and never touches an entry, nor runs the user's `Hash`
//! or `Eq`; a lookup compares the full hash before it dereferences an entry to compare keys.

use std::iter::{Chain, Copied, Flatten};
use std::ptr::NonNull;

use hashbrown::{hash_table, HashTable};

use super::entry::Entry;
use super::fresh::{Fresh, FreshSlots};
use crate::sync::epoch::{self, Atomic, Guard};
use crate::sync::Ordering::{Acquire, Relaxed};

/// A pointer to an entry node that some table indexes (or indexed, under a guard).
pub(crate) struct EntryPtr<K, V>(NonNull<Entry<K, V>>);

impl<K, V> Clone for EntryPtr<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V> Copy for EntryPtr<K, V> {}

impl<K, V> PartialEq for EntryPtr<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<K, V> EntryPtr<K, V> {
    /// Moves a new entry to the heap.
    pub(crate) fn allocate(entry: Entry<K, V>) -> Self {
        EntryPtr(NonNull::from(Box::leak(Box::new(entry))))
    }

    pub(crate) fn as_ptr(self) -> *mut Entry<K, V> {
        self.0.as_ptr()
    }

    /// # Safety
    ///
    /// `ptr` must be non-null and come from [`EntryPtr::as_ptr`].
    pub(crate) unsafe fn from_ptr(ptr: *mut Entry<K, V>) -> Self {
        // SAFETY: non-null, as the caller guarantees.
        EntryPtr(unsafe { NonNull::new_unchecked(ptr) })
    }

    /// Borrows the entry for as long as `guard` is pinned.
    ///
    /// # Safety
    ///
    /// The entry must have been reachable from a table that was itself reachable under `guard`
    /// (a snapshot or index loaded with it): entries are only retired through the epoch once no
    /// table indexes them, so they outlive such a guard.
    pub(crate) unsafe fn get(self, _guard: &Guard) -> &Entry<K, V> {
        // SAFETY: guaranteed by the caller, as documented above.
        unsafe { self.0.as_ref() }
    }

    /// Borrows the entry mutably.
    ///
    /// # Safety
    ///
    /// The caller must have exclusive access to the whole map (`&mut` to it), and the entry must
    /// be indexed by one of its tables.
    pub(crate) unsafe fn get_mut<'a>(self) -> &'a mut Entry<K, V> {
        // SAFETY: guaranteed by the caller, as documented above.
        unsafe { &mut *self.0.as_ptr() }
    }

    /// Borrows the key of an entry that a table the caller can use indexes.
    pub(crate) fn key<'a>(self) -> &'a K
    where
        K: 'a,
        V: 'a,
    {
        // SAFETY: tables only hold pointers to allocated entries, and an entry is freed only
        // after every table that indexed it has been unlinked and retired; callers reach this
        // pointer through a table they can still use, and keys never change.
        unsafe { self.0.as_ref() }.key()
    }

    /// Takes back ownership of the entry.
    ///
    /// # Safety
    ///
    /// No table may index the entry any more and no guard may still reach it (or the caller has
    /// exclusive access to the whole map); this must be called once per entry.
    pub(crate) unsafe fn into_box(self) -> Box<Entry<K, V>> {
        // SAFETY: the pointer came from `Box::leak` in `allocate`; the caller guarantees this
        // is the only owner left.
        unsafe { Box::from_raw(self.0.as_ptr()) }
    }
}

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
