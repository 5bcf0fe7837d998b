"""zipkit: choose training data for language models by compression.

The public API: :func:`read_records`, :func:`score`, :func:`select`, :func:`dedup`,
``compressors.get``, ``__version__``; the results :class:`Scores`, :class:`Selection` and
:class:`Deduplication`.
"""

from . import compressors
from ._version import __version__
from .api import score, select
from .dedup import Deduplication, dedup
from .errors import BadRecord, BadRecordError
from .io import Records, read_records
from .results import Scores, Selection

__all__ = [
    "BadRecord",
    "BadRecordError",
    "Deduplication",
    "Records",
    "Scores",
    "Selection",
    "__version__",
    "compressors",
    "dedup",
    "read_records",
    "score",
    "select",
]
