"""Zstandard through ``zstandard``.

zstd has no public stream copy, and exact incremental sizes cannot exist: it picks its
parameters from the total input size. The default context compresses the suffix with a
raw-content dictionary made of the last ``history`` bytes of the prefix (its size given
the prefix as history), which reaches far past DEFLATE's 32 KiB window.
"""

from __future__ import annotations

import zstandard

from .base import Compressor, HistoryContext, OptionSpec


class Zstd(Compressor):
    """zstd (levels -7 to 22). Its context takes the last ``history`` bytes as a raw-content dictionary."""

    name = "zstd"
    library = "zstandard"
    levels = range(-7, 23)
    default_level = 3
    option_specs = {"history": OptionSpec(1 << 20, 0, 1 << 27, "bytes of prefix used as a raw-content dictionary")}

    def _compressor(self) -> zstandard.ZstdCompressor:
        # ZstdCompressor objects are not thread-safe: one per thread, reused (building one costs ~10 µs).
        cctx = getattr(self._local, "cctx", None)
        if cctx is None:
            cctx = self._local.cctx = zstandard.ZstdCompressor(level=self.level)
        return cctx

    def compress(self, data: bytes) -> bytes:
        return self._compressor().compress(data)

    def decompress(self, data: bytes) -> bytes:
        # decompressobj also reads streamed frames, whose header has no content size.
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)

    def _stream(self):
        return zstandard.ZstdCompressor(level=self.level).compressobj()

    def _conditional_context(self, prefix: bytes) -> "ZstdContext":
        return ZstdContext(self, prefix, self.option("history"))


class ZstdContext(HistoryContext):
    """Conditional: the suffix compressed with the last ``history`` bytes as a raw-content dictionary."""

    def _prepare(self) -> None:
        self._dict = zstandard.ZstdCompressionDict(self._history, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        self._dict.precompute_compress(level=self._compressor.level)

    def _raw_cost(self, suffix: bytes) -> int:
        cctx = getattr(self._local, "cctx", None)
        if cctx is None:
            cctx = self._local.cctx = zstandard.ZstdCompressor(
                level=self._compressor.level,
                dict_data=self._dict,
                write_content_size=False,
                write_checksum=False,
                write_dict_id=False,
            )
        return len(cctx.compress(suffix))
