"""The Ray executor on a real local Ray cluster: every per-record score equals the local
executor's exactly, a rerun skips the shards it finished, each job keeps its scores in its
own subfolder of the scores folder, and a bad record fails the job with its shard and line
named (or is skipped and listed)."""

import json

import numpy as np
import pytest
from helpers import alpaca, write_jsonl, write_shards

import zipkit
from zipkit import BadRecordError, executors
from zipkit.executors import RayExecutor
from zipkit.methods.ratio import RecordRatios

ray = pytest.importorskip("ray")

TARGET = [r["instruction"] + "\n" + r["output"] for r in alpaca(6, seed=11)]


@pytest.fixture
def shards(tmp_path):
    return write_shards(tmp_path / "shards", alpaca(90, seed=4), 25)


def _step_folders(scores) -> list:
    return sorted(p.name for p in scores.iterdir())


@pytest.mark.parametrize(
    "method, params",
    [
        ("ratio", {"compressor": "zlib:9"}),
        ("ratio", {"compressor": "zstd:3"}),
        ("zipfit", {"target": TARGET}),
        ("zipfit", {"target": TARGET, "compressor": "lz4:1", "aggregate": "max"}),
        ("length", {}),
        ("dsir", {"target": TARGET}),
        ("dsir", {"target": TARGET, "num_buckets": 512, "ngrams": 1}),
    ],
)
def test_ray_scores_equal_the_local_engines(cluster, shards, method, params):
    pool = zipkit.read_records(shards)
    local = zipkit.score(pool, method=method, **params)
    on_ray = zipkit.score(str(shards), method=method, engine=RayExecutor(), **params)
    assert on_ray.manifest["pool"]["skipped"] == 0 and len(on_ray) == 90
    assert on_ray.manifest["engine"]["name"] == "ray"
    assert np.array_equal(on_ray.values, local.values)  # exactly, not to a tolerance
    assert np.array_equal(on_ray.shard_of, pool.shard_of) and np.array_equal(on_ray.numbers, pool.numbers)


def test_a_rerun_scores_only_the_shards_not_done(cluster, shards, tmp_path):
    scores = tmp_path / "scores"
    engine = RayExecutor(scores_dir=scores)
    first = zipkit.score(str(shards), method="zipfit", engine=engine, target=TARGET).values
    (folder,) = scores.iterdir()  # the step's own subfolder, keyed by its settings and the shards
    assert folder.name.startswith("zipfit-")
    kept = {p.name: p.stat().st_mtime_ns for p in folder.glob("shard-*")}
    assert sorted(kept) == [f"shard-{k:05d}.parquet" for k in range(4)]
    (folder / "shard-00002.parquet").unlink()  # the shard a killed job had not finished
    again = zipkit.score(str(shards), method="zipfit", engine=engine, target=TARGET).values
    assert np.array_equal(again, first)
    assert _step_folders(scores) == [folder.name] and (folder / "shard-00002.parquet").is_file()
    for name, mtime in kept.items():
        if name != "shard-00002.parquet":
            assert (folder / name).stat().st_mtime_ns == mtime


def test_a_bad_record_names_its_shard_and_line_or_is_skipped(cluster, shards):
    bad = shards / "part-2.jsonl"
    lines = bad.read_bytes().splitlines(keepends=True)
    bad.write_bytes(b"".join(lines[:6]) + b'{"instruction": \n' + b"".join(lines[6:]))
    step = RecordRatios("zlib:9", "text")  # the ratio method's defaults
    with pytest.raises(BadRecordError, match=f"{bad}: line 7, record 6"):
        RayExecutor().map_files(shards, step)
    result = RayExecutor().map_files(shards, step, read={"on_error": "skip"})
    assert [(s.path, s.line) for s in result.skipped] == [(str(bad), 7)]
    local = zipkit.score(zipkit.read_records(shards, on_error="skip"), method="ratio")
    assert np.array_equal(result.columns["ratio"], local.values)


def test_dsir_on_ray_refuses_a_fit_that_needs_the_pool_in_order(cluster, shards):
    with pytest.raises(ValueError, match="raw_fit_ngrams .* read it whole"):
        zipkit.score(str(shards), method="dsir", engine="ray", target=TARGET, raw_fit_ngrams=100)


def test_bad_engine_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="engine must be one of"):
        executors.get("spark")
    with pytest.raises(ValueError, match="engine must be one of"):
        zipkit.score(["some text"], method="length", engine="spark")
    with pytest.raises(ValueError, match=r"cpus_per_task .* must be a number > 0"):
        RayExecutor(cpus_per_task=0)


def test_the_cli_scores_on_ray_as_it_does_locally(cluster, shards, tmp_path):
    from zipkit import cli

    write_jsonl(tmp_path / "target.jsonl", [{"text": t} for t in TARGET])
    common = ["score", str(shards), "--method", "zipfit", "--target", str(tmp_path / "target.jsonl"), "--no-progress"]
    assert cli.main([*common, "-o", str(tmp_path / "local.jsonl")]) == 0
    assert (
        cli.main([*common, "--engine", "ray", "--scores-dir", str(tmp_path / "s"), "-o", str(tmp_path / "ray.jsonl")])
        == 0
    )
    local, on_ray = (
        [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
        for name in ("local.jsonl", "ray.jsonl")
    )
    assert on_ray == local and len(local) == 90
    assert [r["shard"] for r in local] == [k for k in range(4) for _ in range(25)][:90]
    assert len(list((tmp_path / "s").glob("zipfit-*/shard-*.parquet"))) == 4
    assert (
        cli.main(["score", str(shards), "--method", "length", "--ray-cpus", "2", "-o", str(tmp_path / "d.jsonl")]) == 2
    )  # a Ray option without --engine ray


def test_each_job_keeps_its_scores_in_its_own_subfolder(cluster, shards, tmp_path):
    """Another job (other parameters, another method, or changed shards) writes to another
    subfolder and never takes the first job's files for done: its scores equal a fresh
    run's. The same job finds its own subfolder and scores nothing again."""
    scores = tmp_path / "scores"
    engine = RayExecutor(scores_dir=scores)

    def on_ray(method, **params):
        return zipkit.score(str(shards), method=method, engine=engine, **params).values

    def fresh(method, **params):
        return zipkit.score(zipkit.read_records(shards), method=method, **params).values

    first = on_ray("zipfit", target=TARGET)
    (job,) = _step_folders(scores)
    kept = {p: p.stat().st_mtime_ns for p in (scores / job).glob("shard-*")}
    assert len(kept) == 4

    fewer_targets = on_ray("zipfit", target=TARGET[:3])
    assert np.array_equal(fewer_targets, fresh("zipfit", target=TARGET[:3]))
    assert not np.array_equal(fewer_targets, first)  # so equal to a fresh run proves no file was reused
    assert len(_step_folders(scores)) == 2
    assert np.array_equal(
        on_ray("zipfit", target=TARGET, aggregate="max"), fresh("zipfit", target=TARGET, aggregate="max")
    )
    assert len(_step_folders(scores)) == 3
    assert np.array_equal(on_ray("ratio"), fresh("ratio"))  # another method
    folders = _step_folders(scores)
    assert len(folders) == 4 and sum(name.startswith("ratio-") for name in folders) == 1

    # The same job again: its subfolder, every shard taken as done.
    assert np.array_equal(on_ray("zipfit", target=TARGET), first)
    assert _step_folders(scores) == folders
    assert {p: p.stat().st_mtime_ns for p in (scores / job).glob("shard-*")} == kept

    # A shard rewritten since (other records): another subfolder, scored afresh.
    (shards / "part-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in alpaca(25, seed=99)))
    assert np.array_equal(on_ray("zipfit", target=TARGET), fresh("zipfit", target=TARGET))
    assert len(_step_folders(scores)) == 5
    assert {p: p.stat().st_mtime_ns for p in (scores / job).glob("shard-*")} == kept


def test_dedup_on_ray_finds_the_clusters_of_the_local_engine(cluster, tmp_path):
    records = alpaca(60, seed=8)
    records += [{**r, "output": r["output"].upper()} for r in records[:20]]  # the same, normalised
    records += [{**r, "output": r["output"] + " and one more"} for r in records[20:35]]  # near
    shards = write_shards(tmp_path / "dups", records, 23)
    local = zipkit.dedup(str(shards), mode="near")
    on_ray = zipkit.dedup(str(shards), mode="near", engine="ray")
    assert len(local.clusters) >= 20 and on_ray.clusters == local.clusters
    assert on_ray.kept.tolist() == local.kept.tolist() and on_ray.manifest["engine"]["name"] == "ray"


def test_decontaminate_on_ray_writes_the_local_engine_s_clean_pool(cluster, shards, tmp_path):
    from zipkit.cli import main

    records = zipkit.read_records(str(shards))
    bench = tmp_path / "bench.jsonl"
    write_jsonl(bench, [{"text": records.text(3)}, {"text": records.text(70)}])
    outputs = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"clean-{engine}.jsonl"
        argv = ["decontaminate", str(shards), "--against", str(bench), "-o", str(out), "--engine", engine]
        assert main(argv + ["--dropped", str(tmp_path / f"dropped-{engine}.jsonl"), "--no-progress"]) == 0
        outputs[engine] = (out.read_text(), (tmp_path / f"dropped-{engine}.jsonl").read_text())
    assert outputs["ray"] == outputs["local"]
    assert [json.loads(line)["index"] for line in outputs["ray"][1].splitlines()] == [3, 70]
