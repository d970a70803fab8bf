//! The conc-map-bench mixes (ReadHeavy, Exchange, RapidGrow), the de-facto comparison of Rust
//! concurrent maps, re-implemented on the same rules as its harness:
//!
//! - the map is created with a capacity of `C` entries and, before the clock starts, each
//!   thread fills its share of `prefill * C` keys;
//! - the threads then run `C` operations in total, each thread its share, following a fixed
//!   shuffled pattern of 100 operations with the mix's percentages;
//! - every thread has its own random `u64` keys, disjoint from the other threads' keys. Inserts
//!   take the thread's next unused key, removals the oldest key it still has, and reads and
//!   updates a key drawn from all of the thread's keys, so that some are present and some are
//!   not (ReadHeavy's reads are mostly misses).
//!
//! Every result is checked against what the thread knows it stored. Throughput is `C`
//! operations divided by the time from the first thread starting to the last one finishing.
//! `C` is 2^19 (524,288) in a full run and 2^14 with `SNAPMAP_BENCH=quick`; conc-map-bench
//! itself uses 2^25, which would take hours here.

mod common;

use std::time::Duration;

use common::peers::{each_peer, Map, ReadMap, Visitor};
use common::{criterion_config, scramble, shuffle, thread_counts, timed_parallel, Mode, Rng};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};

/// One operation of a mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Insert,
    Remove,
    Update,
}

/// A workload: percentages of each operation, and how full the map is at the start.
#[derive(Debug, Clone, Copy)]
struct Mix {
    name: &'static str,
    read: u8,
    insert: u8,
    remove: u8,
    update: u8,
    prefill: f64,
}

const MIXES: [Mix; 3] = [
    Mix {
        name: "ReadHeavy",
        read: 98,
        insert: 1,
        remove: 1,
        update: 0,
        prefill: 0.75,
    },
    Mix {
        name: "Exchange",
        read: 10,
        insert: 40,
        remove: 40,
        update: 10,
        prefill: 0.75,
    },
    Mix {
        name: "RapidGrow",
        read: 5,
        insert: 80,
        remove: 5,
        update: 10,
        prefill: 0.0,
    },
];

impl Mix {
    /// The mix as a shuffled pattern of 100 operations, the same for every map and thread.
    fn pattern(&self) -> Vec<Op> {
        let mut ops = Vec::with_capacity(100);
        for (op, percent) in [
            (Op::Read, self.read),
            (Op::Insert, self.insert),
            (Op::Remove, self.remove),
            (Op::Update, self.update),
        ] {
            ops.extend(std::iter::repeat_n(op, percent.into()));
        }
        assert_eq!(
            ops.len(),
            100,
            "{}: percentages must add up to 100",
            self.name
        );
        shuffle(&mut Rng::new(0x0b5e_55ed), &mut ops);
        ops
    }

    /// The only mix scc's read-optimized `HashIndex` is measured on.
    fn is_read_mostly(&self) -> bool {
        self.read >= 90
    }
}

/// The numbers one run of a mix at one thread count is made of.
#[derive(Debug, Clone)]
struct Plan {
    threads: usize,
    /// Initial capacity of the map, `C`.
    capacity: usize,
    /// Operations in the timed section, all threads together.
    total_ops: u64,
    ops_per_thread: u64,
    prefill_per_thread: usize,
    /// Each thread's key space: a power of two, large enough for the prefill and every insert.
    keys_per_thread: usize,
    pattern: Vec<Op>,
}

impl Plan {
    fn new(mix: &Mix, capacity_log2: u32, threads: usize) -> Self {
        let capacity = 1usize << capacity_log2;
        let total_ops = capacity as u64;
        let ops_per_thread = total_ops / threads as u64;
        let prefill = (capacity as f64 * mix.prefill) as usize;
        let max_inserts = total_ops.div_ceil(100) as usize * usize::from(mix.insert);
        // As in conc-map-bench: room for the prefill plus the larger of the capacity and the
        // inserts, so that reads of a key drawn from the whole space often miss.
        let keys_per_thread = (capacity.max(max_inserts) + prefill)
            .div_ceil(threads)
            .next_power_of_two();
        Plan {
            threads,
            capacity,
            total_ops: ops_per_thread * threads as u64,
            ops_per_thread,
            prefill_per_thread: prefill / threads,
            keys_per_thread,
            pattern: mix.pattern(),
        }
    }

    /// Thread `t`'s keys: distinct inputs to a bijection, so no two threads share a key.
    fn keys(&self, t: usize) -> Vec<u64> {
        let first = (t * self.keys_per_thread) as u64;
        (first..first + self.keys_per_thread as u64)
            .map(scramble)
            .collect()
    }

    /// One run on a fresh map: returns the time of the operations (the prefill is not timed).
    fn run<M: ReadMap>(&self) -> Duration {
        let map = M::with_capacity(self.capacity);
        let map = &map;
        timed_parallel(
            self.threads,
            |t| {
                let keys = self.keys(t);
                for &k in &keys[..self.prefill_per_thread] {
                    assert!(map.insert(k, k), "prefill: {k} was already present");
                }
                keys
            },
            |_, keys| self.operate(map, &keys),
        )
    }

    /// One thread's operations.
    fn operate<M: ReadMap>(&self, map: &M, keys: &[u64]) {
        // Keys `keys[erased..inserted]` are in the map, and no other key of this thread is.
        let mut inserted = self.prefill_per_thread;
        let mut erased = 0;
        // Reads and updates pick keys with a full-period LCG over the key space (Knuth's MMIX
        // constants: the multiplier is 1 mod 4 and the increment odd, so every power-of-two
        // modulus is covered).
        let mask = self.keys_per_thread as u64 - 1;
        let mut cursor = 0u64;
        let mut next_random = || {
            let index = cursor as usize;
            cursor = cursor
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407)
                & mask;
            index
        };
        for (step, &op) in (0..self.ops_per_thread).zip(self.pattern.iter().cycle()) {
            match op {
                Op::Read => {
                    let i = next_random();
                    let found = map.get(keys[i]).is_some();
                    assert_eq!(found, (erased..inserted).contains(&i), "step {step}: get");
                }
                Op::Insert => {
                    assert!(map.insert(keys[inserted], step), "step {step}: insert");
                    inserted += 1;
                }
                Op::Remove if erased < inserted => {
                    assert!(map.remove(keys[erased]), "step {step}: remove");
                    erased += 1;
                }
                Op::Remove => {
                    // Everything this thread inserted is gone: remove a key that is absent.
                    let i = next_random();
                    assert!(!map.remove(keys[i]), "step {step}: remove from empty");
                }
                Op::Update => {
                    let i = next_random();
                    let updated = map.update(keys[i], step);
                    assert_eq!(
                        updated,
                        (erased..inserted).contains(&i),
                        "step {step}: update"
                    );
                }
            }
        }
    }
}

/// Benchmarks one mix at one thread count against the peers it applies to.
struct MixBench<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, criterion::measurement::WallTime>,
    mix: Mix,
    plan: Plan,
}

impl MixBench<'_, '_> {
    fn measure<M: ReadMap>(&mut self) {
        let plan = &self.plan;
        self.group
            .bench_function(BenchmarkId::new(M::NAME, plan.threads), |b| {
                b.iter_custom(|iters| (0..iters).map(|_| plan.run::<M>()).sum())
            });
    }
}

impl Visitor for MixBench<'_, '_> {
    fn map<M: Map>(&mut self) {
        self.measure::<M>();
    }

    fn read_map<M: ReadMap>(&mut self) {
        if self.mix.is_read_mostly() {
            self.measure::<M>();
        }
    }
}

fn main() {
    let mode = Mode::from_env();
    let capacity_log2 = mode.pick(14, 19);
    // One run per sample: criterion's minimum of 10 samples, plus one warm-up run.
    let mut c: Criterion =
        criterion_config(mode, (0.001, 0.01, 10), (0.001, 0.01, 10)).configure_from_args();
    for mix in MIXES {
        let mut group = c.benchmark_group(format!("mix-{}", mix.name));
        group.sampling_mode(SamplingMode::Flat);
        for threads in thread_counts() {
            let plan = Plan::new(&mix, capacity_log2, threads);
            group.throughput(Throughput::Elements(plan.total_ops));
            each_peer(&mut MixBench {
                group: &mut group,
                mix,
                plan,
            });
        }
        group.finish();
    }
    c.final_summary();
}
