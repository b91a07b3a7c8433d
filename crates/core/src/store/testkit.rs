//! The store conformance suite: every backend runs it.
#![allow(clippy::missing_panics_doc, reason = "test helpers panic on failure")]

use std::time::Duration;

use super::{Claim, MappingStore};
use crate::keys::{MasterKey, NamespaceId, NamespaceKeys};

thread_local! {
    /// Namespaces of one run of the suite: fresh, so that a shared server keeps no state
    /// between runs.
    static RUN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A namespace id for tests, fresh for each run of [`run_all`].
#[must_use]
pub fn ns(name: &str) -> NamespaceId {
    let run = RUN.with(std::cell::Cell::get);
    match NamespaceKeys::derive(&MasterKey::from_bytes([9; 32]), &format!("{name}/{run}")) {
        Ok(k) => k.id().clone(),
        Err(e) => unreachable!("test namespace keys: {e}"),
    }
}

const TTL: Duration = Duration::from_secs(3600);

/// Runs every conformance test on fresh stores made by `make`.
pub fn run_all(make: &dyn Fn() -> Box<dyn MappingStore>) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    RUN.with(|r| r.set((nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)));
    claim_then_resolve(&*make());
    claim_is_first_writer_wins(&*make());
    namespaces_are_isolated(&*make());
    batches_keep_order(&*make());
    unknown_tokens_resolve_to_none(&*make());
    expired_mappings_are_gone(&*make());
}

/// A claimed token resolves to its sealed value.
pub fn claim_then_resolve(store: &dyn MappingStore) {
    let n = ns("a");
    let r = store
        .claim(
            &n,
            &[Claim {
                token: "AWS_EC2_AAAAAA",
                sealed: b"sealed-1",
            }],
            TTL,
        )
        .unwrap();
    assert_eq!(r, vec![None]);
    let r = store.resolve(&n, &["AWS_EC2_AAAAAA"], TTL).unwrap();
    assert_eq!(r, vec![Some(b"sealed-1".to_vec())]);
}

/// A second claim of a taken token keeps the first value and returns it.
pub fn claim_is_first_writer_wins(store: &dyn MappingStore) {
    let n = ns("a");
    store
        .claim(
            &n,
            &[Claim {
                token: "AWS_EC2_BBBBBB",
                sealed: b"first",
            }],
            TTL,
        )
        .unwrap();
    let r = store
        .claim(
            &n,
            &[Claim {
                token: "AWS_EC2_BBBBBB",
                sealed: b"second",
            }],
            TTL,
        )
        .unwrap();
    assert_eq!(r, vec![Some(b"first".to_vec())]);
    assert_eq!(
        store.resolve(&n, &["AWS_EC2_BBBBBB"], TTL).unwrap(),
        vec![Some(b"first".to_vec())]
    );
}

/// A token claimed in one namespace does not exist in another.
pub fn namespaces_are_isolated(store: &dyn MappingStore) {
    let (a, b) = (ns("a"), ns("b"));
    store
        .claim(
            &a,
            &[Claim {
                token: "AWS_VPC_CCCCCC",
                sealed: b"in-a",
            }],
            TTL,
        )
        .unwrap();
    assert_eq!(
        store.resolve(&b, &["AWS_VPC_CCCCCC"], TTL).unwrap(),
        vec![None]
    );
    let r = store
        .claim(
            &b,
            &[Claim {
                token: "AWS_VPC_CCCCCC",
                sealed: b"in-b",
            }],
            TTL,
        )
        .unwrap();
    assert_eq!(r, vec![None]);
    assert_eq!(
        store.resolve(&a, &["AWS_VPC_CCCCCC"], TTL).unwrap(),
        vec![Some(b"in-a".to_vec())]
    );
}

/// Batches answer in order, including repeated and mixed new/taken tokens.
pub fn batches_keep_order(store: &dyn MappingStore) {
    let n = ns("order");
    let tokens: Vec<String> = (0..50).map(|i| format!("AWS_IP_{i:06}")).collect();
    let values: Vec<Vec<u8>> = (0..50).map(|i| format!("v{i}").into_bytes()).collect();
    let claims: Vec<Claim<'_>> = tokens
        .iter()
        .zip(&values)
        .map(|(t, v)| Claim {
            token: t,
            sealed: v,
        })
        .collect();
    assert!(
        store
            .claim(&n, &claims[..25], TTL)
            .unwrap()
            .iter()
            .all(Option::is_none)
    );
    let r = store.claim(&n, &claims, TTL).unwrap();
    for (i, x) in r.iter().enumerate() {
        if i < 25 {
            assert_eq!(x.as_deref(), Some(&values[i][..]));
        } else {
            assert!(x.is_none());
        }
    }
    let mut ask: Vec<&str> = tokens.iter().map(String::as_str).rev().collect();
    ask.push("AWS_IP_ZZZZZZ");
    ask.push(&tokens[3]);
    let r = store.resolve(&n, &ask, TTL).unwrap();
    assert_eq!(r.len(), 52);
    assert_eq!(r[0].as_deref(), Some(&values[49][..]));
    assert_eq!(r[50], None);
    assert_eq!(r[51].as_deref(), Some(&values[3][..]));
    assert_eq!(
        store.resolve(&n, &[], TTL).unwrap(),
        Vec::<Option<Vec<u8>>>::new()
    );
    assert_eq!(
        store.claim(&n, &[], TTL).unwrap(),
        Vec::<Option<Vec<u8>>>::new()
    );
}

/// Tokens never claimed resolve to nothing.
pub fn unknown_tokens_resolve_to_none(store: &dyn MappingStore) {
    assert_eq!(
        store.resolve(&ns("a"), &["AWS_S3_DDDDDD"], TTL).unwrap(),
        vec![None]
    );
}

/// A mapping past its TTL resolves to nothing and can be claimed again.
pub fn expired_mappings_are_gone(store: &dyn MappingStore) {
    let n = ns("ttl");
    store
        .claim(
            &n,
            &[Claim {
                token: "AWS_S3_EEEEEE",
                sealed: b"old",
            }],
            Duration::from_secs(1),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        store.resolve(&n, &["AWS_S3_EEEEEE"], TTL).unwrap(),
        vec![None]
    );
    let r = store
        .claim(
            &n,
            &[Claim {
                token: "AWS_S3_EEEEEE",
                sealed: b"new",
            }],
            TTL,
        )
        .unwrap();
    assert_eq!(r, vec![None]);
    assert_eq!(
        store.resolve(&n, &["AWS_S3_EEEEEE"], TTL).unwrap(),
        vec![Some(b"new".to_vec())]
    );
}
