//! `Arbitrary` for fuzzing (cargo feature `arbitrary`): a map decoded as a sequence of pairs.
#![forbid(unsafe_code)]

use std::hash::{BuildHasher, Hash};

use arbitrary::{Arbitrary, Result, Unstructured};

use crate::map::SnapMap;

/// Decodes the pairs exactly as `Vec<(K, V)>` would, then collects them; a later pair replaces
/// an earlier one with the same key, as in [`FromIterator`]. The map has `S::default()` as its
/// hasher and the default shard count, and its pairs are all in the read snapshot.
///
/// # Examples
///
/// ```
/// use arbitrary::{Arbitrary, Unstructured};
/// use snapmap::SnapMap;
///
/// // Each pair is announced by a byte with its low bit set; then a key byte and a value byte.
/// let bytes = [1, 7, 1, /* */ 1, 9, 2, /* */ 1, 7, 3];
/// let map = SnapMap::<u8, u8>::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
/// assert_eq!(map.len(), 2);
/// assert_eq!(map.get_cloned(&7), Some(3)); // the later pair wins
/// assert_eq!(map.get_cloned(&9), Some(2));
/// ```
impl<'a, K, V, S> Arbitrary<'a> for SnapMap<K, V, S>
where
    K: Arbitrary<'a> + Hash + Eq + Send + Sync + 'static,
    V: Arbitrary<'a> + Send + Sync + 'static,
    S: BuildHasher + Default,
{
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        u.arbitrary_iter()?.collect()
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> Result<Self> {
        u.arbitrary_take_rest_iter()?.collect()
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (0, None)
    }
}
