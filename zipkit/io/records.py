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
from .serializers import TO_BYTES, Payloads, first_beyond_int64, get_serializer, shown

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class Records(Sequence[dict]):
    """A pool of records read by :func:`read_records`.

    Attributes: ``path`` (where they came from), ``format``, ``schema`` (or the explicit
    ``text_fields``), ``numbers`` (each record's 0-based number in its file, which differs
    from its position once bad records are skipped), ``lines`` (1-based start lines where
    the format has lines) and ``skipped`` (the :class:`BadRecord` list). A sharded pool
    (a directory or glob pattern) also has ``shards`` (the files, in order) and
    ``shard_of`` (each record's shard); ``numbers`` and ``lines`` are within its shard.

    Two kinds of index: a *position* is a record's place among the records read (what
    ``records[i]`` and the methods' internals count), an *index* (:attr:`index`) its place in
    the user's input, bad records skipped included: row ``i`` of the file, of the
    ``datasets.Dataset``, or of the shards one after another. Every index a user sees
    (selections, scores, reports) is an index, so ``dataset.select(selection.indices)``
    gives the selected rows whatever was skipped; :meth:`positions_of` goes back.

    Built by :func:`read_records`, not by hand; the parameters are its parts.

    Parameters
    ----------
    path : str
        Where the records came from.
    format : str
        ``jsonl``, ``json``, ``parquet``, ``dataset``, ``list`` or ``shards``.
    schema : str or None
        The schema the texts were read by (``text``, ``alpaca``, ``sharegpt``, ...).
    text_fields : list or None
        The fields joined into the text, where given instead of a schema.
    numbers : numpy.ndarray
        Each record's 0-based number in its file (within its shard for shards).
    lines : numpy.ndarray or None
        Each record's 1-based start line, where the format has lines.
    skipped : list of BadRecord
        The records left out as bad.
    texts : Payloads
        Each record's text, UTF-8.
    raw : Payloads, optional
        Each record's raw JSON bytes, where the format has them.
    table : pyarrow.Table or datasets.Dataset, optional
        The source table of a Parquet file or a dataset, read row by row on demand.
    rows : numpy.ndarray, optional
        The rows of ``table`` that hold the records.
    count : int, optional
        Records in the input, skipped ones included; the records read plus the skipped when
        not given.
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
        count: int | None = None,
    ) -> None:
        self.path, self.format = path, format
        self.schema, self.text_fields = schema, text_fields
        self.numbers, self.lines, self.skipped = numbers, lines, skipped
        self._raw, self._table, self._rows = raw, table, rows
        self._payloads = {"text": texts}
        self.shards: list[str] | None = None
        self.shard_of: np.ndarray | None = None
        # Records in the input, skipped ones included; a sharded pool's shards start at offsets.
        self.count = _count(numbers, skipped) if count is None else int(count)
        self._offsets: np.ndarray | None = None
        self._skipped_index: np.ndarray | None = None
        self._index: np.ndarray | None = None
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
        pool._offsets = np.cumsum([0] + [p.count for p in parts[:-1]]).astype(np.int64)
        pool.count = int(sum(p.count for p in parts))
        pool._skipped_index = np.concatenate(
            [p.skipped_index + start for p, start in zip(parts, pool._offsets)] or [np.zeros(0, np.int64)]
        )
        return pool

    def take(self, positions: Sequence[int]) -> "Records":
        """The records at ``positions``, in that order, as a pool of their own (their bytes,
        texts, numbers and lines; a sharded pool's shard of each).

        Parameters
        ----------
        positions : sequence of int
            Positions among the records read (not input indices: see :meth:`positions_of`).
        """
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
        taken._offsets, taken.count = self._offsets, self.count
        taken._index = None if self._index is None else self._index[positions]
        taken.read_options = self.read_options
        return taken

    @property
    def index(self) -> np.ndarray:
        """Each record's index in the user's input (class docstring): its row in its file, or
        in the shards read one after another; skipped records keep theirs."""
        if self._index is not None:  # taken from a pool left in its shards, which knows them
            return self._index
        if self._offsets is None:
            return self.numbers
        return self._offsets[self.shard_of] + self.numbers

    @property
    def skipped_index(self) -> np.ndarray:
        """The input indices of the records skipped as bad, in input order."""
        if self._skipped_index is None:
            return np.asarray(sorted(b.record for b in self.skipped if b.record is not None), dtype=np.int64)
        return self._skipped_index

    def positions_of(self, indices: Any, what: str = "indices") -> np.ndarray:
        """The positions of the records at input ``indices`` (:meth:`index` back).

        Parameters
        ----------
        indices : sequence of int
            Rows of the input, skipped bad records counted (what selections and scores give).
        what : str, default "indices"
            What the indices are, for the error an index past the input or of a skipped record
            raises.
        """
        return positions_of(self.index, self.count, self.skipped_index, indices, what)

    def origin(self, i: int) -> str:
        """The file record ``i`` came from (its shard, in a sharded pool).

        Parameters
        ----------
        i : int
            A record's position.
        """
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
        """Record ``i`` as the bytes it had in its file (JSON formats) or as compact JSON.

        Parameters
        ----------
        i : int
            A record's position.
        """
        if self._raw is not None:
            return bytes(self._raw[i])
        return TO_BYTES["json"](self[i])

    def text(self, i: int) -> str:
        """Record ``i``'s text, as the schema (or ``text_fields``) reads it.

        Parameters
        ----------
        i : int
            A record's position.
        """
        return bytes(self._payloads["text"][i]).decode("utf-8", "surrogatepass")

    def payloads(self, serializer: str = "text") -> Payloads:
        """Every record turned into bytes by ``serializer`` (cached per serializer).

        Parameters
        ----------
        serializer : str, default "text"
            ``"text"`` (the record's text), ``"json"`` or ``"repr"`` (the whole record).
        """
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
            "skipped_indices": self.skipped_index.tolist(),
            # What zipkit inspect checks a report against: the records' texts, as read.
            "texts": self._payloads["text"].digest(),
        }
        if self.shards is not None:
            facts["shards"] = self.shards
        return facts

    def write(self, indices: Sequence[int], path: str | os.PathLike) -> None:
        """Write the records at input ``indices`` to ``path``, in that order, atomically
        (:meth:`write_positions`).

        Parameters
        ----------
        indices : sequence of int
            Rows of the input (a selection's ``indices``, :attr:`index`).
        path : str or os.PathLike
            The output; its suffix names the format: ``.jsonl`` or ``.json``, each optionally
            ``.gz``/``.zst``, or ``.parquet`` (compressed inside the file).
        """
        self.write_positions(self.positions_of(indices), path)

    def write_positions(self, positions: Sequence[int], path: str | os.PathLike) -> None:
        """Write the records at ``positions`` to ``path``, in that order, atomically.

        JSON records keep their input bytes exactly, except that a record spread over several lines
        of a JSON array is written on one line in JSON Lines (same value, compact form). Parquet rows
        are taken from the input table.

        Parameters
        ----------
        positions : sequence of int
            Positions among the records read.
        path : str or os.PathLike
            The output; its suffix names the format: ``.jsonl`` or ``.json``, each optionally
            ``.gz``/``.zst``, or ``.parquet`` (compressed inside the file).
        """
        positions = positions_of(np.arange(len(self)), len(self), np.zeros(0, np.int64), positions, "positions")
        out_format = output_format(path)
        self.check_output(path, positions)
        if out_format == "parquet":
            import pyarrow.parquet as pq

            table = (
                _take(self._table, self._rows[positions])
                if self._table is not None
                else _table_from_pylist(self, positions)
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
        own file, or a parquet file for records with a lone UTF-16 surrogate in a string (valid in
        JSON, not in parquet's UTF-8) or an integer beyond int64 (valid in JSON, not in a parquet
        integer column).

        Parameters
        ----------
        path : str or os.PathLike
            The output to be written.
        positions : numpy.ndarray, optional
            The records it will hold (default: all).
        """
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
            found = first_beyond_int64(self._raw, positions)
            if found is not None:
                position, name, integer = found
                where = BadRecord(
                    self.origin(position),
                    int(self.numbers[position]),
                    int(self.lines[position]) if self.lines is not None else None,
                    f"field {name!r} holds the integer {shown(integer)}, beyond the 64-bit integers parquet stores",
                )
                raise ValueError(
                    f"{where}: write .jsonl or .json instead (they keep every record as it is), or store the "
                    f"number as a string"
                )

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


def _check_indices(indices: Any, what: str = "indices") -> np.ndarray:
    """``indices`` as int64, refused unless whole numbers (no floats, no None, no strings)."""
    given = np.asarray(indices).reshape(-1)
    if given.size and given.dtype.kind not in "iu":
        raise TypeError(
            f"{what} must be whole record indices (ints), got {given.dtype} values such as {given.flat[0]!r}"
        )
    return given.astype(np.int64)


def positions_of(index: np.ndarray, count: int, skipped: np.ndarray, indices: Any, what: str = "indices") -> np.ndarray:
    """Positions (into ``index``, the input index of each record read, increasing) of input
    ``indices``; refused when one is negative, past the input's ``count`` records, skipped, or
    repeated (a selection never repeats a record)."""
    wanted = _check_indices(indices, what)
    bad = wanted[(wanted < 0) | (wanted >= count)]
    if bad.size:
        raise IndexError(f"{what}: index {int(bad[0])} is out of range for an input of {count} records")
    unique, counts = np.unique(wanted, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"{what}: index {int(unique[counts > 1][0])} is selected more than once; a selection never repeats a record"
        )
    # A pool read from its input has increasing indices; records taken from one, any order.
    order = None if len(index) < 2 or bool((np.diff(index) > 0).all()) else np.argsort(index, kind="stable")
    ordered = index if order is None else index[order]
    at = np.searchsorted(ordered, wanted)
    found = at < len(ordered)
    found[found] = ordered[at[found]] == wanted[found]
    if not found.all():
        missing = int(wanted[~found][0])
        why = "was skipped as a bad record" if missing in set(skipped.tolist()) else "is not among the records read"
        raise ValueError(f"{what}: the record at index {missing} {why}; it has no data to use")
    return (at if order is None else order[at]).astype(np.int64)


def _count(numbers: np.ndarray, skipped: list[BadRecord]) -> int:
    """Records in an input: one past the highest record number read or skipped."""
    top = int(numbers.max()) if len(numbers) else -1
    return max([top, *(b.record for b in skipped if b.record is not None)]) + 1


def _take(table: Any, rows: np.ndarray) -> Any:
    import pyarrow as pa

    return table.take(pa.array(rows, type=pa.int64()))


def _table_from_pylist(records: Records, positions: np.ndarray) -> Any:
    """The JSON records at ``positions`` as an Arrow table for parquet (a column for every field
    any has), or a ValueError naming the record(s) and field parquet cannot hold
    (:func:`serializers.arrow_table`)."""
    from .serializers import arrow_table

    def where(k: int) -> str:
        i = int(positions[k])
        line = int(records.lines[i]) if records.lines is not None and records.lines[i] >= 0 else None
        return f"{records.origin(i)}: {f'line {line}, ' if line is not None else ''}record {int(records.numbers[i])}"

    return arrow_table([records[int(i)] for i in positions], where)


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
