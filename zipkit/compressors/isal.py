"""DEFLATE through ISA-L (``isal``): several times faster than zlib at its levels 0-3.

ISA-L cannot copy a running stream; its ``zdict`` conditions the suffix on up to the
last 32 KiB of the prefix (DEFLATE's window), which is the default context. Its level 0
is a real (fast) compression level, unlike zlib's stored level 0.
"""

from __future__ import annotations

from isal import isal_zlib

from .base import Compressor, HistoryContext, OptionSpec

_WINDOW = 32 * 1024


class Isal(Compressor):
    """ISA-L's DEFLATE (levels 0-3). Its context takes the last 32 KiB as ``zdict``."""

    name = "isal"
    library = "isal"
    levels = range(0, 4)
    default_level = 2
    option_specs = {"history": OptionSpec(_WINDOW, 0, _WINDOW, "bytes of prefix used as zdict")}

    def compress(self, data: bytes) -> bytes:
        return isal_zlib.compress(data, self.level)

    def decompress(self, data: bytes) -> bytes:
        return isal_zlib.decompress(data)

    def _stream(self):
        return isal_zlib.compressobj(self.level)

    def _conditional_context(self, prefix: bytes) -> "IsalContext":
        return IsalContext(self, prefix, self.option("history"))


class IsalContext(HistoryContext):
    """Conditional: the suffix compressed with the last 32 KiB of the prefix as its dictionary."""

    def _raw_cost(self, suffix: bytes) -> int:
        stream = isal_zlib.compressobj(self._compressor.level, zdict=self._history)
        return len(stream.compress(suffix)) + len(stream.flush())
