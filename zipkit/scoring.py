"""``zipkit.score``: one value per record from a per-record scorer, by method name."""
from __future__ import annotations

import inspect
import os
from typing import Any, Callable

import numpy as np

from .lazy import lazy, parameters
from .io import read_records
from .ratio import record_ratios


# Method name -> function(records, **params) -> float64 array aligned with the records.
# All but ratio import their module when called, so that `import zipkit` stays light.
SCORERS: dict[str, Callable[..., np.ndarray]] = {
    "ratio": record_ratios,
    "zipfit": lazy("zipfit:zipfit_scores"),
    "dsir": lazy("baselines.dsir:dsir_scores"),
    "length": lazy("baselines.simple:length_scores"),
    "perplexity": lazy("baselines.difficulty:perplexity_scores"),
    "ifd": lazy("baselines.difficulty:ifd_scores"),
}


def score_manifest(method: str, records: Any, params: dict, timings: dict, lm: dict | None = None) -> dict:
    """How scores were made, with the keys a selection's manifest has: the method, every
    parameter (defaults resolved from the scorer's signature), the compressor or the model,
    the pool, library versions and timings."""
    from . import compressors
    from .manifest import versions
    from .ranking import describe_target

    resolved = {name: p.default for name, p in parameters(SCORERS[method]).items()
                if name not in ("records", "progress") and p.default is not inspect.Parameter.empty}
    resolved.update({k: v for k, v in params.items() if k != "progress"})
    if "target" in resolved:
        resolved["target"] = describe_target(resolved["target"])
    manifest = {"command": "score", "method": method, "parameters": resolved,
                "pool": records.describe()}
    if resolved.get("compressor"):
        manifest["compressor"] = compressors.get(resolved["compressor"]).describe()
    if lm is not None:
        manifest["lm"] = lm
    return {**manifest, "versions": versions(), "timings": timings}


def score(records: Any, method: str = "ratio", *, engine: Any = "local", **params: Any) -> np.ndarray:
    """Score every record with a per-record method.

    ``records`` is anything :func:`zipkit.read_records` reads (or a ``Records``). Methods:
    ``ratio`` (the record's compression ratio; params ``compressor="zlib:9"``,
    ``serializer="text"``, ``workers``), ``zipfit`` (alignment with ``target=``; higher =
    closer), ``dsir`` (log importance weight towards ``target=``), ``length`` (tokens by
    ``tokenizer=``), ``perplexity`` (mean NLL under a causal LM) and ``ifd``
    (instruction-following difficulty); see :mod:`zipkit.baselines.difficulty`.

    ``engine``: ``"local"`` (this process), ``"ray"`` or a :class:`zipkit.engine.Engine`. On
    Ray, or locally for a sharded pool given by its path (a directory or glob), the pool is
    read and scored shard by shard (:mod:`zipkit.engine`), never held whole.
    """
    from .engine import engine_of, remote_pass, shard_scores, using
    from .io import is_sharded

    try:
        scorer = SCORERS[method]
    except KeyError:
        raise ValueError(f"unknown scoring method {method!r}; known: {', '.join(SCORERS)}") from None
    engine = engine_of(engine)
    if isinstance(records, (str, os.PathLike)) and (engine.name != "local" or is_sharded(records)):
        return shard_scores(records, method, params, engine).scored_by(method).scores
    records = read_records(records)
    with using(engine):
        done = remote_pass(records, method, params)
    return scorer(records, **params) if done is None else done.scored_by(method).scores
