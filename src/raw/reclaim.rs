//! Handing unlinked memory to the epoch collector, and freeing what the map owns outright.
//!
//! Deferred destructors run inside crossbeam-epoch's collection, on whichever thread happens to
//! collect. A panic from a user's `Drop` must not unwind through the collector (it would leave
//! the rest of the deferred batch unfreed), so each destructor runs under `catch_unwind` and a
//! panic there is discarded; the memory is freed all the same.
//!
//! # Batched retirement of plain cells
//!
//! A value without drop glue needs nothing but its cell's memory freed, and one deferred
//! function per overwrite (crossbeam-epoch's bag of 64 fills, is sealed and queued every 64 of
//! them) costs more than the free itself. Such cells are gathered in a per-thread batch (of
//! [`batch_for`] cells: 64 to 256, by their size) and handed to the epoch together, by one
//! deferred function. Deferring later than
//! the unlink is always safe: every guard that could have loaded a cell was pinned before it was
//! unlinked, so it is still pinned (and waited for) when the batch is deferred, or already gone.
//! A thread's unfinished batch is deferred when the thread exits, or when a map is dropped on
//! it; at most 255 cells per thread wait longer than they would have. Values with drop
//! glue keep one deferred function each, so that their `Drop` runs as soon as no guard can see
//! them. loom models keep per-cell retirement too, so that each cell's reclamation stays
//! visible to them; the batches are checked by AddressSanitizer instead, which must catch a
//! batch freed at once (`ci/sanitize.sh inject`).
//!
//! # Spare cells
//!
//! A batch's deferred function does not free its cells: it keeps them in the spare lists of the
//! thread that runs it, and the next overwrites on that thread take their cells from there
//! before asking the allocator (`SlotBox::new`). A cell dropped by its owner (one reclaimed on
//! its own, for a value with drop glue, or one never published) goes there too.
//!
//! - **Why this is sound.** A batch's deferred function runs only once no guard pinned before
//!   the batch was deferred remains, and every guard that could have loaded one of its cells was
//!   pinned before the cell was unlinked; a dropped cell has an owner, so no guard can reach it
//!   either. No reader holds or can still load a spare cell: to every thread it is memory as
//!   fresh as the allocator's. A new value is written into it before the cell is published, with
//!   the same release as for a freshly allocated cell.
//! - **Why the batch is sealed at once.** crossbeam-epoch keeps a thread's deferred functions in
//!   a local bag until it holds 64 of them, so batches of 64 cells would come back 4,096 cells
//!   at a time, more than a small spare list holds. `Cells::retire` flushes the bag instead, so
//!   that each batch comes back on its own, about two epochs later. The flush is what a batch
//!   costs, so a batch is as large as half a spare list of its layout holds ([`batch_for`]).
//! - **Which cells are kept.** A thread has [`SPARE_LAYOUTS`] lists, each claimed by the layout
//!   of the cells the thread last allocated; a layout without a list takes over the one asked
//!   for longest ago, whose cells are freed. A cell of a layout the thread does not allocate is
//!   freed at once, so a thread that only reads (and runs other threads' deferred functions)
//!   keeps nothing.
//! - **How much.** At most [`SPARE_BYTES`] per thread (and [`SPARE_MAX`] cells per list), freed
//!   when the thread exits. It belongs to the thread, not to a map: the heap tests, which allow
//!   a map emptied by removals 64 KiB above an empty one, count it.
//! - **How it is checked.** loom builds take no spare cells. ThreadSanitizer must fail the
//!   stress tests when a batch is made spare at once (`spare_batch_now`, `ci/sanitize.sh
//!   inject`): a reader's load of an old value is then unordered with a writer's store of a new
//!   one into the reused cell (a data race), or a cell the lists have no room for is freed
//!   under a reader (a use after free).

use std::alloc::Layout;
use std::cell::RefCell;
use std::cmp;
use std::mem::needs_drop;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use super::node::EntryPtr;
use super::slot::{Slot, SlotBox};
use super::table::Snapshot;
use crate::sync::dealloc;
use crate::sync::epoch::{Guard, Owned, Shared};

fn drop_quietly<T>(value: T) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
}

/// Drops every item, even when some destructors panic; the first panic is resumed at the end.
pub(crate) fn drop_all<T>(items: impl IntoIterator<Item = T>) {
    let mut first_panic = None;
    for item in items {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(item))) {
            first_panic.get_or_insert(payload);
        }
    }
    if let Some(payload) = first_panic {
        resume_unwind(payload);
    }
}

/// Retires a value unlinked from `entry`: it is dropped once no guard can still see it.
///
/// # Safety
///
/// `value` must be non-null, must have been unlinked from `entry` by this thread (so that it is
/// retired exactly once) under `guard`, and no new reference to it may be created from now on.
pub(crate) unsafe fn retire_value<K, V>(
    entry: EntryPtr<K, V>,
    value: Shared<'_, Slot<V>>,
    guard: &Guard,
) where
    K: Send + 'static,
    V: Send + 'static,
{
    debug_assert!(!value.is_null());
    if entry.is_first(value) {
        // SAFETY: as the caller guarantees, for the first value.
        unsafe { entry.retire_first(guard) };
        return;
    }
    if crate::sync::injected!("free_value_now") {
        // The injected bug: freed at once, while other threads' guards may still reach it.
        // SAFETY: none; this exists only to show that the loom models catch it.
        drop_quietly(unsafe { SlotBox::from_shared(value) });
        return;
    }
    if !needs_drop::<V>() && !cfg!(loom) && guard.collector().is_some() {
        // SAFETY: a cell other than an entry's first, unlinked and retired once, as the caller
        // guarantees; its value has no drop glue.
        let (memory, layout) = unsafe { SlotBox::raw_memory(value) };
        batch(memory, layout, guard);
        return;
    }
    let raw = value.as_raw();
    let destroy = move || {
        // SAFETY: a value other than an entry's first was published by `SlotBox::into_shared`
        // and the caller retired it exactly once; this runs only when no guard can reach it.
        drop_quietly(unsafe { SlotBox::from_shared(Shared::from(raw)) });
    };
    // SAFETY: the epoch runs `destroy` only after every guard that could have loaded `value`
    // has been dropped; `V: Send + 'static` makes running it on another thread, later, sound.
    unsafe { guard.defer_unchecked(destroy) };
}

/// The fewest and the most cells gathered before they are handed to the epoch together.
const MIN_BATCH: usize = 64;
const MAX_BATCH: usize = 256;

/// How many cells of `layout` a batch gathers: half the room of a spare list of that layout
/// (between [`MIN_BATCH`] and [`MAX_BATCH`]), so that a batch coming back finds room while the
/// thread is still using the one before it.
///
/// Each batch costs a sealed bag of crossbeam-epoch's: its 2 KiB are copied twice and queued
/// with a compare-and-swap. For a `u64` value that was a tenth of an overwrite with batches of
/// 64; a larger batch of small cells spreads it thinner, while a batch larger than the list's
/// room would free what does not fit and allocate it again.
fn batch_for(layout: Layout) -> usize {
    (room_for(layout) / 2).clamp(MIN_BATCH, MAX_BATCH)
}

/// Raw memory of unlinked cells whose values have no drop glue, each with its layout.
struct Cells(Vec<(NonNull<u8>, Layout)>);

// SAFETY: the cells are unlinked and owned only by this list; memory from the global allocator
// may be freed on any thread.
unsafe impl Send for Cells {}

impl Cells {
    /// Hands the cells to the epoch, to be freed once no guard can see them.
    fn retire(self, guard: &Guard) {
        if self.0.is_empty() {
            return;
        }
        if crate::sync::injected_for_sanitizer!("free_batch_now") {
            // The injected bug: freed at once, while other threads' guards may still reach them.
            self.free();
            return;
        }
        if crate::sync::injected_for_sanitizer!("spare_batch_now") {
            // The injected bug: reused at once, while other threads' guards may still read them.
            spare(self);
            return;
        }
        // Each cell was unlinked and batched once, and its value needs no drop; `destroy` runs
        // once no guard can reach them.
        let destroy = move || spare(self);
        // SAFETY: every guard that could have loaded one of these cells was pinned before it
        // was unlinked, so before now: the epoch runs `destroy` only after all of them are gone.
        unsafe { guard.defer_unchecked(destroy) };
        // The batch is sealed now rather than when 63 more deferred functions have joined it,
        // so that cells come back a batch at a time, in amounts the spare lists can hold.
        guard.flush();
    }

    /// Frees the cells' memory.
    fn free(self) {
        for (memory, layout) in self.0 {
            // SAFETY: each cell was allocated with `layout`, unlinked and batched once, its value
            // needs no drop, and no guard can reach it any more (or, only in the injected bug,
            // may still: that is the bug).
            unsafe { dealloc(memory.as_ptr(), layout) };
        }
    }
}

/// The most memory a thread keeps in cells freed by the epoch, for its next overwrites.
const SPARE_BYTES: usize = 8 * 1024;

/// The most cells of one layout a thread keeps, however small: two of the largest batches.
const SPARE_MAX: usize = 2 * MAX_BATCH;

/// How many cells of `layout` a spare list keeps.
fn room_for(layout: Layout) -> usize {
    cmp::min(SPARE_BYTES / SPARE_LAYOUTS / layout.size(), SPARE_MAX)
}

/// The layouts a thread keeps cells of (maps of different value types, or two sizes of one).
const SPARE_LAYOUTS: usize = 2;

/// A thread's freed cells of one layout, reused before the allocator is asked for more.
///
/// Cells come here only once no guard can reach them (from a batch whose epoch has passed, or
/// dropped by their owner): a reused cell is fresh memory as far as every reader is concerned.
struct Spare {
    /// The layout the thread last asked this list for; `None` until it first does.
    layout: Option<Layout>,
    /// How many cells of that layout the list keeps (computed when it is claimed).
    room: usize,
    cells: Vec<NonNull<u8>>,
    /// When the thread last asked this list for a cell (see [`Spares::clock`]).
    asked: u64,
}

impl Spare {
    const EMPTY: Spare = Spare {
        layout: None,
        room: 0,
        cells: Vec::new(),
        asked: 0,
    };

    /// Keeps as many of `cells` (of the list's layout) as there is room for, and says how many:
    /// the first ones.
    fn keep(&mut self, cells: impl ExactSizeIterator<Item = NonNull<u8>>) -> usize {
        let kept = cmp::min(self.room - self.cells.len(), cells.len());
        if kept > 0 && self.cells.capacity() == 0 {
            self.cells.reserve_exact(self.room);
        }
        self.cells.extend(cells.take(kept));
        kept
    }

    fn free_all(&mut self) {
        if let Some(layout) = self.layout {
            for memory in self.cells.drain(..) {
                // SAFETY: each spare cell was allocated with `layout` and is owned by this list.
                unsafe { dealloc(memory.as_ptr(), layout) };
            }
        }
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        self.free_all();
    }
}

/// A thread's spare cells, of the layouts it last allocated cells of. Only a thread that
/// allocates cells (one that overwrites) claims a list, so a thread that only reads, and runs
/// other threads' deferred functions, keeps nothing.
struct Spares {
    lists: [Spare; SPARE_LAYOUTS],
    /// Counts the thread's requests, to tell which list was asked for longest ago.
    clock: u64,
}

impl Spares {
    /// The list claimed for `layout`, if there is one.
    fn list_for(&mut self, layout: Layout) -> Option<&mut Spare> {
        self.lists
            .iter_mut()
            .find(|list| list.layout == Some(layout))
    }

    /// Whether a list keeps this cell: one claimed for its layout, with room.
    fn keep_one(&mut self, memory: NonNull<u8>, layout: Layout) -> bool {
        self.list_for(layout)
            .is_some_and(|list| list.keep(std::iter::once(memory)) == 1)
    }

    /// Keeps what the lists have room for, and leaves in `cells` the rest, to be freed. A
    /// batch's cells are mostly of one layout, so the lists are searched once per run of cells
    /// of the same layout, not once per cell.
    fn keep_all(&mut self, cells: &mut Vec<(NonNull<u8>, Layout)>) {
        let (mut start, mut left) = (0, 0);
        while start < cells.len() {
            let layout = cells[start].1;
            let run = cells[start..]
                .iter()
                .take_while(|cell| cell.1 == layout)
                .count();
            let kept = self.list_for(layout).map_or(0, |list| {
                list.keep(cells[start..start + run].iter().map(|cell| cell.0))
            });
            cells.copy_within(start + kept..start + run, left);
            left += run - kept;
            start += run;
        }
        cells.truncate(left);
    }

    /// A spare cell of `layout`, if there is one. A layout without a list takes over the one
    /// asked for longest ago, whose cells are freed.
    fn take(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.clock += 1;
        let clock = self.clock;
        if let Some(list) = self.list_for(layout) {
            list.asked = clock;
            return list.cells.pop();
        }
        let oldest = self
            .lists
            .iter_mut()
            .min_by_key(|list| list.asked)
            .expect("at least one list");
        oldest.free_all();
        oldest.layout = Some(layout);
        oldest.room = room_for(layout);
        oldest.asked = clock;
        None
    }
}

thread_local! {
    static SPARE_CELLS: RefCell<Spares> = const {
        RefCell::new(Spares { lists: [Spare::EMPTY; SPARE_LAYOUTS], clock: 0 })
    };
}

/// Keeps freed cells for reuse on this thread, and frees those of a layout it has no list for,
/// those beyond the list's room, or all of them if the thread is exiting.
///
/// The cells must be owned by the caller: no guard can reach them any more.
fn spare(cells: Cells) {
    let mut cells = cells.0;
    let _ = SPARE_CELLS.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut() {
            spare.keep_all(&mut cells);
        }
    });
    Cells(cells).free();
}

/// Keeps one cell that no guard can reach (never published, or reclaimed) for reuse on this
/// thread, or frees it, as [`spare`] does.
pub(crate) fn give_back(memory: NonNull<u8>, layout: Layout) {
    let kept = SPARE_CELLS.try_with(|spare| {
        spare
            .try_borrow_mut()
            .is_ok_and(|mut spare| spare.keep_one(memory, layout))
    });
    if kept != Ok(true) {
        // SAFETY: the cell was allocated with `layout`, and the caller owns it: no guard can
        // reach it.
        unsafe { dealloc(memory.as_ptr(), layout) };
    }
}

/// A cell of `layout` freed earlier on this thread, if one is spare: memory no guard can
/// reach, allocated with `layout`, now owned by the caller.
pub(crate) fn take_spare(layout: Layout) -> Option<NonNull<u8>> {
    SPARE_CELLS
        .try_with(|spare| spare.try_borrow_mut().ok()?.take(layout))
        .ok()
        .flatten()
}

/// This thread's cells not yet handed to the epoch.
struct Batch {
    cells: Cells,
    /// When to hand them over: [`batch_for`] the layout of the first of them.
    limit: usize,
}

impl Drop for Batch {
    /// A thread's last cells, when it exits.
    fn drop(&mut self) {
        let cells = std::mem::replace(&mut self.cells, Cells(Vec::new()));
        if !cells.0.is_empty() {
            cells.retire(&crate::sync::epoch::pin());
        }
    }
}

thread_local! {
    static BATCH_OF_CELLS: RefCell<Batch> = const {
        RefCell::new(Batch { cells: Cells(Vec::new()), limit: 0 })
    };
}

/// Hands this thread's unfinished batch to the epoch now (when a map drops: its owner may then
/// expect the heap back as soon as the epoch advances, without another retirement on this
/// thread). Other threads' batches wait for their own retirements or their exit.
pub(crate) fn retire_this_threads_batch() {
    let cells =
        BATCH_OF_CELLS.try_with(|batch| Cells(std::mem::take(&mut batch.borrow_mut().cells.0)));
    // Pinned only when there is something to hand over: most drops have nothing.
    if let Some(cells) = cells.ok().filter(|cells| !cells.0.is_empty()) {
        cells.retire(&crate::sync::epoch::pin());
    }
}

/// Adds an unlinked cell to this thread's batch, and retires the batch once it is full.
fn batch(memory: NonNull<u8>, layout: Layout, guard: &Guard) {
    let full = BATCH_OF_CELLS.try_with(|batch| {
        let batch = &mut *batch.borrow_mut();
        let cells = &mut batch.cells.0;
        if cells.is_empty() {
            // Computed once per batch: it divides by the cell's size.
            batch.limit = batch_for(layout);
            cells.reserve_exact(batch.limit);
        }
        cells.push((memory, layout));
        (cells.len() >= batch.limit).then(|| Cells(std::mem::take(cells)))
    });
    match full {
        Ok(Some(cells)) => cells.retire(guard),
        Ok(None) => {}
        // The thread is exiting and its batch is gone: this cell is retired alone.
        Err(_) => Cells(vec![(memory, layout)]).retire(guard),
    }
}

/// A retired snapshot or index of at least this many entries seals its thread's bag at once.
const SEAL_AT: usize = if cfg!(loom) { usize::MAX } else { 1024 };

/// Seals this thread's bag of deferred functions if the table or index just retired into it
/// holds at least [`SEAL_AT`] entries.
///
/// crossbeam-epoch frees a bag's contents only once the bag is sealed (when it holds 64
/// deferred functions) and the epoch has moved on. A thread that only inserts and removes
/// defers little else, so its replaced tables would wait for 63 more publications: a churn of
/// one insert and one removal over 100,000 entries peaked at 12.1 MB, against 8.3 MB with this.
/// Sealing allocates and copies a bag of about 2 KiB, so small tables (a shard that publishes
/// every few operations) are left to fill the bag.
pub(crate) fn seal_if_large(entries: usize, guard: &Guard) {
    if entries >= SEAL_AT {
        guard.flush();
    }
}

/// The entries that only a replaced snapshot indexed, which are retired with it.
pub(crate) enum Unlinked<K, V> {
    /// These, and no others: a compaction's tombstones (none for a merge, which carries every
    /// entry over).
    Listed(Box<[EntryPtr<K, V>]>),
    /// Every entry the snapshot indexes: a `clear` expunged them all, so the snapshot itself is
    /// their list, and none has to be made.
    All,
}

impl<K, V> Unlinked<K, V> {
    pub(crate) fn none() -> Self {
        Unlinked::Listed(Box::new([]))
    }

    pub(crate) fn is_none(&self) -> bool {
        matches!(self, Unlinked::Listed(entries) if entries.is_empty())
    }
}

/// Retires a snapshot that has been replaced, together with the entries that only it indexed
/// and the values that were taken out of them.
///
/// Without values, the deferred function holds two words and a pointer, which crossbeam-epoch
/// stores in place: a merge, a compaction or a `clear` of a small shard retires what it
/// unlinked without allocating for it (a compaction's list of tombstones is its one allocation).
///
/// # Safety
///
/// `snapshot` must have just been replaced as the shard's read snapshot by this thread (holding
/// the lock); the `unlinked` entries must be expunged, indexed by no table other than the old
/// snapshot, and retired by nobody else; `values` must be non-null cells (not first values, which
/// their entries drop), unlinked from their entries by this thread, and retired by nobody else.
pub(crate) unsafe fn retire_snapshot<K, V>(
    snapshot: Shared<'_, Snapshot<K, V>>,
    unlinked: Unlinked<K, V>,
    values: Vec<Shared<'_, Slot<V>>>,
    guard: &Guard,
) where
    K: Send + 'static,
    V: Send + 'static,
{
    let raw = snapshot.as_raw().cast_mut();
    if values.is_empty() {
        // SAFETY: as below, with no values.
        let destroy = move || unsafe { destroy_snapshot(raw, unlinked) };
        // SAFETY: readers reach the snapshot and those entries only through the snapshot pointer
        // they loaded under a guard; the epoch runs `destroy` once all such guards are gone.
        // `K, V: Send + 'static` make dropping them on another thread, later, sound.
        unsafe { guard.defer_unchecked(destroy) };
        return;
    }
    let values: Vec<_> = values.into_iter().map(|value| value.as_raw()).collect();
    let destroy = move || {
        for value in values {
            // SAFETY: the caller guarantees each value was unlinked and is retired once here;
            // this runs only when no guard can reach it any more.
            drop_quietly(unsafe { SlotBox::from_shared(Shared::from(value)) });
        }
        // SAFETY: as for the values.
        unsafe { destroy_snapshot(raw, unlinked) };
    };
    // SAFETY: as above.
    unsafe { guard.defer_unchecked(destroy) };
}

/// Releases a retired snapshot's unlinked entries, then frees the snapshot.
///
/// # Safety
///
/// As for [`retire_snapshot`], and no guard may reach the snapshot or those entries any more.
unsafe fn destroy_snapshot<K, V>(raw: *mut Snapshot<K, V>, unlinked: Unlinked<K, V>) {
    // SAFETY: `raw` came from an `Owned` and was unlinked by the caller of `retire_snapshot`.
    let snapshot = unsafe { Owned::from_raw(raw) };
    let release = |entry: EntryPtr<K, V>| {
        // SAFETY: the caller guarantees these entries are unlinked and retired once, here.
        let _ = unsafe { entry.release() };
    };
    match unlinked {
        Unlinked::Listed(entries) => entries.into_vec().into_iter().for_each(release),
        Unlinked::All => {
            // SAFETY: nothing else can reach the snapshot, so its index needs no protection;
            // the walk reads slots only, never an entry that `release` has freed.
            let guard = unsafe { crate::sync::epoch::unprotected() };
            snapshot.slots(guard).for_each(|slot| release(slot.entry));
        }
    }
    drop_quietly(snapshot);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::alloc::{alloc, Layout};
    use std::ptr::NonNull;

    use super::{Cells, Spare, Spares, SPARE_LAYOUTS};

    /// A batch of mixed layouts: each list keeps the first cells of its layout up to its room,
    /// in order, and what is left keeps its order too.
    #[test]
    fn a_batch_fills_each_list_up_to_its_room_and_leaves_the_rest_in_order() {
        let [a, b, c] = [1024, 2048, 512].map(|size| Layout::from_size_align(size, 8).unwrap());
        let mut spares = Spares {
            lists: [Spare::EMPTY; SPARE_LAYOUTS],
            clock: 0,
        };
        // Claimed by asking: room for 8 KiB / 2 lists = 4 cells of `a`, 2 of `b`; none for `c`.
        assert_eq!(spares.take(a), None);
        assert_eq!(spares.take(b), None);
        let cell = |layout: Layout| {
            // SAFETY: the layouts are not zero-sized.
            (NonNull::new(unsafe { alloc(layout) }).unwrap(), layout)
        };
        let mut cells: Vec<_> = [a, a, b, c, a, b, b, a, a, a].map(cell).into();
        let all = cells.clone();
        spares.keep_all(&mut cells);
        let mut kept = |layout| spares.list_for(layout).unwrap().cells.clone();
        let pick = |indexes: &[usize]| indexes.iter().map(|&i| all[i].0).collect::<Vec<_>>();
        assert_eq!(kept(a), pick(&[0, 1, 4, 7]));
        assert_eq!(kept(b), pick(&[2, 5]));
        let left: Vec<_> = cells.iter().map(|cell| cell.0).collect();
        assert_eq!(left, pick(&[3, 6, 8, 9]));
        assert!(cells
            .iter()
            .zip([c, b, a, a])
            .all(|(cell, layout)| cell.1 == layout));
        Cells(cells).free();
    }
}
