//! Test support for snapmap, shared by its integration tests, benchmarks, examples, loom models
//! and fuzz targets as an ordinary dependency.
//!
//! - [`drops`]: keys and values that count their drops ([`Tracker`], [`DropKey`], [`DropVal`]),
//!   and keys whose `Hash` or `Eq` panic ([`TrapKey`]);
//! - [`epoch`]: flushing deferred reclamation and waiting for it ([`settle`]);
//! - [`panics`]: keeping intentional panics quiet, and expecting one;
//! - [`rng`]: a seeded PRNG ([`XorShift`]) and workload scaling under Miri;
//! - [`alloc`]: a global allocator that counts live heap bytes;
//! - [`model`]: the one operation vocabulary and sequential model of the map, and the checks
//!   the proptest differential tests and the fuzz targets run.
//!
//! Everything goes through snapmap's public API (plus its hidden `__check_invariants`).

/// The `arbitrary` crate the model decodes its inputs with, for callers that name its traits.
pub use arbitrary;

pub mod alloc;
pub mod drops;
pub mod epoch;
pub mod model;
pub mod panics;
pub mod promote;
pub mod rng;

pub use drops::{DropKey, DropVal, Tracked, Tracker, Trap, TrapKey};
pub use epoch::{flush_epoch, settle, SETTLE_TIMEOUT};
pub use panics::{expect_panic, quiet_intentional_panics, TRAP};
pub use promote::promote;
pub use rng::{scaled, XorShift};

/// The repository README's example, run as a doctest of this crate (snapmap's own sources stay
/// untouched by test plumbing).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
