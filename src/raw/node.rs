//! Entry blocks: one allocation per entry, holding its key, its first value and, for values with
//! drop glue, the count of parties that still need the block.
//!
//! An entry's first value lives in the entry itself, so inserting a key allocates once and a hit
//! on a key that was never overwritten reads one block. A value stored later (an overwrite, a
//! revival) gets a cell of its own (see [`slot`](super::slot)); the first value, once replaced,
//! is never published again.
//!
//! # Who frees the block
//!
//! Two things may outlive each other once an entry's first value has been replaced:
//!
//! - the **first value**, which readers may still borrow: the thread whose compare-and-swap
//!   unlinked it retires it through the epoch, and its destructor runs once no guard can see it;
//! - the **entry**, retired through the epoch by the lock holder that left it out of a new
//!   snapshot (or freed by the map's exclusive owner).
//!
//! Each retirement is a deferred function, and crossbeam-epoch runs deferred functions in no
//! particular order across threads: the entry's may run first even though the value was retired
//! earlier. So the block carries a count of its owners: 1 for the entry, plus 1 while a retired
//! first value waits for its destructor. The thread that unlinks the first value adds its share
//! while still pinned by the guard under which it reached the entry. Its compare-and-swap
//! succeeded, so the entry was not expunged yet, and the entry is retired only after it is
//! expunged: the entry's deferred function runs only once the epoch has advanced past a moment
//! when this thread was seen unpinned, after the addition (or waits for that, if the entry was
//! retired while this thread was still pinned). Either way the addition happens before it, so
//! both parties' updates of the count are ordered. Whichever party drops the count to zero frees
//! the block; the other has already dropped what it owned (the entry its
//! key, the value its value). A value without drop glue needs no destructor, so it is never
//! retired apart from its entry, and its blocks carry no count at all.
//!
//! A first value that is still current when its entry is unlinked (by `clear`, or by the map's
//! owner) is dropped with the entry: `clear` marks the expunged pointer with [`FIRST_OWNED`]
//! so that the entry's deferred function knows.

use std::alloc::{handle_alloc_error, Layout};
use std::mem::{needs_drop, ManuallyDrop};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr::{self, addr_of, addr_of_mut, NonNull};

use super::entry::Entry;
use super::slot::{Slot, SlotBox};
use crate::sync::epoch::{self, Atomic, Guard, Shared};
use crate::sync::Ordering::AcqRel;
use crate::sync::{alloc, dealloc, AtomicUsize, UnsafeCell};

/// The tag that marks an expunged value pointer whose entry still owns its first value.
pub(crate) const FIRST_OWNED: usize = 2;

/// The block of an entry: the entry, then (only when `V` has drop glue) its owner count.
fn layout<K, V>() -> (Layout, usize) {
    let entry = Layout::new::<Entry<K, V>>();
    if needs_drop::<V>() {
        let (block, owners) = entry
            .extend(Layout::new::<AtomicUsize>())
            .expect("entry layout");
        (block.pad_to_align(), owners)
    } else {
        (entry, 0)
    }
}

/// A pointer to an entry block that some table indexes (or indexed, under a guard).
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
    /// Allocates a live entry holding `key` and, in place, its first value.
    pub(crate) fn new(key: K, value: V) -> Self {
        let (block, owners) = layout::<K, V>();
        // SAFETY: an entry holds an atomic pointer, so the layout's size is not zero.
        let raw = unsafe { alloc(block) }.cast::<Entry<K, V>>();
        let Some(ptr) = NonNull::new(raw) else {
            handle_alloc_error(block)
        };
        // The value pointer is derived from the block's own pointer, so readers may borrow the
        // first value through it for as long as the block lives.
        // SAFETY: `raw` is a fresh allocation of `block`: an `Entry<K, V>` at offset 0 and, when
        // `V` has drop glue, an `AtomicUsize` at `owners`; each field is written once.
        unsafe {
            let first = addr_of_mut!((*raw).first);
            first.write(ManuallyDrop::new(Slot::new(value)));
            addr_of_mut!((*raw).key).write(UnsafeCell::new(key));
            let current = Shared::from(first.cast_const().cast::<Slot<V>>());
            addr_of_mut!((*raw).value).write(Atomic::from(current));
            if needs_drop::<V>() {
                raw.byte_add(owners)
                    .cast::<AtomicUsize>()
                    .write(AtomicUsize::new(1));
            }
        }
        EntryPtr(ptr)
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

    /// Whether `value` is this entry's first value (in any state: the pointer alone is compared).
    pub(crate) fn is_first(self, value: Shared<'_, Slot<V>>) -> bool {
        ptr::eq(value.as_raw(), self.first_ptr())
    }

    fn first_ptr(self) -> *const Slot<V> {
        // SAFETY: only the field's address is taken; the block is allocated (see `get`).
        unsafe { addr_of!((*self.0.as_ptr()).first) }.cast::<Slot<V>>()
    }

    /// The owner count, present only when `V` has drop glue.
    fn owners<'a>(self) -> Option<&'a AtomicUsize>
    where
        K: 'a,
        V: 'a,
    {
        let (_, owners) = layout::<K, V>();
        // SAFETY: when `V` has drop glue the block holds an `AtomicUsize` at `owners`, written in
        // `new` and alive until the block is freed, which the caller's own share prevents.
        needs_drop::<V>().then(|| unsafe { &*self.0.as_ptr().byte_add(owners).cast() })
    }

    /// Retires the entry's first value, which this thread's compare-and-swap just unlinked: it
    /// is dropped once no guard can see it, and the block outlives that drop.
    ///
    /// # Safety
    ///
    /// The first value must have been unlinked by this thread, which must still be pinned by
    /// `guard` (the guard under which it reached the entry); it is retired only here, once.
    pub(crate) unsafe fn retire_first(self, guard: &Guard)
    where
        K: Send + 'static,
        V: Send + 'static,
    {
        let Some(owners) = self.owners() else {
            return; // no drop glue: nothing to run, and the entry's retirement frees the block
        };
        // The value's share of the block, taken while this thread is still pinned: the entry's
        // own deferred function cannot have run yet, and will see this increment.
        owners.fetch_add(1, AcqRel);
        if crate::sync::injected!("free_value_now") {
            // The injected bug: dropped at once, while other threads' guards may still reach it.
            // SAFETY: none; this exists only to show that the loom models catch it.
            let _ = catch_unwind(AssertUnwindSafe(|| unsafe { self.drop_first() }));
            return;
        }
        let raw = self.0.as_ptr();
        let destroy = move || {
            // SAFETY: `raw` is this block, whose first value was unlinked and retired once, here;
            // the epoch runs this only after every guard that could reach the value is gone, and
            // the value's share (taken above) keeps the block allocated until then.
            let entry = unsafe { EntryPtr::from_ptr(raw) };
            // A panicking `Drop` must not unwind through the collector (see `reclaim`).
            // SAFETY: as above.
            let _ = catch_unwind(AssertUnwindSafe(|| unsafe { entry.drop_first() }));
        };
        // SAFETY: as above; `K, V: Send + 'static` make running `destroy` on another thread,
        // later, sound.
        unsafe { guard.defer_unchecked(destroy) };
    }

    /// Drops the first value in place, then gives up its share of the block.
    ///
    /// # Safety
    ///
    /// The first value must have been unlinked and retired, no thread may still reach it, and
    /// its share of the block must have been taken (`retire_first`).
    unsafe fn drop_first(self) {
        // Gives up the share even if `V::drop` panics.
        struct Share<K, V>(EntryPtr<K, V>);
        impl<K, V> Drop for Share<K, V> {
            fn drop(&mut self) {
                // SAFETY: this is the value's share, taken in `retire_first` and given up once.
                unsafe { self.0.give_up_share() };
            }
        }
        let share = Share(self);
        // SAFETY: as the caller guarantees; the value is dropped once, through its cell, which
        // is a write that a loom model orders after every read of it.
        unsafe { (*share.0.first_ptr()).drop_in_place() };
    }

    /// Gives up one share of the block, and frees the block if it was the last one.
    ///
    /// # Safety
    ///
    /// The caller must hold that share; everything in the block that its other owners do not
    /// still use has been dropped already.
    unsafe fn give_up_share(self) {
        let last = match self.owners() {
            Some(owners) => owners.fetch_sub(1, AcqRel) == 1,
            None => true,
        };
        if last {
            let raw = self.0.as_ptr();
            let (block, owners) = layout::<K, V>();
            // SAFETY: the last share: nothing else reaches the block. The atomic fields (the
            // value pointer and the owner count) are dropped for loom's sake, then the block is
            // freed with the layout it was allocated with.
            unsafe {
                ptr::drop_in_place(addr_of_mut!((*raw).value));
                if needs_drop::<V>() {
                    ptr::drop_in_place(raw.byte_add(owners).cast::<AtomicUsize>());
                }
                dealloc(raw.cast(), block);
            }
        }
    }

    /// Drops the key, the entry's current value if it still owns one, and the entry's share of
    /// the block. Returns the first panic of those drops, after finishing them all.
    ///
    /// # Safety
    ///
    /// No table may index the entry any more and no guard may still reach it (or the caller has
    /// exclusive access to the whole map); this must be called once per entry, and the value
    /// pointer must be expunged or hold a value only this entry links.
    pub(crate) unsafe fn release(self) -> std::thread::Result<()> {
        let raw = self.0.as_ptr();
        // SAFETY: the caller's exclusive access to the entry; the key was written in `new` and
        // is dropped only here.
        let key = catch_unwind(AssertUnwindSafe(|| unsafe {
            ptr::drop_in_place(addr_of_mut!((*raw).key));
        }));
        // SAFETY: as above.
        let value = catch_unwind(AssertUnwindSafe(|| unsafe { self.drop_value() }));
        // SAFETY: the entry's own share, given up once, after everything it owned was dropped.
        unsafe { self.give_up_share() };
        key.and(value)
    }

    /// Drops the value the entry still owns, if any (with exclusive access to it).
    ///
    /// # Safety
    ///
    /// As for [`release`](Self::release).
    unsafe fn drop_value(self) {
        // SAFETY: exclusive access, as the caller guarantees; nothing is retired through it.
        let guard = unsafe { epoch::unprotected() };
        // SAFETY: the entry is allocated and only the caller reaches it.
        let current = unsafe { self.0.as_ref() }.load_ptr(guard);
        if self.is_first(current) || (current.is_null() && current.tag() & FIRST_OWNED != 0) {
            // SAFETY: the first value is still owned by the entry, and dropped only here.
            unsafe { (*self.first_ptr()).drop_in_place() };
        } else if !current.is_null() {
            // SAFETY: a live pointer other than the first value's came from
            // `SlotBox::into_shared`, and only this entry links it.
            drop(unsafe { SlotBox::from_shared(current) });
        }
    }

    /// Moves the key and the live value out, and frees the entry's share of the block.
    ///
    /// # Safety
    ///
    /// The caller must have exclusive access to the whole map, and the entry must have been
    /// unlinked from it (it is indexed by no table any more); this must be called once per entry.
    pub(crate) unsafe fn into_parts(self) -> (K, Option<V>) {
        let raw = self.0.as_ptr();
        // SAFETY: exclusive access, as the caller guarantees; nothing is retired through it.
        let guard = unsafe { epoch::unprotected() };
        // SAFETY: the entry is allocated and only the caller reaches it.
        let current = unsafe { self.0.as_ref() }.load_ptr(guard);
        let value = if self.is_first(current) {
            // SAFETY: the current first value is owned by the entry; it is moved out once, and
            // the block is freed below without dropping it again.
            Some(unsafe { (*self.first_ptr()).read() })
        } else if current.is_null() {
            None
        } else {
            // SAFETY: as in `drop_value`.
            Some(unsafe { SlotBox::from_shared(current) }.into_value())
        };
        // SAFETY: the key was written in `new` and is moved out only here.
        let key = unsafe { ptr::read(addr_of!((*raw).key)) }.into_inner();
        // SAFETY: the entry's own share; its key and value were moved out above.
        unsafe { self.give_up_share() };
        (key, value)
    }
}

/// An unlinked entry owned by the map's exclusive owner: dropping it drops its key and value.
pub(crate) struct OwnedEntry<K, V>(EntryPtr<K, V>);

impl<K, V> OwnedEntry<K, V> {
    /// # Safety
    ///
    /// As for [`EntryPtr::into_parts`]: the caller has exclusive access to the whole map and the
    /// entry was unlinked from it; each entry is owned once.
    pub(crate) unsafe fn new(entry: EntryPtr<K, V>) -> Self {
        OwnedEntry(entry)
    }

    /// The key and the live value.
    pub(crate) fn into_parts(self) -> (K, Option<V>) {
        let this = ManuallyDrop::new(self);
        // SAFETY: owned exclusively (`new`), and consumed once: `this` is never dropped.
        unsafe { this.0.into_parts() }
    }
}

impl<K, V> Drop for OwnedEntry<K, V> {
    fn drop(&mut self) {
        // SAFETY: owned exclusively (`new`), and released once, here.
        if let Err(payload) = unsafe { self.0.release() } {
            resume_unwind(payload);
        }
    }
}
