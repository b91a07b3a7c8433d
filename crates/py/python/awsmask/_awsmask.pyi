"""Type stubs of the compiled extension."""

from os import PathLike
from typing import Dict, List, Optional, Sequence, Tuple, Union, final

from typing_extensions import disjoint_base

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

__version__: str

class AwsmaskError(Exception):
    """Base class of every awsmask error."""

class ConfigError(AwsmaskError):
    """Invalid settings: a store URL, a key, a kind name, a pattern."""

class StoreError(AwsmaskError):
    """The mapping store failed, timed out or is full."""

class InputError(AwsmaskError):
    """Input that cannot be processed."""

@final
class Finding:
    """An identifier found by `Masker.scan`, with code-point offsets."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def value(self) -> Optional[str]: ...

@final
class StreamUnmasker:
    """Unmasks an answer that arrives in pieces."""

    def push(self, chunk: str, /) -> str: ...
    def finish(self) -> str: ...

@final
class SseUnmasker:
    """Unmasks a streamed Messages API answer, fed the raw bytes of its server-sent events."""

    def push(self, chunk: bytes, /) -> bytes: ...
    def finish(self) -> bytes: ...

@disjoint_base
class Masker:
    """Masks and unmasks text."""

    def __new__(
        cls,
        store: str = "memory",
        *,
        namespace: str = "default",
        key: Optional[Union[bytes, str]] = None,
        kinds: Optional[Sequence[str]] = None,
        allow: Optional[Sequence[str]] = None,
        ttl: Optional[float] = None,
        tls_ca_file: Optional[Union[str, PathLike[str]]] = None,
        previous_keys: Optional[Sequence[Union[bytes, str]]] = None,
    ) -> "Masker": ...
    def mask(self, text: str, /) -> str: ...
    def mask_detailed(self, text: str, /) -> Tuple[str, Dict[str, int]]: ...
    def unmask(self, text: str, /) -> str: ...
    def scan(self, text: str, /, *, with_values: bool = False) -> List[Finding]: ...
    def mask_request_json(self, body: str, /) -> str: ...
    def unmask_response_json(self, body: str, /) -> str: ...
    def sse_unmasker(self) -> SseUnmasker: ...
    def stream_unmasker(self) -> StreamUnmasker: ...

def kinds() -> List[Tuple[str, str, bool, str]]: ...
