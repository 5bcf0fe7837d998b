"""ZIP: Algorithm 1 of "Entropy Law" (Yin et al. 2024), exact and fast.

Every record carries a score pi, its compression ratio (lower = less redundant =
preferred). Each round takes the K1 lowest pi among records still in the pool (global),
re-scores them against the selected set D' and keeps the K2 lowest (coarse), then picks
K3 of those greedily, each time the one whose addition to the round's picks gives the
lowest ratio (fine). A ratio is ``bytes / compressed bytes`` of the framed list of
records (``str(list)`` with the ``repr`` serializer, as the authors compute it).

Speed comes from incremental contexts: D' and the round's picks are each held in a
compressor context, so scoring a candidate costs about one compression of the
candidate, not of D' (exact for zlib/gzip: the DEFLATE size engine, or stream copies
where it does not apply). Candidates are scored
in a thread pool; bottom-k and greedy bookkeeping are numba kernels.

Variants:
- ``paper`` (default): as printed. Unpicked K2 candidates stay in the pool with their
  updated scores; exactly ``budget`` records; float64 scores.
- ``official``: the authors' public script: float32 scores, all K2 leave the pool each
  round, ceil(budget/K3)*K3 records. Unlike the script it never selects a record twice
  and breaks ties by pool position.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import compressors, interrupts
from ..budget import check_budget, check_fits
from ..errors import warn_caller
from ..identity import plain
from ..io import Payloads, Serializer, atomic_output, get_serializer
from ..kernels import argmin_available, bottom_k, fill
from ..manifest import Timings
from ..parallel import parallel_sizes
from ..progress import bar
from ..ratio import framed_record_ratios
from ..results import Selection
from ..steps import Step
from .params import BUDGETS, COMPRESSOR, FILTERS, PROGRESS, SERIALIZER, WORKERS
from .spec import Method, Param

VARIANTS = ("paper", "official")
FINE_CONTEXTS = ("batch", "selected")
# Below this many candidates a query pool's hand-off costs more than it saves.
_MIN_QUERIES_FOR_POOL = 8
# What each variant compresses and with what, unless the caller says otherwise.
_DEFAULTS = {"paper": ("zlib:9", "text"), "official": ("zlib:9", "repr")}
_BY_VARIANT = "default: by --variant: zlib:9 with text (paper), zlib:9 with repr (official)"

PARAMS = (
    *BUDGETS,
    *FILTERS,
    Param("k1", 10000, int, "global window", group="zip", minimum=1),
    Param("k2", 200, int, "coarse window", group="zip", minimum=1),
    Param("k3", 100, int, "fine picks per round", group="zip", minimum=1),
    Param("variant", "paper", str, "Algorithm 1 as printed, or the authors' script", choices=VARIANTS, group="zip"),
    COMPRESSOR.but(help=f"{COMPRESSOR.help} ({_BY_VARIANT})"),
    SERIALIZER.but(default=None, help=f"{SERIALIZER.help} ({_BY_VARIANT})"),
    Param(
        "fine_context",
        "batch",
        str,
        "what the fine stage compresses with: the round's picks, or D' too",
        choices=FINE_CONTEXTS,
        group="zip",
    ),
    Param("dedup", False, bool, "drop exact duplicate texts first", action="switch", group="zip"),
    Param(
        "exact",
        None,
        bool,
        "force exact (or conditional) compressor contexts; default the backend's",
        action="bool",
        group="zip",
    ),
    WORKERS,
    Param("checkpoint", None, str, "save the state here (.npz) every few rounds", changes_result=False, group="zip"),
    Param("checkpoint_every", 5, int, "rounds between checkpoints", changes_result=False, group="zip"),
    Param(
        "resume",
        False,
        bool,
        "continue the run saved in --checkpoint",
        action="switch",
        changes_result=False,
        group="zip",
    ),
    PROGRESS,
)


@dataclass(frozen=True)
class ZipSingletons(Step):
    """ZIP's initial scores: each record's ratio framed as a one-record selected set."""

    compressor: str
    serializer: str
    workers: int | None = None
    progress: bool | None = False
    name = "zip_singletons"

    def build(self, workers: int | None):
        engine, frame = compressors.get(self.compressor), get_serializer(self.serializer)
        workers = self.workers or workers

        def run(records):
            payloads = records.payloads(self.serializer)
            every = np.arange(len(payloads))
            return {"ratio": framed_record_ratios(payloads, engine, frame, every, workers, self.progress)}, None

        return run


# The parameters that can change a selection (the checkpoint's identity; the spec's
# changes_result says the same for manifests and scores folders).
_DECISIVE = tuple(param.name for param in PARAMS if param.changes_result)


def select(pool, p: dict, timings: Timings) -> Selection:
    """Select records by ZIP (parameters: :data:`PARAMS`; the module docstring says what the
    variants and stages do). ``k3 <= k2 <= k1``; ``official`` counts records only; with
    ``checkpoint`` the state is saved every ``checkpoint_every`` rounds and ``resume=True``
    continues an existing checkpoint of the same run, to the same result."""
    config = _Config.build(p)
    path = _checkpoint_path(p["checkpoint"], p["checkpoint_every"], p["resume"])
    budget, budget_tokens, tokenizer = p["budget"], p["budget_tokens"], p["tokenizer"]
    # Refused before the pass over every record, for a pool left in its shards.
    texts_for_dedup = pool.need_records("dedup=True (--dedup)") if p["dedup"] else None
    with timings.stage("initial_scores"):
        initial = pool.map(ZipSingletons(config.compressor.spec, config.serializer, p["workers"], p["progress"]))[0][
            "ratio"
        ]
    with timings.stage("prepare"):
        n = len(pool)
        available = np.ones(n, dtype=np.bool_) if texts_for_dedup is None else _first_of_each_text(texts_for_dedup)
        dedup_removed = int(n - available.sum())
        check_budget(n - dedup_removed, budget, budget_tokens)
        tokens = pool.tokens(tokenizer) if budget_tokens is not None else None
        if tokens is not None:
            check_fits(budget_tokens, tokens[available], tokenizer)
        # Records that can enter a window (all of them, when the pool is in memory).
        candidates = _candidates(pool, config, initial, available, tokens)
        payloads = (
            pool.records.payloads(config.serializer)
            if candidates is None
            else pool.payloads_at(candidates, config.serializer)
        )
    here = slice(None) if candidates is None else candidates
    run = _Run(
        payloads, config, available[here].copy(), None if tokens is None else tokens[here], p["workers"], timings
    )
    # Hashing the pool is only needed to match a checkpoint to its run.
    identity = _identity(pool, p, config) if path is not None else {}
    if p["resume"] and path is not None and path.exists():
        run.restore(path, identity)
    elif path is not None and path.exists() and not p["resume"]:
        raise FileExistsError(
            f"checkpoint {path} exists: pass resume=True (--resume) to continue it, or remove it to start over"
        )
    else:
        run.score_singletons(initial[here])
    started = time.perf_counter()
    with (
        bar(run.expected_rounds(), "zip rounds", "round", p["progress"]) as pbar,
        interrupts.deferred(path is not None) as signalled,
    ):
        pbar.update(run.rounds)
        while not run.done():
            run.round()
            pbar.set_postfix(selected=len(run.selected), refresh=False)  # shown by the update
            pbar.update(1)
            if path is not None and (run.rounds % p["checkpoint_every"] == 0 or signalled.pending):
                with timings.stage("checkpoint"):
                    run.save(path, identity)
            signalled.raise_if_signalled()  # after a round and its save: --resume goes on from here
    timings["loop"] = round(time.perf_counter() - started, 6)
    # Only the official variant can run out short of a budget the pool holds (budgets larger
    # than the pool are refused before any work): it drops the unpicked K2 candidates.
    if run.exhausted and config.variant == "official":
        warn_caller(_exhausted(config, run), RuntimeWarning)
    selected = np.asarray(run.selected, dtype=np.int64)
    if candidates is not None:
        selected = candidates[selected]
    scores = np.asarray(run.picked_scores, dtype=np.float64)
    topped_up = 0
    if tokens is not None:
        with timings.stage("top_up"):
            extra, extra_scores = _top_up(run, initial, available, candidates, selected, tokens, budget_tokens)
        selected, scores, topped_up = (
            np.concatenate([selected, extra]),
            np.concatenate([scores, extra_scores]),
            len(extra),
        )
    if not len(selected):
        raise ValueError(f"ZIP selected nothing: no record fits budget_tokens={budget_tokens}; raise the budget")
    manifest = {
        "parameters": {
            "compressor": config.compressor.spec,
            "serializer": config.serializer,
            "checkpoint": str(path) if path else None,
        },
        "score": {"is": "compression ratio of the round's picks with the record (fine stage)", "order": "ascending"},
        "compressor": config.compressor.describe(),
        "context_exactness": run.exactness,
        "dedup_removed": dedup_removed,
        "candidates": n if candidates is None else len(candidates),
        "rounds": run.rounds,
        "exhausted": run.exhausted,
        "selected": len(selected),
        "topped_up": topped_up,
        "tokens_selected": int(tokens[selected].sum()) if tokens is not None else None,
    }
    return Selection(selected, scores, manifest)


def _top_up(
    run: "_Run",
    initial: np.ndarray,
    available: np.ndarray,
    candidates: np.ndarray | None,
    selected: np.ndarray,
    tokens: np.ndarray,
    budget_tokens: int,
) -> tuple[np.ndarray, np.ndarray]:
    """After the greedy rounds stop at the first pick that does not fit, the rest of a token
    budget is filled from the records left, lowest score first (the scores the rounds left
    them: a record never in a window keeps its own ratio), each one that fits taken and each
    one that does not skipped, so that ZIP fills the budget to within one record as every
    method does. No compression is needed, so a pool in its shards needs no other records."""
    left = budget_tokens - int(tokens[selected].sum())
    if left <= 0:
        return np.zeros(0, np.int64), np.zeros(0)
    pi = initial.astype(run.dtype)
    pi[slice(None) if candidates is None else candidates] = run.pi
    free = available.copy()
    free[selected] = False
    rest = np.flatnonzero(free)
    order = rest[np.lexsort((rest, pi[rest]))]
    extra = order[fill(tokens[order], left)]
    return extra.astype(np.int64), pi[extra].astype(np.float64)


def _candidates(
    pool, config: "_Config", initial: np.ndarray, available: np.ndarray, tokens: np.ndarray | None
) -> np.ndarray | None:
    """For a pool left in its shards, the records any window can reach, in position order;
    None for a pool in memory (all of them).

    Each round's window holds the ``k1`` lowest scores of the records still in the pool, and
    only records that were in a window have other scores than their initial ones. So after
    ``r`` rounds at most ``r * k1`` records have been in a window, and the ``R * k1`` records
    of lowest initial score (ties by position) hold every window of a run of ``R`` rounds:
    an untouched one of them precedes, in the window's order, every record outside. ``R`` is
    the rounds the budget allows at most (for a token budget: as if the smallest records were
    picked)."""
    if pool.records is not None:
        return None
    picks = config.budget
    if picks is None:  # the most records that fit the token budget
        picks = int(np.searchsorted(np.cumsum(np.sort(tokens[available])), config.budget_tokens, side="right"))
    reach = math.ceil(max(picks, 1) / config.k3) * config.k1
    if reach >= int(available.sum()):
        return np.flatnonzero(available)
    eligible = np.flatnonzero(available)
    order = eligible[
        np.lexsort((eligible, initial[eligible].astype(np.float32 if config.variant == "official" else np.float64)))
    ]
    return np.sort(order[:reach])


@dataclass
class _Config:
    variant: str
    k1: int
    k2: int
    k3: int
    compressor: compressors.Compressor
    serializer: str
    frame: Serializer
    fine_context: str
    exact: bool | None
    budget: int | None
    budget_tokens: int | None

    @classmethod
    def build(cls, params: dict) -> "_Config":
        """From parameters the spec resolved (its choices already checked: variant, fine_context)."""
        variant = params["variant"]
        if not params["k3"] <= params["k2"] <= params["k1"]:
            raise ValueError(
                f"ZIP needs k3 <= k2 <= k1 (fine <= coarse <= global window), got "
                f"k1={params['k1']}, k2={params['k2']}, k3={params['k3']}"
            )
        if variant == "official" and params["budget_tokens"] is not None:
            raise ValueError(
                "the official variant counts records, as the authors' script does: "
                "use budget=N, or variant='paper' for a token budget"
            )
        default_compressor, default_serializer = _DEFAULTS[variant]
        serializer = default_serializer if params["serializer"] is None else params["serializer"]
        return cls(
            variant=variant,
            k1=int(params["k1"]),
            k2=int(params["k2"]),
            k3=int(params["k3"]),
            compressor=compressors.get(default_compressor if params["compressor"] is None else params["compressor"]),
            serializer=serializer,
            frame=get_serializer(serializer),
            fine_context=params["fine_context"],
            exact=params["exact"],
            budget=params["budget"],
            budget_tokens=params["budget_tokens"],
        )


def _checkpoint_path(checkpoint: str | os.PathLike | None, every: int, resume: bool) -> Path | None:
    if not isinstance(every, (int, np.integer)) or isinstance(every, bool) or every < 1:
        raise ValueError(f"checkpoint_every={every!r} is not a whole number of rounds >= 1")
    if checkpoint is None:
        if resume:
            raise ValueError("resume=True continues the run saved in a checkpoint: name it with checkpoint=PATH")
        return None
    return Path(checkpoint)


def _exhausted(config: _Config, run: "_Run") -> str:
    return (
        f"ZIP (official) ran out of pool after {run.rounds} rounds with {len(run.selected)} "
        f"records selected, short of budget={config.budget}: the authors' script drops "
        f"the unpicked K2 candidates of every round; lower the budget or use "
        f"variant='paper'"
    )


def _first_of_each_text(records) -> np.ndarray:
    """Which records stay in the pool under dedup: the first of each distinct text."""
    available = np.ones(len(records), dtype=np.bool_)
    texts = records.payloads("text")
    seen: set[bytes] = set()
    for i in range(len(records)):
        key = hashlib.blake2b(texts[i], digest_size=16).digest()
        if key in seen:
            available[i] = False
        seen.add(key)
    return available


def _identity(pool, params: dict, config: _Config) -> dict:
    """What makes a run this run: every parameter that can change its result (defaults
    resolved) and the exact bytes it selects from (the serializer's, and the text that
    dedup compares). A checkpoint continues only the run with the same identity."""
    decisive = {k: plain(v) for k, v in params.items() if k in _DECISIVE}
    ids = pool.identity(config.serializer)
    return {
        **decisive,
        "compressor": config.compressor.spec,
        "serializer": config.serializer,
        "pool": ids.get("bytes", ids),
        "pool_text": ids.get("text", ids.get("bytes", ids)),
    }


def _differences(saved: dict, identity: dict) -> str:
    keys = sorted(k for k in saved.keys() | identity.keys() if saved.get(k) != identity.get(k))
    named = [
        "the pool's records" if k.startswith("pool") else f"{k} ({saved.get(k)!r} there, {identity.get(k)!r} now)"
        for k in keys
    ]
    return ", ".join(dict.fromkeys(named))


class _Anchor:
    """A context over a framed list of records, and the byte length of what it holds."""

    def __init__(self, context: Any, frame: Serializer, length: int, members: int) -> None:
        self.context, self.frame = context, frame
        self.length, self.members = length, members

    @classmethod
    def empty(cls, config: _Config) -> "_Anchor":
        context = config.compressor.context(config.frame.head, exact=config.exact)
        return cls(context, config.frame, len(config.frame.head), 0)

    def piece(self, item: bytes) -> bytes:
        return self.frame.sep + bytes(item) if self.members else bytes(item)

    def add(self, item: bytes) -> None:
        piece = self.piece(item)
        self.context.extend(piece)
        self.length += len(piece)
        self.members += 1


@dataclass
class _Run:
    payloads: Payloads
    config: _Config
    available: np.ndarray
    tokens: np.ndarray | None
    workers: int | None
    timings: Timings
    selected: list = field(default_factory=list)
    picked_scores: list = field(default_factory=list)
    rounds: int = 0
    exhausted: bool = False
    stopped_by_tokens: bool = False
    refused: int | None = None  # the pick that would have gone over the token budget

    def __post_init__(self) -> None:
        self.dtype = np.float32 if self.config.variant == "official" else np.float64
        self.pi = np.zeros(len(self.payloads), dtype=self.dtype)
        self.anchor = _Anchor.empty(self.config)
        self.exactness = self.anchor.context.exactness
        self.tokens_used = 0
        if self.config.variant == "official":
            self.target = math.ceil(self.config.budget / self.config.k3) * self.config.k3
        else:
            self.target = self.config.budget  # None under a token budget

    # --- scoring -------------------------------------------------------------------------
    def _ratios(self, anchor: _Anchor, positions: np.ndarray) -> np.ndarray:
        payloads, frame = self.payloads, anchor.frame
        suffixes = [anchor.piece(payloads[int(i)]) + frame.tail for i in positions]
        context = anchor.context
        sizes = parallel_sizes(
            context.size_with,
            suffixes,
            self.workers,
            min_items=_MIN_QUERIES_FOR_POOL,
            batch=getattr(context, "sizes_with", None),
        )
        lengths = anchor.length + np.fromiter(map(len, suffixes), dtype=np.int64, count=len(suffixes))
        return (lengths / sizes).astype(self.dtype)

    def score_singletons(self, ratios: np.ndarray) -> None:
        """Each record's own ratio (:class:`ZipSingletons`); records already out of the pool
        (dedup) keep none."""
        todo = np.flatnonzero(self.available)
        self.pi[todo] = ratios[todo].astype(self.dtype)

    # --- the loop ------------------------------------------------------------------------
    def done(self) -> bool:
        if self.stopped_by_tokens or self.exhausted:
            return True
        if self.target is not None and len(self.selected) >= self.target:
            return True
        if not self.available.any():
            self.exhausted = True
            return True
        return False

    def expected_rounds(self) -> int | None:
        return None if self.target is None else math.ceil(self.target / self.config.k3)

    def round(self) -> None:
        config = self.config
        with self.timings.stage("global"):
            window = bottom_k(self.pi, self.available, config.k1)
        with self.timings.stage("coarse"):
            self.pi[window] = self._ratios(self.anchor, window)
            coarse = window[np.lexsort((window, self.pi[window]))[: config.k2]]
        with self.timings.stage("fine"):
            picks, scores = self._fine(np.sort(coarse))
        leaving = coarse if config.variant == "official" else picks
        self.available[leaving] = False
        if config.fine_context == "batch":
            for i in picks:
                self.anchor.add(self.payloads[i])
        self.selected += picks
        self.picked_scores += scores
        self.rounds += 1

    def _wanted(self, n_coarse: int) -> int:
        wanted = min(self.config.k3, n_coarse)
        if self.config.variant == "paper" and self.target is not None:
            wanted = min(wanted, self.target - len(self.selected))
        return wanted

    def _fine(self, coarse: np.ndarray) -> tuple[list, list]:
        """Greedy K3 picks from ``coarse`` (sorted by position, so ties go to the lower one)."""
        if self.config.fine_context == "selected":
            anchor = self.anchor  # D' itself grows with each pick
        else:
            anchor = _Anchor.empty(self.config)
        taken = np.zeros(len(coarse), dtype=np.bool_)
        values = np.empty(len(coarse), dtype=np.float64)
        picks, scores = [], []
        for _ in range(self._wanted(len(coarse))):
            free = np.flatnonzero(~taken)
            values[free] = self._ratios(anchor, coarse[free])
            j = argmin_available(values, taken)
            pick = int(coarse[j])
            if self.tokens is not None:
                if self.tokens_used + self.tokens[pick] > self.config.budget_tokens:
                    self.stopped_by_tokens, self.refused = True, pick
                    break
                self.tokens_used += int(self.tokens[pick])
            taken[j] = True
            picks.append(pick)
            scores.append(float(values[j]))
            anchor.add(self.payloads[pick])
        return picks, scores

    # --- checkpoints ---------------------------------------------------------------------
    def save(self, path: Path, identity: dict) -> None:
        with atomic_output(path) as out:
            np.savez(
                out,
                identity=np.array(json.dumps(identity, sort_keys=True)),
                selected=np.asarray(self.selected, np.int64),
                scores=np.asarray(self.picked_scores, np.float64),
                available=self.available,
                pi=self.pi,
                rounds=self.rounds,
                tokens_used=self.tokens_used,
                stopped_by_tokens=self.stopped_by_tokens,
            )

    def restore(self, path: Path, identity: dict) -> None:
        state = _load_checkpoint(path, len(self.payloads))
        saved = json.loads(str(state["identity"]))
        if saved != identity:
            raise ValueError(
                f"checkpoint {path} was made by another run (it differs in "
                f"{_differences(saved, identity) or 'its format'}); resume with "
                f"the same parameters and pool, or remove the checkpoint or point "
                f"--checkpoint elsewhere to start over"
            )
        self.selected = state["selected"].tolist()
        self.picked_scores = state["scores"].tolist()
        self.available[:] = state["available"]
        self.pi[:] = state["pi"]
        self.rounds = int(state["rounds"])
        self.tokens_used = int(state["tokens_used"])
        self.stopped_by_tokens = bool(state["stopped_by_tokens"])
        # Rebuild D' the way the run built it, one record at a time, so that contexts whose
        # estimates depend on how the prefix was fed (the conditional ones) agree too.
        for i in self.selected:
            self.anchor.add(self.payloads[i])


# What a checkpoint holds: name -> (dims, kind): dims 0 for a scalar, "n" for one per record.
_CHECKPOINT = {
    "identity": (0, "U"),
    "selected": (1, "i"),
    "scores": (1, "f"),
    "available": ("n", "b"),
    "pi": ("n", "f"),
    "rounds": (0, "i"),
    "tokens_used": (0, "i"),
    "stopped_by_tokens": (0, "b"),
}


def _load_checkpoint(path: Path, n: int) -> dict[str, np.ndarray]:
    """The arrays of a checkpoint, each of the kind and shape a run of ``n`` records saves,
    or an error that names the file: a damaged one must never be resumed from."""
    damaged = f"checkpoint {path} is damaged: remove it or point --checkpoint elsewhere"
    try:
        with np.load(path, allow_pickle=False) as archive:
            state = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{damaged} (it cannot be read: {err})") from None
    for name, (dims, kind) in _CHECKPOINT.items():
        value = state.get(name)
        shape_ok = value is not None and (
            value.ndim == 0 if dims == 0 else value.ndim == 1 and (dims != "n" or len(value) == n)
        )
        if not shape_ok or value.dtype.kind != kind:
            raise ValueError(f"{damaged} ({name} is missing or not what a run of {n} records saves)")
    selected = state["selected"]
    if len(selected) != len(state["scores"]) or (
        selected.size and not (0 <= selected.min() and selected.max() < n and len(np.unique(selected)) == len(selected))
    ):
        raise ValueError(f"{damaged} (its selected positions are out of range or repeated)")
    return state


METHOD = Method(
    name="zip",
    summary="a low-redundancy set, greedily by compression ratio (the entropy-law paper)",
    params=PARAMS,
    column="ratio",
    direction="lower",
    select=select,
)
