//! Byte-level helpers shared by the rule families.
//!
//! Boundaries are ASCII-only on purpose: identifiers are ASCII, and treating every non-ASCII
//! byte as a boundary keeps detection correct next to Korean, Japanese or emoji text without
//! decoding UTF-8 (Unicode word boundaries cost 10-500x on non-ASCII text).

#[inline]
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[inline]
pub(crate) fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

#[inline]
pub(crate) fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Whether `h[i]` is preceded by an odd number of backslashes, i.e. is escaped.
#[inline]
pub(crate) fn escaped_at(h: &[u8], i: usize) -> bool {
    let mut n = 0;
    let mut j = i;
    while j > 0 && h[j - 1] == b'\\' {
        n += 1;
        j -= 1;
    }
    n % 2 == 1
}

/// Length of the JSON escape residue that ends right before `p`: `\n` leaves an `n` glued to
/// the next word (`\ni-0abc`), `\u00e9` leaves four hex digits. Returns the number of bytes of
/// `h[..p]` that belong to such an escape and are not text, or 0.
#[inline]
pub(crate) fn escape_residue_before(h: &[u8], p: usize) -> usize {
    if p >= 2 && matches!(h[p - 1], b'n' | b'r' | b't' | b'b' | b'f') && escaped_at(h, p - 1) {
        return 1;
    }
    if p >= 6 && h[p - 5] == b'u' && escaped_at(h, p - 5) && h[p - 4..p].iter().all(|&b| is_hex(b))
    {
        return 5;
    }
    // URL encoding: `Account%20123456789012`
    if p >= 3 && h[p - 3] == b'%' && is_hex(h[p - 2]) && is_hex(h[p - 1]) {
        return 2;
    }
    0
}

/// A match may start at `p`: it is the start of the text, follows a non-word byte, or
/// follows a JSON escape such as `\n`.
#[inline]
pub(crate) fn left_ok(h: &[u8], p: usize) -> bool {
    p == 0 || !is_word(h[p - 1]) || escape_residue_before(h, p) > 0
}

/// A match may end at `e`: the end of the text or a non-word byte follows.
#[inline]
pub(crate) fn right_ok(h: &[u8], e: usize) -> bool {
    e >= h.len() || !is_word(h[e])
}

/// Length of the run of bytes satisfying `f` starting at `i`, at most `max`.
#[inline]
pub(crate) fn run(h: &[u8], i: usize, max: usize, f: impl Fn(u8) -> bool) -> usize {
    let end = h.len().min(i.saturating_add(max));
    let mut j = i;
    while j < end && f(h[j]) {
        j += 1;
    }
    j - i
}

/// ASCII case-insensitive `h[..end].ends_with(suffix)`.
#[inline]
pub(crate) fn ends_with_ci(h: &[u8], end: usize, suffix: &[u8]) -> bool {
    end >= suffix.len() && h[end - suffix.len()..end].eq_ignore_ascii_case(suffix)
}

/// ASCII case-insensitive `h[start..].starts_with(prefix)`.
#[inline]
pub(crate) fn starts_with_ci(h: &[u8], start: usize, prefix: &[u8]) -> bool {
    h.len() >= start + prefix.len() && h[start..start + prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Moves back from `p` over bytes that separate a key or phrase from its value (quotes,
/// `:`/`=`, spaces, Markdown emphasis, brackets, JSON escapes), at most `max` bytes. Returns
/// the position where the preceding word ends.
pub(crate) fn skip_separators_back(h: &[u8], p: usize, max: usize) -> usize {
    let stop = p.saturating_sub(max);
    let mut j = p;
    while j > stop {
        let b = h[j - 1];
        if matches!(
            b,
            b' ' | b'\t'
                | b'"'
                | b'\''
                | b'`'
                | b':'
                | b'='
                | b'*'
                | b'('
                | b'['
                | b'<'
                | b'\\'
                | b'{'
        ) {
            j -= 1;
        } else if j >= stop + 3 && is_typographic_quote(&h[j - 3..j]) {
            j -= 3;
        } else {
            break;
        }
    }
    j
}

/// A set of byte pairs: 64 Kibit (in the L1/L2 cache), one bit test per lookup.
pub(crate) struct PairBits(Box<[u64; 1024]>);

impl Default for PairBits {
    fn default() -> PairBits {
        PairBits(Box::new([0; 1024]))
    }
}

impl PairBits {
    pub(crate) fn insert(&mut self, a: u8, b: u8) {
        let i = usize::from(a) << 8 | usize::from(b);
        self.0[i / 64] |= 1 << (i % 64);
    }

    #[inline]
    pub(crate) fn holds(&self, a: u8, b: u8) -> bool {
        let i = usize::from(a) << 8 | usize::from(b);
        self.0[i / 64] >> (i % 64) & 1 == 1
    }
}

/// `“ ” ‘ ’ « »` and similar, as UTF-8.
#[inline]
pub(crate) fn is_typographic_quote(b: &[u8]) -> bool {
    matches!(
        b,
        [0xE2, 0x80, 0x9C | 0x9D | 0x98 | 0x99] | [0xE3, 0x80, 0x8C | 0x8D]
    )
}

/// Whether the text before `p` (after separators) ends with one of `phrases`, compared ASCII
/// case-insensitively, and the phrase itself starts at a word boundary.
pub(crate) fn preceded_by(h: &[u8], p: usize, phrases: &[&[u8]]) -> bool {
    let end = skip_separators_back(h, p, 12);
    phrases.iter().any(|ph| {
        ends_with_ci(h, end, ph) && {
            let s = end - ph.len();
            s == 0
                || !h[s - 1].is_ascii_alphanumeric()
                || h[s].is_ascii_uppercase() && h[s - 1].is_ascii_lowercase()
                || escape_residue_before(h, s) > 0
        }
    })
}

/// The word (letters, digits, `_`, `-`) that ends at `end`.
pub(crate) fn word_before(h: &[u8], end: usize) -> &[u8] {
    let n = end - end.saturating_sub(40);
    let len = {
        let mut k = 0;
        while k < n && (is_word(h[end - k - 1]) || h[end - k - 1] == b'-') {
            k += 1;
        }
        k
    };
    &h[end - len..end]
}

/// Four numbers of at most 255 joined by `sep` (`10.0.1.23`, or `10-0-1-23` in EC2 host
/// names), starting at `s`, not followed by a word byte or by `sep` and another number. Returns
/// the end.
pub(crate) fn quad_at(h: &[u8], s: usize, sep: u8) -> Option<usize> {
    let mut i = s;
    for part in 0..4 {
        let n = run(h, i, 4, |c| c.is_ascii_digit());
        if n == 0 || n > 3 {
            return None;
        }
        let v: u32 = h[i..i + n]
            .iter()
            .fold(0, |a, &c| a * 10 + u32::from(c - b'0'));
        if v > 255 {
            return None;
        }
        i += n;
        if part < 3 {
            if h.get(i) != Some(&sep) {
                return None;
            }
            i += 1;
        }
    }
    let continues = |c: &u8| {
        if sep == b'.' {
            c.is_ascii_digit()
        } else {
            c.is_ascii_alphanumeric()
        }
    };
    if i < h.len() && (is_word(h[i]) || (h[i] == sep && h.get(i + 1).is_some_and(continues))) {
        return None;
    }
    Some(i)
}

/// Whether `s` is an AWS region name such as `us-east-1`, `us-gov-west-1`, `cn-north-1`,
/// `us-isob-east-1` or `eu-central-2`.
pub(crate) fn is_region(s: &[u8]) -> bool {
    // two letters, then one or more alphabetic parts, then a number
    let parts = s.split(|&b| b == b'-');
    let mut n = 0;
    let mut last_numeric = false;
    for (i, part) in parts.enumerate() {
        if part.is_empty() {
            return false;
        }
        if i == 0 {
            if part.len() != 2 || !part.iter().all(u8::is_ascii_lowercase) {
                return false;
            }
        } else if part.iter().all(u8::is_ascii_digit) {
            if part.len() > 2 {
                return false;
            }
            last_numeric = true;
        } else if part.iter().all(u8::is_ascii_lowercase) && !last_numeric {
            // ok
        } else {
            return false;
        }
        n += 1;
    }
    n >= 3 && last_numeric
}

/// A region name built from AWS's own parts (`us-east-1`, `us-gov-west-1`, `ap-southeast-4`,
/// `us-isob-east-1`). Stricter than [`is_region`], for free text, where `speak-id-job-1` must
/// not read as a region; [`is_region`] serves the fields of ARNs and host names, where the
/// structure around it already says "region" and a new region should still pass.
pub(crate) fn is_known_region(s: &[u8]) -> bool {
    const AREAS: &[&[u8]] = &[
        b"us", b"eu", b"ap", b"sa", b"ca", b"me", b"af", b"il", b"cn", b"mx",
    ];
    const MIDDLE: &[&[u8]] = &[b"gov", b"iso", b"isob", b"isoe", b"isof"];
    const DIRECTIONS: &[&[u8]] = &[
        b"east",
        b"west",
        b"north",
        b"south",
        b"central",
        b"northeast",
        b"southeast",
        b"northwest",
        b"southwest",
    ];
    let parts: Vec<&[u8]> = s.split(|&b| b == b'-').collect();
    let [first, rest @ ..] = parts.as_slice() else {
        return false;
    };
    let rest = match rest {
        [m, rest @ ..] if MIDDLE.contains(m) => rest,
        rest => rest,
    };
    AREAS.contains(first)
        && matches!(rest, [dir, num] if DIRECTIONS.contains(dir)
            && (1..=2).contains(&num.len())
            && num.iter().all(u8::is_ascii_digit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for r in [
            "us-east-1",
            "us-gov-west-1",
            "cn-northwest-1",
            "us-isob-east-1",
            "ap-southeast-2",
        ] {
            assert!(is_region(r.as_bytes()), "{r}");
        }
        for r in [
            "us-east",
            "use1",
            "us-east-1a",
            "US-EAST-1",
            "east-1",
            "us--1",
        ] {
            assert!(!is_region(r.as_bytes()), "{r}");
        }
        // the strict check for free text: only AWS's own area and direction words
        for r in [
            "us-east-1",
            "us-gov-west-1",
            "us-isob-east-1",
            "mx-central-1",
            "ap-southeast-4",
        ] {
            assert!(is_known_region(r.as_bytes()), "{r}");
        }
        for r in [
            "id-job-1",
            "db-stack-instance-1",
            "us-east-1a",
            "us-east",
            "us-east-123",
        ] {
            assert!(!is_known_region(r.as_bytes()), "{r}");
            if r.ends_with("-1") {
                assert!(is_region(r.as_bytes()), "{r} passes the loose check");
            }
        }
    }

    #[test]
    fn escapes() {
        assert!(left_ok(br"x\ni-0", 3));
        assert!(!left_ok(br"x\\ni-0", 4));
        assert!(left_ok(br"\u00e9i-0", 6));
        assert!(!left_ok(b"ai-0", 1));
    }
}
