"""End to end: the official `anthropic` SDK -> `awsmask proxy` -> a stub Messages API.

The client must see the real values; the stub must never receive one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import anthropic
import httpx
import pytest

from stub import Stub

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AWSMASK_BIN", str(ROOT / "target" / "debug" / "awsmask"))
KEY = "5a" * 32

IDS = ["i-0123456789abcdef0", "vpc-0a1b2c3d", "123456789012", "sg-0123456789abcdef0",
       "arn:aws:iam::123456789012:role/deploy", "10.0.1.23"]
QUESTION = ("Why can't i-0123456789abcdef0 in vpc-0a1b2c3d (account 123456789012) reach "
            "10.0.1.23? It assumes arn:aws:iam::123456789012:role/deploy.")


class Proxy:
    """`awsmask proxy` on a free port, its log lines collected."""

    def __init__(self, upstream: str, *args: str) -> None:
        env = dict(os.environ, AWSMASK_KEY=KEY)
        self.proc = subprocess.Popen(
            [BIN, "proxy", "--listen", "127.0.0.1:0", "--upstream", upstream, *args],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True)
        assert self.proc.stderr is not None
        first = json.loads(self.proc.stderr.readline())
        assert first["event"] == "listening", first
        self.url = "http://" + first["addr"]
        self.logs: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.logs.append(line)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self.reader.join(timeout=5)
        return code


@pytest.fixture(scope="module")
def stub():
    s = Stub()
    yield s
    s.close()


@pytest.fixture(scope="module")
def proxy(stub):
    p = Proxy(stub.url, "--store", "memory", "--namespace-header")
    yield p
    assert p.stop() == 0
    # every log line is JSON and holds no value
    for line in p.logs:
        json.loads(line)
        for v in IDS:
            assert v not in line


@pytest.fixture()
def client(proxy):
    return anthropic.Anthropic(base_url=proxy.url, api_key="sk-test", max_retries=0)


def last_body(stub: Stub) -> bytes:
    return stub.received[-1]["body"]


def assert_masked(raw: bytes) -> None:
    text = raw.decode()
    for v in IDS:
        assert v not in text, v
    assert "AWS_EC2_" in text


def test_a_plain_request_round_trips(client, stub):
    msg = client.messages.create(model="stub-model", max_tokens=100,
                                 messages=[{"role": "user", "content": QUESTION}])
    assert msg.content[0].text == "You said: " + QUESTION
    assert_masked(last_body(stub))
    # headers pass through
    headers = stub.received[-1]["headers"]
    assert "sk-test" in (headers.get("x-api-key", ""), headers.get("authorization", "")[7:])
    assert "anthropic-version" in headers
    assert headers["accept-encoding"] == "identity"


def test_a_streamed_answer_round_trips(client, stub):
    with client.messages.stream(model="stub-model", max_tokens=100,
                                messages=[{"role": "user", "content": QUESTION}]) as s:
        pieces = list(s.text_stream)
        final = s.get_final_message()
    assert "".join(pieces) == "You said: " + QUESTION
    assert final.content[0].text == "You said: " + QUESTION
    assert len(pieces) > 10, "the answer arrived in many deltas"
    assert_masked(last_body(stub))


def test_the_first_text_is_not_held_back(client, stub):
    # the stub sends its first text, then waits until the client has seen it
    stub.gate = threading.Event()
    with client.messages.stream(model="stub-model", max_tokens=100,
                                messages=[{"role": "user", "content": QUESTION}]) as s:
        gate = stub.gate
        for text in s.text_stream:
            assert text
            gate.set()
    assert stub.gate_opened, "the proxy held the answer back"


@pytest.mark.parametrize("stream", [False, True])
def test_tool_use_round_trips(client, stub, stream):
    tools = [{"name": "aws", "description": "Runs the AWS CLI against vpc-0a1b2c3d",
              "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]
    first = [{"role": "user", "content": "USE_TOOL on " + QUESTION}]
    if stream:
        with client.messages.stream(model="stub-model", max_tokens=100, tools=tools, messages=first) as s:
            msg = s.get_final_message()
    else:
        msg = client.messages.create(model="stub-model", max_tokens=100, tools=tools, messages=first)
    assert_masked(last_body(stub))
    assert "vpc-0a1b2c3d" not in last_body(stub).decode()
    use = next(b for b in msg.content if b.type == "tool_use")
    assert use.input["command"] == "USE_TOOL on " + QUESTION
    assert "i-0123456789abcdef0" in use.input["targets"] or any(
        "i-0123456789abcdef0" in t for t in use.input["targets"])
    # the tool's result goes back with identifiers of its own
    second = first + [
        {"role": "assistant", "content": [b.model_dump() for b in msg.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                      "content": "GroupId sg-0123456789abcdef0 allows 10.0.1.23"}]}]
    msg2 = client.messages.create(model="stub-model", max_tokens=100, tools=tools, messages=second)
    sent = last_body(stub)
    assert_masked(sent)
    assert msg2.content[0].text == "You said: GroupId sg-0123456789abcdef0 allows 10.0.1.23"


def test_thinking_blocks_pass_byte_for_byte(proxy, stub):
    block = ('{"type": "thinking", "thinking": "Is i-0123456789abcdef0 in\\u0020vpc-0a1b2c3d?",'
             ' "signature": "EqQBCkYIBhgCIkD+/="}')
    body = ('{"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi i-0123456789abcdef0"},'
            ' {"role": "assistant", "content": [' + block + ', {"type": "text", "text": "ok"}]},'
            ' {"role": "user", "content": "and vpc-0a1b2c3d?"}], "thinking": {"type": "enabled", "budget_tokens": 1024}}')
    r = httpx.post(proxy.url + "/v1/messages", content=body.encode(),
                   headers={"content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01"})
    assert r.status_code == 200
    sent = last_body(stub).decode()
    assert block in sent
    # outside the thinking block nothing is left
    outside = sent.replace(block, "")
    assert "i-0123456789abcdef0" not in outside and "vpc-0a1b2c3d" not in outside
    # the stub's thinking block (holding tokens) comes back untouched, its text unmasked
    answer = r.json()
    assert answer["content"][0]["type"] == "thinking"
    assert "AWS_VPC_" in answer["content"][0]["thinking"]
    assert answer["content"][1]["text"] == "You said: and vpc-0a1b2c3d?"


def test_malformed_json_is_refused_and_not_forwarded(proxy, stub):
    before = stub.count()
    for bad in (b'{"messages": [{"role": "user", "content": "i-0123456789abcdef0"}',
                b"\xff\xfe not utf-8", b'["i-0123456789abcdef0"]'):
        r = httpx.post(proxy.url + "/v1/messages", content=bad,
                       headers={"content-type": "application/json"})
        assert r.status_code == 400
        err = r.json()
        assert err["type"] == "error" and err["error"]["type"] == "invalid_request_error"
        assert "i-0123456789abcdef0" not in r.text
    assert stub.count() == before


def test_a_body_over_the_limit_is_refused(stub):
    p = Proxy(stub.url, "--store", "memory", "--max-body-bytes", "1000")
    try:
        before = stub.count()
        body = json.dumps({"model": "m", "max_tokens": 1,
                           "messages": [{"role": "user", "content": "x" * 2000}]})
        r = httpx.post(p.url + "/v1/messages", content=body)
        assert r.status_code == 413
        assert r.json()["error"]["type"] == "request_too_large"
        assert stub.count() == before
    finally:
        assert p.stop() == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port: int, *args: str) -> subprocess.Popen:
    """A redis-server of its own on 127.0.0.1:`port` (TLS on that port when `args` give a
    certificate), once it accepts connections."""
    ports = ["--port", "0", "--tls-port", str(port)] if "--tls-cert-file" in args else ["--port", str(port)]
    proc = subprocess.Popen(["redis-server", *ports, "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", *args], stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_a_store_that_is_down_gives_503_and_sends_nothing(stub):
    port = free_port()
    redis = start_redis(port)
    p = Proxy(stub.url, "--store", "redis://127.0.0.1:%d" % port)
    try:
        c = anthropic.Anthropic(base_url=p.url, api_key="k", max_retries=0)
        ask = [{"role": "user", "content": QUESTION}]
        assert c.messages.create(model="stub-model", max_tokens=10, messages=ask).content[0].text \
            == "You said: " + QUESTION
        redis.kill()
        redis.wait()
        before = stub.count()
        # a value it has not masked before needs the store
        fresh = [{"role": "user", "content": "and i-0fedcba9876543210?"}]
        with pytest.raises(anthropic.APIStatusError) as err:
            c.messages.create(model="stub-model", max_tokens=10, messages=fresh)
        assert err.value.status_code == 503
        assert err.value.body["error"]["type"] == "api_error"
        assert "0fedcba9876543210" not in str(err.value)
        assert stub.count() == before
        # a body with nothing to mask needs no store, and goes through
        msg = c.messages.create(model="stub-model", max_tokens=10,
                                messages=[{"role": "user", "content": "hello"}])
        assert msg.content[0].text == "You said: hello"
        # the store is back: so is the service
        redis = start_redis(port)
        for _ in range(50):
            try:
                msg = c.messages.create(model="stub-model", max_tokens=10, messages=fresh)
                break
            except anthropic.APIStatusError:
                time.sleep(0.2)
        assert msg.content[0].text == "You said: and i-0fedcba9876543210?"
    finally:
        assert p.stop() == 0
        redis.kill()
        redis.wait()


def test_a_dead_store_at_start_is_a_clear_error(stub):
    proc = subprocess.run([BIN, "proxy", "--listen", "127.0.0.1:0", "--upstream", stub.url,
                           "--store", "redis://127.0.0.1:%d" % free_port()],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ, AWSMASK_KEY=KEY))
    assert proc.returncode == 2
    assert "cannot connect" in proc.stderr


def test_other_routes_pass_through(client, proxy, stub):
    models = client.models.list()
    assert models.data[0].id == "stub-model"
    assert stub.received[-1]["path"].startswith("/v1/models")
    count = client.messages.count_tokens(model="stub-model", messages=[{"role": "user", "content": QUESTION}])
    assert count.input_tokens > 0
    assert_masked(last_body(stub))
    assert httpx.get(proxy.url + "/healthz").json() == {"status": "ok"}


def test_a_body_to_another_route_is_refused_unless_asked(client, proxy, stub):
    batch = [{"custom_id": "a", "params": {"model": "m", "max_tokens": 1,
                                           "messages": [{"role": "user", "content": QUESTION}]}}]
    before = stub.count()
    # Message Batches carry messages this proxy does not mask: refused, as the SDK reports it
    with pytest.raises(anthropic.PermissionDeniedError, match="would leave unmasked"):
        client.messages.batches.create(requests=batch)
    for path in ("/v1/messages/", "/v1/complete", "/v1/messages/batches?x=1"):
        r = httpx.post(proxy.url + path, json={"prompt": QUESTION})
        assert r.status_code == 403, path
        assert r.json()["error"]["type"] == "permission_error"
    # a body of unknown length (chunked) counts as a body
    r = httpx.post(proxy.url + "/v1/files", content=iter([QUESTION.encode()]))
    assert r.status_code == 403
    assert stub.count() == before
    assert any('"refused":"unmasked_body"' in line for line in proxy.logs)
    # without a body a request passes
    r = httpx.post(proxy.url + "/v1/messages/batches/b1/cancel")
    assert r.status_code == 200
    assert stub.received[-1]["path"] == "/v1/messages/batches/b1/cancel"
    assert stub.received[-1]["body"] == b""
    # --pass-unmasked forwards such a body as it is
    p = Proxy(stub.url, "--store", "memory", "--pass-unmasked")
    try:
        r = httpx.post(p.url + "/v1/messages/batches", json={"requests": batch})
        assert r.status_code == 200
        assert json.loads(last_body(stub)) == {"requests": batch}
    finally:
        assert p.stop() == 0


def test_namespaces_from_a_header(proxy, stub):
    def send(ns: str) -> str:
        r = httpx.post(proxy.url + "/v1/messages", headers={"x-awsmask-namespace": ns},
                       json={"model": "m", "max_tokens": 1,
                             "messages": [{"role": "user", "content": "i-0123456789abcdef0"}]})
        assert r.status_code == 200
        assert r.json()["content"][0]["text"] == "You said: i-0123456789abcdef0"
        assert "x-awsmask-namespace" not in {k.lower() for k in stub.received[-1]["headers"]}
        return json.loads(last_body(stub))["messages"][0]["content"]

    a, b, a2 = send("tenant-a"), send("tenant-b"), send("tenant-a")
    assert a == a2 and a != b


def test_sigterm_lets_the_answer_in_flight_finish(stub):
    p = Proxy(stub.url, "--store", "memory")
    c = anthropic.Anthropic(base_url=p.url, api_key="k", max_retries=0)
    stub.gate = threading.Event()
    gate = stub.gate
    texts = []
    with c.messages.stream(model="stub-model", max_tokens=100,
                           messages=[{"role": "user", "content": QUESTION}]) as s:
        for text in s.text_stream:
            if not texts:
                # mid-answer: ask the proxy to stop, then let the stub go on
                p.proc.send_signal(signal.SIGTERM)
                time.sleep(0.2)
                gate.set()
            texts.append(text)
    assert "".join(texts) == "You said: " + QUESTION
    assert p.proc.wait(timeout=30) == 0
    p.reader.join(timeout=5)
    assert any('"shutting_down"' in line for line in p.logs)
    with pytest.raises(httpx.ConnectError):
        httpx.get(p.url + "/healthz")


def make_certs(d: Path, days: int = 2) -> tuple[Path, Path, Path]:
    """A CA, and a certificate for 127.0.0.1 that it signed, valid for `days` (-1: expired
    yesterday): (ca, cert, key)."""
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
    run("req", "-x509", "-new", "-key", "ca.key", "-days", "2", "-subj", "/CN=e2e CA", "-out", "ca.crt")
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key")
    run("req", "-new", "-key", "server.key", "-subj", "/CN=localhost", "-out", "server.csr")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", str(days), "-extfile", "san.ext", "-out", "server.crt")
    return d / "ca.crt", d / "server.crt", d / "server.key"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_a_tls_upstream_is_verified(tmp_path):
    ca, cert, key = make_certs(tmp_path)
    tls_stub = Stub(tls=(str(cert), str(key)))
    trusted = Proxy(tls_stub.url, "--store", "memory", "--upstream-ca-file", str(ca))
    untrusted = Proxy(tls_stub.url, "--store", "memory")
    try:
        c = anthropic.Anthropic(base_url=trusted.url, api_key="k", max_retries=0)
        msg = c.messages.create(model="stub-model", max_tokens=10,
                                messages=[{"role": "user", "content": QUESTION}])
        assert msg.content[0].text == "You said: " + QUESTION
        assert_masked(last_body(tls_stub))
        # a certificate the system does not trust: refused, never sent in the clear
        before = tls_stub.count()
        bad = anthropic.Anthropic(base_url=untrusted.url, api_key="k", max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as err:
            bad.messages.create(model="stub-model", max_tokens=10,
                                messages=[{"role": "user", "content": QUESTION}])
        assert err.value.status_code == 502
        assert tls_stub.count() == before
    finally:
        assert trusted.stop() == 0
        assert untrusted.stop() == 0
        tls_stub.close()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_a_store_lost_while_answering_ends_the_stream_with_an_error_event(stub):
    port = free_port()
    redis = start_redis(port)
    store = "redis://127.0.0.1:%d" % port
    first, second = Proxy(stub.url, "--store", store), Proxy(stub.url, "--store", store)
    try:
        # tokens made by one proxy; the other knows them only through the store
        c1 = anthropic.Anthropic(base_url=first.url, api_key="k", max_retries=0)
        c1.messages.create(model="stub-model", max_tokens=1,
                           messages=[{"role": "user", "content": QUESTION}])
        masked = json.loads(last_body(stub))["messages"][0]["content"]
        stub.answer_text = masked
        c2 = anthropic.Anthropic(base_url=second.url, api_key="k", max_retries=0)
        # with the store up, the second proxy restores them
        msg = c2.messages.create(model="stub-model", max_tokens=1,
                                 messages=[{"role": "user", "content": "hello"}])
        assert msg.content[0].text == QUESTION
        # a third proxy, fresh cache, store gone: the stream ends with an error event
        third = Proxy(stub.url, "--store", store)
        redis.kill()
        redis.wait()
        r = httpx.post(third.url + "/v1/messages", timeout=60,
                       json={"model": "stub-model", "max_tokens": 1, "stream": True,
                             "messages": [{"role": "user", "content": "hello"}]})
        assert r.status_code == 200
        assert "event: error" in r.text
        assert '"type":"api_error"' in r.text
        for v in IDS:
            assert v not in r.text
        assert third.stop() == 0
    finally:
        stub.answer_text = None
        assert first.stop() == 0
        assert second.stop() == 0
        redis.kill()
        redis.wait()
