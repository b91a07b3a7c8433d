//! The stream unmasker under any chunking gives what the one-shot unmask gives.
#![no_main]

use awsmask_fuzz::masker;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, Vec<u8>)| {
    let (text, cuts) = input;
    let m = masker();
    // mask first, so that the answer holds tokens that resolve
    let masked = match m.mask(text) {
        Ok(masked) => masked.text().to_owned(),
        Err(e) => {
            assert_eq!(e.kind(), awsmask::ErrorKind::Input, "{e}");
            return;
        }
    };
    let whole = m.unmask(&masked).expect("memory store").into_owned();
    let mut u = m.stream_unmasker();
    let mut out = String::new();
    let mut at = 0;
    for c in cuts {
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
});
