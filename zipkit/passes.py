"""The per-record passes an engine runs shard by shard (:mod:`zipkit.engine`): what each
computes from one shard's records.

A pass, built once per worker by :func:`build` (so its setup is paid once: the compressor,
the compressed target set, the loaded model), is a function of a shard's records to
``(columns, info)``: ``columns`` maps a name to one value (or one vector) per record, in
record order; ``info`` is what the pass says about how it ran (the model passes' manifest),
or None. Every column equals what the local functions compute on the whole pool, restricted
to the shard: a record's value never depends on the other records of its shard (DSIR's
depends on the whole pool's n-gram counts, fitted first by the ``dsir_counts`` pass).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .io import Records

Columns = dict[str, np.ndarray]
Pass = Callable[[Records], tuple[Columns, "dict | None"]]

# The pass of each scoring method, and the column holding the method's score.
SCORE_COLUMN = {"ratio": "ratio", "zipfit": "zipfit", "length": "length", "dsir": "dsir",
                "perplexity": "mean_nll", "ifd": "ifd"}
# Passes that run a model: GPUs per task apply to them.
MODEL_PASSES = ("perplexity", "ifd", "embed")
# Parameters that say how a pass is carried out, not what it computes.
HOW = ("progress", "workers")


def build(kind: str, params: dict, workers: int | None) -> Pass:
    """The ``kind`` pass with its parameters bound; ``workers``: cores it may use."""
    try:
        builder = _BUILDERS[kind]
    except KeyError:
        raise ValueError(f"no per-record pass named {kind!r}; known: {', '.join(_BUILDERS)}") from None
    return builder(workers, **{k: v for k, v in params.items() if k not in HOW})


def _ratio(workers: int | None, compressor: str | None = None, serializer: str | None = None) -> Pass:
    """Each record's own compression ratio, and its bytes (``zipkit ratio``'s columns)."""
    from .ratio import DEFAULT_COMPRESSOR, DEFAULT_SERIALIZER, record_ratios

    compressor, serializer = compressor or DEFAULT_COMPRESSOR, serializer or DEFAULT_SERIALIZER

    def run(records: Records) -> tuple[Columns, None]:
        return {"ratio": record_ratios(records, compressor, serializer, workers),
                "bytes": records.payloads(serializer).lengths}, None

    return run


def _zip_singletons(workers: int | None, compressor: str, serializer: str) -> Pass:
    """ZIP's initial scores: each record's ratio framed as a one-record selected set."""
    from . import compressors
    from .ratio import framed_record_ratios
    from .io import get_serializer

    engine, frame = compressors.get(compressor), get_serializer(serializer)

    def run(records: Records) -> tuple[Columns, None]:
        payloads = records.payloads(serializer)
        return {"ratio": framed_record_ratios(payloads, engine, frame, np.arange(len(payloads)), workers)}, None

    return run


def _zipfit(workers: int | None, **params: Any) -> Pass:
    from .zipfit import shard_scorer

    scorer = shard_scorer(workers=workers, **params)  # the target compressed once
    return lambda records: ({"zipfit": scorer(records)}, None)


def _length(workers: int | None, tokenizer: str = "whitespace") -> Pass:
    from .baselines.simple import length_scores

    return lambda records: ({"length": length_scores(records, tokenizer)}, None)


def _dsir_counts(workers: int | None, num_buckets: int | None = None, ngrams: int = 2, **fit: Any) -> Pass:
    """DSIR's first pass: the bucket counts of every n-gram of the shard (summed over the
    shards, the raw pool's distribution)."""
    from .baselines.dsir import DSIR, NUM_BUCKETS

    estimator = DSIR(num_buckets or NUM_BUCKETS, ngrams, workers or None, progress=False)
    return lambda records: ({"counts": estimator.pool_counts(records)}, None)


def _dsir(workers: int | None, num_buckets: int, ngrams: int, log_diff: np.ndarray) -> Pass:
    """DSIR's second pass: log importance weights (from the fitted log ratio) and word counts
    (for ``min_tokens``)."""
    from .baselines.dsir import DSIR

    estimator = DSIR(num_buckets, ngrams, workers or None, progress=False)
    estimator.log_diff = log_diff

    def run(records: Records) -> tuple[Columns, None]:
        features = list(estimator.features(records, "pool"))
        words = np.concatenate([f.words for f in features]) if features else np.zeros(0, np.int64)
        return {"dsir": estimator.log_weights(features), "words": words}, None

    return run


def _lm(kind: str) -> Callable[..., Pass]:
    """Perplexity or IFD: the score with every loss and token count it comes from. The model
    is loaded on the first shard and kept by the worker (``lm_scores._model``)."""
    def builder(workers: int | None, **params: Any) -> Pass:
        from .baselines.difficulty import loss_table

        return lambda records: loss_table(records, kind, progress=False, **params)

    return builder


def _embed(workers: int | None, model: str | None = None, device: str = "auto", batch_size: int | None = None,
           cache: Any = None) -> Pass:
    """Sentence embeddings (the cluster baseline's pass), one unit vector per record."""
    from .baselines.cluster import DEFAULT_ENCODER, embed
    from .baselines.models import encoder_dtype, locate, resolve_device

    model, device = model or DEFAULT_ENCODER, resolve_device(device)
    info = {"model_files": locate(model).describe(), "device": device, "embedding_dtype": encoder_dtype(device)}
    return lambda records: ({"embedding": embed(records, model, device, batch_size, cache, progress=False)}, info)


_BUILDERS: dict[str, Callable[..., Pass]] = {
    "ratio": _ratio, "zip_singletons": _zip_singletons, "zipfit": _zipfit, "length": _length,
    "dsir_counts": _dsir_counts, "dsir": _dsir, "perplexity": _lm("perplexity"), "ifd": _lm("ifd"),
    "embed": _embed,
}
PASSES = tuple(_BUILDERS)
