"""File formats: the suffix table, streaming readers of JSON Lines and JSON arrays, and
compressed inputs.

Readers yield one ``Item`` per record with the record's exact bytes, so that writing
the record back gives the input bytes unchanged, and a problem string instead of a
value where the record cannot be read.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import json
import os
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterator

# One table of the suffixes zipkit reads and writes (past a .gz or .zst suffix), for the
# readers, the writers and the record files of a sharded directory alike.
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}
FORMATS = ("json", "jsonl", "parquet")
COMPRESSIONS = (".gz", ".zst")

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


# Characters that make a pool path a glob pattern of shards (a local path or a URL).
GLOB_CHARACTERS = "*?["


def open_binary(path: str | os.PathLike, raw: IO[bytes] | None = None) -> IO[bytes]:
    """Open a file (``-``: standard input; ``raw``: a buffered stream opened already, such
    as a URL's) for reading, decompressing gzip or zstd by their magic bytes. A cut-off or
    damaged compressed stream raises :class:`DamagedStreamError` where it is found, never a
    silent end of the data."""
    if raw is None:
        raw = _stdin() if str(path) == "-" else open(path, "rb")
    magic = raw.peek(4)[:4]
    for kind, (start, _) in _CODECS.items():
        if magic.startswith(start):
            return io.BufferedReader(_Decompressed(raw, kind, str(path)), buffer_size=_CHUNK)
    return raw


def _stdin() -> IO[bytes]:
    """Standard input as a binary file of its own (closing it leaves ``sys.stdin`` open)."""
    closed = (
        "standard input is closed: the pool '-' is read from it; pipe or redirect the pool into "
        "the command (... - < pool.jsonl), or name the pool's file instead of '-'"
    )
    if sys.stdin is None:  # Python found no file descriptor 0 at start-up (`<&-`)
        raise ValueError(closed)
    try:
        return os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    except (OSError, ValueError) as err:  # descriptor 0 closed since, or sys.stdin replaced
        raise ValueError(closed) from err


class DamagedStreamError(ValueError):
    """A compressed input that ends early or holds bytes its format does not allow."""


def _zstd_decompressor() -> Any:
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj()


# Magic bytes and a decompressor for one gzip member / zstd frame (a file may hold several).
_CODECS: dict[str, tuple[bytes, Callable[[], Any]]] = {
    "gzip": (_GZIP_MAGIC, lambda: zlib.decompressobj(wbits=31)),
    "zstd": (_ZSTD_MAGIC, _zstd_decompressor),
}


class _Decompressed(io.RawIOBase):
    """Decompressed bytes of a gzip or zstd file, member after member, that tells the end of
    the data from a stream cut off mid-member or followed by bytes of another kind (the
    libraries' own readers either stop silently there or raise bare errors)."""

    def __init__(self, raw: IO[bytes], kind: str, path: str) -> None:
        self.raw, self.kind, self.path = raw, kind, path  # .raw: read position for progress bars
        self._magic, self._new = _CODECS[kind]
        self._codec = self._new()
        self._out, self._at, self._unused, self._started = b"", 0, b"", False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._at >= len(self._out):
            data = self._unused or self.raw.read(_CHUNK)
            self._unused = b""
            if not data:
                if self._started and not self._codec.eof:
                    self._damaged(
                        "is truncated: it ends before the end of its last "
                        f"{'member' if self.kind == 'gzip' else 'frame'}"
                    )
                return 0
            if self._codec.eof:  # one member/frame done; what follows must be another
                if not data.startswith(self._magic[: len(data)]):
                    self._damaged(
                        "has bytes after its end that are not another "
                        f"{self.kind} {'member' if self.kind == 'gzip' else 'frame'}"
                    )
                self._codec = self._new()
            self._started = True
            try:
                self._out, self._at = self._codec.decompress(data), 0
            except Exception as err:  # zlib.error, zstandard.ZstdError
                self._damaged(f"is damaged ({err})")
            if self._codec.eof:
                self._unused = self._codec.unused_data
        n = min(len(buffer), len(self._out) - self._at)
        buffer[:n] = self._out[self._at : self._at + n]
        self._at += n
        return n

    def _damaged(self, what: str) -> None:
        raise DamagedStreamError(
            f"{self.path}: the {self.kind} stream {what}; --skip-bad cannot "
            f"skip past it: fetch or compress the file again"
        )

    def close(self) -> None:
        self.raw.close()
        super().close()


def detect_format(path: str | os.PathLike, stream: IO[bytes] | None = None) -> str:
    """``jsonl``, ``json`` (an array) or ``parquet``; a ``.json`` file (or ``stream``, opened
    on it, which is only peeked at) is looked into."""
    known = EXTENSIONS.get(base_suffix(path))
    if known in ("parquet", "jsonl"):
        return known
    if stream is None:
        with open_binary(path) as opened:
            return detect_format(path, opened)
    head = stream.peek(4096)[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PAR1"):
        return "parquet"
    return "json" if head.startswith(b"[") else "jsonl"


def _parse(text: str) -> tuple[Any, str | None]:
    try:
        return json.loads(text), None
    except json.JSONDecodeError as err:
        return None, f"malformed JSON at column {err.colno}: {err.msg}"
    except RecursionError:
        return None, _TOO_DEEP
    except ValueError:  # an integer longer than Python converts from a string
        return None, _too_long_integer()


_TOO_DEEP = "nested too deeply (more levels of arrays/objects than Python's JSON parser takes)"


def _too_long_integer() -> str:
    return (
        f"holds an integer of more than {sys.get_int_max_str_digits()} digits, more than Python "
        f"reads from text (sys.get_int_max_str_digits()): write the number as a string, or remove the record"
    )


def _lenient_int(digits: str) -> Any:
    try:
        return int(digits)
    except ValueError:
        return None


# Reads past an integer too long to convert, to find where its array element ends.
_tolerant = json.JSONDecoder(parse_int=_lenient_int)


def _decode_element(buf: str, pos: int) -> tuple[Any, int, bool]:
    """The JSON value at ``buf[pos:]``, where it ends, and whether it holds an integer too long
    to convert (then the value is not usable, and the record is bad: skippable, since its end
    is known). Raises what ``raw_decode`` raises for anything else."""
    try:
        value, end = _decoder.raw_decode(buf, pos)
        return value, end, False
    except json.JSONDecodeError:
        raise
    except ValueError:  # the one other ValueError of json: an integer too long to convert
        value, end = _tolerant.raw_decode(buf, pos)
        return None, end, True


_BOM = b"\xef\xbb\xbf"


def iter_jsonl(stream: IO[bytes]) -> Iterator[Item]:
    """One item per non-blank line; the raw bytes keep a trailing CR of CRLF files. A UTF-8
    byte order mark before the first line is not part of the first record."""
    number = 0
    for line_no, line in enumerate(stream, start=1):
        raw = line[:-1] if line.endswith(b"\n") else line
        if line_no == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            yield Item(
                number,
                line_no,
                raw,
                problem=f"bytes that are not UTF-8 at byte {err.start} "
                f"of the line ({raw[err.start : err.start + 4]!r})",
            )
        else:
            value, problem = _parse(text)
            looks_like_array = (problem and problem != _TOO_DEEP) or isinstance(value, list)
            if number == 0 and looks_like_array and raw.lstrip().startswith(b"["):
                yield Item(
                    number,
                    line_no,
                    raw,
                    fatal=True,
                    problem="the file looks like a JSON array, not JSON Lines (one record per "
                    "line): name it .json or pass --format json",
                )
                return
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
            yield Item(
                0,
                line,
                b"",
                problem="the file does not start with '[' (not a JSON array); for one record per line name it .jsonl",
                fatal=True,
            )
            return
        pos += 1
        if skip_space() == "]":
            return
        while True:
            start_line = line
            while True:
                try:
                    value, end, too_long = _decode_element(buf, pos)
                    break
                except RecursionError:
                    yield Item(number, start_line, b"", problem=_TOO_DEEP, fatal=True)
                    return
                except json.JSONDecodeError as err:
                    error_at = err.pos - pos  # from the element's start: more() moves the buffer
                    if len(buf) - pos < _MAX_ELEMENT and more():
                        continue
                    # An unterminated string at end of file can only mean the file was cut off.
                    cut = eof and (pos + error_at >= len(buf) - 1 or err.msg.startswith("Unterminated"))
                    at_line = start_line + buf.count("\n", pos, pos + error_at)
                    problem = (
                        "the file ends inside this record (truncated)"
                        if cut
                        else f"malformed JSON at line {at_line}: {err.msg}"
                    )
                    raw = buf[pos : pos + 200].encode("utf-8", "surrogatepass")
                    yield Item(number, start_line, raw, problem=problem, fatal=True)
                    return
            raw_text = buf[pos:end]
            line += raw_text.count("\n")
            pos = end
            raw = raw_text.encode("utf-8", "surrogatepass")
            if too_long:
                yield Item(number, start_line, raw, problem=_too_long_integer())
            else:
                yield Item(number, start_line, raw, value)
            number += 1
            sep = skip_space()
            if sep == "]":
                pos += 1
                if skip_space():
                    yield Item(
                        number,
                        line,
                        b"",
                        fatal=True,
                        problem="more data after the array's closing ']': a file holds one "
                        "array; join the arrays into one, or write one record per "
                        "line as .jsonl",
                    )
                return
            if sep != ",":
                problem = (
                    "the file ends after this record without closing the array (truncated)"
                    if not sep
                    else f"expected ',' or ']' after the record, found {sep!r}"
                )
                yield Item(number, line, b"", problem=problem, fatal=True)
                return
            pos += 1
            if skip_space() == "]":
                yield Item(
                    number,
                    line,
                    b"",
                    fatal=True,
                    problem="a trailing comma after the last record: remove it (JSON allows none)",
                )
                return
    except _NotUtf8 as err:
        yield Item(
            number,
            line,
            b"",
            problem=f"bytes that are not UTF-8 near record {number} ({err.args[0].reason})",
            fatal=True,
        )


class _NotUtf8(Exception):
    pass


def base_suffix(path: str | os.PathLike) -> str:
    """The format suffix of a path, past a compression suffix: ``a.jsonl.gz`` -> ``.jsonl``.

    Parameters
    ----------
    path : str or os.PathLike
        A file's path or URL.
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def output_format(path: str | os.PathLike) -> str:
    """``jsonl``, ``json`` or ``parquet``, from the suffix of an output path.

    Parameters
    ----------
    path : str or os.PathLike
        The output's path (``.gz``/``.zst`` after the format's suffix allowed).
    """
    suffix = base_suffix(path)
    known = EXTENSIONS
    if suffix not in known:
        raise ValueError(
            f"cannot tell the output format of {str(path)!r} from its suffix; "
            f"use .jsonl (or .ndjson), .json or .parquet (the JSON ones optionally + .gz or .zst)"
        )
    if known[suffix] == "parquet" and base_suffix(path) != Path(path).suffix.lower():
        raise ValueError(
            f"{str(path)!r}: parquet compresses its own pages and is not read back "
            f"through gzip or zstd; name the output .parquet"
        )
    return known[suffix]


@contextlib.contextmanager
def compressing(raw: IO[bytes], path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """``raw``, or a compressing stream into it for a ``.gz`` or ``.zst`` path (what
    :func:`open_binary` reads back)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".gz":
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            yield out
    elif suffix == ".zst":
        import zstandard

        with zstandard.ZstdCompressor().stream_writer(raw, closefd=False) as out:
            yield out
    else:
        yield raw
