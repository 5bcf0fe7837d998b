"""How a record becomes bytes (serializers) and byte strings packed in one buffer (``Payloads``)."""

from __future__ import annotations

import hashlib
import json
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
    """

    name: str
    head: bytes
    sep: bytes
    tail: bytes

    def join(self, items: Iterable[bytes]) -> Iterator[bytes]:
        """The framed document as a stream of chunks (for streaming compression)."""
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
    try:
        return SERIALIZERS[name]
    except KeyError:
        raise ValueError(f"unknown serializer {name!r}; known: {', '.join(SERIALIZERS)}") from None


def encode(text: str) -> bytes:
    # JSON allows lone surrogates ("\ud800"); keep them as distinct bytes instead of failing.
    return text.encode("utf-8", "surrogatepass")


TO_BYTES: dict[str, Callable[[Any], bytes]] = {
    "json": lambda value: encode(json.dumps(value, ensure_ascii=False)),
    "repr": lambda value: encode(repr(value)),
}


class Payloads(Sequence[memoryview]):
    """Byte strings packed in one buffer; ``payloads[i]`` is a zero-copy view."""

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
