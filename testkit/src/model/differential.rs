//! The `differential` target: a sequence of operations must agree with `HashMap` on every
//! result, and on `len` and the full contents after every step.

use std::hash::BuildHasher;

use snapmap::{SnapMap, Stats};

use super::sequence::{self, assert_contents, Checker, Input, Model, Op};

/// Compares the full contents, through `iter`, after every step.
///
/// Iterating promotes a pending dirty table, so each step here starts from a map whose keys are
/// all in the read snapshot; the `stats` target checks without iterating, and so covers keys
/// that stay in the dirty table across steps.
pub struct Contents;

impl Checker for Contents {
    fn after<S: BuildHasher>(&mut self, map: &SnapMap<u32, u32, S>, model: &Model, op: &Op) {
        let guard = &map.guard();
        assert_contents(map.iter(guard).map(|(&k, &v)| (k, v)), model, op);
    }
}

/// Runs one input; panics on the first disagreement. Returns the map's final statistics.
pub fn run(input: &Input) -> Stats {
    sequence::run(input, || Contents)
}
