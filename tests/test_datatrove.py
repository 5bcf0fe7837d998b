"""zipkit's steps in a real datatrove pipeline (LocalPipelineExecutor, its JSONL reader and
writer): what comes out equals what zipkit's own API gives on the same documents."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from helpers import alpaca, write_jsonl

import zipkit

pytest.importorskip("datatrove")
from datatrove.executor import LocalPipelineExecutor  # noqa: E402
from datatrove.pipeline.readers import JsonlReader  # noqa: E402
from datatrove.pipeline.writers import JsonlWriter  # noqa: E402

from zipkit.adapters.datatrove import ZipkitDecontaminate, ZipkitDedup, ZipkitScore, ZipkitSelect  # noqa: E402


def documents(n: int = 120) -> list[dict]:
    texts = [f"{r['instruction']}\n{r['output']}" for r in alpaca(n, seed=9)]
    if n > 60:
        texts[50] = texts[10]  # an exact copy
        texts[60] = texts[20].upper()  # the same after normalisation
    return [{"id": f"doc-{k}", "text": t} for k, t in enumerate(texts)]


def run(pipeline: list, tmp_path) -> list[dict]:
    LocalPipelineExecutor(pipeline=pipeline, tasks=1, workers=1, logging_dir=str(tmp_path / "logs")).run()
    out = []
    for path in sorted((tmp_path / "out").glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as f:
            out += [json.loads(line) for line in f]
    return out


def test_a_pipeline_of_zipkit_steps_gives_what_the_api_gives(tmp_path):
    docs = documents()
    (tmp_path / "in").mkdir()
    write_jsonl(tmp_path / "in" / "pool.jsonl", docs)
    benchmark = " ".join(docs[30]["text"].split()[:14])  # 14 words of doc 30: a shared 13-gram
    write_jsonl(tmp_path / "bench.jsonl", [{"text": benchmark}])
    pipeline = [
        JsonlReader(str(tmp_path / "in")),
        ZipkitDecontaminate(against=[str(tmp_path / "bench.jsonl")]),
        ZipkitDedup(mode="exact"),
        ZipkitScore(method="ratio", compressor="zlib:9"),
        ZipkitSelect(method="zip", budget=12),
        JsonlWriter(str(tmp_path / "out")),
    ]
    out = run(pipeline, tmp_path)

    # The same steps through zipkit's API.
    from zipkit.decontaminate import split

    keep, _ = split(zipkit.read_records(docs), [str(tmp_path / "bench.jsonl")])
    clean = [docs[int(i)] for i in keep]
    assert "doc-30" not in {d["id"] for d in clean}
    deduped = zipkit.dedup(clean, mode="exact")
    kept = [clean[int(i)] for i in deduped.kept]
    assert {"doc-50", "doc-60"}.isdisjoint(d["id"] for d in kept)
    ratios = zipkit.score(kept, method="ratio", compressor="zlib:9").values
    chosen = zipkit.select(kept, method="zip", budget=12)

    assert [d["id"] for d in out] == [kept[int(i)]["id"] for i in chosen.indices]  # selection order
    for d, i in zip(out, chosen.indices):
        assert d["metadata"]["ratio"] == pytest.approx(ratios[int(i)])
        assert d["metadata"]["zipkit_score"] == pytest.approx(chosen.scores[list(chosen.indices).index(i)])
    assert [d["metadata"]["zipkit_rank"] for d in out] == list(range(12))


def test_dedup_keeps_the_first_copy_and_names_the_others(tmp_path):
    docs = documents()
    (tmp_path / "in").mkdir()
    write_jsonl(tmp_path / "in" / "pool.jsonl", docs)
    out = run(
        [JsonlReader(str(tmp_path / "in")), ZipkitDedup(mode="near"), JsonlWriter(str(tmp_path / "out"))], tmp_path
    )
    ids = [d["id"] for d in out]
    assert "doc-50" not in ids and "doc-60" not in ids and len(ids) == len(docs) - 2
    copies = {d["id"]: d["metadata"].get("duplicates") for d in out}
    assert copies["doc-10"] == ["doc-50"] and copies["doc-20"] == ["doc-60"]


def test_scores_are_the_same_whatever_the_batch(tmp_path):
    docs = documents(40)
    (tmp_path / "in").mkdir()
    write_jsonl(tmp_path / "in" / "pool.jsonl", docs)
    pipeline = [
        JsonlReader(str(tmp_path / "in")),
        ZipkitScore(method="length", batch_size=7),
        JsonlWriter(str(tmp_path / "out")),
    ]
    out = run(pipeline, tmp_path)
    expected = zipkit.score(docs, method="length").values
    assert np.array_equal([d["metadata"]["length"] for d in out], expected)


def test_a_pool_wide_method_is_refused_as_a_batch_scorer():
    with pytest.raises(ValueError, match="dsir fits its weights to the whole pool"):
        ZipkitScore(method="dsir")


def test_a_contaminated_document_is_dropped_with_its_benchmark_as_reason(tmp_path):
    from datatrove.data import Document

    docs = documents(20)
    write_jsonl(tmp_path / "bench.jsonl", [{"text": docs[3]["text"]}])
    step = ZipkitDecontaminate(against=[str(tmp_path / "bench.jsonl")])
    verdicts = step.filter_batch([Document(text=d["text"], id=d["id"]) for d in docs])
    assert verdicts[3] == (False, f"contaminated_{tmp_path / 'bench.jsonl'}")
    assert verdicts[:3] + verdicts[4:] == [True] * 19
