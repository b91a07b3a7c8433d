//! Identifiers with a fixed shape: `prefix-hex` resource ids, UUID-based ids, `ip-…` host
//! names, IAM credentials and unique ids, and other fixed-alphabet ids.

use super::Sink;
use super::bytes::{
    is_hex, is_known_region, is_lower_hex, is_region, is_word, left_ok, preceded_by, right_ok, run,
};
use crate::catalogue::K;

#[derive(Clone, Copy)]
enum Body {
    /// 8 or 17 lowercase hex digits.
    Hex8or17,
    /// 17 lowercase hex digits.
    Hex17,
    /// 8 lowercase alphanumerics (spot requests).
    Alnum8,
    /// 26 uppercase alphanumerics (RDS resource ids).
    Upper26,
    /// 32 lowercase hex digits (multi-Region KMS keys).
    Hex32,
}

/// Resource id prefixes (without the final `-`), their kind and their body.
const PREFIXES: &[(&[u8], K, Body)] = &[
    (b"i", K::Ec2Instance, Body::Hex8or17),
    (b"ami", K::Ami, Body::Hex8or17),
    (b"vol", K::EbsVolume, Body::Hex8or17),
    (b"snap", K::Snapshot, Body::Hex8or17),
    (b"vpc", K::Vpc, Body::Hex8or17),
    (b"subnet", K::Subnet, Body::Hex8or17),
    (b"sg", K::SecurityGroup, Body::Hex8or17),
    (b"eni", K::Eni, Body::Hex8or17),
    (b"igw", K::Igw, Body::Hex8or17),
    (b"rtb", K::RouteTable, Body::Hex8or17),
    (b"acl", K::NetworkAcl, Body::Hex8or17),
    (b"pcx", K::VpcPeering, Body::Hex8or17),
    (b"eipalloc", K::ElasticIpAlloc, Body::Hex8or17),
    (b"eipassoc", K::ElasticIpAssoc, Body::Hex8or17),
    (b"dopt", K::DhcpOptions, Body::Hex8or17),
    (b"r", K::Reservation, Body::Hex8or17),
    (b"vgw", K::VpnGateway, Body::Hex8or17),
    (b"cgw", K::CustomerGateway, Body::Hex8or17),
    (b"vpn", K::VpnConnection, Body::Hex8or17),
    (b"fs", K::EfsId, Body::Hex8or17),
    (b"rtbassoc", K::RouteTableAssoc, Body::Hex8or17),
    (b"pl", K::PrefixList, Body::Hex8or17),
    (b"nat", K::NatGateway, Body::Hex17),
    // 8 hex digits in older ids and much of the AWS documentation
    (b"vpce", K::VpcEndpoint, Body::Hex8or17),
    (b"tgw", K::TransitGateway, Body::Hex17),
    (b"tgw-attach", K::TgwAttachment, Body::Hex17),
    (b"tgw-rtb", K::TgwRouteTable, Body::Hex17),
    (b"lt", K::LaunchTemplate, Body::Hex17),
    (b"eigw", K::EgressOnlyIgw, Body::Hex17),
    (b"sgr", K::SecurityGroupRule, Body::Hex17),
    (b"fsmt", K::EfsMountTarget, Body::Hex8or17),
    (b"fsap", K::EfsAccessPoint, Body::Hex17),
    (b"eni-attach", K::EniAttachment, Body::Hex8or17),
    (b"key", K::KeyPairId, Body::Hex17),
    (b"vpc-cidr-assoc", K::VpcCidrAssoc, Body::Hex8or17),
    (b"subnet-cidr-assoc", K::SubnetCidrAssoc, Body::Hex8or17),
    (b"vpce-svc", K::VpceService, Body::Hex8or17),
    (b"iip-assoc", K::IipAssoc, Body::Hex17),
    (b"fl", K::FlowLog, Body::Hex8or17),
    (b"cr", K::CapacityReservation, Body::Hex17),
    (b"h", K::DedicatedHost, Body::Hex17),
    (b"eice", K::InstanceConnectEndpoint, Body::Hex17),
    (b"sir", K::SpotRequest, Body::Alnum8),
    (b"db", K::RdsResourceId, Body::Upper26),
    (b"mrk", K::KmsKeyId, Body::Hex32),
];

/// A prefix of [`PREFIXES`] as [`prefix_kind`] compares it.
struct Packed {
    /// its first 16 bytes
    head: u128,
    /// the rest (`subnet-cidr-assoc` is the one longer prefix)
    tail: &'static [u8],
    kind: K,
    body: Body,
}

/// The kind and body of a resource id prefix (without its final `-`).
fn prefix_kind(prefix: &[u8]) -> Option<(K, Body)> {
    // one packed compare per prefix of that length, instead of a slice compare per prefix
    // (the lookup runs for every `-` between letters)
    static BY_LEN: std::sync::LazyLock<Vec<Vec<Packed>>> = std::sync::LazyLock::new(|| {
        let mut by_len: Vec<Vec<Packed>> = (0..=MAX_PREFIX).map(|_| Vec::new()).collect();
        for &(p, kind, body) in PREFIXES {
            let tail = p.get(16..).unwrap_or_default();
            by_len[p.len()].push(Packed {
                head: pack(p),
                tail,
                kind,
                body,
            });
        }
        by_len
    });
    let bucket = BY_LEN.get(prefix.len())?;
    let head = pack(prefix);
    let tail = prefix.get(16..).unwrap_or_default();
    bucket
        .iter()
        .find(|e| e.head == head && e.tail == tail)
        .map(|e| (e.kind, e.body))
}

/// The first 16 bytes (or fewer) as one number.
fn pack(p: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    let n = p.len().min(16);
    b[..n].copy_from_slice(&p[..n]);
    u128::from_le_bytes(b)
}

/// The longest prefix in `PREFIXES`.
const MAX_PREFIX: usize = 17;

/// Phrases that make a UUID a KMS key id when they directly precede it.
const KMS_CONTEXT: &[&[u8]] = &[
    b"keyid",
    b"key-id",
    b"key_id",
    b"key id",
    b"kms key",
    b"kms key id",
    b"with key",
    b"kms key arn",
    b"kmskeyid",
    b"kms_key",
    b"kms-key",
    b"kms",
    "kms 키 id는".as_bytes(),
    // the same, JSON-escaped
    b"kms \\ud0a4 id\\ub294",
    "kms 키".as_bytes(),
    "kms キー".as_bytes(),
    "kms 密钥".as_bytes(),
];

/// Everything anchored on a `-`: resource ids, UUIDs (KMS keys, Cognito identity pools),
/// `ip-a-b-c-d` host names, buckets named after their region and (with `names`) resource
/// names. Every shape needs a letter or digit on both sides of its `-`: only such dashes are
/// handed to [`DashIds::at`] (see [`super::events`]).
pub(crate) struct DashIds {
    /// whether kebab-case resource names are looked for
    names: bool,
    /// dashes before this are inside something found already
    skip_to: usize,
    /// where the last kebab-case word checked for a name ends: each is checked once
    names_to: usize,
}

impl DashIds {
    pub(crate) fn new(names: bool) -> DashIds {
        DashIds {
            names,
            skip_to: 0,
            names_to: 0,
        }
    }

    /// Handles the `-` at `d`.
    #[inline]
    pub(crate) fn at(&mut self, h: &[u8], d: usize, sink: &mut Sink) {
        if d < self.skip_to || d + 1 >= h.len() {
            return;
        }
        if d == 0 || !h[d + 1].is_ascii_alphanumeric() || !h[d - 1].is_ascii_alphanumeric() {
            return;
        }
        // a name that ends in a region (`codepipeline-us-east-1-123456789012`): a bucket
        if let Some((start, end)) = region_named_bucket(h, d) {
            sink.push(start, end, K::S3Bucket);
            self.skip_to = end;
            return;
        }
        // UUID: 8 hex before the dash, 4-4-4-12 after.
        if d >= 8
            && let Some(end) = uuid_at(h, d - 8)
        {
            classify_uuid(h, d - 8, end, sink);
            self.skip_to = end;
            return;
        }
        if let Some(end) = prefixed_id(h, d, sink) {
            self.skip_to = end;
        } else if self.names && d >= self.names_to {
            self.names_to = super::names::resource_name_at(h, d, sink);
        }
    }
}

/// Everything anchored on a `-`, trying each one (the reference [`DashIds`] is tested
/// against).
#[cfg(test)]
pub(crate) fn find_dash_ids(h: &[u8], names: bool, sink: &mut Sink) {
    let mut dashes = DashIds::new(names);
    for d in memchr::memchr_iter(b'-', h) {
        dashes.at(h, d, sink);
    }
}

/// A resource id (or `ip-…` host name) whose prefix ends at the `-` at `d`; returns its end.
fn prefixed_id(h: &[u8], d: usize, sink: &mut Sink) -> Option<usize> {
    // prefix: letters and inner dashes before `d`
    let mut s = d;
    while s > 0 && d - s < MAX_PREFIX && (h[s - 1].is_ascii_lowercase() || h[s - 1] == b'-') {
        s -= 1;
    }
    while s < d && h[s] == b'-' {
        s += 1;
    }
    // the longest prefix that starts at a boundary (a JSON escape such as `\u201c` may
    // leave hex letters glued to the prefix). Past `s + 5` none can: the byte before is a
    // letter or `-` of the run, and the backslash or `%` of an escape would be inside it.
    for start in s..d.min(s + 6) {
        let prefix = &h[start..d];
        // a resource id may follow a `_` (see `body_end`); a host name may not
        let after_underscore = start > 0 && h[start - 1] == b'_' && prefix != b"ip";
        if !(left_ok(h, start) || after_underscore) || (start > 0 && h[start - 1] == b'-') {
            continue;
        }
        if prefix == b"ip" {
            let end = ip_host(h, d + 1)?;
            sink.push(start, end, K::Ec2Hostname);
            return Some(end);
        } else if let Some((kind, body)) = prefix_kind(prefix) {
            let end = body_end(h, d + 1, body)?;
            sink.push(start, end, kind);
            return Some(end);
        }
    }
    None
}

/// A bucket named after its region, found from the `-` at `d` before the region: `[name]-
/// <region>` or `[name]-<region>-<account id>`, the way AWS names the buckets it creates
/// (`codepipeline-…`, `elasticbeanstalk-…`, `cf-templates-…`, `sagemaker-…`) and many teams
/// name theirs (`acme-athena-results-us-east-1`). Standing alone: not inside a host name,
/// URL, ARN or path, which have rules of their own. Returns the name's span.
fn region_named_bucket(h: &[u8], d: usize) -> Option<(usize, usize)> {
    // cheap refusal first: a region starts with two lowercase letters and a `-`
    let r = d + 1;
    if !(h.get(r..r + 3)?[..2].iter().all(u8::is_ascii_lowercase) && h[r + 2] == b'-') {
        return None;
    }
    // the region: `xx-word(-word)-N`
    let n = run(h, r, 24, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'
    });
    // the shortest: its number ends at the first digit that no digit follows
    let mut end = (r + 5..=r + n).find(|&k| {
        h[k - 1].is_ascii_digit()
            && !h.get(k).is_some_and(u8::is_ascii_digit)
            && is_known_region(&h[r..k])
    })?;
    // an account id may follow
    if h.get(end) == Some(&b'-') && run(h, end + 1, 13, |c| c.is_ascii_digit()) == 12 {
        end += 13;
    }
    if h.get(end)
        .is_some_and(|&c| is_word(c) || c == b'-' || c == b'/' || c == b':')
        || (h.get(end) == Some(&b'.') && h.get(end + 1).is_some_and(u8::is_ascii_alphanumeric))
    {
        return None;
    }
    // the name before the region
    let back = run_back(h, d, 63, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.'
    });
    let start = d - back;
    if back == 0
        || !h[start].is_ascii_alphanumeric()
        || (start > 0 && matches!(h[start - 1], b'.' | b'-' | b'/' | b':' | b'@' | b'_'))
        || !left_ok(h, start)
        || super::hosts::bucket_at(h, start) != Some(end)
    {
        return None;
    }
    Some((start, end))
}

/// Where a resource id's body that starts at `b` ends, if it has the shape `body` and then
/// a boundary. A `_` is one on either side of a resource id (the id in a file or key name:
/// `snap-0a1b2c3d4e5f60718_copy.json`, `prod_vpc-0a1b2c3d`): the masker widens the match to
/// the whole word, which comes back as one token.
fn body_end(h: &[u8], b: usize, body: Body) -> Option<usize> {
    let ends = |e: usize| right_ok(h, e) || h.get(e) == Some(&b'_');
    // AWS documentation writes 17-digit ids as 10 hex digits and `EXAMPLE`
    // (`vpc-0a60eb65b4EXAMPLE`); they are documentation example values, labeled like
    // `AKIAIOSFODNN7EXAMPLE`
    if matches!(body, Body::Hex8or17 | Body::Hex17)
        && run(h, b, 11, is_lower_hex) == 10
        && h[b + 10..].starts_with(b"EXAMPLE")
        && ends(b + 17)
    {
        return Some(b + 17);
    }
    let end = match body {
        Body::Hex8or17 => {
            let n = run(h, b, 18, is_lower_hex);
            (n == 8 || n == 17).then_some(b + n)?
        }
        Body::Hex17 => {
            let n = run(h, b, 18, is_lower_hex);
            (n == 17).then_some(b + n)?
        }
        Body::Hex32 => {
            let n = run(h, b, 33, is_lower_hex);
            (n == 32).then_some(b + n)?
        }
        Body::Alnum8 => {
            let n = run(h, b, 9, |c| c.is_ascii_lowercase() || c.is_ascii_digit());
            (n == 8).then_some(b + n)?
        }
        Body::Upper26 => {
            let n = run(h, b, 27, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
            let body = &h[b..b + n];
            (n == 26 && body.iter().any(u8::is_ascii_digit)).then_some(b + n)?
        }
    };
    ends(end).then_some(end)
}

/// `ip-10-0-1-23`, the short EC2 host name (the long forms `ip-….ec2.internal` and
/// `ip-….region.compute.internal` are found by the host name rules).
fn ip_host(h: &[u8], b: usize) -> Option<usize> {
    super::bytes::quad_at(h, b, b'-')
}

/// A UUID starting at `s` (8-4-4-4-12 hex, one case), with boundaries. Returns its end.
fn uuid_at(h: &[u8], s: usize) -> Option<usize> {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    if !left_ok(h, s) || (s > 0 && h[s - 1] == b'-') {
        return None;
    }
    let mut i = s;
    for (g, &len) in GROUPS.iter().enumerate() {
        if run(h, i, len + 1, is_hex) != len {
            return None;
        }
        i += len;
        if g < 4 {
            if h.get(i) != Some(&b'-') {
                return None;
            }
            i += 1;
        }
    }
    if i < h.len() && (is_word(h[i]) || h[i] == b'-') {
        return None;
    }
    Some(i)
}

fn classify_uuid(h: &[u8], s: usize, end: usize, sink: &mut Sink) {
    // Cognito identity pool: `region:uuid`
    if s > 0 && h[s - 1] == b':' {
        let r_end = s - 1;
        let r_start = r_end
            - run_back(h, r_end, 20, |c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'
            });
        if r_start < r_end && is_region(&h[r_start..r_end]) && left_ok(h, r_start) {
            sink.push(r_start, end, K::CognitoIdentityPool);
            return;
        }
    }
    if preceded_by(h, s, KMS_CONTEXT) {
        sink.push(s, end, K::KmsKeyId);
    }
}

/// Length of the run of bytes satisfying `f` that ends at `end`, at most `max`.
pub(crate) fn run_back(h: &[u8], end: usize, max: usize, f: impl Fn(u8) -> bool) -> usize {
    let stop = end.saturating_sub(max);
    let mut j = end;
    while j > stop && f(h[j - 1]) {
        j -= 1;
    }
    end - j
}

/// Checks an IAM credential or unique id at `s` (an anchor hit of one of `IAM_PREFIXES`).
pub(crate) fn iam_at(h: &[u8], s: usize, sink: &mut Sink) {
    if !left_ok(h, s) {
        return;
    }
    let prefix = &h[s..s + 4];
    let access_key = prefix == b"AKIA" || prefix == b"ASIA";
    let n = run(h, s + 4, 40, |c| {
        c.is_ascii_uppercase() || c.is_ascii_digit()
    });
    let end = s + 4 + n;
    if !right_ok(h, end) {
        return;
    }
    let body = &h[s + 4..end];
    if looks_like_placeholder(body) {
        return;
    }
    // real keys are base32 ([A-Z2-7]); AWS examples also use 0, 1, 8 and 9
    if access_key && n == 16 {
        sink.push(s, end, K::AccessKeyId);
        secret_after_key(h, end, sink);
    } else if n == 17 {
        sink.push(s, end, K::IamUniqueId);
    }
}

/// A key pair written together (`AKIA... with SECRET`, `AKIA...:SECRET`): a 40-character
/// secret right after an access key id.
fn secret_after_key(h: &[u8], e: usize, sink: &mut Sink) {
    let limit = h.len().min(e + 12);
    let mut i = e;
    while i < limit && matches!(h[i], b' ' | b':' | b',' | b'/' | b'<' | b'`' | b'"' | b'\'') {
        i += 1;
    }
    if h[i..].starts_with(b"with ") || h[i..].starts_with(b"and ") {
        i += if h[i] == b'w' { 5 } else { 4 };
        while i < h.len() && matches!(h[i], b' ' | b'<' | b'`' | b'"' | b'\'') {
            i += 1;
        }
    }
    let n = run(h, i, 41, |c| {
        c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
    });
    // a run that goes on with `/` or `-` is longer than a key (and would cut a name short)
    if n == 40 && left_ok(h, i) && right_ok(h, i + n) && !matches!(h.get(i + n), Some(b'/' | b'-'))
    {
        let v = &h[i..i + n];
        if v.iter().any(u8::is_ascii_digit)
            && v.iter().any(u8::is_ascii_lowercase)
            && v.iter().any(u8::is_ascii_uppercase)
        {
            sink.push(i, i + n, K::SecretAccessKey);
        }
    }
}

/// `AKIAXXXXXXXXXXXXXXXX`: a long run of one character is a placeholder, not a key.
fn looks_like_placeholder(body: &[u8]) -> bool {
    let mut longest = 0;
    let mut cur = 0;
    let mut prev = 0;
    for &c in body {
        cur = if c == prev { cur + 1 } else { 1 };
        prev = c;
        longest = longest.max(cur);
    }
    longest >= 6
}

/// Route 53 zone ids and CloudFront distribution ids, every one a search for `Z` and `E`
/// finds (the reference the pass over `_`, `E` and `Z` is tested against).
#[cfg(test)]
pub(crate) fn find_upper_ids(h: &[u8], sink: &mut Sink) {
    for s in memchr::memchr2_iter(b'Z', b'E', h) {
        upper_id_at(h, s, sink);
    }
}

/// A Route 53 zone id (`Z` + 12-21; AWS documentation shows both lengths) or a CloudFront
/// distribution id (`E` + 13) from the `Z` or `E` at `s`: uppercase alphanumerics with at
/// least one digit, standing alone.
#[inline]
pub(crate) fn upper_id_at(h: &[u8], s: usize, sink: &mut Sink) {
    if !left_ok(h, s) || (s > 0 && h[s - 1] == b'-') {
        return;
    }
    let n = run(h, s + 1, 22, |c| {
        c.is_ascii_uppercase() || c.is_ascii_digit()
    });
    let end = s + 1 + n;
    if !right_ok(h, end) || (end < h.len() && h[end] == b'-') {
        return;
    }
    let body = &h[s + 1..end];
    let digits = body.iter().filter(|c| c.is_ascii_digit()).count();
    if digits == n || looks_like_placeholder(body) || (h[s] == b'E' && digits == 0) {
        return;
    }
    if h[s] == b'Z' && (12..=21).contains(&n) {
        sink.push(s, end, K::Route53Zone);
    } else if h[s] == b'E' && n == 13 {
        sink.push(s, end, K::CloudfrontDistribution);
    }
}

/// A Cognito user pool id around the `_` at `u`: `region_` + 9 alphanumerics.
#[inline]
pub(crate) fn cognito_pool_at(h: &[u8], u: usize, sink: &mut Sink) {
    let n = run(h, u + 1, 10, |c| c.is_ascii_alphanumeric());
    if n != 9 || !right_ok(h, u + 1 + n) {
        return;
    }
    let back = run_back(h, u, 20, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'
    });
    let s = u - back;
    if back == 0 || !left_ok(h, s) || !is_region(&h[s..u]) {
        return;
    }
    sink.push(s, u + 1 + n, K::CognitoPool);
}
