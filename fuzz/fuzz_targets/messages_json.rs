//! The Messages API JSON helpers never panic, give valid JSON, and mask string by string
//! (see `awsmask_fuzz::checks::messages_json`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &str| awsmask_fuzz::checks::messages_json(body));
