"""ZIP-FIT: rank source records by compression distance to a target task.

Obbad, Miranda, Koyejo et al. 2024 ("ZIP-FIT: Embedding-Free Data Selection via
Compression-Based Alignment"). With C(s) the size of the complete compressed stream of
the bytes s (headers included),

    NCD(x, t)    = (C(x + t) - min(C(x), C(t))) / max(C(x), C(t))     source first, no separator
    alignment(x) = 1 - mean over every target t of NCD(x, t)

and the best-aligned sources are selected. ``aggregate="max"`` uses the nearest target
instead of the mean; ``order="target_first"`` compresses t + x.

Cost is one compression of x + t per pair; everything else is done once: C(x) and C(t)
singly, and for DEFLATE a context of the pair's first part that every pair extends, so a
pair parses only the part after it (exact: one-shot sizes byte for byte). In source-first
order the DEFLATE size engine holds every source and sizes all the targets after it in one
call, which holds no interpreter lock, so blocks of sources run in threads. Otherwise
(zlib's stream copies past ``CONTEXT_MIN_BYTES``, other libraries, target-first order) the
per-pair work is Python-bound enough that threads contend for the GIL, and blocks run in
worker processes. A block returns two numbers per source, so memory does not grow with
sources x targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from .. import compressors
from ..compressors.base import EXACT
from ..identity import fingerprint
from ..io import Payloads, read_records
from ..manifest import Timings
from ..parallel import map_blocks, map_threads, resolve_workers
from ..progress import bar
from ..ranking import ranked_selection
from ..results import Selection
from ..steps import Step
from .params import BUDGETS, COMPRESSOR, FILTERS, PROGRESS, SERIALIZER, TARGET, WORKERS
from .spec import SELECT, Method, Param

ORDERS = ("source_first", "target_first")
AGGREGATES = ("mean", "max")
DEFAULT_COMPRESSOR = "gzip:6"
# A context costs more to build than compressing its prefix (256 KiB of hash tables; before
# the size engine, a ~256 KiB stream copy per query), so a cached prefix only pays off for
# prefixes well past a few hundred bytes. The threshold was measured with stream copies.
CONTEXT_MIN_BYTES = 768
# Pairs per block sent to a worker (~0.2 s of work): large enough to hide the hand-off,
# small enough to balance the load and update progress.
_PAIRS_PER_BLOCK = 16384
# Below this many pairs a process pool costs more to start than it saves.
_MIN_PAIRS_FOR_PROCESSES = 20_000
# Per-process cap on cached target contexts in target_first order (each holds ~270 KiB).
_MAX_TARGET_CONTEXTS = 1024


@dataclass(frozen=True)
class _Job:
    """Everything a worker needs, sent once per worker process."""

    compressor: str
    targets: tuple[bytes, ...]
    target_sizes: np.ndarray
    order: str
    context_min_bytes: int


def zipfit_scores(
    records: Any,
    target: Any,
    *,
    compressor: str,
    serializer: str,
    order: str,
    aggregate: str,
    context_min_bytes: int = CONTEXT_MIN_BYTES,
    workers: int | None = None,
    progress: bool | None = None,
) -> np.ndarray:
    """ZIP-FIT alignment of every record with the target set (float64, aligned with records).

    ``records`` and ``target`` are anything :func:`zipkit.read_records` reads (a list of
    strings included). ``compressor`` is any spec of :mod:`zipkit.compressors` except stored
    DEFLATE (level 0), which makes the score a function of length. ``workers`` is the number
    of processes (default one per core; 1 runs in this process).
    """
    step = ZipfitStep(target_texts(target, serializer), compressor, serializer, order, aggregate, context_min_bytes)
    return step.scorer(resolve_workers(workers), progress)(records)


def target_texts(target: Any, serializer: str) -> tuple[bytes, ...]:
    """The target set as the bytes each example is compressed as."""
    texts = read_records(target).payloads(serializer)
    if not len(texts):
        raise ValueError("the target set is empty: ZIP-FIT needs at least one target example")
    return tuple(bytes(t) for t in texts)


@dataclass(frozen=True)
class ZipfitStep(Step):
    """Each record's alignment with the target set (column ``zipfit``); a worker compresses
    the targets once."""

    targets: tuple[bytes, ...]
    compressor: str
    serializer: str
    order: str
    aggregate: str
    context_min_bytes: int
    workers: int | None = None
    progress: bool | None = False
    name = "zipfit"

    def params(self) -> dict:
        return {**super().params(), "targets": fingerprint(len(self.targets), data=b"\0".join(self.targets))}

    def scorer(self, workers: int, progress: bool | None) -> Callable[[Any], np.ndarray]:
        """The function that scores a batch of records against the targets (compressed once here)."""
        _check_options(self.order, self.aggregate)
        engine = compressors.get(self.compressor)  # refuses stored DEFLATE, with the reason
        job = _Job(engine.spec, self.targets, engine.sizes(self.targets), self.order, int(self.context_min_bytes))

        def score(records: Any) -> np.ndarray:
            ncd_mean, ncd_min = _run(job, read_records(records).payloads(self.serializer), workers, progress)
            return 1.0 - (ncd_mean if self.aggregate == "mean" else ncd_min)

        return score

    def build(self, workers: int | None):
        score = self.scorer(resolve_workers(self.workers or workers), self.progress)
        return lambda records: ({"zipfit": score(records)}, None)


def _check_options(order: str, aggregate: str) -> None:
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")


def _run(job: _Job, sources: Payloads, workers: int, progress: bool | None):
    n = len(sources)
    ncd_mean = np.empty(n, dtype=np.float64)
    ncd_min = np.empty(n, dtype=np.float64)
    per_block = max(1, _PAIRS_PER_BLOCK // len(job.targets))
    spans = [(a, min(a + per_block, n)) for a in range(0, n, per_block)]
    with bar(n, f"zipfit ({job.compressor}, {len(job.targets)} targets)", "rec", progress) as pbar:
        for (start, stop), (mean, low) in _blocks(job, sources, spans, workers):
            ncd_mean[start:stop], ncd_min[start:stop] = mean, low
            pbar.update(stop - start)
    return ncd_mean, ncd_min


def _blocks(job: _Job, sources: Payloads, spans: list, workers: int) -> Iterator:
    """(span, (mean NCD, min NCD)) per block, in order: in threads where the DEFLATE size
    engine scores the pairs (it holds no interpreter lock), else in worker processes when
    worth it, else here."""
    scorer = _Scorer(job)
    blocks = ([bytes(sources[i]) for i in range(start, stop)] for start, stop in spans)
    several = workers > 1 and len(spans) > 1
    if several and scorer.batched:
        yield from zip(spans, map_threads(scorer, blocks, workers))
    elif several and len(sources) * len(job.targets) >= _MIN_PAIRS_FOR_PROCESSES:
        yield from zip(spans, map_blocks(_Scorer, (job,), blocks, min(workers, len(spans))))
    else:
        yield from zip(spans, map(scorer, blocks))


class _Scorer:
    """Compressed sizes of source + target pairs, and their NCD against every target."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.compressor = compressors.get(job.compressor)
        # Only DEFLATE's contexts are exact and cheap (the size engine); other libraries
        # compress each pair whole.
        self.cached = self.compressor.default_exactness == EXACT
        # The size engine sizes every target after a source in one call, at about the cost of
        # compressing each pair whole for the shortest sources and less for longer ones, so it
        # holds every source, however short (zlib's stream copies only past context_min_bytes).
        self.batched = self.cached and hasattr(self.compressor.context(b"", exact=True), "sizes_with")
        self._target_contexts: dict[int, Any] = {}

    def __call__(self, sources: list) -> tuple[np.ndarray, np.ndarray]:
        """Mean and minimum NCD of every source in a block against all targets."""
        t_sizes = self.job.target_sizes
        mean = np.empty(len(sources), dtype=np.float64)
        low = np.empty(len(sources), dtype=np.float64)
        for k, source in enumerate(sources):
            x = bytes(source)
            x_size = self.compressor.size(x)
            ncd = (self.pair_sizes(x) - np.minimum(x_size, t_sizes)) / np.maximum(x_size, t_sizes)
            mean[k], low[k] = ncd.mean(), ncd.min()
        return mean, low

    def pair_sizes(self, x: bytes) -> np.ndarray:
        """C(x + t) (or C(t + x)) for every target t, as int64."""
        targets, size = self.job.targets, self.compressor.size
        if self.job.order == "source_first":
            if self.batched:
                return self.compressor.context(x, exact=True).sizes_with(targets)
            if self.cached and len(x) >= self.job.context_min_bytes:
                context = self.compressor.context(x, exact=True)
                return np.fromiter(map(context.size_with, targets), np.int64, len(targets))
            return np.fromiter((size(x + t) for t in targets), np.int64, len(targets))
        return np.fromiter((self._target_first(j, t, x) for j, t in enumerate(targets)), np.int64, len(targets))

    def _target_first(self, j: int, t: bytes, x: bytes) -> int:
        if not self.cached or len(t) < self.job.context_min_bytes:
            return self.compressor.size(t + x)
        context = self._target_contexts.get(j)
        if context is None:
            if len(self._target_contexts) >= _MAX_TARGET_CONTEXTS:
                return self.compressor.size(t + x)
            context = self._target_contexts[j] = self.compressor.context(t, exact=True)
        return context.size_with(x)


PARAMS = (
    TARGET,
    *BUDGETS,
    *FILTERS,
    Param("threshold", None, float, "keep only records aligned at least this much", group="zipfit", commands=(SELECT,)),
    COMPRESSOR.but(default=DEFAULT_COMPRESSOR),
    SERIALIZER,
    Param("order", "source_first", str, "C(x+t) or C(t+x)", choices=ORDERS, group="zipfit"),
    Param(
        "aggregate",
        "mean",
        str,
        "mean NCD over the targets (the paper) or the nearest target",
        choices=AGGREGATES,
        group="zipfit",
    ),
    WORKERS,
    Param(
        "context_min_bytes",
        CONTEXT_MIN_BYTES,
        int,
        "the shortest first part of a pair held as a compressor context",
        cli=False,
        minimum=0,
    ),
    PROGRESS,
)


def _step(p: dict) -> ZipfitStep:
    if p["target"] is None:
        raise ValueError("zipfit needs target= (--target FILE): the target task's examples")
    return ZipfitStep(
        target_texts(p["target"], p["serializer"]),
        compressors.get(p["compressor"]).spec,
        p["serializer"],
        p["order"],
        p["aggregate"],
        p["context_min_bytes"],
        p["workers"],
        p["progress"],
    )


def score(pool, p: dict) -> tuple[dict, dict]:
    """Each record's ZIP-FIT alignment with the target."""
    step = _step(p)
    columns, _ = pool.map(step)
    return columns, {"compressor": compressors.get(step.compressor).describe()}


def select(pool, p: dict, timings: Timings) -> Selection:
    """The best-aligned records under a budget (count or tokens), ties by position.

    ``threshold`` keeps only records whose alignment is at least that value; with a
    threshold and no budget, every record that passes is selected, best first.
    """
    with timings.stage("scores"):
        columns, info = score(pool, p)
    scores = columns["zipfit"]
    eligible = scores >= p["threshold"] if p["threshold"] is not None else None
    return ranked_selection(
        pool,
        p,
        keys=scores,
        score=f"ZIP-FIT alignment, 1 - {p['aggregate']} NCD to the target",
        timings=timings,
        eligible=eligible,
        filter_name=f"threshold={p['threshold']}",
        extra=info,
    )


METHOD = Method(
    name="zipfit",
    summary="the records closest to --target by compression distance",
    params=PARAMS,
    column="zipfit",
    direction="higher",
    select=select,
    score=score,
    scores=True,
    score_summary="alignment with --target (1 - mean NCD)",
)
