#!/usr/bin/env bash
# Runs every test of the project: the one command the README and CI share.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy -q --workspace --all-targets -- -D warnings
cargo test -q --workspace --all-targets
cargo test -q --workspace --doc
