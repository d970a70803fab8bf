//! The operation model of the map, shared by the proptest differential tests, the cargo-fuzz
//! targets and the replay of their checked-in inputs.
//!
//! - [`sequence`]: the operation vocabulary ([`sequence::Op`]) and the sequential model that
//!   every single-threaded check runs through;
//! - [`access`]: the two ways of calling the shared-access methods (guard per call, `MapRef`);
//! - [`differential`], [`stats`]: what the two sequence targets check after each step;
//! - [`concurrent`]: threads running short operation lists on one map, checked whatever the
//!   interleaving.
//!
//! Inputs are decoded from bytes by [`decode`], as `libfuzzer-sys` decodes them, so a proptest
//! case, a fuzzer input and a checked-in seed are the same thing.

use arbitrary::{Arbitrary, Unstructured};

pub mod access;
pub mod concurrent;
pub mod differential;
pub mod sequence;
pub mod stats;

/// Decodes `bytes` as `libfuzzer-sys` does before calling a target; `None` where the fuzzer
/// would reject the input without running it.
pub fn decode<'a, T: Arbitrary<'a>>(bytes: &'a [u8]) -> Option<T> {
    if bytes.len() < T::size_hint(0).0 {
        return None;
    }
    T::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}
