//! Integration tests of the `awsmask` crate, compiled into one binary.

mod corpus;
mod props;
