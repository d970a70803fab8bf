//! Go's `sync.Map` benchmark suite, re-implemented from its description, against every peer.
//!
//! As in Go's `b.RunParallel`, one measurement runs `iters` operations in total, shared by the
//! threads, and criterion reports the elapsed time divided by `iters`: ns per operation. Thread
//! `t` counts its keys up from `t * iters`, so threads never share the keys they invent. Every
//! measurement starts from a fresh map (setup and priming are not timed), and the maps that
//! are only read also run against a std `HashMap` shared read-only, the physical limit.
//!
//! `SNAPMAP_BENCH=quick` shortens criterion's times; see `BENCHMARKS.md`.

mod common;

use std::hint::black_box;

use common::peers::{each_peer, FromPairs, Lookup, Map, Visitor};
use common::{criterion_config, thread_counts, timed_parallel, Budget, Mode, OpPool};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};

/// Declares the workloads once: the enum and the list of all of them, in order.
macro_rules! workloads {
    ($($name:ident),* $(,)?) => {
        /// The workloads, in the order of Go's `map_bench_test.go`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Go {
            $($name),*
        }

        const ALL: &[Go] = &[$(Go::$name),*];
    };
}

workloads![
    LoadMostlyHits,
    LoadMostlyMisses,
    LoadOrStoreBalanced,
    LoadOrStoreUnique,
    LoadOrStoreCollision,
    LoadAndDeleteBalanced,
    LoadAndDeleteUnique,
    LoadAndDeleteCollision,
    Range,
    AdversarialAlloc,
    AdversarialDelete,
    DeleteCollision,
    SwapCollision,
    SwapMostlyHits,
    SwapMostlyMisses,
    CompareAndSwapCollision,
    CompareAndSwapNoExistingKey,
    CompareAndSwapValueNotEqual,
    CompareAndSwapMostlyHits,
    CompareAndSwapMostlyMisses,
    CompareAndDeleteCollision,
    CompareAndDeleteMostlyHits,
    CompareAndDeleteMostlyMisses,
    Clear,
];

use Go::*;

/// Size of the map in `Range` and `AdversarialDelete`.
const MAP_SIZE: u64 = 1 << 10;

impl Go {
    /// `(hits, misses)`: keys `0..hits` are stored by the setup, and operations cycle through
    /// `hits + misses` keys. `None` for the workloads without that setup.
    fn hits_misses(self) -> Option<(u64, u64)> {
        match self {
            LoadMostlyHits
            | SwapMostlyHits
            | CompareAndSwapMostlyHits
            | CompareAndDeleteMostlyHits => Some((1023, 1)),
            LoadMostlyMisses
            | SwapMostlyMisses
            | CompareAndSwapMostlyMisses
            | CompareAndDeleteMostlyMisses => Some((1, 1023)),
            LoadOrStoreBalanced | LoadAndDeleteBalanced => Some((128, 128)),
            _ => None,
        }
    }

    /// The workloads that only read after their setup: they also run against scc's
    /// `HashIndex` and the read-only std `HashMap`.
    fn read_only(self) -> bool {
        matches!(self, LoadMostlyHits | LoadMostlyMisses | Range)
    }

    /// The entries the setup stores.
    fn initial_entries(self) -> Vec<(u64, u64)> {
        if let Some((hits, _)) = self.hits_misses() {
            return (0..hits).map(|i| (i, i)).collect();
        }
        match self {
            Range | AdversarialDelete => (0..MAP_SIZE).map(|i| (i, i)).collect(),
            LoadOrStoreCollision
            | LoadAndDeleteCollision
            | DeleteCollision
            | SwapCollision
            | CompareAndSwapCollision
            | CompareAndSwapValueNotEqual
            | CompareAndDeleteCollision => vec![(0, 0)],
            _ => Vec::new(),
        }
    }

    /// Loads every stored key twice, so that maps with a read snapshot (Go's `sync.Map`,
    /// snapmap) reach their steady read-mostly state before the measurement.
    fn prime<L: Lookup>(self, map: &L) {
        if let Some((hits, _)) = self.hits_misses() {
            for i in 0..hits * 2 {
                black_box(map.get(i % hits));
            }
        }
    }

    /// One thread's share of a read-only workload; `i` is the thread's first key.
    fn run_read_only<L: Lookup>(self, map: &L, mut i: u64, pb: &mut Budget<'_>) {
        let cycle = self.hits_misses().map_or(0, |(h, m)| h + m);
        while pb.next() {
            match self {
                LoadMostlyHits | LoadMostlyMisses => {
                    black_box(map.get(i % cycle));
                }
                Range => {
                    black_box(map.range());
                }
                _ => unreachable!("{self:?} is not a read-only workload"),
            }
            i += 1;
        }
    }

    /// One thread's share of a workload that writes; `i` is the thread's first key. The
    /// assertions are Go's own checks of `LoadOrStore`'s result.
    fn run<M: Map>(self, map: &M, mut i: u64, pb: &mut Budget<'_>) {
        let (hits, cycle) = self.hits_misses().map_or((0, 0), |(h, m)| (h, h + m));
        // AdversarialAlloc's state.
        let (mut stores, mut loads_since_store) = (0u64, 0u64);
        while pb.next() {
            match self {
                LoadOrStoreBalanced => {
                    let j = i % cycle;
                    if j < hits {
                        let (_, loaded) = map.load_or_store(j, i);
                        assert!(loaded, "LoadOrStoreBalanced: unexpected miss for {j}");
                    } else {
                        let (v, loaded) = map.load_or_store(i, i);
                        assert!(!loaded, "LoadOrStoreBalanced: {i} already held {v}");
                    }
                }
                LoadOrStoreUnique => {
                    black_box(map.load_or_store(i, i));
                }
                LoadOrStoreCollision => {
                    black_box(map.load_or_store(0, 0));
                }
                LoadAndDeleteBalanced => {
                    let j = i % cycle;
                    black_box(map.load_and_delete(if j < hits { j } else { i }));
                }
                LoadAndDeleteUnique => {
                    black_box(map.load_and_delete(i));
                }
                LoadAndDeleteCollision => {
                    if map.load_and_delete(0).is_some() {
                        map.insert(0, 0);
                    }
                }
                AdversarialAlloc => {
                    // Loads of missing keys, and a new key stored as soon as the loads since the
                    // last store outnumber the stores: on a sync.Map this stores right after each
                    // promotion, so that every load has to look in the locked dirty map.
                    black_box(map.get(i));
                    loads_since_store += 1;
                    if loads_since_store > stores {
                        black_box(map.load_or_store(i, stores));
                        loads_since_store = 0;
                        stores += 1;
                    }
                }
                AdversarialDelete => {
                    black_box(map.get(i));
                    if i % MAP_SIZE == 0 {
                        map.delete_first();
                        map.insert(i, i);
                    }
                }
                DeleteCollision => {
                    black_box(map.remove(0));
                }
                SwapCollision => {
                    black_box(map.swap(0, 0));
                }
                SwapMostlyHits | SwapMostlyMisses => {
                    if i % cycle < hits {
                        let v = i % cycle;
                        black_box(map.swap(v, v));
                    } else {
                        black_box(map.swap(i, i));
                        map.remove(i);
                    }
                }
                CompareAndSwapCollision => {
                    if map.compare_and_swap(0, 0, 42) {
                        map.compare_and_swap(0, 42, 0);
                    }
                }
                CompareAndSwapNoExistingKey => {
                    if map.compare_and_swap(i, 0, 0) {
                        map.remove(i);
                    }
                }
                CompareAndSwapValueNotEqual => {
                    black_box(map.compare_and_swap(0, 1, 2));
                }
                CompareAndSwapMostlyHits | CompareAndSwapMostlyMisses => {
                    let v = if i % cycle < hits { i % cycle } else { i };
                    black_box(map.compare_and_swap(v, v, v));
                }
                CompareAndDeleteCollision => {
                    if map.compare_and_delete(0, 0) {
                        map.insert(0, 0);
                    }
                }
                CompareAndDeleteMostlyHits | CompareAndDeleteMostlyMisses => {
                    let v = if i % cycle < hits { i % cycle } else { i };
                    if map.compare_and_delete(v, v) {
                        map.insert(v, v);
                    }
                }
                Clear => {
                    let k = i % 256;
                    map.clear();
                    map.insert(k, k);
                }
                LoadMostlyHits | LoadMostlyMisses | Range => {
                    unreachable!("{self:?} is read-only")
                }
            }
            i += 1;
        }
    }
}

/// Benchmarks one workload at one thread count against the peers it applies to.
struct GoBench<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, criterion::measurement::WallTime>,
    work: Go,
    threads: usize,
}

impl GoBench<'_, '_> {
    /// Times `iters` operations on a fresh map built by `setup`, shared by `self.threads`
    /// threads each running `run(map, first key, budget)`.
    fn measure<T: Sync>(
        &mut self,
        name: &str,
        setup: impl Fn() -> T,
        run: impl Fn(&T, u64, &mut Budget<'_>) + Sync,
    ) {
        let threads = self.threads;
        self.group
            .bench_function(BenchmarkId::new(name, threads), |b| {
                b.iter_custom(|iters| {
                    let map = setup();
                    let pool = OpPool::new(iters, threads);
                    timed_parallel(
                        threads,
                        |_| (),
                        |t, ()| run(&map, t as u64 * iters, &mut pool.budget()),
                    )
                    // `map` is dropped here, after the timed section.
                })
            });
    }
}

impl Visitor for GoBench<'_, '_> {
    fn map<M: Map>(&mut self) {
        let work = self.work;
        if work.read_only() {
            return self.lookup::<M>();
        }
        self.measure(
            M::NAME,
            || {
                let map = M::with_capacity(0);
                for (k, v) in work.initial_entries() {
                    map.insert(k, v);
                }
                work.prime(&map);
                map
            },
            |map, i, pb| work.run(map, i, pb),
        );
    }

    fn lookup<L: Lookup + FromPairs>(&mut self) {
        let work = self.work;
        if !work.read_only() {
            return;
        }
        self.measure(
            L::NAME,
            || {
                let map = L::from_pairs(&work.initial_entries());
                work.prime(&map);
                map
            },
            |map, i, pb| work.run_read_only(map, i, pb),
        );
    }
}

fn main() {
    let mode = Mode::from_env();
    // 24 workloads x ~7.5 peers x 3 thread counts: about 540 measurements.
    let mut c: Criterion =
        criterion_config(mode, (0.03, 0.15, 10), (0.4, 1.2, 10)).configure_from_args();
    let threads = thread_counts();
    for &work in ALL {
        let mut group = c.benchmark_group(format!("go-{work:?}"));
        for &t in &threads {
            each_peer(&mut GoBench {
                group: &mut group,
                work,
                threads: t,
            });
        }
        group.finish();
    }
    c.final_summary();
}
