//! Single-thread latency of a `get`, against a std `HashMap` read with no synchronization at all
//! (the physical limit).
//!
//! - `get-hit`: every map holds the same 4,096 random keys, is primed by reading each key twice,
//!   and is then read in a fixed shuffled order, all in cache. snapmap and papaya are measured
//!   both with a guard per call (their adapters elsewhere) and with one guard reused for every
//!   call.
//! - `get-random`: a map of 786,432 random keys, much larger than the caches, primed by reading
//!   each key four times (which promotes snapmap's shards: every key is then in its read
//!   table), read with keys drawn at random from twice as many, so that half the reads hit.
//!   Every dependent pointer a lookup follows is then a miss to memory. Guard per call.
//!   `SNAPMAP_BENCH=quick` uses 49,152 keys.

mod common;

use std::hint::black_box;

use common::peers::{each_peer, FromPairs, Lookup, Papaya, Snap, Visitor};
use common::{criterion_config, scramble, shuffle, Mode, Rng};
use criterion::{BenchmarkGroup, Criterion};

const KEYS: usize = 4096;

/// Keys in the map of `get-random` (`SNAPMAP_BENCH=quick`: 49,152).
fn random_map_keys(mode: Mode) -> usize {
    match mode {
        Mode::Quick => 49_152,
        _ => 786_432,
    }
}

/// Reads of `get-random` drawn in advance: a power of two, read in a cycle.
const RANDOM_READS: usize = 1 << 20;

/// The map of `get-random` and the keys to read: each drawn from twice as many keys as the map
/// holds, so that about half of the reads hit.
fn random_workload(keys: usize) -> (Vec<(u64, u64)>, Vec<u64>) {
    let pairs: Vec<(u64, u64)> = (0..keys as u64).map(|i| (scramble(i), i)).collect();
    let mut rng = Rng::new(11);
    let reads = (0..RANDOM_READS)
        .map(|_| scramble(rng.below(2 * keys as u64)))
        .collect();
    (pairs, reads)
}

/// The map's entries, and the order in which they are read.
fn workload() -> (Vec<(u64, u64)>, Vec<u64>) {
    let pairs: Vec<(u64, u64)> = (0..KEYS as u64).map(|i| (scramble(i), i)).collect();
    let mut order: Vec<u64> = pairs.iter().map(|&(k, _)| k).collect();
    shuffle(&mut Rng::new(7), &mut order);
    (pairs, order)
}

/// A filled map after every key was read `passes` times (the read-mostly steady state).
fn primed_by<L: Lookup + FromPairs>(pairs: &[(u64, u64)], passes: usize) -> L {
    let map = L::from_pairs(pairs);
    for _ in 0..passes {
        for &(k, _) in pairs {
            assert!(map.get(k).is_some(), "{}: lost key {k}", L::NAME);
        }
    }
    map
}

/// A filled map after every key was read twice.
fn primed<L: Lookup + FromPairs>(pairs: &[(u64, u64)]) -> L {
    primed_by(pairs, 2)
}

/// Benchmarks `get(key)` for the keys of `order`, in a loop.
fn bench_gets(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    order: &[u64],
    get: impl Fn(u64) -> Option<u64>,
) {
    group.bench_function(name, |b| {
        let mut i = 0;
        b.iter(|| {
            let key = order[i];
            i = (i + 1) % order.len();
            black_box(get(black_box(key)))
        })
    });
}

struct GetBench<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, criterion::measurement::WallTime>,
    pairs: &'a [(u64, u64)],
    order: &'a [u64],
}

impl Visitor for GetBench<'_, '_> {
    fn lookup<L: Lookup + FromPairs>(&mut self) {
        let map: L = primed(self.pairs);
        bench_gets(self.group, L::NAME, self.order, |k| map.get(k));
    }
}

/// Benchmarks `get-random`: the same reads for every map, each map built and dropped in turn.
struct RandomGetBench<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, criterion::measurement::WallTime>,
    pairs: &'a [(u64, u64)],
    reads: &'a [u64],
    /// How many of `reads` hit, which every map must agree on.
    hits: usize,
}

impl Visitor for RandomGetBench<'_, '_> {
    fn lookup<L: Lookup + FromPairs>(&mut self) {
        // Four reads of every key count enough misses to promote each of snapmap's shards,
        // whose last third or so of keys is still in its index after the inserts.
        let map: L = primed_by(self.pairs, 4);
        let hits = self.reads.iter().filter(|&&k| map.get(k).is_some()).count();
        assert_eq!(hits, self.hits, "{}: wrong number of hits", L::NAME);
        bench_gets(self.group, L::NAME, self.reads, |k| map.get(k));
    }
}

fn main() {
    let mode = Mode::from_env();
    let mut c: Criterion =
        criterion_config(mode, (0.05, 0.2, 20), (0.5, 2.0, 50)).configure_from_args();
    let (pairs, order) = workload();
    let mut group = c.benchmark_group("get-hit");

    each_peer(&mut GetBench {
        group: &mut group,
        pairs: &pairs,
        order: &order,
    });

    let snap: Snap = primed(&pairs);
    let guard = snap.0.guard();
    bench_gets(&mut group, "snapmap-guard-reused", &order, |k| {
        snap.0.get(&k, &guard).copied()
    });
    drop(guard);

    let papaya: Papaya = primed(&pairs);
    let guard = papaya.0.guard();
    bench_gets(&mut group, "papaya-guard-reused", &order, |k| {
        papaya.0.get(&k, &guard).copied()
    });
    drop(guard);

    group.finish();

    let (pairs, reads) = random_workload(random_map_keys(mode));
    let present: std::collections::HashSet<u64> = pairs.iter().map(|&(k, _)| k).collect();
    let hits = reads.iter().filter(|k| present.contains(k)).count();
    drop(present);
    let mut group = c.benchmark_group("get-random");
    each_peer(&mut RandomGetBench {
        group: &mut group,
        pairs: &pairs,
        reads: &reads,
        hits,
    });
    group.finish();
    c.final_summary();
}
