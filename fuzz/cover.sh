#!/usr/bin/env bash
# Which of awsmask's lines and regions a saved corpus reaches, file by file, and whether a run
# moved it: the corpus saved at REV (default: the previous commit that changed it) against the
# one saved now. libFuzzer's own edge count takes in the dependencies and the standard
# library, and keeps creeping up; this says whether awsmask's code is still being reached anew.
#
#   bash fuzz/cover.sh TARGET [REV]
#
# Needs cargo-fuzz and llvm-tools (rustup component add llvm-tools-preview --toolchain nightly).
# Counts in masker/cache.rs and the store move with the order inputs run in (a full cache is
# cleared), not with the corpus.
set -euo pipefail
cd "$(dirname "$0")"
t=${1:?usage: cover.sh TARGET [REV]}
rev=${2:-$(git log -n 1 --format=%H --skip 1 -- "corpora/$t.tar.xz")}
llvm_cov=$(find "$(rustc +nightly --print sysroot)" -name llvm-cov -type f | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for which in old new; do
  mkdir -p "$work/$which"
  if [ $which = old ]; then
    git show "$rev:fuzz/corpora/$t.tar.xz" | tar -xJ -C "$work/$which"
  else
    tar -xJ -C "$work/$which" -f "corpora/$t.tar.xz"
  fi
  cargo +nightly fuzz coverage "$t" "$work/$which/$t" -- -max_len=8192 >"$work/$which.log" 2>&1
  "$llvm_cov" report "target/x86_64-unknown-linux-gnu/coverage/x86_64-unknown-linux-gnu/release/$t" \
    -instr-profile="coverage/$t/coverage.profdata" \
    --ignore-filename-regex='(registry|rustc|/library/|fuzz/)' |
    sed 's|.*/src/||' | awk 'NF >= 10 && $2 ~ /^[0-9]+$/ {print $1, $2 - $3, $2, $8 - $9, $8}' >"$work/$which.txt"
done
echo "$t: regions and lines reached, corpus of ${rev:0:10} -> now"
join "$work/old.txt" "$work/new.txt" |
  awk '{printf "%-22s regions %5d -> %5d of %5d   lines %5d -> %5d of %5d\n", $1, $2, $6, $3, $4, $8, $5}'
