"""How a record becomes bytes (serializers) and byte strings packed in one buffer (``Payloads``).

Values JSON has no type for (a parquet or Hugging Face column's) become JSON strings, the same
in every output and every ``json`` serialization:

- timestamps, dates and times: ISO 8601 (``2024-01-01T12:00:00+00:00`` with the zone where
  the column has one, ``2024-01-01``, ``01:02:03``); durations: ISO 8601 durations in days
  and seconds (``P1DT3600.5S``, ``-P0DT5S`` when negative);
- decimals: their exact digits (``"1.10"``; a JSON number would be read back as a float);
- binary: base64 (RFC 4648, with padding: ``b"\x00\xff"`` is ``"AP8="``).
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import json
import re
from array import array
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np


@dataclass(frozen=True)
class Serializer:
    """How a record becomes bytes, and how a list of records is framed as one document.

    ``join`` frames a list the way the method that owns the serializer does: ``repr``
    frames like Python's ``str(list_of_dicts)`` (what ZIP's authors compress), ``json``
    like ``json.dumps(list)``, ``text`` puts a newline between records.

    Parameters
    ----------
    name : str
        ``text``, ``json`` or ``repr``.
    head : bytes
        What opens the document.
    sep : bytes
        What stands between two records.
    tail : bytes
        What closes the document.
    """

    name: str
    head: bytes
    sep: bytes
    tail: bytes

    def join(self, items: Iterable[bytes]) -> Iterator[bytes]:
        """The framed document as a stream of chunks (for streaming compression).

        Parameters
        ----------
        items : iterable of bytes
            The records' payloads, each serialized already.
        """
        yield self.head
        for k, item in enumerate(items):
            if k:
                yield self.sep
            yield item
        yield self.tail


SERIALIZERS = {
    "text": Serializer("text", b"", b"\n", b""),
    "json": Serializer("json", b"[", b", ", b"]"),
    "repr": Serializer("repr", b"[", b", ", b"]"),
}


def get_serializer(name: str) -> Serializer:
    """A serializer by name.

    Parameters
    ----------
    name : str
        ``text``, ``json`` or ``repr``.
    """
    try:
        return SERIALIZERS[name]
    except KeyError:
        raise ValueError(f"unknown serializer {name!r}; known: {', '.join(SERIALIZERS)}") from None


def encode(text: str) -> bytes:
    # JSON allows lone surrogates ("\ud800"); keep them as distinct bytes instead of failing.
    """``text`` as UTF-8, lone surrogates kept as bytes."""
    return text.encode("utf-8", "surrogatepass")


def json_value(value: Any) -> Any:
    """A value JSON has no type for, as the JSON string the module docstring gives it."""
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        sign, value = ("-", -value) if value < datetime.timedelta(0) else ("", value)
        seconds = f"{value.seconds}.{value.microseconds:06d}".rstrip("0").rstrip(".")
        return f"{sign}P{value.days}DT{seconds}S"
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(
        f"a record holds a {type(value).__name__} ({value!r:.60}), which has no JSON form: "
        f"convert the column to a string, number or list first"
    )


TO_BYTES: dict[str, Callable[[Any], bytes]] = {
    "json": lambda value: encode(json.dumps(value, ensure_ascii=False, default=json_value)),
    "repr": lambda value: encode(repr(value)),
}


# Parquet's integers are 64-bit.
INT64 = (-(2**63), 2**63 - 1)
# Where a JSON record may hold an integer beyond them: 19 digits or more (not all are).
_LONG_DIGITS = re.compile(rb"\d{19,}")


def beyond_int64(value: Any, where: str = "") -> tuple[str, int] | None:
    """The first integer of ``value`` that parquet cannot store (beyond 64 bits) and where it
    is (``meta.ids[1]``), or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return None if INT64[0] <= value <= INT64[1] else (where, value)
    if isinstance(value, dict):
        items = ((f"{where}.{key}" if where else str(key), v) for key, v in value.items())
    elif isinstance(value, list):
        items = ((f"{where}[{k}]", v) for k, v in enumerate(value))
    else:
        return None
    for at, item in items:
        found = beyond_int64(item, at)
        if found:
            return found
    return None


def shown(integer: int) -> str:
    """An integer for a message: whole, or its first digits and how many there are."""
    digits = str(integer)
    return digits if len(digits) <= 40 else f"{digits[:20]}... ({len(digits.lstrip('-'))} digits)"


def first_beyond_int64(raw: "Payloads", positions: Sequence[int] | None = None) -> tuple[int, str, int] | None:
    """Among JSON records (``raw``, their bytes; ``positions``, default all), the first whose
    value holds an integer parquet cannot store: ``(position, field, integer)``, or None.
    Only records with a run of 19 digits somewhere are parsed."""
    buffer, ends = raw.buffer, raw.offsets
    wanted = None if positions is None else set(np.asarray(positions).tolist())
    parsed: set[int] = set()
    for hit in _LONG_DIGITS.finditer(buffer):
        position = int(np.searchsorted(ends, hit.start(), side="right")) - 1
        if (wanted is not None and position not in wanted) or position in parsed:
            continue
        parsed.add(position)
        found = beyond_int64(json.loads(bytes(raw[position])))
        if found:
            return position, found[0], found[1]
    return None


def arrow_table(rows: list[dict], where: Callable[[int], str]) -> Any:
    """JSON records as an Arrow table for parquet: a column for every field any record has
    (in the order fields first appear; null where a record lacks one). What parquet cannot
    hold is a ValueError naming the record (``where(k)`` names row ``k``: its file, line and
    number) and the field: an integer beyond 64 bits, or a field whose type differs from
    record to record (from shard to shard)."""
    import pyarrow as pa

    instead = "write .jsonl or .json instead (they keep every record as it is)"
    columns = {}
    for field in dict.fromkeys(key for row in rows for key in row):
        values = [row.get(field) for row in rows]
        try:
            columns[field] = pa.array(values)
        except (pa.ArrowException, OverflowError, ValueError, TypeError) as err:
            for k, value in enumerate(values):
                found = beyond_int64(value, field)
                if found:
                    raise ValueError(
                        f"{where(k)}: field {found[0]!r} holds the integer {shown(found[1])}, beyond the 64-bit "
                        f"integers parquet stores: {instead}, or store the number as a string"
                    ) from None
            first, clash = _clash(values)
            raise ValueError(
                f"field {field!r} is {_kind(values[first])} in {where(first)} but {_kind(values[clash])} "
                f"in {where(clash)}: a parquet column holds one type; {instead}, or give the field "
                f"one type in every record ({err})"
            ) from None
    return pa.table(columns) if columns else pa.Table.from_pylist(rows)


def _clash(values: list) -> tuple[int, int]:
    """Two values no one Arrow column holds: the first that does not fit those before it
    (the shortest prefix that fails ends there), and the first before it it cannot join."""
    import pyarrow as pa

    def fits(part: list) -> bool:
        try:
            pa.array(part)
            return True
        except (pa.ArrowException, OverflowError, ValueError, TypeError):
            return False

    low, high = 1, len(values)  # values[:high] fails
    while low < high:
        middle = (low + high) // 2
        low, high = (middle + 1, high) if fits(values[:middle]) else (low, middle)
    clash = high - 1
    first = next((k for k in range(clash) if not fits([values[k], values[clash]])), 0)
    return first, clash


def _kind(value: Any) -> str:
    """A JSON value's kind, in JSON's words."""
    if isinstance(value, list):
        return "a list" + (f" of {_kind(value[0]).split(' ', 1)[1]}s" if value else "")
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number", dict: "an object"}
    return names.get(type(value), f"a {type(value).__name__}")


class Payloads(Sequence[memoryview]):
    """Byte strings packed in one buffer; ``payloads[i]`` is a zero-copy view.

    Parameters
    ----------
    buffer : bytes or bytearray
        Every string, one after another.
    offsets : numpy.ndarray
        Where each starts, and at the end where the last ends (length n + 1).
    """

    def __init__(self, buffer: bytes | bytearray, offsets: np.ndarray) -> None:
        self._view = memoryview(buffer)
        self.offsets = offsets
        self._digest: str | None = None

    @classmethod
    def pack(cls, items: Iterable[bytes]) -> "Payloads":
        buffer, ends = bytearray(), array("q", [0])
        for item in items:
            buffer += item
            ends.append(len(buffer))
        return cls(buffer, np.frombuffer(ends, dtype=np.int64))

    @classmethod
    def concat(cls, parts: Sequence["Payloads"]) -> "Payloads":
        """The items of every part, in order, in one buffer."""
        starts = np.cumsum([0] + [int(p.offsets[-1]) for p in parts])
        offsets = np.concatenate([[0]] + [p.offsets[1:] + start for p, start in zip(parts, starts)])
        return cls(b"".join(p.buffer for p in parts), offsets.astype(np.int64))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> memoryview:  # type: ignore[override]
        return self._view[self.offsets[i] : self.offsets[i + 1]]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def buffer(self) -> memoryview:
        """Every item's bytes, end to end (item ``i`` spans ``offsets[i]:offsets[i + 1]``)."""
        return self._view

    def digest(self) -> str:
        """A hash of every item and where each ends: the same for the same bytes, in the same
        order and split the same way. Checkpoints and caches use it to know their pool."""
        if self._digest is None:
            digest = hashlib.blake2b(self.offsets.tobytes(), digest_size=16)
            digest.update(self._view)
            self._digest = digest.hexdigest()
        return self._digest
