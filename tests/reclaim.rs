//! Reclamation measured with a counting global allocator: deleting every entry gives the heap
//! back to about the empty map's size once the epoch advances, with no later insert needed.
//!
//! The allocator counts the whole process, so the measuring tests hold a common lock and run
//! one at a time. Run with `--nocapture` to see the figures.

use std::sync::Mutex;

use snapmap::SnapMap;

use testkit::alloc::{live, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Serializes the tests that measure the heap.
static MEASURING: Mutex<()> = Mutex::new(());

const ENTRIES: u64 = testkit::scaled(100_000);
const VALUE: usize = 64;
/// How far above the empty map's heap a map emptied by deletes may stay.
const SLACK: isize = 64 * 1024;

type Map = SnapMap<u64, [u8; VALUE]>;

/// Live heap bytes at the points of a scenario where they are measured.
struct Figures {
    baseline: isize,
    full: isize,
    peak: isize,
}

/// An empty map and the heap it occupies, measured after this thread has pinned (so the epoch
/// collector's per-thread state is part of the baseline).
fn empty_map() -> (Map, isize) {
    testkit::flush_epoch();
    let map = Map::new();
    drop(map.guard());
    testkit::flush_epoch();
    let baseline = live();
    testkit::alloc::reset_peak();
    (map, baseline)
}

/// Inserts `keys` (all new), checking each insert, then removes them all, checking each value.
/// Returns the live bytes at the fullest point.
fn fill_and_drain(map: &Map, keys: std::ops::Range<u64>) -> isize {
    let count = keys.end - keys.start;
    let mut guard = map.guard();
    for k in keys.clone() {
        if k % 1024 == 0 {
            guard.repin();
        }
        assert!(map.insert(k, [k as u8; VALUE], &guard).is_none(), "key {k}");
    }
    drop(guard);
    assert_eq!(map.len() as u64, count);
    let full = live();

    let mut guard = map.guard();
    for k in keys {
        if k % 1024 == 0 {
            guard.repin();
        }
        assert_eq!(
            map.remove(&k, &guard).map(|v| v[0]),
            Some(k as u8),
            "key {k}"
        );
    }
    drop(guard);
    full
}

/// Waits for the epoch to advance until the heap is back within [`SLACK`] of `baseline`, then
/// checks the map is empty with at most 64 tombstones, prints the figures and asserts the bound.
fn assert_heap_returned(name: &str, map: &Map, figures: Figures) {
    testkit::settle(|| live() - figures.baseline <= SLACK);
    let after = live();
    let Figures {
        baseline,
        full,
        peak,
    } = figures;
    println!(
        "{name}: baseline {baseline} B, full {full} B ({:+} B), peak {peak} B, \
         after delete {after} B ({:+} B); {}",
        full - baseline,
        after - baseline,
        map.stats()
    );
    map.__check_invariants();
    assert_eq!(map.len(), 0);
    assert!(map.is_empty());
    let stats = map.stats();
    assert!(stats.tombstones <= 64, "{name}: {stats}");
    assert!(
        full - baseline >= (ENTRIES as isize) * VALUE as isize,
        "{name}: the allocator did not see the entries ({} B)",
        full - baseline
    );
    assert!(
        after - baseline <= SLACK,
        "{name}: {} B still allocated after deleting everything ({stats})",
        after - baseline
    );
}

/// Inserting 100,000 `u64 -> [u8; 64]` entries and removing them all, with no insert afterwards,
/// gives the heap back to within 64 KiB of the empty map's.
#[test]
fn removing_everything_returns_the_heap() {
    let _serial = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let (map, baseline) = empty_map();
    let full = fill_and_drain(&map, 0..ENTRIES);
    let peak = testkit::alloc::peak();
    let figures = Figures {
        baseline,
        full,
        peak,
    };
    assert_heap_returned("remove all", &map, figures);
}

/// The same, followed by 1,000 inserts of new keys and their removal: the heap still returns to
/// within 64 KiB of the empty map's.
#[test]
fn removing_everything_then_churning_new_keys_returns_the_heap() {
    let _serial = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let (map, baseline) = empty_map();
    let full = fill_and_drain(&map, 0..ENTRIES);
    fill_and_drain(&map, ENTRIES..ENTRIES + 1000);
    let peak = testkit::alloc::peak();
    let figures = Figures {
        baseline,
        full,
        peak,
    };
    assert_heap_returned("remove all, then 1k new keys", &map, figures);
}

/// Expunging many tombstones lists the entries it unlinks; once they are retired and
/// everything is removed, that memory must be given back too (issue 10, defect 2: the first
/// round kept the largest such list's capacity until the map dropped).
///
/// 2N keys are promoted and the first N removed in order (the compactions this causes list and
/// unlink the tombstones); one new key then starts a dirty index. After a promotion and the
/// removal of everything, the heap must be back within 64 KiB of the empty map's.
#[test]
fn expunging_many_tombstones_returns_the_heap() {
    const N: u64 = testkit::scaled(200_000);
    let _serial = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let (mut map, baseline) = empty_map();
    let mut guard = map.guard();
    for k in 0..2 * N {
        if k % 1024 == 0 {
            guard.repin();
        }
        assert!(map.insert(k, [k as u8; VALUE], &guard).is_none(), "key {k}");
    }
    let full = live();
    // Extending with nothing promotes every dirty index.
    map.extend(std::iter::empty());
    assert_eq!(map.iter(&guard).count() as u64, 2 * N);
    for k in 0..N {
        if k % 1024 == 0 {
            guard.repin();
        }
        assert!(map.remove(&k, &guard).is_some(), "key {k}");
    }
    let before = map.stats();
    assert!(
        before.compactions > 0,
        "no compaction unlinked the tombstones: {before}"
    );
    assert!(map.insert(2 * N, [0; VALUE], &guard).is_none());
    map.extend(std::iter::empty());
    assert_eq!(map.iter(&guard).count() as u64, N + 1);
    for k in N..=2 * N {
        if k % 1024 == 0 {
            guard.repin();
        }
        assert!(map.remove(&k, &guard).is_some(), "key {k}");
    }
    drop(guard);
    let peak = testkit::alloc::peak();
    let figures = Figures {
        baseline,
        full,
        peak,
    };
    assert_heap_returned("expunge many tombstones, then remove all", &map, figures);
}

/// A churn at a steady size (one new key inserted and the oldest removed, a guard each) frees
/// the tables and indexes it replaces as it goes: the heap peaks at less than twice what the map
/// held before. (2.5 times when each replaced table waited in the thread's bag of deferred
/// functions for 63 more publications: such a thread defers little else.)
#[test]
fn a_churn_frees_the_tables_it_replaces_as_it_goes() {
    let _serial = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    testkit::flush_epoch();
    let base = live();
    let map: SnapMap<u64, u64> = SnapMap::new();
    for k in 0..ENTRIES {
        map.insert(k, k, &map.guard());
    }
    let mut last = live();
    testkit::settle(|| {
        let (now, before) = (live(), last);
        last = now;
        now == before
    });
    let before = live() - base;
    testkit::alloc::reset_peak();
    for oldest in 0..5 * ENTRIES {
        let new = ENTRIES + oldest;
        assert!(map.insert(new, new, &map.guard()).is_none());
        assert_eq!(map.remove(&oldest, &map.guard()), Some(&oldest));
    }
    let peak = testkit::alloc::peak() - base;
    println!("churn: {before} B before, peak {peak} B; {}", map.stats());
    assert!(peak < 2 * before, "{before} B before, peak {peak} B");
}

/// Allocations made by `op`, on this thread.
fn allocations_of<R>(op: impl FnOnce() -> R) -> usize {
    let before = testkit::alloc::thread_allocations();
    let result = op();
    let made = testkit::alloc::thread_allocations() - before;
    drop(result);
    made
}

/// A new key costs one allocation (its entry, holding the first value), a hit none, and an
/// overwrite or a revival one (the new value's cell).
#[test]
fn a_new_key_is_one_allocation() {
    let _serial = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let map: SnapMap<u64, u64> = SnapMap::builder().shards(1).capacity(64).build();
    let guard = map.guard();
    // The shard's first table, then its first index (sized for the capacity).
    map.insert(0, 0, &guard);
    map.insert(1, 1, &guard);
    for k in 2..34 {
        assert_eq!(
            allocations_of(|| map.insert(k, k, &guard)),
            1,
            "new key {k}"
        );
    }
    // Promoted, so that the lookups below count no misses toward a promotion of their own.
    testkit::promote(&map);
    assert!(!map.stats().amended, "{}", map.stats());
    for k in 0..34 {
        assert_eq!(
            allocations_of(|| map.get(&k, &guard).copied()),
            0,
            "hit {k}"
        );
    }
    assert_eq!(allocations_of(|| map.insert(5, 50, &guard)), 1, "overwrite");
    assert_eq!(allocations_of(|| map.remove(&6, &guard)), 0, "removal");
    assert_eq!(allocations_of(|| map.insert(6, 60, &guard)), 1, "revival");
    assert_eq!(map.get(&5, &guard), Some(&50));
    assert_eq!(map.get(&6, &guard), Some(&60));
    assert_eq!(map.get(&7, &guard), Some(&7));
}

/// Publications counted in `compactions_and_clears_retire_without_allocating_for_it`.
const PUBLICATIONS: usize = 100;

/// A compaction or a `clear` that leaves a shard empty allocates nothing to retire the snapshot
/// it replaced, beyond a compaction's list of the tombstones it expunged: the deferred function
/// fits in the words crossbeam-epoch keeps in place, and a `clear` lets the old snapshot list
/// its entries. (crossbeam-epoch allocates once more whenever a retirement seals its thread's
/// bag of 64 deferred functions; the bound leaves room for that.)
#[test]
fn compactions_and_clears_retire_without_allocating_for_it() {
    let _serial = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let map: SnapMap<u64, u64> = SnapMap::builder().shards(1).build();
    let guard = map.guard();
    let (mut compactions, mut made) = (0, 0);
    for k in 0.. {
        map.insert(k, k, &guard);
        let before = map.stats().compactions;
        let allocations = allocations_of(|| map.remove(&k, &guard).copied());
        if map.stats().compactions > before {
            (compactions, made) = (compactions + 1, made + allocations);
            if compactions == PUBLICATIONS {
                break;
            }
        }
    }
    println!("{made} allocations for {PUBLICATIONS} compactions");
    assert!(
        made <= PUBLICATIONS + PUBLICATIONS / 4,
        "{made} allocations for {PUBLICATIONS} compactions"
    );
    let mut made = 0;
    for round in 0..PUBLICATIONS as u64 {
        for k in 0..100 {
            map.insert(round * 100 + k, k, &guard);
        }
        made += allocations_of(|| map.clear());
        assert!(map.is_empty());
    }
    println!("{made} allocations for {PUBLICATIONS} clears");
    assert!(
        made <= PUBLICATIONS / 4,
        "{made} allocations for {PUBLICATIONS} clears"
    );
}

/// Overwrites counted in `overwrites_…_reuse_…` below.
const OVERWRITES: usize = 10_000;

/// A map of 64 keys whose values `value` makes, and the allocations this thread made for
/// [`OVERWRITES`] overwrites of them, a guard each, cycling through the keys.
fn allocations_for_overwrites<V>(value: impl Fn(u64) -> V) -> (SnapMap<u64, V>, usize)
where
    V: Send + Sync + 'static,
{
    let map = SnapMap::new();
    for k in 0..64 {
        map.insert(k, value(k), &map.guard());
    }
    let made = allocations_of(|| {
        for i in 0..OVERWRITES as u64 {
            map.insert(i % 64, value(i), &map.guard());
        }
    });
    (map, made)
}

/// Overwrites of values without drop glue reuse the cells the epoch has given back to this
/// thread, rather than asking the allocator for each: once the first batches are back, an
/// overwrite costs no allocation (the batches' own lists and the epoch's bags still do, one per
/// batch: of 256 cells for these 8-byte values).
#[test]
fn overwrites_reuse_the_cells_the_epoch_gave_back() {
    let _serial = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let (map, made) = allocations_for_overwrites(|i| i);
    println!("{made} allocations for {OVERWRITES} overwrites");
    assert!(
        made <= OVERWRITES / 8,
        "{made} allocations for {OVERWRITES} overwrites"
    );
    let guard = map.guard();
    for k in 0..64 {
        let last = (k..OVERWRITES as u64).step_by(64).last();
        assert_eq!(map.get(&k, &guard), last.as_ref());
    }
}

/// Values with drop glue are retired one deferred function each, and their cells, once
/// dropped, are kept for the thread's next overwrites too (an empty `String` owns no heap, so
/// the cell is all an overwrite allocates).
#[test]
fn overwrites_of_values_with_drop_glue_reuse_their_cells() {
    let _serial = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let (_map, made) = allocations_for_overwrites(|_| String::new());
    println!("{made} allocations for {OVERWRITES} overwrites of values with drop glue");
    assert!(
        made <= OVERWRITES / 8,
        "{made} allocations for {OVERWRITES} overwrites of values with drop glue"
    );
}

/// Overwrites made under guards that each live for 64 operations (a batch, as a service might
/// hold one) give their memory back as they go: the garbage waiting for the epoch stays within
/// a few MiB (about 1.5 MiB here: a few bags of batches of 64-byte cells), whatever the number
/// of overwrites, instead of growing with each (37 MB after these 400,000). (crossbeam-epoch collects garbage on every 128th pin,
/// eight bags of 64 deferred functions at a time: one deferred function per overwritten value
/// would fall behind such a thread for ever.) The last, partial batch of a thread is given back
/// when the thread exits.
#[test]
fn overwrites_under_reused_guards_return_their_memory() {
    const OVERWRITES: u64 = testkit::scaled(400_000);
    let _serial = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let (map, baseline) = empty_map();
    for k in 0..1024 {
        map.insert(k, [0; VALUE], &map.guard());
    }
    let full = live();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut guard = map.guard();
            for i in 0..OVERWRITES {
                if i % 64 == 0 {
                    drop(guard);
                    guard = map.guard();
                }
                map.insert(i % 1024, [i as u8; VALUE], &guard);
            }
            let grown = live() - full;
            assert!(
                grown <= 4 * 1024 * 1024,
                "{grown} B more after {OVERWRITES} overwrites under reused guards"
            );
        });
    });
    map.clear();
    testkit::settle(|| live() - baseline <= SLACK);
    assert!(
        live() - baseline <= SLACK,
        "{} B still allocated after the writer exited and the map was cleared",
        live() - baseline
    );
}
