//! Differential tests: random sequences of operations run against `SnapMap` and against
//! `std::collections::HashMap`, which must agree on every result, on `len` and on the contents.
//! The map's internal invariants and its tombstone bound are checked after every operation.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::RngAlgorithm;
use snapmap::{CompareExchangeError, MapRef, OccupiedError, SnapMap};

type Map = SnapMap<u32, u32>;

/// Keys of single-key operations: a small space, so that keys collide and are revisited.
const KEYS: u32 = 32;
/// Values: a small space, so that conditional operations often find the value they expect.
const VALUES: u32 = 8;

/// One operation of a test sequence.
#[derive(Debug, Clone)]
enum Op {
    Insert(u32, u32),
    Get(u32),
    GetKeyValue(u32),
    ContainsKey(u32),
    GetCloned(u32),
    GetOrInsert(u32, u32),
    TryInsert(u32, u32),
    GetOrInsertWith(u32, u32),
    Remove(u32),
    /// `remove_if` with a predicate that always gives this answer.
    RemoveIf(u32, bool),
    /// `remove_if` with a predicate that accepts only this value.
    RemoveIfEq(u32, u32),
    /// `compare_exchange` expecting the current value of the key (so it succeeds if present).
    CasCurrent(u32, u32),
    /// `compare_exchange` expecting the given value.
    Cas(u32, u32, u32),
    /// `update` adding this amount (modulo `VALUES`).
    Update(u32, u32),
    /// `retain` keeping the entries with `(k + v) % m != 0`.
    Retain(u32),
    Clear,
    Iter,
    Keys,
    Values,
    Len,
    /// Reads the key `dirty_len + 1` times: when the key is not in the read snapshot, enough
    /// misses to promote the dirty map.
    ReadMissBurst(u32),
    /// `get_or_insert` of every key in `0..n`: grows the map past the tombstone floor.
    Fill(u32),
    /// Removes every key not divisible by `m`: most of the map, to force a compaction.
    MassRemove(u32),
}

fn op() -> impl Strategy<Value = Op> {
    let key = || 0..KEYS;
    let value = || 0..VALUES;
    prop_oneof![
        8 => (key(), value()).prop_map(|(k, v)| Op::Insert(k, v)),
        4 => key().prop_map(Op::Get),
        2 => key().prop_map(Op::GetKeyValue),
        2 => key().prop_map(Op::ContainsKey),
        2 => key().prop_map(Op::GetCloned),
        3 => (key(), value()).prop_map(|(k, v)| Op::GetOrInsert(k, v)),
        3 => (key(), value()).prop_map(|(k, v)| Op::TryInsert(k, v)),
        3 => (key(), value()).prop_map(|(k, v)| Op::GetOrInsertWith(k, v)),
        6 => key().prop_map(Op::Remove),
        3 => (key(), any::<bool>()).prop_map(|(k, answer)| Op::RemoveIf(k, answer)),
        3 => (key(), value()).prop_map(|(k, v)| Op::RemoveIfEq(k, v)),
        4 => (key(), value()).prop_map(|(k, v)| Op::CasCurrent(k, v)),
        3 => (key(), value(), value()).prop_map(|(k, c, v)| Op::Cas(k, c, v)),
        3 => (key(), 1..VALUES).prop_map(|(k, d)| Op::Update(k, d)),
        1 => (2..6u32).prop_map(Op::Retain),
        1 => Just(Op::Clear),
        1 => Just(Op::Iter),
        1 => Just(Op::Keys),
        1 => Just(Op::Values),
        1 => Just(Op::Len),
        2 => (0..2 * KEYS).prop_map(Op::ReadMissBurst),
        1 => (KEYS..160).prop_map(Op::Fill),
        1 => (3..12u32).prop_map(Op::MassRemove),
    ]
}

/// The map's operations with owned results, so that one driver can run them through a fresh
/// guard per call or through a long-lived `MapRef`.
trait Access {
    fn insert(&self, k: u32, v: u32) -> Option<u32>;
    fn get(&self, k: u32) -> Option<u32>;
    fn get_key_value(&self, k: u32) -> Option<(u32, u32)>;
    fn contains_key(&self, k: u32) -> bool;
    fn get_cloned(&self, k: u32) -> Option<u32>;
    fn get_or_insert(&self, k: u32, v: u32) -> u32;
    /// `Err((current, not_inserted))`.
    fn try_insert(&self, k: u32, v: u32) -> Result<u32, (u32, u32)>;
    fn get_or_insert_with(&self, k: u32, f: impl FnOnce() -> u32) -> u32;
    fn remove(&self, k: u32) -> Option<u32>;
    fn remove_if(&self, k: u32, pred: impl FnMut(&u32) -> bool) -> Option<u32>;
    /// `Err((current, new))`.
    fn compare_exchange(&self, k: u32, current: u32, new: u32) -> Result<u32, (Option<u32>, u32)>;
    fn update(&self, k: u32, f: impl Fn(&u32) -> u32) -> Option<u32>;
    fn retain(&self, f: impl FnMut(&u32, &u32) -> bool);
    fn clear(&self);
    /// `iter`, in its order.
    fn entries(&self) -> Vec<(u32, u32)>;
    /// `keys`, sorted.
    fn keys(&self) -> Vec<u32>;
    /// `values`, sorted.
    fn values(&self) -> Vec<u32>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool;
}

fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort_unstable();
    items
}

/// Runs every operation under a guard of its own.
struct Guarded<'a>(&'a Map);

impl Access for Guarded<'_> {
    fn insert(&self, k: u32, v: u32) -> Option<u32> {
        self.0.insert(k, v, &self.0.guard()).copied()
    }

    fn get(&self, k: u32) -> Option<u32> {
        self.0.get(&k, &self.0.guard()).copied()
    }

    fn get_key_value(&self, k: u32) -> Option<(u32, u32)> {
        let guard = self.0.guard();
        self.0.get_key_value(&k, &guard).map(|(&k, &v)| (k, v))
    }

    fn contains_key(&self, k: u32) -> bool {
        self.0.contains_key(&k)
    }

    fn get_cloned(&self, k: u32) -> Option<u32> {
        self.0.get_cloned(&k)
    }

    fn get_or_insert(&self, k: u32, v: u32) -> u32 {
        *self.0.get_or_insert(k, v, &self.0.guard())
    }

    fn try_insert(&self, k: u32, v: u32) -> Result<u32, (u32, u32)> {
        let guard = self.0.guard();
        match self.0.try_insert(k, v, &guard) {
            Ok(&inserted) => Ok(inserted),
            Err(OccupiedError {
                current,
                not_inserted,
            }) => Err((*current, not_inserted)),
        }
    }

    fn get_or_insert_with(&self, k: u32, f: impl FnOnce() -> u32) -> u32 {
        *self.0.get_or_insert_with(k, f, &self.0.guard())
    }

    fn remove(&self, k: u32) -> Option<u32> {
        self.0.remove(&k, &self.0.guard()).copied()
    }

    fn remove_if(&self, k: u32, pred: impl FnMut(&u32) -> bool) -> Option<u32> {
        self.0.remove_if(&k, pred, &self.0.guard()).copied()
    }

    fn compare_exchange(&self, k: u32, current: u32, new: u32) -> Result<u32, (Option<u32>, u32)> {
        let guard = self.0.guard();
        match self.0.compare_exchange(&k, &current, new, &guard) {
            Ok(&previous) => Ok(previous),
            Err(CompareExchangeError { current, new }) => Err((current.copied(), new)),
        }
    }

    fn update(&self, k: u32, f: impl Fn(&u32) -> u32) -> Option<u32> {
        self.0.update(&k, f, &self.0.guard()).copied()
    }

    fn retain(&self, f: impl FnMut(&u32, &u32) -> bool) {
        self.0.retain(f);
    }

    fn clear(&self) {
        self.0.clear();
    }

    fn entries(&self) -> Vec<(u32, u32)> {
        let guard = self.0.guard();
        self.0.iter(&guard).map(|(&k, &v)| (k, v)).collect()
    }

    fn keys(&self) -> Vec<u32> {
        sorted(self.0.keys(&self.0.guard()).copied().collect())
    }

    fn values(&self) -> Vec<u32> {
        sorted(self.0.values(&self.0.guard()).copied().collect())
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Runs every operation through one `MapRef`, without guard arguments.
impl Access for MapRef<'_, u32, u32> {
    fn insert(&self, k: u32, v: u32) -> Option<u32> {
        MapRef::insert(self, k, v).copied()
    }

    fn get(&self, k: u32) -> Option<u32> {
        MapRef::get(self, &k).copied()
    }

    fn get_key_value(&self, k: u32) -> Option<(u32, u32)> {
        MapRef::get_key_value(self, &k).map(|(&k, &v)| (k, v))
    }

    fn contains_key(&self, k: u32) -> bool {
        MapRef::contains_key(self, &k)
    }

    fn get_cloned(&self, k: u32) -> Option<u32> {
        MapRef::get_cloned(self, &k)
    }

    fn get_or_insert(&self, k: u32, v: u32) -> u32 {
        *MapRef::get_or_insert(self, k, v)
    }

    fn try_insert(&self, k: u32, v: u32) -> Result<u32, (u32, u32)> {
        match MapRef::try_insert(self, k, v) {
            Ok(&inserted) => Ok(inserted),
            Err(OccupiedError {
                current,
                not_inserted,
            }) => Err((*current, not_inserted)),
        }
    }

    fn get_or_insert_with(&self, k: u32, f: impl FnOnce() -> u32) -> u32 {
        *MapRef::get_or_insert_with(self, k, f)
    }

    fn remove(&self, k: u32) -> Option<u32> {
        MapRef::remove(self, &k).copied()
    }

    fn remove_if(&self, k: u32, pred: impl FnMut(&u32) -> bool) -> Option<u32> {
        MapRef::remove_if(self, &k, pred).copied()
    }

    fn compare_exchange(&self, k: u32, current: u32, new: u32) -> Result<u32, (Option<u32>, u32)> {
        match MapRef::compare_exchange(self, &k, &current, new) {
            Ok(&previous) => Ok(previous),
            Err(CompareExchangeError { current, new }) => Err((current.copied(), new)),
        }
    }

    fn update(&self, k: u32, f: impl Fn(&u32) -> u32) -> Option<u32> {
        MapRef::update(self, &k, f).copied()
    }

    fn retain(&self, f: impl FnMut(&u32, &u32) -> bool) {
        MapRef::retain(self, f);
    }

    fn clear(&self) {
        MapRef::clear(self);
    }

    fn entries(&self) -> Vec<(u32, u32)> {
        MapRef::iter(self).map(|(&k, &v)| (k, v)).collect()
    }

    fn keys(&self) -> Vec<u32> {
        sorted(MapRef::keys(self).copied().collect())
    }

    fn values(&self) -> Vec<u32> {
        sorted(MapRef::values(self).copied().collect())
    }

    fn len(&self) -> usize {
        MapRef::len(self)
    }

    fn is_empty(&self) -> bool {
        MapRef::is_empty(self)
    }
}

type Model = HashMap<u32, u32>;

fn model_entries(model: &Model) -> Vec<(u32, u32)> {
    sorted(model.iter().map(|(&k, &v)| (k, v)).collect())
}

/// Checks that `entries`, as yielded by an iterator, are exactly the model's contents, each once.
fn assert_contents(entries: Vec<(u32, u32)>, model: &Model) -> Result<(), TestCaseError> {
    // A linear check first (sorting on every step is slow in debug builds); keys are small.
    let mut yielded = Vec::new();
    let mut matches = entries.len() == model.len();
    for &(k, v) in &entries {
        let k = k as usize;
        if yielded.len() <= k {
            yielded.resize(k + 1, false);
        }
        matches &= !yielded[k] && model.get(&(k as u32)) == Some(&v);
        yielded[k] = true;
    }
    if !matches {
        let entries = sorted(entries);
        prop_assert_eq!(&entries, &model_entries(model));
        prop_assert!(false, "a key was yielded twice: {:?}", entries);
    }
    Ok(())
}

/// `remove_if` of `k` with the predicate `accept`, checked against the model.
fn remove_if(
    access: &impl Access,
    model: &mut Model,
    k: u32,
    accept: impl Fn(u32) -> bool,
) -> Result<(), TestCaseError> {
    let current = model.get(&k).copied();
    let mut judged = Vec::new();
    let removed = access.remove_if(k, |&v| {
        judged.push(v);
        accept(v)
    });
    // Without contention the predicate sees only the current value, and none for an absent key.
    prop_assert!(judged.iter().all(|&v| Some(v) == current), "{judged:?}");
    prop_assert_eq!(judged.is_empty(), current.is_none());
    let expected = current.filter(|&v| accept(v));
    if expected.is_some() {
        model.remove(&k);
    }
    prop_assert_eq!(removed, expected);
    Ok(())
}

/// `compare_exchange` of `k` from `current` to `new`, checked against the model.
fn compare_exchange(
    access: &impl Access,
    model: &mut Model,
    k: u32,
    current: u32,
    new: u32,
) -> Result<(), TestCaseError> {
    let expected = match model.get(&k).copied() {
        Some(previous) if previous == current => {
            model.insert(k, new);
            Ok(previous)
        }
        other => Err((other, new)),
    };
    prop_assert_eq!(access.compare_exchange(k, current, new), expected);
    Ok(())
}

/// Applies `op` to the map (through `access`) and to the model, and compares the results.
fn apply(map: &Map, access: &impl Access, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    match *op {
        Op::Insert(k, v) => prop_assert_eq!(access.insert(k, v), model.insert(k, v)),
        Op::Get(k) => prop_assert_eq!(access.get(k), model.get(&k).copied()),
        Op::GetKeyValue(k) => {
            prop_assert_eq!(access.get_key_value(k), model.get(&k).map(|&v| (k, v)));
        }
        Op::ContainsKey(k) => prop_assert_eq!(access.contains_key(k), model.contains_key(&k)),
        Op::GetCloned(k) => prop_assert_eq!(access.get_cloned(k), model.get(&k).copied()),
        Op::GetOrInsert(k, v) => {
            prop_assert_eq!(access.get_or_insert(k, v), *model.entry(k).or_insert(v));
        }
        Op::TryInsert(k, v) => {
            let expected = match model.get(&k) {
                Some(&current) => Err((current, v)),
                None => {
                    model.insert(k, v);
                    Ok(v)
                }
            };
            prop_assert_eq!(access.try_insert(k, v), expected);
        }
        Op::GetOrInsertWith(k, v) => {
            let calls = Cell::new(0);
            let got = access.get_or_insert_with(k, || {
                calls.set(calls.get() + 1);
                v
            });
            let expected_calls = usize::from(!model.contains_key(&k));
            prop_assert_eq!(got, *model.entry(k).or_insert(v));
            prop_assert_eq!(calls.get(), expected_calls);
        }
        Op::Remove(k) => prop_assert_eq!(access.remove(k), model.remove(&k)),
        Op::RemoveIf(k, answer) => remove_if(access, model, k, |_| answer)?,
        Op::RemoveIfEq(k, x) => remove_if(access, model, k, |v| v == x)?,
        Op::CasCurrent(k, new) => {
            let current = model.get(&k).copied().unwrap_or(0);
            compare_exchange(access, model, k, current, new)?;
        }
        Op::Cas(k, current, new) => compare_exchange(access, model, k, current, new)?,
        Op::Update(k, delta) => {
            let seen = RefCell::new(Vec::new());
            let got = access.update(k, |&v| {
                seen.borrow_mut().push(v);
                (v + delta) % VALUES
            });
            let current = model.get(&k).copied();
            // Without contention `f` sees only the current value, and none for an absent key.
            let seen = seen.into_inner();
            prop_assert!(seen.iter().all(|&v| Some(v) == current), "{seen:?}");
            prop_assert_eq!(seen.is_empty(), current.is_none());
            let expected = model.get_mut(&k).map(|v| {
                *v = (*v + delta) % VALUES;
                *v
            });
            prop_assert_eq!(got, expected);
        }
        Op::Retain(m) => {
            let mut judged = Vec::new();
            access.retain(|&k, &v| {
                judged.push((k, v));
                (k + v) % m != 0
            });
            // Without concurrent writes, every entry is judged exactly once, with its value.
            prop_assert_eq!(sorted(judged), model_entries(model));
            model.retain(|&k, &mut v| (k + v) % m != 0);
        }
        Op::Clear => {
            access.clear();
            model.clear();
        }
        Op::Iter => assert_contents(access.entries(), model)?,
        Op::Keys => prop_assert_eq!(access.keys(), sorted(model.keys().copied().collect())),
        Op::Values => {
            prop_assert_eq!(access.values(), sorted(model.values().copied().collect()));
        }
        Op::Len => {
            prop_assert_eq!(access.len(), model.len());
            prop_assert_eq!(access.is_empty(), model.is_empty());
        }
        Op::ReadMissBurst(k) => {
            for _ in 0..=map.stats().dirty_len {
                prop_assert_eq!(access.get(k), model.get(&k).copied());
            }
        }
        Op::Fill(n) => {
            for k in 0..n {
                let v = k % VALUES;
                prop_assert_eq!(access.get_or_insert(k, v), *model.entry(k).or_insert(v));
            }
        }
        Op::MassRemove(m) => {
            let doomed = sorted(model.keys().copied().filter(|k| k % m != 0).collect());
            for k in doomed {
                prop_assert_eq!(access.remove(k), model.remove(&k));
            }
        }
    }
    Ok(())
}

/// When the contents are compared with the model.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Contents {
    /// After every operation. Iterating promotes the dirty map, so the next operation always
    /// starts from a map that is not amended.
    EveryOp,
    /// Only at `Iter`, `Keys` and `Values` operations and at the end, so that keys stay in the
    /// dirty map only across operations.
    Sparse,
}

/// Checks, after an operation, what must hold whatever the operation was.
fn check(
    map: &Map,
    access: &impl Access,
    model: &Model,
    contents: Contents,
) -> Result<(), TestCaseError> {
    map.__check_invariants();
    prop_assert_eq!(access.len(), model.len());
    prop_assert_eq!(access.is_empty(), model.is_empty());
    let stats = map.stats();
    prop_assert_eq!(stats.len, model.len());
    prop_assert!(
        stats.tombstones <= stats.len.max(64),
        "too many tombstones: {}",
        stats
    );
    if !stats.amended {
        // Every live key is in the snapshot; its other slots are tombstones.
        prop_assert_eq!(stats.read_slots, stats.len + stats.tombstones, "{}", stats);
    }
    if contents == Contents::EveryOp {
        assert_contents(access.entries(), model)?;
    }
    Ok(())
}

/// Runs `ops` on `map` through `access` and on a std `HashMap`, comparing after every step.
fn run(
    map: &Map,
    access: &impl Access,
    ops: &[Op],
    contents: Contents,
) -> Result<(), TestCaseError> {
    let mut model = Model::new();
    for (step, op) in ops.iter().enumerate() {
        let context = |e: TestCaseError| match e {
            TestCaseError::Fail(why) => {
                TestCaseError::fail(format!("at step {step}, {op:?}: {why}"))
            }
            reject => reject,
        };
        apply(map, access, &mut model, op).map_err(context)?;
        check(map, access, &model, contents).map_err(context)?;
    }
    assert_contents(access.entries(), &model)
}

proptest! {
    // XorShift: the default ChaCha generator dominates the run time in debug builds.
    #![proptest_config(ProptestConfig {
        rng_algorithm: RngAlgorithm::XorShift,
        ..ProptestConfig::with_cases(128)
    })]

    /// Operations under a guard each agree with `HashMap`; contents compared after every one.
    #[test]
    fn guarded_ops_match_hashmap(ops in proptest::collection::vec(op(), 1..256)) {
        let map = Map::new();
        run(&map, &Guarded(&map), &ops, Contents::EveryOp)?;
    }

    /// Operations under a guard each agree with `HashMap` while keys stay in the dirty map
    /// across operations; contents compared at iteration operations and at the end.
    #[test]
    fn guarded_ops_match_hashmap_with_dirty_keys(
        ops in proptest::collection::vec(op(), 1..256),
    ) {
        let map = Map::new();
        run(&map, &Guarded(&map), &ops, Contents::Sparse)?;
    }

    /// Operations through one `MapRef` agree with `HashMap`; contents compared after every one.
    #[test]
    fn pinned_ops_match_hashmap(ops in proptest::collection::vec(op(), 1..256)) {
        let map = Map::new();
        run(&map, &map.pin(), &ops, Contents::EveryOp)?;
    }
}

/// The operation mix reaches the algorithm's paths the random sequences rely on: dirty builds,
/// promotions by missed reads, and compactions after mass removal.
#[test]
fn op_mix_reaches_every_path() {
    let ops = [
        Op::Fill(150),
        Op::ReadMissBurst(1000),
        Op::Insert(500, 1),
        Op::Remove(3),
        Op::ReadMissBurst(1000),
        Op::MassRemove(10),
        Op::Iter,
    ];
    let map = Map::new();
    run(&map, &Guarded(&map), &ops, Contents::Sparse).unwrap();
    let stats = map.stats();
    assert!(stats.dirty_builds >= 2, "{stats}");
    assert!(stats.promotions >= 2, "{stats}");
    assert!(stats.compactions >= 1, "{stats}");
}
