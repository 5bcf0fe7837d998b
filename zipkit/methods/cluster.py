"""Cluster (the entropy-law paper's baseline): k-means on sentence embeddings, then the
record nearest each centroid (or records at random cluster by cluster). The embedding,
k-means and assignment are :mod:`zipkit.baselines.cluster`; this module declares the
method and runs it: the embeddings are a step (on the GPU when there is one), the rest
here on the vectors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..baselines.cluster import RULES, embed_cached, kmeans, nearest_unique, random_per_cluster
from ..baselines.models import encoder_dtype, locate, resolve_device
from ..manifest import Timings
from ..ranking import ranked_selection
from ..results import Selection
from ..steps import Step
from .params import BUDGETS, CACHE, DEVICE, ENCODER, FILTERS, MODELS, PROGRESS, SEED
from .spec import Method, Param

PARAMS = (
    *BUDGETS,
    *FILTERS,
    ENCODER,
    DEVICE,
    Param(
        "rule",
        "nearest",
        str,
        "one record per centroid, or random records cluster by cluster",
        choices=RULES,
        group=MODELS,
    ),
    Param("clusters", None, int, "k (default: from the budget)", group=MODELS, minimum=1),
    SEED,
    Param("iterations", 100, int, "k-means iterations", group=MODELS, minimum=1),
    Param(
        "batch_size",
        None,
        int,
        "texts per embedding batch (default by device)",
        changes_result=False,
        group=MODELS,
        minimum=1,
    ),
    CACHE,
    PROGRESS,
)


@dataclass(frozen=True)
class Embed(Step):
    """Sentence embeddings, one unit vector per record (column ``embedding``)."""

    model: str
    device: str
    batch_size: int | None = None
    cache: str | None = None
    progress: bool | None = False
    name = "embed"
    uses_gpu = True

    def params(self) -> dict:
        return {"model": self.model, "device": self.device.split(":")[0]}

    def build(self, workers: int | None):
        device = resolve_device(self.device)

        def run(records):
            vectors, from_cache = embed_cached(
                records, self.model, device, self.batch_size, self.cache, True, self.progress
            )
            return {"embedding": vectors}, {
                "model_files": locate(self.model).describe(),
                "embedded_on": device,
                "embedding_dtype": encoder_dtype(device),
                "embeddings_from_cache": from_cache,
            }

        return run


def select(pool, p: dict, timings: Timings) -> Selection:
    """``clusters`` defaults to the budget (for a token budget, the budget over the mean
    tokens per record); the nearest rule then yields one record per centroid, in cluster
    order, then the rest by turns across the clusters (:func:`_by_turns`), and a token budget
    takes them while they fit, skipping one that does not (filled to within one record)."""
    resolved = resolve_device(p["device"])
    with timings.stage("embed"):
        columns, info = pool.map(
            Embed(
                p["model"], p["device"], p["batch_size"], None if p["cache"] is None else str(p["cache"]), p["progress"]
            )
        )
        vectors = columns["embedding"]
    k = p["clusters"] or _default_clusters(pool, p["budget"], p["budget_tokens"], p["tokenizer"])
    with timings.stage("kmeans"):
        centroids, labels = kmeans(vectors, min(k, len(pool)), p["seed"], p["iterations"], resolved)
    with timings.stage("assign"):
        if p["rule"] == "nearest":
            order = nearest_unique(vectors, centroids)
            order = np.concatenate([order, _by_turns(vectors, centroids, labels, order)])
        else:
            order = random_per_cluster(labels, p["seed"])
    # Rank = place in the order; records the rule did not reach are not eligible.
    keys = np.full(len(pool), np.inf)
    keys[order] = np.arange(len(order), dtype=np.float64)
    eligible = np.isfinite(keys)
    extra = {"parameters": {"device": resolved, "clusters": k}, "embedding_dim": int(vectors.shape[1]), **(info or {})}
    return ranked_selection(
        pool,
        p,
        keys=np.where(eligible, keys, 0.0),
        descending=False,
        score=f"rank in the {p['rule']} rule's order over the clusters (0 = first)",
        timings=timings,
        eligible=None if eligible.all() else eligible,
        filter_name=f"one record per centroid of {k} clusters",
        extra=extra,
    )


def _by_turns(vectors: np.ndarray, centroids: np.ndarray, labels: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The records after the nearest one per centroid, by turns across the clusters: each
    cluster's nearest record left, then its next nearest, ... (ties by cluster, then position),
    so that a budget larger than one record per centroid is filled across the clusters."""
    rest = np.setdiff1d(np.arange(len(vectors)), first)
    if not len(rest):
        return rest
    wide = vectors[rest].astype(np.float64) - centroids[labels[rest]].astype(np.float64)
    distance = (wide**2).sum(1)
    turn = np.empty(len(rest), dtype=np.int64)
    for cluster in np.unique(labels[rest]):
        members = np.flatnonzero(labels[rest] == cluster)
        turn[members[np.lexsort((rest[members], distance[members]))]] = np.arange(len(members))
    return rest[np.lexsort((rest, labels[rest], turn))]


def _default_clusters(pool, budget: int | None, budget_tokens: int | None, tokenizer: str) -> int:
    if budget is not None:  # the budgets were checked: otherwise budget_tokens is set
        return int(budget)
    mean = max(float(pool.tokens(tokenizer).mean()), 1.0)
    return int(min(len(pool), max(1, round(budget_tokens / mean))))


METHOD = Method(
    name="cluster",
    summary="k-means on sentence embeddings, records near the centroids",
    params=PARAMS,
    column="rank",
    direction="lower",
    select=select,
)
