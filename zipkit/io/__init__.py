"""Reading and writing records: file formats (one suffix table), schemas, serializers,
sharded pools, and outputs that never replace an input or appear half-written.

The bottom layer of zipkit: it imports no other part of it but :mod:`zipkit.errors` and
:mod:`zipkit.progress`.
"""

from .atomic import atomic_output, write_json, write_text
from .formats import EXTENSIONS, FORMATS, base_suffix, output_format
from .paths import check_outputs, is_sharded, shard_paths
from .readers import ON_ERROR, read_records
from .records import Records
from .schemas import SCHEMAS
from .serializers import SERIALIZERS, Payloads, Serializer, get_serializer

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "ON_ERROR",
    "SCHEMAS",
    "SERIALIZERS",
    "Payloads",
    "Records",
    "Serializer",
    "atomic_output",
    "write_json",
    "write_text",
    "base_suffix",
    "check_outputs",
    "get_serializer",
    "is_sharded",
    "output_format",
    "read_records",
    "shard_paths",
]
