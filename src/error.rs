//! Errors that hand the caller's value back.
#![forbid(unsafe_code)]

use std::fmt;

/// The error of [`SnapMap::try_insert`](crate::SnapMap::try_insert): the key was present.
///
/// # Examples
///
/// ```
/// let map = snapmap::SnapMap::new();
/// let guard = map.guard();
/// map.insert(1, "a", &guard);
/// let err = map.try_insert(1, "b", &guard).unwrap_err();
/// assert_eq!(err.current, &"a");
/// assert_eq!(err.not_inserted, "b");
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct OccupiedError<'g, V> {
    /// The value the key has.
    pub current: &'g V,
    /// The value that was not inserted, handed back.
    pub not_inserted: V,
}

impl<V> fmt::Display for OccupiedError<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the key is already present")
    }
}

impl<V: fmt::Debug> std::error::Error for OccupiedError<'_, V> {}

/// The error of [`SnapMap::compare_exchange`](crate::SnapMap::compare_exchange): the key was
/// absent or its value differed.
///
/// # Examples
///
/// ```
/// let map: snapmap::SnapMap<u32, i32> = snapmap::SnapMap::new();
/// let guard = map.guard();
/// let err = map.compare_exchange(&1, &0, 5, &guard).unwrap_err();
/// assert_eq!(err.current, None); // absent, and not inserted
/// assert_eq!(err.new, 5);
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct CompareExchangeError<'g, V> {
    /// The value found: `None` if the key was absent.
    pub current: Option<&'g V>,
    /// The value that was not stored, handed back.
    pub new: V,
}

impl<V> fmt::Display for CompareExchangeError<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.current {
            Some(_) => f.write_str("the current value differs from the expected one"),
            None => f.write_str("the key is absent"),
        }
    }
}

impl<V: fmt::Debug> std::error::Error for CompareExchangeError<'_, V> {}
