"""Straightforward reference implementations, for tests and benchmarks to compare against.

``naive_zip`` computes every ratio by compressing the whole framed list from scratch on
one core, as the authors' script does per candidate: it is slow on purpose and shares
no code with :mod:`zipkit.zip` beyond the compressor and the serializer frame.
"""

from __future__ import annotations

import math

import numpy as np

from . import compressors
from .io import Records, get_serializer

__all__ = ["naive_zip", "naive_zipfit"]


def naive_zip(
    records: Records,
    budget: int,
    k1: int,
    k2: int,
    k3: int,
    variant: str = "paper",
    compressor: str = "zlib:9",
    serializer: str = "text",
    fine_context: str = "batch",
) -> list[int]:
    """ZIP's selection by the naive loop: every ratio is one compression of the whole framed
    set from scratch (D' + candidate in the coarse stage), on one core. The positions
    selected, in order; :func:`zipkit.select` with ``method="zip"`` and an exact compressor
    must return the same.

    Parameters
    ----------
    records : Records
        The pool.
    budget : int
        Records to select.
    k1 : int
        Records kept by the global stage each round.
    k2 : int
        Records kept by the coarse stage each round.
    k3 : int
        Records picked greedily by the fine stage each round.
    variant : str, default 'paper'
        ``"paper"`` (Algorithm 1 as printed) or ``"official"`` (the authors' script).
    compressor : str, default 'zlib:9'
        A compressor spec.
    serializer : str, default 'text'
        How records become bytes and are framed: ``text``, ``json`` or ``repr``.
    fine_context : str, default 'batch'
        ``"batch"`` (the round's picks) or ``"selected"`` (D' and the round's picks).
    """
    items = [bytes(p) for p in records.payloads(serializer)]
    frame = get_serializer(serializer)
    size = compressors.get(compressor).size
    rounding = np.float32 if variant == "official" else float

    def ratio(members: list[int]) -> float:
        text = b"".join(frame.join(items[m] for m in members))
        return rounding(len(text) / size(text))

    n = len(items)
    pi = [ratio([i]) for i in range(n)]
    in_pool = [True] * n
    selected: list[int] = []
    target = math.ceil(budget / k3) * k3 if variant == "official" else budget
    while len(selected) < target and any(in_pool):
        window = sorted((i for i in range(n) if in_pool[i]), key=lambda i: (pi[i], i))[:k1]
        for w in window:
            pi[w] = ratio(selected + [w])
        coarse = sorted(window, key=lambda i: (pi[i], i))[:k2]
        anchor = list(selected) if fine_context == "selected" else []
        picks: list[int] = []
        wanted = k3 if variant == "official" else min(k3, target - len(selected))
        while len(picks) < min(wanted, len(coarse)):
            scored = [(ratio(anchor + picks + [c]), c) for c in coarse if c not in picks]
            picks.append(min(scored)[1])
        leaving = coarse if variant == "official" else picks
        for i in leaving:
            in_pool[i] = False
        selected += picks
    return selected


def naive_zipfit(
    sources: list[bytes],
    targets: list[bytes],
    compressor: str = "gzip:6",
    order: str = "source_first",
    singles_once: bool = False,
) -> list[float]:
    """ZIP-FIT alignment written as the formula reads, one NCD per (source, target) pair on
    one core: C(x + t), C(x) and C(t) compressed for every pair, or, with ``singles_once``,
    C(x) and C(t) once each (as the ``zip-fit`` package does).

    Parameters
    ----------
    sources : list of bytes
        The records to score.
    targets : list of bytes
        The target task's examples.
    compressor : str, default 'gzip:6'
        A compressor spec.
    order : str, default 'source_first'
        ``"source_first"`` (C(x + t)) or ``"target_first"`` (C(t + x)).
    singles_once : bool, default False
        Compress each source and each target alone once, not once per pair.
    """
    size = compressors.get(compressor).size
    c_targets = [size(t) for t in targets] if singles_once else None
    scores = []
    for x in sources:
        c_x = size(x) if singles_once else None
        total = 0.0
        for j, t in enumerate(targets):
            pair = x + t if order == "source_first" else t + x
            cx = c_x if singles_once else size(x)
            ct = c_targets[j] if singles_once else size(t)
            total += (size(pair) - min(cx, ct)) / max(cx, ct)
        scores.append(1.0 - total / len(targets))
    return scores
