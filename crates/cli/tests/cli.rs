//! Black-box tests of the `awsmask` binary on stdin.
