import json

import numpy as np
import pytest

import zipkit


def pool(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return [
        {"text": " ".join(["w"] * int(rng.integers(1, 30))), "source": "a" if k % 4 else "b", "n": k} for k in range(n)
    ]


def test_random_is_the_seeded_permutation():
    recs = pool()
    result = zipkit.select(recs, method="random", budget=50, seed=7)
    assert result.indices.tolist() == np.random.default_rng(7).permutation(len(recs))[:50].tolist()
    assert zipkit.select(recs, method="random", budget=50, seed=8).indices.tolist() != result.indices.tolist()
    assert result.manifest["parameters"]["seed"] == 7


@pytest.mark.parametrize("budget", [8, 40, 101])
def test_stratified_random_keeps_the_proportions(budget):
    recs = pool()  # a quarter "b", three quarters "a"
    result = zipkit.select(recs, method="random", budget=budget, stratify="source", seed=3)
    drawn = [recs[i]["source"] for i in result.indices]
    assert len(set(result.indices.tolist())) == budget
    assert abs(drawn.count("b") - budget / 4) <= 1


def test_stratify_needs_the_field_everywhere():
    recs = pool()
    del recs[5]["source"]
    with pytest.raises(ValueError, match="record 5 .* no field 'source'"):
        zipkit.select(recs, method="random", budget=5, stratify="source")


def test_length_ranks_by_tokens_ties_by_position():
    recs = pool()
    words = [len(r["text"].split()) for r in recs]
    longest = zipkit.select(recs, method="length", budget=30)
    assert longest.indices.tolist() == sorted(range(len(recs)), key=lambda i: (-words[i], i))[:30]
    shortest = zipkit.select(recs, method="length", budget=30, longest=False)
    assert shortest.indices.tolist() == sorted(range(len(recs)), key=lambda i: (words[i], i))[:30]
    np.testing.assert_array_equal(zipkit.score(recs, method="length"), words)
    np.testing.assert_array_equal(
        zipkit.score(recs, method="length", tokenizer="bytes"), [len(r["text"].encode()) for r in recs]
    )


@pytest.mark.parametrize("method", ["random", "length"])
def test_a_token_budget_skips_a_record_that_does_not_fit_and_takes_the_next(method):
    recs = pool()
    everything = zipkit.select(recs, method=method, budget=len(recs)).indices
    words = np.array([len(recs[i]["text"].split()) for i in everything])
    budget = int(words[:17].sum()) + int(words[17]) - 1  # the 18th record does not fit
    result = zipkit.select(recs, method=method, budget_tokens=budget)
    # By hand: the ranking walked once, each record taken if it fits what is left.
    left, expected = budget, []
    for i, w in zip(everything.tolist(), words.tolist()):
        if w <= left:
            expected.append(i)
            left -= w
    assert result.indices.tolist() == expected
    assert result.indices.tolist()[:17] == everything[:17].tolist() and everything[17] not in result.indices
    assert budget - words.max() <= result.manifest["tokens_selected"] == budget - left <= budget


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(budget=500), "larger than the pool"),
        (dict(), "exactly one of"),
        (dict(budget=5, budget_tokens=5), "exactly one of"),
        (dict(budget=0), "positive"),
    ],
)
def test_budget_errors(params, message):
    with pytest.raises(ValueError, match=message):
        zipkit.select(pool(), method="random", **params)


@pytest.mark.parametrize("method", ["zip", "zipfit", "random", "length", "dsir", "cluster", "perplexity", "ifd"])
def test_a_fractional_budget_is_refused_before_any_scoring(method):
    # A model that does not exist: reaching the model would raise another error.
    extra = {"target": ["def f(x): return x"]} if method in ("zipfit", "dsir") else {}
    if method in ("cluster", "perplexity", "ifd"):
        extra = {"model": "./no-such-model", "device": "cpu"}
    with pytest.raises(ValueError, match="positive whole number of records"):
        zipkit.select(pool(), method=method, budget=5.0, **extra)


@pytest.mark.parametrize(
    "argv",
    [
        ["--method", "random", "--seed", "4", "--stratify", "source"],
        ["--method", "length", "--shortest"],
        ["--method", "dsir", "--resampling", "top_k", "--min-tokens", "0"],
    ],
)
def test_cli_writes_records_unchanged(tmp_path, argv):
    from zipkit.cli import main

    src = tmp_path / "pool.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in pool()))
    target = tmp_path / "target.jsonl"
    target.write_text(json.dumps({"text": "w w w w"}) + "\n")
    out, report = tmp_path / "out.jsonl", tmp_path / "report.json"
    extra = ["--target", str(target)] if "dsir" in argv else []
    assert (
        main(
            [
                "select",
                str(src),
                *argv,
                *extra,
                "--budget",
                "12",
                "-o",
                str(out),
                "--report",
                str(report),
                "--no-progress",
            ]
        )
        == 0
    )
    chosen = json.loads(report.read_text())["indices"]
    lines = src.read_text().splitlines(keepends=True)
    assert out.read_text() == "".join(lines[i] for i in chosen) and len(set(chosen)) == 12


def test_cli_refuses_an_option_of_another_method(tmp_path, capsys):
    from zipkit.cli import main

    src = tmp_path / "pool.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in pool()))
    out = tmp_path / "out.jsonl"
    assert (
        main(["select", str(src), "--method", "random", "--k1", "5", "--shortest", "--budget", "3", "-o", str(out)])
        == 2
    )
    assert "--k1, --shortest do not apply to --method random" in capsys.readouterr().err
    assert not out.exists()
    assert (
        main(["select", str(src), "--method", "length", "--shortest", "--budget", "3", "-o", str(out), "--no-progress"])
        == 0
    )
