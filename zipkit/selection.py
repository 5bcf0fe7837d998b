"""``zipkit.select``: a subset of a pool by method name, with a result that says how it was made."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .formats import atomic_output
from .records import read_records


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


def _zip(records, **params):
    from .zip import select_zip

    return select_zip(records, **params)


def _zipfit(records, **params):
    from .zipfit import select_zipfit

    return select_zipfit(records, **params)


def _dsir(records, **params):
    from .baselines.dsir import select_dsir

    return select_dsir(records, **params)


def _random(records, **params):
    from .baselines.simple import select_random

    return select_random(records, **params)


def _length(records, **params):
    from .baselines.simple import select_length

    return select_length(records, **params)


def _cluster(records, **params):
    from .baselines.cluster import select_cluster

    return select_cluster(records, **params)


def _perplexity(records, **params):
    from .baselines.difficulty import select_perplexity

    return select_perplexity(records, **params)


def _ifd(records, **params):
    from .baselines.difficulty import select_ifd

    return select_ifd(records, **params)


# Method name -> function(records, **params) -> Selection. Each imports its module when
# called, so that `import zipkit` stays light.
SELECTORS: dict[str, Callable[..., Selection]] = {
    "zip": _zip, "zipfit": _zipfit, "dsir": _dsir, "random": _random, "length": _length,
    "cluster": _cluster, "perplexity": _perplexity, "ifd": _ifd,
}


def select(records: Any, method: str = "zip", **params: Any) -> Selection:
    """Select a subset of ``records`` (anything :func:`zipkit.read_records` reads).

    Methods and where their parameters are documented: ``zip``
    (:func:`zipkit.zip.select_zip`), ``zipfit`` (:func:`zipkit.zipfit.select_zipfit`),
    ``dsir`` (:func:`zipkit.baselines.dsir.select_dsir`), ``random`` and ``length``
    (:mod:`zipkit.baselines.simple`), ``cluster`` (:func:`zipkit.baselines.cluster.select_cluster`),
    ``perplexity`` and ``ifd`` (:mod:`zipkit.baselines.difficulty`). Every method takes ``budget=N`` or ``budget_tokens=T``.
    """
    try:
        selector = SELECTORS[method]
    except KeyError:
        raise ValueError(f"unknown selection method {method!r}; known: {', '.join(SELECTORS)}") from None
    return selector(read_records(records), **params)
