//! The checking code of snapmap's fuzz targets.
//!
//! Each target decodes its input with `arbitrary` and hands it to a `run` function here, which
//! panics when the map misbehaves. The main crate's `tests/fuzz_replay.rs` includes this module
//! tree with `#[path]` and replays the checked-in corpora through the same functions on stable
//! Rust, so nothing is written twice.

#[path = "../../tests/common/mod.rs"]
pub mod common;
pub mod concurrent;
pub mod differential;
pub mod sequence;
pub mod stats;
