//! The SSE unmasker never panics, and under any chunking of the bytes it gives the same
//! output as when it gets the stream whole.
#![no_main]

use awsmask::Masker;
use awsmask_fuzz::masker;
use libfuzzer_sys::fuzz_target;

fn run(m: &Masker, pieces: &[&[u8]]) -> Option<Vec<u8>> {
    let mut u = m.sse_unmasker();
    let mut out = Vec::new();
    for p in pieces {
        out.extend(u.push(p).ok()?);
    }
    out.extend(u.finish().ok()?);
    Some(out)
}

fuzz_target!(|input: (&[u8], u8)| {
    let (stream, step) = input;
    let m = masker();
    let whole = run(m, &[stream]);
    let chunked: Vec<&[u8]> = stream.chunks(1 + usize::from(step)).collect();
    let pieces = run(m, &chunked);
    // an error is an error either way; output is the same either way
    assert_eq!(whole, pieces);
});
