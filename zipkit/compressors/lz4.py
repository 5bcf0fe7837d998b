"""LZ4 (fast) and LZ4 HC through ``lz4``.

Sizes are of LZ4 frames (headers included). The block API takes a dictionary and uses
its last 64 KiB (LZ4's window), which is the default context; the frame API takes none.
"""

from __future__ import annotations

import lz4.block
import lz4.frame

from .base import Compressor, HistoryContext, OptionSpec

_WINDOW = 64 * 1024


class Lz4(Compressor):
    """Fast LZ4; the level is the acceleration (1 = best ratio, higher = faster)."""

    name = "lz4"
    library = "lz4"
    levels = range(1, 66)
    default_level = 1
    option_specs = {"history": OptionSpec(_WINDOW, 0, _WINDOW, "bytes of prefix used as dictionary")}

    def compress(self, data: bytes) -> bytes:
        return lz4.frame.compress(data, compression_level=self._frame_level())

    def decompress(self, data: bytes) -> bytes:
        return lz4.frame.decompress(data)

    def _stream(self):
        return _FrameStream(lz4.frame.LZ4FrameCompressor(compression_level=self._frame_level()))

    def _frame_level(self) -> int:
        # A negative frame level -n means fast mode with acceleration n + 1 (lz4frame.c).
        return 1 - self.level

    def _block_args(self) -> dict:
        return {"mode": "fast", "acceleration": self.level}

    def _conditional_context(self, prefix: bytes) -> "Lz4Context":
        return Lz4Context(self, prefix, self.option("history"))


class Lz4HC(Lz4):
    """LZ4 high compression, levels 3-12 (LZ4HC_CLEVEL_MIN to MAX)."""

    name = "lz4hc"
    levels = range(3, 13)
    default_level = 9

    def _frame_level(self) -> int:
        return self.level

    def _block_args(self) -> dict:
        return {"mode": "high_compression", "compression": self.level}


class _FrameStream:
    """Adapts LZ4FrameCompressor to the compress/flush shape of the other streams."""

    def __init__(self, frame: "lz4.frame.LZ4FrameCompressor") -> None:
        self._frame = frame
        self._header = frame.begin()

    def compress(self, data: bytes) -> bytes:
        out, self._header = self._header + self._frame.compress(data), b""
        return out

    def flush(self) -> bytes:
        return self._header + self._frame.flush()


class Lz4Context(HistoryContext):
    """Conditional: the suffix compressed as a block with the last 64 KiB as its dictionary."""

    def _raw_cost(self, suffix: bytes) -> int:
        return len(lz4.block.compress(suffix, dict=self._history, store_size=False, **self._compressor._block_args()))
