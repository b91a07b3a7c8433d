"""In process: the official `anthropic` SDK with awsmask's httpx transport -> a stub API."""

from __future__ import annotations

import asyncio
import shutil

import anthropic
import pytest

from awsmask import InputError, Masker, StoreError

try:  # the HTTP module the installed SDK uses, as awsmask.transport picks it
    import httpx2 as httpx
except ImportError:  # older SDKs
    import httpx  # type: ignore[no-redef]
from awsmask.transport import AsyncMaskingTransport, MaskingTransport
from stub import Stub
from test_proxy import QUESTION, assert_masked, free_port, last_body, start_redis


@pytest.fixture(scope="module")
def stub():
    s = Stub()
    yield s
    s.close()


def sync_client(stub: Stub, masker: Masker) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=stub.url, api_key="k", max_retries=0,
                               http_client=httpx.Client(transport=MaskingTransport(masker)))


def test_sync_create_stream_and_tools(stub):
    client = sync_client(stub, Masker())
    msg = client.messages.create(model="stub-model", max_tokens=10,
                                 messages=[{"role": "user", "content": QUESTION}])
    assert msg.content[0].text == "You said: " + QUESTION
    assert_masked(last_body(stub))
    with client.messages.stream(model="stub-model", max_tokens=10,
                                messages=[{"role": "user", "content": QUESTION}]) as s:
        assert "".join(s.text_stream) == "You said: " + QUESTION
    assert_masked(last_body(stub))
    tools = [{"name": "aws", "description": "AWS CLI",
              "input_schema": {"type": "object", "properties": {}}}]
    with client.messages.stream(model="stub-model", max_tokens=10, tools=tools,
                                messages=[{"role": "user", "content": "USE_TOOL " + QUESTION}]) as s:
        final = s.get_final_message()
    use = next(b for b in final.content if b.type == "tool_use")
    assert use.input["command"] == "USE_TOOL " + QUESTION
    # other routes pass untouched
    assert client.models.list().data[0].id == "stub-model"


def test_async_create_and_stream(stub):
    async def run() -> None:
        client = anthropic.AsyncAnthropic(
            base_url=stub.url, api_key="k", max_retries=0,
            http_client=httpx.AsyncClient(transport=AsyncMaskingTransport(Masker())))
        msg = await client.messages.create(model="stub-model", max_tokens=10,
                                           messages=[{"role": "user", "content": QUESTION}])
        assert msg.content[0].text == "You said: " + QUESTION
        assert_masked(last_body(stub))
        async with client.messages.stream(model="stub-model", max_tokens=10,
                                          messages=[{"role": "user", "content": QUESTION}]) as s:
            text = "".join([t async for t in s.text_stream])
        assert text == "You said: " + QUESTION
        assert_masked(last_body(stub))

    asyncio.run(run())


def test_a_body_to_another_route_is_refused_unless_asked(stub):
    batch = [{"custom_id": "a", "params": {"model": "m", "max_tokens": 1,
                                           "messages": [{"role": "user", "content": QUESTION}]}}]
    before = stub.count()
    # Message Batches carry messages the transport does not mask
    with pytest.raises(anthropic.APIConnectionError) as err:
        sync_client(stub, Masker()).messages.batches.create(requests=batch)
    assert isinstance(err.value.__cause__, InputError)
    assert "would leave unmasked" in str(err.value.__cause__)
    plain = httpx.Client(transport=MaskingTransport(Masker()))
    # a body of unknown length (chunked) counts as a body
    with pytest.raises(InputError):
        plain.post(stub.url + "/v1/files", content=iter([QUESTION.encode()]))

    async def refused() -> None:
        async with httpx.AsyncClient(transport=AsyncMaskingTransport(Masker())) as c:
            with pytest.raises(InputError):
                await c.post(stub.url + "/v1/messages/batches", json={"requests": batch})

    asyncio.run(refused())
    assert stub.count() == before
    # without a body a request passes
    assert plain.post(stub.url + "/v1/messages/batches/b1/cancel").status_code == 200
    assert stub.received[-1]["path"] == "/v1/messages/batches/b1/cancel"
    # pass_unmasked=True forwards such a body as it is
    passing = httpx.Client(transport=MaskingTransport(Masker(), pass_unmasked=True))
    assert passing.post(stub.url + "/v1/messages/batches", json={"requests": batch}).status_code == 200
    assert last_body(stub).decode().count("i-0123456789abcdef0") == 1


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_a_failing_store_sends_nothing(stub):
    port = free_port()
    redis = start_redis(port)
    try:
        client = sync_client(stub, Masker("redis://127.0.0.1:%d" % port))
        redis.kill()
        redis.wait()
        before = stub.count()
        # the SDK wraps what its transport raises
        with pytest.raises(anthropic.APIConnectionError) as err:
            client.messages.create(model="stub-model", max_tokens=10,
                                   messages=[{"role": "user", "content": QUESTION}])
        assert isinstance(err.value.__cause__, StoreError)
        assert "i-0123456789abcdef0" not in str(err.value.__cause__)
        assert stub.count() == before
    finally:
        redis.kill()
        redis.wait()
