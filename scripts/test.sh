#!/usr/bin/env bash
# Runs every test of the project: the one command the README and CI share.
set -euo pipefail
cd "$(dirname "$0")/.."

# Redis for the store tests: install it where we may (CI runs as root on Debian)
if ! command -v redis-server >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi

cargo fmt --all -- --check
cargo clippy -q --workspace --all-targets -- -D warnings
cargo test -q --workspace --all-targets
cargo test -q --workspace --doc

# the Redis testbed: plain, TLS and a 6-node TLS cluster, a failover, and a clean stop
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
  export AWSMASK_TESTBED_DIR="${TMPDIR:-/tmp}/awsmask-testbed-$$"
  trap 'bash scripts/redis-testbed.sh stop' EXIT
  bash scripts/redis-testbed.sh start >/dev/null
  bash scripts/redis-testbed.sh check
  bash scripts/redis-testbed.sh kill-primary >/dev/null
  for _ in $(seq 1 100); do
    bash scripts/redis-testbed.sh check >/dev/null 2>&1 && break
    sleep 0.2
  done
  bash scripts/redis-testbed.sh check
else
  echo "test.sh: redis-server is not installed: skipping the Redis testbed"
fi
