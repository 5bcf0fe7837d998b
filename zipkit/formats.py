"""Streaming readers of JSON Lines and JSON arrays, compressed inputs, and atomic writes.

Readers yield one ``Item`` per record with the record's exact bytes, so that writing
the record back gives the input bytes unchanged, and a problem string instead of a
value where the record cannot be read.
"""
from __future__ import annotations

import codecs
import contextlib
import gzip
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 20
# A JSON array element larger than this is taken for a malformed file, not a huge record.
_MAX_ELEMENT = 256 << 20
_decoder = json.JSONDecoder()


@dataclass
class Item:
    number: int  # 0-based record number in the file
    line: int | None  # 1-based line where the record starts
    raw: bytes  # the record's bytes as they stand in the file
    value: Any = None
    problem: str | None = None
    fatal: bool = False  # nothing after this item can be read


def open_binary(path: str | os.PathLike) -> IO[bytes]:
    """Open a file for reading, decompressing gzip or zstd by their magic bytes."""
    raw = open(path, "rb")
    magic = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
    if magic.startswith(_GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw)
    if magic.startswith(_ZSTD_MAGIC):
        import io

        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))
    return raw


def base_suffix(path: str | os.PathLike) -> str:
    """The format suffix of a path, past a compression suffix: ``a.jsonl.gz`` -> ``.jsonl``."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in (".gz", ".zst"):
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def detect_format(path: str | os.PathLike) -> str:
    """``jsonl``, ``json`` (an array) or ``parquet``; a ``.json`` file is looked into."""
    suffix = base_suffix(path)
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    with open_binary(path) as stream:
        head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PAR1"):
        return "parquet"
    return "json" if head.startswith(b"[") else "jsonl"


def _parse(text: str) -> tuple[Any, str | None]:
    try:
        return json.loads(text), None
    except json.JSONDecodeError as err:
        return None, f"malformed JSON at column {err.colno}: {err.msg}"


def iter_jsonl(stream: IO[bytes]) -> Iterator[Item]:
    """One item per non-blank line; the raw bytes keep a trailing CR of CRLF files."""
    number = 0
    for line_no, line in enumerate(stream, start=1):
        raw = line[:-1] if line.endswith(b"\n") else line
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            yield Item(number, line_no, raw, problem=f"bytes that are not UTF-8 at byte {err.start} "
                                                     f"of the line ({raw[err.start:err.start + 4]!r})")
        else:
            value, problem = _parse(text)
            yield Item(number, line_no, raw, value, problem)
        number += 1


def iter_json_array(stream: IO[bytes]) -> Iterator[Item]:
    """The elements of a top-level JSON array, decoded one at a time in bounded memory.

    A malformed element or a file cut off mid-array ends the reading with a fatal item:
    past a syntax error the element boundaries cannot be trusted.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    buf, pos, line, eof, number = "", 0, 1, False, 0

    def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        chunk = stream.read(_CHUNK)
        eof = not chunk
        try:
            text = decoder.decode(chunk, final=eof)
        except UnicodeDecodeError as err:
            raise _NotUtf8(err) from None
        buf = buf[pos:] + text
        pos = 0
        return bool(text) or not eof

    def skip_space() -> str:
        nonlocal pos, line
        while True:
            start = pos
            while pos < len(buf) and buf[pos] in " \t\r\n\ufeff":
                pos += 1
            line += buf.count("\n", start, pos)
            if pos < len(buf) or not more():
                return buf[pos] if pos < len(buf) else ""

    try:
        if skip_space() != "[":
            yield Item(0, line, b"", problem="the file does not start with '[' (not a JSON array); "
                                             "for one record per line name it .jsonl", fatal=True)
            return
        pos += 1
        if skip_space() == "]":
            return
        while True:
            start_line = line
            while True:
                try:
                    value, end = _decoder.raw_decode(buf, pos)
                    break
                except json.JSONDecodeError as err:
                    if len(buf) - pos < _MAX_ELEMENT and more():
                        continue
                    # An unterminated string at end of file can only mean the file was cut off.
                    cut = eof and (err.pos >= len(buf) - 1 or err.msg.startswith("Unterminated"))
                    at_line = start_line + buf.count("\n", pos, err.pos)
                    problem = ("the file ends inside this record (truncated)" if cut
                               else f"malformed JSON at line {at_line}: {err.msg}")
                    raw = buf[pos:pos + 200].encode("utf-8", "surrogatepass")
                    yield Item(number, start_line, raw, problem=problem, fatal=True)
                    return
            raw_text = buf[pos:end]
            line += raw_text.count("\n")
            pos = end
            yield Item(number, start_line, raw_text.encode("utf-8", "surrogatepass"), value)
            number += 1
            sep = skip_space()
            if sep == "]":
                return
            if sep != ",":
                problem = ("the file ends after this record without closing the array (truncated)"
                           if not sep else f"expected ',' or ']' after the record, found {sep!r}")
                yield Item(number, line, b"", problem=problem, fatal=True)
                return
            pos += 1
            skip_space()
    except _NotUtf8 as err:
        yield Item(number, line, b"", problem=f"bytes that are not UTF-8 near record {number} "
                                               f"({err.args[0].reason})", fatal=True)


class _NotUtf8(Exception):
    pass


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """A binary stream to ``path`` that appears there whole or not at all (temp file + rename).

    ``.gz`` and ``.zst`` suffixes compress what is written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with open(fd, "wb") as raw:
            if path.suffix.lower() == ".gz":
                with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
                    yield out
            elif path.suffix.lower() == ".zst":
                import zstandard

                with zstandard.ZstdCompressor().stream_writer(raw, closefd=False) as out:
                    yield out
            else:
                yield raw
            raw.flush()
            os.fsync(raw.fileno())
        # mkstemp makes the file private; give it the permissions of a normally created file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
