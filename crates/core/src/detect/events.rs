//! One pass over the text that finds where the rules anchored on punctuation and digits have
//! work, and hands each place to its rule:
//!
//! - a `-`: resource ids, UUIDs, `ip-…` host names, region-named buckets and resource names
//!   ([`DashIds`]), and flag contexts from a `--` ([`Flags`]);
//! - every `:` and `=`: key contexts ([`Keys`]), and, with a hex digit before and a hex digit
//!   or `:` after, IPv6 addresses ([`Ipv6`]);
//! - a digit that starts a run with a digit three bytes on, or one followed by `.` or `-`:
//!   account ids and IPv4 addresses ([`Numbers`]).
//!
//! These rules used to run a `memchr` loop each. On prose and code their anchors come every
//! hundred bytes or so, and each hit cost 15-30 ns in the search alone (a fresh call, its
//! setup, a mispredicted exit), more than the check it led to. Here each 64-byte block is
//! classified at once: a short branch-free loop the compiler turns into vector compares (SSE2,
//! the x86-64 baseline, so no `unsafe` and no runtime dispatch), gathered into one bit per
//! byte; the bits set are then visited in order. Each rule sees its places in text order, as
//! its own loop did, and keeps its own state, so what it finds is unchanged (tested against
//! the loops it replaced).

use super::Sink;
use super::context::{ContextIndex, Flags, Keys};
use super::ids::DashIds;
use super::net::{Ipv6, Numbers};

/// Bytes classified at once: one bit each in a `u64`.
const BLOCK: usize = 64;

/// A block with the context its classes look at: one byte before it, three after it (0
/// beyond the text, which no class accepts).
type Window = [u8; BLOCK + 4];

#[inline]
fn digit(b: u8) -> bool {
    b.wrapping_sub(b'0') < 10
}

/// Bit `k` is set when byte `k` of the block (`w[k + 1]`) is a place some rule has work.
/// Written with `&`/`|` on `bool`s, without a branch or a table, so that it vectorizes.
#[inline]
#[expect(
    clippy::needless_bitwise_bool,
    reason = "lazy `||` would branch per byte and stop the loop from vectorizing"
)]
fn classify(w: &Window) -> u64 {
    let mut flags = [0u8; BLOCK];
    for (k, flag) in flags.iter_mut().enumerate() {
        let (before, c, n1, n3) = (w[k], w[k + 1], w[k + 2], w[k + 4]);
        // every `-`, `:` and `=` (the dash rule checks its neighbors itself: testing them
        // here cost more than the few dashes they turn away)
        let punct = (c == b'-') | (c == b':') | (c == b'=');
        // a superset of the hints (`Numbers` takes any digit): four in a row is tested as
        // "a run starts here and a digit is three on"
        let number = digit(c) & ((n1 == b'.') | (n1 == b'-') | (!digit(before) & digit(n3)));
        *flag = u8::from(punct | number);
    }
    // eight 0/1 bytes to eight bits: the multiply moves byte i's bit to bit 56 + i, and no
    // two partial products meet, so nothing carries
    let mut bits = 0;
    for (j, eight) in flags.as_chunks::<8>().0.iter().enumerate() {
        let x = u64::from_le_bytes(*eight);
        bits |= (x.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * j);
    }
    bits
}

/// Runs the dash, number, IPv6 and key rules over `h` (resource names too when `names`).
pub(super) fn find(h: &[u8], names: bool, contexts: &ContextIndex, sink: &mut Sink) {
    let mut dashes = DashIds::new(names);
    let mut numbers = Numbers::default();
    let mut v6 = Ipv6::default();
    let mut keys = Keys::new(contexts);
    let mut flags = Flags::default();
    let mut b = 0;
    while b < h.len() {
        let mut padded: Window = [0; BLOCK + 4];
        let w = if let Some(w) = b.checked_sub(1).and_then(|s| h[s..].first_chunk()) {
            w
        } else {
            // the first block, or the last: copy what there is
            let lo = b.saturating_sub(1);
            let hi = (b + BLOCK + 3).min(h.len());
            let at = lo + 1 - b;
            padded[at..at + hi - lo].copy_from_slice(&h[lo..hi]);
            &padded
        };
        let mut bits = classify(w);
        while bits != 0 {
            let p = b + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            match h[p] {
                b'-' => {
                    dashes.at(h, p, sink);
                    flags.at(contexts, h, p, sink);
                }
                b':' => {
                    keys.at(h, p, sink);
                    let after = h.get(p + 1).copied().unwrap_or(0);
                    if p > 0 && Ipv6::may_start(h[p - 1], after) {
                        v6.at(h, p, sink);
                    }
                }
                b'=' => keys.at(h, p, sink),
                _ => numbers.at(h, p, sink),
            }
        }
        b += BLOCK;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classes, one byte at a time, the plain way.
    fn classify_plain(w: &Window) -> u64 {
        let mut bits = 0;
        for k in 0..BLOCK {
            let (before, c, n1) = (w[k], w[k + 1], w[k + 2]);
            let dash = c == b'-';
            let number = c.is_ascii_digit()
                && (n1 == b'.'
                    || n1 == b'-'
                    || (!before.is_ascii_digit() && w[k + 4].is_ascii_digit()));
            if dash || c == b':' || c == b'=' || number {
                bits |= 1 << k;
            }
        }
        bits
    }

    #[test]
    fn classify_agrees_with_the_plain_classes() {
        // every byte value in every position, and bytes that make each class
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let alphabet = b"-:=.09aZz_ \x00\xff/";
        for round in 0..20_000 {
            let mut w: Window = [0; BLOCK + 4];
            for (i, b) in w.iter_mut().enumerate() {
                let r = next();
                *b = if round % 4 == 0 {
                    (r >> 8) as u8 ^ i as u8
                } else {
                    alphabet[(r % alphabet.len() as u64) as usize]
                };
            }
            assert_eq!(classify(&w), classify_plain(&w), "{w:?}");
        }
    }
}
