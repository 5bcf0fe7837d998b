"""The entropy-law experiment: one point per selection at the train study's budget, x the
compression ratio of exactly the records its runs trained, the least-squares line with the
slope's bootstrap interval and Spearman's rho; the train and entropy-law presets' sizes."""

import json
from pathlib import Path

import numpy as np
import pytest
from test_training import experiment, make_study, selection_of

import zipkit
from zipkit.experiments import training
from zipkit.experiments.entropy_law import fit

pytest.importorskip("torch")
ROOT = Path(__file__).parents[1]


def test_the_fit_is_least_squares_through_the_points_and_its_interval_resamples_them():
    xs = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    exact = [{"ratio": x, "held_out": 2 * x + 1, "runs": {"ratio": [x], "held_out": [2 * x + 1]}} for x in xs]
    f = fit(exact, "ratio", resamples=200)
    assert f["slope"] == pytest.approx(2) and f["intercept"] == pytest.approx(1)
    assert f["slope_ci"] == pytest.approx([2, 2]) and f["spearman"] == pytest.approx(1)
    assert f["spearman_ci"] == pytest.approx([1, 1])
    # Points of several runs (seeds): the line goes through their means; the interval widens.
    rng = np.random.default_rng(1)
    noisy = []
    for x in xs:
        ys = list(0.3 * x + rng.normal(0, 0.2, 3))
        noisy.append({"ratio": x, "held_out": float(np.mean(ys)), "runs": {"ratio": [x] * 3, "held_out": ys}})
    f = fit(noisy, "ratio", resamples=500)
    slope, intercept = np.polyfit(xs, [p["held_out"] for p in noisy], 1)
    assert f["slope"] == pytest.approx(slope) and f["intercept"] == pytest.approx(intercept)
    assert f["slope_ci"][0] < slope < f["slope_ci"][1] and f["runs"] == 15
    assert fit(noisy, "ratio", resamples=500) == f  # seeded: the same interval again
    assert fit(noisy[:2], "ratio", resamples=50) is None  # two points make no interval


def _cut_bytes(pool, indices, model, seq, seed):
    """The bytes a cut run trained of each record, read off the blocks pack makes: a record
    whose ids and end token the cut holds, its text; the one the cut ends in, its ids decoded."""
    from zipkit.baselines.models import load_tokenizer

    ids, _ = training.encode_records(pool, indices, model)
    end = training.end_token(model)
    flat = training.pack(ids, end, seq["tokens"], seq["settings"], seed).ravel().tolist()
    pieces, current = [], []
    for token in flat:
        if token == end:
            pieces.append((current, True))
            current = []
        else:
            current.append(token)
    if current:
        pieces.append((current, False))
    out = {}
    for piece, whole in pieces:
        (k,) = [
            k for k, i in enumerate(ids) if i[: len(piece)].tolist() == piece and (not whole or len(i) == len(piece))
        ]
        out[k] = pool.payloads("text")[int(indices[k])] if whole else load_tokenizer(model).decode(piece).encode()
    return [bytes(out[k]) for k in sorted(out)]


def test_entropy_law_plots_loss_against_the_ratio_of_exactly_the_trained_records(tmp_path, tiny_model):
    from scipy import stats as scipy_stats

    from zipkit.budget import token_counts
    from zipkit.ratio import framed_ratio

    d = tmp_path
    text = make_study(d, tiny_model)
    (d / "t.toml").write_text(text)
    assert experiment("train", d / "t.toml", d / "t") == 0
    added = (
        '[entropy_law]\ncompressors = ["lz4:1"]\nstages = [[40, 10, 3]]\nzip_multiples = [2]\nseeds = [0]\n'
        f'exclude_from_fit = ["length"]\nresamples = 300\n[train]\nreuse = ["{d / "t"}"]'
    )
    (d / "e.toml").write_text(text.replace("[train]", added))
    assert experiment("entropy-law", d / "e.toml", d / "e") == 0
    results = json.loads((d / "e" / "results.json").read_text())
    # The train experiment's runs are reused: only the three added selections trained here.
    assert len(list((d / "e" / "runs").glob("*-seed*.json"))) == 3
    points = results["points"]["400"]
    assert len(points) == 3 + 3 + 1 + 1 + 3  # methods, random draws, matched controls, added
    pool = zipkit.read_records(d / "pool.jsonl")
    tokens = token_counts(pool, tiny_model)
    payloads = pool.payloads("text")
    settings = training.Settings.from_config(json.loads((d / "e" / "results.json").read_text())["settings"])
    for p in points:
        runs = [r for r in results["runs"] if r["selection"] == p["selection"]]
        assert p["held_out"] == pytest.approx(np.mean([r["held_out_mean"] for r in runs]))
        if p["group"] == "zip, larger set cut to the budget":
            (r,) = runs
            (path,) = (d / "e" / "selections").glob("zip_at_2x_the_budget-*.json")
            indices = np.array(json.loads(path.read_text())["indices"])
            assert tokens[indices].sum() > 400 and r["cut"] == 416 and r["steps"] == 13  # 13 steps of 32
            trained = _cut_bytes(pool, indices, tiny_model, {"tokens": 416, "settings": settings}, r["seed"])
            assert p["ratio"] == pytest.approx(framed_ratio(trained, "text", "zlib:9"))
        else:
            folder = d / ("t" if p["group"] not in ("zip, other compressor", "zip, other K1/K2/K3") else "e")
            indices = selection_of(runs[0], folder, tokens)
            assert p["ratio"] == pytest.approx(framed_ratio([payloads[int(i)] for i in indices], "text", "zlib:9"))
    # The line and the correlation are those of the points.
    f = results["fits"]["400"]["ratio"]
    xs, ys = [p["ratio"] for p in points], [p["held_out"] for p in points]
    assert [f["slope"], f["intercept"]] == pytest.approx(list(np.polyfit(xs, ys, 1)))
    assert f["spearman"] == pytest.approx(scipy_stats.spearmanr(xs, ys)[0])
    assert f["slope_ci"][0] <= f["slope_ci"][1] and f["spearman_ci"][0] <= f["spearman_ci"][1]
    assert results["fits"]["400"]["ratio without length"]["points"] == len(points) - 1
    g = results["fits"]["400"]["first_epoch_loss"]
    assert g["slope"] == pytest.approx(np.polyfit([p["first_epoch_loss"] for p in points], ys, 1)[0])
    # The report: the fits with their intervals, a finding each, the figure.
    md = (d / "e" / "results.md").read_text()
    assert "Spearman rho" in md and "slope 95% CI" in md
    findings = (d / "e" / "findings.md").read_text()
    assert "At 400 tokens, held-out loss against the compression ratio (zlib:9) of the trained records" in findings
    assert (d / "e" / "loss_vs_ratio_400.png").stat().st_size > 0
    assert cli_report(d / "e") == md


def cli_report(folder) -> str:
    from zipkit import cli

    (folder / "results.md").unlink()
    assert cli.main(["experiment", "report", str(folder)]) == 0
    return (folder / "results.md").read_text()


# --- the presets ------------------------------------------------------------------------------


def _preset(name):
    from zipkit.experiments.runner import load_config

    path = ROOT / "experiments" / f"{name}.toml"
    kind = "entropy-law" if name.startswith("entropy") else "train"
    return load_config(path, kind), path.read_text().splitlines()[0]


@pytest.mark.parametrize("cpu, gpu", [("train", "train_gpu")])
def test_the_entropy_law_presets_train_what_the_train_presets_train(cpu, gpu):
    """Their [train] tables are the train presets' (so their runs are reused), with reuse
    naming the train preset's output folder; every preset trains whole selections, one epoch."""
    for name in (cpu, gpu):
        train, command = _preset(name)
        law, _ = _preset(name.replace("train", "entropy_law"))
        out = command.split("--out ")[1].strip()
        assert law["train"]["reuse"] == [out]
        assert {**law["train"], "reuse": []} == {**train["train"], "reuse": []} and law["pool"] == train["pool"]
        assert train["train"]["tokens"] is None and train["train"]["settings"]["epochs"] == 1
        assert len(train["train"]["random_seeds"]) >= 5 and train["train"]["matched"]
        assert len(train["train"]["seeds"]) >= 3 and len(train["train"]["matched_seeds"]) >= 3


def test_the_gpu_presets_carry_the_real_scale():
    for name in ("train_gpu", "entropy_law_gpu"):
        spec = _preset(name)[0]["train"]
        assert spec["settings"]["device"] == "cuda" and spec["min_steps"] >= 150 and spec["min_held_out"] >= 1000
        assert min(spec["budgets"]) == 0.01 and max(spec["budgets"]) == 0.1


def test_the_cpu_train_preset_fits_in_about_an_hour(shared_data):
    """Its runs at ~140 training tokens/s and ~600 scoring tokens/s on 2 cores: the held-out
    texts (all sets together) meet its minimum of at least 200, and the time is about an hour."""
    from zipkit.experiments import heldout
    from zipkit.experiments.runner import load_config
    from zipkit.experiments.schema import BASELINES

    config, _ = _preset("train")
    spec, s = config["train"], training.Settings.from_config(config["train"]["settings"])
    methods_pool = load_config(ROOT / "experiments" / "methods.toml")["pool"]
    texts = {n: heldout.texts(n, limit=spec["eval_limit"], pool=methods_pool) for n in spec["eval"]}
    assert sum(len(t) for t in texts.values()) >= spec["min_held_out"] >= 200
    scored = sum(min(len(i), s.eval_max_tokens) for t in texts.values() for i in training.encode(t, s.model))
    methods = len(BASELINES)  # ZIP and the baselines, less random (a control)
    runs = (
        methods * len(spec["seeds"]) + len(spec["random_seeds"]) + 2 * len(spec["matched"]) * len(spec["matched_seeds"])
    )
    (budget,) = spec["budget_tokens"]
    per_run = (budget // s.tokens_per_step + 1) * s.tokens_per_step / 140 + scored / 600
    assert runs == 35 and 50 * 60 < runs * per_run < 60 * 60


def test_the_gpu_presets_score_at_least_1000_held_out_texts(shared_data):
    from zipkit.experiments import heldout

    spec = _preset("train_gpu")[0]["train"]
    # pool_holdout holds eval_limit records of the pool's sources left out of it; the others:
    fixed = sum(len(heldout.texts(n, limit=spec["eval_limit"])) for n in spec["eval"] if n != "pool_holdout")
    assert fixed >= spec["min_held_out"] >= 1000
