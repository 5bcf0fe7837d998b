"""Exact DEFLATE contexts on the numba size engine (``deflate_parse``, ``deflate_trees``).

A context holds zlib's parse of its prefix (the state, the pending block's symbol
frequencies, the hash tables) and the last window of its bytes. ``size_with(suffix)``
continues a copy of that parse over the suffix to the end and sizes the last block from its
frequencies: the size of one-shot ``zlib.compress(prefix + suffix)``, byte for byte,
without encoding the history's pending block again as a stream copy's flush does.

The engine follows zlib 1.2.13's rules. Before a process first uses it, :func:`available`
compares it with the zlib this Python links on inputs that exercise every rule (every
level, window slides, block ends, stored and fixed blocks); where any size differs (another
zlib, zlib-ng), it warns and the compressors keep their stream-copy contexts.
"""

from __future__ import annotations

import functools
import threading
import warnings
import zlib
from typing import Sequence

import numpy as np

from . import deflate_parse as engine

# Bytes around the DEFLATE data: zlib's 2-byte header and Adler-32; gzip's 10 and 8.
CONTAINER_BYTES = {"raw": 0, "zlib": 6, "gzip": 18}
# Bytes kept before the parse position: the window a match may reach, and the data since
# the window's base (a stored block's bytes), with room so trimming is rare.
_KEEP = engine.WINDOW_SIZE
_TRIM_AT = 4 * engine.WINDOW_SIZE
_NO_TABLES = np.empty(0, np.int32)


class EngineContext:
    """Exact (``exactness = "exact"``): sizes equal one-shot compression of prefix+suffix.

    Two parses of the prefix are held: the safe one (stopped where zlib's next step needs
    the lookahead) and a speculative one that goes on while its steps read only the
    prefix's bytes and hold for any suffix of MIN_SUFFIX bytes or more, so that most
    queries do not parse the prefix's last few hundred bytes again. Queries read a copy of
    the window that each thread keeps (made again after an ``extend``) and write the suffix
    after it; the shared state is only read, so threads can query side by side.
    """

    exactness = "exact"

    def __init__(self, level: int, container: str, prefix: bytes = b"") -> None:
        self._level = level
        self._params = engine.LEVELS[level]
        self._framing = CONTAINER_BYTES[container]
        *self._safe, self._tables = engine.new_state()
        self._safe = tuple(self._safe)
        self._ahead = tuple(a.copy() for a in self._safe)
        self._inserted = np.empty(engine.MIN_LOOKAHEAD + engine.MAX_MATCH, np.int64)
        self._speculated = 0
        self._data = np.empty(max(1024, len(prefix)), np.uint8)
        self._offset = 0  # stream position of self._data[0]
        self._end = 0  # stream position after the last byte held
        self._version = 0
        self._threads = threading.local()
        if prefix:
            self.extend(prefix)

    def size_with(self, suffix: bytes) -> int:
        # A batch of one, without sizes_with's joining.
        """The exact zlib size of prefix + ``suffix``, from the engine's parse."""
        data = np.frombuffer(suffix, np.uint8)
        return int(self._query(data, np.array((0, len(data)), np.int64), len(data), len(data))[0])

    def sizes_with(self, suffixes: Sequence[bytes]) -> np.ndarray:
        """``size_with`` of each suffix, in one call of the engine (no interpreter lock
        held while it runs)."""
        lengths = np.fromiter(map(len, suffixes), np.int64, len(suffixes))
        bounds = np.zeros(len(suffixes) + 1, np.int64)
        np.cumsum(lengths, out=bounds[1:])
        joined = np.frombuffer(b"".join(suffixes), np.uint8)
        return self._query(joined, bounds, int(lengths.max(initial=0)), int(lengths.min(initial=engine.MIN_SUFFIX)))

    def _query(self, joined: np.ndarray, bounds: np.ndarray, longest: int, shortest: int) -> np.ndarray:
        """The engine's sizes of the suffixes ``joined[bounds[k]:bounds[k + 1]]``: from the
        speculative parse where every suffix is long enough for it, else from the safe one."""
        window, start = self._window(longest)
        ahead = shortest >= engine.MIN_SUFFIX
        state, lfreq, dfreq = self._ahead if ahead else self._safe
        raw = engine.queries(
            window,
            start,
            self._end,
            joined,
            bounds,
            state,
            lfreq,
            dfreq,
            self._tables,
            self._private(ahead),
            self._level,
            *self._params,
        )
        return raw + self._framing

    def extend(self, data: bytes) -> None:
        """Parse ``data`` into the held window and pending block."""
        if not data:
            return
        if len(data) >= engine.MIN_SUFFIX:  # the speculative parse holds: go on from it
            self._safe = tuple(a.copy() for a in self._ahead)
        else:
            engine.retract(self._data, self._offset, self._tables, self._inserted, self._speculated)
        self._speculated = 0
        self._hold(np.frombuffer(data, np.uint8))
        engine.advance(self._data, self._offset, self._end, *self._safe, self._tables, self._level, *self._params)
        self._ahead = tuple(a.copy() for a in self._safe)
        self._speculated = engine.speculate(
            self._data, self._offset, self._end, *self._ahead, self._tables, self._inserted, self._level, *self._params
        )
        self._version += 1
        self._trim()
        if self._end > 2**31 - 2**20:
            raise ValueError("an exact DEFLATE context holds at most 2 GiB")

    def fork(self) -> "EngineContext":
        """An independent copy of the held state."""
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin._safe = tuple(a.copy() for a in self._safe)
        twin._ahead = tuple(a.copy() for a in self._ahead)
        for name in ("_tables", "_data", "_inserted"):
            setattr(twin, name, getattr(self, name).copy())
        twin._threads = threading.local()
        return twin

    @property
    def nbytes(self) -> int:
        """Memory the context holds (hash tables, kept bytes, the two states), and one
        thread's copies of the window and the hash tables."""
        arrays = [self._tables, self._data, self._inserted, *self._safe, *self._ahead]
        scratch = [getattr(self._threads, name, None) for name in ("window", "tables")]
        return sum(a.nbytes for a in arrays) + sum(a.nbytes for a in scratch if a is not None)

    def _private(self, ahead: bool) -> np.ndarray:
        """This thread's copy of the hash tables (made again after an ``extend``), which its
        queries write and put back; queries from the safe parse (suffixes shorter than
        MIN_SUFFIX, which must not see the speculative inserts) overlay the shared tables."""
        if not ahead:
            return _NO_TABLES
        local = self._threads
        tables = getattr(local, "tables", None)
        if tables is None or local.tables_version != self._version:
            tables = local.tables = self._tables.copy()
            local.tables_version = self._version
        return tables

    def _window(self, room: int) -> tuple[np.ndarray, int]:
        """This thread's copy of the bytes a query can read (from the window's base or a
        match's reach before the safe parse position, whichever is later), with ``room``
        bytes free after them; and the stream position of its first byte."""
        local = self._threads
        state = self._safe[0]
        start = max(self._offset, state[engine.BASE], state[engine.STRSTART] - engine.MAX_DIST - 1)
        held = self._end - start
        window = getattr(local, "window", None)
        if window is None or local.version != self._version or len(window) < held + room:
            window = np.empty(held + max(room, 4096) * 2, np.uint8)
            window[:held] = self._data[start - self._offset : self._end - self._offset]
            local.window, local.version = window, self._version
        return window, start

    def _hold(self, data: np.ndarray) -> None:
        """Append ``data`` (``extend`` has trimmed the bytes no step can reach again, so a
        growth moves at most a few windows)."""
        held = self._end - self._offset
        if held + len(data) > len(self._data):
            grown = np.empty(max(2 * len(self._data), held + len(data)), np.uint8)
            grown[:held] = self._data[:held]
            self._data = grown
        self._data[held : held + len(data)] = data
        self._end += len(data)

    def _trim(self) -> None:
        """Drop the bytes before the window's base and more than a window behind the parse,
        once they are many; shrink a buffer grown for a long prefix."""
        held = self._end - self._offset
        state = self._safe[0]
        keep_from = min(state[engine.BASE], state[engine.STRSTART] - _KEEP)
        if held > _TRIM_AT and keep_from > self._offset:
            cut = keep_from - self._offset
            kept = self._data[cut:held]
            if len(self._data) > 2 * _TRIM_AT:
                self._data = np.empty(2 * _TRIM_AT, np.uint8)
            self._data[: held - cut] = kept
            self._offset += cut


def _probes() -> list[tuple[bytes, bytes]]:
    """Prefix/suffix pairs that reach every rule: text, runs, noise (stored blocks), long
    inputs (slides and full symbol buffers), and empty sides."""
    rng = np.random.default_rng(7)
    words = [bytes(rng.integers(97, 123, rng.integers(2, 9)).astype(np.uint8)) for _ in range(400)]
    text = b" ".join(words[i] for i in rng.integers(0, len(words), 30000))
    noise = rng.integers(0, 256, 70000).astype(np.uint8).tobytes()
    runs = b"a" * 5000 + b"ab" * 3000 + bytes(range(256)) * 20
    return [
        (b"", b""),
        (b"", text[:2000]),
        (text[:100000], text[100000:104000]),
        (noise[:40000], text[:3000]),
        (runs, noise[:300]),
        (text[:70000] + noise[:30000], runs),
        (noise, b""),
    ]


@functools.lru_cache(maxsize=None)
def available(level: int) -> bool:
    """Whether the engine's sizes equal this process's zlib at ``level`` on the probes
    (checked once per level); warns where they differ."""
    if level not in engine.LEVELS:
        return False
    for prefix, suffix in _probes():
        expected = len(zlib.compress(prefix + suffix, level))
        got = EngineContext(level, "zlib", prefix).size_with(suffix)
        if got != expected:
            warnings.warn(
                f"zipkit's DEFLATE size engine gives {got} bytes where zlib {zlib.ZLIB_RUNTIME_VERSION} "
                f"gives {expected} at level {level}: exact zlib/gzip contexts copy zlib streams instead "
                f"(correct, slower)",
                RuntimeWarning,
                stacklevel=3,
            )
            return False
    return True
