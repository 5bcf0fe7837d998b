"""What a new user meets in the first hour: inspect/compare, score's manifest, a schema that
says what it leaves out."""

import json
import warnings
import zlib

import numpy as np
import pyarrow.parquet as pq
import pytest
from helpers import alpaca, write_array, write_jsonl

import zipkit
from zipkit import cli, summary
from zipkit.ratio import framed_ratio

POOL = alpaca(300)


@pytest.fixture
def selections(tmp_path):
    """A pool (as a JSON array, so outputs are re-framed lines) and three selections of it:
    zip and random as reports, length as its output file."""
    pool = write_array(tmp_path / "pool.json", POOL)
    for method in ("zip", "random", "length"):
        assert (
            cli.main(
                [
                    "select",
                    str(pool),
                    "--method",
                    method,
                    "--budget-tokens",
                    "3000",
                    "-o",
                    str(tmp_path / f"{method}.jsonl"),
                    "--report",
                    str(tmp_path / f"{method}.json"),
                    "--no-progress",
                ]
            )
            == 0
        )
    return tmp_path


def test_compare_measures_each_selection_from_its_report_or_its_records(selections):
    pool = selections / "pool.json"
    result = summary.compare(
        [selections / "zip.json", selections / "random.json", selections / "length.jsonl"],
        pool,
        compressor_specs=["zlib:9", "zstd:3"],
    )
    reports = {m: json.loads((selections / f"{m}.json").read_text()) for m in ("zip", "random", "length")}
    records = zipkit.read_records(pool)
    for row, method in zip(result["selections"], ("zip", "random", "length")):
        indices = reports[method]["indices"]
        texts = [records.text(i) for i in indices]
        assert row["records"] == len(indices)
        assert row["tokens"] == sum(len(t.split()) for t in texts) == reports[method]["manifest"]["tokens_selected"]
        assert row["tokens_median"] == np.median([len(t.split()) for t in texts])
        # the set's ratio, computed another way: the texts joined by newlines, compressed once
        joined = "\n".join(texts).encode()
        assert row["ratio"]["zlib:9"] == pytest.approx(len(joined) / len(zlib.compress(joined, 9)))
        assert row["ratio"]["zstd:3"] == framed_ratio([t.encode() for t in texts], "text", "zstd:3")
        assert sum(row["histogram"]) == len(indices)
    assert "scores" in result["selections"][0] and "scores" not in result["selections"][2]
    sets = [set(reports[m]["indices"]) for m in ("zip", "random", "length")]
    assert result["overlap"][0][1] == pytest.approx(len(sets[0] & sets[1]) / len(sets[0] | sets[1]))
    assert result["overlap"][2][2] == 1.0


def test_random_at_equal_tokens_stays_within_the_tokens(selections):
    tokens = np.array([5, 7, 3, 9, 4])
    picked = summary._random_at_tokens(tokens, 12, seed=0)
    assert tokens[picked].sum() <= 12 and len(set(picked.tolist())) == len(picked)


def test_duplicates_and_a_field_mix_are_counted(tmp_path):
    pool = [{"text": "same words here", "source": "a"}] * 3 + [
        {"text": f"other text {i}", "source": "b"} for i in range(5)
    ]
    path = write_jsonl(tmp_path / "p.jsonl", pool)
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"indices": [0, 1, 3, 2], "scores": [1, 2, 3, 4], "manifest": {}}))
    row = summary.compare([report], path, by="source")["selections"][0]
    assert row["duplicate_texts"] == 2 and row["mix"] == {"a": 0.75, "b": 0.25}


def test_a_selection_of_another_pool_is_named(selections, tmp_path):
    other = write_jsonl(tmp_path / "other.jsonl", alpaca(50, seed=7))
    with pytest.raises(ValueError, match="is --pool the pool it was selected from"):
        summary.compare([selections / "length.jsonl"], other)
    with pytest.raises(ValueError, match="selected from a pool of 300 records, this one has 50"):
        summary.compare([selections / "zip.json"], other)
    # Without a manifest to say so, the indices past the pool's end still do.
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"indices": json.loads((selections / "zip.json").read_text())["indices"]}))
    with pytest.raises(IndexError, match="out of range for an input of 50 records"):
        summary.compare([bare], other)


def test_cli_compare_prints_and_plots(selections, capsys):
    plot = selections / "lengths.png"
    assert (
        cli.main(
            [
                "compare",
                str(selections / "zip.json"),
                str(selections / "random.json"),
                str(selections / "length.jsonl"),
                "--pool",
                str(selections / "pool.json"),
                "--plot",
                str(plot),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "the whole pool" in out and "overlap" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli.main(["compare", str(selections / "zip.json"), "--pool", str(selections / "pool.json")]) == 2


def test_score_writes_its_manifest_to_the_report_and_the_parquet(tmp_path):
    pool = write_jsonl(tmp_path / "pool.jsonl", POOL)
    out, report = tmp_path / "s.parquet", tmp_path / "s.json"
    assert (
        cli.main(
            ["score", str(pool), "--compressor", "zstd:3", "-o", str(out), "--report", str(report), "--no-progress"]
        )
        == 0
    )
    manifest = json.loads(report.read_text())
    assert manifest["method"] == "ratio" and manifest["parameters"]["compressor"] == "zstd:3"
    assert manifest["parameters"]["serializer"] == "text"  # a default, resolved from the signature
    assert manifest["compressor"]["spec"] == "zstd:3" and "zstandard" in json.dumps(manifest["versions"])
    assert manifest["pool"]["records"] == len(POOL) and "score" in manifest["timings"]
    carried = json.loads(pq.read_schema(out).metadata[b"zipkit"])
    assert carried == manifest
    scores = pq.read_table(out).column("ratio").to_numpy()
    np.testing.assert_array_equal(scores, zipkit.score(POOL, compressor="zstd:3"))


def test_score_refuses_options_of_other_commands(tmp_path, capsys):
    pool = write_jsonl(tmp_path / "pool.jsonl", POOL)
    for option in (
        ["--k1", "5"],
        ["--checkpoint", "c.npz"],
        ["--seed", "1"],
        ["--threshold", "0.5"],
        ["--shortest"],
        ["--dedup"],
    ):
        with pytest.raises(SystemExit):
            cli.main(["score", str(pool), "-o", str(tmp_path / "s.jsonl"), *option])
        assert "unrecognized arguments" in capsys.readouterr().err


def test_a_detected_schema_says_which_text_fields_it_leaves_out(tmp_path):
    rows = [{"text": "Write a function to add.", "code": "def add(a, b):\n    return a + b", "task_id": 1}]
    with pytest.warns(
        UserWarning,
        match=r"reads text; the records' other text field\(s\) code are left "
        r"out.*--text-field text --text-field code",
    ):
        zipkit.read_records(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zipkit.read_records(rows, text_fields=["text", "code"])  # named: nothing to say
        zipkit.read_records(POOL)  # alpaca's fields are all read


@pytest.mark.parametrize(
    "message, expected",
    [
        (
            "give exactly one of budget=N (records) or budget_tokens=T (tokens)",
            "give exactly one of --budget N (records) or --budget-tokens T (tokens)",
        ),
        ("no CUDA device here: pass device='cpu' or 'auto'", "no CUDA device here: pass --device cpu or 'auto'"),
        (
            "resume=True continues the run saved in a checkpoint: name it with checkpoint=PATH",
            "--resume continues the run saved in a checkpoint: name it with --checkpoint PATH",
        ),
        ("x (pass on_error='skip' to skip bad records)", "x (pass --skip-bad to skip bad records)"),
        ("unknown=3 and k1=5", "unknown=3 and --k1 5"),
    ],
)
def test_cli_errors_speak_in_options(message, expected):
    args = cli.build_parser().parse_args(["select", "p.jsonl", "-o", "o.jsonl"])
    assert cli.cli_words(message, args) == expected


def test_a_cli_error_names_the_option(tmp_path, capsys):
    pool = write_jsonl(tmp_path / "pool.jsonl", POOL)
    assert cli.main(["select", str(pool), "-o", str(tmp_path / "o.jsonl")]) == 2
    assert "give exactly one of --budget N (records) or --budget-tokens T" in capsys.readouterr().err


def test_help_says_what_each_method_does_and_every_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["select", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for method in zipkit.methods.selectors():
        assert f"{method}: " in text
    assert "--k1 K1 global window (default: 10000)" in text
    assert "--dedup drop exact duplicate texts first (default: off)" in text
    assert "--shortest length: shortest first (default: longest first)" in text
    assert "--min-tokens MIN_TOKENS" in text and "(default: 100)" in text
    with pytest.raises(SystemExit):
        cli.main(["score", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "zip's default" not in text and "--k1" not in text and "--report" in text
