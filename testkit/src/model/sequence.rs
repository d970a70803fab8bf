//! Single-threaded operation sequences, applied in step to a `SnapMap` and to a
//! `std::collections::HashMap` model, with every return value compared.
//!
//! This is the one vocabulary and the one sequential model of the map: the proptest
//! differential tests and the cargo-fuzz `differential` and `stats` targets all decode their
//! input into an [`Input`] and hand it to [`run`]. A method added to the map gets a variant of
//! [`Op`], an arm in [`apply`] (or [`apply_exclusive`]) and, for shared access, a method of
//! [`Access`](super::access::Access).
//!
//! Every new variant changes how the fuzzer's bytes decode (a derived enum picks its variant
//! from a fraction of the variant count), so the checked-in seeds then mean other steps: add it
//! at the end, and re-minimize the seeds as `fuzz/README.md` says.
//!
//! Single-key operations draw their keys from a small space so that keys collide and are
//! revisited; bulk operations cover a wider range, so that mass removals leave more tombstones
//! than the compaction floor (64) and dirty tables grow large enough to matter.

use std::cell::{Cell, RefCell};
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use arbitrary::{Arbitrary, Result, Unstructured};
use snapmap::{Operation, SnapMap, Stats};

use super::access::{Access, Computed, Guarded};
use super::stats::assert_settled;

/// Keys of single-key operations: `0..KEYS`.
pub const KEYS: u32 = 16;
/// Keys of bulk operations: `0..WIDE_KEYS`.
pub const WIDE_KEYS: u32 = 256;
/// Values: `0..VALUES`, few enough that guessed expected values often match.
pub const VALUES: u32 = 4;
/// A key that no operation ever stores: reading it while the map is amended always misses.
pub const ABSENT: u32 = u32::MAX;

/// The model the map is compared with.
pub type Model = HashMap<u32, u32>;

/// Defines a `u32` newtype whose arbitrary values are `0..BOUND`, drawn from one byte.
macro_rules! below {
    ($(#[$doc:meta])* $name:ident, $bound:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(pub u32);

        impl<'a> Arbitrary<'a> for $name {
            fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
                Ok($name(u.int_in_range(0..=$bound - 1)?))
            }

            fn size_hint(_depth: usize) -> (usize, Option<usize>) {
                (1, Some(1))
            }
        }
    };
}

below!(
    /// A key of a single-key operation.
    Key,
    KEYS
);
below!(
    /// A value (or, for `Update`, an increment).
    Value,
    VALUES
);

/// A range of keys `start..end` within `0..WIDE_KEYS`, for bulk operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRange {
    /// First key.
    pub start: u32,
    /// One past the last key.
    pub end: u32,
}

impl KeyRange {
    /// The keys, in increasing order.
    pub fn keys(self) -> std::ops::Range<u32> {
        self.start..self.end
    }
}

impl<'a> Arbitrary<'a> for KeyRange {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let start = u.int_in_range(0..=WIDE_KEYS - 1)?;
        let len = u.int_in_range(1..=WIDE_KEYS)?;
        Ok(KeyRange {
            start,
            end: (start + len).min(WIDE_KEYS),
        })
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (2, Some(4))
    }
}

/// The value a `compare_exchange` expects, or the one value a `remove_if` predicate accepts.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// The key's current value (so the call succeeds when the key is present).
    Current,
    /// A given value (which may or may not be the current one).
    Given(Value),
}

impl Expected {
    /// The value expected when the key's current value is `current` (`None`: absent).
    pub fn value(self, current: Option<u32>) -> u32 {
        match self {
            Expected::Current => current.unwrap_or(0),
            Expected::Given(Value(v)) => v,
        }
    }
}

/// What a `compute` closure decides, given the key's current value.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// `Operation::Insert` of this value, present or not.
    Store(Value),
    /// `Operation::Insert` of the current value plus this increment modulo `VALUES`, or of the
    /// increment itself when the key is absent.
    Add(Value),
    /// `Operation::Remove`.
    Remove,
    /// `Operation::Abort` with this token.
    Abort(Value),
}

impl Decision {
    /// The operation decided when the key's current value is `current` (`None`: absent).
    pub fn operation(self, current: Option<u32>) -> Operation<u32, u32> {
        match self {
            Decision::Store(Value(v)) => Operation::Insert(v),
            Decision::Add(Value(delta)) => {
                Operation::Insert(current.map_or(delta, |v| (v + delta) % VALUES))
            }
            Decision::Remove => Operation::Remove,
            Decision::Abort(Value(token)) => Operation::Abort(token),
        }
    }
}

/// One step of a sequence: a call of the map's API, or a short burst of calls aimed at one of
/// the protocol's transitions.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `insert`.
    Insert(Key, Value),
    /// `get`.
    Get(Key),
    /// `get_key_value`.
    GetKeyValue(Key),
    /// `contains_key`.
    ContainsKey(Key),
    /// `get_cloned`.
    GetCloned(Key),
    /// `get_or_insert`.
    GetOrInsert(Key, Value),
    /// `try_insert`.
    TryInsert(Key, Value),
    /// `get_or_insert_with`, counting the closure's calls.
    GetOrInsertWith(Key, Value),
    /// `remove`.
    Remove(Key),
    /// `remove_if` with a predicate that accepts only the expected value.
    RemoveIf(Key, Expected),
    /// `compare_exchange`.
    CompareExchange {
        /// The key.
        key: Key,
        /// What the exchange expects.
        expected: Expected,
        /// The replacement.
        new: Value,
    },
    /// `update` adding this increment modulo `VALUES`.
    Update(Key, Value),
    /// `retain` keeping the entries with `(key + value) % (divisor + 2) != 0`.
    Retain(Value),
    /// `clear`.
    Clear,
    /// `iter`.
    Iter,
    /// `keys`.
    Keys,
    /// `values`.
    Values,
    /// `len`, `is_empty` and `stats().len`.
    Len,
    /// `get_mut`, storing this value.
    GetMut(Key, Value),
    /// `shrink_to_fit`.
    ShrinkToFit,
    /// Carries on with a `clone` of the map; the original is dropped.
    Clone,
    /// `extend` with the range, all mapped to one value.
    Extend(KeyRange, Value),
    /// `insert` of every key of the range: many new keys in the dirty table at once.
    InsertRange(KeyRange, Value),
    /// `remove` of every key of the range: enough tombstones to compact.
    RemoveRange(KeyRange),
    /// Reads the key `read_slots + dirty_len + 1` times: if it is in a dirty index, that is
    /// enough misses to promote its shard.
    MissBurst(Key),
    /// Reads [`ABSENT`] `dirty_len + 1` times: absent keys are not misses, so this never
    /// promotes.
    AbsentBurst,
    // Appended after the first fuzz campaigns; see the module docs on the variants' order.
    /// `compute` with a closure that decides as the [`Decision`] says, counting its calls.
    Compute(Key, Decision),
    /// `update_or_insert` adding this increment modulo `VALUES`, or inserting the default.
    UpdateOrInsert {
        /// The key.
        key: Key,
        /// The increment of a present value.
        delta: Value,
        /// The value of an absent key.
        default: Value,
    },
    /// `update_or_insert_with`, counting the default's calls.
    UpdateOrInsertWith {
        /// The key.
        key: Key,
        /// The increment of a present value.
        delta: Value,
        /// The value the default closure makes.
        default: Value,
    },
    /// `remove_entry`.
    RemoveEntry(Key),
}

/// How the map hashes its keys.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hashing {
    /// SipHash with fixed keys: spread out, and the same in every run.
    Sip,
    /// [`Colliding`]: many keys share one full hash.
    Colliding,
}

/// SipHash with fixed keys, so that a failing input fails the same way every time.
pub type Sip = BuildHasherDefault<DefaultHasher>;

/// A hasher that maps every key to one of four hashes, so that tables probe long chains of
/// equal hashes and every lookup depends on `Eq`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Colliding;

/// The [`Hasher`] of [`Colliding`]: the byte sum of the input, modulo four.
#[derive(Debug, Default)]
pub struct CollidingHasher(u64);

impl Hasher for CollidingHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.wrapping_add(u64::from(byte));
        }
    }

    fn finish(&self) -> u64 {
        self.0 % 4
    }
}

impl BuildHasher for Colliding {
    type Hasher = CollidingHasher;

    fn build_hasher(&self) -> CollidingHasher {
        CollidingHasher::default()
    }
}

/// How a sequence calls the map's shared-access methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Each call under a guard of its own ([`Guarded`]).
    Guarded,
    /// Every call through one [`MapRef`](snapmap::MapRef) from `pin`, kept across consecutive
    /// shared-access steps (so nothing they retire is freed meanwhile) and dropped only before
    /// a step that needs the map exclusively.
    Pinned,
}

impl Op {
    /// Whether the step needs `&mut` access to the map (or replaces it), so that no guard or
    /// `MapRef` may be held across it.
    pub fn exclusive(&self) -> bool {
        matches!(
            self,
            Op::GetMut(..) | Op::ShrinkToFit | Op::Clone | Op::Extend(..)
        )
    }
}

/// A whole single-threaded test case.
///
/// Encoded as one byte of setup (bit 0: the hasher, bit 1: the access style), one byte of
/// capacity, then the steps: a case needs only two bytes, so that short fuzz inputs are not
/// rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The map's hasher.
    pub hashing: Hashing,
    /// How the shared-access methods are called.
    pub style: Style,
    /// The capacity the map is created with.
    pub capacity: u8,
    /// The steps, in order.
    pub ops: Vec<Op>,
}

impl Input {
    /// An input from its setup and capacity bytes, and its steps.
    fn decoded(setup: u8, capacity: u8, ops: Vec<Op>) -> Self {
        Input {
            hashing: if setup & 1 == 0 {
                Hashing::Sip
            } else {
                Hashing::Colliding
            },
            style: if setup & 2 == 0 {
                Style::Guarded
            } else {
                Style::Pinned
            },
            capacity,
            ops,
        }
    }
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let (setup, capacity) = (u.arbitrary()?, u.arbitrary()?);
        Ok(Input::decoded(setup, capacity, u.arbitrary()?))
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> Result<Self> {
        let (setup, capacity) = (u.arbitrary()?, u.arbitrary()?);
        Ok(Input::decoded(
            setup,
            capacity,
            Vec::arbitrary_take_rest(u)?,
        ))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (2, None)
    }
}

/// What a target checks after each step, besides what [`run`] always checks.
pub trait Checker {
    /// Called after `op` was applied to `map` and `model` and their results agreed.
    fn after<S: BuildHasher>(&mut self, map: &SnapMap<u32, u32, S>, model: &Model, op: &Op);
}

/// Runs `input` against a map and the model, twice: on a map with the default shard count
/// (more than one), then on a map of one shard (Go's layout), each with a fresh `checker`.
/// After every step it checks the map's internal invariants, its `len` and the `Stats` that
/// hold whenever no write is in flight, then calls `checker`; at the end it compares the
/// contents the map gives back by value. Returns the first map's final statistics.
pub fn run<C: Checker>(input: &Input, mut checker: impl FnMut() -> C) -> Stats {
    let stats = match input.hashing {
        Hashing::Sip => run_with(new_map::<Sip>(input.capacity), input, &mut checker()),
        Hashing::Colliding => run_with(new_map::<Colliding>(input.capacity), input, &mut checker()),
    };
    match input.hashing {
        Hashing::Sip => run_with(one_shard::<Sip>(input.capacity), input, &mut checker()),
        Hashing::Colliding => run_with(
            one_shard::<Colliding>(input.capacity),
            input,
            &mut checker(),
        ),
    };
    stats
}

/// A map with capacity `capacity`, made by each constructor in turn: `Default` for 0,
/// `with_hasher` for 1, `with_capacity_and_hasher` otherwise.
fn new_map<S: BuildHasher + Default>(capacity: u8) -> SnapMap<u32, u32, S> {
    match capacity {
        0 => SnapMap::default(),
        1 => SnapMap::with_hasher(S::default()),
        n => SnapMap::with_capacity_and_hasher(usize::from(n), S::default()),
    }
}

/// A map of one shard with capacity `capacity`, made by the builder.
fn one_shard<S: BuildHasher + Default>(capacity: u8) -> SnapMap<u32, u32, S> {
    SnapMap::builder()
        .shards(1)
        .capacity(usize::from(capacity))
        .hasher(S::default())
        .build()
}

fn run_with<S: BuildHasher + Clone>(
    mut map: SnapMap<u32, u32, S>,
    input: &Input,
    checker: &mut impl Checker,
) -> Stats {
    let mut model = Model::new();
    let mut rest = &input.ops[..];
    while !rest.is_empty() {
        // The longest run of shared-access steps, then at most one exclusive step.
        let shared = rest.iter().take_while(|op| !op.exclusive()).count();
        let (steps, tail) = rest.split_at(shared);
        match input.style {
            Style::Guarded => run_shared(&map, &Guarded(&map), &mut model, steps, checker),
            Style::Pinned => run_shared(&map, &map.pin(), &mut model, steps, checker),
        }
        rest = match tail.split_first() {
            Some((op, tail)) => {
                apply_exclusive(&mut map, &mut model, op);
                check_step(&map, &model, op, checker);
                tail
            }
            None => tail,
        };
    }
    let stats = map.stats();
    let left = sorted(map.into_iter().collect());
    assert_eq!(
        left,
        model_entries(&model),
        "the entries moved out at the end"
    );
    stats
}

/// Applies the shared-access `steps` through `access`, checking after each.
fn run_shared<S: BuildHasher>(
    map: &SnapMap<u32, u32, S>,
    access: &impl Access,
    model: &mut Model,
    steps: &[Op],
    checker: &mut impl Checker,
) {
    for op in steps {
        apply(map, access, model, op);
        check_step(map, model, op, checker);
    }
}

/// What holds after every step, whatever it was.
fn check_step<S: BuildHasher>(
    map: &SnapMap<u32, u32, S>,
    model: &Model,
    op: &Op,
    checker: &mut impl Checker,
) {
    map.__check_invariants();
    assert_eq!(map.len(), model.len(), "len after {op:?}");
    assert_eq!(map.is_empty(), model.is_empty(), "is_empty after {op:?}");
    let stats = map.stats();
    assert_eq!(stats.len, model.len(), "stats after {op:?}: {stats}");
    assert_settled(&stats);
    checker.after(map, model, op);
}

/// Sorts `items`.
pub fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort_unstable();
    items
}

/// The model's entries, sorted.
pub fn model_entries(model: &Model) -> Vec<(u32, u32)> {
    sorted(model.iter().map(|(&k, &v)| (k, v)).collect())
}

/// Checks that `entries`, as an iteration yielded them, are the model's entries, each once.
pub fn assert_contents(entries: impl Iterator<Item = (u32, u32)>, model: &Model, op: &Op) {
    // A linear check first: sorting after every step dominates a debug build's run time.
    let entries: Vec<_> = entries.collect();
    let mut yielded = HashSet::with_capacity(entries.len());
    let matches = entries.len() == model.len()
        && entries
            .iter()
            .all(|&(k, v)| yielded.insert(k) && model.get(&k) == Some(&v));
    if !matches {
        let entries = sorted(entries);
        assert!(
            entries.windows(2).all(|pair| pair[0].0 != pair[1].0),
            "iteration after {op:?} yielded a key twice: {entries:?}"
        );
        assert_eq!(entries, model_entries(model), "contents after {op:?}");
        unreachable!("contents after {op:?}: the sorted comparison found no difference");
    }
}

/// Applies the shared-access step `op` to the map, through `access`, and to `model`, asserting
/// that every result agrees. `map` is the same map, for what `access` does not offer (`stats`).
///
/// # Panics
///
/// On a disagreement, and if `op` is [`exclusive`](Op::exclusive).
pub fn apply<S: BuildHasher>(
    map: &SnapMap<u32, u32, S>,
    access: &impl Access,
    model: &mut Model,
    op: &Op,
) {
    match *op {
        Op::Insert(Key(k), Value(v)) => {
            assert_eq!(access.insert(k, v), model.insert(k, v), "{op:?}");
        }
        Op::Get(Key(k)) => assert_eq!(access.get(k), model.get(&k).copied(), "{op:?}"),
        Op::GetKeyValue(Key(k)) => assert_eq!(
            access.get_key_value(k),
            model.get_key_value(&k).map(|(&k, &v)| (k, v)),
            "{op:?}"
        ),
        Op::ContainsKey(Key(k)) => {
            assert_eq!(access.contains_key(k), model.contains_key(&k), "{op:?}");
        }
        Op::GetCloned(Key(k)) => {
            assert_eq!(access.get_cloned(k), model.get(&k).copied(), "{op:?}");
        }
        Op::GetOrInsert(Key(k), Value(v)) => assert_eq!(
            access.get_or_insert(k, v),
            *model.entry(k).or_insert(v),
            "{op:?}"
        ),
        Op::TryInsert(Key(k), Value(v)) => {
            let expected = match model.get(&k) {
                Some(&current) => Err((current, v)),
                None => Ok(*model.entry(k).or_insert(v)),
            };
            assert_eq!(access.try_insert(k, v), expected, "{op:?}");
        }
        Op::GetOrInsertWith(Key(k), Value(v)) => {
            let calls = Cell::new(0);
            let got = access.get_or_insert_with(k, || {
                calls.set(calls.get() + 1);
                v
            });
            let absent = !model.contains_key(&k);
            assert_eq!(got, *model.entry(k).or_insert(v), "{op:?}");
            assert_eq!(calls.get(), usize::from(absent), "closure calls of {op:?}");
        }
        Op::Remove(Key(k)) => assert_eq!(access.remove(k), model.remove(&k), "{op:?}"),
        Op::RemoveIf(Key(k), expected) => {
            let current = model.get(&k).copied();
            let accepted = expected.value(current);
            let mut judged = Vec::new();
            let removed = access.remove_if(k, |&v| {
                judged.push(v);
                v == accepted
            });
            // Without contention the predicate runs once on the current value, or not at all.
            assert_eq!(judged, Vec::from_iter(current), "predicate calls of {op:?}");
            let want = current.filter(|&v| v == accepted);
            if want.is_some() {
                model.remove(&k);
            }
            assert_eq!(removed, want, "{op:?}");
        }
        Op::CompareExchange {
            key: Key(k),
            expected,
            new: Value(new),
        } => {
            let current = model.get(&k).copied();
            let expected = expected.value(current);
            let want = if current == Some(expected) {
                model.insert(k, new);
                Ok(expected)
            } else {
                Err((current, new))
            };
            assert_eq!(access.compare_exchange(k, expected, new), want, "{op:?}");
        }
        Op::Update(Key(k), Value(delta)) => {
            let seen = RefCell::new(Vec::new());
            let got = access.update(k, |&v| {
                seen.borrow_mut().push(v);
                (v + delta) % VALUES
            });
            let current = model.get(&k).copied();
            // Without contention `f` runs once on the current value, or not at all.
            assert_eq!(seen.into_inner(), Vec::from_iter(current), "{op:?} calls");
            let expected = model.get_mut(&k).map(|v| {
                *v = (*v + delta) % VALUES;
                *v
            });
            assert_eq!(got, expected, "{op:?}");
        }
        Op::Retain(Value(divisor)) => {
            let keep = |k: u32, v: u32| (k + v) % (divisor + 2) != 0;
            let mut judged = Vec::new();
            access.retain(|&k, &v| {
                judged.push((k, v));
                keep(k, v)
            });
            // Without concurrent writes every entry is judged exactly once, with its value.
            assert_eq!(
                sorted(judged),
                model_entries(model),
                "entries judged by {op:?}"
            );
            model.retain(|&k, &mut v| keep(k, v));
        }
        Op::Clear => {
            access.clear();
            model.clear();
        }
        Op::Iter => assert_contents(access.entries().into_iter(), model, op),
        Op::Keys => assert_eq!(
            access.keys(),
            sorted(model.keys().copied().collect()),
            "{op:?}"
        ),
        Op::Values => assert_eq!(
            access.values(),
            sorted(model.values().copied().collect()),
            "{op:?}"
        ),
        Op::Len => {
            assert_eq!(access.len(), model.len(), "{op:?}");
            assert_eq!(access.is_empty(), model.is_empty(), "{op:?}");
            assert_eq!(map.stats().len, model.len(), "{op:?}");
        }
        Op::InsertRange(range, Value(v)) => {
            for k in range.keys() {
                assert_eq!(access.insert(k, v), model.insert(k, v), "{op:?}");
            }
        }
        Op::RemoveRange(range) => {
            for k in range.keys() {
                assert_eq!(access.remove(k), model.remove(&k), "{op:?}");
            }
        }
        Op::MissBurst(Key(k)) => {
            let stats = map.stats();
            for _ in 0..=stats.read_slots + stats.dirty_len {
                assert_eq!(access.get(k), model.get(&k).copied(), "{op:?}");
            }
        }
        Op::AbsentBurst => {
            for _ in 0..=map.stats().dirty_len {
                assert_eq!(access.get(ABSENT), None, "{op:?}");
            }
        }
        Op::Compute(Key(k), decision) => {
            let mut seen = Vec::new();
            let got = access.compute(k, |current| {
                seen.push(current.copied());
                decision.operation(current.copied())
            });
            let current = model.get(&k).copied();
            // Without contention the closure runs exactly once, on the current value.
            assert_eq!(seen, [current], "closure calls of {op:?}");
            let expected = match (decision.operation(current), current) {
                (Operation::Insert(new), None) => {
                    model.insert(k, new);
                    Computed::Inserted(new)
                }
                (Operation::Insert(new), Some(old)) => {
                    model.insert(k, new);
                    Computed::Updated { old, new }
                }
                (Operation::Remove, Some(old)) => {
                    model.remove(&k);
                    Computed::Removed(old)
                }
                (Operation::Remove, None) => Computed::Unchanged,
                (Operation::Abort(token), _) => Computed::Aborted(token),
            };
            assert_eq!(got, expected, "{op:?}");
        }
        Op::UpdateOrInsert {
            key: Key(k),
            delta: Value(delta),
            default: Value(default),
        } => {
            let seen = RefCell::new(Vec::new());
            let got = access.update_or_insert(
                k,
                |&v| {
                    seen.borrow_mut().push(v);
                    (v + delta) % VALUES
                },
                default,
            );
            let current = model.get(&k).copied();
            assert_eq!(seen.into_inner(), Vec::from_iter(current), "{op:?} calls");
            let new = current.map_or(default, |v| (v + delta) % VALUES);
            model.insert(k, new);
            assert_eq!(got, new, "{op:?}");
        }
        Op::UpdateOrInsertWith {
            key: Key(k),
            delta: Value(delta),
            default: Value(default),
        } => {
            let (seen, defaults) = (RefCell::new(Vec::new()), Cell::new(0));
            let got = access.update_or_insert_with(
                k,
                |&v| {
                    seen.borrow_mut().push(v);
                    (v + delta) % VALUES
                },
                || {
                    defaults.set(defaults.get() + 1);
                    default
                },
            );
            let current = model.get(&k).copied();
            assert_eq!(seen.into_inner(), Vec::from_iter(current), "{op:?} calls");
            assert_eq!(
                defaults.get(),
                usize::from(current.is_none()),
                "default calls of {op:?}"
            );
            let new = current.map_or(default, |v| (v + delta) % VALUES);
            model.insert(k, new);
            assert_eq!(got, new, "{op:?}");
        }
        Op::RemoveEntry(Key(k)) => {
            assert_eq!(access.remove_entry(k), model.remove_entry(&k), "{op:?}")
        }
        Op::GetMut(..) | Op::ShrinkToFit | Op::Clone | Op::Extend(..) => {
            panic!("{op:?} needs the map exclusively: apply_exclusive runs it")
        }
    }
}

/// Applies the [`exclusive`](Op::exclusive) step `op` to `map` and to `model`, asserting that
/// every result agrees.
///
/// # Panics
///
/// On a disagreement, and if `op` is not exclusive.
pub fn apply_exclusive<S: BuildHasher + Clone>(
    map: &mut SnapMap<u32, u32, S>,
    model: &mut Model,
    op: &Op,
) {
    match *op {
        Op::GetMut(Key(k), Value(v)) => assert_eq!(
            map.get_mut(&k).map(|slot| std::mem::replace(slot, v)),
            model.get_mut(&k).map(|slot| std::mem::replace(slot, v)),
            "{op:?}"
        ),
        Op::ShrinkToFit => map.shrink_to_fit(),
        Op::Clone => *map = map.clone(),
        Op::Extend(range, Value(v)) => {
            map.extend(range.keys().map(|k| (k, v)));
            model.extend(range.keys().map(|k| (k, v)));
        }
        _ => panic!("{op:?} is a shared-access step: apply runs it"),
    }
}
