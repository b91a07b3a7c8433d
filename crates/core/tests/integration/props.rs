//! Properties of the detector on arbitrary input.

use awsmask::{Detector, Match, StreamScanner};
use proptest::prelude::*;

/// Fragments that build texts dense in identifiers, near misses and separators, so that
/// random concatenations exercise every rule family and their boundaries.
const FRAGMENTS: &[&str] = &[
    "i-0123456789abcdef0",
    "vpc-0a1b2c3d",
    "subnet-",
    "sg-xxxxxxxx",
    "arn:aws:iam::123456789012:role/x",
    "arn:",
    "123456789012",
    "1234-5678-9012",
    "10.0.1.23",
    "255.255.255.0",
    "2600:1f13:5c28:b100::d848:8c29",
    "AKIAIOSFODNN7EXAMPLE",
    "AROADKCCU6VV5VZIIFNCX",
    "s3://my-bucket/key",
    "acme-logs.s3.us-east-1.amazonaws.com",
    "ip-10-0-1-23.ec2.internal",
    "\"bucketName\": \"",
    "\"KeyId\": \"",
    "c715b22f-a257-42f0-ab2d-7fd81034d512",
    "https://sqs.us-east-1.amazonaws.com/123456789012/q",
    "Z09145674HYWE4KVOOX6",
    "us-east-1_AbCdEf123",
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
    "\u{0}",
];

/// Strings made of random fragments and random printable or arbitrary characters.
fn texty() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(FRAGMENTS).prop_map(str::to_owned),
            1 => "[a-zA-Z0-9 .:/_-]{0,12}",
            1 => any::<String>(),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

fn stream_scan(det: &Detector, bytes: &[u8], cuts: &[usize]) -> Vec<Match> {
    let mut scanner = StreamScanner::new(det);
    let mut out = Vec::new();
    let mut last = 0;
    for &c in cuts {
        let c = c.clamp(last, bytes.len());
        scanner.push(&bytes[last..c], &mut out);
        last = c;
    }
    scanner.push(&bytes[last..], &mut out);
    scanner.finish(&mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matches_are_sorted_nonempty_and_disjoint(text in texty()) {
        let det = Detector::new();
        let ms: Vec<Match> = det.find_iter(text.as_bytes()).collect();
        for m in &ms {
            prop_assert!(m.start() < m.end() && m.end() <= text.len());
        }
        for w in ms.windows(2) {
            prop_assert!(w[0].end() <= w[1].start());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let det = Detector::new();
        let _ = det.find_iter(&bytes).count();
    }

    #[test]
    fn stream_split_anywhere_equals_one_shot(text in texty(), mut cuts in prop::collection::vec(0usize..2048, 0..8)) {
        let det = Detector::new();
        let bytes = text.as_bytes();
        cuts.sort_unstable();
        let one: Vec<Match> = det.find_iter(bytes).collect();
        prop_assert_eq!(stream_scan(&det, bytes, &cuts), one);
    }
}

/// Streams longer than the scanner's step and margins, cut at random places, still agree.
#[test]
fn long_streams_agree_with_one_shot() {
    let det = Detector::new();
    let mut text = String::new();
    let mut i = 0u64;
    while text.len() < 3 << 20 {
        i = i
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        text.push_str(FRAGMENTS[(i >> 33) as usize % FRAGMENTS.len()]);
        if i.is_multiple_of(7) {
            text.push_str(" lorem ipsum dolor sit amet ");
        }
    }
    let bytes = text.as_bytes();
    let one: Vec<Match> = det.find_iter(bytes).collect();
    assert!(one.len() > 10_000);
    for step in [1usize, 4093, 65_536, 300_001] {
        let cuts: Vec<usize> = (1..)
            .map(|k| k * step)
            .take_while(|&c| c < bytes.len())
            .take(20_000)
            .collect();
        let mut cuts = cuts;
        if step == 1 {
            // byte-by-byte over the first 64 KiB only, then the rest at once
            cuts.truncate(65_536);
        }
        assert_eq!(stream_scan(&det, bytes, &cuts), one, "step {step}");
    }
}
