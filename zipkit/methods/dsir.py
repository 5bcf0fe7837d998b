"""DSIR (Xie et al. 2023): importance resampling towards a target on hashed n-grams. The
estimator (features, fit, weights) is :mod:`zipkit.baselines.dsir`; this module declares
the method and runs it: in memory, one featurization serves the fit and the weights; over
shards, a map of bucket counts, their sum here (the reduce), then a map of log weights."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..baselines.dsir import DSIR, MAX_BUCKETS, NUM_BUCKETS, RESAMPLING, gumbel_keys
from ..manifest import Timings
from ..ranking import ranked_selection
from ..results import Selection
from ..steps import Step
from .params import BUDGETS, FILTERS, MIN_TOKENS, PROGRESS, SEED, TARGET, WORKERS
from .spec import SELECT, Method, Param

PARAMS = (
    TARGET,
    *BUDGETS,
    # The one --min-tokens, counted as the DSIR package counts (word-punct tokens) and 100 by
    # default as its min_example_length; applied by this method (filters_min_tokens).
    MIN_TOKENS.but(default=100),
    *FILTERS[1:],
    Param(
        "resampling",
        "gumbel",
        str,
        "Gumbel top-k sampling or plain top-k",
        choices=RESAMPLING,
        group="dsir",
        commands=(SELECT,),
    ),
    SEED.but(commands=(SELECT,)),
    Param(
        "num_buckets",
        NUM_BUCKETS,
        int,
        "hash buckets of the n-gram features",
        group="dsir",
        minimum=1,
        maximum=MAX_BUCKETS,
    ),
    Param("ngrams", 2, int, "unigrams, or unigrams and bigrams", choices=(1, 2), group="dsir"),
    Param(
        "raw_fit_ngrams", None, int, "cap on n-grams that fit the raw model (default: none)", group="dsir", minimum=1
    ),
    WORKERS,
    PROGRESS,
)


@dataclass(frozen=True)
class BucketCounts(Step):
    """The bucket counts of every n-gram of a shard (summed over the shards: the raw pool's
    distribution)."""

    num_buckets: int
    ngrams: int
    per_record = False
    name = "dsir_counts"

    def build(self, workers: int | None):
        estimator = DSIR(self.num_buckets, self.ngrams, workers or None, progress=False)
        return lambda records: ({"counts": estimator.pool_counts(records)}, None)


@dataclass(frozen=True)
class LogWeights(Step):
    """Log importance weights from the fitted log ratio, and word counts (``min_tokens``)."""

    num_buckets: int
    ngrams: int
    log_diff: tuple
    name = "dsir"

    def build(self, workers: int | None):
        estimator = DSIR(self.num_buckets, self.ngrams, workers or None, progress=False)
        estimator.log_diff = np.asarray(self.log_diff, dtype=np.float64)

        def run(records):
            features = list(estimator.features(records, "pool"))
            words = np.concatenate([f.words for f in features]) if features else np.zeros(0, np.int64)
            return {"dsir": estimator.log_weights(features), "words": words}, None

        return run


def score(pool, p: dict) -> tuple[dict, None]:
    """Log importance weight of every record (column ``dsir``) and its word-punct tokens."""
    if p["target"] is None:
        raise ValueError("dsir needs target= (--target FILE): the target task's examples")
    estimator = DSIR(p["num_buckets"], p["ngrams"], p["workers"], p["progress"])
    records = pool.whole()
    if records is not None:  # one featurization serves the fit and the weights
        features = estimator.fit(records, p["target"], p["raw_fit_ngrams"])
        words = np.concatenate([f.words for f in features])
        return {"dsir": estimator.log_weights(features), "words": words}, None
    if p["raw_fit_ngrams"] is not None:
        raise ValueError(
            "raw_fit_ngrams (fit the raw distribution on the pool's first n-grams) needs "
            "the pool in one piece, in order: read it whole (engine='local' on one file)"
        )
    raw_counts = sum(
        pool.map_shards(BucketCounts(estimator.num_buckets, estimator.ngrams)),
        np.zeros(estimator.num_buckets, np.int64),
    )
    estimator.fit_counts(raw_counts, p["target"])
    return pool.map(LogWeights(estimator.num_buckets, estimator.ngrams, tuple(estimator.log_diff.tolist())))[0], None


def select(pool, p: dict, timings: Timings) -> Selection:
    """Importance resampling: Gumbel top-k on the log weights (``seed``), or plain top-k.

    ``min_tokens`` drops records with fewer word-punct tokens before resampling: 100, as the
    reference package does (``min_example_length``), since the log weight sums over n-grams
    and without a floor short records win (towards ProofNet, far shorter records than a
    random set's: ``experiments/results/dsir_length_floor.md``). 0 keeps every record:
    lower it for pools of short records (most Lean statements are under 100 tokens).
    Selection scores are the keys ranked by: log weight plus the record's Gumbel noise, or
    the log weight alone.
    """
    with timings.stage("fit"):
        columns, _ = score(pool, p)
    log_weights, words = columns["dsir"], columns["words"]
    keys = gumbel_keys(log_weights, p["seed"]) if p["resampling"] == "gumbel" else log_weights
    eligible = words >= p["min_tokens"] if p["min_tokens"] else None
    extra = {"log_weight": {"min": float(log_weights.min()), "max": float(log_weights.max())}}
    key = "log importance weight + Gumbel noise" if p["resampling"] == "gumbel" else "log importance weight"
    return ranked_selection(
        pool,
        p,
        keys=keys,
        score=key,
        timings=timings,
        eligible=eligible,
        filter_name=f"min_tokens={p['min_tokens']}",
        extra=extra,
    )


METHOD = Method(
    name="dsir",
    summary="importance resampling towards --target on hashed n-grams",
    params=PARAMS,
    column="dsir",
    direction="higher",
    select=select,
    score=score,
    scores=True,
    score_summary="log importance weight towards --target",
    filters_min_tokens=True,
)
