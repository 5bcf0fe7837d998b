"""``zipkit.score`` and ``zipkit.select``: a method (:mod:`zipkit.methods`) composed with
an executor (:mod:`zipkit.executors`) over a pool, with one manifest for both results."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from . import compressors, executors, methods
from .budget import check_budget, check_fits, token_counts
from .identity import plain, result_key
from .io import Records, is_sharded, read_records
from .manifest import Timings, versions
from .pool import Pool
from .ranking import describe_target
from .results import Scores, Selection


def open_pool(
    records: Any, executor: Any, stream: bool | None = None, read: dict | None = None, progress: bool | None = None
) -> Pool:
    """The pool of ``records``: left in its files when it is a path and ``stream`` (default:
    on Ray, or a sharded pool), else read into memory (``read``: the options of
    :func:`zipkit.read_records`)."""
    if isinstance(records, Pool):
        return records
    if stream is None:
        stream = isinstance(records, (str, os.PathLike)) and (executor.name != "local" or is_sharded(records))
    if stream and isinstance(records, (str, os.PathLike)):
        return Pool.in_files(records, executor, read, progress)
    if not isinstance(records, Records):
        records = read_records(records, progress=progress, **(read or {}))
    return Pool.in_memory(records, executor, progress)


def score(records: Any, method: str = "ratio", *, engine: Any = "local", **params: Any) -> Scores:
    """Score every record with a per-record method.

    A path of a sharded pool (a directory or glob), or any path on Ray, is read shard by shard,
    never whole.

    Parameters
    ----------
    records : str, os.PathLike, Records, datasets.Dataset or list
        Anything :func:`zipkit.read_records` reads.
    method : str, default "ratio"
        ``zipkit.methods.scorers()``: ``ratio`` (the record's compression ratio), ``zipfit``
        (alignment with ``target=``), ``dsir`` (log importance weight towards ``target=``),
        ``length`` (tokens by ``tokenizer=``), ``perplexity`` (mean NLL under a causal LM),
        ``ifd`` (instruction-following difficulty), and any plugin's.
    engine : str or executor, default "local"
        ``"local"``, ``"ray"`` or an executor (``zipkit.executors``).
    **params
        The method's parameters, as keywords (each method's module declares them with their
        defaults; the documentation's "Method parameters" reference lists them).

    Returns
    -------
    Scores
        ``values`` (the score per record), ``direction``, ``columns``, ``manifest``,
        ``to_frame()``/``to_arrow()``.
    """
    if method not in methods.names():
        raise ValueError(f"unknown scoring method {method!r}; known: {', '.join(methods.scorers())}")
    spec = methods.get(method)
    if not spec.scores:
        raise ValueError(
            f"method {method!r} gives no per-record score; scoring methods: {', '.join(methods.scorers())}"
        )
    resolved = spec.resolve(params, "score")
    executor = executors.get(engine)
    timings = Timings()
    pool = open_pool(records, executor, progress=resolved.get("progress"))
    with timings.stage("score"):
        columns, info = spec.score(pool, resolved)
    manifest = run_manifest("score", spec, resolved, pool, executor, timings, info or {})
    return Scores(
        values=np.asarray(columns[spec.column], dtype=np.float64),
        column=spec.column,
        direction=spec.direction,
        manifest=manifest,
        columns=columns,
        numbers=pool.numbers,
        shard_of=pool.shard_of,
        index=pool.index,
        source=records,
    )


def select(records: Any, method: str = "zip", *, engine: Any = "local", **params: Any) -> Selection:
    """Select a subset of ``records``.

    The method's steps (ZIP's initial ratios, ZIP-FIT, DSIR's two passes, length, the
    embeddings, the LM losses) run on ``engine``. On Ray a path is never read whole here: the
    steps stream its shards and this process keeps only scores and the records it needs (ZIP's
    candidates). The rest of the method (ZIP's greedy loop, k-means, the ranking) runs in this
    process, on the same scores.

    Parameters
    ----------
    records : str, os.PathLike, Records, datasets.Dataset or list
        Anything :func:`zipkit.read_records` reads.
    method : str, default "zip"
        ``zipkit.methods.selectors()``: zip, zipfit, random, length, dsir, cluster, perplexity,
        ifd, and any plugin's.
    engine : str or executor, default "local"
        ``"local"``, ``"ray"`` or an executor.
    **params
        The method's parameters, as keywords (each method's module declares them with their
        defaults; the documentation's "Method parameters" reference lists them): every method
        takes ``budget=N`` or ``budget_tokens=T``.

    Returns
    -------
    Selection
        ``indices`` (rows of the input, in selection order), ``scores`` and ``manifest``.
    """
    if method not in methods.names():
        raise ValueError(f"unknown selection method {method!r}; known: {', '.join(methods.selectors())}")
    spec = methods.get(method)
    if spec.select is None:
        raise ValueError(
            f"method {method!r} scores records but does not select; selection methods: {', '.join(methods.selectors())}"
        )
    resolved = spec.resolve(params, "select")
    executor = executors.get(engine)
    # Locally the method works on the records in memory; on Ray a path stays in its files.
    whole = open_pool(records, executor, stream=executor.name != "local", progress=resolved.get("progress"))
    pool, filtered = _filtered(whole, resolved, spec)
    if pool.records is not None and (
        resolved.get("threshold") is None or resolved["budget"] is not None or resolved["budget_tokens"] is not None
    ):
        check_budget(len(pool), resolved["budget"], resolved["budget_tokens"])  # before any work
        if resolved["budget_tokens"] is not None and resolved.get("threshold") is None:
            check_fits(resolved["budget_tokens"], pool.tokens(resolved["tokenizer"]), resolved["tokenizer"])
    timings = Timings()
    result = spec.select(pool, resolved, timings)
    result.manifest.update(filtered)
    # The manifest describes the pool as given (the one zipkit inspect checks reports against).
    result.manifest = run_manifest("select", spec, resolved, whole, executor, timings, result.manifest)
    if not len(result.indices):  # each method says why first; this catches any that does not
        raise ValueError(f"method {method!r} selected no record: check the budget and filters")
    if result.manifest.get("tokens_selected") is None and resolved.get("tokenizer"):
        # A count budget: the tokens of what was picked still say how much was selected.
        result.manifest["tokens_selected"] = int(token_counts(pool.take(result.indices), resolved["tokenizer"]).sum())
    # The method picked positions among the records read; the user gets indices in the input.
    result.indices = pool.index[result.indices]
    result.source = records
    return result


def _filtered(pool: Pool, p: dict, spec: Any) -> tuple[Pool, dict]:
    """The pool less the records the filters leave out before the method runs (records that
    share text with a benchmark, records under ``min_tokens`` unless the method applies it
    itself), and the manifest's account of them. Records keep their input indices."""
    account: dict = {}
    if p.get("decontaminate"):
        pool, account["decontaminated"] = _decontaminated(pool, p)
    if not spec.filters_min_tokens:
        pool, left_out = _long_enough(pool, p)
        if left_out is not None:
            account["min_tokens_left_out"] = left_out
    return pool, account


def _decontaminated(pool: Pool, p: dict) -> tuple[Pool, dict]:
    from .decontaminate import account, index_of, split

    records = _records_here(pool, "decontaminate", ", or decontaminate the pool first (zipkit decontaminate)")
    index = index_of(p["decontaminate"], p["decontaminate_ngram"])
    keep, dropped = split(records, index)
    return (pool if len(keep) == len(pool) else pool.kept(keep)), account(index, dropped)


def _long_enough(pool: Pool, p: dict) -> tuple[Pool, int | None]:
    """The pool without records shorter than ``min_tokens`` (by the run's tokenizer), and how
    many were left out; the pool itself when there is no minimum. Records keep their input
    indices, so the selection still indexes the user's rows."""
    if not p.get("min_tokens"):
        return pool, None
    _records_here(pool, "min_tokens")
    tokens = pool.tokens(p["tokenizer"])
    keep = np.flatnonzero(tokens >= p["min_tokens"])
    if not len(keep):
        raise ValueError(
            f"no record has min_tokens={p['min_tokens']} {p['tokenizer']} tokens (the longest has "
            f"{int(tokens.max())}); lower the minimum"
        )
    if p["budget"] is not None and p["budget"] > len(keep):
        raise ValueError(
            f"only {len(keep):,} of {len(pool):,} records pass min_tokens={p['min_tokens']} "
            f"({p['tokenizer']} tokens); lower the budget or the minimum"
        )
    if len(keep) == len(pool):
        return pool, 0
    return pool.kept(keep), len(pool) - len(keep)


def _records_here(pool: Pool, what: str, instead: str = "") -> Records:
    """The pool's records, for a filter that leaves some out before the method runs: in
    memory, in this process (not on Ray, whose workers read the files)."""
    records = pool.whole()
    if records is None:
        raise ValueError(
            f"{what} leaves records out before the method runs, on the pool in memory: run it with "
            f"engine='local' (--engine local){instead}"
        )
    return records


def run_manifest(
    command: str, spec: Any, resolved: dict, pool: Pool, executor: Any, timings: Timings, extra: dict
) -> dict:
    """The manifest both results carry: the command and method, every parameter (defaults
    resolved, as the method refined them), the score's column and direction, the compressor,
    the pool, the executor, the key of the result (:func:`zipkit.identity.result_key`),
    library versions and timings; then what the method adds."""
    extra = dict(extra)
    parameters = {
        name: describe_target(value) if name == "target" and value is not None else plain(value)
        for name, value in resolved.items()
    }
    parameters.update(plain(extra.pop("parameters", {})))
    score = extra.pop("score", {})
    manifest = {
        "command": command,
        "method": spec.name,
        "parameters": parameters,
        "score": {"column": spec.column, "direction": spec.direction, **score},
    }
    if parameters.get("compressor") and "compressor" not in extra:
        manifest["compressor"] = compressors.get(parameters["compressor"]).describe()
    decisive = {k: v for k, v in parameters.items() if k in spec.result_params(resolved)}
    manifest.update(extra)
    manifest.update(
        {
            "pool": pool.describe(),
            "engine": executor.describe(),
            "result_key": result_key(spec.name, decisive, pool.identity()),
            "versions": versions(),
            "timings": timings,
        }
    )
    return manifest
