//! Single-thread latency of a `get` that hits, against a std `HashMap` read with no
//! synchronization at all (the physical limit).
//!
//! Every map holds the same 4,096 random keys, is primed by reading each key twice, and is then
//! read in a fixed shuffled order. snapmap and papaya are measured both with a guard per call
//! (their adapters elsewhere) and with one guard reused for every call.

mod common;

use std::hint::black_box;

use common::peers::{each_peer, FromPairs, Lookup, Papaya, Snap, Visitor};
use common::{criterion_config, scramble, shuffle, Mode, Rng};
use criterion::{BenchmarkGroup, Criterion};

const KEYS: usize = 4096;

/// The map's entries, and the order in which they are read.
fn workload() -> (Vec<(u64, u64)>, Vec<u64>) {
    let pairs: Vec<(u64, u64)> = (0..KEYS as u64).map(|i| (scramble(i), i)).collect();
    let mut order: Vec<u64> = pairs.iter().map(|&(k, _)| k).collect();
    shuffle(&mut Rng::new(7), &mut order);
    (pairs, order)
}

/// A filled map after every key was read twice (the read-mostly steady state).
fn primed<L: Lookup + FromPairs>(pairs: &[(u64, u64)]) -> L {
    let map = L::from_pairs(pairs);
    for _ in 0..2 {
        for &(k, _) in pairs {
            assert!(map.get(k).is_some(), "{}: lost key {k}", L::NAME);
        }
    }
    map
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
    c.final_summary();
}
