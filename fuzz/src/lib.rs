//! What the fuzz targets share: their checks (see [`checks`]).

pub mod checks;

pub use checks::masker;
