"""Deduplication, the step every curation pipeline runs before selection: exact duplicates
(the same text after normalisation) and near duplicates (MinHash LSH over n-gram shingles).
Each cluster of duplicates keeps its first record, in input order.

Normalisation: Unicode NFKC, case folded, whitespace runs made one space. Shingles: the
``ngram``-token sequences of that text, tokens by the ``unicode`` count (words, and one per
CJK ideograph or kana; :func:`zipkit.budget.unicode_tokens`); a text shorter than ``ngram``
tokens is one shingle. Near duplicates: the MinHash signature of each record's shingles
(``num_perm`` permutations, rensa's or datasketch's), cut into ``bands`` bands of ``rows``
values, with ``bands`` and ``rows`` chosen for ``threshold`` as datasketch's LSH chooses them
(least false positive plus false negative probability); two records sharing a band are in one
cluster, and clusters join transitively. Exact duplicates always share every band.

The signatures are a per-record step (:class:`Signatures`): the local and Ray executors
compute them over a pool's shards, and the clustering runs here on their band hashes (8 bytes
per band per record).
"""

from __future__ import annotations

import hashlib
import os
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterator

import numba
import numpy as np

from .budget import _UNICODE
from .steps import Columns, Step

MODES = ("near", "exact")
CHUNK = 2000  # records whose shingles are held at once
BACKENDS = ("rensa", "datasketch")
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: a band's values folded into one 64-bit hash


def normalize(text: str) -> str:
    """NFKC, case folded, whitespace runs as one space, ends stripped."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def shingles(text: str, ngram: int) -> list[str]:
    """The ``ngram``-token sequences of the normalised text (one for a shorter text, none
    for an empty one)."""
    return _shingles(normalize(text), ngram)


def _shingles(normalised: str, ngram: int) -> list[str]:
    tokens = _UNICODE.findall(normalised)
    if len(tokens) <= ngram:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[k : k + ngram]) for k in range(len(tokens) - ngram + 1)]


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm that minimise the false positive
    probability (Jaccard below ``threshold``, sharing a band) plus the false negative one
    (above it, sharing none), equally weighted: the rule of datasketch's MinHashLSH."""
    low, high = np.linspace(0.0, threshold, 1001), np.linspace(threshold, 1.0, 1001)

    def area(y: np.ndarray, x: np.ndarray) -> float:  # the trapezoid rule
        return float(((y[1:] + y[:-1]) / 2 * np.diff(x)).sum())

    best, params = float("inf"), (1, num_perm)
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = area(1 - (1 - low**rows) ** bands, low)
            fn = area((1 - high**rows) ** bands, high)
            if fp + fn < best:
                best, params = fp + fn, (bands, rows)
    return params


def minhash(sets: list[list[str]], num_perm: int, seed: int, backend: str) -> np.ndarray:
    """Each shingle set's MinHash signature, (records, num_perm) uint64."""
    out = np.zeros((len(sets), num_perm), dtype=np.uint64)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    try:
        __import__(backend)
    except ImportError:
        raise ImportError(f"near-duplicate removal with {backend} needs it: pip install 'zipkit[dedup]'") from None
    if backend == "rensa":
        import rensa

        for k, tokens in enumerate(sets):
            sketch = rensa.RMinHash(num_perm=num_perm, seed=seed)
            sketch.update(tokens)
            out[k] = sketch.digest()
    elif backend == "datasketch":
        from datasketch import MinHash

        encoded = ([t.encode("utf-8", "surrogatepass") for t in tokens] for tokens in sets)
        for k, sketch in enumerate(MinHash.bulk(encoded, num_perm=num_perm, seed=seed)):  # permutations made once
            out[k] = sketch.hashvalues
    return out


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(records, bands) uint64: each band's ``rows`` values folded into one hash."""
    out = np.zeros((len(signatures), bands), dtype=np.uint64)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps, as a hash wants
        for b in range(bands):
            h = np.full(len(signatures), np.uint64(b + 1), dtype=np.uint64)
            for r in range(rows):
                h = h * _MULTIPLIER + signatures[:, b * rows + r] + np.uint64(1)
            out[:, b] = h
    return out


def text_hashes(texts: list[str]) -> np.ndarray:
    """An 8-byte BLAKE2b hash of each normalised text (uint64)."""
    return _hashes([normalize(t) for t in texts])


def _hashes(normalised: list[str]) -> np.ndarray:
    raw = b"".join(hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest() for t in normalised)
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)


@dataclass(frozen=True)
class Signatures(Step):
    """Per record: ``text_hash`` (the normalised text's), and for near duplicates ``band_0``
    ... ``band_{bands-1}``, its band hashes."""

    mode: str = "near"
    ngram: int = 5
    num_perm: int = 128
    bands: int = 0
    rows: int = 0
    seed: int = 0
    backend: str = "rensa"
    name = "dedup"

    def build(self, workers: int | None):
        def run(records: Any) -> tuple[Columns, None]:
            n = len(records)
            hashes = np.zeros(n, dtype=np.uint64)
            bands = np.zeros((n, self.bands), dtype=np.uint64)
            # A chunk at a time: a record's shingles are tens of times its text, so only one
            # chunk's are ever held.
            for start in range(0, n, CHUNK):
                texts = [normalize(records.text(i)) for i in range(start, min(start + CHUNK, n))]  # once
                hashes[start : start + len(texts)] = _hashes(texts)
                if self.mode == "near":
                    sets = [_shingles(t, self.ngram) for t in texts]
                    signatures = minhash(sets, self.num_perm, self.seed, self.backend)
                    bands[start : start + len(texts)] = band_hashes(signatures, self.bands, self.rows)
            return {"text_hash": hashes, **{f"band_{b}": bands[:, b].copy() for b in range(self.bands)}}, None

        return run


@numba.njit(cache=True)
def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        parent[i], i = root, parent[i]
    return root


@numba.njit(cache=True)
def _union_all(parent: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """Join each pair; a cluster's root is its smallest position (the first in the input)."""
    for k in range(len(a)):
        x, y = _find(parent, a[k]), _find(parent, b[k])
        if x < y:
            parent[y] = x
        elif y < x:
            parent[x] = y


def cluster_roots(keys: list[np.ndarray]) -> np.ndarray:
    """Each record's cluster, as the position of its first record: records sharing a value
    of any key array are in one cluster, transitively."""
    n = len(keys[0]) if keys else 0
    parent = np.arange(n, dtype=np.int64)
    for key in keys:
        order = np.argsort(key, kind="stable")
        same = key[order][1:] == key[order][:-1]
        _union_all(parent, order[:-1][same].astype(np.int64), order[1:][same].astype(np.int64))
    return np.fromiter((_find(parent, i) for i in range(n)), dtype=np.int64, count=n) if n else parent


@dataclass
class Deduplication:
    """What :func:`dedup` returns.

    Parameters
    ----------
    kept : numpy.ndarray
        Input indices of the records kept (the first of each cluster, and every record
        without a duplicate), in input order.
    removed : numpy.ndarray
        The others.
    clusters : list of list of int
        Each cluster of two or more records as input indices, its kept record first.
    manifest : dict
        The parameters, the pool, versions and timings.
    source : optional
        What :func:`dedup` was given: where :meth:`records` finds the kept rows again.
    """

    kept: np.ndarray
    removed: np.ndarray
    clusters: list[list[int]]
    manifest: dict
    source: Any = field(default=None, repr=False)

    def records(self, source: Any = None) -> Iterator[dict]:
        """The kept input records, in input order.

        Parameters
        ----------
        source : optional
            The input, for a result that does not know it.
        """
        from .io.hf import rows_at
        from .results.selection import as_input

        return rows_at(as_input(self.source if source is None else source), self.kept)

    def to_dataset(self, source: Any = None) -> Any:
        """The kept rows as a ``datasets.Dataset`` (every column).

        Parameters
        ----------
        source : optional
            The input, for a result that does not know it.
        """
        from .io.hf import selected_dataset
        from .results.selection import as_input

        return selected_dataset(as_input(self.source if source is None else source), self.kept)

    def report(self) -> dict:
        """The report ``zipkit dedup --report`` writes: kept, removed, clusters, manifest."""
        return {
            "kept": len(self.kept),
            "removed": self.removed.tolist(),
            "clusters": self.clusters,
            "manifest": self.manifest,
        }

    def write_report(self, path: str | os.PathLike) -> None:
        """Write :meth:`report` as JSON to ``path``, atomically.

        Parameters
        ----------
        path : str or os.PathLike
            The report's file.
        """
        from .io import write_json

        write_json(path, self.report())


def dedup(
    records: Any,
    *,
    mode: str = "near",
    threshold: float = 0.8,
    ngram: int = 5,
    num_perm: int = 128,
    seed: int = 0,
    backend: str = "rensa",
    engine: Any = "local",
    progress: bool | None = None,
) -> Deduplication:
    """Drop duplicates from ``records`` (anything :func:`zipkit.read_records` reads), keeping
    the first record of each cluster, in input order.

    Exact duplicates share their text after normalisation (Unicode NFKC, case folded,
    whitespace runs made one space). Near duplicates share a band of their MinHash signatures
    over ``ngram``-token shingles of that text, the bands and rows chosen for ``threshold``
    as datasketch's LSH chooses them; clusters join transitively.

    Parameters
    ----------
    records
        The pool: a path, a folder or glob of shards, a URL, a ``datasets.Dataset``, a list.
    mode : str, default "near"
        ``"exact"``: the same normalised text; ``"near"``: MinHash LSH, which also joins the
        exact duplicates.
    threshold : float, default 0.8
        The Jaccard similarity of shingle sets the LSH bands are tuned to.
    ngram : int, default 5
        Tokens in a shingle.
    num_perm : int, default 128
        MinHash permutations.
    seed : int, default 0
        The MinHash permutations' seed.
    backend : str, default "rensa"
        ``"rensa"`` (Rust) or ``"datasketch"``.
    engine : str or executor, default "local"
        Where the signatures are computed: ``"local"``, ``"ray"`` or an executor.
    progress : bool, optional
        Progress bars (default: on a terminal).
    """
    from . import executors
    from .api import open_pool
    from .manifest import versions

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold={threshold!r} must be a Jaccard similarity between 0 and 1 (exclusive)")
    for name, value in (("ngram", ngram), ("num_perm", num_perm)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}={value!r} is not a whole number >= 1")
    started = time.perf_counter()
    bands, rows = lsh_params(threshold, num_perm) if mode == "near" else (0, 0)
    executor = executors.get(engine)
    pool = open_pool(records, executor, progress=progress)
    step = Signatures(mode, ngram, num_perm, bands, rows, seed, backend)
    signed = time.perf_counter()
    columns, _ = pool.map(step)
    signed = time.perf_counter() - signed
    keys = [columns["text_hash"]] + [columns[f"band_{b}"] for b in range(bands)]
    roots = cluster_roots(keys)
    index = pool.index
    first = roots == np.arange(len(roots))
    members: dict[int, list[int]] = {}
    for position in np.flatnonzero(~first):
        members.setdefault(int(roots[position]), []).append(int(index[position]))
    clusters = [[int(index[root]), *rest] for root, rest in sorted(members.items())]
    manifest = {
        "command": "dedup",
        "parameters": {
            "mode": mode,
            "threshold": threshold,
            "ngram": ngram,
            "num_perm": num_perm,
            "bands": bands,
            "rows": rows,
            "seed": seed,
            "backend": backend,
        },
        "records": len(roots),
        "kept": int(first.sum()),
        "removed": int((~first).sum()),
        "clusters": len(clusters),
        "pool": pool.describe(),
        "engine": executor.describe(),
        "versions": {**versions(), **_backend_version(backend, mode)},
        "timings": {"signatures": round(signed, 6), "total": round(time.perf_counter() - started, 6)},
    }
    return Deduplication(index[first], np.sort(index[~first]), clusters, manifest, records)


def _backend_version(backend: str, mode: str) -> dict:
    if mode != "near":
        return {}
    from importlib.metadata import version

    return {backend: version(backend)}
