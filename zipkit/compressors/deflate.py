"""DEFLATE through the standard library's zlib: containers zlib, gzip and raw.

Exact contexts (the size of prefix+suffix equal to one-shot compression byte for byte)
come from zipkit's numba model of zlib's parse and block sizes (``exact_deflate``): a
query parses the suffix against the held window and sizes the pending block from its
symbol frequencies. Where that engine does not apply (other window or memory options,
level 0, a zlib it disagrees with), a context copies a running zlib stream
(``compressobj().copy()``), also exact, but each query encodes the pending block again
(~100 µs at level 9). The "flushed" conditional context sync-flushes the prefix first so
a query encodes the suffix alone, at the price of a few bytes of flush marker and of
sizes that are those of a slightly different stream.
"""

from __future__ import annotations

import os
import sys
import zlib

from .base import CONDITIONAL, EXACT, Compressor, Context, OptionSpec
from .exact_deflate import EngineContext, available

# zlib.compress takes wbits from Python 3.11 on.
_ONE_SHOT_WBITS = sys.version_info >= (3, 11)
# The wbits offset that selects each container (see zlib.compressobj).
_CONTAINER_WBITS = {"zlib": 0, "gzip": 16}
_OPTIONS = {
    "window": OptionSpec(15, 9, 15, "log2 of the history window (32 KiB at 15)"),
    "memlevel": OptionSpec(8, 1, 9, "memory for the match state; 8 is zlib's default"),
}


class Deflate(Compressor):
    """Raw DEFLATE, no container."""

    name = "deflate"
    library = "zlib"
    levels = range(0, 10)
    default_level = 6
    option_specs = _OPTIONS
    default_exactness = EXACT
    container = "raw"

    @property
    def _wbits(self) -> int:
        window = self.option("window")
        if self.container == "raw":
            return -window
        return window + _CONTAINER_WBITS[self.container]

    def _stream(self) -> "zlib._Compress":
        return zlib.compressobj(self.level, zlib.DEFLATED, self._wbits, self.option("memlevel"))

    def compress(self, data: bytes) -> bytes:
        # One call instead of a stream object: same bytes, less overhead on small items.
        if _ONE_SHOT_WBITS and self.option("memlevel") == 8:
            return zlib.compress(data, self.level, self._wbits)
        stream = self._stream()
        return stream.compress(data) + stream.flush()

    def decompress(self, data: bytes) -> bytes:
        return zlib.decompress(data, self._wbits)

    def context(self, prefix: bytes = b"", exact: bool | None = None) -> Context:
        if exact is False:
            return FlushedContext(self._stream(), prefix)
        if self._engine_applies():
            return EngineContext(self.level, self.container, prefix)
        return StreamCopyContext(self._stream(), prefix)

    def _engine_applies(self) -> bool:
        """The numba size engine models zlib's defaults (32 KiB window, memLevel 8) at levels
        1-9, where it agrees with this process's zlib (``exact_deflate.available``);
        ``ZIPKIT_DEFLATE_ENGINE=off`` keeps the stream copies."""
        if os.environ.get("ZIPKIT_DEFLATE_ENGINE", "on").lower() in ("off", "0", "no"):
            return False
        if self.option("window") != 15 or self.option("memlevel") != 8:
            return False
        return available(self.level)


class Zlib(Deflate):
    """DEFLATE in the zlib container (2-byte header, Adler-32 trailer): what ZIP's authors measure."""

    name = "zlib"
    container = "zlib"


class Gzip(Deflate):
    """DEFLATE in the gzip container (10-byte header, 8-byte trailer): raw size + 18."""

    name = "gzip"
    container = "gzip"


class StreamCopyContext:
    """Exact: a compressor fed the prefix, copied for every query."""

    exactness = EXACT

    def __init__(self, stream: "zlib._Compress", prefix: bytes = b"") -> None:
        self._stream = stream
        self._emitted = len(stream.compress(prefix))

    def size_with(self, suffix: bytes) -> int:
        """Finish a copy of the running stream with ``suffix``: the exact size."""
        probe = self._stream.copy()
        return self._emitted + len(probe.compress(suffix)) + len(probe.flush())

    def extend(self, data: bytes) -> None:
        """Feed ``data`` to the running stream."""
        self._emitted += len(self._stream.compress(data))

    def fork(self) -> "StreamCopyContext":
        """An independent copy of the running stream."""
        twin = object.__new__(type(self))
        twin._stream = self._stream.copy()
        twin._emitted = self._emitted
        return twin


class FlushedContext(StreamCopyContext):
    """Conditional: the prefix is sync-flushed, so a query encodes only the suffix's blocks.

    Sizes are exact for the stream "prefix, sync flush, suffix", which is a few bytes
    longer than one-shot compression; every ``extend`` adds a flush point.
    """

    exactness = CONDITIONAL

    def __init__(self, stream: "zlib._Compress", prefix: bytes = b"") -> None:
        super().__init__(stream, b"")
        if prefix:
            self.extend(prefix)

    def extend(self, data: bytes) -> None:
        """Feed ``data`` and sync-flush, so that a query encodes only its suffix."""
        self._emitted += len(self._stream.compress(data)) + len(self._stream.flush(zlib.Z_SYNC_FLUSH))
