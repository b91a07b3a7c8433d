//! Kebab-case names known by where they stand rather than by a key before them: a name alone
//! on a line or chat message, or set in prose of a non-Latin script (`почему orders-api-qa не
//! видит очередь`). Both are the `resource_name` kind. Every lowercase kebab-case word is the
//! opt-in `name_like` kind.
//!
//! The default rules are checked on the dashed words that the resource id pass finds no id in
//! (see `ids::find_dash_ids`), so they cost no pass of their own.

use super::Sink;
use super::bytes::{is_known_region, is_word, left_ok, run};
use super::ids::run_back;
use crate::catalogue::K;

fn name_byte(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'
}

/// The run of `[a-z0-9-]` around `h[d]`, or `None` when it is longer than any name (so a
/// name is never cut out of a longer word, which masking would have to refuse).
fn word_around(h: &[u8], d: usize) -> Option<(usize, usize)> {
    let back = run_back(h, d, 64, name_byte);
    let fwd = run(h, d, 65, name_byte);
    (back < 64 && fwd < 65).then(|| (d - back, d + fwd))
}

/// The kebab-case name in `h[s..e]`, a run of `[a-z0-9-]`, trimmed of its dashes: 8 to 63
/// bytes, three parts or more, two of them with two letters or more, standing alone (not in a
/// host name, path, URL or longer token), and not a region or zone.
fn kebab(h: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    let (s, e) = (
        s + run(h, s, 64, |c| c == b'-'),
        e - run_back(h, e, 64, |c| c == b'-'),
    );
    if e <= s || !(8..=63).contains(&(e - s)) {
        return None;
    }
    let word = &h[s..e];
    let alone = (s == 0 || !matches!(h[s - 1], b'.' | b'/' | b':' | b'@' | b'\\'))
        && left_ok(h, s)
        && !h
            .get(e)
            .is_some_and(|&c| is_word(c) || matches!(c, b'/' | b':' | b'@'))
        && !(h.get(e) == Some(&b'.') && h.get(e + 1).is_some_and(u8::is_ascii_alphanumeric));
    let (mut n, mut wordy, mut empty) = (0, 0, false);
    for p in word.split(|&c| c == b'-') {
        n += 1;
        empty |= p.is_empty();
        wordy += usize::from(p.iter().filter(|c| c.is_ascii_lowercase()).count() >= 2);
    }
    let zone =
        word.last().is_some_and(u8::is_ascii_lowercase) && is_known_region(&word[..word.len() - 1]);
    (alone && n >= 3 && !empty && wordy >= 2 && !is_known_region(word) && !zone).then_some((s, e))
}

/// A kebab-case name for the default rules: as [`kebab`], and also not a command-line flag
/// (`--force-new-deployment`), an HTTP header (`x-amz-request-id`) or hex with dashes (a UUID).
fn lone_kebab(h: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    if h[s] == b'-' || (s > 0 && h[s - 1] == b'-') || h[s..].starts_with(b"x-") {
        return None;
    }
    let (s, e) = kebab(h, s, e)?;
    let plain = h[s..e]
        .split(|&c| c == b'-')
        .filter(|p| p.iter().any(|c| matches!(c, b'g'..=b'z')))
        .count();
    (plain >= 2).then_some((s, e))
}

/// Every lowercase kebab-case word of three or more parts (the `name_like` kind, off by
/// default), as [`kebab`] defines them.
pub(crate) fn find_name_like(h: &[u8], sink: &mut Sink) {
    let mut skip_to = 0;
    for d in memchr::memchr_iter(b'-', h) {
        if d < skip_to || d == 0 || d + 1 >= h.len() {
            continue;
        }
        let Some((s, e)) = word_around(h, d) else {
            skip_to = d + run(h, d, usize::MAX, name_byte);
            continue;
        };
        skip_to = e;
        if let Some((s, e)) = kebab(h, s, e) {
            sink.push(s, e, K::NameLike);
        }
    }
}

/// The most bytes of a chat line's prefix part (`[09:13]`, `<nkechi>`).
const MAX_PREFIX_PART: usize = 40;

/// Checks the kebab-case word around the `-` at `d` (which has a letter or digit on both
/// sides) for a `resource_name`: all a line holds, or all of a chat message after its time
/// and nick (`[09:13] <nkechi> contoso-data-lake-silver`; a whole text counts as a line); or
/// with a word of a non-Latin script as its nearest neighbor on the left or on the right
/// (`почему orders-api-qa не видит очередь`): in Russian, Chinese or Japanese prose, an ASCII
/// kebab-case word is a name of the writer's systems. Returns the end of the word, so that
/// its other dashes are not checked again.
pub(crate) fn resource_name_at(h: &[u8], d: usize, sink: &mut Sink) -> usize {
    let Some((s, e)) = word_around(h, d) else {
        return d + run(h, d, usize::MAX, name_byte);
    };
    // three parts at least (cheap to refuse first: most dashed words have two)
    if memchr::memchr_iter(b'-', &h[s..e]).nth(1).is_none() {
        return e;
    }
    let Some((s, e)) = lone_kebab(h, s, e) else {
        return e;
    };
    let tail = e + run(h, e, 8, |c| matches!(c, b' ' | b'\t' | b'\r'));
    let alone = (tail == h.len() || h[tail] == b'\n') && line_prefix_ok(h, s);
    if alone
        || neighbor_before(h, s).is_some_and(is_non_latin_letter)
        || neighbor_after(h, e).is_some_and(is_non_latin_letter)
    {
        sink.push(s, e, K::ResourceName);
    }
    e
}

/// Whether only blanks, and optionally a `[time]` and a `<nick>`, stand between the start of
/// the line and `s`.
fn line_prefix_ok(h: &[u8], s: usize) -> bool {
    let blanks = |i: usize| i - run_back(h, i, 8, |c| c == b' ' || c == b'\t');
    let mut i = blanks(s);
    for (open, close) in [(b'<', b'>'), (b'[', b']')] {
        if i > 0 && h[i - 1] == close {
            let inner = run_back(h, i - 1, MAX_PREFIX_PART, |c| {
                c != open && c != close && c != b'\n'
            });
            let o = i - 1 - inner;
            if inner == 0 || o == 0 || h[o - 1] != open {
                return false;
            }
            i = blanks(o - 1);
        }
    }
    i == 0 || h[i - 1] == b'\n'
}

/// A JSON `"text"` or `"content"` whose whole string is a kebab-case name (`{"type": "text",
/// "text": "cyberdyne-data-lake-curated"}`): a message that is nothing but a name, as
/// [`resource_name_at`] finds it in the message's own text. `v` is just after the `:`.
pub(crate) fn json_text_name(h: &[u8], v: usize, sink: &mut Sink) {
    let q = v + run(h, v, 8, |c| c == b' ' || c == b'\t');
    if h.get(q) != Some(&b'"') {
        return;
    }
    let (s, e) = (q + 1, q + 1 + run(h, q + 1, 64, name_byte));
    if h.get(e) == Some(&b'"')
        && let Some((s2, e2)) = lone_kebab(h, s, e)
        && (s2, e2) == (s, e)
    {
        sink.push(s, e, K::ResourceName);
    }
}

/// How many characters a name's neighbor may be away: blanks, quotes and brackets between.
const NEIGHBOR_REACH: usize = 4;

/// A letter of a script other than Latin (Greek and beyond, except the Latin blocks there).
fn is_non_latin_letter(c: char) -> bool {
    let u = u32::from(c);
    c.is_alphabetic()
        && u >= 0x370
        && !matches!(u, 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xAB30..=0xAB6F | 0xFF21..=0xFF5A)
}

/// The character a JSON `\uXXXX` escape at `i` stands for (none for half a surrogate pair).
fn json_escape_at(h: &[u8], i: usize) -> Option<char> {
    let e = h.get(i..i + 6)?;
    if e[0] != b'\\' || e[1] != b'u' || !e[2..].iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let hex = std::str::from_utf8(&e[2..]).ok()?;
    char::from_u32(u32::from_str_radix(hex, 16).ok()?)
}

/// The first alphanumeric character before `s`, within a few characters on the same line.
fn neighbor_before(h: &[u8], s: usize) -> Option<char> {
    let mut i = s;
    for _ in 0..=NEIGHBOR_REACH {
        if i == 0 || h[i - 1] == b'\n' || (i >= 2 && &h[i - 2..i] == b"\\n") {
            return None;
        }
        // in JSON text, `\u0443` is the character
        if i >= 6
            && let Some(c) = json_escape_at(h, i - 6)
        {
            if c.is_alphanumeric() {
                return Some(c);
            }
            i -= 6;
            continue;
        }
        // the start of the character that ends at `i`
        let back = run_back(h, i, 3, |c| c & 0xC0 == 0x80);
        if back >= i {
            return None;
        }
        let start = i - back - 1;
        let c = std::str::from_utf8(&h[start..i]).ok()?.chars().next()?;
        if c.is_alphanumeric() {
            return Some(c);
        }
        i = start;
    }
    None
}

/// The first alphanumeric character from `e` on, within a few characters on the same line.
fn neighbor_after(h: &[u8], e: usize) -> Option<char> {
    let mut i = e;
    for _ in 0..=NEIGHBOR_REACH {
        let &b = h.get(i)?;
        if b == b'\n' || h[i..].starts_with(b"\\n") {
            return None;
        }
        if let Some(c) = json_escape_at(h, i) {
            if c.is_alphanumeric() {
                return Some(c);
            }
            i += 6;
            continue;
        }
        let len = match b {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        };
        let c = std::str::from_utf8(h.get(i..i + len)?)
            .ok()?
            .chars()
            .next()?;
        if c.is_alphanumeric() {
            return Some(c);
        }
        i += len;
    }
    None
}
