//! Properties of masking: exact round trips, wherever the text is split.

use std::sync::Arc;

use awsmask::store::MemoryStore;
use awsmask::{MappingStore, Masker, MasterKey};
use proptest::prelude::*;

/// Fragments dense in identifiers, token-shaped text (valid and near misses, any case) and
/// separators, so that random concatenations hit every boundary.
const FRAGMENTS: &[&str] = &[
    "i-0123456789abcdef0",
    "vpc-0a1b2c3d",
    "arn:aws:iam::123456789012:role/x",
    "123456789012",
    "10.0.1.23",
    "AKIAIOSFODNN7EXAMPLE",
    "s3://my-bucket/key",
    "\"bucketName\": \"acme-logs\"",
    "AWS_EC2_7KQ2XM",
    "aws_vpc_000000",
    "AWS_",
    "AWS_EC2_",
    "AWS_EC2_7KQ2X",
    "AWS_REGION",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_TOK_ABCDEF",
    "_",
    " ",
    "\n",
    "\\n",
    "\\u201c",
    "\"",
    ":",
    "-",
    ".",
    "/",
    "`",
    "**",
    "한국어",
    "😀",
    "é",
];

/// Strings made of random fragments and arbitrary characters.
fn texty() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(FRAGMENTS).prop_map(str::to_owned),
            1 => "[a-zA-Z0-9 ._:/-]{0,10}",
            1 => any::<String>(),
        ],
        0..24,
    )
    .prop_map(|p| p.concat())
}

fn masker() -> Masker {
    Masker::builder()
        .key(MasterKey::from_bytes([7; 32]))
        .build()
        .unwrap()
}

/// Splits `s` at the given fractions, on character boundaries.
fn split(s: &str, cuts: &[usize]) -> Vec<String> {
    let mut at: Vec<usize> = cuts.iter().map(|&c| c % (s.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for mut c in at {
        while !s.is_char_boundary(c) {
            c += 1;
        }
        if c > last {
            out.push(s[last..c].to_owned());
            last = c;
        }
    }
    out.push(s[last..].to_owned());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn unmask_of_mask_is_identity(text in texty()) {
        let m = masker();
        let masked = m.mask(&text).unwrap();
        prop_assert_eq!(m.unmask(masked.text()).unwrap(), text.as_str());
    }

    #[test]
    fn stream_unmask_equals_one_shot_for_any_chunking(text in texty(), cuts in prop::collection::vec(any::<usize>(), 0..12)) {
        let m = masker();
        let masked = m.mask(&text).unwrap().text().to_owned();
        let mut u = m.stream_unmasker();
        let mut got = String::new();
        for piece in split(&masked, &cuts) {
            got.push_str(&u.push(&piece).unwrap());
        }
        got.push_str(&u.finish().unwrap());
        prop_assert_eq!(got, text);
    }

    #[test]
    fn mask_stream_equals_mask(text in texty()) {
        let m = masker();
        let mut out = Vec::new();
        m.mask_stream(text.as_bytes(), &mut out).unwrap();
        let want = m.mask(&text).unwrap().text().to_owned();
        prop_assert_eq!(String::from_utf8(out).unwrap(), want);
    }
}

#[test]
fn two_maskers_sharing_a_key_agree_and_share_a_store() {
    let store: Arc<dyn MappingStore> = Arc::new(MemoryStore::new());
    let a = Masker::builder()
        .key(MasterKey::from_bytes([3; 32]))
        .store(store.clone())
        .build()
        .unwrap();
    let b = Masker::builder()
        .key(MasterKey::from_bytes([3; 32]))
        .store(store)
        .build()
        .unwrap();
    let text = "i-0123456789abcdef0 in vpc-0a1b2c3d";
    let masked = a.mask(text).unwrap();
    assert_eq!(b.mask(text).unwrap().text(), masked.text());
    assert_eq!(b.unmask(masked.text()).unwrap(), text);
}

#[test]
fn threads_share_one_masker() {
    let m = masker();
    std::thread::scope(|s| {
        for t in 0..4 {
            let m = &m;
            s.spawn(move || {
                for i in 0..300 {
                    let text = format!("t{t} i-{:017x} and vpc-{:08x}", i * 7919 + t, i);
                    let masked = m.mask(&text).unwrap();
                    assert_eq!(m.unmask(masked.text()).unwrap(), text);
                }
            });
        }
    });
}
