//! Keys and values that count their creations and drops, to check that the map drops every key
//! and value exactly once, and never reads one after dropping it; keys whose `Hash` or `Eq`
//! panic and values whose `Drop` panics.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::epoch::settle;
use crate::panics::TRAP;

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
    /// A tracker with nothing counted yet, to share between the objects it counts.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Objects created so far.
    pub fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }

    /// Objects dropped so far (each counted once).
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }

    /// Objects created and not yet dropped.
    pub fn live(&self) -> usize {
        self.created() - self.dropped()
    }

    /// Drops of objects that had already been dropped: always 0 in a correct map.
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
    /// A new object, counted by `tracker`.
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
    // The canary's store must survive optimization even though the object dies here, and only
    // a volatile write promises that.
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: `self.canary` is a valid, aligned, initialized field of `self`.
        unsafe { std::ptr::write_volatile(&mut self.canary, DEAD) };
        self.tracker.record_drop(self.id);
    }
}

/// A key counted by a [`Tracker`]; hashes and compares like its `u64`, so maps keyed by it can be
/// queried with `&u64`.
#[derive(Debug, Clone)]
pub struct DropKey {
    /// The key's identity: what it hashes and compares as.
    pub k: u64,
    tracked: Tracked,
}

impl DropKey {
    /// A key `k`, counted by `tracker`.
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
    /// A value `v`, counted by `tracker`.
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
    /// The key's identity: what it compares as (every trap key hashes alike).
    pub id: u64,
    /// What this key does when hashed or compared.
    pub trap: Trap,
    tracked: Tracked,
}

impl TrapKey {
    /// A key `id` with the trap `trap`, counted by `tracker`.
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
