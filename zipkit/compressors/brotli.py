"""Brotli through ``brotli``.

Neither ``brotli`` nor ``brotlicffi`` takes a dictionary from Python, so the default
context is windowed: it recompresses the last ``history`` bytes of the prefix with and
without the suffix and charges the difference. Levels 10-11 cost about a millisecond per
small input whatever the window: not for a greedy inner loop.
"""

from __future__ import annotations

import brotli

from .base import Compressor, HistoryContext, OptionSpec


class Brotli(Compressor):
    """brotli (quality 0-11). Its context recompresses the held history with and without the suffix."""

    name = "brotli"
    library = "brotli"
    levels = range(0, 12)
    default_level = 5
    option_specs = {
        "window": OptionSpec(22, 10, 24, "log2 of the sliding window (lgwin)"),
        "history": OptionSpec(64 * 1024, 0, 1 << 24, "bytes of prefix recompressed per query"),
    }

    def compress(self, data: bytes) -> bytes:
        return brotli.compress(bytes(data), quality=self.level, lgwin=self.option("window"))

    def decompress(self, data: bytes) -> bytes:
        return brotli.decompress(data)

    def _stream(self):
        return _BrotliStream(brotli.Compressor(quality=self.level, lgwin=self.option("window")))

    def _conditional_context(self, prefix: bytes) -> "WindowedContext":
        return WindowedContext(self, prefix, self.option("history"))


class _BrotliStream:
    def __init__(self, compressor: "brotli.Compressor") -> None:
        self._compressor = compressor

    def compress(self, data: bytes) -> bytes:
        return self._compressor.process(bytes(data))

    def flush(self) -> bytes:
        return self._compressor.finish()


class WindowedContext(HistoryContext):
    """Conditional: the suffix's cost is that of the last ``history`` bytes with it less without it."""

    def _prepare(self) -> None:
        self._history_size = self._compressor.size(self._history)

    def _raw_cost(self, suffix: bytes) -> int:
        return self._compressor.size(self._history + bytes(suffix)) - self._history_size
