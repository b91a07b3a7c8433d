//! ARNs, AWS host names and URLs, anchored on rare literals.

use super::Sink;
use super::bytes::{escape_residue_before, escaped_at, is_region, left_ok, run};
use crate::catalogue::K;

/// Longest host name we extend backwards over (DNS names are at most 253 bytes).
const MAX_HOST: usize = 253;

#[inline]
fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.'
}

/// Bytes that may appear in an ARN's resource part.
#[inline]
fn is_arn_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'_' | b'+'
                | b'='
                | b'.'
                | b'@'
                | b'-'
                | b'/'
                | b':'
                | b'*'
                | b'$'
                | b'!'
                | b'{'
                | b'}'
                | b'~'
                | b'%'
        )
}

/// Parses an ARN starting at `s` (where `arn:` was found).
pub(crate) fn arn_at(h: &[u8], s: usize, max_span: usize, sink: &mut Sink) {
    if !left_ok(h, s) {
        return;
    }
    let mut i = s + 4;
    // partition: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, ...
    let n = run(h, i, 16, |c| c.is_ascii_lowercase() || c == b'-');
    if n < 3 || &h[i..i + 3] != b"aws" || h.get(i + n) != Some(&b':') {
        return;
    }
    i += n + 1;
    // service
    let n = run(h, i, 40, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'
    });
    if n == 0 || h.get(i + n) != Some(&b':') {
        return;
    }
    let service = &h[i..i + n];
    i += n + 1;
    // region (may be empty)
    let n = run(h, i, 30, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'
    });
    if h.get(i + n) != Some(&b':')
        || (n > 0 && !is_region(&h[i..i + n]) && &h[i..i + n] != b"global")
    {
        return;
    }
    i += n + 1;
    // account: empty or 12 digits; the literal `aws` marks an AWS-managed resource
    let n = run(h, i, 13, |c| c.is_ascii_digit());
    if (n != 0 && n != 12) || h.get(i + n) != Some(&b':') {
        return;
    }
    i += n + 1;
    // resource
    let r = i;
    let limit = h.len().min(s + max_span);
    // IAM OIDC providers in a principal (`...:oidc-provider/HOST/id/X:sts.amazonaws.com:...`)
    // and Lambda functions (`function:NAME/invocations` in API Gateway URIs) end early
    let oidc = h[r..].starts_with(b"oidc-provider");
    let lambda = service == b"lambda";
    while i < limit {
        let b = h[i];
        if b == b'\\' && h.get(i + 1) == Some(&b'/') && !escaped_at(h, i) {
            i += 2;
        } else if is_arn_byte(b) && !(oidc && b == b':') && !(lambda && b == b'/') {
            i += 1;
        } else {
            break;
        }
    }
    // trailing sentence punctuation is not part of an ARN
    loop {
        if i > r && matches!(h[i - 1], b'.' | b':' | b'!' | b'?' | b'=') {
            i -= 1;
        } else if i > r + 1 && h[i - 1] == b'*' && h[i - 2] == b'*' {
            // Markdown emphasis (`**arn:...**`), not a wildcard
            while i > r && h[i - 1] == b'*' {
                i -= 1;
            }
        } else {
            break;
        }
    }
    if i == r {
        return;
    }
    let resource = &h[r..i];
    // an S3 resource starts with a bucket name, which has no uppercase letters
    if service == b"s3"
        && resource
            .iter()
            .take_while(|&&c| c != b'/' && c != b'\\')
            .any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'.')))
    {
        return;
    }
    sink.push(s, i, K::Arn);
}

/// Log groups of AWS services: `/aws/lambda/name`, `/aws/eks/cluster/cluster`, ... (also
/// with JSON-escaped slashes), standing alone.
pub(crate) fn aws_log_group_at(h: &[u8], s: usize, sink: &mut Sink) {
    if s > 0
        && (h[s - 1].is_ascii_alphanumeric()
            || matches!(h[s - 1], b'/' | b':' | b'.' | b'-' | b'_' | b'='))
    {
        return;
    }
    let limit = h.len().min(s + 512);
    let mut i = s;
    let mut slashes = 0;
    while i < limit {
        let c = h[i];
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'#') {
            i += 1;
        } else if c == b'/' {
            slashes += 1;
            i += 1;
        } else if c == b'\\' && h.get(i + 1) == Some(&b'/') {
            slashes += 1;
            i += 2;
        } else {
            break;
        }
    }
    while i > s && matches!(h[i - 1], b'.' | b'/' | b'-') {
        if h[i - 1] == b'/' {
            slashes -= 1;
        }
        i -= 1;
    }
    if h[i - 1] == b'\\' {
        i -= 1;
    }
    // `/aws/` + service + `/` + name
    if slashes >= 3
        && h.get(i)
            .is_none_or(|&c| c != b'*' && c != b'\\' || h.get(i + 1) == Some(&b'"'))
    {
        sink.push(s, i, K::LogGroup);
    }
}

/// The name an ARN gives a resource whose name is an identifier of its own: the bucket of an
/// S3 ARN, the function of a Lambda ARN, the table, cluster or log group. Its other
/// occurrences in a text are that identifier too.
pub(crate) fn arn_name(arn: &[u8]) -> Option<(K, &[u8])> {
    // `arn:partition:service:region:account:resource`: the colons before the resource,
    // found in one loop that stops at the service when it names no such resource (an IAM
    // role's ARN); splitting the ARN into its parts first cost ~170 ns an ARN
    let mut colons = [0; 5];
    let mut n = 0;
    let mut kind = None;
    for (i, &c) in arn.iter().enumerate() {
        if c != b':' {
            continue;
        }
        colons[n] = i;
        n += 1;
        if n == 3 {
            kind = Some(match &arn[colons[1] + 1..i] {
                b"s3" => (K::S3Bucket, &b""[..]),
                b"lambda" => (K::LambdaFunction, &b"function:"[..]),
                b"dynamodb" => (K::DynamodbTable, &b"table/"[..]),
                b"eks" => (K::EksCluster, &b"cluster/"[..]),
                b"ecs" => (K::EcsCluster, &b"cluster/"[..]),
                b"logs" => (K::LogGroup, &b"log-group:"[..]),
                _ => return None,
            });
        }
        if n == colons.len() {
            break;
        }
    }
    let (kind, prefix) = kind.filter(|_| n == colons.len())?;
    let rest = arn[colons[4] + 1..].strip_prefix(prefix)?;
    // log group names have slashes of their own
    let stops: &[u8] = if kind == K::LogGroup { b":" } else { b"/:\\" };
    let end = rest
        .iter()
        .position(|c| stops.contains(c))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    (!name.is_empty() && !name.contains(&b'*')).then_some((kind, name))
}

/// [`arn_name`] the plain way: the ARN split into its six parts (the reference it is tested
/// against).
#[cfg(test)]
pub(crate) fn arn_name_plain(arn: &[u8]) -> Option<(K, &[u8])> {
    let mut parts = arn.splitn(6, |&c| c == b':');
    let (_, _, service, _, _, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let upto = |r: &'_ [u8], stops: &[u8]| -> usize {
        r.iter().position(|c| stops.contains(c)).unwrap_or(r.len())
    };
    let (kind, rest) = match service {
        b"s3" => (K::S3Bucket, resource),
        b"lambda" => (K::LambdaFunction, resource.strip_prefix(b"function:")?),
        b"dynamodb" => (K::DynamodbTable, resource.strip_prefix(b"table/")?),
        b"eks" => (K::EksCluster, resource.strip_prefix(b"cluster/")?),
        b"ecs" => (K::EcsCluster, resource.strip_prefix(b"cluster/")?),
        b"logs" => (K::LogGroup, resource.strip_prefix(b"log-group:")?),
        _ => return None,
    };
    let stops: &[u8] = if kind == K::LogGroup { b":" } else { b"/:\\" };
    let name = &rest[..upto(rest, stops)];
    (!name.is_empty() && !name.contains(&b'*')).then_some((kind, name))
}

/// `s3://bucket/...` (and `s3a://`, `s3n://`): the bucket only.
pub(crate) fn s3_url_at(h: &[u8], s: usize, anchor_len: usize, sink: &mut Sink) {
    let b = s + anchor_len;
    if let Some(end) = bucket_at(h, b) {
        sink.push(b, end, K::S3Bucket);
    }
}

/// A bucket name starting at `b`: 3-63 of `[a-z0-9.-]`, starting and ending alphanumeric,
/// followed by a byte that cannot continue a name. Returns its end.
pub(crate) fn bucket_at(h: &[u8], b: usize) -> Option<usize> {
    let n = run(h, b, 64, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.'
    });
    let mut end = b + n;
    while end > b && matches!(h[end - 1], b'.' | b'-') {
        end -= 1;
    }
    if !is_bucket_name(&h[b..end]) {
        return None;
    }
    if let Some(&c) = h.get(end)
        && (c.is_ascii_uppercase()
            || c == b'_'
            || (c == b'.' && h.get(end + 1).is_some_and(u8::is_ascii_alphanumeric)))
    {
        return None;
    }
    Some(end)
}

/// Whether `name` follows the S3 bucket naming rules: 3-63 of `[a-z0-9.-]`, starting and
/// ending with a letter or digit, no `..`, not an IP address.
pub(crate) fn is_bucket_name(name: &[u8]) -> bool {
    name.len() >= 3
        && name.len() <= 63
        && name[0].is_ascii_alphanumeric()
        && name[name.len() - 1].is_ascii_alphanumeric()
        && name
            .iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
        && !name.windows(2).any(|w| w == b"..")
        && !name.iter().all(|c| c.is_ascii_digit() || *c == b'.')
}

/// The AWS domain suffixes that anchor host names.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Suffix {
    AmazonAws,
    ComputeInternal,
    Ec2Internal,
    Cloudfront,
    OnAws,
    /// `c2s.ic.gov` and `sc2s.sgov.gov`: the ISO partitions' `amazonaws.com`.
    Iso,
}

/// Handles a host-name anchor (`.amazonaws.com` and friends) found at `a`.
pub(crate) fn host_at(h: &[u8], a: usize, anchor_len: usize, suffix: Suffix, sink: &mut Sink) {
    let mut e = a + anchor_len;
    if suffix == Suffix::AmazonAws
        && h[e..].starts_with(b".cn")
        && !h.get(e + 3).is_some_and(|&c| is_host_byte(c) && c != b'.')
    {
        e += 3;
    }
    if h.get(e)
        .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        return;
    }
    // extend back over the host name
    let stop = a.saturating_sub(MAX_HOST);
    let mut s = a;
    while s > stop && is_host_byte(h[s - 1]) {
        s -= 1;
    }
    // a JSON escape glued to the name (`\nip-10-0-0-1...`) is not part of it
    while s < a {
        let r = escape_residue_before(h, s + 1).max(if s + 5 <= a {
            escape_residue_before(h, s + 5)
        } else {
            0
        });
        if r == 1 && s > 0 && h[s - 1] == b'\\' {
            s += 1;
        } else if r == 5 && s > 0 && h[s - 1] == b'\\' && h[s] == b'u' {
            s += 5;
        } else {
            break;
        }
    }
    while s < a && matches!(h[s], b'.' | b'-') {
        s += 1;
    }
    if s >= a {
        return;
    }
    let name = &h[s..a];
    let labels: Labels<'_> = Labels::new(name);
    match suffix {
        Suffix::ComputeInternal | Suffix::Ec2Internal => {
            let first = labels.get(0);
            let ok = match suffix {
                Suffix::Ec2Internal => labels.len() == 1,
                _ => labels.len() == 2 && is_region(labels.get(1)),
            };
            if ok && (first.starts_with(b"ip-") || first.starts_with(b"i-")) {
                sink.push(s, e, K::Ec2Hostname);
            }
        }
        Suffix::Cloudfront => {
            let first = labels.get(0);
            if labels.len() == 1
                && first.len() == 14
                && first[0] == b'd'
                && first
                    .iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            {
                sink.push(s, e, K::CloudfrontDomain);
            }
        }
        Suffix::OnAws => {
            if labels.len() == 3 && labels.get(1) == b"lambda-url" && is_region(labels.get(2)) {
                sink.push(s, e, K::LambdaUrl);
            }
        }
        Suffix::AmazonAws | Suffix::Iso => classify_aws_host(h, s, e, &labels, sink),
    }
}

/// The dot-separated labels of a host name, without allocating.
pub(crate) struct Labels<'h> {
    name: &'h [u8],
    /// start offsets of up to 16 labels
    starts: [u16; 16],
    n: usize,
}

impl<'h> Labels<'h> {
    fn new(name: &'h [u8]) -> Self {
        let mut starts = [0u16; 16];
        let mut n = 1;
        for (i, &c) in name.iter().enumerate() {
            if c == b'.' && n < 16 {
                starts[n] = (i + 1) as u16;
                n += 1;
            }
        }
        Labels { name, starts, n }
    }

    fn len(&self) -> usize {
        self.n
    }

    fn get(&self, i: usize) -> &'h [u8] {
        if i >= self.n {
            return b"";
        }
        let s = usize::from(self.starts[i]);
        let e = if i + 1 < self.n {
            usize::from(self.starts[i + 1]) - 1
        } else {
            self.name.len()
        };
        &self.name[s..e]
    }

    /// Label `i` counted from the right (0 = last).
    fn rev(&self, i: usize) -> &'h [u8] {
        if i >= self.n {
            b""
        } else {
            self.get(self.n - 1 - i)
        }
    }

    /// Byte offset in the name where label `i` starts.
    fn start(&self, i: usize) -> usize {
        usize::from(self.starts[i])
    }
}

fn classify_aws_host(h: &[u8], s: usize, e: usize, l: &Labels<'_>, sink: &mut Sink) {
    let n = l.len();
    let last = l.rev(0);
    let second = l.rev(1);
    // S3 virtual-hosted style: bucket.s3.amazonaws.com, bucket.s3.region.amazonaws.com,
    // bucket.s3-region.amazonaws.com, bucket.s3-website-region..., bucket.s3.dualstack.region...
    if let Some(i) = (0..n).find(|&i| is_s3_label(l.get(i))) {
        if l.rev(0) == b"vpce" {
            // interface endpoint names are host names of their own
        } else if i > 0 {
            let end = s + l.start(i) - 1;
            if is_bucket_name(&h[s..end]) {
                sink.push(s, end, K::S3Bucket);
            }
            return;
        } else {
            // path style: s3.region.amazonaws.com/bucket; but the S3 XML namespace
            // `http://s3.amazonaws.com/doc/2006-03-01/` names no bucket
            if h[e..].starts_with(b"/doc/") || h[e..].starts_with(br"\/doc\/") {
                return;
            }
            if h.get(e) == Some(&b'/') {
                if let Some(be) = bucket_at(h, e + 1) {
                    sink.push(e + 1, be, K::S3Bucket);
                }
            } else if h.get(e) == Some(&b'\\')
                && h.get(e + 1) == Some(&b'/')
                && let Some(be) = bucket_at(h, e + 2)
            {
                sink.push(e + 2, be, K::S3Bucket);
            }
            return;
        }
    }
    let kind = if n >= 3 && matches!(last, b"rds" | b"docdb" | b"neptune") {
        Some(K::RdsEndpoint)
    } else if n >= 3 && last == b"cache" {
        Some(K::ElasticacheEndpoint)
    } else if n >= 2 && (last == b"elb" || second == b"elb") {
        Some(K::ElbDns)
    } else if (last == b"compute-1" || last == b"compute") && l.get(0).starts_with(b"ec2-") {
        Some(K::Ec2Hostname)
    } else if l.get(0) == b"oidc" && l.get(1) == b"eks" {
        oidc_issuer(h, s, e, sink);
        None
    } else if last == b"eks" && n >= 4 {
        Some(K::EksEndpoint)
    } else if n >= 3 && second == b"execute-api" {
        Some(K::ApiGatewayEndpoint)
    } else if n >= 4 && second == b"ecr" && l.rev(2) == b"dkr" {
        Some(K::EcrRegistry)
    } else if n >= 3 && (last == b"es" || last == b"aoss") {
        Some(K::OpensearchEndpoint)
    } else if n >= 3 && second == b"efs" {
        Some(K::EfsDns)
    } else if n >= 4 && last == b"vpce" {
        Some(K::VpceDns)
    } else if resource_endpoint(l) {
        Some(K::ResourceEndpoint)
    } else if (n == 2 && l.get(0) == b"sqs" && is_region(l.get(1)))
        || (n == 1 && l.get(0) == b"queue")
        || (n == 2 && l.get(1) == b"queue")
    {
        sqs_url(h, s, e, sink);
        None
    } else {
        None
    };
    if let Some(kind) = kind {
        sink.push(s, e, kind);
    }
}

/// Whether the labels before `amazonaws.com` name a customer's resource on a service whose
/// host names carry one: `cluster.id.region.redshift`, `workgroup.account.region.redshift-
/// serverless`, `broker.mq.region`, `b-1.cluster.id.c2.kafka.region`, `prefix-ats.iot.region`
/// (the account's own IoT endpoint), `api.appsync-api.region`, `fs-….fsx.region`,
/// `domain-account.d.codeartifact.region`. The services' own endpoints
/// (`redshift.us-east-1`, `data-ats.iot.us-east-1`) name nothing.
fn resource_endpoint(l: &Labels<'_>) -> bool {
    let n = l.len();
    let (last, second) = (l.rev(0), l.rev(1));
    let first = l.get(0);
    let alnum = |s: &[u8], len: usize| {
        s.len() == len
            && s.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    if matches!(last, b"redshift" | b"redshift-serverless") {
        return n >= 4 && is_region(second);
    }
    if !is_region(last) {
        return false;
    }
    match second {
        b"mq" | b"fsx" => n == 3,
        b"kafka" | b"kafka-serverless" => n >= 4,
        b"iot" => n == 3 && alnum(first.strip_suffix(b"-ats").unwrap_or(first), 14),
        b"appsync-api" | b"appsync-realtime-api" => n == 3 && alnum(first, 26),
        b"codeartifact" => n >= 4 && l.rev(2) == b"d",
        _ => false,
    }
}

fn is_s3_label(label: &[u8]) -> bool {
    label == b"s3" || label.starts_with(b"s3-") && !label.starts_with(b"s3-control")
}

/// `https://` (or `http://`) right before `s`, if any: its start.
fn scheme_before(h: &[u8], s: usize) -> Option<usize> {
    for scheme in [&b"https://"[..], b"http://", br"https:\/\/", br"http:\/\/"] {
        if s >= scheme.len() && &h[s - scheme.len()..s] == scheme {
            return Some(s - scheme.len());
        }
    }
    None
}

/// A `/` or an escaped `\/` at `i`: its length.
fn slash_at(h: &[u8], i: usize) -> usize {
    match h.get(i) {
        Some(b'/') => 1,
        Some(b'\\') if h.get(i + 1) == Some(&b'/') => 2,
        _ => 0,
    }
}

/// SQS queue URL: `https://sqs.region.amazonaws.com/ACCOUNT/name`, one span.
fn sqs_url(h: &[u8], s: usize, e: usize, sink: &mut Sink) {
    let mut i = e;
    let k = slash_at(h, i);
    if k == 0 {
        return;
    }
    i += k;
    if run(h, i, 13, |c| c.is_ascii_digit()) != 12 {
        return;
    }
    i += 12;
    let k = slash_at(h, i);
    if k == 0 {
        return;
    }
    i += k;
    let n = run(h, i, 81, |c| {
        c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
    });
    if n == 0 || n > 80 {
        return;
    }
    i += n;
    if h[i..].starts_with(b".fifo") {
        i += 5;
    }
    let start = scheme_before(h, s).unwrap_or(s);
    sink.push(start, i, K::SqsUrl);
}

/// EKS OIDC issuer: `https://oidc.eks.region.amazonaws.com/id/HEX`, one span.
fn oidc_issuer(h: &[u8], s: usize, e: usize, sink: &mut Sink) {
    let mut i = e;
    let k = slash_at(h, i);
    if k == 0 || !h[i + k..].starts_with(b"id") {
        return;
    }
    i += k + 2;
    let k = slash_at(h, i);
    if k == 0 {
        return;
    }
    i += k;
    let n = run(h, i, 41, |c| c.is_ascii_hexdigit());
    if n < 16 {
        return;
    }
    i += n;
    let start = scheme_before(h, s).unwrap_or(s);
    sink.push(start, i, K::EksOidcIssuer);
}
