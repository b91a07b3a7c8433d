//! `mask_stream` in reads of any size round-trips and refuses only what one `mask` refuses
//! (see `awsmask_fuzz::checks::mask_stream`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &[u8])| awsmask_fuzz::checks::mask_stream(input.0, input.1));
