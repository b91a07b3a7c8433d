#!/usr/bin/env python3
"""Measures what `awsmask proxy` adds to a Messages API call, against the test stub:

    python3 scripts/bench-proxy.py [N]        (needs httpx; builds nothing: run
                                              `cargo build --release -p awsmask-cli` first)

* added latency of a non-streamed call with a 10 KB request body (in-memory store): p50 and
  p99 through the proxy against straight to the stub, N calls each, on kept-alive connections;
* time to the first text of a streamed answer (the same 10 KB body, a short answer), through
  the proxy and straight to the stub.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from stub import Stub  # noqa: E402

BIN = os.environ.get("AWSMASK_BIN", str(ROOT / "target" / "release" / "awsmask"))


def prompt(size: int) -> str:
    rng = random.Random(1)
    words = "the instance cannot reach the database after deploy we checked the rules".split()
    ids = lambda: rng.choice([  # noqa: E731
        "i-%017x" % rng.getrandbits(68), "vpc-%08x" % rng.getrandbits(32),
        "arn:aws:iam::%012d:role/app" % rng.randrange(10**11, 10**12),
        "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(256))])
    out: list[str] = []
    n = 0
    while n < size:
        w = ids() if rng.random() < 0.08 else rng.choice(words)
        out.append(w)
        n += len(w) + 1
    return " ".join(out)[:size]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def timed_calls(client: httpx.Client, url: str, body: bytes, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.post(url + "/v1/messages", content=body,
                        headers={"content-type": "application/json", "x-api-key": "k"})
        r.read()
        out.append((time.perf_counter() - t) * 1e3)
        assert r.status_code == 200, r.text
    return out


def first_text(client: httpx.Client, url: str, body: bytes) -> float:
    t = time.perf_counter()
    with client.stream("POST", url + "/v1/messages", content=body,
                       headers={"content-type": "application/json", "x-api-key": "k"}) as r:
        lines = r.iter_lines()
        for line in lines:
            if line.startswith("data: ") and "text_delta" in line:
                ms = (time.perf_counter() - t) * 1e3
                for _ in lines:
                    pass
                return ms
    raise RuntimeError("no text in the stream")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    stub = Stub()
    proxy = subprocess.Popen([BIN, "proxy", "--listen", "127.0.0.1:0", "--upstream", stub.url,
                              "--store", "memory"], stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, AWSMASK_KEY="11" * 32))
    assert proxy.stderr is not None
    purl = "http://" + json.loads(proxy.stderr.readline())["addr"]
    # drain the proxy's log lines
    threading.Thread(target=lambda: [None for _ in proxy.stderr], daemon=True).start()
    text = prompt(10_000)
    body = json.dumps({"model": "m", "max_tokens": 10,
                       "messages": [{"role": "user", "content": text}]}).encode()
    # the stub echoes the last message: a short one keeps the streamed answer short
    sbody = json.dumps({"model": "m", "max_tokens": 10, "stream": True,
                        "messages": [{"role": "user", "content": text},
                                     {"role": "assistant", "content": "Noted."},
                                     {"role": "user", "content": "Why is i-0123456789abcdef0 down?"}],
                        }).encode()
    try:
        with httpx.Client() as c:
            timed_calls(c, stub.url, body, 20)
            timed_calls(c, purl, body, 20)
            direct, via = [], []
            for _ in range(n // 50):
                direct += timed_calls(c, stub.url, body, 50)
                via += timed_calls(c, purl, body, 50)
            print("10 KB request body, %d calls each (ms)" % len(direct))
            print("  direct  p50 %.2f  p99 %.2f" % (pct(direct, 50), pct(direct, 99)))
            print("  proxy   p50 %.2f  p99 %.2f" % (pct(via, 50), pct(via, 99)))
            print("  added   p50 %.2f  p99 %.2f" % (pct(via, 50) - pct(direct, 50),
                                                   pct(via, 99) - pct(direct, 99)))
            d_ttfb = [first_text(c, stub.url, sbody) for _ in range(n // 3)]
            p_ttfb = [first_text(c, purl, sbody) for _ in range(n // 3)]
            print("time to the first streamed text, %d streams each (ms)" % len(d_ttfb))
            print("  direct  p50 %.2f  p99 %.2f" % (pct(d_ttfb, 50), pct(d_ttfb, 99)))
            print("  proxy   p50 %.2f  p99 %.2f" % (pct(p_ttfb, 50), pct(p_ttfb, 99)))
            print("  mean added %.2f" % (statistics.mean(p_ttfb) - statistics.mean(d_ttfb)))
    finally:
        proxy.terminate()
        proxy.wait()
        stub.close()


if __name__ == "__main__":
    main()
