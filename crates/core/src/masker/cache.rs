//! The masker's in-process cache of value ↔ token pairs.
//!
//! One arena of bytes holds every cached value and token back to back, and two hash tables
//! of entry indexes find them by (kind, value) and by token. Caching a pair allocates nothing
//! once the arena has grown, and clearing or dropping the cache frees three buffers, where a
//! map of boxed keys and shared strings made a few allocations per pair and spent a tenth of a
//! large masking run freeing them at the end.

use std::time::Instant;

use hashbrown::HashTable;

use crate::catalogue::KindId;
use crate::detect::Match;
use crate::fxhash::{hash_bytes, hash_kind_bytes};

/// At most this many pairs, and this many bytes of values and tokens: the cache is cleared
/// when either is reached (it is a cache; the store has every pair).
const MAX_ENTRIES: usize = 1_000_000;
const MAX_BYTES: usize = 256 << 20;

/// The kind of a pair cached by [`Cache::insert_resolved`]: none a detector has (it is only
/// in the token table, where kinds are not compared).
const RESOLVED: KindId = KindId(u16::MAX);

/// A cached pair, kept in the tables themselves with its hash: a probe compares hashes
/// without leaving the table, and a hit reads the arena once. (Indexes into a separate list
/// of entries cost one more cache miss per lookup, a third of the time of masking text whose
/// identifiers repeat.)
#[derive(Clone, Copy)]
struct Entry {
    /// hash of (kind, value) in `by_value`, of the token in `by_token`
    hash: u64,
    /// the value, then the token, in the arena
    start: u32,
    value_len: u16,
    token_len: u16,
    kind: KindId,
    /// whole seconds from the cache's birth to when the pair was cached
    age: u32,
}

pub(super) struct Cache {
    /// values and tokens are UTF-8 (cut from `&str` text), so the arena is a `String`
    arena: String,
    by_value: HashTable<Entry>,
    by_token: HashTable<Entry>,
    born: Instant,
}

impl Default for Cache {
    fn default() -> Cache {
        Cache {
            arena: String::new(),
            by_value: HashTable::new(),
            by_token: HashTable::new(),
            born: Instant::now(),
        }
    }
}

impl Cache {
    fn value_str(&self, e: &Entry) -> &str {
        let s = e.start as usize;
        self.arena
            .get(s..s + usize::from(e.value_len))
            .unwrap_or("")
    }

    fn token_str(&self, e: &Entry) -> &str {
        let s = e.start as usize + usize::from(e.value_len);
        self.arena
            .get(s..s + usize::from(e.token_len))
            .unwrap_or("")
    }

    fn value_of(&self, e: &Entry) -> &[u8] {
        self.value_str(e).as_bytes()
    }

    fn token_of(&self, e: &Entry) -> &[u8] {
        self.token_str(e).as_bytes()
    }

    /// The oldest age a pair may have to be returned: cached at or after `fresh_since`, to
    /// the second. Computed once for a batch of lookups.
    pub(super) fn min_age(&self, fresh_since: Option<Instant>) -> u32 {
        fresh_since.map_or(0, |f| {
            u32::try_from(f.saturating_duration_since(self.born).as_secs()).unwrap_or(u32::MAX)
        })
    }

    /// The token cached for `value` of `kind`, if its age is at least `min_age` (see
    /// [`min_age`](Self::min_age)).
    pub(super) fn token(&self, kind: KindId, value: &[u8], min_age: u32) -> Option<&str> {
        let hash = hash_kind_bytes(kind, value);
        let e = self.by_value.find(hash, |e| {
            e.hash == hash && e.kind == kind && self.value_of(e) == value
        })?;
        (e.age >= min_age).then(|| self.token_str(e))
    }

    /// [`token`](Self::token) for the value of every match in `h`, into `out` (cleared
    /// first), in three passes: hash every value, find every entry by hash and kind, then
    /// compare the values. A lookup mostly waits for its table entry to come from memory;
    /// in a loop of lookups alone the processor waits for several at once, where a loop
    /// that also hashes and compares waited for about one at a time (a third of the cost
    /// of masking text with many distinct values).
    pub(super) fn tokens<'c>(
        &'c self,
        h: &[u8],
        matches: &[Match],
        min_age: u32,
        out: &mut Vec<Option<&'c str>>,
    ) {
        out.clear();
        let hashes: Vec<u64> = matches
            .iter()
            .map(|m| hash_kind_bytes(m.kind(), &h[m.range()]))
            .collect();
        let entries: Vec<Option<Entry>> = matches
            .iter()
            .zip(&hashes)
            .map(|(m, &hash)| {
                self.by_value
                    .find(hash, |e| e.hash == hash && e.kind == m.kind())
                    .copied()
            })
            .collect();
        // the entries point into the arena: read a byte of each value first, in a loop
        // without a branch, so that the processor fetches many at once (the comparisons
        // below, branching on each, waited for them about one at a time)
        let bytes = self.arena.as_bytes();
        let touched = entries.iter().flatten().fold(0u8, |x, e| {
            x ^ bytes.get(e.start as usize).copied().unwrap_or(0)
        });
        std::hint::black_box(touched);
        out.extend(matches.iter().zip(entries).map(|(m, e)| {
            let value = &h[m.range()];
            match e {
                Some(e) if self.value_of(&e) == value => {
                    (e.age >= min_age).then(|| self.token_str(&e))
                }
                // another value with the same 64-bit hash came first: look further
                Some(_) => self.token(m.kind(), value, min_age),
                None => None,
            }
        }));
    }

    /// The value cached for `token`, if its age is at least `min_age`.
    pub(super) fn value(&self, token: &str, min_age: u32) -> Option<&str> {
        let hash = hash_bytes(token.as_bytes());
        let e = self.by_token.find(hash, |e| {
            e.hash == hash && self.token_of(e) == token.as_bytes()
        })?;
        (e.age >= min_age).then(|| self.value_str(e))
    }

    /// Caches the pair; a pair with the same (kind, value) or token is replaced. A value
    /// longer than 64 KiB, or not UTF-8, is not cached.
    pub(super) fn insert(&mut self, kind: KindId, value: &[u8], token: &str, at: Instant) {
        let Ok(value) = std::str::from_utf8(value) else {
            return;
        };
        let vh = hash_kind_bytes(kind, value.as_bytes());
        // forget an older pair for the value (`push` forgets the token's)
        let old = self
            .by_value
            .find(vh, |e| {
                e.hash == vh && e.kind == kind && self.value_of(e) == value.as_bytes()
            })
            .copied();
        if let Some(old) = old {
            self.forget(&old);
        }
        if let Some(entry) = self.push(kind, value, token, at) {
            self.by_value
                .insert_unique(vh, Entry { hash: vh, ..entry }, |e| e.hash);
        }
    }

    /// Caches `token` → `value` for unmasking only: a pair resolved from the store, whose
    /// kind the token does not tell, so it is never used to mask. A pair cached for the same
    /// token is replaced, and an [`insert`](Self::insert) of the token replaces this one.
    pub(super) fn insert_resolved(&mut self, value: &str, token: &str, at: Instant) {
        self.push(RESOLVED, value, token, at);
    }

    /// Forgets the pair cached for `token`, appends `value` and `token` to the arena and
    /// puts the new pair in the token table; returns it, or `None` when either is too long
    /// to cache.
    fn push(&mut self, kind: KindId, value: &str, token: &str, at: Instant) -> Option<Entry> {
        let (Ok(value_len), Ok(token_len)) =
            (u16::try_from(value.len()), u16::try_from(token.len()))
        else {
            return None;
        };
        self.make_room(value.len() + token.len());
        let th = hash_bytes(token.as_bytes());
        let old = self
            .by_token
            .find(th, |e| e.hash == th && self.token_of(e) == token.as_bytes())
            .copied();
        if let Some(old) = old {
            self.forget(&old);
        }
        let entry = Entry {
            hash: th,
            start: self.arena.len() as u32,
            value_len,
            token_len,
            kind,
            age: u32::try_from(at.saturating_duration_since(self.born).as_secs())
                .unwrap_or(u32::MAX),
        };
        self.arena.push_str(value);
        self.arena.push_str(token);
        self.by_token.insert_unique(th, entry, |e| e.hash);
        Some(entry)
    }

    /// Clears the cache if `bytes` more would take it past its bounds.
    fn make_room(&mut self, bytes: usize) {
        if self.by_value.len().max(self.by_token.len()) >= MAX_ENTRIES
            || self.arena.len() + bytes > MAX_BYTES
        {
            self.clear();
        }
    }

    /// Unlinks the pair `e` (from either table) from both tables (its bytes stay in the
    /// arena until a clear).
    fn forget(&mut self, e: &Entry) {
        let start = e.start;
        let vh = hash_kind_bytes(e.kind, self.value_of(e));
        let th = hash_bytes(self.token_of(e));
        if let Ok(slot) = self.by_value.find_entry(vh, |x| x.start == start) {
            slot.remove();
        }
        if let Ok(slot) = self.by_token.find_entry(th, |x| x.start == start) {
            slot.remove();
        }
    }

    pub(super) fn clear(&mut self) {
        self.arena.clear();
        self.by_value.clear();
        self.by_token.clear();
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.by_value.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_found_both_ways_and_replaced() {
        let mut c = Cache::default();
        let t0 = Instant::now();
        let (k1, k2) = (KindId(1), KindId(2));
        c.insert(k1, b"i-0123456789abcdef0", "AWS_EC2_AAAAAA", t0);
        c.insert(k2, b"i-0123456789abcdef0", "AWS_X_BBBBBB", t0);
        assert_eq!(
            c.token(k1, b"i-0123456789abcdef0", c.min_age(Some(t0))),
            Some("AWS_EC2_AAAAAA")
        );
        assert_eq!(
            c.token(k2, b"i-0123456789abcdef0", c.min_age(Some(t0))),
            Some("AWS_X_BBBBBB")
        );
        assert_eq!(
            c.value("AWS_EC2_AAAAAA", c.min_age(Some(t0))),
            Some("i-0123456789abcdef0")
        );
        assert_eq!(
            c.token(k1, b"i-0123456789abcdef1", c.min_age(Some(t0))),
            None
        );
        assert_eq!(c.value("AWS_EC2_CCCCCC", c.min_age(Some(t0))), None);
        // a new token for the same value replaces the pair, both ways
        c.insert(k1, b"i-0123456789abcdef0", "AWS_EC2_CCCCCC", t0);
        assert_eq!(
            c.token(k1, b"i-0123456789abcdef0", c.min_age(Some(t0))),
            Some("AWS_EC2_CCCCCC")
        );
        assert_eq!(c.value("AWS_EC2_AAAAAA", c.min_age(Some(t0))), None);
        assert_eq!(c.len(), 2);
        // stale pairs are not returned
        let later = t0 + std::time::Duration::from_secs(1);
        assert_eq!(
            c.token(k1, b"i-0123456789abcdef0", c.min_age(Some(later))),
            None
        );
        assert_eq!(c.value("AWS_EC2_CCCCCC", c.min_age(Some(later))), None);
    }

    #[test]
    fn a_batch_lookup_answers_as_single_lookups_do() {
        let h = b"i-0123456789abcdef0 vpc-0a1b2c3d sg-0123456789abcdef0 10.1.2.3 \
                  i-0123456789abcdef0 subnet-0123456789abcdef0 vpc-0a1b2c3d";
        let matches: Vec<Match> = crate::Detector::new().find_iter(h).collect();
        assert_eq!(matches.len(), 7);
        let mut c = Cache::default();
        let t0 = Instant::now();
        let t1 = t0 + std::time::Duration::from_secs(5);
        // cached: the instance (old) and the VPC (new); the same VPC value under another
        // kind, which must not answer for it; nothing for the rest
        let (i, v) = (&matches[0], &matches[1]);
        c.insert(i.kind(), &h[i.range()], "AWS_EC2_AAAAAA", t0);
        c.insert(v.kind(), &h[v.range()], "AWS_VPC_BBBBBB", t1);
        c.insert(KindId(0), &h[v.range()], "AWS_X_CCCCCC", t1);
        for min_age in [c.min_age(Some(t0)), c.min_age(Some(t1))] {
            let mut got = Vec::new();
            c.tokens(h, &matches, min_age, &mut got);
            let want: Vec<Option<&str>> = matches
                .iter()
                .map(|m| c.token(m.kind(), &h[m.range()], min_age))
                .collect();
            assert_eq!(got, want);
            assert_eq!(got[1], Some("AWS_VPC_BBBBBB"));
            assert_eq!(got[6], Some("AWS_VPC_BBBBBB"));
            assert_eq!(got[2], None);
        }
        let mut got = Vec::new();
        c.tokens(h, &matches, c.min_age(Some(t0)), &mut got);
        assert_eq!(got[0], Some("AWS_EC2_AAAAAA"));
        assert_eq!(got[4], Some("AWS_EC2_AAAAAA"));
        c.tokens(h, &matches, c.min_age(Some(t1)), &mut got);
        assert_eq!(got[0], None, "a stale pair answers in a batch too");
    }

    #[test]
    fn many_pairs_survive_the_tables_growing() {
        let mut c = Cache::default();
        let t0 = Instant::now();
        let k = KindId(3);
        for n in 0..50_000u32 {
            c.insert(
                k,
                format!("value-{n}").as_bytes(),
                &format!("AWS_T_{n:06}"),
                t0,
            );
        }
        for n in (0..50_000u32).step_by(997) {
            let want = format!("AWS_T_{n:06}");
            assert_eq!(
                c.token(k, format!("value-{n}").as_bytes(), c.min_age(Some(t0))),
                Some(want.as_str())
            );
            assert_eq!(
                c.value(&want, c.min_age(Some(t0))),
                Some(format!("value-{n}").as_str())
            );
        }
        c.clear();
        assert_eq!(c.token(k, b"value-1", c.min_age(Some(t0))), None);
    }
}
