"""Deduplication: exact duplicates by normalised text, near duplicates by MinHash LSH, the
first of each cluster kept. Checked against what is computed another way: the normalised
texts compared directly, the true Jaccard similarity of the shingle sets, datasketch's own
choice of LSH bands, and the pool as shards against the pool in memory."""

from __future__ import annotations

import json
import random
import unicodedata

import numpy as np
import pytest
from helpers import WORDS, write_jsonl, write_shards

import zipkit
from zipkit import cli
from zipkit.dedup import cluster_roots, lsh_params, shingles


def norm(text: str) -> str:  # the normalisation, as the docstring states it
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def planted(n: int = 120, seed: int = 3) -> tuple[list[dict], dict[int, int]]:
    """Texts of 60-word passages, some copied with one word changed (near duplicates: Jaccard
    of 5-gram shingles about 0.85-0.9), some re-spaced or re-cased (exact after normalisation)."""
    rng = random.Random(seed)
    texts, copies = [], {}
    for k in range(n):
        if k >= 20 and rng.random() < 0.35:
            origin = rng.randrange(0, 20)
            words = texts[origin].split()
            if rng.random() < 0.5:
                words[rng.randrange(len(words))] = rng.choice(WORDS)  # one word changed
                text = " ".join(words)
            else:
                text = "  ".join(words).upper()  # the same text after normalisation
            copies[k] = origin
        else:
            text = " ".join(rng.choice(WORDS) for _ in range(60)) + f" passage{k}"
        texts.append(text)
    return [{"text": t} for t in texts], copies


def jaccard(a: str, b: str, n: int = 5) -> float:
    x, y = set(shingles(a, n)), set(shingles(b, n))
    return len(x & y) / len(x | y) if x | y else 1.0


def test_exact_keeps_the_first_of_each_normalised_text():
    records, _ = planted()
    texts = [r["text"] for r in records]
    res = zipkit.dedup(records, mode="exact")
    first: dict[str, int] = {}
    for k, t in enumerate(texts):
        first.setdefault(norm(t), k)
    assert res.kept.tolist() == sorted(first.values())
    assert sorted(res.removed.tolist() + res.kept.tolist()) == list(range(len(texts)))
    for cluster in res.clusters:
        assert len({norm(texts[i]) for i in cluster}) == 1 and cluster[0] == first[norm(texts[cluster[0]])]


@pytest.mark.parametrize("backend", ["rensa", "datasketch"])
def test_near_duplicates_are_clustered_and_unrelated_texts_are_not(backend):
    records, copies = planted()
    texts = [r["text"] for r in records]
    res = zipkit.dedup(records, mode="near", threshold=0.8, backend=backend)
    cluster_of = {i: c[0] for c in res.clusters for i in c}
    for copy, origin in copies.items():
        if jaccard(texts[copy], texts[origin]) >= 0.85:  # well above the threshold: found
            assert cluster_of.get(copy) == cluster_of.get(origin, origin) == min(origin, cluster_of[origin]), copy
    for cluster in res.clusters:  # every member truly close to the one kept (no false join)
        assert cluster[0] == min(cluster)
        assert all(jaccard(texts[i], texts[cluster[0]]) >= 0.5 for i in cluster[1:]), cluster
    assert res.manifest["parameters"]["bands"] * res.manifest["parameters"]["rows"] <= 128


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
@pytest.mark.parametrize("num_perm", [64, 128])
def test_the_bands_are_the_ones_datasketch_chooses(threshold, num_perm):
    from datasketch.lsh import _optimal_param

    assert lsh_params(threshold, num_perm) == tuple(_optimal_param(threshold, num_perm, 0.5, 0.5))


def test_clusters_join_transitively_and_root_at_the_first_record():
    # 0-3 share key a; 3-5 share key b; 6 alone; 7-8 share key a's other value
    a = np.array([1, 1, 1, 1, 9, 8, 7, 5, 5], dtype=np.uint64)
    b = np.array([0, 1, 2, 3, 3, 3, 6, 7, 8], dtype=np.uint64)
    assert cluster_roots([a, b]).tolist() == [0, 0, 0, 0, 0, 0, 6, 7, 7]


def test_shards_give_the_clusters_of_the_pool_in_memory(tmp_path):
    records, _ = planted(90, seed=5)
    shards = write_shards(tmp_path / "shards", records, 25)
    whole = zipkit.dedup(records, mode="near")
    streamed = zipkit.dedup(str(shards))  # shard by shard, never read whole
    assert streamed.clusters == whole.clusters and streamed.kept.tolist() == whole.kept.tolist()
    assert streamed.manifest["pool"]["records"] == 90


def test_the_cli_writes_the_kept_records_and_the_clusters(tmp_path):
    records, _ = planted()
    write_jsonl(tmp_path / "pool.jsonl", records)
    argv = ["dedup", str(tmp_path / "pool.jsonl"), "-o", str(tmp_path / "kept.jsonl"), "--no-progress"]
    assert cli.main(argv + ["--report", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    lines = (tmp_path / "pool.jsonl").read_text().splitlines()
    removed = set(report["removed"])
    assert (tmp_path / "kept.jsonl").read_text().splitlines() == [
        line for k, line in enumerate(lines) if k not in removed
    ]
    assert sorted(i for c in report["clusters"] for i in c[1:]) == sorted(removed)
    assert report["manifest"]["parameters"]["backend"] == "rensa"
    assert cli.main(argv[:2] + ["-o", str(tmp_path / "pool.jsonl"), "--no-progress"]) == 2  # never over its input


def test_the_kept_rows_of_a_dataset_come_back_as_one():
    datasets = pytest.importorskip("datasets")
    records, _ = planted(40, seed=7)
    ds = datasets.Dataset.from_list([{**r, "id": k} for k, r in enumerate(records)])
    res = zipkit.dedup(ds, mode="exact")
    assert res.to_dataset()["id"] == res.kept.tolist()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"mode": "fuzzy"}, "mode must be one of"),
        ({"threshold": 1.0}, "threshold=1.0 must be a Jaccard similarity"),
        ({"ngram": 0}, "ngram=0 is not a whole number >= 1"),
        ({"backend": "minhashlib"}, "backend must be one of"),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        zipkit.dedup(["a b c"], **params)


def test_signatures_made_in_chunks_are_those_made_at_once(monkeypatch):
    import sys

    module = sys.modules["zipkit.dedup"]  # the module (zipkit.dedup the name is the function)
    records, _ = planted(60, seed=11)
    whole = zipkit.dedup(records, mode="near")
    monkeypatch.setattr(module, "CHUNK", 7)  # chunks that end inside a cluster
    chunked = zipkit.dedup(records, mode="near")
    assert chunked.clusters == whole.clusters and len(whole.clusters) > 3
