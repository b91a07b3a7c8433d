#!/usr/bin/env bash
# Scores `awsmask scan` on the shared labeled corpus with its own scorer:
#   scripts/dev-score.sh [CORPUS_DIR] [-- extra score.py options, e.g. --errors 20]
# CORPUS_DIR defaults to ../shared/corpus beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus}
shift || true
[ "${1:-}" = "--" ] && shift
[ -f "$corpus/dev.jsonl" ] || { echo "no dev.jsonl in $corpus" >&2; exit 2; }
cargo build -q --release -p awsmask-cli
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$corpus/dev.jsonl" "$tmp/pred.jsonl" <<'PY'
import bisect, json, subprocess, sys
dev, out = sys.argv[1:3]
recs = [json.loads(l) for l in open(dev, encoding="utf-8") if l.strip()]
sep = b"\n\n"
starts, pos, parts = [], 0, []
for r in recs:
    b = r["text"].encode()
    starts.append(pos)
    parts.append(b + sep)
    pos += len(b) + len(sep)
p = subprocess.run(["target/release/awsmask", "scan", "--format", "jsonl"], input=b"".join(parts), capture_output=True)
if p.returncode not in (0, 1):
    sys.exit(p.stderr.decode())
preds = [[] for _ in recs]
for line in p.stdout.splitlines():
    o = json.loads(line)
    i = bisect.bisect_right(starts, o["start"]) - 1
    preds[i].append({"byte_start": o["start"] - starts[i], "byte_end": o["end"] - starts[i], "type": o["kind"]})
with open(out, "w") as f:
    for r, sp in zip(recs, preds):
        f.write(json.dumps({"id": r["id"], "spans": sp}) + "\n")
PY
python3 "$corpus/score.py" spans "$corpus/dev.jsonl" "$tmp/pred.jsonl" "$@"
