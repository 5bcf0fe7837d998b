"""The Compressor protocol, its shared machinery and the generic contexts.

A backend subclasses :class:`Compressor` and supplies ``compress``, ``decompress``
and ``_stream`` (a streaming compressor with ``compress``/``flush``); it overrides
``context`` where its library can do better than recompressing the prefix.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence

import numpy as np

from ..parallel import parallel_sizes

EXACT = "exact"
CONDITIONAL = "conditional"


class Context(Protocol):
    """Size of ``prefix + suffix`` for many suffixes, without recompressing the prefix."""

    exactness: str

    def size_with(self, suffix: bytes) -> int:
        """Bytes of the compressed stream of the prefix followed by ``suffix``.

        Parameters
        ----------
        suffix : bytes
            The candidate; the context is left unchanged.
        """
        ...

    # Optional: ``sizes_with(suffixes) -> ndarray``, the sizes of many suffixes in one call,
    # where a backend answers a batch faster than one call each (the DEFLATE engine).
    def extend(self, data: bytes) -> None:
        """Append ``data`` to the prefix, so that later queries size it too.

        Parameters
        ----------
        data : bytes
            What joins the prefix (ZIP: a selected record).
        """
        ...

    def fork(self) -> "Context":
        """An independent copy: extending one leaves the other unchanged."""
        ...


@dataclass(frozen=True)
class OptionSpec:
    """A backend option accepted in a spec string (``"zstd:3,history=65536"``)."""

    default: int
    low: int
    high: int
    help: str


class Compressor:
    """Base of every backend. Subclasses set the class attributes below.

    Build one from a spec with :func:`zipkit.compressors.get` (``get("zstd:3")``) rather than
    directly.

    A backend sets ``name`` (what specs call it), ``library`` (the distribution whose version
    manifests record), ``levels`` (a range), ``default_level``, ``option_specs`` (the options a
    spec may give, each an ``OptionSpec`` of default, bounds and help) and
    ``default_exactness`` (:data:`EXACT` where its default context is exact, else
    :data:`CONDITIONAL`); it implements ``compress``, ``decompress`` and ``_stream`` (a
    streaming compressor with ``compress``/``flush``), and ``_conditional_context(prefix)``
    where it has a conditional context.

    Parameters
    ----------
    level : int, optional
        The compression level, within ``levels``; ``default_level`` when not given.
    **options : int
        Backend options named in ``option_specs`` (``history=``, ``window=``, ...).
    """

    name: str = ""
    library: str = ""
    levels: range = range(0)
    default_level: int = 0
    option_specs: dict[str, OptionSpec] = {}
    # What ``context()`` gives by default: "exact" only where an exact context is cheap.
    default_exactness: str = CONDITIONAL

    def __init__(self, level: int | None = None, **options: int) -> None:
        self.level = self.default_level if level is None else level
        self.options = dict(options)
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"zipkit.compressors.get({self.spec!r})"

    # --- what every backend supplies ---------------------------------------------------
    def compress(self, data: bytes) -> bytes:
        """The complete compressed stream of ``data`` (headers and trailers included).

        Parameters
        ----------
        data : bytes
            What to compress.
        """
        raise NotImplementedError

    def decompress(self, data: bytes) -> bytes:
        """The bytes that :meth:`compress` was given.

        Parameters
        ----------
        data : bytes
            A stream :meth:`compress` made.
        """
        raise NotImplementedError

    def _stream(self) -> Any:
        """A fresh streaming compressor with ``compress(data) -> bytes`` and ``flush() -> bytes``."""
        raise NotImplementedError

    def _conditional_context(self, prefix: bytes) -> Context:
        raise NotImplementedError

    # --- shared behaviour ---------------------------------------------------------------
    @property
    def spec(self) -> str:
        """The canonical spec string; ``compressors.get(c.spec)`` rebuilds ``c``."""
        opts = "".join(f",{k}={v}" for k, v in sorted(self.options.items()) if v != self.option_specs[k].default)
        return f"{self.name}:{self.level}{opts}"

    def option(self, key: str) -> int:
        """The value of a backend option: the one given, else its default.

        Parameters
        ----------
        key : str
            An option of ``option_specs`` (``"history"``, ``"window"``, ...).
        """
        return self.options.get(key, self.option_specs[key].default)

    def size(self, data: bytes) -> int:
        """Bytes of the complete compressed stream of ``data``, headers and trailers included.

        Parameters
        ----------
        data : bytes
            What to size.
        """
        return len(self.compress(data))

    def sizes(self, items: Sequence[bytes], workers: int | None = None) -> np.ndarray:
        """``size`` of every item, computed in a thread pool; int64 array aligned with ``items``.

        Parameters
        ----------
        items : sequence of bytes
            What to size, each on its own.
        workers : int, optional
            Threads; None or 0 for every core.
        """
        return parallel_sizes(self.size, items, workers)

    def stream_size(self, chunks: Iterable[bytes]) -> int:
        """Size of the compressed stream of the concatenated chunks, in bounded memory.

        Parameters
        ----------
        chunks : iterable of bytes
            The data in pieces; they are compressed as one stream, never joined.
        """
        stream = self._stream()
        total = 0
        for chunk in chunks:
            total += len(stream.compress(chunk))
        return total + len(stream.flush())

    def context(self, prefix: bytes = b"", exact: bool | None = None) -> Context:
        """A context over ``prefix``.

        ``exact=None`` gives the backend's best fast context (see ``default_exactness``);
        ``exact=True`` insists on sizes equal to one-shot compression (recompressing the
        prefix per query where the library cannot copy a stream); ``exact=False`` asks
        for the cheaper conditional estimate.

        Parameters
        ----------
        prefix : bytes, default b''
            What the context holds at first (ZIP: the selected set).
        exact : bool, optional
            None for the backend's default context, True for exact sizes, False for the
            conditional estimate.
        """
        if exact is None:
            exact = self.default_exactness == EXACT
        if exact:
            return RecompressContext(self, prefix)
        return self._conditional_context(prefix)

    def describe(self) -> dict[str, Any]:
        """Facts for manifests and ``zipkit compressors``."""
        return {
            "spec": self.spec,
            "name": self.name,
            "level": self.level,
            "options": {k: self.option(k) for k in self.option_specs},
            "library": self.library,
            "default_context": self.default_exactness,
        }


class RecompressContext:
    """Exact for any backend: every query compresses prefix+suffix from scratch.

    The honest fallback where a library cannot copy a running stream; its cost grows
    with the prefix.

    Parameters
    ----------
    compressor : Compressor
        The backend that compresses.
    prefix : bytes, default b''
        What the context holds at first.
    """

    exactness = EXACT

    def __init__(self, compressor: Compressor, prefix: bytes = b"") -> None:
        self._compressor = compressor
        self._prefix = bytearray(prefix)

    def size_with(self, suffix: bytes) -> int:
        """Bytes of ``prefix + suffix`` compressed in one go.

        Parameters
        ----------
        suffix : bytes
            The candidate.
        """
        return self._compressor.size(bytes(self._prefix) + bytes(suffix))

    def extend(self, data: bytes) -> None:
        """Append ``data`` to the prefix.

        Parameters
        ----------
        data : bytes
            What joins the prefix.
        """
        self._prefix += data

    def fork(self) -> "RecompressContext":
        """An independent copy."""
        return RecompressContext(self._compressor, self._prefix)


class HistoryContext:
    """Conditional: the suffix is compressed with the last ``history`` bytes as its history.

    ``size_with(s)`` is ``base + cost(s)``: ``base`` is the true one-shot size of all the
    context holds, measured again (once, at the next query) after every ``extend``, and
    ``cost(s)`` the bytes the library emits for ``s`` given the history, less the constant
    framing (the cost of an empty suffix). Only the suffix is estimated: summing the
    estimated costs of the extensions instead would charge each its own frame and entropy
    tables, and drift upward (zstd:3 +27 % after 400 Alpaca records). Subclasses implement
    ``_prepare`` (build whatever the library needs from ``self._history``) and
    ``_raw_cost``; the history is never empty when ``_raw_cost`` is called.
    """

    exactness = CONDITIONAL

    def __init__(self, compressor: Compressor, prefix: bytes, history: int) -> None:
        self._compressor = compressor
        self._limit = history
        self._held = [bytes(prefix)]  # everything the context holds, for its true size
        self._history = self._held[0][-history:] if history else b""
        self._base: int | None = compressor.size(self._held[0])
        self._base_lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._local = threading.local()  # per-thread library objects, rebuilt lazily
        if self._history:
            self._prepare()
            self._framing = self._raw_cost(b"")
        else:
            self._framing = self._compressor.size(b"")

    def _prepare(self) -> None:
        pass

    def _raw_cost(self, suffix: bytes) -> int:
        raise NotImplementedError

    @property
    def base(self) -> int:
        """The one-shot compressed size of everything the context holds."""
        if self._base is None:
            with self._base_lock:  # queries run in threads: measure once
                if self._base is None:
                    self._base = self._compressor.size(b"".join(self._held))
        return self._base

    def cost(self, suffix: bytes) -> int:
        """Bytes that ``suffix`` adds given the history."""
        if not self._history:
            # Nothing to condition on: the one-shot stream, so an empty context is exact.
            return self._compressor.size(suffix) - self._framing
        return self._raw_cost(suffix) - self._framing

    def size_with(self, suffix: bytes) -> int:
        """``base + cost(suffix)``: the held bytes' true size plus the suffix's estimated cost."""
        return self.base + self.cost(suffix)

    def extend(self, data: bytes) -> None:
        """Hold ``data`` too; the base is measured again at the next query."""
        self._held.append(bytes(data))
        self._base = None
        if self._limit:
            self._history = (self._history + self._held[-1])[-self._limit :]
        self._reset()

    def fork(self) -> "HistoryContext":
        """An independent copy that shares nothing mutable."""
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin._held = list(self._held)
        twin._base_lock = threading.Lock()
        twin._local = threading.local()
        return twin
