//! Replays the fuzz targets' checked-in inputs (`fuzz/seeds/TARGET/` and
//! `fuzz/regressions/TARGET/`) through the targets' own checking code, on stable Rust.
//!
//! The checks live in `testkit::model`, which the fuzz targets call too, so a regression input
//! fails this test exactly as it failed the fuzzer. Inputs are decoded the way `libfuzzer-sys`
//! decodes them.
#![cfg(not(miri))] // reads files, and the concurrent target runs real threads

use std::fs;
use std::path::{Path, PathBuf};

use snapmap::Stats;
use testkit::arbitrary::Arbitrary;
use testkit::model::{concurrent, decode, differential, sequence, stats};

/// The checked-in inputs of `target`, with their paths, in a stable order.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut found = Vec::new();
    for kind in ["seeds", "regressions"] {
        let dir = fuzz.join(kind).join(target);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue; // a target without regressions has no directory for them
        };
        for entry in entries {
            let path = entry.expect("a readable corpus directory").path();
            let bytes = fs::read(&path).expect("a readable corpus file");
            found.push((path, bytes));
        }
    }
    found.sort();
    found
}

/// Runs `check` on every input of `target`; each must decode (a seed the fuzzer would reject
/// tests nothing). Returns how many ran.
fn replay<'a, T: Arbitrary<'a>>(
    target: &str,
    inputs: &'a [(PathBuf, Vec<u8>)],
    mut check: impl FnMut(&T),
) -> usize {
    for (path, bytes) in inputs {
        // Captured, and shown if the check below panics.
        println!("replaying {}", path.display());
        let input = decode::<T>(bytes)
            .unwrap_or_else(|| panic!("{}: not a {target} input", path.display()));
        check(&input);
    }
    inputs.len()
}

/// Adds up what the runs of a sequence target reached.
#[derive(Debug, Default)]
struct Reached {
    promotions: u64,
    dirty_builds: u64,
    compactions: u64,
}

impl Reached {
    fn add(&mut self, stats: &Stats) {
        self.promotions += stats.promotions;
        self.dirty_builds += stats.dirty_builds;
        self.compactions += stats.compactions;
    }

    /// The corpus drives the map through every transition of its protocol.
    fn assert_all(&self, target: &str) {
        assert!(
            self.promotions > 0 && self.dirty_builds > 0 && self.compactions > 0,
            "the {target} seeds miss a transition: {self:?}"
        );
    }
}

fn replay_sequences(target: &str, run: fn(&sequence::Input) -> Stats) {
    let inputs = inputs(target);
    let mut reached = Reached::default();
    let count = replay(target, &inputs, |input| reached.add(&run(input)));
    assert!(count > 0, "no {target} inputs found");
    reached.assert_all(target);
}

#[test]
fn differential_corpus() {
    replay_sequences("differential", differential::run);
}

#[test]
fn stats_corpus() {
    replay_sequences("stats", stats::run);
}

/// The `user_map` target's checks (a map decoded by snapmap's `Arbitrary` impl, then steps), the
/// same file the target includes.
#[cfg(feature = "arbitrary")]
#[path = "../fuzz/fuzz_targets/user_map_check.rs"]
mod user_map_check;

#[cfg(feature = "arbitrary")]
#[test]
fn user_map_corpus() {
    use user_map_check::{Map, Step};

    let inputs = inputs("user_map");
    let count = replay("user_map", &inputs, |(map, steps): &(Map, Vec<Step>)| {
        user_map_check::run(map.clone(), steps);
    });
    assert!(count > 0, "no user_map inputs found");
}

/// How often each concurrent input runs: interleavings differ from run to run.
const CONCURRENT_ROUNDS: usize = 3;

#[test]
fn concurrent_corpus() {
    let inputs = inputs("concurrent");
    let count = replay("concurrent", &inputs, |input| {
        for _ in 0..CONCURRENT_ROUNDS {
            concurrent::run(input);
        }
    });
    assert!(count > 0, "no concurrent inputs found");
}
