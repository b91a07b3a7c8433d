//! Keep AWS identifiers (instance and VPC ids, ARNs, account ids, access keys, bucket names,
//! endpoints, private IPs and more) out of text sent to large language models, and put them
//! back into the answers.
//!
//! # Overview
//!
//! [`Masker`] replaces each distinct identifier with a typed token such as `AWS_EC2_7KQ2XM`,
//! keeps the token → value mapping in a [`MappingStore`], and restores the values in an answer,
//! exactly (`unmask(mask(x)) == x` for every text), even when the answer arrives in pieces
//! ([`StreamUnmasker`]). Tokens come from HMAC-SHA256 under a key derived per namespace from
//! a [`MasterKey`]: the same value gets the same token in every process that shares the key,
//! whatever the store. Values are sealed (AES-256-GCM-SIV) before they reach a store.
//!
//! [`Detector`] holds the catalogue of identifier kinds ([`Detector::kinds`], also printed by
//! `awsmask kinds`) and finds them in bytes or text: non-overlapping, leftmost matches, the
//! longest kind winning at a position, as UTF-8 byte offsets. What counts as an identifier and
//! where a span starts and ends follows the project's labeling conventions: a whole ARN is one
//! span; for `s3://bucket/key` the bucket; a host name whole; IP addresses without port or
//! prefix length; placeholders such as `i-xxxxxxxx` are not identifiers.
//!
//! # Examples
//!
//! ```
//! use awsmask::Masker;
//!
//! let masker = Masker::new()?;
//! let masked = masker.mask(r#"{"InstanceId": "i-0123456789abcdef0"}"#)?;
//! assert!(!masked.text().contains("i-0123456789abcdef0"));
//! assert_eq!(masker.unmask(masked.text())?, r#"{"InstanceId": "i-0123456789abcdef0"}"#);
//! # Ok::<(), awsmask::Error>(())
//! ```
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
//! # Stores
//!
//! - [`store::MemoryStore`]: this process only; TTL and a capacity bound.
//! - `store::VaultStore` (feature `vault`, on by default): an SQLite file in WAL mode that
//!   several processes share.
//! - `store::RedisStore` (feature `redis`): Redis and Redis Cluster / ElastiCache in cluster
//!   mode, TLS with verification, deadlines and a circuit breaker.
//!
//! [`StoreSpec`] parses the names the CLI and the bindings use (`memory`, `file:PATH`,
//! `redis://…`, `rediss+cluster://…`).
//!
//! # Crate features
//!
//! - `vault` (default): the file vault (bundled SQLite).
//! - `redis`: the Redis stores (redis-rs, tokio, rustls with ring).
//! - `testkit`: `store::testkit`, the conformance suite for store implementations.
//!
//! # API themes
//!
//! - `find_iter` returns an iterator; `find_into` and `mask_into` write into a caller's
//!   buffer for hot loops.
//! - Detection takes `&[u8]`: invalid UTF-8 is scanned like any other bytes; masking takes
//!   `&str` and returns a `Cow` that borrows when nothing was masked.
//! - Detection is linear in the input for every input, built-in or custom pattern: built-in
//!   rules are anchored checks of bounded length, custom patterns run on `regex-automata`
//!   (no backtracking).
//! - Failing closed: when any value cannot be masked, `mask` returns an error and no text.
//!   Errors, `Debug` and `Display` never show an original value or a key.
//! - Blocking: `Masker` methods block while the store works; from async code call them through
//!   the runtime's blocking pool.
//!
//! # MSRV
//!
//! Rust 1.88.
#![forbid(unsafe_code)]
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
pub use detect::{Config, Detector, MAX_MATCH_LEN, Match, StreamScanner, StreamText};
pub use error::{Error, ErrorKind};
pub use keys::{MasterKey, NamespaceId};
pub use masker::{Masked, Masker, MaskerBuilder, SseUnmasker, StreamStats, StreamUnmasker};
pub use store::{MappingStore, StoreSpec};

/// The README's examples, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// A xorshift generator: reproducible pseudo-random test inputs without a dependency.
#[cfg(test)]
pub(crate) struct XorShift(pub(crate) u64);

#[cfg(test)]
impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A reader that hands out its bytes in reads of the sizes listed, in turn, as a pipe does:
/// for tests of everything that reads a stream.
#[cfg(test)]
pub(crate) struct Pieces<'a> {
    pub(crate) rest: &'a [u8],
    pub(crate) sizes: std::iter::Cycle<std::slice::Iter<'static, usize>>,
}

#[cfg(test)]
impl std::io::Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (*self.sizes.next().unwrap_or(&1))
            .min(buf.len())
            .min(self.rest.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        Ok(n)
    }
}

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
