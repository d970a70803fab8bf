//! Helpers shared by the integration tests: drop-counting keys and values, keys whose `Hash` or
//! `Eq` panic, values whose `Drop` panics, epoch flushing and a small seeded PRNG.
//!
//! Each test binary uses only part of this module.
#![allow(dead_code)]

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread;
use std::time::{Duration, Instant};

use snapmap::SnapMap;

/// How long [`settle`] waits for deferred reclamation before giving up.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Prefix of every panic message the tests raise on purpose; the hook installed by
/// [`quiet_intentional_panics`] keeps those off stderr.
pub const TRAP: &str = "intentional test panic";

// ---------------------------------------------------------------------------------------------
// Epoch flushing
// ---------------------------------------------------------------------------------------------

thread_local! {
    /// A map kept only to obtain guards through the public API.
    static PINNER: SnapMap<u8, u8> = SnapMap::new();
}

/// Pins this thread repeatedly and flushes its deferred garbage to the global collector, which
/// advances the epoch and runs destructors whose objects no guard can still see.
pub fn flush_epoch() {
    PINNER.with(|pinner| {
        // Under Miri, where each flush is costly, fewer per round; `settle` loops anyway.
        for _ in 0..if cfg!(miri) { 4 } else { 64 } {
            pinner.guard().flush();
        }
    });
}

/// Flushes the epoch, sleeping briefly between rounds, until `done` holds or
/// [`SETTLE_TIMEOUT`] passes. Returns the last result of `done`; callers follow up with an
/// exact assertion so a timeout reports the real numbers.
pub fn settle(mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        flush_epoch();
        if done() {
            return true;
        }
        if start.elapsed() > SETTLE_TIMEOUT {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

// ---------------------------------------------------------------------------------------------
// Drop accounting
// ---------------------------------------------------------------------------------------------

/// Counts the objects created and dropped for one test, and remembers which ids were dropped so
/// that a second drop of the same object is detected.
#[derive(Debug, Default)]
pub struct Tracker {
    created: AtomicUsize,
    dropped: AtomicUsize,
    double_drops: AtomicUsize,
    dropped_ids: Mutex<HashSet<usize>>,
}

impl Tracker {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }

    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }

    /// Objects created and not yet dropped.
    pub fn live(&self) -> usize {
        self.created() - self.dropped()
    }

    pub fn double_drops(&self) -> usize {
        self.double_drops.load(Ordering::SeqCst)
    }

    fn register(&self) -> usize {
        self.created.fetch_add(1, Ordering::SeqCst)
    }

    fn record_drop(&self, id: usize) {
        // A poisoned lock only means another drop panicked while holding it; the set is intact.
        let fresh = self
            .dropped_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id);
        if fresh {
            self.dropped.fetch_add(1, Ordering::SeqCst);
        } else {
            self.double_drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Waits for deferred reclamation until exactly `live` objects remain, then asserts it, and
    /// asserts that nothing was dropped twice.
    #[track_caller]
    pub fn assert_live(&self, what: &str, live: usize) {
        settle(|| self.live() <= live);
        assert_eq!(self.double_drops(), 0, "{what}: objects dropped twice");
        assert_eq!(
            self.live(),
            live,
            "{what}: created {} dropped {}",
            self.created(),
            self.dropped()
        );
    }

    /// Every object ever created has been dropped exactly once.
    #[track_caller]
    pub fn assert_all_dropped(&self, what: &str) {
        self.assert_live(what, 0);
    }
}

const ALIVE: u64 = 0x5AFE_5AFE_5AFE_5AFE;
const DEAD: u64 = 0xDEAD_DEAD_DEAD_DEAD;

/// An object registered with a [`Tracker`]: counts its creation, its drop, and flags a second
/// drop. It also carries a canary that its drop overwrites, so that reading a value after it was
/// dropped is likely to be caught by [`Tracked::check`].
#[derive(Debug)]
pub struct Tracked {
    id: usize,
    canary: u64,
    tracker: Arc<Tracker>,
}

impl Tracked {
    pub fn new(tracker: &Arc<Tracker>) -> Self {
        Self {
            id: tracker.register(),
            canary: ALIVE,
            tracker: Arc::clone(tracker),
        }
    }

    /// Panics if this object has already been dropped.
    #[track_caller]
    pub fn check(&self) {
        assert_eq!(self.canary, ALIVE, "use of a dropped object");
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        self.check();
        Self::new(&self.tracker)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        // Volatile so that the store survives optimization even though the object dies here.
        // SAFETY: `self.canary` is a valid, aligned, initialized field of `self`.
        unsafe { std::ptr::write_volatile(&mut self.canary, DEAD) };
        self.tracker.record_drop(self.id);
    }
}

/// A key counted by a [`Tracker`]; hashes and compares like its `u64`, so maps keyed by it can be
/// queried with `&u64`.
#[derive(Debug, Clone)]
pub struct DropKey {
    pub k: u64,
    tracked: Tracked,
}

impl DropKey {
    pub fn new(k: u64, tracker: &Arc<Tracker>) -> Self {
        Self {
            k,
            tracked: Tracked::new(tracker),
        }
    }
}

impl Hash for DropKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.tracked.check();
        self.k.hash(state);
    }
}

impl PartialEq for DropKey {
    fn eq(&self, other: &Self) -> bool {
        self.k == other.k
    }
}

impl Eq for DropKey {}

impl std::borrow::Borrow<u64> for DropKey {
    fn borrow(&self) -> &u64 {
        self.tracked.check();
        &self.k
    }
}

/// A value counted by a [`Tracker`]. Equality compares `v` only. With `panic_on_drop` set, its
/// `Drop` panics after recording the drop.
#[derive(Debug)]
pub struct DropVal {
    v: u64,
    panic_on_drop: bool,
    tracked: Tracked,
}

impl DropVal {
    pub fn new(v: u64, tracker: &Arc<Tracker>) -> Self {
        Self {
            v,
            panic_on_drop: false,
            tracked: Tracked::new(tracker),
        }
    }

    /// A value whose `Drop` panics.
    pub fn panicking(v: u64, tracker: &Arc<Tracker>) -> Self {
        let mut value = Self::new(v, tracker);
        value.panic_on_drop = true;
        value
    }

    /// The payload, checking that the value has not been dropped.
    #[track_caller]
    pub fn v(&self) -> u64 {
        self.tracked.check();
        self.v
    }
}

impl Clone for DropVal {
    fn clone(&self) -> Self {
        Self::new(self.v(), &self.tracked.tracker)
    }
}

impl PartialEq for DropVal {
    fn eq(&self, other: &Self) -> bool {
        self.v() == other.v()
    }
}

impl Drop for DropVal {
    fn drop(&mut self) {
        if self.panic_on_drop && !thread::panicking() {
            // `tracked` is still dropped (and counted) while this panic unwinds.
            panic!("{TRAP}: value drop");
        }
    }
}

/// What a [`TrapKey`] does when the map hashes or compares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trap {
    /// Behaves normally.
    None,
    /// `Hash::hash` panics.
    Hash,
    /// `PartialEq::eq` panics whenever this key is one of the two compared.
    Eq,
    /// `PartialEq::eq` panics when this key is compared with an equal one (the map has found
    /// the key's entry), and answers normally otherwise.
    EqOnMatch,
}

/// A counted key whose `Hash` or `Eq` can panic. All trap keys hash alike, so a lookup compares
/// the key it looks for with every trap key in the table until it finds an equal one.
#[derive(Debug)]
pub struct TrapKey {
    pub id: u64,
    pub trap: Trap,
    tracked: Tracked,
}

impl TrapKey {
    pub fn new(id: u64, trap: Trap, tracker: &Arc<Tracker>) -> Self {
        Self {
            id,
            trap,
            tracked: Tracked::new(tracker),
        }
    }
}

impl Hash for TrapKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.tracked.check();
        if self.trap == Trap::Hash {
            panic!("{TRAP}: key hash");
        }
        0u64.hash(state);
    }
}

impl PartialEq for TrapKey {
    fn eq(&self, other: &Self) -> bool {
        self.tracked.check();
        other.tracked.check();
        let equal = self.id == other.id;
        for trap in [self.trap, other.trap] {
            if trap == Trap::Eq || (trap == Trap::EqOnMatch && equal) {
                panic!("{TRAP}: key eq");
            }
        }
        equal
    }
}

impl Eq for TrapKey {}

// ---------------------------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------------------------

/// Installs (once per process) a panic hook that stays silent for the panics the tests raise on
/// purpose (messages starting with [`TRAP`]) and hands every other panic to the previous hook, so
/// real failures are still reported in full. It stays installed: tests run in parallel threads
/// of one process, so restoring the hook from one test would race with the others.
pub fn quiet_intentional_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            if !message.is_some_and(|m| m.starts_with(TRAP)) {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, expecting it to panic.
#[track_caller]
pub fn expect_panic<R>(what: &str, f: impl FnOnce() -> R) {
    let result = panic::catch_unwind(panic::AssertUnwindSafe(f));
    assert!(result.is_err(), "{what}: expected a panic");
}

/// Scales a workload's iteration count down under Miri, which runs code thousands of times
/// slower; natively it is returned unchanged.
pub const fn scaled(n: u64) -> u64 {
    if cfg!(miri) {
        n / 100 + 1
    } else {
        n
    }
}

// ---------------------------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------------------------

/// A small seeded xorshift64* generator: reproducible workloads without extra dependencies.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        // Mix the seed so that small consecutive seeds give unrelated streams; never zero.
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..n` for test workloads; `n` must be non-zero.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}
