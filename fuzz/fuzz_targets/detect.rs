//! Detection, differential: the one-shot scan against the stream scanner (any chunking, one
//! or three threads), plus the invariants of every result (sorted, not overlapping, on
//! character boundaries of UTF-8 text, no longer than MAX_MATCH_LEN).
#![no_main]

use std::sync::OnceLock;

use awsmask::{Detector, MAX_MATCH_LEN, Match, StreamScanner};
use libfuzzer_sys::fuzz_target;

fn detector() -> &'static Detector {
    static DET: OnceLock<Detector> = OnceLock::new();
    DET.get_or_init(Detector::new)
}

fuzz_target!(|data: &[u8]| {
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
    let chunk = 1 + usize::from(ctl & 0x3f) * 3;
    let threads = if ctl & 0x40 != 0 { 3 } else { 1 };
    let mut scanner = StreamScanner::new(det).threads(threads);
    let mut streamed = Vec::new();
    for piece in h.chunks(chunk) {
        scanner.push(piece, &mut streamed);
    }
    scanner.finish(&mut streamed);
    assert_eq!(one, streamed, "stream and one-shot scans differ");
});
