//! Integration tests of the `awsmask` crate, compiled into one binary.
#![expect(
    clippy::print_stderr,
    reason = "the corpus tests report their figures and skips on stderr"
)]
#![expect(clippy::cast_precision_loss, reason = "span counts are far below 2^52")]

mod corpus;
mod fuzz_smoke;
mod masking;
mod messages;
mod props;
mod redis;
