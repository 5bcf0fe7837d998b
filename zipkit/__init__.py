"""zipkit: choose training data for language models by compression.

The public API: :func:`read_records`, :func:`score`, ``compressors.get`` and
``__version__`` (``select`` arrives with the selection methods).
"""
from importlib.metadata import PackageNotFoundError, version

from . import compressors
from .errors import BadRecord, BadRecordError
from .records import Records, read_records
from .scoring import score

try:
    __version__ = version("zipkit")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["BadRecord", "BadRecordError", "Records", "__version__", "compressors", "read_records",
           "score"]
