"""``zipkit.score``: one value per record from a per-record scorer, by method name."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .records import read_records
from .ratio import record_ratios



def _zipfit(records, **params):
    from .zipfit import zipfit_scores

    return zipfit_scores(records, **params)


def _dsir(records, **params):
    from .baselines.dsir import dsir_scores

    return dsir_scores(records, **params)


def _length(records, **params):
    from .baselines.simple import length_scores

    return length_scores(records, **params)


def _perplexity(records, **params):
    from .baselines.difficulty import perplexity_scores

    return perplexity_scores(records, **params)


def _ifd(records, **params):
    from .baselines.difficulty import ifd_scores

    return ifd_scores(records, **params)


# Method name -> function(records, **params) -> float64 array aligned with the records.
SCORERS: dict[str, Callable[..., np.ndarray]] = {
    "ratio": record_ratios, "zipfit": _zipfit, "dsir": _dsir, "length": _length,
    "perplexity": _perplexity, "ifd": _ifd,
}


def score(records: Any, method: str = "ratio", **params: Any) -> np.ndarray:
    """Score every record with a per-record method.

    ``records`` is anything :func:`zipkit.read_records` reads (or a ``Records``). Methods:
    ``ratio`` (the record's compression ratio; params ``compressor="zlib:9"``,
    ``serializer="text"``, ``workers``), ``zipfit`` (alignment with ``target=``; higher =
    closer), ``dsir`` (log importance weight towards ``target=``), ``length`` (tokens by
    ``tokenizer=``), ``perplexity`` (mean NLL under a causal LM) and ``ifd``
    (instruction-following difficulty); see :mod:`zipkit.baselines.difficulty`.
    """
    try:
        scorer = SCORERS[method]
    except KeyError:
        raise ValueError(f"unknown scoring method {method!r}; known: {', '.join(SCORERS)}") from None
    return scorer(read_records(records), **params)
