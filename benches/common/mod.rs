//! Shared by every benchmark binary: the size knob, the hasher, key generation, and the harness
//! that runs one timed section on several threads.
//!
//! Each bench binary compiles this module as its own `mod common` and uses only part of it,
//! hence the `allow`. (It stays here rather than in testkit: it wraps the peer maps and
//! criterion, which the tests and fuzz targets must not depend on.)
#![allow(dead_code)]

pub mod peers;

use std::env;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The size knob
// ---------------------------------------------------------------------------------------------

/// How much work a run does, from the `SNAPMAP_BENCH` environment variable.
///
/// `full` (the default) is the measurement the report is made from; `quick` shrinks the work
/// and criterion's times so that the whole suite runs in a few minutes, for a smoke check of
/// the pipeline. Its numbers are not for publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Quick,
    Full,
}

impl Mode {
    /// Reads `SNAPMAP_BENCH`; panics on a value that is neither `quick` nor `full`, so that a
    /// typo never silently runs the wrong size.
    pub fn from_env() -> Self {
        match env::var("SNAPMAP_BENCH") {
            Err(env::VarError::NotPresent) => Mode::Full,
            Ok(value) => match value.as_str() {
                "quick" => Mode::Quick,
                "full" | "" => Mode::Full,
                other => panic!("SNAPMAP_BENCH must be `quick` or `full`, not `{other}`"),
            },
            Err(err) => panic!("SNAPMAP_BENCH: {err}"),
        }
    }

    /// `"quick"` or `"full"`, as recorded in result files.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Quick => "quick",
            Mode::Full => "full",
        }
    }

    /// Picks the value for this mode.
    pub fn pick<T>(self, quick: T, full: T) -> T {
        match self {
            Mode::Quick => quick,
            Mode::Full => full,
        }
    }
}

/// The thread counts every concurrent workload runs at: `SNAPMAP_BENCH_THREADS` (a comma-separated
/// list) or 1, 2 and 4. On a 2-core machine, 4 threads oversubscribe the cores on purpose.
pub fn thread_counts() -> Vec<usize> {
    match env::var("SNAPMAP_BENCH_THREADS") {
        Ok(list) => list
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .ok()
                    .filter(|&n: &usize| n > 0)
                    .unwrap_or_else(|| panic!("SNAPMAP_BENCH_THREADS: bad thread count `{n}`"))
            })
            .collect(),
        Err(_) => vec![1, 2, 4],
    }
}

/// Criterion timing for one bench binary: `(warm-up, measurement, samples)` for each mode.
/// Options given on the command line (`--warm-up-time`, `--measurement-time`, `--sample-size`,
/// `--quick`, `--test`) still override these, because criterion applies them afterwards.
pub fn criterion_config(
    mode: Mode,
    quick: (f64, f64, usize),
    full: (f64, f64, usize),
) -> criterion::Criterion {
    let (warm_up, measurement, samples) = mode.pick(quick, full);
    criterion::Criterion::default()
        .warm_up_time(Duration::from_secs_f64(warm_up))
        .measurement_time(Duration::from_secs_f64(measurement))
        .sample_size(samples)
        // Fewer bootstrap resamples than the default 100,000: the analysis of ~600 points
        // would otherwise cost minutes, and the report uses point estimates.
        .nresamples(10_000)
        .without_plots()
}

// ---------------------------------------------------------------------------------------------
// Command line of the benches that do not use criterion
// ---------------------------------------------------------------------------------------------

/// What `cargo bench` asked of a bench binary that has its own `main`.
#[derive(Debug)]
pub struct Args {
    /// `--test` (as in `cargo bench -- --test`): run every case once at a tiny size, write nothing.
    pub test: bool,
    /// `--list`: print the case names and exit.
    pub list: bool,
    /// Positional arguments: run only the cases whose name contains one of them.
    pub filters: Vec<String>,
}

impl Args {
    /// Parses the arguments the way the criterion benches see them; unknown flags (such as the
    /// `--bench` that cargo adds) are ignored.
    pub fn parse() -> Self {
        let mut args = Args {
            test: false,
            list: false,
            filters: Vec::new(),
        };
        for arg in env::args().skip(1) {
            match arg.as_str() {
                "--test" => args.test = true,
                "--list" => args.list = true,
                flag if flag.starts_with('-') => {}
                filter => args.filters.push(filter.to_owned()),
            }
        }
        args
    }

    /// Whether the case `name` passes the filters.
    pub fn wants(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }
}

/// The directory the benches without criterion write their JSON into: `SNAPMAP_BENCH_OUT`, else
/// `$CARGO_TARGET_DIR/bench-results`, else `target/bench-results` (cargo runs benches from the
/// package root).
pub fn out_dir() -> std::path::PathBuf {
    if let Some(dir) = env::var_os("SNAPMAP_BENCH_OUT") {
        return dir.into();
    }
    let target = env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into());
    std::path::PathBuf::from(target).join("bench-results")
}

/// Writes `json` to `file` in [`out_dir`] and says where.
pub fn write_result(file: &str, json: &str) {
    let dir = out_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let path = dir.join(file);
    std::fs::write(&path, json).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    println!("wrote {}", path.display());
}

// ---------------------------------------------------------------------------------------------
// Hashing and keys
// ---------------------------------------------------------------------------------------------

/// The one hasher every map in every comparison uses: foldhash's fast hasher with a fixed seed.
/// A fast hasher keeps hashing from hiding the differences between the maps, and a fixed seed
/// makes runs repeatable.
pub type Hasher = foldhash::fast::FixedState;

/// A new [`Hasher`]; every map gets an identical one.
pub fn hasher() -> Hasher {
    foldhash::fast::FixedState::with_seed(0x5eed_0f5a_a9ab_cdef)
}

/// A bijection on `u64` (the splitmix64 finalizer): distinct inputs give distinct, well-spread
/// keys, so per-thread ranges of inputs give disjoint random-looking keys.
pub const fn scramble(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The integration tests' seeded xorshift64* generator: repeatable workloads, no extra
/// dependency.
pub use testkit::XorShift as Rng;

/// Fisher-Yates shuffle of `items`, driven by `rng`.
pub fn shuffle<T>(rng: &mut Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

// ---------------------------------------------------------------------------------------------
// Running a timed section on several threads
// ---------------------------------------------------------------------------------------------

/// Runs `prepare(t)` and then `work(t, state)` on `threads` threads. The threads wait for each
/// other after `prepare` (which is not timed); the result is the time from the first thread
/// starting `work` to the last one finishing it. Thread start-up and exit are not timed.
pub fn timed_parallel<S, P, W>(threads: usize, prepare: P, work: W) -> Duration
where
    P: Fn(usize) -> S + Sync,
    W: Fn(usize, S) + Sync,
{
    let barrier = Barrier::new(threads);
    let (barrier, prepare, work) = (&barrier, &prepare, &work);
    let spans: Vec<(Instant, Instant)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let state = prepare(t);
                    barrier.wait();
                    let start = Instant::now();
                    work(t, state);
                    (start, Instant::now())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a benchmark thread panicked"))
            .collect()
    });
    let first_start = spans
        .iter()
        .map(|s| s.0)
        .min()
        .expect("at least one thread");
    let last_end = spans
        .iter()
        .map(|s| s.1)
        .max()
        .expect("at least one thread");
    last_end - first_start
}

/// A shared pool of `total` operations that threads draw from in batches, like Go's
/// `testing.PB`: a thread that gets less CPU time simply does fewer of them, so the total is
/// always exactly `total` and no thread waits idle for a slow one at the end.
#[derive(Debug)]
pub struct OpPool {
    claimed: AtomicU64,
    total: u64,
    grain: u64,
}

impl OpPool {
    /// A pool of `total` operations for `threads` threads.
    pub fn new(total: u64, threads: usize) -> Self {
        // Batches small enough to balance the threads, large enough that the shared counter is
        // touched about once per thousand operations.
        let grain = (total / (threads as u64 * 16)).clamp(1, 1024);
        Self {
            claimed: AtomicU64::new(0),
            total,
            grain,
        }
    }

    /// A thread's view of the pool.
    pub fn budget(&self) -> Budget<'_> {
        Budget {
            pool: self,
            left: 0,
        }
    }
}

/// One thread's share of an [`OpPool`]; `next` is Go's `pb.Next()`.
#[derive(Debug)]
pub struct Budget<'a> {
    pool: &'a OpPool,
    left: u64,
}

impl Budget<'_> {
    /// Takes one operation; `false` once the pool is empty.
    #[inline]
    pub fn next(&mut self) -> bool {
        if self.left == 0 {
            let start = self.pool.claimed.fetch_add(self.pool.grain, Relaxed);
            if start >= self.pool.total {
                return false;
            }
            self.left = self.pool.grain.min(self.pool.total - start);
        }
        self.left -= 1;
        true
    }
}
