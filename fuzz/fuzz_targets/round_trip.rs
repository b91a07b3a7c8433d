//! `unmask(mask(x)) == x` for any text, and whatever the detector finds is masked.
#![no_main]

use awsmask_fuzz::masker;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let m = masker();
    // refused only as input that cannot be masked exactly (an identifier cut in a word)
    let masked = match m.mask(text) {
        Ok(masked) => masked,
        Err(e) => {
            assert_eq!(e.kind(), awsmask::ErrorKind::Input, "{e}");
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
});
