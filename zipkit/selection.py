"""``zipkit.select``: a subset of a pool by method name, with a result that says how it was made."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .io import atomic_output
from .lazy import lazy
from .io import read_records


@dataclass
class Selection:
    """What a selection method returns.

    ``indices``: int64 positions into the pool, in selection order, never repeated.
    ``scores``: float64, aligned with ``indices``: the score the method ranked each pick by.
    ``manifest``: JSON-serializable record of the run (method, every parameter, compressor,
    serializer, library versions, timings).
    """

    indices: np.ndarray
    scores: np.ndarray
    manifest: dict

    def report(self) -> dict:
        return {"indices": self.indices.tolist(), "scores": self.scores.tolist(),
                "manifest": self.manifest}

    def write_report(self, path: str | os.PathLike) -> None:
        with atomic_output(path) as out:
            out.write(json.dumps(self.report(), indent=1).encode() + b"\n")


# Method name -> function(records, **params) -> Selection. Each imports its module when
# called, so that `import zipkit` stays light.
SELECTORS: dict[str, Callable[..., Selection]] = {
    "zip": lazy("zip:select_zip"),
    "zipfit": lazy("zipfit:select_zipfit"),
    "dsir": lazy("baselines.dsir:select_dsir"),
    "random": lazy("baselines.simple:select_random"),
    "length": lazy("baselines.simple:select_length"),
    "cluster": lazy("baselines.cluster:select_cluster"),
    "perplexity": lazy("baselines.difficulty:select_perplexity"),
    "ifd": lazy("baselines.difficulty:select_ifd"),
}


def select(records: Any, method: str = "zip", *, engine: Any = "local", **params: Any) -> Selection:
    """Select a subset of ``records`` (anything :func:`zipkit.read_records` reads).

    Methods and where their parameters are documented: ``zip``
    (:func:`zipkit.zip.select_zip`), ``zipfit`` (:func:`zipkit.zipfit.select_zipfit`),
    ``dsir`` (:func:`zipkit.baselines.dsir.select_dsir`), ``random`` and ``length``
    (:mod:`zipkit.baselines.simple`), ``cluster`` (:func:`zipkit.baselines.cluster.select_cluster`),
    ``perplexity`` and ``ifd`` (:mod:`zipkit.baselines.difficulty`). Every method takes ``budget=N`` or ``budget_tokens=T``.

    ``engine``: where the method's pass over every record runs (ZIP's initial ratios, ZIP-FIT,
    DSIR's two passes, length, the embeddings, the LM losses): ``"local"``, ``"ray"`` or a
    :class:`zipkit.engine.Engine` with its options. The rest of the method (ZIP's greedy loop,
    k-means, the ranking) runs in this process, on the same scores.
    """
    from .engine import engine_of, using

    try:
        selector = SELECTORS[method]
    except KeyError:
        raise ValueError(f"unknown selection method {method!r}; known: {', '.join(SELECTORS)}") from None
    engine = engine_of(engine)
    with using(engine):
        result = selector(read_records(records), **params)
    result.manifest["engine"] = engine.describe()
    if not len(result.indices):  # each method says why first; this catches any that does not
        raise ValueError(f"method {method!r} selected no record: check the budget and filters")
    return result
