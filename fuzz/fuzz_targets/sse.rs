//! The SSE unmasker gives the same bytes (or the same refusal) whole or in chunks
//! (see `awsmask_fuzz::checks::sse`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&[u8], u8)| awsmask_fuzz::checks::sse(input.0, input.1));
