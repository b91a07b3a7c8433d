//! `unmask(mask(x)) == x` for any text, and whatever the detector finds is masked.
#![no_main]

use awsmask_fuzz::masker;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let m = masker();
    let masked = m.mask(text).expect("a memory store does not fail");
    let back = m
        .unmask(masked.text())
        .expect("a memory store does not fail");
    assert_eq!(back, text, "round trip");
    // mask uses the detector: what it finds is masked
    if m.detector().find_iter(text.as_bytes()).next().is_some() {
        assert!(masked.total() > 0, "found, not masked");
    }
});
