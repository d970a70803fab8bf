//! Unit tests of every public method of `SnapMap`, its `MapRef` handle and its trait impls,
//! through the public API only; one test binary, a module per topic.
//!
//! Tests of single-key behaviour run their body once for each internal state the key can be in
//! ([`states::with_map`]); that module is also the only one that reads `Stats` to prove a state
//! was reached (the `protocol` module tests the statistics themselves). Every test that writes
//! ends with `__check_invariants`, called when no write is in flight. Concurrent behaviour is
//! tested in `tests/stress.rs`.

mod bulk;
mod construction;
mod protocol;
mod reads;
mod states;
mod traits;
mod values;
mod writes;

use std::collections::BTreeMap;
use std::hash::{BuildHasher, DefaultHasher, Hasher};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use snapmap::SnapMap;

/// The map most tests use.
type Map = SnapMap<u32, u32>;

/// A key that none of the tests ever stores.
const ABSENT: u32 = u32::MAX;

/// Sorted contents of `map`, read through `iter`.
fn entries<S: BuildHasher>(map: &SnapMap<u32, u32, S>) -> Vec<(u32, u32)> {
    let guard = map.guard();
    let mut all: Vec<_> = map.iter(&guard).map(|(&k, &v)| (k, v)).collect();
    all.sort_unstable();
    all
}

/// Runs `body` on its own thread and fails if it does not finish in time, so that a deadlock
/// fails the test instead of hanging it. A panic in `body` is passed on.
fn within_deadline(body: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        body();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(Duration::from_secs(30)) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(RecvTimeoutError::Timeout) => panic!("deadlock: the test did not finish in 30 s"),
    }
}

/// The model's contents as sorted pairs.
fn pairs(model: &BTreeMap<u32, u32>) -> Vec<(u32, u32)> {
    model.iter().map(|(&k, &v)| (k, v)).collect()
}

/// A hasher builder with an identity, to check that the map keeps the one it was given.
#[derive(Debug, Clone, PartialEq)]
struct Seeded(u64);

impl BuildHasher for Seeded {
    type Hasher = DefaultHasher;

    fn build_hasher(&self) -> DefaultHasher {
        let mut hasher = DefaultHasher::new();
        hasher.write_u64(self.0);
        hasher
    }
}

/// A hasher builder that hashes every key to the same value.
#[derive(Debug, Clone, Default)]
struct Colliding;

/// The hasher of [`Colliding`].
struct ZeroHasher;

impl Hasher for ZeroHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, _bytes: &[u8]) {}
}

impl BuildHasher for Colliding {
    type Hasher = ZeroHasher;

    fn build_hasher(&self) -> ZeroHasher {
        ZeroHasher
    }
}
