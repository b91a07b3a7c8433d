"""Keep AWS identifiers out of text sent to large language models, and put them back.

>>> from awsmask import Masker
>>> masker = Masker()
>>> masked = masker.mask("instance i-0123456789abcdef0 is down")
>>> masker.unmask(masked)
'instance i-0123456789abcdef0 is down'
"""

from __future__ import annotations

import asyncio
import functools
from typing import Dict, Tuple

from ._awsmask import (
    AwsmaskError,
    ConfigError,
    Finding,
    InputError,
    SseUnmasker,
    StoreError,
    StreamUnmasker,
    __version__,
    kinds,
)
from ._awsmask import Masker as _Masker

__all__ = [
    "AwsmaskError",
    "ConfigError",
    "Finding",
    "InputError",
    "Masker",
    "SseUnmasker",
    "StoreError",
    "StreamUnmasker",
    "__version__",
    "kinds",
]


class Masker(_Masker):
    """Masks and unmasks text; safe to share between threads.

    ``Masker(store="memory", *, namespace="default", key=None, kinds=None, allow=None,
    ttl=None, tls_ca_file=None, previous_keys=None)``: ``store`` is ``memory``, ``file:PATH``, ``redis://...``,
    ``rediss://...``, ``redis+cluster://...`` or ``rediss+cluster://...``; ``key`` is 32 bytes
    or 64 hexadecimal digits (a random key when ``None``); ``kinds`` limits detection to these
    kind names; ``allow`` lists values never masked; ``ttl`` is in seconds; ``previous_keys``
    are master keys rotated out, newest first (their tokens still unmask).
    """

    async def amask(self, text: str, /) -> str:
        """Like :meth:`mask`, in the event loop's thread pool: the loop never blocks."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(self.mask, text))

    async def amask_detailed(self, text: str, /) -> Tuple[str, Dict[str, int]]:
        """Like :meth:`mask_detailed`, in the event loop's thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(self.mask_detailed, text))

    async def aunmask(self, text: str, /) -> str:
        """Like :meth:`unmask`, in the event loop's thread pool: the loop never blocks."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(self.unmask, text))

    async def amask_request_json(self, body: str, /) -> str:
        """Like :meth:`mask_request_json`, in the event loop's thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(self.mask_request_json, body))

    async def aunmask_response_json(self, body: str, /) -> str:
        """Like :meth:`unmask_response_json`, in the event loop's thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(self.unmask_response_json, body))
