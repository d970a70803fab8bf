//! The two ways of calling the map's shared-access methods, behind one trait with owned
//! results, so that one sequence runner drives either: a guard of its own per call, or one
//! long-lived [`MapRef`] that takes no guard arguments.

use std::hash::BuildHasher;

use snapmap::{CompareExchangeError, Compute, MapRef, OccupiedError, Operation, SnapMap};

use super::sequence::sorted;

/// What a `compute` call did, with owned values: [`Compute`] without the guard's lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Computed {
    /// `Compute::Inserted`.
    Inserted(u32),
    /// `Compute::Updated`.
    Updated {
        /// The value replaced.
        old: u32,
        /// The value now stored.
        new: u32,
    },
    /// `Compute::Removed`.
    Removed(u32),
    /// `Compute::Unchanged`.
    Unchanged,
    /// `Compute::Aborted`.
    Aborted(u32),
}

impl From<Compute<'_, u32, u32>> for Computed {
    fn from(done: Compute<'_, u32, u32>) -> Self {
        match done {
            Compute::Inserted(&new) => Computed::Inserted(new),
            Compute::Updated { old, new } => Computed::Updated {
                old: *old,
                new: *new,
            },
            Compute::Removed(&old) => Computed::Removed(old),
            Compute::Unchanged => Computed::Unchanged,
            Compute::Aborted(token) => Computed::Aborted(token),
        }
    }
}

/// The map's shared-access operations with owned results, so that one driver can run them
/// through a fresh guard per call ([`Guarded`]) or through a long-lived [`MapRef`].
///
/// A method added to the map's shared API gets a method here, implemented for both.
pub trait Access {
    /// `insert`: the previous value.
    fn insert(&self, k: u32, v: u32) -> Option<u32>;
    /// `get`.
    fn get(&self, k: u32) -> Option<u32>;
    /// `get_key_value`.
    fn get_key_value(&self, k: u32) -> Option<(u32, u32)>;
    /// `contains_key`.
    fn contains_key(&self, k: u32) -> bool;
    /// `get_cloned`.
    fn get_cloned(&self, k: u32) -> Option<u32>;
    /// `get_or_insert`: the current value.
    fn get_or_insert(&self, k: u32, v: u32) -> u32;
    /// `try_insert`: `Ok(inserted)` or `Err((current, not_inserted))`.
    fn try_insert(&self, k: u32, v: u32) -> Result<u32, (u32, u32)>;
    /// `get_or_insert_with`: the current value.
    fn get_or_insert_with(&self, k: u32, f: impl FnOnce() -> u32) -> u32;
    /// `remove`: the removed value.
    fn remove(&self, k: u32) -> Option<u32>;
    /// `remove_if`: the removed value.
    fn remove_if(&self, k: u32, pred: impl FnMut(&u32) -> bool) -> Option<u32>;
    /// `compare_exchange`: `Ok(previous)` or `Err((current, new))`.
    fn compare_exchange(&self, k: u32, current: u32, new: u32) -> Result<u32, (Option<u32>, u32)>;
    /// `update`: the new value.
    fn update(&self, k: u32, f: impl Fn(&u32) -> u32) -> Option<u32>;
    /// `compute`: what it did.
    fn compute(&self, k: u32, f: impl FnMut(Option<&u32>) -> Operation<u32, u32>) -> Computed;
    /// `update_or_insert`: the new value.
    fn update_or_insert(&self, k: u32, f: impl Fn(&u32) -> u32, default: u32) -> u32;
    /// `update_or_insert_with`: the new value.
    fn update_or_insert_with(
        &self,
        k: u32,
        f: impl Fn(&u32) -> u32,
        default: impl FnOnce() -> u32,
    ) -> u32;
    /// `remove_entry`: the removed key and value.
    fn remove_entry(&self, k: u32) -> Option<(u32, u32)>;
    /// `retain`.
    fn retain(&self, f: impl FnMut(&u32, &u32) -> bool);
    /// `clear`.
    fn clear(&self);
    /// `iter`, in its order.
    fn entries(&self) -> Vec<(u32, u32)>;
    /// `keys`, sorted.
    fn keys(&self) -> Vec<u32>;
    /// `values`, sorted.
    fn values(&self) -> Vec<u32>;
    /// `len`.
    fn len(&self) -> usize;
    /// `is_empty`.
    fn is_empty(&self) -> bool;
}

/// Runs every operation under a guard of its own.
pub struct Guarded<'a, S>(pub &'a SnapMap<u32, u32, S>);

impl<S: BuildHasher> Access for Guarded<'_, S> {
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

    fn compute(&self, k: u32, f: impl FnMut(Option<&u32>) -> Operation<u32, u32>) -> Computed {
        self.0.compute(k, f, &self.0.guard()).into()
    }

    fn update_or_insert(&self, k: u32, f: impl Fn(&u32) -> u32, default: u32) -> u32 {
        *self.0.update_or_insert(k, f, default, &self.0.guard())
    }

    fn update_or_insert_with(
        &self,
        k: u32,
        f: impl Fn(&u32) -> u32,
        default: impl FnOnce() -> u32,
    ) -> u32 {
        *self.0.update_or_insert_with(k, f, default, &self.0.guard())
    }

    fn remove_entry(&self, k: u32) -> Option<(u32, u32)> {
        let guard = self.0.guard();
        self.0.remove_entry(&k, &guard).map(|(&k, &v)| (k, v))
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
impl<S: BuildHasher> Access for MapRef<'_, u32, u32, S> {
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

    fn compute(&self, k: u32, f: impl FnMut(Option<&u32>) -> Operation<u32, u32>) -> Computed {
        MapRef::compute(self, k, f).into()
    }

    fn update_or_insert(&self, k: u32, f: impl Fn(&u32) -> u32, default: u32) -> u32 {
        *MapRef::update_or_insert(self, k, f, default)
    }

    fn update_or_insert_with(
        &self,
        k: u32,
        f: impl Fn(&u32) -> u32,
        default: impl FnOnce() -> u32,
    ) -> u32 {
        *MapRef::update_or_insert_with(self, k, f, default)
    }

    fn remove_entry(&self, k: u32) -> Option<(u32, u32)> {
        MapRef::remove_entry(self, &k).map(|(&k, &v)| (k, v))
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
