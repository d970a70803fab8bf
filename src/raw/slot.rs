//! Value cells: every value but an entry's first (which lives in the entry, see
//! [`node`](super::node)) has its own heap allocation, reached through an entry's atomic pointer.
//!
//! Compare-and-swap on that pointer is how writers detect that a value was replaced, so two
//! values alive at the same time must never share an address. A `Box` of a zero-sized type is a
//! dangling pointer shared by all of them, which would turn every such compare-and-swap into an
//! ABA race; so cells are allocated here, with at least one byte each.
//!
//! A value is written only twice: when its cell is created, before it is published, and when
//! the cell is freed, after it was unlinked and no guard can see it. Both go through the cell's
//! [`UnsafeCell`], and so does every read, so that a loom model reports a reader that is not
//! ordered after the value's creation or not ordered before its destruction.

use std::alloc::{handle_alloc_error, Layout};
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use crate::sync::epoch::Shared;
use crate::sync::{alloc, dealloc, UnsafeCell};

/// A heap cell holding one value.
///
/// The alignment leaves the two low bits of every cell pointer free for tags, whatever the
/// alignment of `V` (a `u8`, a zero-sized type).
#[repr(align(4))]
pub(crate) struct Slot<V> {
    value: UnsafeCell<V>,
}

impl<V> Slot<V> {
    /// Borrows the value.
    pub(crate) fn value(&self) -> &V {
        // SAFETY: the cell is written only when it is created and when it is freed by its owner,
        // which has it by value then; neither can happen while this borrow of it lives.
        self.value.with(|value| unsafe { &*value })
    }

    /// A cell holding `value`, to be placed in an entry (a first value) or in a [`SlotBox`].
    pub(crate) fn new(value: V) -> Self {
        Slot {
            value: UnsafeCell::new(value),
        }
    }

    /// Drops the value in place; the cell must not be used again.
    ///
    /// # Safety
    ///
    /// The caller must own the value (no other thread can reach the cell any more), and the
    /// value must not have been dropped or moved out already.
    pub(crate) unsafe fn drop_in_place(&self) {
        // SAFETY: as the caller guarantees. The drop goes through the cell as a write, which a
        // loom model orders after every read of the value.
        self.value
            .with_mut(|value| unsafe { std::ptr::drop_in_place(value) });
    }

    /// Moves the value out; the cell must not be used again.
    ///
    /// # Safety
    ///
    /// As for [`drop_in_place`](Self::drop_in_place).
    pub(crate) unsafe fn read(&self) -> V {
        // SAFETY: as the caller guarantees; the move is a write, as for `drop_in_place`.
        self.value
            .with_mut(|value| unsafe { std::ptr::read(value) })
    }

    /// Borrows the value mutably, with exclusive access to the cell.
    pub(crate) fn value_mut(&mut self) -> &mut V {
        // SAFETY: `&mut self` excludes every other access to the cell.
        self.value.with_mut(|value| unsafe { &mut *value })
    }

    /// The allocation of a cell: never zero-sized, so every live cell has its own address.
    fn layout() -> Layout {
        let layout = Layout::new::<Self>();
        if layout.size() == 0 {
            Layout::from_size_align(layout.align(), layout.align()).expect("valid layout")
        } else {
            layout
        }
    }
}

/// An owned, not yet published (or already unlinked) value cell.
pub(crate) struct SlotBox<V>(NonNull<Slot<V>>);

impl<V> SlotBox<V> {
    pub(crate) fn new(value: V) -> Self {
        let layout = Slot::<V>::layout();
        let spare = if cfg!(loom) {
            None
        } else {
            super::reclaim::take_spare(layout)
        };
        let ptr = spare.map_or_else(
            // SAFETY: the layout's size is not zero.
            || unsafe { alloc(layout) },
            NonNull::as_ptr,
        );
        let Some(ptr) = NonNull::new(ptr.cast::<Slot<V>>()) else {
            handle_alloc_error(layout)
        };
        // SAFETY: `ptr` is a fresh allocation (or a spare cell, memory that no guard can reach)
        // with the size and alignment of a `Slot<V>`.
        unsafe { ptr.as_ptr().write(Slot::new(value)) };
        SlotBox(ptr)
    }

    /// Takes back a cell that was published as `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be non-null, must come from [`SlotBox::into_shared`], and no other thread may
    /// reach it any more (it was unlinked and no guard can see it, or the map is owned
    /// exclusively); each published cell may be taken back only once.
    pub(crate) unsafe fn from_shared(ptr: Shared<'_, Slot<V>>) -> Self {
        let ptr = ptr.as_raw().cast_mut();
        // SAFETY: non-null and from `into_shared`, as the caller guarantees.
        SlotBox(unsafe { NonNull::new_unchecked(ptr) })
    }

    /// A pointer to the cell for a compare-and-swap; the box keeps ownership.
    pub(crate) fn as_shared<'g>(&self) -> Shared<'g, Slot<V>> {
        Shared::from(self.0.as_ptr().cast_const())
    }

    /// Gives up ownership: the cell is now reached only through the returned pointer.
    pub(crate) fn into_shared<'g>(self) -> Shared<'g, Slot<V>> {
        ManuallyDrop::new(self).as_shared()
    }

    /// The memory of an unlinked cell whose value has no drop glue: freeing it (with
    /// `dealloc` and the layout returned) is all its destruction takes.
    ///
    /// # Safety
    ///
    /// `ptr` must satisfy [`from_shared`](Self::from_shared)'s requirements, and `V` must not
    /// need dropping.
    pub(crate) unsafe fn raw_memory(ptr: Shared<'_, Slot<V>>) -> (NonNull<u8>, Layout) {
        debug_assert!(!std::mem::needs_drop::<V>());
        // SAFETY: as the caller guarantees.
        let cell = ManuallyDrop::new(unsafe { Self::from_shared(ptr) });
        (cell.0.cast(), Slot::<V>::layout())
    }

    pub(crate) fn into_value(self) -> V {
        let this = ManuallyDrop::new(self);
        // SAFETY: the box owns the cell; it is read once and freed without dropping it again.
        let slot = unsafe { this.0.as_ptr().read() };
        // The end of the cell's life is a write: a model reports any read not ordered before it.
        slot.value.with_mut(|_| ());
        if cfg!(loom) {
            // SAFETY: the cell came from `alloc` with this layout in `new`, and was moved out
            // above.
            unsafe { dealloc(this.0.as_ptr().cast(), Slot::<V>::layout()) };
        } else {
            // The box owns the cell, so no guard can reach it: never published, or reclaimed.
            super::reclaim::give_back(this.0.cast(), Slot::<V>::layout());
        }
        slot.value.into_inner()
    }
}

impl<V> Drop for SlotBox<V> {
    fn drop(&mut self) {
        // `self` is not used again: the temporary box takes its ownership over, and
        // `into_value` frees the cell without running this `Drop` a second time.
        let value = SlotBox(self.0).into_value();
        // The cell is freed first, so a panicking `Drop` of `V` leaks nothing.
        drop(value);
    }
}
