#!/usr/bin/env bash
# A cluster primary is SIGKILLed in the middle of a long `awsmask mask` run against the
# testbed's TLS cluster. The outcome must be either success that round-trips exactly, or a
# non-zero exit whose output holds no identifier. Then the cluster serves again.
# Needs a running testbed (its environment exported) and a built `awsmask` (argument 1).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/awsmask}
: "${AWSMASK_TEST_CLUSTER_URL:?start scripts/redis-testbed.sh and export its env}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export AWSMASK_STORE=$AWSMASK_TEST_CLUSTER_URL AWSMASK_TLS_CA_FILE=$AWSMASK_TEST_CA_FILE
export AWSMASK_KEY=5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a
ns="failover-$$"

python3 - "$work/in.txt" "$work/values.txt" <<'PY'
import random, sys
rng = random.Random(11)
values = ["i-%017x" % rng.getrandbits(68) for _ in range(3000)] + ["10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)) for _ in range(1000)]
lines = []
for n in range(200_000):
    lines.append("request %d from %s to %s ok\n" % (n, rng.choice(values), rng.choice(values)))
open(sys.argv[1], "w").write("".join(lines))
open(sys.argv[2], "w").write("\n".join(values) + "\n")
PY

"$bin" mask --namespace "$ns" < "$work/in.txt" > "$work/masked.txt" 2> "$work/mask.err" &
pid=$!
sleep 0.3
bash scripts/redis-testbed.sh kill-primary >/dev/null
rc=0
wait "$pid" || rc=$?

if [ "$rc" = 0 ]; then
  # success: the answer must come back exactly (retrying while the failover settles)
  for _ in $(seq 1 50); do
    "$bin" unmask --namespace "$ns" < "$work/masked.txt" > "$work/back.txt" 2>/dev/null && break
    sleep 0.2
  done
  cmp -s "$work/in.txt" "$work/back.txt" || { echo "failover-test: success but no exact round trip" >&2; exit 1; }
  echo "failover-test: mask succeeded across the failover and round-trips"
else
  # failure: a clear error, and not one identifier in what was written
  grep -q . "$work/mask.err" || { echo "failover-test: failed without a message" >&2; exit 1; }
  if grep -F -f "$work/values.txt" "$work/masked.txt" >/dev/null; then
    echo "failover-test: an identifier leaked into the output of a failed run" >&2
    exit 1
  fi
  echo "failover-test: mask failed closed ($(head -c 200 "$work/mask.err")), nothing leaked"
fi

# the cluster serves again once the replica has taken over
for _ in $(seq 1 100); do
  echo "vpc-0a1b2c3d" | "$bin" mask --namespace "$ns" > /dev/null 2>&1 && exit 0
  sleep 0.2
done
echo "failover-test: the cluster did not come back" >&2
exit 1
