//! Differential tests: random operation sequences run against `SnapMap` and against
//! `std::collections::HashMap`, which must agree on every result, on `len` and on the contents.
//! The map's internal invariants and the `Stats` of a settled map are checked after every step.
//!
//! The vocabulary and the model are `testkit::model::sequence`, the same that the cargo-fuzz
//! `differential` and `stats` targets run: proptest draws each step as bytes and decodes them
//! with the fuzzer's decoder, so every step the fuzzer can take, this test can take too.

use proptest::prelude::*;
use proptest::test_runner::RngAlgorithm;
use testkit::model::sequence::{
    self, Decision, Expected, Hashing, Input, Key, KeyRange, Op, Style, Value, KEYS, WIDE_KEYS,
};
use testkit::model::{decode, differential, stats};

/// Enough bytes to decode any step.
const STEP_BYTES: usize = 16;

/// One step, decoded from random bytes as the fuzzer decodes it.
fn op() -> impl Strategy<Value = Op> {
    any::<[u8; STEP_BYTES]>()
        .prop_map(|bytes| decode::<Op>(&bytes).expect("any 16 bytes decode into a step"))
}

/// A sequence of up to 127 steps with the access style `style`. (Fewer than the 255 cheap steps
/// this test once drew: a bulk step here covers up to 256 keys, and the invariant check after
/// it walks them all.)
///
/// One case in eight uses the colliding hasher: with four hashes for up to 256 keys every
/// lookup walks a long chain, which makes those cases several times slower.
fn input(style: Style) -> impl Strategy<Value = Input> {
    let hashing = prop_oneof![7 => Just(Hashing::Sip), 1 => Just(Hashing::Colliding)];
    (
        hashing,
        any::<u8>(),
        proptest::collection::vec(op(), 1..128),
    )
        .prop_map(move |(hashing, capacity, ops)| Input {
            hashing,
            style,
            capacity,
            ops,
        })
}

proptest! {
    // XorShift: the default ChaCha generator dominates the run time in debug builds.
    #![proptest_config(ProptestConfig {
        rng_algorithm: RngAlgorithm::XorShift,
        ..ProptestConfig::with_cases(128)
    })]

    /// Steps each under a guard of their own agree with `HashMap`; contents compared after
    /// every step (the `differential` fuzz target).
    #[test]
    fn guarded_ops_match_hashmap(input in input(Style::Guarded)) {
        differential::run(&input);
    }

    /// Steps through one long-lived `MapRef` agree with `HashMap`; contents compared after
    /// every step.
    #[test]
    fn pinned_ops_match_hashmap(input in input(Style::Pinned)) {
        differential::run(&input);
    }

    /// Steps agree with `HashMap` while keys stay in the dirty table across steps (nothing
    /// iterates unless the sequence does), and the `Stats` move only as each step allows (the
    /// `stats` fuzz target).
    #[test]
    fn ops_with_dirty_keys_match_hashmap_and_stats(input in input(Style::Guarded)) {
        stats::run(&input);
    }
}

/// The vocabulary reaches the algorithm's paths the random sequences rely on: dirty builds,
/// promotions by missed reads, and compactions after mass removal, with either hasher and
/// either access style.
#[test]
fn op_mix_reaches_every_path() {
    // Wide keys beyond the single-key space, so that `Insert` below stores new keys.
    let wide = KeyRange {
        start: KEYS,
        end: WIDE_KEYS,
    };
    let ops = vec![
        Op::InsertRange(wide, Value(1)),
        Op::AbsentBurst,
        Op::Insert(Key(3), Value(2)),
        Op::MissBurst(Key(3)),
        Op::RemoveIf(Key(3), Expected::Current),
        Op::Insert(Key(5), Value(2)),
        Op::AbsentBurst,
        Op::RemoveRange(wide),
        Op::Iter,
    ];
    for input in every_hashing_and_style(&ops) {
        let stats = sequence::run(&input, || differential::Contents);
        assert!(stats.dirty_builds >= 2, "{input:?}: {stats}");
        assert!(stats.promotions >= 2, "{input:?}: {stats}");
        assert!(stats.compactions >= 1, "{input:?}: {stats}");
    }
}

/// `ops` as an input with either hasher and either access style.
fn every_hashing_and_style(ops: &[Op]) -> impl Iterator<Item = Input> + '_ {
    [Hashing::Sip, Hashing::Colliding]
        .into_iter()
        .flat_map(move |hashing| {
            [Style::Guarded, Style::Pinned].map(|style| Input {
                hashing,
                style,
                capacity: 0,
                ops: ops.to_vec(),
            })
        })
}

/// Every outcome of the read-modify-write steps, on absent and present keys, in keys that sit in
/// the read snapshot and in a dirty index: both checkers, either hasher, either access style.
#[test]
fn read_modify_write_steps_match_hashmap() {
    let wide = KeyRange {
        start: KEYS,
        end: WIDE_KEYS,
    };
    let ops = vec![
        Op::Compute(Key(1), Decision::Abort(Value(3))),
        Op::Compute(Key(1), Decision::Remove),
        Op::Compute(Key(1), Decision::Add(Value(2))),
        Op::Compute(Key(1), Decision::Add(Value(3))),
        Op::Compute(Key(1), Decision::Store(Value(0))),
        Op::Compute(Key(1), Decision::Abort(Value(1))),
        Op::UpdateOrInsert {
            key: Key(2),
            delta: Value(1),
            default: Value(3),
        },
        Op::UpdateOrInsert {
            key: Key(2),
            delta: Value(1),
            default: Value(3),
        },
        Op::UpdateOrInsertWith {
            key: Key(4),
            delta: Value(2),
            default: Value(1),
        },
        Op::UpdateOrInsertWith {
            key: Key(4),
            delta: Value(2),
            default: Value(1),
        },
        Op::RemoveEntry(Key(2)),
        Op::RemoveEntry(Key(2)),
        Op::InsertRange(wide, Value(1)),
        Op::Iter,
        Op::Insert(Key(6), Value(2)),
        // Key 6 is in a dirty index now; key 1 in the read snapshot.
        Op::Compute(Key(6), Decision::Add(Value(1))),
        Op::Compute(Key(1), Decision::Remove),
        Op::Compute(Key(6), Decision::Remove),
        Op::RemoveEntry(Key(4)),
        Op::RemoveRange(wide),
        Op::Compute(Key(1), Decision::Store(Value(2))),
    ];
    for input in every_hashing_and_style(&ops) {
        differential::run(&input);
        stats::run(&input);
    }
}
