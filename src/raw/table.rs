//! Tables of entry pointers, and the read snapshot built on one.
//!
//! Both the read snapshot and the dirty table index the same heap-allocated [`Entry`] nodes, so
//! a table is a `HashTable` of pointers. The hash cached in each entry means copying or rebuilding
//! a table never runs the user's `Hash` or `Eq`.

use std::ptr::NonNull;

use hashbrown::HashTable;

use super::entry::Entry;
use crate::sync::epoch::Guard;
use crate::sync::AtomicBool;

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

    /// Borrows the entry for as long as `guard` is pinned.
    ///
    /// # Safety
    ///
    /// The entry must have been reachable from a table that was itself reachable under `guard`
    /// (a snapshot loaded with it, or the dirty table while the lock was held): entries are only
    /// retired through the epoch once no table indexes them, so they outlive such a guard.
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

    /// The hash cached in the entry.
    fn hash(self) -> u64 {
        // SAFETY: tables only hold pointers to allocated entries, and an entry is freed only
        // after every table that indexed it has been unlinked and retired; callers reach this
        // pointer through a table they can still use.
        unsafe { self.0.as_ref() }.hash
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

/// A hash table of entry pointers, keyed by the hashes cached in the entries.
pub(crate) struct Table<K, V> {
    inner: HashTable<EntryPtr<K, V>>,
}

impl<K, V> Table<K, V> {
    pub(crate) fn new() -> Self {
        Table {
            inner: HashTable::new(),
        }
    }

    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Table {
            inner: HashTable::with_capacity(capacity),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    pub(crate) fn iter(&self) -> hashbrown::hash_table::Iter<'_, EntryPtr<K, V>> {
        self.inner.iter()
    }

    /// Finds the entry whose key satisfies `eq` among those with this hash.
    pub(crate) fn find(&self, hash: u64, mut eq: impl FnMut(&K) -> bool) -> Option<EntryPtr<K, V>> {
        self.inner
            .find(hash, |&ptr| {
                // SAFETY: see `EntryPtr::hash`: the caller can use this table, so the entries
                // it indexes are allocated.
                eq(&unsafe { ptr.0.as_ref() }.key)
            })
            .copied()
    }

    /// Whether the table indexes this very entry.
    pub(crate) fn contains(&self, entry: EntryPtr<K, V>) -> bool {
        self.inner.find(entry.hash(), |&ptr| ptr == entry).is_some()
    }

    /// Indexes an entry whose key the table does not hold yet.
    pub(crate) fn insert_unique(&mut self, entry: EntryPtr<K, V>) {
        self.inner
            .insert_unique(entry.hash(), entry, |&ptr| ptr.hash());
    }
}

/// An immutable read snapshot: a table that never changes once published, and whether the dirty
/// table holds keys that this snapshot lacks.
pub(crate) struct Snapshot<K, V> {
    pub(crate) table: Table<K, V>,
    /// Goes from false to true at most once, under the lock, when a new key is stored into a
    /// dirty table built from this snapshot; a snapshot is replaced rather than un-amended.
    pub(crate) amended: AtomicBool,
}

impl<K, V> Snapshot<K, V> {
    pub(crate) fn new(table: Table<K, V>) -> Self {
        Snapshot {
            table,
            amended: AtomicBool::new(false),
        }
    }
}
