//! Shared pieces of snapmap's loom models (`tests/*.rs`): a model runner that refuses a silent
//! pass, maps with a fixed hasher, drop-counted keys and values, and epoch flushing.
//!
//! Everything here exists only in a build with `--cfg loom --cfg crossbeam_loom`; without it
//! the crate is empty. See `README.md` for the commands.
#![cfg(loom)]
#![deny(missing_docs, unsafe_code)]

use std::collections::hash_map::DefaultHasher;
use std::fmt::Debug;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use loom::sync::Arc as LoomArc;
use loom::thread::{self, JoinHandle};
use snapmap::SnapMap;

/// The preemption bound used when `LOOM_MAX_PREEMPTIONS` is not set.
pub const DEFAULT_PREEMPTIONS: usize = 2;

/// A map with a fixed hasher. loom replays every execution from the start and expects the same
/// sequence of operations each time, so table layouts (and the order in which a dirty build or
/// a compaction visits entries) must not change between executions, as `RandomState`'s would.
pub type Map<K, V> = SnapMap<K, V, BuildHasherDefault<DefaultHasher>>;

/// Explores every interleaving of `model` within the preemption bound, and fails if there was
/// only one: a model with two threads that loom cannot tell apart means the build is not
/// instrumented (for instance crossbeam-epoch built without `--cfg crossbeam_loom`), and its
/// pass would be silent and false.
///
/// Prints the number of interleavings explored and how long they took.
pub fn explore<F>(name: &str, model: F)
where
    F: Fn() + Sync + Send + 'static,
{
    explore_then(name, model, |()| {});
}

/// Like [`explore`], and also hands what each execution of `model` returned to `verify`, once
/// that execution has ended completely: its threads gone, their epoch participants unregistered,
/// the global collector dropped and so every deferred destructor run.
///
/// Inside an execution, a thread cannot wait for the epoch to free what others retired: loom
/// may let it read another participant's stale "pinned" epoch for ever. Checks of what was
/// reclaimed therefore run here, at the start of the next execution and after the last one.
/// `T` must not hold loom objects, which do not outlive their execution.
pub fn explore_then<T, F, C>(name: &str, model: F, verify: C)
where
    T: Send + 'static,
    F: Fn() -> T + Sync + Send + 'static,
    C: Fn(T) + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    // Each slot of a dirty index is two atomics, so building and copying one takes many of
    // loom's branches; 1,000 (loom's default) is too few for a model that grows an index.
    builder.max_branches = 20_000;
    let bound = *builder.preemption_bound.get_or_insert(DEFAULT_PREEMPTIONS);
    let executions = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(Mutex::new(None));
    let verify = Arc::new(verify);
    let start = Instant::now();
    builder.check({
        let (executions, finished, verify) = (executions.clone(), finished.clone(), verify.clone());
        move || {
            executions.fetch_add(1, Relaxed);
            if let Some(previous) = finished.lock().unwrap().take() {
                verify(previous);
            }
            let outcome = model();
            *finished.lock().unwrap() = Some(outcome);
        }
    });
    if let Some(last) = finished.lock().unwrap().take() {
        verify(last);
    }
    let executions = executions.load(Relaxed);
    println!(
        "loom model {name}: {executions} interleavings at preemption bound {bound} in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    assert!(
        executions > 1,
        "loom model {name} explored a single interleaving: the build is not instrumented \
         (run it with RUSTFLAGS=\"--cfg loom --cfg crossbeam_loom\")"
    );
}

/// The number of shards of the maps the models build: `SNAPMAP_LOOM_SHARDS`, or 1 (Go's layout:
/// one snapshot, one dirty index, one lock). With more shards the models' keys spread over them,
/// and the assertions that count one shard's promotions or compactions are skipped.
pub fn shards() -> usize {
    std::env::var("SNAPMAP_LOOM_SHARDS")
        .ok()
        .and_then(|shards| shards.parse().ok())
        .unwrap_or(1)
}

/// Whether the models run on one shard, where a model's keys share one snapshot and counters.
pub fn one_shard() -> bool {
    shards() == 1
}

/// An empty map with the fixed hasher and [`shards`] shards.
pub fn new_map<K, V>() -> Map<K, V> {
    SnapMap::builder()
        .shards(shards())
        .hasher(BuildHasherDefault::default())
        .build()
}

/// A map whose read snapshot holds `entries` and that has no dirty table, so that reads of
/// these keys are lock-free and the next new key builds a dirty table.
pub fn promoted<K, V>(entries: impl IntoIterator<Item = (K, V)>) -> Map<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    let map = new_map();
    let guard = map.guard();
    for (key, value) in entries {
        map.insert(key, value, &guard);
    }
    // Lookups answered by the dirty index promote it once they add up to the shard's size.
    let keys: Vec<&K> = map.keys(&guard).collect();
    while map.stats().amended {
        for key in &keys {
            assert!(map.get::<K>(key, &guard).is_some());
        }
    }
    let stats = map.stats();
    assert!(
        !stats.amended && stats.dirty_len == 0,
        "not promoted: {stats}"
    );
    map
}

/// The map's contents, sorted; promotes the dirty table (as `iter` does).
pub fn contents<K, V>(map: &Map<K, V>) -> Vec<(K, V)>
where
    K: Hash + Eq + Ord + Clone + Send + Sync + 'static,
    V: Ord + Clone + Send + Sync + 'static,
{
    let guard = map.guard();
    let mut all: Vec<_> = map
        .iter(&guard)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    all.sort();
    all
}

/// Pins and flushes this thread's epoch participant a few times: each flush hands the thread's
/// deferred destructors to the collector, advances the epoch if no other participant seems
/// pinned in an older one, and runs the destructors that no guard can reach any more.
///
/// Called by a model's thread while others may hold guards, this lets loom explore reclamation
/// racing with readers (in the executions where the epoch can advance).
pub fn flush_epoch(rounds: usize) {
    for _ in 0..rounds {
        crossbeam_epoch::pin().flush();
    }
}

/// Counts drops per object, so that a leak (no drop) and a double drop both show.
///
/// The counters are plain `std` atomics on purpose: they are bookkeeping of the model, not part
/// of the protocol, so loom must not branch on them, and they outlive the execution, so that
/// [`explore_then`] can check them once everything retired has been freed.
#[derive(Debug)]
pub struct Ledger {
    drops: Vec<AtomicUsize>,
}

impl Ledger {
    /// A ledger for objects `0..objects`.
    pub fn new(objects: usize) -> Arc<Self> {
        Arc::new(Ledger {
            drops: (0..objects).map(|_| AtomicUsize::new(0)).collect(),
        })
    }

    /// Panics unless every object was dropped exactly once.
    pub fn assert_each_dropped_once(&self) {
        let drops: Vec<_> = self.drops.iter().map(|d| d.load(Relaxed)).collect();
        assert!(
            drops.iter().all(|&d| d == 1),
            "drops per object (expected exactly one each): {drops:?}"
        );
    }
}

/// A key or value that records its drop in a [`Ledger`]. Equality and hashing look only at
/// `label`, so several objects may stand for the same key.
#[derive(Debug)]
pub struct Tracked {
    /// What the object stands for: the key, or the value.
    pub label: u8,
    id: usize,
    ledger: Arc<Ledger>,
}

impl Tracked {
    /// Object `id` of `ledger`, standing for `label`.
    pub fn new(label: u8, id: usize, ledger: &Arc<Ledger>) -> Self {
        Tracked {
            label,
            id,
            ledger: ledger.clone(),
        }
    }
}

impl PartialEq for Tracked {
    fn eq(&self, other: &Self) -> bool {
        self.label == other.label
    }
}

impl Eq for Tracked {}

impl Hash for Tracked {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.label.hash(state);
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.ledger.drops[self.id].fetch_add(1, Relaxed);
    }
}

/// Asserts that `outcome` is one of the `allowed` ones (the linearizations of a race).
#[track_caller]
pub fn assert_one_of<T: PartialEq + Debug>(outcome: T, allowed: &[T]) {
    assert!(
        allowed.contains(&outcome),
        "outcome {outcome:?} is none of the allowed {allowed:?}"
    );
}

/// Runs `f` on a new loom thread with its own handle to `map`.
pub fn spawn_on<K, V, T, F>(map: &LoomArc<Map<K, V>>, f: F) -> JoinHandle<T>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
    T: Send + 'static,
    F: FnOnce(&Map<K, V>) -> T + Send + 'static,
{
    let map = map.clone();
    thread::spawn(move || f(&map))
}

/// The compaction floor of a loom build: the map compacts once it has more than
/// `max(COMPACTION_FLOOR, len)` tombstones (64 instead of 2 in a normal build).
pub const COMPACTION_FLOOR: usize = 2;

/// Asserts the promise on tombstones that holds once no write is in flight: at most
/// `max(COMPACTION_FLOOR, len)` deleted keys are still indexed.
#[track_caller]
pub fn assert_tombstones_bounded<K, V>(map: &Map<K, V>)
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    let stats = map.stats();
    assert!(
        stats.tombstones <= COMPACTION_FLOOR.max(stats.len),
        "more than max({COMPACTION_FLOOR}, len) tombstones once writes stopped: {stats}"
    );
}

/// Compactions so far. Models use it only to check that their set-up reached (or did not yet
/// reach) a compaction, so that the model exercises the race it claims to.
pub fn compactions<K, V>(map: &Map<K, V>) -> u64
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    map.stats().compactions
}

/// Promotions so far; see [`compactions`] for what models may use it for.
pub fn promotions<K, V>(map: &Map<K, V>) -> u64
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    map.stats().promotions
}

/// A model value whose every read is a tracked loom access, and whose drop is a tracked write.
///
/// The map tracks a value only while it looks the value up (inside its own cell's `with`); a
/// reference handed out and read later is not seen by loom. Reading a `Probe` through
/// [`Probe::read`] *after* another thread's removal, overwrite or compaction makes that later
/// use visible: if the value was freed without waiting for the reader's guard, its drop (a
/// `with_mut`) and the read are unordered, and loom reports a causality violation.
pub struct Probe {
    cell: loom::cell::UnsafeCell<u32>,
}

// SAFETY: the cell is written only by `drop`, which has exclusive access; every other access is
// a read, and loom checks that each read is ordered with respect to that write.
#[allow(unsafe_code)]
unsafe impl Sync for Probe {}

impl Probe {
    /// A probe holding `value`.
    pub fn new(value: u32) -> Self {
        Probe {
            cell: loom::cell::UnsafeCell::new(value),
        }
    }

    /// Reads the value: a tracked access, reported if it races the probe's drop.
    pub fn read(&self) -> u32 {
        // SAFETY: the cell is only written by `drop`; loom reports a read that is not ordered
        // with respect to it.
        #[allow(unsafe_code)]
        self.cell.with(|value| unsafe { *value })
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        // The end of the value's life, as a write: an unordered read anywhere is reported.
        self.cell.with_mut(|_| ());
    }
}

impl Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Probe({})", self.read())
    }
}

impl Clone for Probe {
    fn clone(&self) -> Self {
        Probe::new(self.read())
    }
}

impl PartialEq for Probe {
    fn eq(&self, other: &Self) -> bool {
        self.read() == other.read()
    }
}

impl Eq for Probe {}

impl PartialOrd for Probe {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Probe {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.read().cmp(&other.read())
    }
}

/// The map's contents as plain numbers, sorted; promotes the dirty table (as `iter` does).
pub fn probe_contents<K>(map: &Map<K, Probe>) -> Vec<(K, u32)>
where
    K: Hash + Eq + Ord + Clone + Send + Sync + 'static,
{
    contents(map)
        .into_iter()
        .map(|(k, v)| (k, v.read()))
        .collect()
}

/// A map like [`promoted`] whose values are [`Probe`]s of `key`'s number.
pub fn promoted_probes(keys: impl IntoIterator<Item = u8>) -> Map<u8, Probe> {
    promoted(keys.into_iter().map(|k| (k, Probe::new(u32::from(k)))))
}

/// Keys 0..4 in the snapshot as [`Probe`]s, of which 0 and 1 are removed: one more removal
/// makes three tombstones for at most one live key, which compacts (the floor is 2).
pub fn probes_one_removal_from_compaction() -> Map<u8, Probe> {
    let map = promoted_probes(0..4);
    for k in 0..2 {
        assert_eq!(map.pin().remove(&k).map(Probe::read), Some(u32::from(k)));
    }
    if one_shard() {
        assert_eq!(compactions(&map), 0, "the set-up compacted");
    }
    map
}

/// A thread that removes `key` (compacting, if that removal is the one due) and then tries to
/// reclaim what it retired while other threads may still hold guards; returns what it removed.
pub fn spawn_removal(map: &LoomArc<Map<u8, Probe>>, key: u8) -> JoinHandle<Option<u32>> {
    spawn_on(map, move |map| {
        let removed = map.pin().remove(&key).map(Probe::read);
        flush_epoch(2);
        removed
    })
}
