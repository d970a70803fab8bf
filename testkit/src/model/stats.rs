//! The `stats` target: after every step of a sequence, the map's [`Stats`] must be consistent
//! with the model and with themselves, and must have moved only as the step allows.
//!
//! Unlike `differential`, nothing here promotes unless the sequence does, so keys stay in the
//! dirty indexes across steps and the promotion, dirty-build and compaction counters move as a
//! program using the map would see them move.

use std::hash::BuildHasher;

use snapmap::{SnapMap, Stats};

use super::sequence::{self, Checker, Input, Model, Op};

/// The compaction floor: a map keeps at most `max(TOMBSTONE_FLOOR, len)` tombstones.
pub const TOMBSTONE_FLOOR: usize = 64;

/// What holds for any `Stats`, even one taken while other threads write: each shard's fields
/// are counted together under its lock.
pub fn assert_consistent(stats: &Stats) {
    assert!(
        stats.tombstones <= stats.read_slots + stats.dirty_len,
        "more tombstones than indexed entries: {stats}"
    );
    assert_eq!(
        stats.amended,
        stats.dirty_len > 0,
        "amended exactly while a (never empty) dirty index exists: {stats}"
    );
    assert!(stats.shards.is_power_of_two(), "{stats}");
}

/// What holds for the `Stats` of a map on which no write is in flight.
pub fn assert_settled(stats: &Stats) {
    assert_consistent(stats);
    assert_eq!(
        stats.len + stats.tombstones,
        stats.read_slots + stats.dirty_len,
        "every indexed entry is live or a tombstone: {stats}"
    );
    assert!(
        stats.tombstones <= stats.len.max(TOMBSTONE_FLOOR),
        "compaction let tombstones pile up: {stats}"
    );
}

/// What holds, besides [`assert_settled`], for a map that only one thread has used: a miss is
/// counted against the snapshot it was made on, and a promotion is never skipped for a lock
/// another thread holds. (With several threads, a reader still on a replaced snapshot may count
/// its miss against the next one, and a shard may stay unpromoted past its due.)
pub fn assert_sequential(stats: &Stats) {
    if stats.amended {
        // Each shard promotes once its misses reach its size.
        assert!(
            stats.misses < stats.read_slots + stats.dirty_len,
            "missed enough to promote: {stats}"
        );
    } else {
        assert_eq!(stats.misses, 0, "misses without a dirty index: {stats}");
    }
}

/// Whether `op` only reads: such a step may promote, but never starts a dirty index, compacts
/// or changes the contents.
fn reads_only(op: &Op) -> bool {
    matches!(
        op,
        Op::Get(_)
            | Op::GetKeyValue(..)
            | Op::ContainsKey(_)
            | Op::GetCloned(_)
            | Op::Iter
            | Op::Keys
            | Op::Values
            | Op::Len
            | Op::MissBurst(_)
            | Op::AbsentBurst
    )
}

/// Whether `op` touches a single key once (a bulk step may cycle through the protocol many
/// times).
fn single_key(op: &Op) -> bool {
    matches!(
        op,
        Op::Insert(..)
            | Op::Get(_)
            | Op::GetKeyValue(..)
            | Op::ContainsKey(_)
            | Op::GetCloned(_)
            | Op::GetOrInsert(..)
            | Op::TryInsert(..)
            | Op::GetOrInsertWith(..)
            | Op::Remove(_)
            | Op::RemoveIf(..)
            | Op::CompareExchange { .. }
            | Op::Update(..)
            | Op::GetMut(..)
            | Op::Compute(..)
            | Op::UpdateOrInsert { .. }
            | Op::UpdateOrInsertWith { .. }
            | Op::RemoveEntry(_)
    )
}

/// Whether `op` leaves the map unamended whatever its state before: it publishes new snapshots
/// for every shard (merging the dirty indexes), or builds a new map that way. (`clear` does not:
/// a shard with few keys deletes them in place, dirty ones included.)
fn unamends(op: &Op) -> bool {
    matches!(op, Op::ShrinkToFit | Op::Clone | Op::Extend(..))
}

/// Checks each step's `Stats` against the previous step's.
struct Transitions {
    before: Stats,
}

impl Checker for Transitions {
    fn after<S: BuildHasher>(&mut self, map: &SnapMap<u32, u32, S>, _model: &Model, op: &Op) {
        // `sequence::run` has checked `assert_settled` and `len` against the model already.
        let now = map.stats();
        assert_sequential(&now);

        let before = std::mem::replace(&mut self.before, now.clone());
        if *op == Op::Clone {
            // A new map, with counters of its own; its snapshot holds the live entries only.
            assert_eq!((now.read_slots, now.tombstones), (now.len, 0), "{now}");
            assert!(!now.amended, "{now}");
            return;
        }
        let counters = |s: &Stats| [s.promotions, s.dirty_builds, s.compactions];
        for (name, (old, new)) in ["promotions", "dirty builds", "compactions"]
            .into_iter()
            .zip(counters(&before).into_iter().zip(counters(&now)))
        {
            assert!(
                new >= old,
                "{name} went back after {op:?}: {before} -> {now}"
            );
            if single_key(op) {
                assert!(
                    new - old <= 1,
                    "{name} ran twice in {op:?}: {before} -> {now}"
                );
            }
        }
        if !before.amended && now.amended {
            assert!(
                now.dirty_builds > before.dirty_builds,
                "amended without starting a dirty index, by {op:?}: {before} -> {now}"
            );
        }
        if before.amended && !now.amended && *op != Op::Clear {
            assert!(
                now.promotions + now.compactions > before.promotions + before.compactions,
                "unamended without a promotion or compaction, by {op:?}: {before} -> {now}"
            );
        }
        if reads_only(op) {
            assert_eq!(
                (now.len, now.dirty_builds, now.compactions),
                (before.len, before.dirty_builds, before.compactions),
                "a read built or compacted, by {op:?}: {before} -> {now}"
            );
        }
        if unamends(op) {
            assert!(!now.amended, "still amended after {op:?}: {now}");
        }
        match op {
            // Each shard either deleted its keys in place (only when their tombstones stay within
            // its share of the bound) or published an empty snapshot: only tombstones are left,
            // at most half the floor of 64 in all.
            Op::Clear => {
                assert_eq!(now.len, 0, "{now}");
                assert_eq!(now.read_slots + now.dirty_len, now.tombstones, "{now}");
                assert!(now.tombstones <= 32, "{now}");
            }
            Op::ShrinkToFit => {
                assert_eq!((now.read_slots, now.tombstones), (now.len, 0), "{now}");
                // Every shard that holds entries is rebuilt.
                let held = before.read_slots + before.dirty_len > 0;
                assert!(
                    now.compactions >= before.compactions + u64::from(held),
                    "{before} -> {now}"
                );
            }
            Op::AbsentBurst => assert_eq!(
                now.promotions, before.promotions,
                "reads of an absent key promoted: {before} -> {now}"
            ),
            _ => {}
        }
    }
}

/// Runs one input; panics on the first broken expectation. Returns the map's final statistics.
pub fn run(input: &Input) -> Stats {
    let empty = SnapMap::<u32, u32>::new().stats();
    sequence::run(input, || Transitions {
        before: empty.clone(),
    })
}
