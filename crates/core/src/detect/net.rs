//! Numbers and addresses: account ids, IPv4 and IPv6 addresses.

use super::Sink;
use super::bytes::{
    ends_with_ci, is_hex, is_known_region, is_word, left_ok, right_ok, run, skip_separators_back,
    word_before,
};
use crate::catalogue::K;

/// Words that, right before a 12-digit number, make it something other than an account id.
const NOT_ACCOUNT_WORDS: &[&[u8]] = &[
    b"order", b"number", b"upc", b"ean", b"invoice", b"ticket", b"phone", b"tel", b"fax", b"on",
    b"at", b"isbn", b"serial", b"po", b"case", b"ref", b"sku",
];

/// Words that, right before a dotted quad, make it a version rather than an address.
const VERSION_WORDS: &[&[u8]] = &[
    b"version",
    b"build",
    b"ver",
    b"release",
    b"firmware",
    b"kernel",
    b"v",
    b"agent",
    b"driver",
    b"bumped",
    b"upgraded",
    b"patch",
];

/// Words that mark Kubernetes service addresses: virtual, they identify no AWS resource.
const K8S_SERVICE_WORDS: &[&[u8]] = &[
    b"clusterip",
    b"loadbalancer",
    b"nodeport",
    b"serviceipv4cidr",
    b"serviceipv6cidr",
    b"service_ipv4_cidr",
    b"service-ipv4-cidr",
    b"service-cidr",
    b"clusterips",
];

/// Account ids and IPv4 addresses, found from the digit runs [`super::events`] hints at: a
/// digit that starts a run with a digit three bytes on, or one followed by `.` or `-`. Every
/// run this rule can match (12 digits, 4 and a `-`, 1-3 and a `.`) holds such a hint; the
/// runs between hints are skipped, which is what walking them would do.
#[derive(Default)]
pub(crate) struct Numbers {
    /// where the walk continues: runs before it are done
    next: usize,
}

impl Numbers {
    /// Handles the digit run around the hint at `at`.
    #[inline]
    pub(crate) fn at(&mut self, h: &[u8], at: usize, sink: &mut Sink) {
        if at < self.next || Numbers::no_address_after(h, at) {
            return;
        }
        let mut s = at;
        while s > self.next && h[s - 1].is_ascii_digit() {
            s -= 1;
        }
        self.next = number_at(h, s, sink);
    }

    /// Whether the run ending at `at` is followed by a `.` and yet cannot start an IPv4
    /// address, whose three dots are within the nine bytes after its first run. Such a run (a version
    /// number, `1.2.3`; a decimal) is all that a hint followed by a `.` can lead to but an
    /// address; an account id of twelve digits is handled from the run's start, which is a
    /// hint of its own. Counted without a branch per byte, so that the many such runs of
    /// prose cost a few nanoseconds each instead of the walk.
    #[inline]
    fn no_address_after(h: &[u8], at: usize) -> bool {
        h.get(at + 1) == Some(&b'.') && {
            let after = &h[at + 1..h.len().min(at + 10)];
            after.iter().map(|&c| u8::from(c == b'.')).sum::<u8>() < 3
        }
    }
}

/// Every account id and IPv4 address, walking each run of digits in turn: what [`Numbers`]
/// finds from its hints (the reference it is tested against).
#[cfg(test)]
pub(crate) fn find_numbers(h: &[u8], sink: &mut Sink) {
    let mut i = 0;
    while let Some(s) = next_digit(h, i) {
        i = number_at(h, s, sink);
    }
}

/// Handles the run of digits that starts at `s` (the first digit at or after where the walk
/// stands); returns where the walk continues.
fn number_at(h: &[u8], mut s: usize, sink: &mut Sink) -> usize {
    let n = h.len();
    let mut i = s;
    while i < n && h[i].is_ascii_digit() {
        i += 1;
    }
    // URL encoding glues its hex to the number: `Account%20123456789012`
    if s > 0 && h[s - 1] == b'%' && i - s > 2 {
        s += 2;
    }
    let len = i - s;
    // only three shapes start with a digit run: 12 digits (an account), 4 digits and a
    // dash (`1234-5678-9012`), 1-3 digits and a dot (an address); decide that first, it
    // is far cheaper than the boundary checks
    let next = h.get(i).copied();
    let shaped = len == 12
        || (len == 4 && next == Some(b'-'))
        || ((1..=3).contains(&len) && next == Some(b'.'));
    if !shaped {
        return i;
    }
    let left = left_ok(h, s) && (s == 0 || !matches!(h[s - 1], b'.' | b'-' | b'+' | b'$'));
    if !left {
        // inside a word (hex ids, hashes): nothing numeric starts before its end, unless
        // the word starts with a JSON escape (`\u201c685749794555`)
        if s > 0 && h[s - 1].is_ascii_alphanumeric() && !h[s.saturating_sub(6)..s].contains(&b'\\')
        {
            while i < n && h[i].is_ascii_alphanumeric() {
                i += 1;
            }
        }
        return i;
    }
    if len == 12
        && ((right_ok(h, i) && !continues_number(h, i) && account_context_ok(h, s, i))
            || log_file_name_at(h, i))
    {
        sink.push(s, i, K::AccountId);
    } else if len == 4 {
        if let Some(end) = dashed_account(h, s) {
            sink.push(s, end, K::AccountId);
            i = end;
        }
    } else if (1..=3).contains(&len)
        && i < n
        && h[i] == b'.'
        && let Some(end) = ipv4_at(h, s)
    {
        if let Some(kind) = classify_ipv4(h, s, end) {
            sink.push(s, end, kind);
        }
        i = end;
    }
    i
}

/// The position of the first ASCII digit at or after `i`, eight bytes at a time.
#[cfg(test)]
fn next_digit(h: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while i + 8 <= h.len() {
        let w = u64::from_le_bytes(h[i..i + 8].try_into().unwrap_or([0; 8])) ^ (0x30 * ONES);
        // bytes that were '0'..='9' are now 0..=9: find bytes below 10 (exact for the
        // lowest such byte, which is the one we want)
        let below = w.wrapping_sub(10 * ONES) & !w & HIGHS;
        if below != 0 {
            return Some(i + (below.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    h[i..].iter().position(u8::is_ascii_digit).map(|k| i + k)
}

/// Whether a number ending at `e` continues as a longer numeric token (`123.45`, `12-34`).
fn continues_number(h: &[u8], e: usize) -> bool {
    e + 1 < h.len() && matches!(h[e], b'.' | b'-' | b',') && h[e + 1].is_ascii_digit()
}

fn account_context_ok(h: &[u8], s: usize, e: usize) -> bool {
    // compact timestamps: 20YYMMDDhhmm
    let d = |k: usize| u32::from(h[s + k] - b'0');
    let month = d(4) * 10 + d(5);
    let day = d(6) * 10 + d(7);
    let hour = d(8) * 10 + d(9);
    let minute = d(10) * 10 + d(11);
    if d(0) == 2
        && d(1) == 0
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
    {
        return false;
    }
    let _ = e;
    let end = skip_separators_back(h, s, 4);
    let w = word_before(h, end);
    !NOT_ACCOUNT_WORDS.iter().any(|x| w.eq_ignore_ascii_case(x))
}

/// Whether the 12 digits before `i` start the name of a log file that AWS delivers to S3:
/// `<account>_<service>_<region>_...` (`123456789012_CloudTrail_us-east-2_20150801T0210Z_…`,
/// `…_elasticloadbalancing_…`, `…_vpcflowlogs_…`), which `aws s3 ls` of a log bucket lists.
fn log_file_name_at(h: &[u8], i: usize) -> bool {
    if h.get(i) != Some(&b'_') {
        return false;
    }
    let service = run(h, i + 1, 32, |c| c.is_ascii_alphabetic() || c == b'-');
    let r = i + 1 + service;
    if service < 3 || h.get(r) != Some(&b'_') {
        return false;
    }
    let region = run(h, r + 1, 24, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'
    });
    h.get(r + 1 + region) == Some(&b'_') && is_known_region(&h[r + 1..r + 1 + region])
}

/// `1234-5678-9012`, the console's form of an account id.
fn dashed_account(h: &[u8], s: usize) -> Option<usize> {
    let ok = |i: usize| run(h, i, 5, |c| c.is_ascii_digit()) == 4;
    if ok(s)
        && h.get(s + 4) == Some(&b'-')
        && ok(s + 5)
        && h.get(s + 9) == Some(&b'-')
        && ok(s + 10)
    {
        let end = s + 14;
        if right_ok(h, end) && !continues_number(h, end) {
            return Some(end);
        }
    }
    None
}

/// A dotted quad starting at `s` with every part at most 255 and no fifth part.
fn ipv4_at(h: &[u8], s: usize) -> Option<usize> {
    super::bytes::quad_at(h, s, b'.')
}

fn octets(h: &[u8], s: usize, e: usize) -> [u32; 4] {
    let mut o = [0u32; 4];
    let mut k = 0;
    for &c in &h[s..e] {
        if c == b'.' {
            k += 1;
        } else {
            o[k] = o[k] * 10 + u32::from(c - b'0');
        }
    }
    o
}

fn classify_ipv4(h: &[u8], s: usize, e: usize) -> Option<K> {
    let o = octets(h, s, e);
    // addresses that identify nothing: this network, loopback, link-local, multicast,
    // reserved, broadcast and netmasks
    if o[0] == 0 || o[0] == 127 || o[0] >= 224 || (o[0] == 169 && o[1] == 254) {
        return None;
    }
    // product/version (`Chrome/126.0.0.0`), but not host/address (`db.internal/10.0.0.5`)
    let slash = if s >= 3 && h[s - 1] == b'/' && h[s - 2] == b'\\' {
        s - 2
    } else {
        s.saturating_sub(1)
    };
    if s >= 2 && slash >= 1 && h[s - 1] == b'/' && h[slash - 1].is_ascii_alphanumeric() {
        let w = word_before(h, slash);
        let host = slash > w.len() && h[slash - 1 - w.len()] == b'.';
        if !host {
            return None;
        }
    }
    let end = skip_separators_back(h, s, 3);
    let w = word_before(h, end);
    if VERSION_WORDS.iter().any(|x| w.eq_ignore_ascii_case(x)) {
        return None;
    }
    // Kubernetes service addresses
    let end = skip_separators_back(h, s, 40);
    if K8S_SERVICE_WORDS
        .iter()
        .any(|x| ends_with_ci(h, end, x) && word_before(h, end).len() == x.len())
    {
        return None;
    }
    let private = o[0] == 10
        || (o[0] == 172 && (16..=31).contains(&o[1]))
        || (o[0] == 192 && o[1] == 168)
        || (o[0] == 100 && (64..=127).contains(&o[1]));
    Some(if private { K::PrivateIp } else { K::PublicIp })
}

/// IPv6 addresses, from the `:` after their first group.
#[derive(Default)]
pub(crate) struct Ipv6 {
    /// where the last address found ends
    covered: usize,
}

impl Ipv6 {
    /// Whether a `:` between these bytes may follow an address's first group: a hex digit
    /// before it, a hex digit or `:` after it. A `:` without them starts nothing (`ipv6_at`
    /// needs a first group and a second), so only these are handed to [`Ipv6::at`].
    #[inline]
    pub(crate) fn may_start(before: u8, after: u8) -> bool {
        is_hex(before) && (is_hex(after) || after == b':')
    }

    /// Handles the `:` at `c`.
    #[inline]
    pub(crate) fn at(&mut self, h: &[u8], c: usize, sink: &mut Sink) {
        if c < self.covered {
            return;
        }
        // the group before the first colon (empty for a leading `::`)
        let mut s = c;
        while s > 0 && c - s < 5 && is_hex(h[s - 1]) {
            s -= 1;
        }
        if c - s > 4 {
            return;
        }
        if s > 0 && (h[s - 1] == b':' || h[s - 1] == b'.' || h[s - 1] == b'-') {
            return;
        }
        if !left_ok(h, s) {
            return;
        }
        if let Some(end) = ipv6_at(h, s) {
            self.covered = end;
            sink.push(s, end, K::Ipv6);
        }
    }
}

/// Every IPv6 address, trying each `:` (the reference [`Ipv6`] is tested against).
#[cfg(test)]
pub(crate) fn find_ipv6(h: &[u8], sink: &mut Sink) {
    let mut v6 = Ipv6::default();
    for c in memchr::memchr_iter(b':', h) {
        v6.at(h, c, sink);
    }
}

fn ipv6_at(h: &[u8], s: usize) -> Option<usize> {
    let mut i = s;
    let mut groups = 0;
    let mut compressed = false;
    if h[i..].starts_with(b"::") {
        compressed = true;
        i += 2;
    }
    let mut first = [0u8; 4];
    let mut first_len = 0;
    loop {
        let n = run(h, i, 5, is_hex);
        if n == 0 {
            break;
        }
        if n > 4 {
            return None;
        }
        if groups == 0 && !compressed {
            first_len = n;
            first[..n].copy_from_slice(&h[i..i + n]);
        }
        groups += 1;
        i += n;
        if h[i..].starts_with(b"::") {
            if compressed {
                break;
            }
            compressed = true;
            i += 2;
            continue;
        }
        if h.get(i) == Some(&b':') && h.get(i + 1).is_some_and(|&b| is_hex(b)) {
            i += 1;
            continue;
        }
        break;
    }
    let valid = if compressed {
        (3..=7).contains(&groups)
    } else {
        groups == 8
    };
    if !valid {
        return None;
    }
    // a trailing `::` belongs to the address (`2600:1f18::`), but not a `:` + port
    if i < h.len()
        && (is_word(h[i]) || (h[i] == b'.' && h.get(i + 1).is_some_and(u8::is_ascii_hexdigit)))
    {
        return None;
    }
    if first_len == 0 {
        // `::1` and other addresses that start compressed are loopback or special
        return None;
    }
    let g0 = u32::from_str_radix(std::str::from_utf8(&first[..first_len]).ok()?, 16).ok()?;
    // link-local fe80::/10 and multicast ff00::/8
    if first_len == 4 && ((0xfe80..=0xfebf).contains(&g0) || g0 >= 0xff00) {
        return None;
    }
    if first_len < 4 && !(compressed || groups == 8) {
        return None;
    }
    // the address must contain a digit and a group of four: this rejects `abc:def::` words
    if !h[s..i].iter().any(u8::is_ascii_digit) {
        return None;
    }
    Some(i).filter(|&e| right_ok(h, e))
}
