"""A pool of records in memory (:class:`Records`), and writing selections back.

A :class:`Records` keeps every record as the exact bytes it had in its file (or as a
row of an Arrow table for parquet and Hugging Face datasets) plus the text its schema
holds, packed into flat buffers: a million records cost a few arrays, not a million
Python dicts. ``records[i]`` parses record ``i`` afresh, so nothing a caller does to
it reaches the pool or the output.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Iterator, Sequence

import numpy as np

from ..errors import BadRecord
from . import atomic
from .formats import output_format
from .paths import check_outputs
from .serializers import TO_BYTES, Payloads, get_serializer

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class Records(Sequence[dict]):
    """A pool of records read by :func:`read_records`.

    Attributes: ``path`` (where they came from), ``format``, ``schema`` (or the explicit
    ``text_fields``), ``numbers`` (each record's 0-based number in its file, which differs
    from its position once bad records are skipped), ``lines`` (1-based start lines where
    the format has lines) and ``skipped`` (the :class:`BadRecord` list). A sharded pool
    (a directory or glob pattern) also has ``shards`` (the files, in order) and
    ``shard_of`` (each record's shard); ``numbers`` and ``lines`` are within its shard.
    """

    def __init__(
        self,
        *,
        path: str,
        format: str,
        schema: str | None,
        text_fields: list | None,
        numbers: np.ndarray,
        lines: np.ndarray | None,
        skipped: list[BadRecord],
        texts: Payloads,
        raw: Payloads | None = None,
        table: Any = None,
        rows: np.ndarray | None = None,
    ) -> None:
        self.path, self.format = path, format
        self.schema, self.text_fields = schema, text_fields
        self.numbers, self.lines, self.skipped = numbers, lines, skipped
        self._raw, self._table, self._rows = raw, table, rows
        self._payloads = {"text": texts}
        self.shards: list[str] | None = None
        self.shard_of: np.ndarray | None = None
        # How to read the same records again from their files (an engine's workers do, shard
        # by shard); None when they did not come from files.
        self.read_options: dict | None = None

    @classmethod
    def concat(cls, parts: Sequence["Records"], path: str) -> "Records":
        """The shards' records as one pool, positions in shard order then file order."""
        texts = Payloads.concat([p._payloads["text"] for p in parts])
        store = _concat_tables(parts) if all(p._raw is None for p in parts) else None
        if store is None:  # JSON shards, or a mix: every record as its JSON bytes
            store = {
                "raw": Payloads.concat(
                    [p._raw if p._raw is not None else Payloads.pack(p.raw(i) for i in range(len(p))) for p in parts]
                )
            }
        kinds = {p.format for p in parts}
        lines = None
        if any(p.lines is not None for p in parts):
            lines = np.concatenate([p.lines if p.lines is not None else np.full(len(p), -1, np.int64) for p in parts])
        pool = cls(
            path=path,
            format=kinds.pop() if len(kinds) == 1 else "mixed",
            schema=parts[0].schema,
            text_fields=parts[0].text_fields,
            numbers=np.concatenate([p.numbers for p in parts]),
            lines=lines,
            skipped=[bad for p in parts for bad in p.skipped],
            texts=texts,
            **store,
        )
        pool.shards = [p.path for p in parts]
        pool.shard_of = np.repeat(np.arange(len(parts), dtype=np.int32), [len(p) for p in parts])
        return pool

    def take(self, positions: Sequence[int]) -> "Records":
        """The records at ``positions``, in that order, as a pool of their own (their bytes,
        texts, numbers and lines; a sharded pool's shard of each)."""
        positions = np.asarray(positions, dtype=np.int64)
        texts = self._payloads["text"]
        store: dict = {}
        if self._raw is not None:
            store["raw"] = Payloads.pack(bytes(self._raw[int(i)]) for i in positions)
        else:
            store.update(table=self._table, rows=self._rows[positions])
        taken = Records(
            path=self.path,
            format=self.format,
            schema=self.schema,
            text_fields=self.text_fields,
            numbers=self.numbers[positions],
            lines=None if self.lines is None else self.lines[positions],
            skipped=[],
            texts=Payloads.pack(bytes(texts[int(i)]) for i in positions),
            **store,
        )
        if self.shard_of is not None:
            taken.shards, taken.shard_of = self.shards, self.shard_of[positions]
        taken.read_options = self.read_options
        return taken

    def origin(self, i: int) -> str:
        """The file record ``i`` came from (its shard, in a sharded pool)."""
        return self.shards[int(self.shard_of[i])] if self.shards is not None else self.path

    def __len__(self) -> int:
        return len(self.numbers)

    def __getitem__(self, i: int) -> dict:  # type: ignore[override]
        if not -len(self) <= i < len(self):
            raise IndexError(f"record position {i} is out of range for {len(self)} records")
        i %= len(self)
        if self._raw is not None:
            return json.loads(bytes(self._raw[i]))
        return self._table.slice(int(self._rows[i]), 1).to_pylist()[0]

    def __iter__(self) -> Iterator[dict]:
        if self._raw is not None:
            for i in range(len(self)):
                yield json.loads(bytes(self._raw[i]))
            return
        for batch in _take(self._table, self._rows).to_batches(max_chunksize=4096):
            yield from batch.to_pylist()

    def raw(self, i: int) -> bytes:
        """Record ``i`` as the bytes it had in its file (JSON formats) or as compact JSON."""
        if self._raw is not None:
            return bytes(self._raw[i])
        return TO_BYTES["json"](self[i])

    def text(self, i: int) -> str:
        return bytes(self._payloads["text"][i]).decode("utf-8", "surrogatepass")

    def payloads(self, serializer: str = "text") -> Payloads:
        """Every record turned into bytes by ``serializer`` (cached per serializer)."""
        if serializer not in self._payloads:
            to_bytes = TO_BYTES[get_serializer(serializer).name]
            self._payloads[serializer] = Payloads.pack(to_bytes(value) for value in self)
        return self._payloads[serializer]

    def describe(self) -> dict:
        """Facts about the pool for manifests."""
        facts = {
            "path": self.path,
            "format": self.format,
            "records": len(self),
            "schema": self.schema,
            "text_fields": self.text_fields,
            "skipped": len(self.skipped),
        }
        if self.shards is not None:
            facts["shards"] = self.shards
        return facts

    def write(self, indices: Sequence[int], path: str | os.PathLike) -> None:
        """Write the records at ``indices`` to ``path``, in that order, atomically.

        The format follows the suffix (``.jsonl``, ``.json``, ``.parquet``, each optionally
        ``.gz``/``.zst``). JSON records keep their input bytes exactly, except that a
        record spread over several lines of a JSON array is written on one line in JSON
        Lines (same value, compact form). Parquet rows are taken from the input table.
        """
        positions = self._check_indices(indices)
        out_format = output_format(path)
        self.check_output(path, positions)
        if out_format == "parquet":
            import pyarrow.parquet as pq

            table = (
                _take(self._table, self._rows[positions])
                if self._table is not None
                else _table_from_pylist([self[int(i)] for i in positions])
            )
            with atomic.atomic_output(path) as out:
                pq.write_table(table, out)
            return
        chunks = (self._json_bytes(int(i), one_line=out_format == "jsonl") for i in positions)
        with atomic.atomic_output(path) as out:
            if out_format == "jsonl":
                for chunk in chunks:
                    out.write(chunk + b"\n")
            else:
                out.write(b"[\n" + b",\n".join(chunks) + b"\n]\n")

    def check_output(self, path: str | os.PathLike, positions: np.ndarray | None = None) -> None:
        """Refuse, before a selection runs, an output :meth:`write` could not write: the pool's
        own file, or a parquet file for records (``positions``, default all) with a lone
        UTF-16 surrogate in a string (valid in JSON, not in parquet's UTF-8)."""
        check_outputs({"the output": path}, {"the pool": self.path})
        if output_format(path) == "parquet" and self._raw is not None:
            position = self._lone_surrogate(positions)
            if position is not None:
                where = BadRecord(
                    self.origin(position),
                    int(self.numbers[position]),
                    int(self.lines[position]) if self.lines is not None else None,
                    "holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape), "
                    "which parquet's UTF-8 strings cannot store",
                )
                raise ValueError(f"{where}: write .jsonl or .json instead, or repair the record")

    def _lone_surrogate(self, positions: np.ndarray | None) -> int | None:
        """The first of ``positions`` whose record has a lone surrogate. Only a JSON escape
        can put one there (the file itself is valid UTF-8), so only records with one are parsed."""
        buffer, ends = self._raw.buffer, self._raw.offsets
        wanted = None if positions is None else set(np.asarray(positions).tolist())
        for hit in _SURROGATE_ESCAPE.finditer(buffer):
            position = int(np.searchsorted(ends, hit.start(), side="right")) - 1
            if wanted is not None and position not in wanted:
                continue
            try:
                json.dumps(self[position], ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                return position
        return None

    def _json_bytes(self, i: int, one_line: bool) -> bytes:
        raw = self.raw(i)
        if one_line and b"\n" in raw.rstrip(b"\r"):
            return TO_BYTES["json"](json.loads(raw))
        return raw

    def _check_indices(self, indices: Sequence[int]) -> np.ndarray:
        given = np.asarray(indices).reshape(-1)
        if given.size and given.dtype.kind not in "iu":
            raise TypeError(
                f"indices must be whole record positions (ints), got {given.dtype} values such as {given[0]!r}"
            )
        positions = given.astype(np.int64)
        bad = positions[(positions < 0) | (positions >= len(self))]
        if bad.size:
            raise IndexError(f"position {int(bad[0])} is out of range for {len(self)} records")
        unique, counts = np.unique(positions, return_counts=True)
        if (counts > 1).any():
            raise ValueError(
                f"position {int(unique[counts > 1][0])} is selected more than once; a selection never repeats a record"
            )
        return positions


def _take(table: Any, rows: np.ndarray) -> Any:
    import pyarrow as pa

    return table.take(pa.array(rows, type=pa.int64()))


def _table_from_pylist(rows: list[dict]) -> Any:
    import pyarrow as pa

    return pa.Table.from_pylist(rows)


def _concat_tables(parts: Sequence[Records]) -> dict | None:
    """Parquet shards as one table (columns a shard lacks are null), or None when their
    columns' types conflict."""
    import pyarrow as pa

    try:
        table = pa.concat_tables([p._table for p in parts], promote_options="default")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    starts = np.cumsum([0] + [p._table.num_rows for p in parts])
    return {"table": table, "rows": np.concatenate([p._rows + start for p, start in zip(parts, starts)])}
