//! The Messages API JSON helpers never panic; what they give back is valid JSON, and a
//! masked request unmasks string by string to the request it was.
#![no_main]

use awsmask::{ErrorKind, Masker};
use awsmask_fuzz::masker;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Whether `out` is `orig` with some strings masked: side by side, every string (member
/// names too) is either unchanged or unmasks to the original. A string left alone may look
/// like a token of this namespace; it is not unmasked then.
fn same_but_masked(m: &Masker, orig: &Value, out: &Value) -> bool {
    let string = |o: &str, x: &str| o == x || m.unmask(x).expect("memory store") == o;
    match (orig, out) {
        (Value::String(o), Value::String(x)) => string(o, x),
        (Value::Array(o), Value::Array(x)) => {
            o.len() == x.len() && o.iter().zip(x).all(|(a, b)| same_but_masked(m, a, b))
        }
        (Value::Object(o), Value::Object(x)) => {
            o.len() == x.len()
                && o.iter()
                    .zip(x)
                    .all(|((ok, ov), (xk, xv))| string(ok, xk) && same_but_masked(m, ov, xv))
        }
        (o, x) => o == x,
    }
}

fuzz_target!(|body: &str| {
    let m = masker();
    // our parser may accept what serde_json refuses (an unpaired surrogate escape in a
    // string never decoded, a number out of f64's range): compare only where both read it
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    match m.mask_request_json(body) {
        Ok(masked) => {
            if let Some(original) = &parsed {
                let out: Value = serde_json::from_str(masked.text()).expect("valid JSON out");
                assert!(
                    same_but_masked(m, original, &out),
                    "not the request, masked"
                );
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::Input),
    }
    match m.unmask_response_json(body) {
        Ok(out) => {
            if parsed.is_some() {
                serde_json::from_str::<Value>(&out).expect("valid JSON out");
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::Input),
    }
});
