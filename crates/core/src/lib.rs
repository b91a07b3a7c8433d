//! Find AWS identifiers in text (instance and VPC ids, ARNs, account ids, access keys, bucket
//! names, endpoints, private IPs and more) before the text goes to a large language model.
//!
//! # Overview
//!
//! [`Detector`] holds the catalogue of identifier kinds ([`Detector::kinds`], also printed by
//! `awsmask kinds`) and finds them in bytes or text: non-overlapping, leftmost matches, the
//! longest kind winning at a position, as UTF-8 byte offsets. What counts as an identifier and
//! where a span starts and ends follows the project's labeling conventions: a whole ARN is one
//! span; for `s3://bucket/key` the bucket; a host name whole; IP addresses without port or
//! prefix length; placeholders such as `i-xxxxxxxx` are not identifiers.
//!
//! # Example
//!
//! ```
//! use awsmask::Detector;
//!
//! let det = Detector::new();
//! let text = r#"{"InstanceId": "i-0123456789abcdef0", "OwnerId": "123456789012"}"#;
//! let kinds: Vec<&str> = det.find_iter(text.as_bytes()).map(|m| det.kind(m.kind()).name()).collect();
//! assert_eq!(kinds, ["ec2_instance", "account_id"]);
//! ```
//!
//! Streams are scanned in bounded memory with [`StreamScanner`], which reports exactly what
//! one-shot scanning reports, wherever the chunks are split.
//!
//! # API themes
//!
//! - `find_iter` returns an iterator; `find_into` appends to a caller's buffer for hot loops.
//! - Everything takes `&[u8]`: invalid UTF-8 is scanned like any other bytes.
//! - Detection is linear in the input for every input, built-in or custom pattern: built-in
//!   rules are anchored checks of bounded length, custom patterns run on `regex-automata`
//!   (no backtracking).
//!
//! # MSRV
//!
//! Rust 1.88.
#![cfg_attr(
    not(test),
    forbid(clippy::print_stdout, clippy::print_stderr, clippy::panic)
)]

mod catalogue;
mod detect;
mod error;
mod fsutil;
mod fxhash;
mod keys;
mod masker;
pub mod store;
mod token;

pub use catalogue::{Example, KindId, KindInfo};
pub use detect::{Config, Detector, MAX_MATCH_LEN, Match, StreamScanner};
pub use error::{Error, ErrorKind};
pub use keys::{MasterKey, NamespaceId};
pub use masker::{Masked, Masker, MaskerBuilder, StreamStats, StreamUnmasker};
pub use store::{MappingStore, StoreSpec};

/// The README's examples, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

#[cfg(test)]
mod send_sync {
    use super::*;
    use std::panic::{RefUnwindSafe, UnwindSafe};

    fn assert_all<T: Send + Sync + UnwindSafe + RefUnwindSafe>() {}

    #[test]
    fn public_types_are_thread_safe() {
        assert_all::<Detector>();
        assert_all::<Config>();
        assert_all::<Match>();
        assert_all::<KindInfo>();
        assert_all::<Error>();
        assert_all::<StreamScanner>();
        assert_all::<Masker>();
        assert_all::<MasterKey>();
        assert_all::<StreamUnmasker>();
        assert_all::<Masked<'static>>();
    }
}
