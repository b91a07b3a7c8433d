//! A fast hasher for in-process maps.

/// A fast hasher for the in-process tables (caches, a batch's values, known names). Their keys
/// come from the text being masked, which someone else may write (a proxy masks what its
/// clients send): the hasher starts from a seed drawn once per process, so that keys chosen to
/// collide in one process do not collide in another.
#[derive(Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Default for FxHasher {
    fn default() -> FxHasher {
        FxHasher(seed())
    }
}

/// The per-process seed: random, or, should the system give no randomness, derived from the
/// time and an address (the tables stay correct either way; only their resistance to chosen
/// collisions depends on it).
fn seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        let mut b = [0u8; 8];
        if getrandom::getrandom(&mut b).is_ok() {
            u64::from_le_bytes(b)
        } else {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            t ^ (std::ptr::addr_of!(SEED) as u64).rotate_left(32)
        }
    })
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        // the multiply leaves the low bits weak, and the table indexes by them: mix the high
        // bits down (MurmurHash3's finalizer). Without it, a cache of 50,000 resource ids
        // probed long chains and its lookups cost ~300 ns.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

pub(crate) type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// The hash of `bytes`, for tables that keep their keys' hashes (cache, store, known names).
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = FxBuild::default().build_hasher();
    h.write(bytes);
    h.finish()
}

/// The hash of `bytes` of kind `kind` (a value and its kind's index).
pub(crate) fn hash_kind_bytes(kind: crate::catalogue::KindId, bytes: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = FxBuild::default().build_hasher();
    kind.hash(&mut h);
    h.write(bytes);
    h.finish()
}
