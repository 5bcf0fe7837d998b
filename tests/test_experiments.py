"""The experiment runner on a tiny generated pool: every table column is computed from the
selections, a rerun reuses them, and a killed run continues where it stopped."""

import json

import numpy as np
import pytest
from helpers import alpaca, write_jsonl

import zipkit
from zipkit import cli
from zipkit.experiments import runner, stats
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
budgets = [0.05, 0.1]
k1 = 100
k2 = 40
k3 = 10
compressors = {json.dumps(SPECS)}
measure = {json.dumps(SPECS)}
seeds = 3
resamples = 10
[exact]
records = 60
k1 = 60
k2 = 20
k3 = 5
compressors = ["lz4:1"]
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
    tokens = np.array([len(pool.text(i).split()) for i in range(len(pool))])
    assert results["pool_tokens"] == tokens.sum()
    assert len(results["rows"]) == 2 * len(SPECS)
    for row in results["rows"]:
        budget = int(row["fraction"] * tokens.sum())
        assert row["budget_tokens"] == budget
        again = zipkit.select(pool, k1=100, k2=40, k3=10, compressor=row["compressor"], budget_tokens=budget)
        assert row["indices"] == again.indices.tolist()
        texts = [pool.text(int(i)).encode() for i in again.indices]
        assert row["records"] == len(again.indices)
        assert row["tokens"] == sum(len(t.split()) for t in texts)
        assert budget - tokens.max() <= row["tokens"] <= budget  # equal tokens, to within one record
        for spec in SPECS:
            figure = row["ratio"][spec]
            assert figure["value"] == pytest.approx(framed_ratio(texts, "text", spec))
            assert figure["ci"][0] <= figure["ci"][1] and len(figure["draws"]) == 10
        for name in ("length-matched", "null"):
            assert row["compressor"] in row["controls"][name]
    # The random control is the mean over its seeds of random sets at the budget.
    for key, control in results["controls"].items():
        budget = int(float(key) * tokens.sum())
        sets = [stats.random_control(tokens, budget, seed) for seed in range(3)]
        expected = np.mean([framed_ratio([pool.text(int(i)).encode() for i in s], "text", "zlib:6") for s in sets])
        assert control["zlib:6"]["value"] == pytest.approx(expected)
    assert [r["context"] for r in results["exact"]["rows"]] == ["default", "default", "exact", "exact"]
    assert {r["exactness"] for r in results["exact"]["rows"] if r["context"] == "exact"} == {"exact"}
    jaccard = results["overlap"]["0.05"]["jaccard"]
    a, b = (set(r["indices"]) for r in results["rows"][:2])
    assert jaccard[0][1] == pytest.approx(len(a & b) / len(a | b), abs=1e-4) and jaccard[0][0] == 1
    spearman = results["single_record_spearman"]
    a, b = (zipkit.score(pool, compressor=s) for s in SPECS)
    assert spearman[SPECS[0]][SPECS[1]] == pytest.approx(zipkit.ratio.spearman(a, b), abs=1e-4)
    assert {r["compressor"] for r in results["zipfit"]} == set(SPECS)
    table = (out / "results.md").read_text()
    for column in (
        "compressor",
        "s/round",
        "fill %",
        "ratio zlib:6 (95% CI)",
        "minus length-matched (95% CI)",
        "us/pair",
    ):
        assert f" {column} |" in table
    assert "## Findings" in table and "Default against exact contexts" in table
    assert (out / "results.csv").read_text().splitlines()[0].startswith("compressor,context,records,tokens,fill %")
    for png in ("ratio_cross_0.05", "overlap_0.1", "time_vs_ratio_0.05"):
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
    made = first["selections_made"] + first["selections_reused"]
    assert first["selections_reused"] == 2
    assert run(config, out) == 0
    second = json.loads((out / "results.json").read_text())
    assert (second["selections_made"], second["selections_reused"]) == (0, made)
    assert [r["ratio"] for r in second["rows"]] == [r["ratio"] for r in first["rows"]]


def test_a_bad_config_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[zip\nbudget = ")
    assert cli.main(["experiment", "compressors", "--config", str(bad)]) == 2
    assert f"config {bad} is not valid TOML" in capsys.readouterr().err


def test_methods_fill_each_budget_with_controls_and_intervals(tmp_path):
    pytest.importorskip("sentence_transformers")
    pool, target = files(tmp_path, 150)
    config = tmp_path / "m.toml"
    config.write_text(f"""
[pool]
path = "{pool}"
[methods]
budgets = [0.1, 0.2]
k1 = 150
k2 = 50
k3 = 10
tokenizer = "whitespace"
measure = ["zlib:9"]
device = "cpu"
target = "{target}"
baselines = ["random", "length", "dsir", "zipfit"]
seeds = 2
resamples = 8
[methods.params.dsir]
min_tokens = 0
""")
    out = tmp_path / "out"
    assert cli.main(["experiment", "methods", "--config", str(config), "--out", str(out), "--no-progress"]) == 0
    results = json.loads((out / "results.json").read_text())
    records = zipkit.read_records(pool)
    tokens = np.array([len(records.text(i).split()) for i in range(150)])
    assert [r["method"] for r in results["rows"]] == ["zip", "random", "length", "dsir", "zipfit"] * 2
    for row in results["rows"]:  # every method fills each budget to within one record, and says so
        budget = int(row["fraction"] * tokens.sum())
        assert budget - tokens.max() <= row["tokens"] <= budget and row["records"] > 0
        assert row["fill"] == pytest.approx(row["tokens"] / budget)
        texts = [records.text(i).encode() for i in row["indices"]]
        assert row["figures"]["ratio zlib:9"]["value"] == pytest.approx(framed_ratio(texts, "text", "zlib:9"))
        assert set(row["controls"]) == {"length-matched", "null"}
        for control in row["controls"].values():  # the controls fill the same budget, to within one record
            assert (budget - tokens.max()) / budget <= control["fill"] <= 1
    vectors = zipkit.baselines.cluster.embed(records, device="cpu")
    length = next(r for r in results["rows"] if r["method"] == "length")
    picked = vectors[length["indices"]]
    n = len(picked)
    distances = 1 - picked @ picked.T
    assert length["figures"]["cosine diversity"]["value"] == pytest.approx(distances.sum() / (n * (n - 1)), abs=1e-4)
    text = (out / "results.md").read_text()
    assert " fill % |" in text and " cosine diversity (95% CI) |" in text and "## Findings" in text
    findings = (out / "findings.md").read_text()
    assert findings.count("zip, ratio zlib:9") == 2  # one per budget, against the three controls
    assert (out / "ratio_0.1.png").read_bytes()[:4] == b"\x89PNG"
