//! The stream unmasker under any chunking gives what the one-shot unmask gives
//! (see `awsmask_fuzz::checks::stream_unmask`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, Vec<u8>)| awsmask_fuzz::checks::stream_unmask(input.0, &input.1));
