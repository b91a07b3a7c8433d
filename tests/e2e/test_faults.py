"""Faults around the binaries: certificates that must not be trusted, a Redis server frozen or
killed, a vault that is locked or on a full disk. Each time: a clear error or success, nothing
leaked, no mapping silently lost, service back once the fault clears."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time

import anthropic
import pytest

from stub import Stub
from test_proxy import BIN, KEY, QUESTION, Proxy, free_port, make_certs, start_redis

TEXT = b'{"InstanceId": "i-0123456789abcdef0", "VpcId": "vpc-0a1b2c3d", "OwnerId": "123456789012"}\n'
VALUES = [b"i-0123456789abcdef0", b"vpc-0a1b2c3d", b"123456789012"]


def awsmask(args: list[str], stdin: bytes, env: dict | None = None, timeout: float = 120):
    return subprocess.run([BIN, *args], input=stdin, capture_output=True, timeout=timeout,
                          env=dict(os.environ, AWSMASK_KEY=KEY, **(env or {})))


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


@needs_openssl
def test_an_expired_upstream_certificate_is_refused(tmp_path):
    ca, cert, key = make_certs(tmp_path, -1)
    stub = Stub(tls=(str(cert), str(key)))
    proxy = Proxy(stub.url, "--store", "memory", "--upstream-ca-file", str(ca))
    try:
        c = anthropic.Anthropic(base_url=proxy.url, api_key="k", max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as err:
            c.messages.create(model="stub-model", max_tokens=1,
                              messages=[{"role": "user", "content": QUESTION}])
        assert err.value.status_code == 502
        assert stub.count() == 0
    finally:
        assert proxy.stop() == 0
        stub.close()


@needs_openssl
@needs_redis
def test_an_expired_or_untrusted_redis_certificate_is_refused(tmp_path):
    ca, cert, key = make_certs(tmp_path, -1)
    port = free_port()
    redis = start_redis(port, "--tls-cert-file", str(cert), "--tls-key-file", str(key),
                        "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no")
    try:
        for extra in (["--tls-ca-file", str(ca)], []):
            out = awsmask(["mask", "--store", "rediss://127.0.0.1:%d" % port, *extra], TEXT)
            assert out.returncode == 2
            assert b"cannot connect" in out.stderr
            assert out.stdout == b""
    finally:
        redis.kill()
        redis.wait()


@needs_redis
def test_a_frozen_redis_fails_within_the_deadline_and_recovers():
    port = free_port()
    redis = start_redis(port)
    store = "redis://127.0.0.1:%d" % port
    try:
        # a long-running masker: the proxy, frozen store under it
        stub = Stub()
        proxy = Proxy(stub.url, "--store", store)
        c = anthropic.Anthropic(base_url=proxy.url, api_key="k", max_retries=0, timeout=60)
        ask = lambda text: c.messages.create(  # noqa: E731
            model="stub-model", max_tokens=1, messages=[{"role": "user", "content": text}])
        assert ask(QUESTION).content[0].text == "You said: " + QUESTION
        os.kill(redis.pid, signal.SIGSTOP)
        started = time.monotonic()
        before = stub.count()
        with pytest.raises(anthropic.APIStatusError) as err:
            ask("and i-0fedcba9876543210?")
        assert err.value.status_code == 503
        assert time.monotonic() - started < 20
        assert stub.count() == before
        os.kill(redis.pid, signal.SIGCONT)
        for _ in range(50):
            try:
                msg = ask("and i-0fedcba9876543210?")
                break
            except anthropic.APIStatusError:
                time.sleep(0.2)
        assert msg.content[0].text == "You said: and i-0fedcba9876543210?"
        # the mapping made before the freeze was not lost
        assert ask(QUESTION).content[0].text == "You said: " + QUESTION
        assert proxy.stop() == 0
        stub.close()
    finally:
        os.kill(redis.pid, signal.SIGCONT)
        redis.kill()
        redis.wait()


def test_a_locked_vault_is_waited_for_then_used(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path)}
    first = awsmask(["mask"], TEXT, env)
    assert first.returncode == 0, first.stderr
    vault = tmp_path / "awsmask" / "vault.db"
    db = sqlite3.connect(vault, isolation_level=None, timeout=1, check_same_thread=False)
    db.execute("BEGIN EXCLUSIVE")
    threading.Timer(2.0, db.rollback).start()
    new = b"subnet-0123456789abcdef0 and sg-0123456789abcdef0\n"
    out = awsmask(["mask"], new, env)
    assert out.returncode == 0, out.stderr
    back = awsmask(["unmask"], first.stdout + out.stdout, env)
    assert back.stdout == TEXT + new


def test_a_vault_locked_for_good_is_a_clear_error(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path)}
    assert awsmask(["mask"], TEXT, env).returncode == 0
    db = sqlite3.connect(tmp_path / "awsmask" / "vault.db", isolation_level=None, timeout=1)
    db.execute("BEGIN EXCLUSIVE")
    try:
        out = awsmask(["mask"], b"subnet-0123456789abcdef0\n", env, timeout=120)
        assert out.returncode == 2
        assert b"locked" in out.stderr or b"busy" in out.stderr, out.stderr
        assert b"subnet-0123456789abcdef0" not in out.stdout + out.stderr
    finally:
        db.rollback()


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.mark.skipif(not can_mount(), reason="needs root to mount a small tmpfs")
def test_a_vault_on_a_full_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        env = {"XDG_DATA_HOME": str(disk)}
        first = awsmask(["mask"], TEXT, env)
        assert first.returncode == 0, first.stderr
        # fill the disk
        filler = disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        many = b"".join(b"i-%017x is down\n" % (0x10000 + k) for k in range(20000))
        out = awsmask(["mask"], many, env)
        assert out.returncode == 2
        assert out.stderr.startswith(b"awsmask: error:"), out.stderr
        # nothing past the last fully masked point: no value at all in what was written
        assert b"i-00000000000" not in out.stdout
        # unmasking needs to write too (it refreshes the TTL of what it uses): on a full disk
        # it answers exactly or fails clearly
        back = awsmask(["unmask"], first.stdout, env)
        assert (back.returncode, back.stdout) in ((0, TEXT), (2, b"")), back
        # room again: service is back, the mappings made before the disk filled are there,
        # and a new run is exact
        filler.unlink()
        assert awsmask(["unmask"], first.stdout, env).stdout == TEXT
        some = b"".join(many.splitlines(keepends=True)[:2000])
        out = awsmask(["mask"], some, env)
        assert out.returncode == 0, out.stderr
        assert awsmask(["unmask"], out.stdout, env).stdout == some
    finally:
        subprocess.run(["umount", str(disk)])


def test_a_corrupted_vault_file_is_a_clear_error_and_is_kept(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path)}
    assert awsmask(["mask"], TEXT, env).returncode == 0
    vault = tmp_path / "awsmask" / "vault.db"
    garbage = os.urandom(64 * 1024)
    vault.write_bytes(garbage)
    for cmd in (["mask"], ["unmask"]):
        out = awsmask(cmd, b"subnet-0123456789abcdef0 AWS_EC2_7KQ2XM\n", env)
        assert out.returncode == 2, out.stderr
        assert b"not a usable vault" in out.stderr, out.stderr
        assert out.stdout == b""
        assert b"subnet-0123456789abcdef0" not in out.stderr
    # the damaged file is left for its owner, not replaced by an empty vault
    assert vault.read_bytes() == garbage


def test_a_tampered_mapping_fails_closed(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path)}
    masked = awsmask(["mask"], TEXT, env)
    assert masked.returncode == 0, masked.stderr
    db = sqlite3.connect(tmp_path / "awsmask" / "vault.db")
    token, sealed = db.execute("SELECT token, sealed FROM awsmask_mappings LIMIT 1").fetchone()
    db.execute(
        "UPDATE awsmask_mappings SET sealed = ? WHERE token = ?",
        (sealed[:-1] + bytes([sealed[-1] ^ 1]), token),
    )
    db.commit()
    db.close()
    out = awsmask(["unmask"], masked.stdout, env)
    # not the token left in place as if it were unknown: the mapping is lost, and that is said
    assert out.returncode == 2
    assert b"fails authentication" in out.stderr and token.encode() in out.stderr, out.stderr
    assert out.stdout == b""
