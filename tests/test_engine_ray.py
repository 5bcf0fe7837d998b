"""The Ray engine on a real local Ray cluster: every per-record score equals the local
engine's exactly, a rerun skips the shards it finished, and a bad record fails the job with
its shard and line named (or is skipped and listed)."""
import json

import numpy as np
import pytest
from helpers import alpaca, write_jsonl, write_shards

import zipkit
from zipkit import BadRecordError
from zipkit.engine import Engine, ray_scores

ray = pytest.importorskip("ray")

TARGET = [r["instruction"] + "\n" + r["output"] for r in alpaca(6, seed=11)]


@pytest.fixture
def shards(tmp_path):
    return write_shards(tmp_path / "shards", alpaca(90, seed=4), 25)


@pytest.mark.parametrize("method, params", [
    ("ratio", {"compressor": "zlib:9"}),
    ("ratio", {"compressor": "zstd:3"}),
    ("zipfit", {"target": TARGET}),
    ("zipfit", {"target": TARGET, "compressor": "lz4:1", "aggregate": "max"}),
    ("length", {}),
    ("dsir", {"target": TARGET}),
    ("dsir", {"target": TARGET, "num_buckets": 512, "ngrams": 1}),
])
def test_ray_scores_equal_the_local_engines(cluster, shards, method, params):
    pool = zipkit.read_records(shards)
    local = zipkit.score(pool, method=method, **params)
    on_ray = ray_scores(shards, method, **params)
    assert on_ray.skipped == [] and len(on_ray) == 90
    assert np.array_equal(on_ray.scores, local)  # exactly, not to a tolerance
    assert np.array_equal(on_ray.shard_of, pool.shard_of) and np.array_equal(on_ray.numbers, pool.numbers)


def test_a_rerun_scores_only_the_shards_not_done(cluster, shards, tmp_path):
    scores = tmp_path / "scores"
    first = ray_scores(shards, "zipfit", scores_dir=scores, target=TARGET).scores
    kept = {p.name: p.stat().st_mtime_ns for p in scores.glob("shard-*")}
    assert sorted(kept) == [f"shard-{k:05d}.parquet" for k in range(4)]
    (scores / "shard-00002.parquet").unlink()  # the shard a killed job had not finished
    again = ray_scores(shards, "zipfit", scores_dir=scores, target=TARGET).scores
    assert np.array_equal(again, first)
    for name, mtime in kept.items():
        if name != "shard-00002.parquet":
            assert (scores / name).stat().st_mtime_ns == mtime


def test_a_bad_record_names_its_shard_and_line_or_is_skipped(cluster, shards):
    bad = shards / "part-2.jsonl"
    lines = bad.read_bytes().splitlines(keepends=True)
    bad.write_bytes(b"".join(lines[:6]) + b'{"instruction": \n' + b"".join(lines[6:]))
    with pytest.raises(BadRecordError, match=f"{bad}: line 7, record 6"):
        ray_scores(shards, "ratio")
    result = ray_scores(shards, "ratio", read={"on_error": "skip"})
    assert [(s.path, s.line) for s in result.skipped] == [(str(bad), 7)]
    local = zipkit.score(zipkit.read_records(shards, on_error="skip"), method="ratio")
    assert np.array_equal(result.scores, local)


def test_dsir_on_ray_refuses_a_fit_that_needs_the_pool_in_order(cluster, shards):
    with pytest.raises(ValueError, match="raw_fit_ngrams .* read it whole"):
        ray_scores(shards, "dsir", target=TARGET, raw_fit_ngrams=100)


def test_bad_engine_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="engine must be one of"):
        Engine("spark")
    with pytest.raises(ValueError, match="CPUs per task must be > 0"):
        Engine("ray", cpus_per_task=0)


def test_the_cli_scores_on_ray_as_it_does_locally(cluster, shards, tmp_path):
    from zipkit import cli

    write_jsonl(tmp_path / "target.jsonl", [{"text": t} for t in TARGET])
    common = ["score", str(shards), "--method", "zipfit", "--target", str(tmp_path / "target.jsonl"), "--no-progress"]
    assert cli.main([*common, "-o", str(tmp_path / "local.jsonl")]) == 0
    assert cli.main([*common, "--engine", "ray", "--scores-dir", str(tmp_path / "s"), "-o",
                     str(tmp_path / "ray.jsonl")]) == 0
    local, on_ray = ([json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
                     for name in ("local.jsonl", "ray.jsonl"))
    assert on_ray == local and len(local) == 90
    assert [r["shard"] for r in local] == [k for k in range(4) for _ in range(25)][:90]
    assert len(list((tmp_path / "s").glob("shard-*.parquet"))) == 4
    assert cli.main(["score", str(shards), "--method", "length", "--ray-cpus", "2", "-o",
                     str(tmp_path / "d.jsonl")]) == 2  # a Ray option without --engine ray


def test_a_scores_folder_of_another_job_is_refused(cluster, shards, tmp_path):
    scores = tmp_path / "scores"
    ray_scores(shards, "zipfit", scores_dir=scores, target=TARGET)
    with pytest.raises(ValueError, match="holds the scores of another job"):
        ray_scores(shards, "zipfit", scores_dir=scores, target=TARGET[:3])
    with pytest.raises(ValueError, match="holds the scores of another job"):
        ray_scores(shards, "ratio", scores_dir=scores)
    (shards / "part-1.jsonl").write_text((shards / "part-1.jsonl").read_text())  # touched: mtime changes
    with pytest.raises(ValueError, match="shards changed since"):
        ray_scores(shards, "zipfit", scores_dir=scores, target=TARGET)
