use std::fmt::Write as _;

use super::*;
use crate::Pieces;
use crate::store::MemoryStore;

fn key() -> MasterKey {
    MasterKey::from_bytes([42; 32])
}

fn masker(ns: &str, store: &Arc<dyn MappingStore>) -> Masker {
    Masker::builder()
        .key(key())
        .namespace(ns)
        .store(store.clone())
        .build()
        .unwrap()
}

const TEXT: &str = r#"{"InstanceId": "i-0123456789abcdef0", "OwnerId": "123456789012", "Arn": "arn:aws:iam::123456789012:role/deploy"} and i-0123456789abcdef0 again"#;

#[test]
fn round_trip_and_nothing_left() {
    let m = Masker::new().unwrap();
    let masked = m.mask(TEXT).unwrap();
    for v in ["i-0123456789abcdef0", "123456789012", "deploy"] {
        assert!(!masked.text().contains(v), "{v} leaked: {}", masked.text());
    }
    assert_eq!(masked.counts()["ec2_instance"], 2);
    assert_eq!(masked.total(), 4);
    // the same value gets the same token
    let t: Vec<&str> = masked.text().matches("AWS_EC2_").collect();
    assert_eq!(t.len(), 2);
    assert_eq!(m.unmask(masked.text()).unwrap(), TEXT);
}

#[test]
fn no_identifier_borrows() {
    let m = Masker::new().unwrap();
    assert!(matches!(
        m.mask("nothing here").unwrap().into_text(),
        Cow::Borrowed(_)
    ));
    assert!(matches!(
        m.unmask("nothing here AWS_REGION").unwrap(),
        Cow::Borrowed(_)
    ));
}

#[test]
fn token_shaped_input_comes_back_unchanged() {
    let store: Arc<dyn MappingStore> = Arc::new(MemoryStore::new());
    let m = masker("t", &store);
    let first = m.mask("vpc-0a1b2c3d").unwrap().text().to_owned();
    // a text that already holds that very token, lower-cased too, and another token shape
    let text = format!(
        "{first} {} AWS_EC2_ZZZZZZ vpc-0a1b2c3d\\n{first}",
        first.to_lowercase()
    );
    let masked = m.mask(&text).unwrap();
    // only the real vpc id becomes that token; the token-shaped texts became other tokens
    assert_eq!(masked.text().matches(&first).count(), 1);
    assert_eq!(masked.counts()["awsmask_token"], 4);
    assert_eq!(m.unmask(masked.text()).unwrap(), text);
}

#[test]
fn case_and_markdown_changes_still_unmask() {
    let m = Masker::new().unwrap();
    let t = m.mask("sg-0123456789abcdef0").unwrap().text().to_owned();
    let answer = format!("Open **{}** and `{}`.", t.to_lowercase(), t);
    assert_eq!(
        m.unmask(&answer).unwrap(),
        "Open **sg-0123456789abcdef0** and `sg-0123456789abcdef0`."
    );
    // a token that resolves nowhere stays
    assert_eq!(m.unmask("AWS_SG_000000").unwrap(), "AWS_SG_000000");
}

#[test]
fn deterministic_across_maskers_and_stores_with_one_key() {
    let a = Masker::builder().key(key()).namespace("p").build().unwrap();
    let b = Masker::builder().key(key()).namespace("p").build().unwrap();
    assert_eq!(a.mask(TEXT).unwrap().text(), b.mask(TEXT).unwrap().text());
    let c = Masker::builder()
        .key(MasterKey::from_bytes([1; 32]))
        .namespace("p")
        .build()
        .unwrap();
    assert_ne!(a.mask(TEXT).unwrap().text(), c.mask(TEXT).unwrap().text());
}

#[test]
fn namespaces_are_isolated() {
    let store: Arc<dyn MappingStore> = Arc::new(MemoryStore::new());
    let a = masker("tenant-a", &store);
    let b = masker("tenant-b", &store);
    let masked = a.mask(TEXT).unwrap();
    assert_eq!(b.unmask(masked.text()).unwrap(), masked.text());
    assert_ne!(a.mask(TEXT).unwrap().text(), b.mask(TEXT).unwrap().text());
}

#[test]
fn store_that_lost_its_data_gives_the_same_tokens() {
    let a = masker(
        "n",
        &(Arc::new(MemoryStore::new()) as Arc<dyn MappingStore>),
    );
    let b = masker(
        "n",
        &(Arc::new(MemoryStore::new()) as Arc<dyn MappingStore>),
    );
    assert_eq!(a.mask(TEXT).unwrap().text(), b.mask(TEXT).unwrap().text());
}

/// A store that fails every call.
#[derive(Debug)]
struct DownStore;

impl MappingStore for DownStore {
    fn claim(
        &self,
        _: &crate::NamespaceId,
        _: &[Claim<'_>],
        _: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        Err(Error::new(ErrorKind::Store, "store down"))
    }
    fn resolve(
        &self,
        _: &crate::NamespaceId,
        _: &[&str],
        _: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        Err(Error::new(ErrorKind::Store, "store down"))
    }
}

/// A memory store that counts the tokens it is asked to resolve.
#[derive(Debug, Default)]
struct CountingStore {
    inner: MemoryStore,
    resolved: std::sync::atomic::AtomicUsize,
}

impl MappingStore for CountingStore {
    fn claim(
        &self,
        ns: &crate::NamespaceId,
        claims: &[Claim<'_>],
        ttl: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        self.inner.claim(ns, claims, ttl)
    }
    fn resolve(
        &self,
        ns: &crate::NamespaceId,
        tokens: &[&str],
        ttl: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        self.resolved
            .fetch_add(tokens.len(), std::sync::atomic::Ordering::Relaxed);
        self.inner.resolve(ns, tokens, ttl)
    }
}

#[test]
fn resolved_tokens_are_cached_for_unmasking_only() {
    let counting = Arc::new(CountingStore::default());
    let store: Arc<dyn MappingStore> = counting.clone();
    let masked = masker("n", &store).mask(TEXT).unwrap().text().to_owned();
    // another process: it knows the tokens only through the store, and asks for each once
    let m = masker("n", &store);
    let asked = || counting.resolved.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(m.unmask(&masked).unwrap(), TEXT);
    assert_eq!(asked(), 3);
    assert_eq!(m.unmask(&masked).unwrap(), TEXT);
    let mut u = m.stream_unmasker();
    let mut out = u.push(&masked).unwrap();
    out.push_str(&u.finish().unwrap());
    assert_eq!((out.as_str(), asked()), (TEXT, 3));
    // masking gives the same tokens
    assert_eq!(m.mask(TEXT).unwrap().text(), masked);
}

#[test]
fn failing_store_fails_closed() {
    let m = Masker::builder()
        .store(Arc::new(DownStore))
        .build()
        .unwrap();
    let err = m.mask(TEXT).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store);
    assert!(!err.to_string().contains("i-0123"));
    // nothing to mask needs no store
    assert_eq!(m.mask("plain").unwrap().text(), "plain");
    // a stream fails with nothing written for the failing batch
    let mut out = Vec::new();
    assert!(m.mask_stream(TEXT.as_bytes(), &mut out).is_err());
    assert!(out.is_empty());
    assert!(m.unmask("AWS_EC2_000000").is_err());
    // the JSON helpers and the SSE unmasker too
    let body = r#"{"model":"m","messages":[{"role":"user","content":"i-0123456789abcdef0"}]}"#;
    assert_eq!(
        m.mask_request_json(body).unwrap_err().kind(),
        ErrorKind::Store
    );
    let answer = r#"{"content":[{"type":"text","text":"AWS_EC2_000000"}]}"#;
    assert_eq!(
        m.unmask_response_json(answer).unwrap_err().kind(),
        ErrorKind::Store
    );
    let mut sse = m.sse_unmasker();
    let event = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\
                 \"delta\":{\"type\":\"text_delta\",\"text\":\"AWS_EC2_000000 \"}}\n\n";
    assert_eq!(
        sse.push(event.as_bytes()).unwrap_err().kind(),
        ErrorKind::Store
    );
}

/// A memory store whose answers pass through `on_claim` and `on_resolve` first: a store
/// with collisions, or one that altered what it holds.
#[derive(Debug)]
struct AlteredStore {
    inner: Arc<MemoryStore>,
    on_claim: fn(&mut [Option<Vec<u8>>], &[Claim<'_>]),
    on_resolve: fn(&mut [Option<Vec<u8>>]),
}

impl MappingStore for AlteredStore {
    fn claim(
        &self,
        ns: &crate::NamespaceId,
        claims: &[Claim<'_>],
        ttl: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        let mut out = self.inner.claim(ns, claims, ttl)?;
        (self.on_claim)(&mut out, claims);
        Ok(out)
    }
    fn resolve(
        &self,
        ns: &crate::NamespaceId,
        tokens: &[&str],
        ttl: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        let mut out = self.inner.resolve(ns, tokens, ttl)?;
        (self.on_resolve)(&mut out);
        Ok(out)
    }
}

#[test]
fn collisions_take_the_next_attempt() {
    // every attempt-0 token (the first claim of each) is taken by garbage
    let m = Masker::builder()
        .store(Arc::new(AlteredStore {
            inner: Arc::new(MemoryStore::new()),
            on_claim: |out, claims| {
                for (o, c) in out.iter_mut().zip(claims) {
                    if o.is_none() && c.token.ends_with('0') {
                        *o = Some(b"sealed for someone else".to_vec());
                    }
                }
            },
            on_resolve: |_| {},
        }))
        .build()
        .unwrap();
    let text: String = (0..200)
        .map(|i| format!("vpc-{i:08x} "))
        .collect::<Vec<_>>()
        .concat();
    let masked = m.mask(&text).unwrap();
    assert!(!masked.text().contains("vpc-"));
    assert!(masked.text().split_whitespace().all(|t| !t.ends_with('0')));
    assert_eq!(m.unmask(masked.text()).unwrap(), text);
}

#[test]
fn a_mapping_that_fails_authentication_is_an_error() {
    let store = Arc::new(MemoryStore::new());
    let writer = Masker::builder()
        .store(store.clone())
        .key(key())
        .build()
        .unwrap();
    let masked = writer.mask(TEXT).unwrap().text().to_owned();
    // another process (no cache) reads the mappings through a store that altered them
    let reader = Masker::builder()
        .store(Arc::new(AlteredStore {
            inner: store,
            on_claim: |_, _| {},
            // every mapping handed back with its last byte flipped
            on_resolve: |out| {
                for sealed in out.iter_mut().flatten() {
                    if let Some(b) = sealed.last_mut() {
                        *b ^= 1;
                    }
                }
            },
        }))
        .key(key())
        .build()
        .unwrap();
    let e = reader.unmask(&masked).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Store);
    assert!(e.to_string().contains("fails authentication"), "{e}");
    let mut stream = reader.stream_unmasker();
    let r = stream.push(&masked).and_then(|_| stream.finish());
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Store);
    // a token this namespace never issued is still just text
    assert_eq!(reader.unmask("AWS_EC2_7KQ2XM").unwrap(), "AWS_EC2_7KQ2XM");
}

#[test]
fn stream_unmask_any_split() {
    let m = Masker::new().unwrap();
    let masked = m.mask(TEXT).unwrap().text().to_owned();
    let want = m.unmask(&masked).unwrap().into_owned();
    for step in 1..=masked.len() {
        let mut u = m.stream_unmasker();
        let mut got = String::new();
        let mut i = 0;
        while i < masked.len() {
            let mut j = (i + step).min(masked.len());
            while !masked.is_char_boundary(j) {
                j += 1;
            }
            got.push_str(&u.push(&masked[i..j]).unwrap());
            i = j;
        }
        got.push_str(&u.finish().unwrap());
        assert_eq!(got, want, "step {step}");
    }
}

#[test]
fn stream_unmask_holds_back_only_a_token_prefix() {
    let m = Masker::new().unwrap();
    let t = m.mask("i-0123456789abcdef0").unwrap().text().to_owned();
    let mut u = m.stream_unmasker();
    assert_eq!(u.push("Restart ").unwrap(), "Restart ");
    assert_eq!(u.push(&t[..6]).unwrap(), "");
    assert_eq!(u.push(&t[6..]).unwrap(), "");
    assert_eq!(u.push(" now").unwrap(), "i-0123456789abcdef0 now");
    assert_eq!(u.finish().unwrap(), "");
}

#[test]
fn mask_stream_equals_mask() {
    let m = Masker::new().unwrap();
    let mut big = String::new();
    for i in 0..40_000 {
        let _ = write!(big, "line {i} subnet-{i:08x} → ok; ");
    }
    let mut out = Vec::new();
    let stats = m.mask_stream(big.as_bytes(), &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        m.mask(&big).unwrap().text()
    );
    assert_eq!(stats.counts["subnet"], 40_000);
    assert_eq!(stats.bytes_in, big.len() as u64);
}

#[test]
fn pipelined_mask_stream_writes_what_one_thread_writes() {
    let store: Arc<dyn MappingStore> = Arc::new(MemoryStore::new());
    let mut big = String::new();
    for i in 0..20_000 {
        let _ = write!(
            big,
            "line {i} subnet-{i:08x} → bucket acme-{:04} ok; ",
            i % 700
        );
    }
    let mut want = Vec::new();
    masker("ns", &store)
        .mask_stream(big.as_bytes(), &mut want)
        .unwrap();
    for threads in [2, 3] {
        let m = Masker::builder()
            .store(store.clone())
            .key(key())
            .namespace("ns")
            .threads(threads)
            .build()
            .unwrap();
        for sizes in [&[usize::MAX][..], &[65_536, 1, 700_000, 77][..]] {
            let input = Pieces {
                rest: big.as_bytes(),
                sizes: sizes.iter().cycle(),
            };
            let mut out = Vec::new();
            let stats = m.mask_stream(input, &mut out).unwrap();
            assert!(out == want, "{threads} threads, pieces {sizes:?}");
            assert_eq!(stats.bytes_in, big.len() as u64);
            assert_eq!(stats.counts["subnet"], 20_000);
        }
        // an invalid byte far in: an error, and what was written is a masked prefix (the
        // pipeline reads 256 KiB at least before it scans: the text runs on past that)
        let mut bad = big.clone().into_bytes();
        bad.extend_from_slice(big.as_bytes());
        let at = bad.len() - 10_000;
        bad[at] = 0xff;
        let mut out = Vec::new();
        let input = Pieces {
            rest: &bad,
            sizes: [65_536].iter().cycle(),
        };
        let err = m.mask_stream(input, &mut out).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains(&format!("offset {at}")), "{err}");
        let twice = [&want[..], &want[..]].concat();
        assert!(
            out.len() > 500_000 && twice.starts_with(&out),
            "{}",
            out.len()
        );
        // a store that is down: nothing written
        let down = Masker::builder()
            .store(Arc::new(DownStore))
            .threads(threads)
            .build()
            .unwrap();
        let mut out = Vec::new();
        assert_eq!(
            down.mask_stream(big.as_bytes(), &mut out)
                .unwrap_err()
                .kind(),
            ErrorKind::Store
        );
        assert!(out.is_empty());
    }
}

/// A small deterministic generator (xorshift), for inputs no one wrote by hand.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The stream pipeline in small chunks and pieces, so that a short text crosses many of
/// their boundaries: with any number of threads and any read sizes it writes what `mask`
/// returns, and refuses text that is not UTF-8 with the error a check from the start gives
/// (the pieces check the text separately, each from the first character that starts in it).
#[test]
fn mask_stream_in_small_pieces_is_mask_and_finds_the_first_bad_byte() {
    let m = Masker::builder().key(key()).build().unwrap();
    // pieces of 64 bytes in windows of ~4.3 KB: more pieces than fit whole ones (a last
    // piece once began past the window's end)
    let sizes_of = |seed: u64| {
        if seed.is_multiple_of(3) {
            stream::Sizes {
                chunk: 4_336,
                min_read: 2_168,
                piece: 64,
            }
        } else {
            stream::Sizes {
                chunk: 10_000,
                min_read: 6_000,
                piece: 1_500,
            }
        }
    };
    let words: &[&[u8]] = &[
        b"ok ",
        b"vpc-0a1b2c3d ",
        b"i-0123456789abcdef0,",
        "caf\u{e9} ".as_bytes(),
        "\u{20ac}".as_bytes(),
        "\u{1f600}".as_bytes(),
        "\u{d55c}\u{ad6d}\u{c5b4} ".as_bytes(),
        b"arn:aws:iam::123456789012:role/x ",
        b"\n",
    ];
    let bad: &[&[u8]] = &[b"\xff", b"\x80", b"\xe2\x82 ", b"\xf0\x9f\x98"];
    for seed in 1..=24_u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut text = Vec::new();
        while text.len() < 30_000 {
            text.extend_from_slice(words[rng.below(words.len())]);
        }
        // a quarter stay valid; the others get one bad sequence anywhere, the end too (where
        // it may cut a character, or complete one)
        if seed % 4 != 0 {
            let at = rng.below(text.len() + 1);
            let b = bad[rng.below(bad.len())];
            text.splice(at..at, b.iter().copied());
        }
        let want = match std::str::from_utf8(&text) {
            Ok(s) => Ok(m.mask(s).unwrap().text().to_owned()),
            Err(e) if e.error_len().is_none() => Err(format!(
                "the input ends inside a UTF-8 character (offset {})",
                e.valid_up_to()
            )),
            Err(e) => Err(format!(
                "the input is not UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            )),
        };
        let reads = [&[usize::MAX][..], &[777, 1, 4096][..], &[5_999, 6_001][..]];
        for helpers in 0..3 {
            let mut input = Pieces {
                rest: &text,
                sizes: reads[(seed as usize + helpers) % reads.len()]
                    .iter()
                    .cycle(),
            };
            let mut out = Vec::new();
            let got = stream::mask(&m, &mut input, &mut out, helpers, sizes_of(seed));
            let what = format!("seed {seed}, {helpers} helpers");
            match (&want, got) {
                (Ok(w), Ok(stats)) => {
                    assert!(out == w.as_bytes(), "{what}");
                    assert_eq!(stats.bytes_in, text.len() as u64, "{what}");
                }
                (Err(w), Err(e)) => {
                    assert_eq!(e.kind(), ErrorKind::Input, "{what}");
                    assert!(e.to_string().contains(w.as_str()), "{what}: {e} / {w}");
                    // what was written is text, cut at most inside its last character
                    let cut = std::str::from_utf8(&out).err();
                    assert!(cut.is_none_or(|c| c.error_len().is_none()), "{what}");
                }
                (w, g) => panic!("{what}: {w:?} / {:?}", g.map(|_| ())),
            }
        }
    }
}

/// Found by fuzzing: a last window of 4,289 bytes in pieces of 64 made 67 pieces of 65
/// bytes, the last one starting past the end of the text, where the UTF-8 check sliced.
#[test]
fn a_window_in_many_small_pieces_is_checked_within_itself() {
    let m = Masker::builder().key(key()).build().unwrap();
    let sizes = stream::Sizes {
        chunk: 8_192,
        min_read: 8_192,
        piece: 64,
    };
    for len in [4_289, 4_290, 305, 5_401] {
        let text = "vpc-0a1b2c3d ok ".repeat(len);
        let text = &text.as_bytes()[..len];
        let mut out = Vec::new();
        stream::mask(&m, &mut &text[..], &mut out, 1, sizes).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(m.unmask(&out).unwrap().as_bytes(), text, "{len}");
    }
}

#[test]
fn mask_stream_refuses_invalid_utf8_with_its_offset() {
    let m = Masker::new().unwrap();
    let mut out = Vec::new();
    let err = m
        .mask_stream(&b"ok vpc-0a1b2c3d \xff rest"[..], &mut out)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.to_string().contains("offset 16"), "{err}");
    let err = m
        .mask_stream(&b"cut \xe2\x82"[..], &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
}

#[test]
fn debug_output_never_shows_values_or_keys() {
    let m = Masker::builder().key(key()).build().unwrap();
    let masked = m.mask(TEXT).unwrap();
    let dbg = format!("{m:?} {masked:?} {:?}", m.stream_unmasker());
    assert!(
        !dbg.contains("i-0123") && !dbg.contains("123456789012") && !dbg.contains("2a2a2a"),
        "{dbg}"
    );
    let b = Masker::builder().key(key());
    assert!(!format!("{b:?}").contains("2a2a"));
}

#[test]
fn builder_errors() {
    assert_eq!(
        Masker::builder().namespace("").build().unwrap_err().kind(),
        ErrorKind::Config
    );
    assert_eq!(
        Masker::builder()
            .ttl(Duration::ZERO)
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::Config
    );
}

#[test]
fn with_namespace_is_the_masker_of_that_namespace() {
    let store: Arc<dyn MappingStore> = Arc::new(MemoryStore::new());
    let a = masker("tenant-a", &store);
    let b = a.with_namespace("tenant-b").unwrap();
    let built_b = masker("tenant-b", &store);
    let masked_b = b.mask(TEXT).unwrap();
    assert_eq!(masked_b.text(), built_b.mask(TEXT).unwrap().text());
    assert_ne!(masked_b.text(), a.mask(TEXT).unwrap().text());
    assert_eq!(built_b.unmask(masked_b.text()).unwrap(), TEXT);
    // namespaces stay apart: a restores nothing of b
    assert_eq!(a.unmask(masked_b.text()).unwrap(), masked_b.text());
    assert_eq!(a.with_namespace("").unwrap_err().kind(), ErrorKind::Config);
}

#[test]
fn tokens_of_a_rotated_key_still_unmask() {
    let store: Arc<dyn MappingStore> = Arc::new(MemoryStore::new());
    let (old, new) = (
        MasterKey::from_bytes([1; 32]),
        MasterKey::from_bytes([2; 32]),
    );
    let before = Masker::builder()
        .key(old.clone())
        .store(store.clone())
        .build()
        .unwrap();
    let old_text = before.mask(TEXT).unwrap().text().to_owned();
    let rotated = Masker::builder()
        .key(new.clone())
        .previous_keys([old])
        .store(store.clone())
        .build()
        .unwrap();
    // old tokens resolve; new ones use the new key only
    assert_eq!(rotated.unmask(&old_text).unwrap(), TEXT);
    let new_text = rotated.mask(TEXT).unwrap().text().to_owned();
    assert_ne!(new_text, old_text);
    assert_eq!(rotated.unmask(&new_text).unwrap(), TEXT);
    // one answer may hold both
    let both = format!("{old_text} | {new_text}");
    assert_eq!(rotated.unmask(&both).unwrap(), format!("{TEXT} | {TEXT}"));
    // and so does a masker of another namespace made from it
    let other = rotated.with_namespace("other").unwrap();
    let before_other = before.with_namespace("other").unwrap();
    let t = before_other.mask(TEXT).unwrap().text().to_owned();
    assert_eq!(other.unmask(&t).unwrap(), TEXT);
    // without the old key, old tokens stay as they are
    let forgot = Masker::builder().key(new).store(store).build().unwrap();
    assert_eq!(forgot.unmask(&old_text).unwrap(), old_text);
}

#[test]
fn an_identifier_cut_inside_a_word_is_refused() {
    let m = Masker::new().unwrap();
    // an ARN longer than MAX_MATCH_LEN, running on in the same word far past the cut: its
    // token would be glued to the rest and not read back
    let long = format!(
        "see arn:aws:iam::123456789012:role/{} now",
        "f".repeat(crate::MAX_MATCH_LEN + 200)
    );
    let e = m.mask(&long).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Input);
    assert!(!e.to_string().contains("123456789012"));
    let mut out = Vec::new();
    assert!(m.mask_stream(long.as_bytes(), &mut out).is_err());
    assert!(!String::from_utf8_lossy(&out).contains("123456789012"));
    // cut a few bytes before the word ends: widened to the word's end, and it comes back
    let near = format!(
        "see arn:aws:iam::123456789012:role/{} now",
        "f".repeat(crate::MAX_MATCH_LEN)
    );
    let masked = m.mask(&near).unwrap();
    assert_eq!(m.unmask(masked.text()).unwrap(), near);
    // cut where a word ends anyway: masked, and it comes back
    let ok = format!(
        "see arn:aws:iam::123456789012:role/{}/ok now",
        "f".repeat(100)
    );
    let masked = m.mask(&ok).unwrap();
    assert_eq!(m.unmask(masked.text()).unwrap(), ok);
}

#[test]
fn identifiers_glued_to_a_word_or_to_each_other_come_back() {
    // found by fuzzing: a host right after `name_`, a URL right after a letter; a log group
    // name made of `#`s found twice in a row further on (two tokens side by side read back as
    // one word, and neither would be restored: touching matches become one token)
    let m = Masker::new().unwrap();
    for (text, gone) in [
        (
            "redis_primary_endpoint = \"clustercfg.etl-sessionsy_endpointva.apn1.cache.amazonaws.com\"",
            "amazonaws.com",
        ),
        (
            "ok so queue Ahttps://us-east-1.queue.amazonaws.com/465336455084/zenith_onboarding_jobs` has 40k",
            "amazonaws.com",
        ),
        // a resource id or an account id in a file name: masked with the word around it
        ("x i-0123456789abcdef0_suffix and more", "0123456789abcdef0"),
        ("and prefix_vpc-0a1b2c3d", "0a1b2c3d"),
        (
            "2015-08-01 02:10:44  5214 111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz",
            "111122223333",
        ),
        (
            "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz",
            "1234abcd",
        ),
        ("LOG_GROUP=######## then ################ end", "#"),
        ("LOG_GROUP=/aws/x#y then /aws/x#y/aws/x#y end", "#"),
    ] {
        let masked = m.mask(text).unwrap();
        assert!(!masked.text().contains(gone), "{}", masked.text());
        assert_eq!(m.unmask(masked.text()).unwrap(), text);
        let mut out = Vec::new();
        m.mask_stream(text.as_bytes(), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), masked.text());
    }
}

#[test]
fn touching_matches_across_a_stream_batch_fail_closed() {
    // the same run of names across the border of two batches (found by a test of the fix
    // above): the first batch's output ends with a token, which the next batch's first match
    // would touch; that token is written already, the two cannot become one, and the stream
    // fails closed
    let m = Masker::new().unwrap();
    let mut text = String::from("LOG_GROUP=######## x\n");
    while text.len() < (4 << 20) - 20_000 {
        text.push_str("plain words here\n");
    }
    text.push_str(&"#".repeat(40_000));
    text.push_str(" end\n");
    let mut out = Vec::new();
    let err = m.mask_stream(text.as_bytes(), &mut out).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input, "{err}");
    // what was written holds no value and restores to the input's start
    let written = String::from_utf8(out).unwrap();
    assert!(written.len() > 4_000_000);
    assert!(!written.contains("########"));
    let back = m.unmask(&written).unwrap();
    assert!(
        text.starts_with(&*back),
        "the written part restores exactly"
    );
    // one shot, the whole run is one value
    let masked = m.mask(&text).unwrap();
    assert!(!masked.text().contains('#'));
    assert_eq!(m.unmask(masked.text()).unwrap(), text);
}

/// A name found early in a stream is masked where it stands alone in a later chunk, with the
/// token it got first; the stream keeps only its newest `KNOWN_CAPACITY` names.
#[test]
fn a_stream_masks_later_occurrences_of_its_newest_names() {
    let m = Masker::builder().key(key()).build().unwrap();
    // chunks of ~140 lines: the names seen last in the first part are at most a few hundred
    // before their recurrence, the first ones more than a thousand
    let sizes = stream::Sizes {
        chunk: 4_336,
        min_read: 2_168,
        piece: 64,
    };
    let n = 1200;
    let name = |i: usize| format!("acmelogs{i:04}x");
    let mut text = String::new();
    for i in 0..n {
        writeln!(text, "\"BucketName\": \"{}\",", name(i)).unwrap();
    }
    for i in 0..n {
        writeln!(text, "then {} again", name(i)).unwrap();
    }
    // alone, no name is an identifier: only what the stream learnt masks it
    assert!(
        m.detector()
            .find_iter(b"then acmelogs0001x again")
            .next()
            .is_none()
    );
    assert!(n - stream::KNOWN_CAPACITY > 500);
    for helpers in [0, 1] {
        let mut out = Vec::new();
        stream::mask(&m, &mut text.as_bytes(), &mut out, helpers, sizes).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(m.unmask(&out).unwrap(), text);
        let (first, later) = out.split_at(out.find("then ").unwrap());
        for i in 0..n {
            assert!(!first.contains(&name(i)), "{i}");
            let kept = later.contains(&format!("then {} again", name(i)));
            if i < 100 {
                assert!(kept, "{i}: forgotten long before it recurs");
            } else if i >= n - 200 {
                assert!(!kept, "{i}: among the newest names");
            }
        }
        // a recurring name has its first token
        let line = later.lines().last().unwrap();
        let token = line.trim_start_matches("then ").trim_end_matches(" again");
        assert!(first.contains(token), "{line}");
    }
}
