//! Mapping stores: where `token → sealed value` mappings live.
//!
//! A store sees namespace ids, tokens and sealed (encrypted) values only. The trait is small,
//! object-safe and batch-first: one call claims every new token of a mask call, one call
//! resolves every token of an unmask call, so a remote store costs one round trip each.

mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "vault")]
mod vault;

#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use self::memory::{DEFAULT_CAPACITY, MemoryStore};
#[cfg(feature = "redis")]
pub use self::redis::{RedisOptions, RedisStore};
#[cfg(feature = "vault")]
pub use self::vault::VaultStore;
use crate::error::{Error, ErrorKind};
use crate::keys::NamespaceId;

/// The default time a mapping lives after its last use: 7 days.
pub const DEFAULT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// A claim: store `sealed` under `token` unless the token is taken.
#[derive(Clone)]
pub struct Claim<'a> {
    /// The token.
    pub token: &'a str,
    /// The sealed value.
    pub sealed: &'a [u8],
}

impl fmt::Debug for Claim<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claim")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// Where mappings live. Implementations must be safe to share between threads; every method
/// takes a batch and should cost at most one round trip to a remote store.
pub trait MappingStore:
    fmt::Debug + Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe + 'static
{
    /// For each claim, in order: stores `sealed` under `token` in namespace `ns` if the token
    /// is free and returns `None`; if the token is taken, keeps the stored value and returns it.
    /// A claimed or found mapping lives `ttl` from now.
    ///
    /// # Errors
    ///
    /// Any failure: then nothing can be assumed about which claims were stored.
    fn claim(
        &self,
        ns: &NamespaceId,
        claims: &[Claim<'_>],
        ttl: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error>;

    /// For each token, in order: its sealed value in namespace `ns`, or `None`. A found
    /// mapping lives `ttl` from now.
    ///
    /// # Errors
    ///
    /// Any failure.
    fn resolve(
        &self,
        ns: &NamespaceId,
        tokens: &[&str],
        ttl: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error>;
}

/// How a store is named in configuration (CLI `--store`, bindings `store=`).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreSpec {
    /// `memory`: in this process only.
    Memory,
    /// `file:PATH`: the embedded file vault.
    File(std::path::PathBuf),
    /// `redis://`, `rediss://`, `redis+cluster://`, `rediss+cluster://`: a Redis server or
    /// cluster.
    Redis(String),
}

impl fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::Memory => f.write_str("memory"),
            StoreSpec::File(p) => write!(f, "file:{}", p.display()),
            StoreSpec::Redis(url) => f.write_str(&redact(url)),
        }
    }
}

/// The URL with any credentials hidden.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            format!("{}://<credentials>@{}", &url[..s], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl StoreSpec {
    /// Parses `memory` or `file:PATH`.
    ///
    /// # Errors
    ///
    /// An unknown scheme or an empty path.
    pub fn parse(spec: &str) -> Result<StoreSpec, Error> {
        if spec == "memory" {
            return Ok(StoreSpec::Memory);
        }
        if let Some(path) = spec.strip_prefix("file:") {
            if path.is_empty() {
                return Err(Error::new(
                    ErrorKind::Config,
                    "store `file:` needs a path (file:PATH)",
                ));
            }
            return Ok(StoreSpec::File(path.into()));
        }
        let scheme = spec.split(':').next().unwrap_or("");
        if matches!(
            scheme,
            "redis" | "rediss" | "redis+cluster" | "rediss+cluster"
        ) && spec[scheme.len()..].starts_with("://")
        {
            return Ok(StoreSpec::Redis(spec.to_owned()));
        }
        Err(Error::new(
            ErrorKind::Config,
            format!(
                "unknown store `{}`: use `memory`, `file:PATH`, `redis://`, `rediss://`, \
                 `redis+cluster://` or `rediss+cluster://`",
                if scheme.len() <= 32 { scheme } else { "…" }
            ),
        ))
    }

    /// Opens the store.
    ///
    /// # Errors
    ///
    /// When the store cannot be opened.
    pub fn open(&self) -> Result<Arc<dyn MappingStore>, Error> {
        self.open_with_ca(None)
    }

    /// Opens the store, verifying TLS servers against the CA certificate in `ca_file` (PEM)
    /// instead of the system roots.
    ///
    /// # Errors
    ///
    /// When the store cannot be opened.
    pub fn open_with_ca(
        &self,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Arc<dyn MappingStore>, Error> {
        match self {
            StoreSpec::Memory => Ok(Arc::new(MemoryStore::new())),
            #[cfg(feature = "vault")]
            StoreSpec::File(path) => Ok(Arc::new(VaultStore::open(path)?)),
            #[cfg(not(feature = "vault"))]
            StoreSpec::File(_) => Err(Error::new(
                ErrorKind::Config,
                "this build has no file vault (feature `vault`)",
            )),
            #[cfg(feature = "redis")]
            StoreSpec::Redis(url) => {
                let options = RedisOptions {
                    ca_file: ca_file.map(std::path::Path::to_path_buf),
                    ..RedisOptions::default()
                };
                Ok(Arc::new(RedisStore::connect(url, options)?))
            }
            #[cfg(not(feature = "redis"))]
            StoreSpec::Redis(_) => {
                let _ = ca_file;
                Err(Error::new(
                    ErrorKind::Config,
                    "this build has no Redis stores (feature `redis`)",
                ))
            }
        }
    }
}
