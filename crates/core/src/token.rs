//! Tokens: `AWS_<TAG>_<CODE>`, with `CODE` in Crockford base32.

/// Number of Crockford base32 characters in a token's code (30 bits).
pub(crate) const CODE_LEN: usize = 6;

/// Crockford's base32 alphabet: no I, L, O or U.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Encodes the first `CODE_LEN * 5` bits of `bytes` as Crockford base32.
pub(crate) fn code_from(bytes: &[u8]) -> [u8; CODE_LEN] {
    let mut acc: u64 = 0;
    for &b in &bytes[..8] {
        acc = (acc << 8) | u64::from(b);
    }
    let mut out = [0u8; CODE_LEN];
    for (i, c) in out.iter_mut().enumerate() {
        let shift = 64 - 5 * (i + 1);
        *c = CROCKFORD[((acc >> shift) & 31) as usize];
    }
    out
}

/// Whether `b` is a Crockford base32 character in either case.
#[inline]
pub(crate) fn is_code_char(b: u8) -> bool {
    let u = b.to_ascii_uppercase();
    u.is_ascii_digit() || (u.is_ascii_uppercase() && !matches!(u, b'I' | b'L' | b'O' | b'U'))
}

/// Formats `AWS_<TAG>_<CODE>`.
pub(crate) fn format(tag: &str, code: [u8; CODE_LEN]) -> String {
    let mut s = String::with_capacity(5 + tag.len() + CODE_LEN);
    s.push_str("AWS_");
    s.push_str(tag);
    s.push('_');
    // the code is ASCII by construction
    s.extend(code.iter().map(|&c| char::from(c)));
    s
}

/// If a token starts at `s` (at `AWS_`, any case), returns its end. `is_tag` says which tags
/// exist.
pub(crate) fn token_at(h: &[u8], s: usize, is_tag: impl Fn(&[u8]) -> bool) -> Option<usize> {
    if h.len() < s + 4 || !h[s..s + 4].eq_ignore_ascii_case(b"AWS_") {
        return None;
    }
    // the same boundary as every detection rule, JSON escapes included (`\nAWS_EC2_...`)
    if !crate::detect::left_ok(h, s) {
        return None;
    }
    let t = s + 4;
    let mut i = t;
    while i < h.len() && i - t <= 16 && h[i].is_ascii_alphanumeric() {
        i += 1;
    }
    if i == t || h.get(i) != Some(&b'_') || !is_tag(&h[t..i]) {
        return None;
    }
    let c = i + 1;
    let n = h[c..]
        .iter()
        .take(CODE_LEN + 1)
        .take_while(|&&b| is_code_char(b))
        .count();
    let end = c + CODE_LEN;
    if n != CODE_LEN
        || h.get(end)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    Some(end)
}

/// The canonical form of a token found by [`token_at`]: upper case.
pub(crate) fn canonical(token: &[u8]) -> String {
    // tokens are ASCII by their grammar
    token
        .iter()
        .map(|&b| char::from(b.to_ascii_uppercase()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_crockford() {
        let code = code_from(&[0xff; 8]);
        assert_eq!(&code, b"ZZZZZZ");
        let code = code_from(&[0; 8]);
        assert_eq!(&code, b"000000");
        assert!(
            code_from(&[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0])
                .iter()
                .all(|&c| is_code_char(c))
        );
    }

    #[test]
    fn token_grammar() {
        let tags = |t: &[u8]| t.eq_ignore_ascii_case(b"EC2") || t.eq_ignore_ascii_case(b"S3");
        assert_eq!(token_at(b"AWS_EC2_7KQ2XM", 0, tags), Some(14));
        assert_eq!(token_at(b"aws_ec2_7kq2xm.", 0, tags), Some(14));
        assert_eq!(token_at(b"AWS_SECRET_ACCESS_KEY", 0, tags), None);
        assert_eq!(token_at(b"AWS_REGION", 0, tags), None);
        assert_eq!(token_at(b"AWS_EC2_7KQ2XMX", 0, tags), None);
        assert_eq!(token_at(b"AWS_EC2_7KQ2X", 0, tags), None);
        assert_eq!(token_at(b"AWS_EC2_7KQ2XU", 0, tags), None);
        assert_eq!(token_at(b"XAWS_EC2_7KQ2XM", 1, tags), None);
        assert_eq!(format("EC2", *b"7KQ2XM"), "AWS_EC2_7KQ2XM");
    }
}
