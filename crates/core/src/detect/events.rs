//! One pass over the text that finds where the rules anchored on punctuation and digits have
//! work, and hands each place to its rule:
//!
//! - a `-`: resource ids, UUIDs, `ip-…` host names, region-named buckets and resource names
//!   ([`DashIds`]), and flag contexts from a `--` ([`Flags`]);
//! - every `:` and `=`: key contexts ([`Keys`]), and, with a hex digit before and a hex digit
//!   or `:` after, IPv6 addresses ([`Ipv6`]);
//! - a digit that starts a run with a digit three bytes on, or one followed by `.` or `-`,
//!   unless it starts a run right after a `.` or `-`: account ids and IPv4 addresses
//!   ([`Numbers`]).
//!
//! These rules used to run a `memchr` loop each. On prose and code their anchors come every
//! hundred bytes or so, and each hit cost 15-30 ns in the search alone (a fresh call, its
//! setup, a mispredicted exit), more than the check it led to. Here the text is classified
//! 64 bytes at a time, a few vector compares gathered into one bit per byte and class (SSE2,
//! the x86-64 baseline, so no runtime dispatch), a span of blocks at once; the places of the
//! span are then visited in order. Each rule sees its places in text order, as its own loop
//! did, and keeps its own state, so what it finds is unchanged (tested against the loops it
//! replaced).

use super::Sink;
use super::context::{ContextIndex, Flags, Keys};
use super::ids::DashIds;
use super::net::{Ipv6, Numbers};

/// Bytes classified at once: one bit each in a `u64`.
const BLOCK: usize = 64;

/// Blocks classified before their places are visited: 4 KiB of text, whose places (512
/// bytes) stay in the first-level cache while the rules visit them.
const SPAN: usize = 64;

/// The bits of one block that its places are made of.
#[derive(Clone, Copy, Default)]
struct Raw {
    /// ASCII digits
    digit: u64,
    /// `-` and `.`
    dash_dot: u64,
    /// `-`, `:` and `=`: places of their own
    punct: u64,
}

impl Raw {
    /// The bits of a 64-byte block.
    ///
    /// On x86-64, sixteen bytes at a time with SSE2 (the baseline of the architecture, so no
    /// runtime dispatch; `safe_arch` holds the `unsafe` of the intrinsics): compares, and one
    /// `movemask` per class and sixteen bytes gathers the bits.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[inline]
    fn of(block: &[u8; BLOCK]) -> Raw {
        use safe_arch::{
            add_i8_m128i, cmp_eq_mask_i8_m128i as eq, cmp_lt_mask_i8_m128i, load_unaligned_m128i,
            move_mask_i8_m128i, set_splat_i8_m128i,
        };
        let byte = |b: u8| set_splat_i8_m128i(b.cast_signed());
        // sixteen bits, one per byte
        let bits = |m| u64::from(move_mask_i8_m128i(m).cast_unsigned());
        let mut raw = Raw::default();
        for (k, sixteen) in block.as_chunks::<16>().0.iter().enumerate() {
            let x = load_unaligned_m128i(sixteen);
            // an ASCII digit: shifted so that `0` is the smallest signed byte, below it
            // plus 10 (two instructions, where an unsigned compare takes three)
            let d = add_i8_m128i(x, byte(0x80 - b'0'));
            let dash = eq(x, byte(b'-'));
            let at = 16 * k;
            raw.digit |= bits(cmp_lt_mask_i8_m128i(d, byte(0x80 + 10))) << at;
            raw.dash_dot |= bits(dash | eq(x, byte(b'.'))) << at;
            raw.punct |= bits(dash | eq(x, byte(b':')) | eq(x, byte(b'='))) << at;
        }
        raw
    }

    /// The bits of a 64-byte block: a loop the compiler vectorizes.
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    #[inline]
    fn of(block: &[u8; BLOCK]) -> Raw {
        Raw::of_portable(block)
    }

    /// [`Raw::of`] without SIMD intrinsics: each class a loop over 0/1 bytes, eight of which a
    /// multiply gathers into eight bits (it moves byte i's bit to bit 56 + i, and no two
    /// partial products meet, so nothing carries).
    #[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
    fn of_portable(block: &[u8; BLOCK]) -> Raw {
        let bits = |class: fn(u8) -> bool| {
            let mut flags = [0u8; BLOCK];
            for (f, &b) in flags.iter_mut().zip(block) {
                *f = u8::from(class(b));
            }
            let mut bits = 0;
            for (j, eight) in flags.as_chunks::<8>().0.iter().enumerate() {
                let x = u64::from_le_bytes(*eight);
                bits |= (x.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * j);
            }
            bits
        };
        Raw {
            digit: bits(|b| b.is_ascii_digit()),
            dash_dot: bits(|b| matches!(b, b'-' | b'.')),
            punct: bits(|b| matches!(b, b'-' | b':' | b'=')),
        }
    }

    /// The raw bits of the block of `h` that starts at `at` (0 past the end of `h`).
    #[inline]
    fn at(h: &[u8], at: usize) -> Raw {
        let rest = h.get(at..).unwrap_or_default();
        if let Some(block) = rest.first_chunk() {
            Raw::of(block)
        } else {
            let mut block = [0; BLOCK];
            block[..rest.len()].copy_from_slice(rest);
            Raw::of(&block)
        }
    }
}

/// The places of one block, a bit per byte and rule.
#[derive(Clone, Copy, Default)]
struct Places {
    /// every `-`
    dash: u64,
    /// every `:` and `=`
    key: u64,
    /// the digits that may start an account id or an IPv4 address
    number: u64,
}

/// The places of block `raw`, given the blocks before and after it: every `-`, `:` and `=`,
/// and the digits that may start an account id or an IPv4 address (a superset of what
/// [`Numbers`] takes): one followed by `.` or `-`, or one that starts a run with a digit
/// three bytes on, but not one that starts a run after a `.` or `-` (`1.2.3`, `2024-05-01`:
/// such a run is a part of something else, and `Numbers` turns it away).
#[inline]
fn places(prev: &Raw, raw: &Raw, next: &Raw) -> Places {
    // bit k of each: the byte before byte k, the one after it, the one three after it
    let digit_before = raw.digit << 1 | prev.digit >> 63;
    let dash_dot_before = raw.dash_dot << 1 | prev.dash_dot >> 63;
    let dash_dot_after = raw.dash_dot >> 1 | next.dash_dot << 63;
    let digit_three_on = raw.digit >> 3 | next.digit << 61;
    let run_start = !digit_before;
    let number = raw.digit
        & (dash_dot_after | (run_start & digit_three_on))
        & !(run_start & dash_dot_before);
    // `-` is the one byte in both `punct` and `dash_dot`
    let dash = raw.punct & raw.dash_dot;
    Places {
        dash,
        key: raw.punct & !dash,
        number,
    }
}

// offsets in a span fit in a `u16`
const _: () = assert!(SPAN * BLOCK <= 1 << 16);

/// The rules' lists in [`Lists`].
const DASH: usize = 0;
const KEY: usize = 1;
const NUMBER: usize = 2;

/// The places of a span, each rule's ([`DASH`], [`KEY`], [`NUMBER`]) in text order, as
/// offsets in the span.
///
/// A block's places are written two at a time without looking at how many there are, and
/// the count then moves on by as many as there are: a block with no more than two places of
/// a rule (most blocks of prose and code) costs no branch that depends on the text, where
/// visiting each block's bits took one that the predictor missed about half the time, and
/// one more for each place (its rule).
struct Lists {
    /// one region of `room` offsets per rule (one allocation)
    at: Vec<u16>,
    /// the places of a span and two more
    room: usize,
    len: [usize; 3],
}

impl Lists {
    /// Lists for the spans of `h`.
    fn new(h: &[u8]) -> Lists {
        let room = h.len().div_ceil(BLOCK).min(SPAN) * BLOCK + 2;
        Lists {
            at: vec![0; 3 * room],
            room,
            len: [0; 3],
        }
    }

    /// Appends the places `bits` of `rule` in the block that starts at `base` in the span.
    #[inline]
    fn push(&mut self, rule: usize, base: usize, bits: u64) {
        let count = bits.count_ones() as usize;
        // the list holds the places of the span's blocks before this one, so two more fit
        // in its region; offsets are below `SPAN * BLOCK`
        let (from, len) = (rule * self.room, self.len[rule]);
        let Some(region) = self.at.get_mut(from..from + self.room) else {
            return;
        };
        let mut rest = bits;
        if let Some(two) = region.get_mut(len..len + 2) {
            for slot in two {
                *slot = (base + rest.trailing_zeros() as usize) as u16;
                rest &= rest.wrapping_sub(1);
            }
        }
        if count > 2 {
            let mut at = len + 2;
            while rest != 0 {
                if let Some(slot) = region.get_mut(at) {
                    *slot = (base + rest.trailing_zeros() as usize) as u16;
                }
                rest &= rest - 1;
                at += 1;
            }
        }
        self.len[rule] = len + count;
    }

    /// The places of `rule` in the span.
    fn offsets(&self, rule: usize) -> &[u16] {
        let from = rule * self.room;
        self.at.get(from..from + self.len[rule]).unwrap_or_default()
    }
}

/// Finds the places of a text span after span, carrying the blocks at the border.
struct Spans {
    /// the block before the next span's first
    prev: Raw,
    /// the next span's first block
    first: Raw,
}

impl Spans {
    fn new(h: &[u8]) -> Spans {
        Spans {
            prev: Raw::default(),
            first: Raw::at(h, 0),
        }
    }

    /// The places of the blocks from `from` (the end of the last span, a multiple of
    /// [`BLOCK`]), as many blocks as fit in a span and hold text, into `lists`; returns the
    /// bytes the span covers.
    #[inline]
    fn span(&mut self, h: &[u8], from: usize, lists: &mut Lists) -> usize {
        let blocks = h.len().saturating_sub(from).div_ceil(BLOCK).min(SPAN);
        // the raw bits of the block before the span, its blocks and the one after it: first
        // all of them in a plain loop, then the places from each block's neighbours
        let mut raws = [Raw::default(); SPAN + 2];
        (raws[0], raws[1]) = (self.prev, self.first);
        let after = h.get(from + BLOCK..).unwrap_or_default();
        let whole = after.as_chunks::<BLOCK>().0;
        let n = whole.len().min(blocks);
        for (raw, block) in raws[2..2 + n].iter_mut().zip(whole) {
            *raw = Raw::of(block);
        }
        for (j, raw) in raws[2 + n..2 + blocks].iter_mut().enumerate() {
            *raw = Raw::at(h, from + (n + j + 1) * BLOCK);
        }
        lists.len = [0; 3];
        for (i, three) in raws[..blocks + 2].windows(3).enumerate() {
            let bits = places(&three[0], &three[1], &three[2]);
            lists.push(DASH, i * BLOCK, bits.dash);
            lists.push(KEY, i * BLOCK, bits.key);
            lists.push(NUMBER, i * BLOCK, bits.number);
        }
        (self.prev, self.first) = (raws[blocks], raws[blocks + 1]);
        blocks * BLOCK
    }
}

/// Runs the dash, number, IPv6 and key rules over `h` (resource names too when `names`).
///
/// The text goes in spans of [`SPAN`] blocks: the places of a span are found, then each
/// rule visits its own, in order.
pub(super) fn find(h: &[u8], names: bool, contexts: &ContextIndex, sink: &mut Sink) {
    let mut dashes = DashIds::new(names);
    let mut numbers = Numbers::default();
    let mut v6 = Ipv6::default();
    let mut keys = Keys::new(contexts);
    let mut flags = Flags::default();
    let mut spans = Spans::new(h);
    let mut lists = Lists::new(h);
    let mut from = 0;
    while from < h.len() {
        let len = spans.span(h, from, &mut lists);
        for &q in lists.offsets(DASH) {
            let p = from + usize::from(q);
            dashes.at(h, p, sink);
            flags.at(contexts, h, p, sink);
        }
        for &q in lists.offsets(KEY) {
            let p = from + usize::from(q);
            keys.at(h, p, sink);
            // an IPv6 address: a `:` with a hex digit before and a hex digit or `:` after
            let after = h.get(p + 1).copied().unwrap_or(0);
            if p > 0 && h[p] == b':' && Ipv6::may_start(h[p - 1], after) {
                v6.at(h, p, sink);
            }
        }
        for &q in lists.offsets(NUMBER) {
            numbers.at(h, from + usize::from(q), sink);
        }
        from += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule the byte at `p` is a place of, the plain way: 1 dash, 2 key, 4 number, or 0.
    fn place_plain(h: &[u8], p: usize) -> u8 {
        let at = |i: usize| h.get(i).copied().unwrap_or(0);
        let (c, before) = (at(p), p.checked_sub(1).map_or(0, at));
        let run_start = !before.is_ascii_digit();
        let number = c.is_ascii_digit()
            && (matches!(at(p + 1), b'.' | b'-') || (run_start && at(p + 3).is_ascii_digit()))
            && !(run_start && matches!(before, b'.' | b'-'));
        match c {
            b'-' => 1,
            b':' | b'=' => 2,
            _ => 4 * u8::from(number),
        }
    }

    #[test]
    fn the_places_are_the_plain_places_everywhere() {
        // texts across spans and blocks, of every length near their borders, with every
        // byte value and bytes that make each class
        let mut rng = crate::XorShift(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next();
        let alphabet = b"-:=.09aZz_ \x00\xff/";
        let mut lens: Vec<usize> = (0..300).collect();
        lens.extend([
            SPAN * BLOCK - 1,
            SPAN * BLOCK,
            SPAN * BLOCK + 1,
            3 * SPAN * BLOCK + 17,
        ]);
        for (round, &len) in lens.iter().cycle().take(3000).enumerate() {
            let h: Vec<u8> = (0..len)
                .map(|i| {
                    let r = next();
                    if round % 4 == 0 {
                        (r >> 8) as u8 ^ i as u8
                    } else {
                        alphabet[(r % alphabet.len() as u64) as usize]
                    }
                })
                .collect();
            let mut spans = Spans::new(&h);
            let mut lists = Lists::new(&h);
            let mut from = 0;
            while from < h.len() {
                let len = spans.span(&h, from, &mut lists);
                assert!(len > 0);
                let mut got = vec![0u8; len];
                for (rule, class) in [(DASH, 1), (KEY, 2), (NUMBER, 4)] {
                    let offsets = lists.offsets(rule);
                    assert!(offsets.is_sorted(), "{offsets:?}");
                    for &q in offsets {
                        got[usize::from(q)] |= class;
                    }
                }
                for (k, &classes) in got.iter().enumerate() {
                    let p = from + k;
                    let want = if p < h.len() { place_plain(&h, p) } else { 0 };
                    assert_eq!(classes, want, "at {p} of {h:?}");
                }
                from += len;
            }
        }
    }

    #[test]
    fn the_raw_bits_are_the_same_without_simd() {
        let mut rng = crate::XorShift(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let mut block = [0u8; BLOCK];
            for b in &mut block {
                let rng = rng.next();
                *b = if rng.is_multiple_of(3) {
                    b"-.:=0123456789/"[(rng >> 8) as usize % 15]
                } else {
                    (rng >> 16) as u8
                };
            }
            let (a, b) = (Raw::of(&block), Raw::of_portable(&block));
            assert_eq!(
                [a.digit, a.dash_dot, a.punct],
                [b.digit, b.dash_dot, b.punct]
            );
        }
    }
}
