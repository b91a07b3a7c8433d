//! Detection: the one-shot scan against the stream scanner, and the invariants of every result
//! (see `awsmask_fuzz::checks::detect`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| awsmask_fuzz::checks::detect(data));
