//! The file vault: an embedded SQLite database in WAL mode.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Claim, MappingStore};
use crate::error::{Error, ErrorKind};
use crate::fsutil::{create_private_dir, create_private_file};
use crate::keys::NamespaceId;

/// Mappings in a SQLite file (WAL mode), safe for several processes at once, such as
/// `awsmask mask | llm | awsmask unmask`. The file is created with mode 0600.
pub struct VaultStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl fmt::Debug for VaultStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How long a call waits for another process's write to the vault before it fails: writes
/// are short (one batch of claims), so a lock held longer is a stuck process.
const BUSY_WAIT: Duration = Duration::from_secs(10);

fn store_err(path: &Path, what: &str, e: &dyn fmt::Display) -> Error {
    Error::new(
        ErrorKind::Store,
        format!("vault {}: {what}: {e}", path.display()),
    )
}

fn now_ms() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

impl VaultStore {
    /// Opens the vault at `path`, creating it (and its folder) with owner-only permissions.
    ///
    /// # Errors
    ///
    /// When the file cannot be created or opened, or is not an awsmask vault.
    pub fn open(path: &Path) -> Result<VaultStore, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|e| store_err(path, "cannot create its folder", &e))?;
        }
        create_private_file(path).map_err(|e| store_err(path, "cannot create it", &e))?;
        let conn = Connection::open(path).map_err(|e| store_err(path, "cannot open it", &e))?;
        conn.busy_timeout(BUSY_WAIT)
            .map_err(|e| store_err(path, "cannot configure it", &e))?;
        // Two processes opening a new vault at once (`awsmask mask | awsmask unmask`) race to
        // switch it to WAL; SQLite reports that as busy without waiting, so retry a while.
        let setup = "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS awsmask_mappings (
                 ns TEXT NOT NULL,
                 token TEXT NOT NULL,
                 sealed BLOB NOT NULL,
                 expires_ms INTEGER NOT NULL,
                 PRIMARY KEY (ns, token)
             ) WITHOUT ROWID;";
        let started = std::time::Instant::now();
        loop {
            match conn.execute_batch(setup) {
                Ok(()) => break,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if matches!(
                        e.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) && started.elapsed() < Duration::from_secs(30) =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(store_err(path, "not a usable vault", &e)),
            }
        }
        // expired mappings go at open, unless another process is writing: then the next
        // open does it (no waiting for the lock here)
        let _ = conn.busy_timeout(Duration::ZERO);
        let _ = conn.execute(
            "DELETE FROM awsmask_mappings WHERE expires_ms <= ?1",
            params![now_ms()],
        );
        conn.busy_timeout(BUSY_WAIT)
            .map_err(|e| store_err(path, "cannot configure it", &e))?;
        Ok(VaultStore {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, Error> {
        self.conn.lock().map_err(|_| {
            Error::new(
                ErrorKind::Store,
                "vault poisoned by a panic in another thread",
            )
        })
    }
}

impl MappingStore for VaultStore {
    fn claim(
        &self,
        ns: &NamespaceId,
        claims: &[Claim<'_>],
        ttl: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn()?;
        let path = &self.path;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| store_err(path, "cannot begin a claim", &e))?;
        let now = now_ms();
        let expires = now.saturating_add(ttl_ms(ttl));
        let mut out = Vec::with_capacity(claims.len());
        {
            let mut get = tx
                .prepare_cached(
                    "SELECT sealed, expires_ms FROM awsmask_mappings WHERE ns = ?1 AND token = ?2",
                )
                .map_err(|e| store_err(path, "cannot read", &e))?;
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO awsmask_mappings (ns, token, sealed, expires_ms) VALUES (?1, ?2, ?3, ?4)")
                .map_err(|e| store_err(path, "cannot write", &e))?;
            let mut touch = tx
                .prepare_cached(
                    "UPDATE awsmask_mappings SET expires_ms = ?3 WHERE ns = ?1 AND token = ?2",
                )
                .map_err(|e| store_err(path, "cannot write", &e))?;
            for c in claims {
                let existing: Option<(Vec<u8>, i64)> = get
                    .query_row(params![ns.as_str(), c.token], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                    .map_err(|e| store_err(path, "cannot read", &e))?;
                match existing {
                    Some((sealed, exp)) if exp > now => {
                        touch
                            .execute(params![ns.as_str(), c.token, expires])
                            .map_err(|e| store_err(path, "cannot write", &e))?;
                        out.push(Some(sealed));
                    }
                    _ => {
                        put.execute(params![ns.as_str(), c.token, c.sealed, expires])
                            .map_err(|e| store_err(path, "cannot write", &e))?;
                        out.push(None);
                    }
                }
            }
        }
        tx.commit()
            .map_err(|e| store_err(path, "cannot commit a claim", &e))?;
        Ok(out)
    }

    fn resolve(
        &self,
        ns: &NamespaceId,
        tokens: &[&str],
        ttl: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn()?;
        let path = &self.path;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| store_err(path, "cannot begin a lookup", &e))?;
        let now = now_ms();
        let expires = now.saturating_add(ttl_ms(ttl));
        let mut out = Vec::with_capacity(tokens.len());
        {
            let mut get = tx
                .prepare_cached(
                    "SELECT sealed, expires_ms FROM awsmask_mappings WHERE ns = ?1 AND token = ?2",
                )
                .map_err(|e| store_err(path, "cannot read", &e))?;
            let mut touch = tx
                .prepare_cached(
                    "UPDATE awsmask_mappings SET expires_ms = ?3 WHERE ns = ?1 AND token = ?2",
                )
                .map_err(|e| store_err(path, "cannot write", &e))?;
            for t in tokens {
                let found: Option<(Vec<u8>, i64)> = get
                    .query_row(params![ns.as_str(), t], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(|e| store_err(path, "cannot read", &e))?;
                match found {
                    Some((sealed, exp)) if exp > now => {
                        touch
                            .execute(params![ns.as_str(), t, expires])
                            .map_err(|e| store_err(path, "cannot write", &e))?;
                        out.push(Some(sealed));
                    }
                    _ => out.push(None),
                }
            }
        }
        tx.commit()
            .map_err(|e| store_err(path, "cannot commit a lookup", &e))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testkit;

    #[test]
    fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        let n = std::sync::atomic::AtomicUsize::new(0);
        testkit::run_all(&|| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Box::new(VaultStore::open(&dir.path().join(format!("v{i}.db"))).unwrap())
        });
    }

    #[cfg(unix)]
    #[test]
    fn vault_is_private_and_shared_between_handles() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/vault.db");
        let a = VaultStore::open(&path).unwrap();
        let b = VaultStore::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let ns = testkit::ns("shared");
        a.claim(
            &ns,
            &[Claim {
                token: "AWS_EC2_AAAAAA",
                sealed: b"s",
            }],
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(
            b.resolve(&ns, &["AWS_EC2_AAAAAA"], Duration::from_secs(60))
                .unwrap(),
            vec![Some(b"s".to_vec())]
        );
    }

    #[test]
    fn a_file_that_is_not_a_vault_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("garbage.db");
        std::fs::write(
            &path,
            b"this is not a database, just some text that is long enough",
        )
        .unwrap();
        let err = VaultStore::open(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Store);
        assert!(err.to_string().contains("garbage.db"), "{err}");
    }
}
