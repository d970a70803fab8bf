//! snapmap's `Arbitrary` impl (feature `arbitrary`): a map decodes from the same bytes, and
//! takes the same bytes, as the `Vec` of pairs that `arbitrary` itself would decode there.
#![cfg(feature = "arbitrary")]

use std::collections::HashMap;

use arbitrary::{Arbitrary, Unstructured};
use snapmap::SnapMap;
use testkit::XorShift;

type Map = SnapMap<u8, u16>;

/// Pseudo-random inputs of every length up to 300 bytes, of a fixed seed.
fn inputs() -> Vec<Vec<u8>> {
    let mut rng = XorShift::new(0x5eed);
    (0..300)
        .map(|len| (0..len).map(|_| rng.below(256) as u8).collect())
        .collect()
}

/// The pairs as a `HashMap` collects them: a later pair replaces an earlier one.
fn last_wins(pairs: Vec<(u8, u16)>) -> HashMap<u8, u16> {
    pairs.into_iter().collect()
}

fn contents(map: &Map) -> HashMap<u8, u16> {
    map.iter(&map.guard()).map(|(&k, &v)| (k, v)).collect()
}

#[test]
fn a_map_is_the_vec_of_pairs_the_same_bytes_decode_to() {
    for bytes in inputs() {
        let mut as_map = Unstructured::new(&bytes);
        let mut as_vec = Unstructured::new(&bytes);
        let map = Map::arbitrary(&mut as_map).unwrap();
        let pairs = Vec::<(u8, u16)>::arbitrary(&mut as_vec).unwrap();
        assert_eq!(contents(&map), last_wins(pairs), "{bytes:?}");
        assert_eq!(map.len(), contents(&map).len());
        // The same bytes consumed, so that what follows a map in an input decodes alike.
        assert_eq!(as_map.len(), as_vec.len(), "{bytes:?}");

        let map = Map::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
        let pairs = Vec::<(u8, u16)>::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
        assert_eq!(contents(&map), last_wins(pairs), "take_rest of {bytes:?}");
    }
}

#[test]
fn a_duplicate_key_keeps_its_last_value() {
    // Each pair: a byte with its low bit set, the key, the value (u16, little-endian).
    let bytes = [1, 7, 1, 0, /* */ 1, 9, 2, 0, /* */ 1, 7, 3, 1];
    let map = Map::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
    assert_eq!(contents(&map), HashMap::from([(7, 0x103), (9, 2)]));
    assert_eq!(map.len(), 2);
}

#[test]
fn a_decoded_map_is_promoted_and_usable() {
    let bytes: Vec<u8> = (0..=255u8).flat_map(|k| [1, k, k, 0]).collect();
    let map = Map::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
    let stats = map.stats();
    assert_eq!(
        (stats.len, stats.read_slots, stats.dirty_len),
        (256, 256, 0)
    );
    let guard = map.guard();
    assert_eq!(map.insert(3, 9, &guard), Some(&3));
    assert_eq!(map.remove(&200, &guard), Some(&200));
    assert_eq!(map.len(), 255);
}

#[test]
fn no_bytes_decode_to_an_empty_map() {
    let map = Map::arbitrary_take_rest(Unstructured::new(&[])).unwrap();
    assert!(map.is_empty());
    assert_eq!(Map::size_hint(0), (0, None));
}
