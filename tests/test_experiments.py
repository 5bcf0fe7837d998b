"""The experiment runner on a tiny generated pool: every table column is computed from the
selections, a rerun reuses them, and a killed run continues where it stopped."""

import json

import pytest
from helpers import alpaca, write_jsonl

import zipkit
from zipkit import cli
from zipkit.experiments import runner
from zipkit.ratio import framed_ratio

SPECS = ["zlib:6", "lz4:1"]


def files(tmp_path, n):
    """A pool of ``n`` generated records tagged with three sources, and a target of 8."""
    records = [{**r, "source": f"s{i % 3}"} for i, r in enumerate(alpaca(n))]
    return (write_jsonl(tmp_path / "pool.jsonl", records), write_jsonl(tmp_path / "target.jsonl", alpaca(8, seed=3)))


@pytest.fixture
def config(tmp_path):
    pool, target = files(tmp_path, 120)
    path = tmp_path / "c.toml"
    path.write_text(f"""
[pool]
path = "{pool}"
[zip]
budget = 20
budget_tokens = 1500
k1 = 100
k2 = 40
k3 = 10
compressors = {json.dumps(SPECS)}
measure = {json.dumps(SPECS)}
[zipfit]
target = "{target}"
reference = "zlib:6"
compressors = {json.dumps(SPECS)}
""")
    return path


def run(config, out, *extra):
    return cli.main(["experiment", "compressors", "--config", str(config), "--out", str(out), "--no-progress", *extra])


def test_every_column_is_computed_from_the_selections(config, tmp_path):
    out = tmp_path / "out"
    assert run(config, out) == 0
    results = json.loads((out / "results.json").read_text())
    pool = zipkit.read_records(tmp_path / "pool.jsonl")
    assert len(results["zip"]) == 2 * len(SPECS)
    for row in results["zip"]:
        budget = {"budget": 20} if row["budget"] == "count" else {"budget_tokens": 1500}
        again = zipkit.select(pool, k1=100, k2=40, k3=10, compressor=row["compressor"], **budget)
        texts = [pool.text(int(i)).encode() for i in again.indices]
        assert row["records"] == len(again.indices)
        assert row["tokens"] == sum(len(t.split()) for t in texts)
        for spec in SPECS:
            assert row["ratio"][spec] == pytest.approx(framed_ratio(texts, "text", spec))
        assert set(row["mix"]) <= {"s0", "s1", "s2"} and sum(row["mix"].values()) == pytest.approx(1)
    spearman = results["single_record_spearman"]
    a, b = (zipkit.score(pool, compressor=s) for s in SPECS)
    assert spearman[SPECS[0]][SPECS[1]] == pytest.approx(zipkit.ratio.spearman(a, b), abs=1e-4)
    assert {r["compressor"] for r in results["zipfit"]} == set(SPECS)
    table = (out / "results.md").read_text()
    for column in (
        "compressor",
        "s/round",
        "mean tok",
        "ratio zlib:6",
        "ratio lz4:1",
        "near-dup",
        "us/pair",
        "Spearman vs zlib:6",
    ):
        assert f" {column} |" in table
    assert (out / "results.csv").read_text().splitlines()[0].startswith("compressor,budget,s,")
    for png in ("ratio_cross_count", "overlap_tokens", "time_vs_ratio_count", "lengths_tokens"):
        assert (out / f"{png}.png").read_bytes()[:4] == b"\x89PNG"


def test_a_rerun_reuses_and_a_killed_run_continues(config, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    real, calls = runner.select, []

    def dies_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "select", dies_on_the_third)
    assert run(config, out) == 130
    assert "in its checkpoint: run the same command to go on" in capsys.readouterr().err
    assert len(list((out / "selections").iterdir())) == 2 and not (out / "results.json").exists()
    monkeypatch.setattr(runner, "select", real)
    assert run(config, out) == 0
    first = json.loads((out / "results.json").read_text())
    assert (first["selections_made"], first["selections_reused"]) == (2, 2)
    assert run(config, out) == 0
    second = json.loads((out / "results.json").read_text())
    assert (second["selections_made"], second["selections_reused"]) == (0, 4)
    assert [r["ratio"] for r in second["zip"]] == [r["ratio"] for r in first["zip"]]


def test_a_bad_config_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[zip\nbudget = ")
    assert cli.main(["experiment", "compressors", "--config", str(bad)]) == 2
    assert f"config {bad} is not valid TOML" in capsys.readouterr().err


def test_methods_fill_the_tokens_zip_selected(tmp_path):
    pytest.importorskip("sentence_transformers")
    pool, target = files(tmp_path, 150)
    config = tmp_path / "m.toml"
    config.write_text(f"""
[pool]
path = "{pool}"
[methods]
zip_budget = 20
k1 = 150
k2 = 50
k3 = 10
tokenizer = "whitespace"
measure = ["zlib:9"]
device = "cpu"
target = "{target}"
baselines = ["random", "length", "dsir", "zipfit"]
[methods.params.dsir]
min_tokens = 0
""")
    out = tmp_path / "out"
    assert cli.main(["experiment", "methods", "--config", str(config), "--out", str(out), "--no-progress"]) == 0
    results = json.loads((out / "results.json").read_text())
    rows = {r["method"]: r for r in results["rows"]}
    assert list(rows) == ["zip", "random", "length", "dsir", "zipfit"]
    budget = rows["zip"]["tokens"]
    assert results["budget_tokens"] == budget
    longest = max(len(t.split()) for t in (zipkit.read_records(pool).text(i) for i in range(150)))
    for row in rows.values():  # every method fills ZIP's tokens to within one record, and says so
        assert budget - longest <= row["tokens"] <= budget and row["records"] > 0
        assert row["fill"] == round(row["tokens"] / budget, 4)
    assert " fill % |" in (out / "results.md").read_text()
    vectors = zipkit.baselines.cluster.embed(zipkit.read_records(pool), device="cpu")
    report = next(p for p in (out / "selections").iterdir() if p.name.startswith("length-"))
    picked = vectors[json.loads(report.read_text())["indices"]]
    distances = 1 - picked @ picked.T
    n = len(picked)
    assert rows["length"]["cosine_diversity"] == pytest.approx(distances.sum() / (n * (n - 1)), abs=1e-4)
    assert " avg length |" in (out / "results.md").read_text()
    assert (out / "ratio_vs_cost.png").read_bytes()[:4] == b"\x89PNG"
