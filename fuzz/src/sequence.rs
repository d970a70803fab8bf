//! Single-threaded operation sequences, applied in step to a `SnapMap` and to a
//! `std::collections::HashMap` model, with every return value compared.
//!
//! Single-key operations draw their keys from a small space so that keys collide and are
//! revisited; bulk operations cover a wider range, so that mass removals leave more tombstones
//! than the compaction floor (64) and dirty tables grow large enough to matter.

use std::cell::{Cell, RefCell};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use arbitrary::{Arbitrary, Result, Unstructured};
use snapmap::{CompareExchangeError, OccupiedError, SnapMap, Stats};

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

/// The value a `compare_exchange` expects.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// The key's current value (so the exchange succeeds when the key is present).
    Current,
    /// A given value (which may or may not be the current one).
    Given(Value),
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
    /// `remove_if` with a predicate that accepts only this value.
    RemoveIf(Key, Value),
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
    /// Reads the key `dirty_len + 1` times: if it is not in the read snapshot, that is enough
    /// misses to promote the dirty table.
    MissBurst(Key),
    /// Reads [`ABSENT`] `dirty_len + 1` times: promotes the dirty table if there is one.
    AbsentBurst,
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

/// A whole single-threaded test case.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The map's hasher.
    pub hashing: Hashing,
    /// The capacity the map is created with.
    pub capacity: u8,
    /// The steps, in order.
    pub ops: Vec<Op>,
}

/// What a target checks after each step, besides what [`run`] always checks.
pub trait Checker {
    /// Called after `op` was applied to `map` and `model` and their results agreed.
    fn after<S: BuildHasher>(&mut self, map: &SnapMap<u32, u32, S>, model: &Model, op: &Op);
}

/// Runs `input` against a map and the model. After every step it checks the map's internal
/// invariants and its `len`, then calls `checker`; at the end it compares the contents the map
/// gives back by value. Returns the map's final statistics.
pub fn run(input: &Input, checker: &mut impl Checker) -> Stats {
    let capacity = usize::from(input.capacity);
    match input.hashing {
        Hashing::Sip => run_with(
            SnapMap::with_capacity_and_hasher(capacity, Sip::default()),
            &input.ops,
            checker,
        ),
        Hashing::Colliding => run_with(
            SnapMap::with_capacity_and_hasher(capacity, Colliding),
            &input.ops,
            checker,
        ),
    }
}

fn run_with<S: BuildHasher + Clone>(
    mut map: SnapMap<u32, u32, S>,
    ops: &[Op],
    checker: &mut impl Checker,
) -> Stats {
    let mut model = Model::new();
    for op in ops {
        apply(&mut map, &mut model, op);
        map.__check_invariants();
        assert_eq!(map.len(), model.len(), "len after {op:?}");
        assert_eq!(map.is_empty(), model.is_empty(), "is_empty after {op:?}");
        checker.after(&map, &model, op);
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
    let entries = sorted(entries.collect());
    assert!(
        entries.windows(2).all(|pair| pair[0].0 != pair[1].0),
        "iteration after {op:?} yielded a key twice: {entries:?}"
    );
    assert_eq!(entries, model_entries(model), "contents after {op:?}");
}

/// Applies `op` to `map` and to `model`, asserting that every result agrees.
pub fn apply<S: BuildHasher + Clone>(map: &mut SnapMap<u32, u32, S>, model: &mut Model, op: &Op) {
    let guard = &map.guard();
    match *op {
        Op::Insert(Key(k), Value(v)) => {
            assert_eq!(
                map.insert(k, v, guard).copied(),
                model.insert(k, v),
                "{op:?}"
            );
        }
        Op::Get(Key(k)) => assert_eq!(map.get(&k, guard), model.get(&k), "{op:?}"),
        Op::GetKeyValue(Key(k)) => assert_eq!(
            map.get_key_value(&k, guard),
            model.get_key_value(&k),
            "{op:?}"
        ),
        Op::ContainsKey(Key(k)) => {
            assert_eq!(map.contains_key(&k), model.contains_key(&k), "{op:?}");
        }
        Op::GetCloned(Key(k)) => {
            assert_eq!(map.get_cloned(&k), model.get(&k).copied(), "{op:?}");
        }
        Op::GetOrInsert(Key(k), Value(v)) => assert_eq!(
            *map.get_or_insert(k, v, guard),
            *model.entry(k).or_insert(v),
            "{op:?}"
        ),
        Op::TryInsert(Key(k), Value(v)) => {
            let got = match map.try_insert(k, v, guard) {
                Ok(&stored) => Ok(stored),
                Err(OccupiedError {
                    current,
                    not_inserted,
                }) => Err((*current, not_inserted)),
            };
            let expected = match model.get(&k) {
                Some(&current) => Err((current, v)),
                None => Ok(*model.entry(k).or_insert(v)),
            };
            assert_eq!(got, expected, "{op:?}");
        }
        Op::GetOrInsertWith(Key(k), Value(v)) => {
            let calls = Cell::new(0);
            let got = *map.get_or_insert_with(
                k,
                || {
                    calls.set(calls.get() + 1);
                    v
                },
                guard,
            );
            let absent = !model.contains_key(&k);
            assert_eq!(got, *model.entry(k).or_insert(v), "{op:?}");
            assert_eq!(calls.get(), usize::from(absent), "closure calls of {op:?}");
        }
        Op::Remove(Key(k)) => {
            assert_eq!(map.remove(&k, guard).copied(), model.remove(&k), "{op:?}");
        }
        Op::RemoveIf(Key(k), Value(x)) => {
            let mut judged = Vec::new();
            let removed = map
                .remove_if(
                    &k,
                    |&v| {
                        judged.push(v);
                        v == x
                    },
                    guard,
                )
                .copied();
            let current = model.get(&k).copied();
            // Without contention the predicate runs once on the current value, or not at all.
            assert_eq!(judged, Vec::from_iter(current), "predicate calls of {op:?}");
            let expected = current.filter(|&v| v == x);
            if expected.is_some() {
                model.remove(&k);
            }
            assert_eq!(removed, expected, "{op:?}");
        }
        Op::CompareExchange {
            key: Key(k),
            expected,
            new: Value(new),
        } => {
            let current = model.get(&k).copied();
            let expected = match expected {
                Expected::Current => current.unwrap_or(0),
                Expected::Given(Value(v)) => v,
            };
            let got = match map.compare_exchange(&k, &expected, new, guard) {
                Ok(&previous) => Ok(previous),
                Err(CompareExchangeError { current, new }) => Err((current.copied(), new)),
            };
            let want = if current == Some(expected) {
                model.insert(k, new);
                Ok(expected)
            } else {
                Err((current, new))
            };
            assert_eq!(got, want, "{op:?}");
        }
        Op::Update(Key(k), Value(delta)) => {
            let seen = RefCell::new(Vec::new());
            let got = map
                .update(
                    &k,
                    |&v| {
                        seen.borrow_mut().push(v);
                        (v + delta) % VALUES
                    },
                    guard,
                )
                .copied();
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
            map.retain(|&k, &v| {
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
            map.clear();
            model.clear();
        }
        Op::Iter => assert_contents(map.iter(guard).map(|(&k, &v)| (k, v)), model, op),
        Op::Keys => assert_eq!(
            sorted(map.keys(guard).copied().collect()),
            sorted(model.keys().copied().collect()),
            "{op:?}"
        ),
        Op::Values => assert_eq!(
            sorted(map.values(guard).copied().collect()),
            sorted(model.values().copied().collect()),
            "{op:?}"
        ),
        Op::Len => {
            assert_eq!(map.len(), model.len(), "{op:?}");
            assert_eq!(map.is_empty(), model.is_empty(), "{op:?}");
            assert_eq!(map.stats().len, model.len(), "{op:?}");
        }
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
        Op::InsertRange(range, Value(v)) => {
            for k in range.keys() {
                assert_eq!(
                    map.insert(k, v, guard).copied(),
                    model.insert(k, v),
                    "{op:?}"
                );
            }
        }
        Op::RemoveRange(range) => {
            for k in range.keys() {
                assert_eq!(map.remove(&k, guard).copied(), model.remove(&k), "{op:?}");
            }
        }
        Op::MissBurst(Key(k)) => {
            for _ in 0..=map.stats().dirty_len {
                assert_eq!(map.get(&k, guard), model.get(&k), "{op:?}");
            }
        }
        Op::AbsentBurst => {
            for _ in 0..=map.stats().dirty_len {
                assert_eq!(map.get(&ABSENT, guard), None, "{op:?}");
            }
        }
    }
}
