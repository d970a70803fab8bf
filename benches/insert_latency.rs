//! The tail latency of inserting new keys into a growing map: p50, p99, p99.9 and the maximum,
//! per peer. Each insert is timed on its own, so the rare slow ones (a table resize, snapmap's
//! O(n) rebuild of its dirty table after a promotion) show up instead of averaging away.
//!
//! One writer inserts `N` new random keys into an empty map, either alone or while one reader
//! thread keeps reading keys the writer has just inserted. The reader is what drives snapmap's
//! promotions (its misses), and with them the dirty-table rebuilds; the writer alone never
//! promotes.
//!
//! A second pass per peer (writer alone, not part of the percentiles above) reads the thread's
//! count of minor page faults between inserts, to tell the inserts that touched memory the
//! kernel had never mapped from those that did not: which share of the inserts took a page
//! fault, what those cost at the median, and the p99.9 of the others. The count comes from
//! `getrusage(RUSAGE_THREAD)` on Linux; elsewhere the pass is skipped.
//!
//! `N` is 1,000,000 in a full run and 200,000 with `SNAPMAP_BENCH=quick`; `--test` runs 2,000
//! and writes nothing. Results go to `insert_latency.json` in the bench output directory.
//! Each timing includes one `Instant::now()` pair, whose own median cost is recorded as
//! `timer_ns`.

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Instant;

use common::peers::{each_peer, Map, Visitor};
use common::{scramble, write_result, Args, Mode, Rng};

/// Percentiles of one peer's insert latencies.
struct Outcome {
    peer: &'static str,
    readers: usize,
    inserts: u64,
    reads: u64,
    sorted_ns: Vec<u64>,
}

impl Outcome {
    fn percentile(&self, p: f64) -> u64 {
        percentile(&self.sorted_ns, p)
    }

    fn mean(&self) -> f64 {
        self.sorted_ns.iter().sum::<u64>() as f64 / self.sorted_ns.len() as f64
    }

    fn json(&self) -> String {
        format!(
            r#"{{"peer": "{}", "readers": {}, "inserts": {}, "reads": {}, "mean_ns": {:.1}, "p50_ns": {}, "p99_ns": {}, "p999_ns": {}, "max_ns": {}}}"#,
            self.peer,
            self.readers,
            self.inserts,
            self.reads,
            self.mean(),
            self.percentile(0.5),
            self.percentile(0.99),
            self.percentile(0.999),
            self.sorted_ns[self.sorted_ns.len() - 1],
        )
    }

    fn print(&self) {
        println!(
            "{:<16} readers={} p50={:>6} ns  p99={:>7} ns  p99.9={:>8} ns  max={:>10} ns  (reader did {} gets)",
            self.peer,
            self.readers,
            self.percentile(0.5),
            self.percentile(0.99),
            self.percentile(0.999),
            self.sorted_ns[self.sorted_ns.len() - 1],
            self.reads,
        );
    }
}

/// Inserts `inserts` new keys into an empty `M`, timing each, with `readers` reader threads.
fn measure<M: Map>(inserts: u64, readers: usize) -> Outcome {
    trim_heap();
    let map = M::with_capacity(0);
    // Keys `scramble(0..published)` are in the map.
    let published = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let mut latencies = Vec::with_capacity(inserts as usize);
    let reads = thread::scope(|scope| {
        let reader_threads: Vec<_> = (0..readers)
            .map(|r| {
                let (map, published, done) = (&map, &published, &done);
                scope.spawn(move || {
                    let mut rng = Rng::new(r as u64);
                    let mut reads = 0u64;
                    while !done.load(Ordering::Relaxed) {
                        let n = published.load(Ordering::Acquire);
                        if n == 0 {
                            std::hint::spin_loop();
                            continue;
                        }
                        // One of the 64 most recent keys.
                        let i = n - 1 - rng.below(n.min(64));
                        assert!(map.get(scramble(i)).is_some(), "key {i} was published");
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();

        for i in 0..inserts {
            let key = scramble(i);
            let start = Instant::now();
            let new = map.insert(key, i);
            let elapsed = start.elapsed();
            assert!(new, "{}: key {i} was already present", M::NAME);
            latencies.push(elapsed.as_nanos() as u64);
            published.store(i + 1, Ordering::Release);
        }
        done.store(true, Ordering::Relaxed);
        reader_threads
            .into_iter()
            .map(|h| h.join().expect("reader panicked"))
            .sum()
    });
    latencies.sort_unstable();
    Outcome {
        peer: M::NAME,
        readers,
        inserts,
        reads,
        sorted_ns: latencies,
    }
}

/// How the inserts of one writer split by whether they took a page fault.
struct Faults {
    peer: &'static str,
    inserts: u64,
    /// Inserts during which the thread's count of minor page faults rose.
    faulting: Vec<u64>,
    /// The latencies of the others, sorted.
    clean: Vec<u64>,
}

impl Faults {
    fn json(&self) -> String {
        format!(
            r#"{{"peer": "{}", "inserts": {}, "faulting": {}, "faulting_p50_ns": {}, "clean_p999_ns": {}}}"#,
            self.peer,
            self.inserts,
            self.faulting.len(),
            percentile(&self.faulting, 0.5),
            percentile(&self.clean, 0.999),
        )
    }

    fn print(&self) {
        println!(
            "{:<16} faulting inserts={} ({:.2}%) p50 of those={} ns  p99.9 of the rest={} ns",
            self.peer,
            self.faulting.len(),
            self.faulting.len() as f64 * 100.0 / self.inserts as f64,
            percentile(&self.faulting, 0.5),
            percentile(&self.clean, 0.999),
        );
    }
}

/// The `p` quantile of sorted samples (0 for none).
fn percentile(sorted: &[u64], p: f64) -> u64 {
    match sorted.len() {
        0 => 0,
        n => sorted[(((n - 1) as f64) * p).round() as usize],
    }
}

/// The minor page faults this thread has taken so far, where the system counts them.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // `getrusage`
fn minor_faults() -> Option<u64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` writes a `rusage` into the buffer it is given, which is large enough.
    let status = unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) };
    // SAFETY: it succeeded, so the buffer is initialized (it was zeroed beforehand anyway).
    (status == 0).then(|| unsafe { usage.assume_init() }.ru_minflt as u64)
}

#[cfg(not(target_os = "linux"))]
fn minor_faults() -> Option<u64> {
    None
}

/// Gives the heap's free memory back to the system, so that every measurement starts from the
/// same state: without it, a peer measured after another would reuse pages the kernel has
/// already mapped, and take fewer page faults than the first one.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // `malloc_trim`
fn trim_heap() {
    // SAFETY: `malloc_trim` only returns free memory to the system; it touches no live block.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() {}

/// Inserts `inserts` new keys into an empty `M` on this thread, timing each and reading the
/// thread's page-fault count after each (outside the timing).
fn measure_faults<M: Map>(inserts: u64) -> Option<Faults> {
    trim_heap();
    // Written through before the first insert, so that recording a sample never faults (a
    // fault there would be counted against the next insert).
    let mut samples = vec![(u64::MAX, false); inserts as usize];
    let map = M::with_capacity(0);
    let mut before = minor_faults()?;
    for (i, sample) in (0..inserts).zip(&mut samples) {
        let start = Instant::now();
        let new = map.insert(scramble(i), i);
        let elapsed = start.elapsed().as_nanos() as u64;
        let after = minor_faults()?;
        *sample = (elapsed, after > before);
        assert!(new, "{}: key {i} was already present", M::NAME);
        before = after;
    }
    let (faulted, clean): (Vec<_>, Vec<_>) = samples.into_iter().partition(|&(_, fault)| fault);
    let mut faulting: Vec<u64> = faulted.into_iter().map(|(ns, _)| ns).collect();
    let mut clean: Vec<u64> = clean.into_iter().map(|(ns, _)| ns).collect();
    faulting.sort_unstable();
    clean.sort_unstable();
    Some(Faults {
        peer: M::NAME,
        inserts,
        faulting,
        clean,
    })
}

/// The median cost of an `Instant::now()` pair, included in every sample above.
fn timer_overhead_ns() -> u64 {
    let mut samples: Vec<u64> = (0..100_000)
        .map(|_| {
            let start = Instant::now();
            black_box(start.elapsed().as_nanos() as u64)
        })
        .collect();
    samples.sort_unstable();
    samples[samples.len() / 2]
}

struct InsertBench<'a> {
    args: &'a Args,
    inserts: u64,
    results: Vec<Outcome>,
    faults: Vec<Faults>,
}

impl Visitor for InsertBench<'_> {
    fn map<M: Map>(&mut self) {
        for readers in [0, 1] {
            let name = format!("insert-latency/{}/readers={readers}", M::NAME);
            if self.args.list {
                println!("{name}: benchmark");
            } else if self.args.wants(&name) {
                let outcome = measure::<M>(self.inserts, readers);
                outcome.print();
                self.results.push(outcome);
            }
        }
        let name = format!("insert-faults/{}", M::NAME);
        if self.args.list {
            println!("{name}: benchmark");
        } else if self.args.wants(&name) {
            if let Some(faults) = measure_faults::<M>(self.inserts) {
                faults.print();
                self.faults.push(faults);
            }
        }
    }
}

fn main() {
    let args = Args::parse();
    let mode = Mode::from_env();
    let inserts = if args.test {
        2_000
    } else {
        mode.pick(200_000, 1_000_000)
    };
    let mut bench = InsertBench {
        args: &args,
        inserts,
        results: Vec::new(),
        faults: Vec::new(),
    };
    each_peer(&mut bench);
    if args.list || args.test || bench.results.is_empty() {
        return;
    }
    let results: Vec<String> = bench.results.iter().map(Outcome::json).collect();
    let faults: Vec<String> = bench.faults.iter().map(Faults::json).collect();
    write_result(
        "insert_latency.json",
        &format!(
            "{{\"mode\": \"{}\", \"inserts\": {inserts}, \"timer_ns\": {}, \"results\": [\n  {}\n], \"faults\": [\n  {}\n]}}\n",
            mode.name(),
            timer_overhead_ns(),
            results.join(",\n  "),
            faults.join(",\n  ")
        ),
    );
}
