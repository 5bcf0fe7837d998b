"""Pluggable compressors behind one protocol; ``get("zlib:9")`` builds one from a spec."""

from .base import CONDITIONAL, EXACT, Compressor, Context, RecompressContext
from .registry import BACKENDS, available, get

__all__ = ["BACKENDS", "CONDITIONAL", "EXACT", "Compressor", "Context", "RecompressContext", "available", "get"]
