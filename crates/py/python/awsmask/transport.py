"""httpx transports that mask Claude Messages API requests and unmask the answers, in process.

The official ``anthropic`` SDK sends its requests through an ``httpx`` client; give it one
with a masking transport and every ``messages.create``, ``messages.stream`` and
``messages.count_tokens`` call leaves with its AWS identifiers masked, while the answers
(streamed ones event by event) come back with the real values::

    import anthropic, httpx
    from awsmask import Masker
    from awsmask.transport import MaskingTransport

    masker = Masker("file:/var/lib/awsmask/vault.db")
    client = anthropic.Anthropic(http_client=httpx.Client(transport=MaskingTransport(masker)))

``AsyncMaskingTransport`` does the same for ``anthropic.AsyncAnthropic`` and
``httpx.AsyncClient``; its store calls run in the event loop's thread pool.

Recent ``anthropic`` releases use ``httpx2`` (a fork of ``httpx`` with the same API) and
refuse ``httpx`` objects: the two classes here are built for ``httpx2`` when it is installed,
else for ``httpx``. ``transports(module)`` builds them for the module you name::

    import httpx2
    from awsmask.transport import transports
    MaskingTransport, AsyncMaskingTransport = transports(httpx2)

Only ``POST /v1/messages`` and ``/v1/messages/count_tokens`` are masked. Any other request
without a body goes through the wrapped transport as it is; one with a body (Message Batches,
the Files API, ...) would leave unmasked and is refused with :class:`awsmask.InputError`
unless the transport was made with ``pass_unmasked=True``. Failing closed: when masking fails
the request is not sent and the error (an :class:`awsmask.AwsmaskError`) propagates to the
caller.

Requires ``httpx2`` or ``httpx`` (the SDK depends on one of them).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
from types import ModuleType
from typing import Any, AsyncIterator, Iterator, Optional, Tuple

from ._awsmask import InputError, SseUnmasker
from ._awsmask import Masker as _Masker

__all__ = ["AsyncMaskingTransport", "MaskingTransport", "transports"]

_ROUTES = ("/v1/messages", "/v1/messages/count_tokens")


def _is_messages(request: Any) -> bool:
    return bool(request.method == "POST" and request.url.path.rstrip("/").endswith(_ROUTES))


_UNMASKED = ("only the bodies of POST /v1/messages and /v1/messages/count_tokens are masked; "
             "this request's body would leave unmasked, so it was not sent (pass_unmasked=True "
             "forwards such requests as they are)")


def _carries_body(request: Any) -> bool:
    """Whether the request has a body: a length other than 0, or a chunked one."""
    length = request.headers.get("content-length")
    if length is not None:
        return bool(length.strip() != "0")
    return "transfer-encoding" in request.headers


def _check_unmasked(request: Any, pass_unmasked: bool) -> None:
    """Raises for a request that is not a Messages one and would take a body out unmasked."""
    if not pass_unmasked and _carries_body(request):
        raise InputError(_UNMASKED)


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the body is not UTF-8") from None


def _headers_for(response: Any, length: Optional[int]) -> Any:
    headers = response.headers.copy()
    for name in ("content-length", "content-encoding", "transfer-encoding"):
        headers.pop(name, None)
    if length is not None:
        headers["content-length"] = str(length)
    return headers


def _kind(response: Any) -> str:
    """``sse``, ``json`` (a successful JSON answer) or ``other`` (passed on as it is)."""
    ctype = response.headers.get("content-type", "").lower()
    if ctype.startswith("text/event-stream"):
        if response.headers.get("content-encoding", "identity") != "identity":
            raise InputError("the streamed answer is compressed and cannot be unmasked")
        return "sse"
    if response.is_success and ctype.startswith("application/json"):
        return "json"
    return "other"


def transports(http: ModuleType) -> Tuple[Any, Any]:
    """``(MaskingTransport, AsyncMaskingTransport)`` built on the HTTP module ``http``
    (``httpx2`` or ``httpx``)."""

    def rebuilt(request: Any, body: str) -> Any:
        """``request`` with ``body``, asking for an uncompressed answer to unmask."""
        content = body.encode("utf-8")
        headers = request.headers.copy()
        headers["content-length"] = str(len(content))
        headers["accept-encoding"] = "identity"
        return http.Request(request.method, request.url, headers=headers, content=content,
                            extensions=request.extensions)

    def streamed(response: Any, stream: Any) -> Any:
        """``response`` with ``stream`` as its body."""
        return http.Response(response.status_code, headers=_headers_for(response, None),
                             stream=stream, extensions=response.extensions)

    def replaced(response: Any, text: str) -> Any:
        """``response`` with ``text`` as its body."""
        body = text.encode("utf-8")
        return http.Response(response.status_code, headers=_headers_for(response, len(body)),
                             content=body, extensions=response.extensions)

    class UnmaskedStream(http.SyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, sse: SseUnmasker) -> None:
            self._inner = inner
            self._sse = sse

        def __iter__(self) -> Iterator[bytes]:
            for chunk in self._inner:
                out = self._sse.push(chunk)
                if out:
                    yield out
            rest = self._sse.finish()
            if rest:
                yield rest

        def close(self) -> None:
            self._inner.close()

    class MaskingTransport(http.BaseTransport):  # type: ignore[name-defined,misc]
        """Masks Messages API requests and unmasks their answers around another transport
        (by default ``HTTPTransport()``). A request with a body to any other route is refused
        (:class:`awsmask.InputError`, nothing sent) unless ``pass_unmasked`` is true."""

        def __init__(self, masker: _Masker, transport: Any = None, *,
                     pass_unmasked: bool = False) -> None:
            self._masker = masker
            self._inner = transport if transport is not None else http.HTTPTransport()
            self._pass_unmasked = pass_unmasked

        def handle_request(self, request: Any) -> Any:
            if not _is_messages(request):
                _check_unmasked(request, self._pass_unmasked)
                return self._inner.handle_request(request)
            masked = self._masker.mask_request_json(_decode(request.read()))
            response = self._inner.handle_request(rebuilt(request, masked))
            kind = _kind(response)
            if kind == "sse":
                return streamed(response,
                                UnmaskedStream(response.stream, self._masker.sse_unmasker()))
            if kind == "json":
                raw = _decode(response.read())
                response.close()
                return replaced(response, self._masker.unmask_response_json(raw))
            return response

        def close(self) -> None:
            self._inner.close()

    class AsyncUnmaskedStream(http.AsyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, sse: SseUnmasker) -> None:
            self._inner = inner
            self._sse = sse

        async def __aiter__(self) -> AsyncIterator[bytes]:
            loop = asyncio.get_running_loop()
            async for chunk in self._inner:
                out = await loop.run_in_executor(None, self._sse.push, chunk)
                if out:
                    yield out
            rest = await loop.run_in_executor(None, self._sse.finish)
            if rest:
                yield rest

        async def aclose(self) -> None:
            await self._inner.aclose()

    class AsyncMaskingTransport(http.AsyncBaseTransport):  # type: ignore[name-defined,misc]
        """The asynchronous twin of ``MaskingTransport`` (by default around
        ``AsyncHTTPTransport()``); store calls run in the event loop's thread pool."""

        def __init__(self, masker: _Masker, transport: Any = None, *,
                     pass_unmasked: bool = False) -> None:
            self._masker = masker
            self._inner = transport if transport is not None else http.AsyncHTTPTransport()
            self._pass_unmasked = pass_unmasked

        async def handle_async_request(self, request: Any) -> Any:
            if not _is_messages(request):
                _check_unmasked(request, self._pass_unmasked)
                return await self._inner.handle_async_request(request)
            loop = asyncio.get_running_loop()
            body = _decode(await request.aread())
            masked = await loop.run_in_executor(None, self._masker.mask_request_json, body)
            response = await self._inner.handle_async_request(rebuilt(request, masked))
            kind = _kind(response)
            if kind == "sse":
                return streamed(response,
                                AsyncUnmaskedStream(response.stream, self._masker.sse_unmasker()))
            if kind == "json":
                raw = _decode(await response.aread())
                await response.aclose()
                text = await loop.run_in_executor(
                    None, functools.partial(self._masker.unmask_response_json, raw))
                return replaced(response, text)
            return response

        async def aclose(self) -> None:
            await self._inner.aclose()

    return MaskingTransport, AsyncMaskingTransport


def _default() -> ModuleType:
    for name in ("httpx2", "httpx"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("awsmask.transport needs httpx2 or httpx")


MaskingTransport, AsyncMaskingTransport = transports(_default())
