"""Cluster: k-means on sentence embeddings, then the record nearest each centroid.

The entropy-law paper's "Cluster" baseline. Each record's text is embedded by a
sentence-transformers model (all-MiniLM-L6-v2 by default: mean pooled, L2-normalized),
k-means runs with k = budget, and every centroid contributes its nearest record, never
one twice: a centroid whose nearest record is taken gets its next nearest. Centroids
take their turn in cluster order, so ties go the same way every run.

- ``rule="random"``: the other published rule: ``clusters=K`` (any K), then records drawn
  at random within each cluster, one cluster after another in turn, until the budget.
- Embeddings are cached as ``.npy`` under :func:`zipkit.baselines.models.cache_dir`, keyed by the
  model, its dtype, the device kind and the exact texts, so selecting again at another
  budget does not embed again; the manifest says when they came from the cache.
- k-means: scikit-learn on the CPU; on a GPU, Lloyd's algorithm in torch (same k-means++
  start), since sklearn has no GPU path and the assignment step is one matrix product.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from ..identity import fingerprint, records_identity
from ..io import Records
from .models import (
    DEFAULT_ENCODER,
    cache_dir,
    encoder_dtype,
    load_cached,
    load_encoder,
    locate,
    quiet_loading,
    require,
    resolve_device,
)

RULES = ("nearest", "random")
# Candidates kept per centroid when matching centroids to records; a centroid whose
# candidates are all taken looks again over every record.
_CANDIDATES = 16


def embed(
    records: Records,
    model: str = DEFAULT_ENCODER,
    device: str = "auto",
    batch_size: int | None = None,
    cache: Any = None,
    use_cache: bool = True,
    progress: bool | None = None,
) -> np.ndarray:
    """L2-normalized float32 embeddings of every record's text, from the cache when there."""
    return embed_cached(records, model, device, batch_size, cache, use_cache, progress)[0]


def embed_cached(
    records: Records,
    model: str,
    device: str,
    batch_size: int | None,
    cache: Any,
    use_cache: bool,
    progress: bool | None,
) -> tuple[np.ndarray, bool]:
    """:func:`embed`, and whether the vectors came from the cache."""
    device = resolve_device(device)
    path = embedding_cache(records, model, device, cache)
    vectors = load_cached(path, lambda v: _not_embeddings(v, len(records))) if use_cache else None
    if vectors is not None:
        return vectors, True
    with quiet_loading(progress):
        encoder = _encoder(model, device)
    texts = [records.text(i) for i in range(len(records))]
    vectors = encoder.encode(
        texts,
        batch_size=batch_size or (512 if device.startswith("cuda") else 64),
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=_show(progress),
    ).astype(np.float32)
    if use_cache:
        from ..io import atomic_output

        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as out:
            np.save(out, vectors)
    return vectors, False


@functools.lru_cache(maxsize=2)
def _encoder(model: str, device: str) -> Any:
    """The encoder, loaded once per process (a worker embeds shard after shard with it)."""
    return load_encoder(model, device)


def _not_embeddings(vectors: Any, n: int) -> str | None:
    """What makes a cached array unfit to be these records' embeddings (None if fit): the
    encoder writes one unit-length float32 row per record."""
    if not isinstance(vectors, np.ndarray) or vectors.ndim != 2 or len(vectors) != n:
        return f"it is not {n} rows of vectors"
    if vectors.dtype != np.float32 or not np.isfinite(vectors).all():
        return "it holds values that are not finite float32"
    norms = np.linalg.norm(vectors, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-3):
        return f"its rows are not unit length (e.g. norm {norms[np.argmax(np.abs(norms - 1))]:.3g})"
    return None


def embedding_cache(records: Records, model: str, device: str, cache: Any = None) -> Path:
    """Where the embeddings of these texts under this model, dtype and device kind are cached
    (fp16 GPU vectors are never served to a CPU run)."""
    key = fingerprint(
        "embed-v2",
        locate(model).describe(),
        device.split(":")[0],
        encoder_dtype(device),
        records_identity(records)["bytes"],
    )
    return cache_dir(cache) / "embeddings" / f"{key}.npy"


def _show(progress: bool | None) -> bool:
    """``None`` shows a bar only on a terminal, as every other progress bar here does."""
    import sys

    return sys.stderr.isatty() if progress is None else bool(progress)


def kmeans(
    vectors: np.ndarray, k: int, seed: int = 0, iterations: int = 100, device: str = "cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """(centroids, labels): scikit-learn on the CPU, torch Lloyd iterations on a GPU."""
    if not 1 <= k <= len(vectors):
        raise ValueError(f"k-means needs 1 <= clusters <= records, got {k} clusters for {len(vectors)} records")
    if device.startswith("cuda"):
        return torch_kmeans(vectors, k, seed, iterations, device)
    cluster = require("sklearn.cluster")
    model = cluster.KMeans(n_clusters=k, n_init=1, max_iter=iterations, random_state=seed)
    labels = model.fit_predict(vectors)
    return model.cluster_centers_.astype(np.float32), labels.astype(np.int64)


def torch_kmeans(
    vectors: np.ndarray, k: int, seed: int = 0, iterations: int = 100, device: str = "cuda", tolerance: float = 1e-4
) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's algorithm in torch with a k-means++ start (also runs on the CPU, for tests)."""
    torch = require("torch")
    x = torch.as_tensor(vectors, dtype=torch.float32, device=device)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    centroids = _kmeans_pp(x, k, generator)
    labels = torch.zeros(len(x), dtype=torch.long, device=device)
    for _ in range(iterations):
        labels = _nearest(x, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, labels, x)
        counts = torch.bincount(labels, minlength=k).unsqueeze(1)
        # An empty cluster keeps its centroid (rare after k-means++).
        moved = torch.where(counts > 0, sums / counts.clamp(min=1), centroids)
        shift = (moved - centroids).pow(2).sum()
        centroids = moved
        if shift <= tolerance * x.var(0).sum() * 1e-2:
            break
    labels = _nearest(x, centroids)
    return centroids.cpu().numpy(), labels.cpu().numpy().astype(np.int64)


def _nearest(x: Any, centroids: Any, chunk: int = 65536) -> Any:
    torch = require("torch")
    c2 = centroids.pow(2).sum(1)
    return torch.cat([(c2 - 2 * x[a : a + chunk] @ centroids.T).argmin(1) for a in range(0, len(x), chunk)])


def _kmeans_pp(x: Any, k: int, generator: Any) -> Any:
    """k-means++: each next centroid drawn in proportion to its squared distance."""
    torch = require("torch")
    first = int(torch.randint(len(x), (1,), generator=generator))
    centroids = [x[first]]
    distance = (x - x[first]).pow(2).sum(1)
    for _ in range(1, k):
        weights = distance.clamp(min=0).cpu().double()
        pick = (
            int(torch.multinomial(weights / weights.sum(), 1, generator=generator))
            if weights.sum() > 0
            else int(torch.randint(len(x), (1,), generator=generator))
        )
        centroids.append(x[pick])
        distance = torch.minimum(distance, (x - x[pick]).pow(2).sum(1))
    return torch.stack(centroids)


def nearest_unique(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """For each centroid in order, the nearest record not already taken (ties: lower position)."""
    taken = np.zeros(len(vectors), dtype=bool)
    picks = np.empty(len(centroids), dtype=np.int64)
    wide = vectors.astype(np.float64)
    sq = (wide**2).sum(1)
    candidates = _candidates(wide, sq, centroids)
    for c, centroid in enumerate(centroids):
        pick = next((int(i) for i in candidates[c] if not taken[i]), None)
        if pick is None:
            distance = sq - 2 * wide @ centroid.astype(np.float64)
            distance[taken] = np.inf
            pick = int(np.argmin(distance))
        taken[pick] = True
        picks[c] = pick
    return picks


def _candidates(vectors: np.ndarray, sq: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The ``_CANDIDATES`` nearest records of every centroid, nearest first, ties by position."""
    m = min(_CANDIDATES, len(vectors))
    out = np.empty((len(centroids), m), dtype=np.int64)
    for a in range(0, len(centroids), 256):
        block = centroids[a : a + 256].astype(np.float64)
        distance = sq[None, :] - 2 * block @ vectors.T
        near = (
            np.argpartition(distance, m - 1, axis=1)[:, :m]
            if m < len(vectors)
            else np.tile(np.arange(len(vectors)), (len(block), 1))
        )
        rows = np.take_along_axis(distance, near, axis=1)
        order = np.lexsort((near, rows), axis=1)
        out[a : a + len(block)] = np.take_along_axis(near, order, axis=1)
    return out


def random_per_cluster(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Every record, ordered by turns: one random record of each cluster per turn."""
    rng = np.random.default_rng(seed)
    place = np.empty(len(labels), dtype=np.int64)
    place[rng.permutation(len(labels))] = np.arange(len(labels))
    turn = np.empty(len(labels), dtype=np.int64)
    for cluster in np.unique(labels):
        members = np.flatnonzero(labels == cluster)
        turn[members[np.argsort(place[members], kind="stable")]] = np.arange(len(members))
    return np.lexsort((labels, turn))
