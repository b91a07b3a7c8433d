//! Keys: the master key, per-namespace keys, token codes and sealing.
//!
//! From the master key, HKDF-SHA256 derives for each namespace a token key (HMAC-SHA256 over
//! `kind ‖ value ‖ attempt` gives the token's code), a sealing key (AES-256-GCM-SIV seals
//! each value before it reaches a store, with the token as associated data) and a namespace id
//! (names the namespace in stores without revealing its name).
//!
//! AES-256-GCM-SIV rather than XChaCha20-Poly1305: a nonce used twice reveals no more than
//! whether two sealed (token, value) pairs are equal, and with AES-NI it seals a short value
//! in ~0.5 µs, against ~1.9 µs (a portable ChaCha20 plus a Poly1305 whose SIMD set-up is made
//! for long messages), which was a quarter of the cost of masking a text of new values.

use std::fmt;
use std::path::Path;

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, ErrorKind};
use crate::token::{self, CODE_LEN};

/// The 32-byte secret from which every namespace key is derived. Its `Debug` output is
/// redacted.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// A key from 32 bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey(bytes)
    }

    /// A fresh random key from the operating system's generator.
    ///
    /// # Errors
    ///
    /// When the operating system has no randomness to give.
    pub fn random() -> Result<MasterKey, Error> {
        let mut k = [0u8; 32];
        getrandom::getrandom(&mut k)
            .map_err(|e| Error::new(ErrorKind::Key, format!("no randomness for a key: {e}")))?;
        Ok(MasterKey(k))
    }

    /// A key from 64 hexadecimal digits (as in `AWSMASK_KEY`); surrounding white space is
    /// ignored.
    ///
    /// # Errors
    ///
    /// When the text is not exactly 64 hexadecimal digits. The message never repeats it.
    pub fn from_hex(text: &str) -> Result<MasterKey, Error> {
        let t = text.trim().as_bytes();
        let bad = || Error::new(ErrorKind::Key, "a key must be 64 hexadecimal digits");
        if t.len() != 64 {
            return Err(bad());
        }
        let mut k = [0u8; 32];
        for (i, pair) in t.chunks(2).enumerate() {
            let hi = hex_val(pair[0]).ok_or_else(bad)?;
            let lo = hex_val(pair[1]).ok_or_else(bad)?;
            k[i] = hi << 4 | lo;
        }
        Ok(MasterKey(k))
    }

    /// The key as 64 lower-case hexadecimal digits (for writing a key file).
    #[must_use]
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for &b in &self.0 {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 15)]));
        }
        s
    }

    /// Reads a key file: 64 hexadecimal digits. On Unix the file must not be readable or
    /// writable by anyone but its owner (mode 0600 or stricter), as ssh asks of its keys: a
    /// key others can read protects nothing.
    ///
    /// # Errors
    ///
    /// When the file cannot be read, gives others access, or does not hold a key.
    pub fn from_file(path: &Path) -> Result<MasterKey, Error> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            if let Ok(meta) = std::fs::metadata(path)
                && meta.permissions().mode() & 0o077 != 0
            {
                return Err(Error::new(
                    ErrorKind::Key,
                    format!(
                        "key file {} is open to others (mode {:o}): run `chmod 600` on it",
                        path.display(),
                        meta.permissions().mode() & 0o777
                    ),
                ));
            }
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Key,
                format!("cannot read key file {}: {e}", path.display()),
            )
        })?;
        MasterKey::from_hex(&text)
            .map_err(|e| Error::new(ErrorKind::Key, format!("key file {}: {e}", path.display())))
    }
}

impl MasterKey {
    /// Reads the key file at `path`, or creates it with a fresh random key (mode 0600, its
    /// folder 0700) when there is none. Processes that start at once agree on one key: the
    /// new key is written to a temporary file and linked into place, which fails for all but
    /// the first; the others read the winner's key.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or created, or holds no key.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, Error> {
        use std::io::Write as _;
        if path.exists() {
            return MasterKey::from_file(path);
        }
        let fail = |what: &str, e: &std::io::Error| {
            Error::new(ErrorKind::Key, format!("{what} {}: {e}", path.display()))
        };
        let dir = path.parent().unwrap_or(Path::new(""));
        crate::fsutil::create_private_dir(dir)
            .map_err(|e| fail("cannot create the folder of", &e))?;
        let key = MasterKey::random()?;
        let name = path
            .file_name()
            .map_or_else(|| "key".into(), |n| n.to_string_lossy().into_owned());
        // unique among processes and threads
        let nonce = MasterKey::random()?.to_hex();
        let tmp = dir.join(format!(
            ".{name}.{}.{}.tmp",
            std::process::id(),
            &nonce[..16]
        ));
        let written = crate::fsutil::private_options()
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(key.to_hex().as_bytes())?;
                f.write_all(b"\n")?;
                f.sync_all()
            });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail("cannot write the key file", &e));
        }
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => MasterKey::from_file(path),
            Err(e) => Err(fail("cannot create the key file", &e)),
        }
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Identifies a namespace in a store: derived from the key and the namespace name, so that a
/// store never sees the name, and two keys never share a namespace.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NamespaceId(String);

impl NamespaceId {
    /// As text (32 hexadecimal digits), for store key names.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NamespaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NamespaceId({})", self.0)
    }
}

/// Bytes of a sealing nonce.
const NONCE_LEN: usize = 12;

/// The keys of one namespace.
#[derive(Clone)]
pub(crate) struct NamespaceKeys {
    token: Hmac<Sha256>,
    seal: Aes256GcmSiv,
    id: NamespaceId,
    nonces: std::sync::Arc<Nonces>,
}

/// Nonces for sealing: 4 random bytes drawn once per process, then a 64-bit counter (no
/// system call per sealed value). Processes that share a key may repeat a nonce once in a
/// while; GCM-SIV is built to stay safe when they do.
#[derive(Debug)]
struct Nonces {
    prefix: [u8; 4],
    counter: std::sync::atomic::AtomicU64,
}

impl Nonces {
    fn new() -> Result<Nonces, Error> {
        let mut prefix = [0u8; 4];
        getrandom::getrandom(&mut prefix)
            .map_err(|e| Error::new(ErrorKind::Key, format!("no randomness for nonces: {e}")))?;
        Ok(Nonces {
            prefix,
            counter: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn next(&self) -> [u8; NONCE_LEN] {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..4].copy_from_slice(&self.prefix);
        nonce[4..].copy_from_slice(&n.to_le_bytes());
        nonce
    }
}

impl fmt::Debug for NamespaceKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamespaceKeys")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl NamespaceKeys {
    pub(crate) fn derive(master: &MasterKey, namespace: &str) -> Result<NamespaceKeys, Error> {
        let hk = Hkdf::<Sha256>::new(Some(b"awsmask v1"), &master.0);
        let expand = |label: &[u8]| {
            let mut okm = [0u8; 32];
            // 32 bytes is far below HKDF-SHA256's limit of 8160
            let _ = hk.expand_multi_info(&[label, b"\0", namespace.as_bytes()], &mut okm);
            okm
        };
        let token_key = expand(b"token");
        // a new label for the new cipher: values sealed with the old one simply do not open
        let seal_key = expand(b"seal aes-256-gcm-siv");
        let id = expand(b"namespace-id");
        let mut hex = MasterKey(id).to_hex();
        hex.truncate(32);
        Ok(NamespaceKeys {
            token: <Hmac<Sha256> as KeyInit>::new_from_slice(&token_key)
                .unwrap_or_else(|_| unreachable!("HMAC takes any key length")),
            seal: Aes256GcmSiv::new((&seal_key).into()),
            id: NamespaceId(hex),
            nonces: std::sync::Arc::new(Nonces::new()?),
        })
    }

    pub(crate) fn id(&self) -> &NamespaceId {
        &self.id
    }

    /// The token for `value` of the kind with `tag`, at collision `attempt`.
    pub(crate) fn token(&self, tag: &str, kind: &str, value: &[u8], attempt: u32) -> String {
        let mut mac = self.token.clone();
        // length-prefixed fields: no two (kind, value, attempt) triples feed the same bytes
        mac.update(&(kind.len() as u64).to_be_bytes());
        mac.update(kind.as_bytes());
        mac.update(&(value.len() as u64).to_be_bytes());
        mac.update(value);
        mac.update(&attempt.to_be_bytes());
        let out = mac.finalize().into_bytes();
        let code: [u8; CODE_LEN] = token::code_from(&out);
        token::format(tag, code)
    }

    /// Seals `value` for storage under `token`: the 12-byte nonce, then the ciphertext and
    /// its 16-byte tag.
    pub(crate) fn seal(&self, token: &str, value: &[u8]) -> Result<Vec<u8>, Error> {
        let nonce = self.nonces.next();
        let ct = self
            .seal
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: value,
                    aad: token.as_bytes(),
                },
            )
            .map_err(|_| Error::new(ErrorKind::Key, "cannot seal a value"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens what [`seal`](Self::seal) made for `token`; `None` when it was not sealed with
    /// this namespace's key for this token.
    pub(crate) fn open(&self, token: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        self.seal
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: token.as_bytes(),
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_keys_round_trip_and_errors_do_not_echo() {
        let k = MasterKey::from_bytes([7; 32]);
        let hex = k.to_hex();
        assert_eq!(MasterKey::from_hex(&hex).unwrap().0, [7; 32]);
        let err = MasterKey::from_hex("zz-secret-looking-text")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"));
        assert_eq!(format!("{k:?}"), "MasterKey(<redacted>)");
    }

    #[test]
    fn key_files_are_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/vault.key");
        let keys: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| MasterKey::load_or_create(&path).unwrap().to_hex()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]));
        assert_eq!(MasterKey::load_or_create(&path).unwrap().to_hex(), keys[0]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn key_files_open_to_others_are_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, "ab".repeat(32)).unwrap();
        for (mode, ok) in [(0o600, true), (0o400, true), (0o640, false), (0o604, false)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let got = MasterKey::from_file(&path);
            assert_eq!(got.is_ok(), ok, "mode {mode:o}");
            if let Err(e) = got {
                assert_eq!(e.kind(), ErrorKind::Key);
                assert!(e.to_string().contains("chmod 600"), "{e}");
                assert!(!e.to_string().contains(&"ab".repeat(32)));
            }
        }
        // a missing key file is a clear error too
        let e = MasterKey::from_file(&dir.path().join("none")).unwrap_err();
        assert!(e.to_string().contains("cannot read key file"), "{e}");
    }

    #[test]
    fn tokens_are_deterministic_per_namespace() {
        let m = MasterKey::from_bytes([1; 32]);
        let a = NamespaceKeys::derive(&m, "a").unwrap();
        let a2 = NamespaceKeys::derive(&m, "a").unwrap();
        let b = NamespaceKeys::derive(&m, "b").unwrap();
        let t = a.token("EC2", "ec2_instance", b"i-0123456789abcdef0", 0);
        assert_eq!(
            t,
            a2.token("EC2", "ec2_instance", b"i-0123456789abcdef0", 0)
        );
        assert_ne!(t, b.token("EC2", "ec2_instance", b"i-0123456789abcdef0", 0));
        assert_ne!(t, a.token("EC2", "ec2_instance", b"i-0123456789abcdef0", 1));
        assert!(t.starts_with("AWS_EC2_") && t.len() == 14);
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn sealing_binds_namespace_and_token() {
        let m = MasterKey::from_bytes([2; 32]);
        let a = NamespaceKeys::derive(&m, "a").unwrap();
        let b = NamespaceKeys::derive(&m, "b").unwrap();
        let sealed = a.seal("AWS_EC2_000000", b"i-0123456789abcdef0").unwrap();
        assert!(!sealed.windows(5).any(|w| w == b"i-012"));
        assert_eq!(
            a.open("AWS_EC2_000000", &sealed).unwrap(),
            b"i-0123456789abcdef0"
        );
        assert!(a.open("AWS_EC2_000001", &sealed).is_none());
        assert!(b.open("AWS_EC2_000000", &sealed).is_none());
    }
}
