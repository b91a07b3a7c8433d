#!/usr/bin/env bash
# Runs every test of the project: the one command the README and CI share.
set -euo pipefail
cd "$(dirname "$0")/.."

# Redis for the store tests: install it where we may (CI runs as root on Debian)
if ! command -v redis-server >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi

cargo fmt --all -- --check
cargo clippy -q --workspace --all-targets --all-features -- -D warnings

# dependencies: licenses, banned crates (no OpenSSL), sources (deny.toml). Advisories need the
# RustSec database from GitHub, which CI cannot reach: `cargo deny check advisories` elsewhere
command -v cargo-deny >/dev/null || cargo install -q --locked cargo-deny@0.20.2
# every platform's crates, which the offline check reads (a build fetches only this one's)
cargo fetch -q
cargo deny --offline check bans licenses sources

# the Redis testbed (plain, TLS, a 6-node TLS cluster) for the store tests; they skip without it
testbed=0
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
  export AWSMASK_TESTBED_DIR="${TMPDIR:-/tmp}/awsmask-testbed-$$"
  trap 'bash scripts/redis-testbed.sh stop' EXIT
  eval "$(bash scripts/redis-testbed.sh start)"
  bash scripts/redis-testbed.sh check
  testbed=1
else
  echo "test.sh: redis-server is not installed: the Redis tests will skip"
fi

cargo test -q --workspace --all-targets --all-features
cargo test -q --workspace --doc --all-features

# the Python package, installed the way a user installs it, in a fresh virtual environment
venv="${TMPDIR:-/tmp}/awsmask-venv-$$"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check maturin pytest hypothesis mypy typing_extensions anthropic httpx
"$venv/bin/pip" install -q --disable-pip-version-check ./crates/py
(cd crates/py && "$venv/bin/python" -m pytest -q tests)
"$venv/bin/python" -m mypy.stubtest awsmask._awsmask
# `awsmask proxy` end to end: the official anthropic SDK -> the proxy -> a stub Messages API
AWSMASK_BIN="$PWD/target/debug/awsmask" "$venv/bin/python" -m pytest -q tests/e2e
rm -rf "$venv"

# the npm package, built and tested as its README says; the generated index.js and
# index.d.ts are committed and must not change on a rebuild
(cd crates/node && npm install --no-audit --no-fund --loglevel=error && npm run build --silent && npm test --silent)
git diff --exit-code -- crates/node/index.d.ts crates/node/index.js

if [ $testbed = 1 ]; then
  # a primary killed in the middle of a long mask run: success that round-trips, or a
  # non-zero exit with nothing leaked; then the cluster serves again
  bash scripts/failover-test.sh target/debug/awsmask
fi
