"""ZIP: Algorithm 1 of "Entropy Law" (Yin et al. 2024), exact and fast.

Every record carries a score pi, its compression ratio (lower = less redundant =
preferred). Each round takes the K1 lowest pi among records still in the pool (global),
re-scores them against the selected set D' and keeps the K2 lowest (coarse), then picks
K3 of those greedily, each time the one whose addition to the round's picks gives the
lowest ratio (fine). A ratio is ``bytes / compressed bytes`` of the framed list of
records (``str(list)`` with the ``repr`` serializer, as the authors compute it).

Speed comes from incremental contexts: D' and the round's picks are each held in a
compressor context, so scoring a candidate costs about one compression of the
candidate, not of D' (exact for zlib/gzip through stream copies). Candidates are scored
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

from . import compressors, interrupts
from .budget import check_budget, check_fits, token_counts
from .errors import warn_caller
from .io import atomic_output
from .kernels import argmin_available, bottom_k
from .manifest import Timings, versions
from .parallel import parallel_sizes
from .progress import bar
from .ratio import framed_record_ratios
from .io import Payloads, Records, Serializer, get_serializer
from .selection import Selection

VARIANTS = ("paper", "official")
FINE_CONTEXTS = ("batch", "selected")
# A context query costs 10-100 µs (it parses the candidate against the held window), so a
# thread pool pays off from a handful of candidates on; the fine stage's batches shrink to K2 - K3.
_MIN_QUERIES_FOR_POOL = 8
# Parameters of select_zip that cannot change which records it selects.
_HOW_TO_RUN = ("records", "workers", "checkpoint", "checkpoint_every", "resume", "progress")
# What each variant compresses and with what, unless the caller says otherwise.
_DEFAULTS = {"paper": ("zlib:9", "text"), "official": ("zlib:9", "repr")}


def select_zip(records: Records, *, budget: int | None = None, budget_tokens: int | None = None,
               tokenizer: str = "whitespace", k1: int = 10000, k2: int = 200, k3: int = 100,
               variant: str = "paper", compressor: str | None = None, serializer: str | None = None,
               fine_context: str = "batch", dedup: bool = False, exact: bool | None = None,
               workers: int | None = None, checkpoint: str | os.PathLike | None = None,
               checkpoint_every: int = 5, resume: bool = False,
               progress: bool | None = None) -> Selection:
    """Select records by ZIP.

    Parameters
    ----------
    budget, budget_tokens
        Records to select, or tokens (counted by ``tokenizer``: ``whitespace``, ``bytes`` or a
        Hugging Face tokenizer path/name); exactly one. ``official`` counts records only.
    k1, k2, k3
        Window sizes of the global, coarse and fine stages (K3 <= K2 <= K1).
    variant
        ``"paper"`` or ``"official"`` (module docstring).
    compressor, serializer
        Default ``zlib:9`` with ``text`` (paper) or ``repr`` (official).
    fine_context
        ``"batch"``: the fine stage scores ratio(T + [d]) over the round's picks T alone, as
        both the paper and the script do. ``"selected"``: ratio(D' + T + [d]).
    dedup
        Drop records whose text equals an earlier record's before selecting.
    exact
        Context exactness (``compressors.Compressor.context``); ``None`` = the backend's
        default (exact for zlib/gzip; for zstd a long-history conditional context, which
        sees redundancy older than DEFLATE's 32 KiB window).
    workers
        Threads for scoring (default: one per core).
    checkpoint, checkpoint_every, resume
        Save the state to ``checkpoint`` (.npz) every ``checkpoint_every`` rounds; with
        ``resume=True`` an existing checkpoint of the same run is continued, to the same result.
    """
    # Every argument, captured before any other local exists: a parameter added later reaches
    # the manifest, and (unless it only says how the run is carried out) the checkpoint's
    # identity, without a second edit.
    arguments = {name: value for name, value in locals().items() if name != "records"}
    params = {name: value for name, value in arguments.items() if name not in _HOW_TO_RUN}
    config = _Config.build(records, params)
    path = _checkpoint_path(checkpoint, checkpoint_every, resume)
    timings = Timings()
    with timings.stage("prepare"):
        available = _initial_pool(records, dedup)
        dedup_removed = int(len(records) - available.sum())
        check_budget(len(records) - dedup_removed, budget, budget_tokens)
        tokens = token_counts(records, tokenizer) if budget_tokens is not None else None
        if tokens is not None:
            check_fits(budget_tokens, tokens[available], tokenizer)
    run = _Run(records.payloads(config.serializer), config, available, tokens, workers, timings)
    # Hashing the pool is only needed to match a checkpoint to its run.
    identity = _identity(records, params, config) if path is not None else {}
    if resume and path is not None and path.exists():
        run.restore(path, identity)
    elif path is not None and path.exists() and not resume:
        raise FileExistsError(f"checkpoint {path} exists: pass resume=True (--resume) to continue "
                              f"it, or remove it to start over")
    else:
        with timings.stage("initial_scores"):
            run.score_singletons(progress, _singletons_elsewhere(records, config))
    started = time.perf_counter()
    with bar(run.expected_rounds(), "zip rounds", "round", progress) as pbar, \
            interrupts.deferred(path is not None) as signalled:
        pbar.update(run.rounds)
        while not run.done():
            run.round()
            pbar.set_postfix(selected=len(run.selected), refresh=False)  # shown by the update
            pbar.update(1)
            if path is not None and (run.rounds % checkpoint_every == 0 or signalled.pending):
                with timings.stage("checkpoint"):
                    run.save(path, identity)
            signalled.raise_if_signalled()  # after a round and its save: --resume goes on from here
    timings["loop"] = round(time.perf_counter() - started, 6)
    if not run.selected:
        raise ValueError(f"ZIP selected nothing: its first pick has {int(tokens[run.refused])} "
                         f"{tokenizer} tokens, more than budget_tokens={budget_tokens}; raise the "
                         f"budget")
    if run.exhausted:
        warn_caller(_exhausted(config, run), RuntimeWarning)
    manifest = {
        "method": "zip", "parameters": {**arguments, "compressor": config.compressor.spec,
                                        "serializer": config.serializer,
                                        "checkpoint": str(path) if path else None},
        "score": {"is": "compression ratio of the round's picks with the record (fine stage)",
                  "order": "ascending"},
        "compressor": config.compressor.describe(), "context_exactness": run.exactness,
        "pool": records.describe(), "dedup_removed": dedup_removed,
        "rounds": run.rounds, "exhausted": run.exhausted, "selected": len(run.selected),
        "tokens_selected": int(tokens[run.selected].sum()) if tokens is not None else None,
        "versions": versions(), "timings": timings,
    }
    return Selection(np.asarray(run.selected, dtype=np.int64),
                     np.asarray(run.picked_scores, dtype=np.float64), manifest)


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
    def build(cls, records: Records, params: dict) -> "_Config":
        variant = params["variant"]
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        for name in ("k1", "k2", "k3"):
            value = params[name]
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not params["k3"] <= params["k2"] <= params["k1"]:
            raise ValueError(f"ZIP needs k3 <= k2 <= k1 (fine <= coarse <= global window), got "
                             f"k1={params['k1']}, k2={params['k2']}, k3={params['k3']}")
        if params["fine_context"] not in FINE_CONTEXTS:
            raise ValueError(f"fine_context must be one of {FINE_CONTEXTS}, got {params['fine_context']!r}")
        if variant == "official" and params["budget_tokens"] is not None:
            raise ValueError("the official variant counts records, as the authors' script does: "
                             "use budget=N, or variant='paper' for a token budget")
        default_compressor, default_serializer = _DEFAULTS[variant]
        serializer = default_serializer if params["serializer"] is None else params["serializer"]
        return cls(variant=variant, k1=int(params["k1"]), k2=int(params["k2"]), k3=int(params["k3"]),
                   compressor=compressors.get(default_compressor if params["compressor"] is None
                                              else params["compressor"]),
                   serializer=serializer, frame=get_serializer(serializer),
                   fine_context=params["fine_context"], exact=params["exact"],
                   budget=params["budget"], budget_tokens=params["budget_tokens"])


def _checkpoint_path(checkpoint: str | os.PathLike | None, every: int, resume: bool) -> Path | None:
    if not isinstance(every, (int, np.integer)) or isinstance(every, bool) or every < 1:
        raise ValueError(f"checkpoint_every={every!r} is not a whole number of rounds >= 1")
    if checkpoint is None:
        if resume:
            raise ValueError("resume=True continues the run saved in a checkpoint: name it with "
                             "checkpoint=PATH")
        return None
    return Path(checkpoint)


def _exhausted(config: _Config, run: "_Run") -> str:
    if config.variant == "official":
        return (f"ZIP (official) ran out of pool after {run.rounds} rounds with {len(run.selected)} "
                f"records selected, short of budget={config.budget}: the authors' script drops "
                f"the unpicked K2 candidates of every round; lower the budget or use "
                f"variant='paper'")
    wanted = (f"budget={config.budget}" if config.budget is not None
              else f"budget_tokens={config.budget_tokens} ({run.tokens_used} tokens taken)")
    return (f"ZIP (paper) selected every record of the pool ({len(run.selected)}) before reaching "
            f"{wanted}")


def _initial_pool(records: Records, dedup: bool) -> np.ndarray:
    available = np.ones(len(records), dtype=np.bool_)
    if dedup:
        texts = records.payloads("text")
        seen: set[bytes] = set()
        for i in range(len(records)):
            key = hashlib.blake2b(texts[i], digest_size=16).digest()
            if key in seen:
                available[i] = False
            seen.add(key)
    return available


def _singletons_elsewhere(records: Records, config: _Config) -> np.ndarray | None:
    """Every record's initial ratio from the engine in use when it is not this process (the
    initial scores are ZIP's one pass over the whole pool; its loop stays here)."""
    from .engine import remote_pass

    done = remote_pass(records, "zip_singletons", {"compressor": config.compressor.spec,
                                                   "serializer": config.serializer})
    return None if done is None else done.columns["ratio"]


def _identity(records: Records, params: dict, config: _Config) -> dict:
    """What makes a run this run: every parameter that can change its result (defaults
    resolved) and the exact bytes it selects from (the serializer's, and the text that
    dedup compares). A checkpoint continues only the run with the same identity."""
    return {**{k: _plain(v) for k, v in params.items()},
            "compressor": config.compressor.spec, "serializer": config.serializer,
            "pool": records.payloads(config.serializer).digest(),
            "pool_text": records.payloads("text").digest()}


def _plain(value: Any) -> Any:
    """A parameter as JSON can hold it (numpy integers and paths become int and str)."""
    if isinstance(value, np.integer):
        return int(value)
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


def _differences(saved: dict, identity: dict) -> str:
    keys = sorted(k for k in saved.keys() | identity.keys() if saved.get(k) != identity.get(k))
    named = ["the pool's records" if k.startswith("pool") else
             f"{k} ({saved.get(k)!r} there, {identity.get(k)!r} now)" for k in keys]
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
        sizes = parallel_sizes(anchor.context.size_with, suffixes, self.workers,
                               min_items=_MIN_QUERIES_FOR_POOL)
        lengths = anchor.length + np.fromiter(map(len, suffixes), dtype=np.int64, count=len(suffixes))
        return (lengths / sizes).astype(self.dtype)

    def score_singletons(self, progress: bool | None = None, ratios: np.ndarray | None = None) -> None:
        """Each record's own ratio; records already out of the pool (dedup) are skipped.
        ``ratios``: every record's, computed elsewhere (the Ray engine)."""
        todo = np.flatnonzero(self.available)
        if ratios is None:
            ratios = framed_record_ratios(self.payloads, self.config.compressor, self.config.frame, todo,
                                          self.workers, progress)
        else:  # every record's, from a pass on another engine
            ratios = ratios[todo]
        self.pi[todo] = ratios.astype(self.dtype)

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
            coarse = window[np.lexsort((window, self.pi[window]))[:config.k2]]
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
            np.savez(out, identity=np.array(json.dumps(identity, sort_keys=True)),
                     selected=np.asarray(self.selected, np.int64),
                     scores=np.asarray(self.picked_scores, np.float64), available=self.available,
                     pi=self.pi, rounds=self.rounds, tokens_used=self.tokens_used,
                     stopped_by_tokens=self.stopped_by_tokens)

    def restore(self, path: Path, identity: dict) -> None:
        state = _load_checkpoint(path, len(self.payloads))
        saved = json.loads(str(state["identity"]))
        if saved != identity:
            raise ValueError(f"checkpoint {path} was made by another run (it differs in "
                             f"{_differences(saved, identity) or 'its format'}); resume with "
                             f"the same parameters and pool, or remove the checkpoint or point "
                             f"--checkpoint elsewhere to start over")
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
_CHECKPOINT = {"identity": (0, "U"), "selected": (1, "i"), "scores": (1, "f"),
               "available": ("n", "b"), "pi": ("n", "f"), "rounds": (0, "i"),
               "tokens_used": (0, "i"), "stopped_by_tokens": (0, "b")}


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
        shape_ok = value is not None and (value.ndim == 0 if dims == 0 else value.ndim == 1 and
                                          (dims != "n" or len(value) == n))
        if not shape_ok or value.dtype.kind != kind:
            raise ValueError(f"{damaged} ({name} is missing or not what a run of {n} records "
                             f"saves)")
    selected = state["selected"]
    if len(selected) != len(state["scores"]) or (selected.size and not (
            0 <= selected.min() and selected.max() < n and len(np.unique(selected)) == len(selected))):
        raise ValueError(f"{damaged} (its selected positions are out of range or repeated)")
    return state
