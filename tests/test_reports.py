"""zipkit inspect and compare read reports as untrusted input: checked against the pool they
name, counted with the tokenizer their selection used, matched by position."""

from __future__ import annotations

import json

import pytest
from helpers import alpaca, write_jsonl

import zipkit
from zipkit import summary
from zipkit.cli import main


@pytest.fixture
def made(tmp_path):
    """A pool, a selection report of it at a token budget counted in bytes, and its output."""
    pool = write_jsonl(tmp_path / "pool.jsonl", alpaca(60, seed=1))
    out, report = tmp_path / "sel.jsonl", tmp_path / "sel.json"
    argv = ["select", str(pool), "--method", "length", "--budget-tokens", "3000", "--tokenizer", "bytes"]
    assert main([*argv, "-o", str(out), "--report", str(report), "--no-progress"]) == 0
    return pool, out, report


def test_a_report_is_counted_with_its_own_tokenizer(made):
    pool, _, report = made
    manifest = json.loads(report.read_text())["manifest"]
    row = summary.compare([report], pool)["selections"][0]
    assert row["tokens"] == manifest["tokens_selected"]
    # Counted another way: the bytes of the selected texts.
    records = zipkit.read_records(pool)
    indices = json.loads(report.read_text())["indices"]
    assert row["tokens"] == sum(len(records.text(i).encode()) for i in indices)


def test_reports_made_with_different_tokenizers_need_one_given(made, tmp_path):
    pool, _, report = made
    other = tmp_path / "words.json"
    argv = ["select", str(pool), "--method", "random", "--budget", "10", "-o", str(tmp_path / "w.jsonl")]
    assert main([*argv, "--report", str(other), "--no-progress"]) == 0
    with pytest.raises(ValueError, match="different tokenizers .* give --tokenizer"):
        summary.compare([report, other], pool)
    result = summary.compare([report, other], pool, tokenizer="whitespace")
    assert result["tokenizer"] == "whitespace"


def test_a_count_budget_records_its_tokens(made, tmp_path):
    pool, _, _ = made
    selection = zipkit.select(pool, method="random", budget=7)
    records = zipkit.read_records(pool)
    assert selection.manifest["tokens_selected"] == sum(len(records.text(int(i)).split()) for i in selection.indices)


def test_the_same_selection_as_report_and_as_output_overlaps_fully_with_twins(tmp_path):
    records = alpaca(20, seed=2)
    pool = write_jsonl(tmp_path / "pool.jsonl", records + records[:5])  # five records twice
    out, report = tmp_path / "sel.jsonl", tmp_path / "sel.json"
    argv = ["select", str(pool), "--method", "random", "--budget", "15", "-o", str(out), "--report", str(report)]
    assert main([*argv, "--no-progress"]) == 0
    result = summary.compare([report, out], pool)
    assert result["overlap"][0][1] == 1.0
    assert result["overlap_by"] == "value"
    twins = {json.dumps(r, sort_keys=True) for r in records[:5]}
    picked = [json.loads(line) for line in out.read_text().splitlines()]
    assert result["selections"][1]["ambiguous"] == sum(json.dumps(r, sort_keys=True) in twins for r in picked)


def test_a_report_of_another_pool_of_the_same_size_is_refused(made, tmp_path):
    _, _, report = made
    other = write_jsonl(tmp_path / "other.jsonl", alpaca(60, seed=9))
    with pytest.raises(ValueError, match="texts differ .* is --pool the pool it was selected from"):
        summary.compare([report], other)


@pytest.mark.parametrize(
    "indices, message",
    [
        ([1, 2.5], "holds 2.5"),
        ([1, None], "holds None"),
        ([1, "2"], "holds '2'"),
        ([1, True], "holds True"),
        ("1,2", "holds '1,2'"),
        ([3, 1, 3], "holds 3 more than once"),
        ([-1], "holds -1; an index is a row of the pool, from 0"),
        ([], "'indices' is empty"),
        ([60], "index 60 is out of range for an input of 60 records"),
    ],
)
def test_bad_indices_are_named(made, tmp_path, indices, message):
    pool, _, _ = made
    report = tmp_path / "bad.json"
    report.write_text(json.dumps({"indices": indices, "manifest": {}}))
    with pytest.raises((ValueError, IndexError), match=message):
        summary.compare([report], pool)


def test_scores_without_indices_and_a_cut_report_are_named(made, tmp_path):
    pool, _, report = made
    no_indices = tmp_path / "scores.json"
    no_indices.write_text(json.dumps({"scores": [1.0], "manifest": {}}))
    with pytest.raises(ValueError, match="scores.json is a JSON object but not a selection report"):
        summary.compare([no_indices], pool)
    cut = tmp_path / "cut.json"
    cut.write_bytes(report.read_bytes()[:200])
    with pytest.raises(ValueError, match="cut.json: not valid JSON .* cut short"):
        summary.compare([cut], pool)
    mismatched = tmp_path / "mismatched.json"
    mismatched.write_text(json.dumps({"indices": [1, 2], "scores": [0.5]}))
    with pytest.raises(ValueError, match="1 scores for 2 indices"):
        summary.compare([mismatched], pool)


def _selected_with_a_bad_row(tmp_path, row: int, bad: str, method: str, budget: int, seed: int):
    """A pool of 30 records whose row ``row`` is ``bad``, and the report of a selection made
    from it with --skip-bad."""
    lines = [json.dumps(r) for r in alpaca(30, seed=seed)]
    lines[row] = bad
    pool = tmp_path / "pool.jsonl"
    pool.write_text("\n".join(lines) + "\n")
    report = tmp_path / "r.json"
    argv = ["select", str(pool), "--method", method, "--budget", str(budget), "--skip-bad", "--report", str(report)]
    assert main([*argv, "-o", str(tmp_path / "o.jsonl"), "--no-progress"]) == 0
    return pool, report


def test_inspect_reads_the_pool_as_the_selection_did(tmp_path):
    """A selection made with --skip-bad is inspected with its skipped rows skipped again, and
    its indices are the file's rows."""
    empty = '{"instruction": "", "input": "", "output": ""}'
    pool, report = _selected_with_a_bad_row(tmp_path, 3, empty, "length", 29, seed=4)
    result = summary.compare([report], pool)
    assert result["selections"][0]["records"] == 29
    assert 3 not in json.loads(report.read_text())["indices"]


def test_inspect_with_other_fields_keeps_the_skipping_and_does_not_blame_the_pool(tmp_path):
    pool, report = _selected_with_a_bad_row(tmp_path, 4, "{not json", "random", 5, seed=6)
    # Read by other fields, the texts differ from the report's: not another pool for that.
    row = summary.compare([report], pool, text_fields=["instruction"])["selections"][0]
    assert row["records"] == 5


def test_an_output_of_named_fields_is_found_by_value(tmp_path):
    pool = write_jsonl(tmp_path / "body.jsonl", [{"body": f"text number {i} " * (i + 1)} for i in range(12)])
    out = tmp_path / "o.jsonl"
    argv = ["select", str(pool), "--method", "length", "--budget", "3", "--text-field", "body", "-o", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    row = summary.compare([out], pool, text_fields=["body"])["selections"][0]
    assert row["records"] == 3 and row["tokens"] == sum(3 * (i + 1) for i in (11, 10, 9))


def test_an_output_with_timestamps_is_found_by_value(tmp_path):
    import datetime
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {"text": f"record {i} " * (i + 2), "at": datetime.datetime(2024, 1, 1 + i), "cost": decimal.Decimal(f"{i}.10")}
        for i in range(10)
    ]
    pool = tmp_path / "ts.parquet"
    pq.write_table(pa.Table.from_pylist(rows), pool)
    out = tmp_path / "o.jsonl"
    assert main(["select", str(pool), "--method", "length", "--budget", "2", "-o", str(out), "--no-progress"]) == 0
    assert summary.compare([out], pool)["selections"][0]["records"] == 2
