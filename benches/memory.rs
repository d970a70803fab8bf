//! Heap used by each peer, counted by a global allocator that tracks live bytes:
//!
//! - **footprint**: bytes per entry of a `u64 -> u64` map holding 10^4, 10^5 and 10^6 entries
//!   (right after the inserts, and again after every key was read once, which lets snapmap
//!   promote its dirty table to its read snapshot); then the heap still held once every entry
//!   was removed, with no further insert, and after the map was dropped;
//! - **churn**: the peak heap while a map holding 100,000 entries has one new key inserted and
//!   its oldest key removed, over and over (1,000,000 times in a full run).
//!
//! Two byte counts are kept: the bytes the program asks the allocator for (`requested`), and,
//! on Linux, the usable size of each block malloc hands out (`usable`, from
//! `malloc_usable_size`). Small blocks are rounded up to malloc's size classes, so maps that
//! allocate every entry on its own (snapmap, papaya) cost more than they ask for; `usable` is
//! the closer of the two to the real heap (it still leaves out malloc's per-block header).
//!
//! Before every reading, deferred reclamation is given every chance to run (the map's guard is
//! flushed and its epoch advanced until the byte count stops falling), so what remains is what
//! the map really holds. Everything runs on one thread, so the numbers are deterministic.
//!
//! `SNAPMAP_BENCH=quick` does 200,000 churn operations; `--test` runs tiny sizes and writes
//! nothing. Results go to `memory.json` in the bench output directory.
#![allow(unsafe_code)] // a `GlobalAlloc` wrapper and `malloc_usable_size`

mod common;

use testkit::alloc as counting_alloc;

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use common::peers::{each_peer, ReadMap, Visitor};
use common::{scramble, write_result, Args, Mode};

#[global_allocator]
static GLOBAL: Usable = Usable;

/// Bytes held, both ways of counting.
#[derive(Debug, Clone, Copy)]
struct Bytes {
    requested: isize,
    usable: isize,
}

impl std::ops::Sub for Bytes {
    type Output = Bytes;

    fn sub(self, base: Bytes) -> Bytes {
        Bytes {
            requested: self.requested - base.requested,
            usable: self.usable - base.usable,
        }
    }
}

/// Usable bytes, then requested bytes in parentheses.
impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.usable, self.requested)
    }
}

impl Bytes {
    /// Bytes per entry, usable then requested.
    fn per(self, entries: u64) -> String {
        let n = entries as f64;
        format!(
            "{:.1} ({:.1})",
            self.usable as f64 / n,
            self.requested as f64 / n
        )
    }

    fn json(self) -> String {
        format!(
            r#"{{"requested": {}, "usable": {}}}"#,
            self.requested, self.usable
        )
    }
}

/// Heap bytes held now.
fn live() -> Bytes {
    Bytes {
        requested: counting_alloc::live(),
        usable: USABLE_LIVE.load(Relaxed),
    }
}

/// The most heap bytes held at once since the last [`reset_peak`] (each count on its own).
fn peak() -> Bytes {
    Bytes {
        requested: counting_alloc::peak(),
        usable: USABLE_PEAK.load(Relaxed),
    }
}

fn reset_peak() {
    counting_alloc::reset_peak();
    USABLE_PEAK.store(USABLE_LIVE.load(Relaxed), Relaxed);
}

static USABLE_LIVE: AtomicIsize = AtomicIsize::new(0);
static USABLE_PEAK: AtomicIsize = AtomicIsize::new(0);

/// The size malloc really reserved for the block at `ptr` (0 where that cannot be asked).
fn usable_size(ptr: *mut u8) -> isize {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `ptr` is a live block obtained from the system allocator, which is malloc
        // on Linux (also for over-aligned layouts, through posix_memalign).
        unsafe { libc::malloc_usable_size(ptr.cast()) as isize }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = ptr;
        0
    }
}

fn usable_grow(ptr: *mut u8) {
    let now = USABLE_LIVE.fetch_add(usable_size(ptr), Relaxed) + usable_size(ptr);
    USABLE_PEAK.fetch_max(now, Relaxed);
}

fn usable_shrink(ptr: *mut u8) {
    USABLE_LIVE.fetch_sub(usable_size(ptr), Relaxed);
}

/// The shared counting allocator (requested bytes), plus the usable size of every block.
struct Usable;

// SAFETY: every call is forwarded unchanged to `counting_alloc::Counting`, itself a counting
// wrapper of the system allocator; the usable sizes are read from blocks while they are live.
unsafe impl GlobalAlloc for Usable {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees for `alloc` are passed on unchanged.
        let ptr = unsafe { counting_alloc::Counting.alloc(layout) };
        if !ptr.is_null() {
            usable_grow(ptr);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { counting_alloc::Counting.alloc_zeroed(layout) };
        if !ptr.is_null() {
            usable_grow(ptr);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // The block is still live here: read its size before freeing it.
        usable_shrink(ptr);
        // SAFETY: `ptr` was allocated by this allocator with `layout`, as the caller guarantees.
        unsafe { counting_alloc::Counting.dealloc(ptr, layout) };
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old_usable = usable_size(ptr);
        // SAFETY: as for `dealloc`, and `new_size` is valid as the caller guarantees.
        let new = unsafe { counting_alloc::Counting.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            USABLE_LIVE.fetch_sub(old_usable, Relaxed);
            usable_grow(new);
        }
        new
    }
}

/// Runs `quiesce` until the live byte count has not fallen for a few rounds in a row.
fn settle(quiesce: impl Fn()) {
    let mut last = live().requested;
    let mut steady_rounds = 0;
    for _ in 0..1_000 {
        for _ in 0..32 {
            quiesce();
        }
        let now = live().requested;
        steady_rounds = if now < last { 0 } else { steady_rounds + 1 };
        last = now;
        if steady_rounds == 4 {
            return;
        }
    }
}

/// Heap bytes (relative to before the map existed) at each stage of one map's life.
struct Footprint {
    peer: &'static str,
    entries: u64,
    empty: Bytes,
    filled: Bytes,
    after_reads: Bytes,
    after_remove: Bytes,
    after_drop: Bytes,
}

fn footprint<M: ReadMap>(entries: u64) -> Footprint {
    let base = live();
    let map = M::with_capacity(0);
    let empty = live() - base;
    for i in 0..entries {
        assert!(map.insert(scramble(i), i));
    }
    settle(|| map.quiesce());
    let filled = live() - base;
    for i in 0..entries {
        assert_eq!(map.get(scramble(i)), Some(i));
    }
    settle(|| map.quiesce());
    let after_reads = live() - base;
    for i in 0..entries {
        assert!(map.remove(scramble(i)));
    }
    settle(|| map.quiesce());
    let after_remove = live() - base;
    drop(map);
    // A second map, only to reach the same reclamation machinery once the first is gone.
    let probe = M::with_capacity(0);
    settle(|| probe.quiesce());
    drop(probe);
    let after_drop = live() - base;
    Footprint {
        peer: M::NAME,
        entries,
        empty,
        filled,
        after_reads,
        after_remove,
        after_drop,
    }
}

/// Heap bytes (relative to before the map existed) around a churn at a steady size.
struct Churn {
    peer: &'static str,
    live_entries: u64,
    ops: u64,
    before: Bytes,
    peak: Bytes,
    after: Bytes,
}

fn churn<M: ReadMap>(live_entries: u64, ops: u64) -> Churn {
    let base = live();
    let map = M::with_capacity(0);
    for i in 0..live_entries {
        assert!(map.insert(scramble(i), i));
    }
    settle(|| map.quiesce());
    let before = live() - base;
    reset_peak();
    for oldest in 0..ops {
        let new = live_entries + oldest;
        assert!(map.insert(scramble(new), new));
        assert!(map.remove(scramble(oldest)));
    }
    let peak = peak() - base;
    settle(|| map.quiesce());
    let after = live() - base;
    Churn {
        peer: M::NAME,
        live_entries,
        ops,
        before,
        peak,
        after,
    }
}

struct MemoryBench<'a> {
    args: &'a Args,
    sizes: &'a [u64],
    churn_live: u64,
    churn_ops: u64,
    footprints: Vec<Footprint>,
    churns: Vec<Churn>,
}

impl MemoryBench<'_> {
    /// Whether to run (or, with `--list`, just name) the case `name`.
    fn wants(&self, name: &str) -> bool {
        if self.args.list {
            println!("{name}: benchmark");
            return false;
        }
        self.args.wants(name)
    }
}

impl Visitor for MemoryBench<'_> {
    fn read_map<M: ReadMap>(&mut self) {
        let want_footprint = self.wants(&format!("memory/footprint/{}", M::NAME));
        let want_churn = self.wants(&format!("memory/churn/{}", M::NAME));
        if !want_footprint && !want_churn {
            return;
        }
        // Let the map's reclamation machinery allocate its per-thread state before any
        // reading, so that it is not counted as part of the first map measured.
        let warm = M::with_capacity(0);
        warm.insert(1, 1);
        warm.remove(1);
        settle(|| warm.quiesce());
        drop(warm);

        if want_footprint {
            for &entries in self.sizes {
                let f = footprint::<M>(entries);
                println!(
                    "{:<14} {:>9} entries: {} B/entry filled, {} after reads; \
                     {} B left after removing all, {} B after drop",
                    f.peer,
                    f.entries,
                    f.filled.per(entries),
                    f.after_reads.per(entries),
                    f.after_remove,
                    f.after_drop,
                );
                self.footprints.push(f);
            }
        }
        if want_churn {
            let c = churn::<M>(self.churn_live, self.churn_ops);
            println!(
                "{:<14} churn at {} entries, {} ops: {} B before, peak {} B, {} B after",
                c.peer, c.live_entries, c.ops, c.before, c.peak, c.after,
            );
            self.churns.push(c);
        }
    }
}

/// crossbeam-epoch sets up its global collector, its queue of deferred functions and this
/// thread's record on first use, and never frees them: they belong to the process, not to a map.
/// Used once before any measurement, they are not charged to whichever map is measured first.
fn warm_up_epoch() {
    let map: snapmap::SnapMap<u64, u64> = snapmap::SnapMap::new();
    for i in 0..10_000 {
        map.pin().insert(i, i);
        map.pin().insert(i, i + 1);
        map.pin().remove(&i);
    }
    drop(map);
    for _ in 0..1_024 {
        snapmap::SnapMap::<u8, u8>::new().guard().flush();
    }
}

fn main() {
    let args = Args::parse();
    let mode = Mode::from_env();
    let (sizes, churn_live, churn_ops): (&[u64], u64, u64) = if args.test {
        (&[1_000], 1_000, 2_000)
    } else {
        (
            &[10_000, 100_000, 1_000_000],
            100_000,
            mode.pick(200_000, 1_000_000),
        )
    };
    let mut bench = MemoryBench {
        args: &args,
        sizes,
        churn_live,
        churn_ops,
        footprints: Vec::new(),
        churns: Vec::new(),
    };
    warm_up_epoch();
    each_peer(&mut bench);
    if args.list || args.test || (bench.footprints.is_empty() && bench.churns.is_empty()) {
        return;
    }
    let footprints: Vec<String> = bench
        .footprints
        .iter()
        .map(|f| {
            format!(
                r#"{{"peer": "{}", "entries": {}, "empty": {}, "filled": {}, "after_reads": {}, "after_remove": {}, "after_drop": {}}}"#,
                f.peer,
                f.entries,
                f.empty.json(),
                f.filled.json(),
                f.after_reads.json(),
                f.after_remove.json(),
                f.after_drop.json()
            )
        })
        .collect();
    let churns: Vec<String> = bench
        .churns
        .iter()
        .map(|c| {
            format!(
                r#"{{"peer": "{}", "live_entries": {}, "ops": {}, "before": {}, "peak": {}, "after": {}}}"#,
                c.peer,
                c.live_entries,
                c.ops,
                c.before.json(),
                c.peak.json(),
                c.after.json()
            )
        })
        .collect();
    write_result(
        "memory.json",
        &format!(
            "{{\"mode\": \"{}\", \"footprint\": [\n  {}\n], \"churn\": [\n  {}\n]}}\n",
            mode.name(),
            footprints.join(",\n  "),
            churns.join(",\n  ")
        ),
    );
}
