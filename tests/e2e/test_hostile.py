"""Hostile input through the binaries: huge lines, runs of hex and digits, near misses,
deeply nested JSON, a 50 MB server-sent event, invalid UTF-8. Each one: an answer or a clear
error, never a crash, in memory that does not grow with the input.

Memory is read from the kernel (peak resident set of the child, `VmHWM` of the proxy); the
bounds are far above what the programs use and far below the inputs, so that a buffer that
grew with its input would fail them.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from stub import Stub
from test_proxy import BIN, KEY, Proxy

MIB = 1 << 20


def run_measured(args: list[str], stdin: Path, stdout: Path | None = None,
                 env: dict | None = None, piped: bool = False) -> tuple[int, int, bytes, float]:
    """Runs the binary with `stdin` as its standard input (the file itself, or through `cat`
    and a pipe); returns (exit code, peak RSS in KiB, stderr, seconds)."""
    probe = ("import resource, subprocess, sys, time\n"
             "t = time.perf_counter()\n"
             "with open(sys.argv[1], 'rb') as i, open(sys.argv[2], 'wb') as o:\n"
             "    if sys.argv[3] == 'pipe':\n"
             "        cat = subprocess.Popen(['cat'], stdin=i, stdout=subprocess.PIPE)\n"
             "        p = subprocess.run(sys.argv[4:], stdin=cat.stdout, stdout=o, stderr=subprocess.PIPE)\n"
             "        cat.stdout.close(); cat.wait()\n"
             "    else:\n"
             "        p = subprocess.run(sys.argv[4:], stdin=i, stdout=o, stderr=subprocess.PIPE)\n"
             "sys.stderr.buffer.write(p.stderr)\n"
             "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,\n"
             "      time.perf_counter() - t)\n")
    out = subprocess.run([sys.executable, "-c", probe, str(stdin), str(stdout or os.devnull),
                          "pipe" if piped else "file", BIN, *args],
                         capture_output=True, env=env, timeout=600)
    code, rss, seconds = out.stdout.split()
    return int(code), int(rss), out.stderr, float(seconds)


def write_line(path: Path, size: int) -> None:
    """One line of prose and identifiers (1,000 distinct), no line break."""
    rng = random.Random(5)
    words = "the instance cannot reach database after deploy we checked security group rules".split()
    ids = ["i-%017x" % rng.getrandbits(68) for _ in range(500)] + \
          ["arn:aws:iam::%012d:role/r%d" % (rng.randrange(10**11, 10**12), k) for k in range(500)]
    block = " ".join(rng.choice(ids) if rng.random() < 0.05 else rng.choice(words)
                     for _ in range(200_000)) + " "
    with path.open("w") as f:
        n = 0
        while n < size:
            f.write(block)
            n += len(block)


@pytest.fixture(scope="module")
def line100(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("hostile") / "line.txt"
    write_line(p, 100 * MIB)
    return p


def test_a_100_mb_line_is_scanned_in_bounded_memory(line100):
    # a regular file is mapped and its pages let go behind the scan; a pipe is read
    for piped in (False, True):
        for fmt in ("jsonl", "text"):
            code, rss, _, t = run_measured(["scan", "--format", fmt], line100, piped=piped)
            how = "piped" if piped else "file"
            print("100 MB line (%s): scan --format %s peak RSS %d KiB, %.2f s" % (how, fmt, rss, t))
            assert code == 1
            assert rss < 48 * 1024, "scan used %d KiB" % rss


def test_a_100_mb_line_round_trips_in_bounded_memory(line100, tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), AWSMASK_KEY=KEY)
    masked = tmp_path / "masked.txt"
    code, rss, err, t = run_measured(["mask"], line100, masked, env)
    print("100 MB line: mask (vault) peak RSS %d KiB, %.2f s" % (rss, t))
    assert code == 0, err
    assert rss < 96 * 1024, "mask used %d KiB" % rss
    back = tmp_path / "back.txt"
    code, rss, err, t = run_measured(["unmask"], masked, back, env)
    print("100 MB line: unmask (vault) peak RSS %d KiB, %.2f s" % (rss, t))
    assert code == 0, err
    assert rss < 96 * 1024, "unmask used %d KiB" % rss
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(back) == digest(line100)
    assert b"i-" not in masked.read_bytes()[:1 << 20]


@pytest.mark.parametrize("alphabet", ["0123456789abcdef", "0123456789", "0123456789-", "AKIA0123456789"])
def test_megabytes_of_hex_digits_and_near_misses(tmp_path, alphabet):
    rng = random.Random(9)
    p = tmp_path / "runs.txt"
    p.write_text("".join(rng.choice(alphabet) for _ in range(16 * MIB)))
    code, rss, _, t = run_measured(["scan", "--format", "jsonl"], p)
    print("16 MB of %r: scan peak RSS %d KiB, %.2f s" % (alphabet, rss, t))
    assert code in (0, 1)
    assert rss < 48 * 1024
    code, rss, err, t = run_measured(["mask", "--store", "memory"], p)
    print("16 MB of %r: mask peak RSS %d KiB, %.2f s" % (alphabet, rss, t))
    assert code == 0, err
    assert rss < 96 * 1024


def test_near_miss_identifiers_are_not_found(tmp_path):
    near = ["i-0123456789abcdef", "vpc-0a1b2c3", "sg-0123456789abcdef01", "AKIAIOSFODNN7EXAMPL",
            "arn:aws:iam::12345678901:role/x", "10.0.0.256", "1234567890123", "subnet-xyz12345",
            "i-xxxxxxxxxxxxxxxxx", "vpc-00000000q"]
    p = tmp_path / "near.txt"
    p.write_text(" ".join(near * 200_000))
    t = time.perf_counter()
    out = subprocess.run([BIN, "scan", "--format", "jsonl"], stdin=p.open("rb"), capture_output=True,
                         timeout=600)
    print("%d MB of near misses: scan %.2f s" % (p.stat().st_size >> 20, time.perf_counter() - t))
    assert out.returncode == 0, out.stdout[:500]


def test_invalid_utf8_is_refused_with_its_offset(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"i-0123456789abcdef0 ok\n" * 1000 + b"\xff\xfe" + b"vpc-0a1b2c3d\n")
    out = subprocess.run([BIN, "mask", "--store", "memory"], stdin=p.open("rb"), capture_output=True,
                         timeout=60)
    assert out.returncode == 2
    assert b"UTF-8" in out.stderr and b"23000" in out.stderr
    assert b"i-0123456789abcdef0" not in out.stdout and b"vpc-0a1b2c3d" not in out.stdout
    # scan goes on past it
    out = subprocess.run([BIN, "scan", "--format", "jsonl"], stdin=p.open("rb"), capture_output=True,
                         timeout=60)
    assert out.returncode == 1
    assert out.stdout.count(b"\n") == 1001


def vm_hwm_kib(pid: int) -> int:
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


@pytest.fixture(scope="module")
def proxied():
    stub = Stub()
    proxy = Proxy(stub.url, "--store", "memory", "--max-body-bytes", str(64 * MIB))
    yield stub, proxy
    assert proxy.stop() == 0
    stub.close()


def test_deeply_nested_json_is_refused(proxied):
    stub, proxy = proxied
    before = stub.count()
    for body in (b"[" * 1_000_000, b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                 b'{"messages": [{"role": "user", "content": [' + b'{"type": "x", "a": ' * 300 +
                 b"1" + b"}" * 300 + b"]}]}"):
        t = time.perf_counter()
        r = httpx.post(proxy.url + "/v1/messages", content=body, timeout=60)
        print("JSON nested %d bytes deep: refused in %.3f s" % (body.count(b"[") + body.count(b"{"),
                                                                time.perf_counter() - t))
        assert r.status_code == 400, r.text[:200]
        assert "nested too deeply" in r.json()["error"]["message"]
    assert stub.count() == before


def test_a_50_mb_event_streams_through(proxied):
    stub, proxy = proxied
    # the stub echoes the last message: 50 MB of text in one delta (the stub cuts deltas of
    # three characters, so the text is sent whole by asking for a big chunk)
    big = "i-0123456789abcdef0 is down. " * (50 * MIB // 30)
    stub.delta_size = len(big) + 20
    t = time.perf_counter()
    try:
        with httpx.stream("POST", proxy.url + "/v1/messages", timeout=300,
                          json={"model": "m", "max_tokens": 1, "stream": True,
                                "messages": [{"role": "user", "content": big}]}) as r:
            assert r.status_code == 200
            text = []
            for line in r.iter_lines():
                if line.startswith("data: ") and "text_delta" in line:
                    text.append(json.loads(line[6:])["delta"]["text"])
        assert "".join(text) == "You said: " + big
        print("50 MB request and 50 MB event through the proxy: %.2f s" % (time.perf_counter() - t))
    finally:
        stub.delta_size = 3
    # the event was held whole, a few times over (bytes, text, JSON, answer): not more
    peak = vm_hwm_kib(proxy.proc.pid)
    print("50 MB request and 50 MB event through the proxy: peak RSS %d KiB" % peak)
    assert peak < 512 * 1024
