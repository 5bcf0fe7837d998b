"""Indices are rows of the user's input, bad records skipped or not.

Every reader (JSON Lines, JSON array, parquet, a datasets.Dataset, a directory of shards)
gets the same rows, two of them with empty text that ``on_error="skip"`` leaves out. The
expected selection is computed from the input rows themselves (the longest texts, ties by
row), so a selection whose indices counted only the kept records points at other rows.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import zipkit

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi".split()
BAD = (2, 7)  # rows whose text is empty


def rows() -> list[dict]:
    out = []
    for k in range(12):
        text = "" if k in BAD else " ".join(WORDS[: 3 + (k * 5) % 13])
        out.append({"text": text, "row": k})
    return out


def expected(budget: int) -> list[int]:
    """The rows of the ``budget`` longest non-empty texts, longest first, ties by row."""
    lengths = [(-len(r["text"].split()), k) for k, r in enumerate(rows()) if r["text"]]
    return [k for _, k in sorted(lengths)[:budget]]


def write_jsonl(path, items):
    path.write_text("".join(json.dumps(r) + "\n" for r in items))
    return path


@pytest.fixture(params=["jsonl", "json", "parquet", "dataset", "shards"])
def source(request, tmp_path):
    kind = request.param
    if kind == "jsonl":
        return write_jsonl(tmp_path / "pool.jsonl", rows())
    if kind == "json":
        path = tmp_path / "pool.json"
        path.write_text(json.dumps(rows(), indent=1))
        return path
    if kind == "parquet":
        path = tmp_path / "pool.parquet"
        pq.write_table(pa.Table.from_pylist(rows()), path)
        return path
    if kind == "dataset":
        datasets = pytest.importorskip("datasets")
        return datasets.Dataset.from_list(rows())
    folder = tmp_path / "shards"
    folder.mkdir()
    for k in range(3):  # rows 0-3, 4-7, 8-11: a skipped record in the first and second shard
        write_jsonl(folder / f"part-{k}.jsonl", rows()[4 * k : 4 * k + 4])
    return folder


def test_a_selection_indexes_the_input_rows(source, tmp_path):
    records = zipkit.read_records(source, on_error="skip", progress=False)
    selection = zipkit.select(records, method="length", budget=5)
    assert selection.indices.tolist() == expected(5)
    assert selection.manifest["pool"]["skipped_indices"] == list(BAD)
    # Written back, the records are the input's rows at those indices.
    records.write(selection.indices, tmp_path / "out.jsonl")
    written = [json.loads(line)["row"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert written == expected(5)


def test_a_dataset_selects_the_rows_that_were_selected():
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_list(rows())
    selection = zipkit.select(zipkit.read_records(ds, on_error="skip"), method="length", budget=4)
    assert ds.select(selection.indices)["row"] == expected(4)


def test_scores_carry_each_value_s_input_row(source):
    scores = zipkit.score(zipkit.read_records(source, on_error="skip", progress=False), method="length")
    kept = [k for k in range(12) if k not in BAD]
    frame = scores.to_frame()
    assert frame["position"].tolist() == kept
    assert frame["length"].tolist() == [len(rows()[k]["text"].split()) for k in kept]


def test_a_skipped_or_missing_row_cannot_be_written(tmp_path):
    records = zipkit.read_records(write_jsonl(tmp_path / "pool.jsonl", rows()), on_error="skip", progress=False)
    assert records.index.tolist() == [k for k in range(12) if k not in BAD]
    with pytest.raises(ValueError, match="index 7 was skipped as a bad record"):
        records.write([0, 7], tmp_path / "out.jsonl")
    with pytest.raises(IndexError, match="index 12 is out of range for an input of 12 records"):
        records.write([12], tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_select_cli_report_indices_are_the_file_s_rows(tmp_path, capsys):
    from zipkit.cli import main

    pool = write_jsonl(tmp_path / "pool.jsonl", rows())
    out, report = tmp_path / "out.jsonl", tmp_path / "report.json"
    argv = ["select", str(pool), "--method", "length", "--budget", "5", "--skip-bad", "-o", str(out)]
    assert main([*argv, "--report", str(report), "--no-progress"]) == 0
    indices = json.loads(report.read_text())["indices"]
    lines = pool.read_text().splitlines()
    assert indices == expected(5)
    assert out.read_text().splitlines() == [lines[i] for i in indices]


@pytest.fixture
def ray_cluster():
    """A local Ray cluster for one test, shut down after it (a later module starts its own)."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    yield
    if started:
        ray.shutdown()


def test_an_out_of_core_selection_indexes_the_rows_of_the_shards(tmp_path, ray_cluster):
    folder = tmp_path / "shards"
    folder.mkdir()
    for k in range(3):
        write_jsonl(folder / f"part-{k}.jsonl", rows()[4 * k : 4 * k + 4])
    from zipkit import executors
    from zipkit.api import open_pool

    ray = executors.get("ray")
    pool = open_pool(folder, ray, stream=True, read={"on_error": "skip"}, progress=False)
    selection = zipkit.select(pool, method="length", budget=5, engine=ray)
    assert selection.indices.tolist() == expected(5)
    assert selection.manifest["pool"]["skipped_indices"] == list(BAD)


def test_indices_equal_positions_when_nothing_is_skipped(tmp_path):
    pool = write_jsonl(tmp_path / "pool.jsonl", [r for r in rows() if r["text"]])
    selection = zipkit.select(pool, method="length", budget=3)
    records = zipkit.read_records(pool)
    assert np.array_equal(records.index, np.arange(len(records)))
    assert [records[int(i)]["row"] for i in selection.indices] == expected(3)


def test_records_taken_out_of_order_still_find_their_rows(tmp_path):
    records = zipkit.read_records(write_jsonl(tmp_path / "pool.jsonl", rows()), on_error="skip")
    taken = records.take([6, 1, 4])  # input rows 8, 1, 5
    assert taken.index.tolist() == [8, 1, 5]
    assert taken.positions_of([5, 8]).tolist() == [2, 0]


def test_records_taken_from_shards_keep_the_whole_pool_s_rows(tmp_path):
    from zipkit import executors
    from zipkit.api import open_pool

    folder = tmp_path / "shards"
    folder.mkdir()
    for k in range(3):
        write_jsonl(folder / f"part-{k}.jsonl", rows()[4 * k : 4 * k + 4])
    pool = open_pool(folder, executors.get("local"), stream=True, read={"on_error": "skip"}, progress=False)
    positions = pool.positions_of([9, 0, 6])
    assert pool.take(positions).index.tolist() == [9, 0, 6]
    assert [r["row"] for r in pool.take(positions)] == [9, 0, 6]
