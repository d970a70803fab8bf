//! The `concurrent` target: two to four threads, each running its own short list of operations
//! (up to four times over) on one shared map, with keys that all threads touch and keys that
//! only one thread owns.
//!
//! Interleavings differ from run to run, so the checks are the ones that hold whatever the
//! interleaving:
//! - every value the map hands out (during the run and after it) was written by some thread
//!   for that very key, and is still alive;
//! - a thread's operations on its own keys agree with a sequential model of that thread, as
//!   long as no thread runs `clear` (the only operation that reaches other threads' own keys);
//! - afterwards the map's invariants and statistics hold, `len` equals the number of keys `iter`
//!   yields, each key once, and the owned keys hold exactly what their owners' models say;
//! - once the map drops, every key and value ever created has been dropped exactly once.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::{Arc, Barrier};
use std::thread;

use arbitrary::{Arbitrary, Result, Unstructured};
use snapmap::{CompareExchangeError, Compute, Guard, OccupiedError, Operation, SnapMap};

use super::sequence::{Colliding, Hashing, Sip};
use super::stats::{assert_consistent, assert_settled};
use crate::drops::{DropKey, DropVal, Tracker};

/// Keys that every thread may touch: `0..SHARED_KEYS`.
pub const SHARED_KEYS: u64 = 8;
/// Keys owned by each thread; more than the compaction floor, so that one thread can leave
/// enough tombstones to compact.
pub const OWN_KEYS: u64 = 96;
/// The most threads an input runs.
pub const MAX_THREADS: usize = 4;
/// The most operations in one thread's list: a few, so that executions stay fast.
pub const MAX_OPS: usize = 24;
/// The most times each thread runs its list: repeating widens the window in which threads
/// overlap, at less cost than longer inputs.
pub const MAX_ROUNDS: usize = 4;

/// A key of an operation.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A shared key, `0..SHARED_KEYS` (modulo).
    Shared(u8),
    /// One of the thread's own keys, `0..OWN_KEYS` (modulo).
    Own(u8),
}

/// One operation of a thread.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `insert` of a new value.
    Insert(Target),
    /// `get`.
    Get(Target),
    /// `get_or_insert` of a new value.
    GetOrInsert(Target),
    /// `try_insert` of a new value.
    TryInsert(Target),
    /// `get_or_insert_with` making a new value.
    GetOrInsertWith(Target),
    /// `remove`.
    Remove(Target),
    /// `remove_if` accepting values whose payload has this parity.
    RemoveIf(Target, bool),
    /// `compare_exchange` to a new value, expecting the value just read (`true`) or a value
    /// nobody stored (`false`).
    CompareExchange(Target, bool),
    /// `update` to a new value.
    Update(Target),
    /// `retain`, dropping shared keys whose payload is divisible by `divisor % 4 + 2`.
    Retain(u8),
    /// `clear`.
    Clear,
    /// `iter`.
    Iter,
    /// `len`.
    Len,
    /// `stats`.
    Stats,
    /// Reads the key `dirty_len + 1` times, to promote the dirty table.
    MissBurst(Target),
    /// `insert` of the first `count % OWN_KEYS` own keys.
    FillOwn(u8),
    /// `remove` of the first `count % OWN_KEYS` own keys.
    RemoveOwn(u8),
    // Appended after the first campaign, so that the older variants keep their share.
    /// `compute` storing a new value, or removing the key if this says so and the value's
    /// payload is odd.
    Compute(Target, bool),
    /// `remove_entry`.
    RemoveEntry(Target),
}

/// A whole concurrent test case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The map's hasher.
    pub hashing: Hashing,
    /// How many times each thread runs its list, one to four.
    pub rounds: usize,
    /// One operation list per thread; two to four of them.
    pub threads: Vec<Vec<Op>>,
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let hashing = Hashing::arbitrary(u)?;
        let rounds = u.int_in_range(1..=MAX_ROUNDS)?;
        let count = u.int_in_range(2..=MAX_THREADS)?;
        let threads = (0..count)
            .map(|_| {
                let len = u.int_in_range(0..=MAX_OPS)?;
                (0..len).map(|_| Op::arbitrary(u)).collect()
            })
            .collect::<Result<_>>()?;
        Ok(Input {
            hashing,
            rounds,
            threads,
        })
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (3, None)
    }
}

impl Input {
    /// Whether some thread clears the map, which makes other threads' own keys unpredictable.
    fn clears(&self) -> bool {
        self.threads.iter().flatten().any(|op| *op == Op::Clear)
    }
}

/// Runs one input twice, on a map with the default shard count (more than one) and on a map of
/// one shard (Go's layout); panics (in whichever thread) on the first broken expectation.
pub fn run(input: &Input) {
    for shards in [None, Some(1)] {
        match input.hashing {
            Hashing::Sip => run_with(input, Sip::default(), shards),
            Hashing::Colliding => run_with(input, Colliding, shards),
        }
    }
}

/// Payloads: the key in the high half, then the writing thread, then that thread's counter.
fn payload(key: u64, thread: usize, seq: u64) -> u64 {
    debug_assert!(seq < 1 << 24);
    key << 32 | (thread as u64) << 24 | seq
}

fn payload_key(payload: u64) -> u64 {
    payload >> 32
}

/// Rejects a value that belongs to another key (or was dropped: `v()` checks a canary).
#[track_caller]
fn assert_belongs(key: u64, value: &DropVal) {
    assert_eq!(
        payload_key(value.v()),
        key,
        "a value stored for another key"
    );
}

fn run_with<S>(input: &Input, hasher: S, shards: Option<usize>)
where
    S: BuildHasher + Send + Sync + Clone + 'static,
{
    let tracker = Tracker::new();
    let map = match shards {
        None => SnapMap::with_hasher(hasher),
        Some(shards) => SnapMap::builder().shards(shards).hasher(hasher).build(),
    };
    let exact = !input.clears();
    let start = Barrier::new(input.threads.len());
    let workers: Vec<Worker> = thread::scope(|scope| {
        let handles: Vec<_> = (input.threads.iter().enumerate())
            .map(|(thread, ops)| {
                let mut worker = Worker::new(thread, &tracker, exact);
                let (map, start) = (&map, &start);
                scope.spawn(move || {
                    start.wait();
                    for _ in 0..input.rounds {
                        for op in ops {
                            worker.apply(map, op);
                        }
                    }
                    worker
                })
            })
            .collect();
        // A panic in a worker is a failed check: pass it on as it is.
        let joined = handles.into_iter().map(|handle| handle.join());
        joined
            .map(|result| result.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });

    map.__check_invariants();
    let stats = map.stats();
    assert_settled(&stats);
    assert_eq!(stats.len, map.len(), "{stats}");
    let written: HashSet<u64> = workers.iter().flat_map(|w| w.written.take()).collect();
    let mut seen = HashMap::new();
    for (key, value) in map.iter(&map.guard()) {
        assert_belongs(key.k, value);
        assert!(written.contains(&value.v()), "a value no thread stored");
        assert!(
            seen.insert(key.k, value.v()).is_none(),
            "iter yielded {} twice",
            key.k
        );
    }
    assert_eq!(seen.len(), map.len(), "len and the keys iter yields");
    if exact {
        for worker in &workers {
            let mut own: Vec<_> = (seen.iter())
                .filter(|&(&key, _)| worker.owns(key))
                .map(|(&key, &payload)| (key, payload))
                .collect();
            own.sort_unstable();
            let mut model: Vec<_> = worker.own.iter().map(|(&k, &v)| (k, v)).collect();
            model.sort_unstable();
            assert_eq!(own, model, "thread {}'s own keys", worker.thread);
        }
    }
    drop(map);
    // No guard may be pinned here: it would hold back the reclamation awaited below.
    tracker.assert_all_dropped("keys and values after the map dropped");
}

/// One thread's state: its counter of values made, what it wrote, and a model of its own keys.
struct Worker {
    thread: usize,
    tracker: Arc<Tracker>,
    /// Whether `own` predicts the thread's own keys exactly (no thread clears).
    exact: bool,
    seq: Cell<u64>,
    /// Payloads of the values this thread made to store.
    written: RefCell<Vec<u64>>,
    /// Own key → payload.
    own: HashMap<u64, u64>,
}

impl Worker {
    fn new(thread: usize, tracker: &Arc<Tracker>, exact: bool) -> Self {
        Worker {
            thread,
            tracker: Arc::clone(tracker),
            exact,
            seq: Cell::new(0),
            written: RefCell::new(Vec::new()),
            own: HashMap::new(),
        }
    }

    fn own_base(&self) -> u64 {
        SHARED_KEYS + self.thread as u64 * OWN_KEYS
    }

    fn owns(&self, key: u64) -> bool {
        (self.own_base()..self.own_base() + OWN_KEYS).contains(&key)
    }

    fn key_of(&self, target: Target) -> u64 {
        match target {
            Target::Shared(i) => u64::from(i) % SHARED_KEYS,
            Target::Own(i) => self.own_base() + u64::from(i) % OWN_KEYS,
        }
    }

    fn key(&self, key: u64) -> DropKey {
        DropKey::new(key, &self.tracker)
    }

    fn next_payload(&self, key: u64) -> u64 {
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        payload(key, self.thread, seq)
    }

    /// A new value for `key`, recorded as written.
    fn value(&self, key: u64) -> DropVal {
        let payload = self.next_payload(key);
        self.written.borrow_mut().push(payload);
        DropVal::new(payload, &self.tracker)
    }

    /// Whether the thread's model predicts `key`.
    fn predicts(&self, key: u64) -> bool {
        self.exact && self.owns(key)
    }

    /// Checks a result of an operation on `key` that returns one value at most: it belongs to
    /// the key, and for an own key it is the one the model says.
    #[track_caller]
    fn check(&self, key: u64, got: Option<&DropVal>, predicted: Option<u64>) {
        if let Some(value) = got {
            assert_belongs(key, value);
        }
        if self.predicts(key) {
            assert_eq!(got.map(DropVal::v), predicted, "own key {key}");
        }
    }

    fn apply<S: BuildHasher>(&mut self, map: &SnapMap<DropKey, DropVal, S>, op: &Op) {
        let guard = &map.guard();
        match *op {
            Op::Insert(target) => self.insert(map, self.key_of(target), guard),
            Op::Get(target) | Op::MissBurst(target) => {
                let k = self.key_of(target);
                let times = match op {
                    Op::MissBurst(_) => map.stats().dirty_len + 1,
                    _ => 1,
                };
                for _ in 0..times {
                    self.check(k, map.get(&k, guard), self.own.get(&k).copied());
                }
            }
            Op::GetOrInsert(target) => {
                let k = self.key_of(target);
                let value = self.value(k);
                let new = value.v();
                let got = map.get_or_insert(self.key(k), value, guard);
                let predicted = self.store_if_absent(k, new);
                self.check(k, Some(got), predicted);
            }
            Op::TryInsert(target) => {
                let k = self.key_of(target);
                let value = self.value(k);
                let new = value.v();
                match map.try_insert(self.key(k), value, guard) {
                    Ok(stored) => {
                        assert_eq!(stored.v(), new, "try_insert stored another value");
                        let predicted = self.store(k, new);
                        self.check(k, None, predicted);
                    }
                    Err(OccupiedError {
                        current,
                        not_inserted,
                    }) => {
                        assert_eq!(not_inserted.v(), new, "try_insert gave back another value");
                        self.check(k, Some(current), self.own.get(&k).copied());
                    }
                }
            }
            Op::GetOrInsertWith(target) => {
                let k = self.key_of(target);
                let calls = Cell::new(0);
                let made = Cell::new(None);
                let got = map.get_or_insert_with(
                    self.key(k),
                    || {
                        calls.set(calls.get() + 1);
                        let value = self.value(k);
                        made.set(Some(value.v()));
                        value
                    },
                    guard,
                );
                assert!(calls.get() <= 1, "get_or_insert_with called f twice");
                if self.predicts(k) {
                    assert_eq!(calls.get(), usize::from(!self.own.contains_key(&k)));
                }
                let predicted = match made.get() {
                    Some(new) => self.store_if_absent(k, new),
                    None => self.own.get(&k).copied(),
                };
                self.check(k, Some(got), predicted);
            }
            Op::Remove(target) => self.remove(map, self.key_of(target), guard),
            Op::RemoveIf(target, odd) => {
                let k = self.key_of(target);
                let accept = |value: &DropVal| (value.v() % 2 == 1) == odd;
                let judged = Cell::new(0);
                let removed = map.remove_if(
                    &k,
                    |value| {
                        assert_belongs(k, value);
                        judged.set(judged.get() + 1);
                        accept(value)
                    },
                    guard,
                );
                if let Some(value) = removed {
                    assert!(accept(value), "remove_if removed a rejected value");
                }
                let current = self.own.get(&k).copied();
                if self.predicts(k) {
                    assert_eq!(judged.get(), usize::from(current.is_some()));
                }
                let predicted = current.filter(|&v| (v % 2 == 1) == odd);
                if predicted.is_some() {
                    self.own.remove(&k);
                }
                self.check(k, removed, predicted);
            }
            Op::CompareExchange(target, with_current) => {
                let k = self.key_of(target);
                let read = map.get(&k, guard);
                self.check(k, read, self.own.get(&k).copied());
                let expected = match read {
                    Some(current) if with_current => current.clone(),
                    // A value equal to none stored: its payload is not recorded as written.
                    _ => DropVal::new(self.next_payload(k), &self.tracker),
                };
                let new = self.value(k);
                let new_payload = new.v();
                let result = map.compare_exchange(&k, &expected, new, guard);
                let predicted = self.own.get(&k).copied();
                match result {
                    Ok(previous) => {
                        assert_eq!(previous.v(), expected.v(), "exchanged an unexpected value");
                        self.check(k, Some(previous), predicted);
                        self.store(k, new_payload);
                    }
                    Err(CompareExchangeError { current, new }) => {
                        assert_eq!(new.v(), new_payload, "compare_exchange gave back another");
                        if let Some(current) = current {
                            assert_ne!(current.v(), expected.v(), "failed on a match");
                        }
                        self.check(k, current, predicted);
                        if self.predicts(k) {
                            assert_ne!(predicted, Some(expected.v()), "own key {k} not exchanged");
                        }
                    }
                }
            }
            Op::Update(target) => {
                let k = self.key_of(target);
                let calls = Cell::new(0);
                let last = Cell::new(None);
                let updated = map.update(
                    &k,
                    |current| {
                        assert_belongs(k, current);
                        calls.set(calls.get() + 1);
                        let value = self.value(k);
                        last.set(Some(value.v()));
                        value
                    },
                    guard,
                );
                if let Some(new) = updated {
                    assert_eq!(
                        Some(new.v()),
                        last.get(),
                        "update stored a stale result of f"
                    );
                }
                if self.predicts(k) {
                    let present = self.own.contains_key(&k);
                    assert_eq!(calls.get(), usize::from(present), "update of own key {k}");
                    assert_eq!(updated.is_some(), present, "update of own key {k}");
                    if let Some(new) = updated {
                        self.store(k, new.v());
                    }
                }
            }
            Op::Compute(target, remove_odd) => {
                let k = self.key_of(target);
                let calls = Cell::new(0);
                // The payload of the value the closure last offered (`None`: it removed).
                let offered = Cell::new(None);
                let done = map.compute(
                    self.key(k),
                    |current| {
                        calls.set(calls.get() + 1);
                        match current {
                            Some(value) if remove_odd && value.v() % 2 == 1 => {
                                assert_belongs(k, value);
                                offered.set(None);
                                Operation::<_, ()>::Remove
                            }
                            _ => {
                                let value = self.value(k);
                                offered.set(Some(value.v()));
                                Operation::Insert(value)
                            }
                        }
                    },
                    guard,
                );
                if self.predicts(k) {
                    assert_eq!(calls.get(), 1, "compute of own key {k} retried");
                }
                let previous = self.own.get(&k).copied();
                match done {
                    Compute::Inserted(new) => {
                        assert_eq!(Some(new.v()), offered.get(), "compute stored a stale value");
                        self.check(k, None, previous);
                        self.store(k, new.v());
                    }
                    Compute::Updated { old, new } => {
                        assert_eq!(Some(new.v()), offered.get(), "compute stored a stale value");
                        self.check(k, Some(old), previous);
                        self.store(k, new.v());
                    }
                    Compute::Removed(old) => {
                        assert!(offered.get().is_none(), "compute removed after storing");
                        assert!(
                            remove_odd && old.v() % 2 == 1,
                            "compute removed a kept value"
                        );
                        self.check(k, Some(old), previous);
                        self.own.remove(&k);
                    }
                    Compute::Unchanged | Compute::Aborted(()) => {
                        panic!("the closure never removes an absent key, nor aborts")
                    }
                }
            }
            Op::RemoveEntry(target) => {
                let k = self.key_of(target);
                let removed = map.remove_entry(&k, guard);
                if let Some((key, _)) = removed {
                    assert_eq!(key.k, k, "remove_entry gave back another key");
                }
                let predicted = self.own.remove(&k);
                self.check(k, removed.map(|(_, value)| value), predicted);
            }
            Op::Retain(divisor) => {
                let divisor = u64::from(divisor % 4 + 2);
                map.retain(|key, value| {
                    assert_belongs(key.k, value);
                    key.k >= SHARED_KEYS || value.v() % divisor != 0
                });
            }
            Op::Clear => {
                map.clear();
                self.own.clear();
            }
            Op::Iter => {
                let mut keys = HashSet::new();
                for (key, value) in map.iter(guard) {
                    assert_belongs(key.k, value);
                    assert!(keys.insert(key.k), "iter yielded {} twice", key.k);
                }
            }
            Op::Len => {
                let most = SHARED_KEYS + MAX_THREADS as u64 * OWN_KEYS;
                assert!(map.len() as u64 <= most, "len {} of {most} keys", map.len());
            }
            Op::Stats => assert_consistent(&map.stats()),
            Op::FillOwn(count) => {
                for i in 0..u64::from(count) % OWN_KEYS {
                    self.insert(map, self.own_base() + i, guard);
                }
            }
            Op::RemoveOwn(count) => {
                for i in 0..u64::from(count) % OWN_KEYS {
                    self.remove(map, self.own_base() + i, guard);
                }
            }
        }
    }

    /// `insert` of a new value into `k`.
    fn insert<S: BuildHasher>(
        &mut self,
        map: &SnapMap<DropKey, DropVal, S>,
        k: u64,
        guard: &Guard,
    ) {
        let value = self.value(k);
        let new = value.v();
        let previous = map.insert(self.key(k), value, guard);
        let predicted = self.store(k, new);
        self.check(k, previous, predicted);
    }

    /// `remove` of `k`.
    fn remove<S: BuildHasher>(
        &mut self,
        map: &SnapMap<DropKey, DropVal, S>,
        k: u64,
        guard: &Guard,
    ) {
        let removed = map.remove(&k, guard);
        let predicted = self.own.remove(&k);
        self.check(k, removed, predicted);
    }

    /// Records a store of `new` into an own `key` in the model; returns the previous payload.
    fn store(&mut self, key: u64, new: u64) -> Option<u64> {
        self.owns(key).then(|| self.own.insert(key, new)).flatten()
    }

    /// Records a store of `new` into an own `key` if the model has none; returns the payload
    /// the model has then.
    fn store_if_absent(&mut self, key: u64, new: u64) -> Option<u64> {
        self.owns(key).then(|| *self.own.entry(key).or_insert(new))
    }
}
