#![doc = include_str!("crate_docs.md")]
#![deny(unsafe_op_in_unsafe_fn, missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks, rust_2018_idioms)]

mod builder;
mod compute;
mod error;
mod iter;
mod map;
mod map_ref;
mod raw;
#[cfg(feature = "serde")]
mod serde_impl;
mod stats;
mod sync;
mod traits;

pub use crate::builder::Builder;
pub use crate::compute::{Compute, Operation};
pub use crate::error::{CompareExchangeError, OccupiedError};
pub use crate::iter::{IntoIter, Iter, Keys, Values};
pub use crate::map::SnapMap;
pub use crate::map_ref::MapRef;
pub use crate::stats::Stats;
/// A pinned epoch: references handed out under it stay valid until it drops (re-exported from
/// crossbeam-epoch so that users need no direct dependency on it).
pub use crate::sync::epoch::Guard;
