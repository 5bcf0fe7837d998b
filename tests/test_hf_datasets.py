"""Hugging Face datasets both ways, with real ``datasets`` objects: a selection's rows and a
pool with its scores come back as datasets (every column, selection order, the rows the
indices name even where a record was skipped), from a Dataset, a streamed IterableDataset,
a save_to_disk folder (a DatasetDict's split with --split) and from files."""

from __future__ import annotations

import json
import math

import pytest
from helpers import alpaca, write_jsonl

import zipkit
from zipkit import cli

datasets = pytest.importorskip("datasets")


def rows(n: int = 60) -> list[dict]:
    out = [{**record, "id": k, "source": f"s{k % 3}"} for k, record in enumerate(alpaca(n))]
    out[7] = {"instruction": "", "input": "", "output": "", "id": 7, "source": "s1"}  # no text: skipped
    return out


@pytest.fixture()
def ds():
    return datasets.Dataset.from_list(rows())


def test_a_selection_from_a_dataset_gives_its_rows_back_whole_in_selection_order(ds):
    pool = zipkit.read_records(ds, on_error="skip")
    res = zipkit.select(pool, method="zip", budget=12)
    assert 7 not in res.indices.tolist() and res.indices.max() > 7  # rows after the skipped one
    chosen = res.to_dataset(ds)
    assert chosen.column_names == ds.column_names
    assert chosen["id"] == res.indices.tolist()  # the rows the indices name, in selection order
    assert list(res.records(ds)) == [ds[int(i)] for i in res.indices]


def test_select_on_a_dataset_knows_its_source(ds):
    clean = ds.filter(lambda r: r["id"] != 7)  # a Dataset with an indices mapping
    res = zipkit.select(clean, method="length", budget=5)
    out = res.to_dataset()
    assert out["id"] == [clean[int(i)]["id"] for i in res.indices]
    assert [r["id"] for r in res.records()] == out["id"]
    words = [f"{clean[int(i)]['instruction']} {clean[int(i)]['output']}".split() for i in res.indices]
    assert [len(w) for w in words] == sorted((len(w) for w in words), reverse=True)  # the longest first


def test_a_streamed_iterable_dataset_selects_as_the_dataset_does(ds):
    clean = ds.filter(lambda r: r["id"] != 7)
    stream = clean.to_iterable_dataset(num_shards=3)
    assert type(stream).__name__ == "IterableDataset"
    res, expected = zipkit.select(stream, method="zip", budget=10), zipkit.select(clean, method="zip", budget=10)
    assert res.indices.tolist() == expected.indices.tolist()
    assert res.to_dataset()["id"] == expected.to_dataset()["id"]
    assert [r["id"] for r in res.records()] == expected.to_dataset()["id"]


def test_scores_come_back_as_a_column_named_after_the_method(ds):
    pool = zipkit.read_records(ds, on_error="skip")
    scores = zipkit.score(pool, method="length")
    out = scores.to_dataset(source=ds)
    assert out.column_names == ds.column_names + ["length"] and len(out) == len(ds)
    assert math.isnan(out[7]["length"])  # skipped as bad: no score
    assert out["length"][:7] == scores.values[:7].tolist()  # rows before the skipped one line up
    assert out["length"][8:] == scores.values[7:].tolist()  # and after it, one row on
    with pytest.raises(ValueError, match="already has a column 'length'"):
        scores.to_dataset(source=out)


def test_streamed_scores_stay_a_stream(ds):
    clean = ds.filter(lambda r: r["id"] != 7)
    stream = clean.to_iterable_dataset(num_shards=2)
    scores = zipkit.score(stream, method="length")
    out = scores.to_dataset(name="words")
    assert type(out).__name__ == "IterableDataset"
    assert [r["words"] for r in out] == scores.values.tolist()


def test_records_of_a_file_are_the_input_records(tmp_path):
    data = rows(30)
    write_jsonl(tmp_path / "pool.jsonl", data)
    lines = (tmp_path / "pool.jsonl").read_text().splitlines()
    pool = zipkit.read_records(tmp_path / "pool.jsonl", on_error="skip")  # line 8, record 7, skipped
    res = zipkit.select(pool, method="random", budget=12)
    assert res.indices.max() > 7
    assert list(res.records()) == [json.loads(lines[int(i)]) for i in res.indices]
    assert res.to_dataset()["id"] == res.indices.tolist()
    clean = data[:7] + data[8:]
    write_jsonl(tmp_path / "clean.jsonl", clean)
    res = zipkit.select(str(tmp_path / "clean.jsonl"), method="random", budget=6)  # a path: read again
    assert [r["id"] for r in res.records()] == [clean[int(i)]["id"] for i in res.indices]
    scores = zipkit.score(clean, method="length")
    assert scores.to_dataset()["length"] == scores.values.tolist()


def test_a_selection_read_from_a_report_needs_its_pool(ds, tmp_path):
    res = zipkit.select(ds.filter(lambda r: r["id"] != 7), method="random", budget=3)
    again = zipkit.Selection(res.indices, res.scores, res.manifest)
    with pytest.raises(ValueError, match=r"pass them: \.to_dataset\(records\)"):
        again.to_dataset()


def test_a_dataset_dict_needs_a_split(ds):
    clean = ds.filter(lambda r: r["id"] != 7)
    both = datasets.DatasetDict({"train": clean, "test": clean.select(range(10))})
    with pytest.raises(ValueError, match="holds the splits train, test"):
        zipkit.read_records(both)
    assert len(zipkit.read_records(both, split="test")) == 10
    with pytest.raises(ValueError, match="holds the splits train, test"):
        zipkit.select(both, method="random", budget=2)
    assert zipkit.select(both["test"], method="random", budget=2).to_dataset()["id"][0] in both["test"]["id"]


def test_the_cli_reads_save_to_disk_folders_and_their_splits(ds, tmp_path, capsys):
    clean = ds.filter(lambda r: r["id"] != 7)
    clean.save_to_disk(str(tmp_path / "one"))
    datasets.DatasetDict({"train": clean, "test": clean.select(range(10))}).save_to_disk(str(tmp_path / "two"))
    argv = ["select", str(tmp_path / "one"), "--method", "zip", "--budget", "5", "--no-progress"]
    assert cli.main(argv + ["-o", str(tmp_path / "a.jsonl"), "--report", str(tmp_path / "a.json")]) == 0
    report = json.loads((tmp_path / "a.json").read_text())
    written = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert written == [clean[int(i)] for i in report["indices"]]
    assert report["indices"] == zipkit.select(clean, method="zip", budget=5).indices.tolist()
    two = ["select", str(tmp_path / "two"), "--method", "zip", "--budget", "3", "--no-progress"]
    assert cli.main(two + ["-o", str(tmp_path / "b.jsonl")]) == 2
    assert "holds the splits train, test: choose the one to read (--split NAME)" in capsys.readouterr().err
    assert cli.main(two + ["--split", "test", "-o", str(tmp_path / "b.jsonl")]) == 0
    ids = [json.loads(line)["id"] for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert len(ids) == 3 and all(i in clean.select(range(10))["id"] for i in ids)
    assert cli.main(two + ["--split", "dev", "-o", str(tmp_path / "c.jsonl")]) == 2
    assert "has no split 'dev'; its splits: train, test" in capsys.readouterr().err
    assert not (tmp_path / "c.jsonl").exists()
