#!/usr/bin/env bash
# A cluster primary is SIGKILLed in the middle of a long `awsmask mask` run against the
# testbed's TLS cluster, with `?replicas=1` (a claim counts once a replica holds it). The
# outcome must be either success that round-trips exactly, or a non-zero exit whose output
# holds no identifier and unmasks to the start of the input: no mapping is lost with the
# primary. The killed node is then started again, rejoins as a replica, and the cluster
# serves again; what was masked before still unmasks.
# Needs a running testbed (its environment exported) and a built `awsmask` (argument 1).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/awsmask}
: "${AWSMASK_TEST_CLUSTER_URL:?start scripts/redis-testbed.sh and export its env}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export AWSMASK_STORE="$AWSMASK_TEST_CLUSTER_URL?replicas=1" AWSMASK_TLS_CA_FILE=$AWSMASK_TEST_CA_FILE
export AWSMASK_KEY=5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a
ns="failover-$$"

python3 - "$work/in.txt" "$work/values.txt" <<'PY'
import random, sys
rng = random.Random(11)
values = ["i-%017x" % rng.getrandbits(68) for _ in range(15000)] + ["10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)) for _ in range(5000)]
lines = []
for n in range(200_000):
    lines.append("request %d from %s to %s ok\n" % (n, rng.choice(values), rng.choice(values)))
open(sys.argv[1], "w").write("".join(lines))
open(sys.argv[2], "w").write("\n".join(values) + "\n")
PY

"$bin" mask --namespace "$ns" < "$work/in.txt" > "$work/masked.txt" 2> "$work/mask.err" &
pid=$!
# kill once the first chunk's masked output is out (4 MiB of input), so that there are
# mappings to lose
for _ in $(seq 1 1200); do
  [ "$(stat -c %s "$work/masked.txt" 2>/dev/null || echo 0)" -gt 100000 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
echo "failover-test: killing a primary with $(stat -c %s "$work/masked.txt" 2>/dev/null || echo 0) bytes out" >&2
port=$(bash scripts/redis-testbed.sh kill-primary)
rc=0
wait "$pid" || rc=$?

# What was written unmasks to the input (all of it after a success, its start after a
# failure): retried while the failover settles.
restores() {
  for _ in $(seq 1 100); do
    if "$bin" unmask --namespace "$ns" < "$work/masked.txt" > "$work/back.txt" 2>/dev/null; then
      if [ "$rc" = 0 ]; then
        cmp -s "$work/in.txt" "$work/back.txt" && return 0
      else
        python3 -c 'import sys; a, b = (open(p, "rb").read() for p in sys.argv[1:]); sys.exit(not a.startswith(b))' \
          "$work/in.txt" "$work/back.txt" && return 0
      fi
    fi
    sleep 0.2
  done
  return 1
}

if [ "$rc" = 0 ]; then
  restores || { echo "failover-test: success but no exact round trip" >&2; exit 1; }
  echo "failover-test: mask succeeded across the failover and round-trips"
else
  # failure: a clear error, and not one identifier in what was written
  grep -q . "$work/mask.err" || { echo "failover-test: failed without a message" >&2; exit 1; }
  if grep -F -f "$work/values.txt" "$work/masked.txt" >/dev/null; then
    echo "failover-test: an identifier leaked into the output of a failed run" >&2
    exit 1
  fi
  restores || { echo "failover-test: what the failed run wrote does not unmask to the input's start" >&2; exit 1; }
  echo "failover-test: mask failed closed ($(head -c 200 "$work/mask.err")), nothing leaked, $(wc -c < "$work/back.txt") bytes written restore exactly"
fi

# the replica has taken over; the killed node comes back as its replica
for _ in $(seq 1 100); do
  bash scripts/redis-testbed.sh check >/dev/null 2>&1 && break
  sleep 0.2
done
bash scripts/redis-testbed.sh restart-node "$port" >/dev/null
# claims are confirmed again, and nothing masked before was lost
for _ in $(seq 1 100); do
  if echo "vpc-0a1b2c3d" | "$bin" mask --namespace "$ns" > /dev/null 2>&1; then
    restores || { echo "failover-test: a mapping was lost after the node came back" >&2; exit 1; }
    echo "failover-test: node $port back as a replica; claims confirmed; earlier output still restores"
    exit 0
  fi
  sleep 0.2
done
echo "failover-test: the cluster did not come back" >&2
exit 1
