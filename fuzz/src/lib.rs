//! What the fuzz targets share.

use std::sync::OnceLock;

use awsmask::{Masker, MasterKey};

/// One masker for the whole run: an in-memory store and a fixed key.
pub fn masker() -> &'static Masker {
    static M: OnceLock<Masker> = OnceLock::new();
    M.get_or_init(|| {
        Masker::builder()
            .key(MasterKey::from_bytes([7; 32]))
            .build()
            .expect("a memory masker")
    })
}
