//! The vocabulary of [`SnapMap::compute`](crate::SnapMap::compute): what the closure decides, and
//! what happened.
#![forbid(unsafe_code)]

/// What a [`compute`](crate::SnapMap::compute) closure decides to do with the key.
///
/// # Examples
///
/// ```
/// use snapmap::{Compute, Operation, SnapMap};
///
/// let map = SnapMap::new();
/// let guard = map.guard();
/// // Insert when absent, double when present, give up past 100.
/// let step = |current: Option<&u32>| match current {
///     None => Operation::Insert(1),
///     Some(&n) if n > 100 => Operation::Abort(n),
///     Some(&n) => Operation::Insert(n * 2),
/// };
/// assert!(matches!(map.compute("k", step, &guard), Compute::Inserted(&1)));
/// assert!(matches!(map.compute("k", step, &guard), Compute::Updated { old: &1, new: &2 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation<V, T> {
    /// Store this value: insert it if the key is absent, replace the current value otherwise.
    Insert(V),
    /// Remove the key (nothing happens if it is absent).
    Remove,
    /// Change nothing, and hand this back to the caller.
    Abort(T),
}

/// What a [`compute`](crate::SnapMap::compute) call did: the effect of the closure's last
/// decision, which took effect atomically.
///
/// # Examples
///
/// ```
/// use snapmap::{Compute, Operation, SnapMap};
///
/// let map = SnapMap::new();
/// let guard = map.guard();
/// map.insert("k", 5, &guard);
/// let removed = map.compute("k", |_| Operation::<u32, ()>::Remove, &guard);
/// assert!(matches!(removed, Compute::Removed(&5)));
/// let again = map.compute("k", |_| Operation::<u32, ()>::Remove, &guard);
/// assert!(matches!(again, Compute::Unchanged));
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum Compute<'g, V, T> {
    /// The key was absent, and now holds this value.
    Inserted(&'g V),
    /// The key's value `old` was replaced by `new`.
    Updated {
        /// The value replaced (still readable under the guard).
        old: &'g V,
        /// The value now stored.
        new: &'g V,
    },
    /// The key was removed; this was its value (still readable under the guard).
    Removed(&'g V),
    /// The closure asked to remove a key that was absent: nothing changed.
    Unchanged,
    /// The closure aborted with this: nothing changed.
    Aborted(T),
}
