//! `unmask(mask(x)) == x` for any text, and whatever the detector finds is masked
//! (see `awsmask_fuzz::checks::round_trip`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| awsmask_fuzz::checks::round_trip(text));
