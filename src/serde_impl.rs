//! `Serialize` and `Deserialize` as a plain map (cargo feature `serde`).
#![forbid(unsafe_code)]

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, Serializer};

use crate::map::SnapMap;

impl<K, V, S> Serialize for SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static + Serialize,
    V: Send + Sync + 'static + Serialize,
    S: BuildHasher,
{
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        serializer.collect_map(self.iter(&self.guard()))
    }
}

impl<'de, K, V, S> Deserialize<'de> for SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static + Deserialize<'de>,
    V: Send + Sync + 'static + Deserialize<'de>,
    S: BuildHasher + Default,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

struct MapVisitor<K, V, S>(PhantomData<SnapMap<K, V, S>>);

impl<'de, K, V, S> Visitor<'de> for MapVisitor<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static + Deserialize<'de>,
    V: Send + Sync + 'static + Deserialize<'de>,
    S: BuildHasher + Default,
{
    type Value = SnapMap<K, V, S>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let capacity = access.size_hint().unwrap_or(0);
        let map = SnapMap::with_capacity_and_hasher(capacity, S::default());
        {
            let guard = map.guard();
            while let Some((key, value)) = access.next_entry()? {
                map.insert(key, value, &guard);
            }
            map.raw.promote(&guard);
        }
        Ok(map)
    }
}
