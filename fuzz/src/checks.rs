//! The checks of the fuzz targets, one function each, so that they also run on stable Rust:
//! the core crate's `fuzz_smoke` test feeds them mutated seeds in CI (`#[path]` includes this
//! file there), and the targets in `fuzz_targets/` are one call each. Only `awsmask`,
//! `serde_json` and `std` are used here.

use std::io::Read;
use std::sync::OnceLock;

use awsmask::{Detector, ErrorKind, MAX_MATCH_LEN, Masker, MasterKey, Match, StreamScanner};
use serde_json::Value;

/// One masker for the whole run: an in-memory store and a fixed key.
pub fn masker() -> &'static Masker {
    static M: OnceLock<Masker> = OnceLock::new();
    M.get_or_init(|| {
        Masker::builder()
            .key(MasterKey::from_bytes([7; 32]))
            .build()
            .expect("a memory masker")
    })
}

fn detector() -> &'static Detector {
    static DET: OnceLock<Detector> = OnceLock::new();
    DET.get_or_init(Detector::new)
}

/// Resource ids of the simplest form, found the plain way: one of a few prefixes, `-`, then
/// exactly 8 or 17 lowercase hex digits, with neither a word byte nor `-` before and no word
/// byte after (the reference [`detect`] holds the detector to).
fn plain_ids(h: &[u8]) -> Vec<(usize, usize)> {
    const PREFIXES: &[&[u8]] = &[
        b"i-", b"vpc-", b"subnet-", b"sg-", b"vol-", b"snap-", b"eni-", b"igw-", b"rtb-", b"ami-",
    ];
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = Vec::new();
    for s in 0..h.len() {
        if s > 0 && (word(h[s - 1]) || h[s - 1] == b'-') {
            continue;
        }
        for p in PREFIXES {
            if !h[s..].starts_with(p) {
                continue;
            }
            let b = s + p.len();
            let n = h[b..]
                .iter()
                .take_while(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
                .count();
            if (n == 8 || n == 17) && h.get(b + n).is_none_or(|&c| !word(c)) {
                found.push((s, b + n));
            }
        }
    }
    found
}

/// Access key ids found the plain way: `AKIA` or `ASIA` and 16 upper-case letters or
/// digits, with no word byte on either side, and no character six times in a row (a
/// placeholder such as `AKIAXXXXXXXXXXXXXXXX`).
fn plain_keys(h: &[u8]) -> Vec<(usize, usize)> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = Vec::new();
    for s in 0..h.len().saturating_sub(19) {
        if !(h[s..].starts_with(b"AKIA") || h[s..].starts_with(b"ASIA"))
            || (s > 0 && word(h[s - 1]))
        {
            continue;
        }
        let body = &h[s + 4..s + 20];
        let repeated = body.windows(6).any(|w| w.iter().all(|&c| c == w[0]));
        if body
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && !repeated
            && h.get(s + 20).is_none_or(|&c| !word(c))
        {
            found.push((s, s + 20));
        }
    }
    found
}

/// Detection, differential: the one-shot scan against a plain search for the simplest
/// resource ids ([`plain_ids`]) and access key ids ([`plain_keys`]), against the stream
/// scanner (any chunking, one or three threads, picked by the first byte) and against the
/// batched scan, plus the invariants of every result (sorted, not overlapping, on character
/// boundaries of UTF-8 text, no longer than `MAX_MATCH_LEN`).
pub fn detect(data: &[u8]) {
    let Some((&ctl, h)) = data.split_first() else {
        return;
    };
    let det = detector();
    let one: Vec<Match> = det.find_iter(h).collect();
    let mut last = 0;
    for m in &one {
        assert!(m.start() >= last, "overlap or out of order");
        assert!(m.start() < m.end() && m.end() <= h.len());
        assert!(m.len() <= MAX_MATCH_LEN);
        if let Ok(text) = std::str::from_utf8(h) {
            assert!(text.is_char_boundary(m.start()) && text.is_char_boundary(m.end()));
        }
        last = m.end();
    }
    // every id the plain search finds is a match or inside one (a host name, an ARN, a
    // bucket named after it), unless a match cut at `MAX_MATCH_LEN` ends inside it
    for (s, e) in plain_ids(h).into_iter().chain(plain_keys(h)) {
        let inside = one.iter().any(|m| m.start() <= s && e <= m.end());
        let cut = one
            .iter()
            .any(|m| m.len() == MAX_MATCH_LEN && m.start() < e && s < m.end());
        assert!(
            inside || cut,
            "a plain resource id or access key id is not found"
        );
    }
    let chunk = 1 + usize::from(ctl & 0x3f) * 3;
    let threads = if ctl & 0x40 != 0 { 3 } else { 1 };
    let mut scanner = StreamScanner::new(det).threads(threads);
    let mut streamed = Vec::new();
    for piece in h.chunks(chunk) {
        scanner.push(piece, &mut streamed);
    }
    scanner.finish(&mut streamed);
    assert_eq!(one, streamed, "stream and one-shot scans differ");
    let mut batched: Vec<Match> = Vec::new();
    let done = det.find_batches(h, threads, |batch, _| {
        batched.extend_from_slice(batch);
        Ok::<_, std::convert::Infallible>(())
    });
    assert!(
        done.is_ok() && one == batched,
        "batches and one-shot scans differ"
    );
    // and in small parts and pieces, so that the text crosses their borders
    let (part, piece) = (64 + usize::from(ctl & 0x3f) * 61, 16 + usize::from(ctl) * 7);
    let mut batched: Vec<Match> = Vec::new();
    let mut covered = 0;
    let done = det.find_batches_sized(h, threads, part, piece, |batch, range| {
        assert_eq!(range.start, covered, "parts follow each other");
        covered = range.end;
        assert!(batch.iter().all(|m| range.contains(&m.start())));
        batched.extend_from_slice(batch);
        Ok::<_, std::convert::Infallible>(())
    });
    assert!(
        done.is_ok() && one == batched && covered == h.len(),
        "small batches and one-shot scans differ"
    );
    // and read from a stream in small chunks and pieces, with the bytes of every match held
    let mut read: Vec<Match> = Vec::new();
    let mut covered = 0;
    let done = det.find_read_in(h, threads, (part * 3, piece), |batch, range, text| {
        assert_eq!(range.start, covered, "parts follow each other");
        covered = range.end;
        for m in batch {
            assert!(range.contains(&m.start()));
            assert_eq!(
                text.get(m.range()),
                Some(&h[m.range()]),
                "a match's bytes are held"
            );
        }
        read.extend_from_slice(batch);
        Ok::<_, std::io::Error>(())
    });
    assert!(
        done.is_ok() && one == read && covered == h.len(),
        "read and one-shot scans differ"
    );
}

/// `unmask(mask(x)) == x` for any text, and whatever the detector finds is masked.
pub fn round_trip(text: &str) {
    let m = masker();
    // refused only as input that cannot be masked exactly (an identifier cut in a word)
    let masked = match m.mask(text) {
        Ok(masked) => masked,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Input, "{e}");
            return;
        }
    };
    let back = m
        .unmask(masked.text())
        .expect("a memory store does not fail");
    assert_eq!(back, text, "round trip");
    // mask uses the detector: what it finds is masked
    if m.detector().find_iter(text.as_bytes()).next().is_some() {
        assert!(masked.total() > 0, "found, not masked");
    }
}

/// The stream unmasker, cut where `cuts` say, gives what the one-shot unmask gives.
pub fn stream_unmask(text: &str, cuts: &[u8]) {
    let m = masker();
    // mask first, so that the answer holds tokens that resolve
    let masked = match m.mask(text) {
        Ok(masked) => masked.text().to_owned(),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Input, "{e}");
            return;
        }
    };
    let whole = m.unmask(&masked).expect("memory store").into_owned();
    let mut u = m.stream_unmasker();
    let mut out = String::new();
    let mut at = 0;
    for &c in cuts {
        let mut end = (at + usize::from(c)).min(masked.len());
        while !masked.is_char_boundary(end) {
            end += 1;
        }
        out.push_str(&u.push(&masked[at..end]).expect("memory store"));
        at = end;
    }
    out.push_str(&u.push(&masked[at..]).expect("memory store"));
    out.push_str(&u.finish().expect("memory store"));
    assert_eq!(out, whole);
    assert_eq!(out, text);
}

/// Whether `out` is `orig` with some strings masked: every string (member names too) is
/// either unchanged or unmasks to the original. A string left alone may look like a token of
/// this namespace; it is not unmasked then. Members are matched by name, so that this holds
/// whether or not `serde_json` keeps their order.
fn same_but_masked(m: &Masker, orig: &Value, out: &Value) -> bool {
    let string = |o: &str, x: &str| o == x || m.unmask(x).expect("memory store") == o;
    match (orig, out) {
        (Value::String(o), Value::String(x)) => string(o, x),
        (Value::Array(o), Value::Array(x)) => {
            o.len() == x.len() && o.iter().zip(x).all(|(a, b)| same_but_masked(m, a, b))
        }
        (Value::Object(o), Value::Object(x)) => {
            o.len() == x.len()
                && x.iter().all(|(xk, xv)| {
                    let ov = o
                        .get(xk)
                        .or_else(|| o.get(m.unmask(xk).expect("memory store").as_ref()));
                    ov.is_some_and(|ov| same_but_masked(m, ov, xv))
                })
        }
        (o, x) => o == x,
    }
}

/// The Messages API JSON helpers never panic and refuse only bad input; what they give back
/// is valid JSON, and a masked request unmasks string by string to the request it was.
pub fn messages_json(body: &str) {
    let m = masker();
    // our parser may accept what serde_json refuses (an unpaired surrogate escape in a
    // string never decoded, a number out of f64's range): compare only where both read it
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    match m.mask_request_json(body) {
        Ok(masked) => {
            if let Some(original) = &parsed {
                let out: Value = serde_json::from_str(masked.text()).expect("valid JSON out");
                assert!(
                    same_but_masked(m, original, &out),
                    "not the request, masked"
                );
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::Input),
    }
    match m.unmask_response_json(body) {
        Ok(out) => {
            if parsed.is_some() {
                serde_json::from_str::<Value>(&out).expect("valid JSON out");
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::Input),
    }
}

fn sse_run(m: &Masker, pieces: &[&[u8]]) -> Option<Vec<u8>> {
    let mut u = m.sse_unmasker();
    let mut out = Vec::new();
    for p in pieces {
        out.extend(u.push(p).ok()?);
    }
    out.extend(u.finish().ok()?);
    Some(out)
}

/// The SSE unmasker never panics, and in chunks of `1 + step` bytes it gives the same output
/// (or the same refusal) as when it gets the stream whole.
pub fn sse(stream: &[u8], step: u8) {
    let m = masker();
    let whole = sse_run(m, &[stream]);
    let chunked: Vec<&[u8]> = stream.chunks(1 + usize::from(step)).collect();
    assert_eq!(whole, sse_run(m, &chunked));
}

/// Gives its bytes in reads of the sizes listed (then what is left at once).
struct Dribble<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = match self.sizes.split_first() {
            Some((&s, rest)) => {
                self.sizes = rest;
                usize::from(s).max(1) * 16
            }
            None => buf.len(),
        };
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// `mask_stream` fed in reads of the sizes listed gives text that unmasks to the input, and
/// refuses only what the one-shot mask refuses; then [`mask_stream_small`].
pub fn mask_stream(text: &str, sizes: &[u8]) {
    mask_stream_whole(text, sizes);
    mask_stream_small(text, sizes);
}

/// The stream masker in small chunks and pieces on one to three threads (all picked by
/// `ctl`), so that the text crosses many of their borders, on the text and, picked by `ctl`
/// too, on the text with one byte made invalid UTF-8: masked text unmasks to the input; text
/// that is not UTF-8 is refused, naming the first bad byte as a check from the start does; a
/// refusal of valid text is only an identifier cut at a border (fail closed).
pub fn mask_stream_small(text: &str, ctl: &[u8]) {
    let m = masker();
    let c = |i: usize| usize::from(ctl.get(i).copied().unwrap_or(0));
    let (chunk, piece, threads) = (256 + c(0) * 16, 64 + c(1) * 8, 1 + c(2) % 3);
    let mut bytes = text.as_bytes().to_vec();
    if ctl.len() > 5 && !bytes.is_empty() {
        let at = (c(3) << 8 | c(4)) % bytes.len();
        bytes[at] = [0xff, 0x80, 0xe2, 0xf0][c(5) % 4];
    }
    let mut out = Vec::new();
    let streamed = m.mask_stream_sized(&bytes[..], &mut out, threads, chunk, piece);
    match (std::str::from_utf8(&bytes), streamed) {
        (Ok(text), Ok(_)) => {
            let out = String::from_utf8(out).expect("masked text is UTF-8");
            assert_eq!(m.unmask(&out).expect("memory store"), text, "round trip");
        }
        (Ok(_), Err(e)) => assert_eq!(e.kind(), ErrorKind::Input, "{e}"),
        (Err(bad), Ok(_)) => panic!("text that is not UTF-8 masked (at {})", bad.valid_up_to()),
        (Err(bad), Err(e)) => {
            assert_eq!(e.kind(), ErrorKind::Input, "{e}");
            let msg = e.to_string();
            if msg.contains("UTF-8") {
                assert!(
                    msg.contains(&format!("offset {})", bad.valid_up_to())),
                    "{msg}, first bad byte at {}",
                    bad.valid_up_to()
                );
            }
            // what was written is text, cut at most inside its last character
            let cut = std::str::from_utf8(&out).err();
            assert!(cut.is_none_or(|c| c.error_len().is_none()), "{msg}");
        }
    }
}

/// `mask_stream` fed in reads of the sizes listed: see [`mask_stream`].
fn mask_stream_whole(text: &str, sizes: &[u8]) {
    let m = masker();
    let one = m.mask(text);
    let mut out = Vec::new();
    let streamed = m.mask_stream(
        &mut Dribble {
            data: text.as_bytes(),
            sizes,
        },
        &mut out,
    );
    match streamed {
        Ok(_) => {
            let out = String::from_utf8(out).expect("masked text is UTF-8");
            assert_eq!(m.unmask(&out).expect("memory store"), text, "round trip");
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Input, "{e}");
            assert!(one.is_err(), "the stream refused what one call masks: {e}");
        }
    }
}
