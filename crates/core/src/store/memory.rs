//! The in-memory store.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Claim, MappingStore};
use crate::error::{Error, ErrorKind};
use crate::fxhash::FxBuild;
use crate::keys::NamespaceId;

/// Default capacity of a [`MemoryStore`]: one million mappings.
pub const DEFAULT_CAPACITY: usize = 1_000_000;

/// The map behind the store: namespace → token → entry.
type Map = HashMap<NamespaceId, HashMap<Box<str>, Entry, FxBuild>, FxBuild>;

struct Entry {
    sealed: Vec<u8>,
    expires: Instant,
}

/// The mappings and how many there are.
#[derive(Default)]
struct State {
    map: Map,
    len: usize,
}

impl State {
    /// Drops expired mappings.
    fn purge(&mut self, now: Instant) {
        let mut len = 0;
        for tokens in self.map.values_mut() {
            tokens.retain(|_, e| e.expires > now);
            len += tokens.len();
        }
        self.map.retain(|_, tokens| !tokens.is_empty());
        self.len = len;
    }
}

/// Mappings in this process's memory, with a TTL and a capacity bound. A live mapping is never
/// dropped: at capacity, expired mappings go first, and when none has expired a claim fails.
pub struct MemoryStore {
    state: Mutex<State>,
    capacity: usize,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// A store holding at most [`DEFAULT_CAPACITY`] live mappings.
    #[must_use]
    pub fn new() -> MemoryStore {
        MemoryStore::with_capacity(DEFAULT_CAPACITY)
    }

    /// A store holding at most `capacity` live mappings.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> MemoryStore {
        MemoryStore {
            state: Mutex::new(State::default()),
            capacity,
        }
    }

    /// Number of mappings held (live or expired but not yet purged).
    #[must_use]
    pub fn len(&self) -> usize {
        self.state.lock().map_or(0, |s| s.len)
    }

    /// Whether the store holds no mapping.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, Error> {
        self.state.lock().map_err(|_| {
            Error::new(
                ErrorKind::Store,
                "memory store poisoned by a panic in another thread",
            )
        })
    }
}

impl MappingStore for MemoryStore {
    fn claim(
        &self,
        ns: &NamespaceId,
        claims: &[Claim<'_>],
        ttl: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        let now = Instant::now();
        let expires = now + ttl;
        let mut state = self.lock()?;
        let mut out = Vec::with_capacity(claims.len());
        for c in claims {
            let taken = state.map.get_mut(ns).and_then(|t| t.get_mut(c.token));
            match taken {
                Some(e) if e.expires > now => {
                    e.expires = expires;
                    out.push(Some(e.sealed.clone()));
                    continue;
                }
                Some(e) => {
                    // expired: reuse the slot
                    *e = Entry {
                        sealed: c.sealed.to_vec(),
                        expires,
                    };
                    out.push(None);
                    continue;
                }
                None => {}
            }
            if state.len >= self.capacity {
                state.purge(now);
                if state.len >= self.capacity {
                    return Err(Error::new(
                        ErrorKind::StoreFull,
                        format!(
                            "memory store full: {} live mappings (raise the capacity or lower the TTL)",
                            self.capacity
                        ),
                    ));
                }
            }
            let tokens = match state.map.get_mut(ns) {
                Some(t) => t,
                None => state.map.entry(ns.clone()).or_default(),
            };
            tokens.insert(
                c.token.into(),
                Entry {
                    sealed: c.sealed.to_vec(),
                    expires,
                },
            );
            state.len += 1;
            out.push(None);
        }
        Ok(out)
    }

    fn resolve(
        &self,
        ns: &NamespaceId,
        tokens: &[&str],
        ttl: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        let now = Instant::now();
        let mut state = self.lock()?;
        let Some(map) = state.map.get_mut(ns) else {
            return Ok(vec![None; tokens.len()]);
        };
        Ok(tokens
            .iter()
            .map(|t| {
                let e = map.get_mut(*t)?;
                if e.expires <= now {
                    return None;
                }
                e.expires = now + ttl;
                Some(e.sealed.clone())
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testkit;

    #[test]
    fn conformance() {
        testkit::run_all(&|| Box::new(MemoryStore::new()));
    }

    #[test]
    fn capacity_never_drops_live_mappings() {
        let store = MemoryStore::with_capacity(2);
        let ns = testkit::ns("cap");
        let c = |t: &'static str| Claim {
            token: t,
            sealed: b"x",
        };
        store
            .claim(
                &ns,
                &[c("AWS_EC2_000001"), c("AWS_EC2_000002")],
                Duration::from_secs(60),
            )
            .unwrap();
        let err = store
            .claim(&ns, &[c("AWS_EC2_000003")], Duration::from_secs(60))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StoreFull);
        assert_eq!(
            store
                .resolve(&ns, &["AWS_EC2_000001"], Duration::from_secs(60))
                .unwrap()[0]
                .as_deref(),
            Some(&b"x"[..])
        );
        // expired entries make room
        let store = MemoryStore::with_capacity(1);
        store
            .claim(&ns, &[c("AWS_EC2_000001")], Duration::ZERO)
            .unwrap();
        store
            .claim(&ns, &[c("AWS_EC2_000002")], Duration::from_secs(60))
            .unwrap();
        assert_eq!(store.len(), 1);
    }
}
