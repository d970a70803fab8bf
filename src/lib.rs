#![doc = include_str!("crate_docs.md")]
// The lints are the workspace's (Cargo.toml), `unsafe_code` denied among them: only the two
// modules below that hold the map's unsafe core allow it, every other module forbids it.

#[cfg(feature = "arbitrary")]
mod arbitrary_impl;
mod builder;
mod compute;
mod error;
mod iter;
mod map;
mod map_ref;
#[allow(unsafe_code)]
mod raw;
#[cfg(feature = "rayon")]
mod rayon_impl;
#[cfg(feature = "serde")]
mod serde_impl;
mod stats;
#[allow(unsafe_code)]
mod sync;
mod traits;

pub use crate::builder::Builder;
pub use crate::compute::{Compute, Operation};
pub use crate::error::{CompareExchangeError, OccupiedError};
pub use crate::iter::{IntoIter, Iter, Keys, Values};
pub use crate::map::SnapMap;
pub use crate::map_ref::MapRef;
#[cfg(feature = "rayon")]
pub use crate::rayon_impl::ParIter;
pub use crate::stats::Stats;
/// A pinned epoch: references handed out under it stay valid until it drops (re-exported from
/// crossbeam-epoch so that users need no direct dependency on it).
pub use crate::sync::epoch::Guard;
