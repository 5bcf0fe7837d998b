"""What a pool can be (a file, standard input, a FIFO; not a directory or a glob, said so), what
an output can be (the format its suffix names, or a refusal before the work), and the
messages a run prints on the way."""

import json
import os
import subprocess
import sys
import threading

import pyarrow.parquet as pq
import pytest
from helpers import alpaca, write_array, write_jsonl

import zipkit
from zipkit import BadRecordError, cli

POOL = alpaca(200)


@pytest.fixture
def pool(tmp_path):
    return write_jsonl(tmp_path / "pool.jsonl", POOL)


@pytest.mark.parametrize(
    "name, said",
    [
        ("empty", "is a directory with no record files"),
        ("*.parquet", "no file matches the pool pattern *.parquet"),
    ],
)
def test_a_directory_or_a_glob_without_shards_is_named_as_such(pool, monkeypatch, capsys, name, said):
    monkeypatch.chdir(pool.parent)
    (pool.parent / "empty").mkdir()
    assert cli.main(["ratio", name]) == 2
    assert said in capsys.readouterr().err


def test_standard_input_is_a_pool(pool):
    run = subprocess.run(
        [sys.executable, "-m", "zipkit.cli", "ratio", "-", "--json", "--no-progress"],
        stdin=open(pool, "rb"),
        capture_output=True,
        text=True,
        check=True,
    )
    from_stdin = json.loads(run.stdout)
    direct = zipkit.ratio.dataset_ratio(zipkit.read_records(pool))
    assert from_stdin["pool"]["path"] == "<stdin>" and from_stdin["pool"]["records"] == len(POOL)
    assert from_stdin["dataset"] == direct


def test_a_fifo_is_a_pool(pool, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(pool.read_bytes()))
    writer.start()
    records = zipkit.read_records(fifo)
    writer.join()
    assert list(records) == POOL


def test_a_json_array_named_jsonl_gets_the_format_suggested(tmp_path):
    path = write_array(tmp_path / "array.jsonl", POOL)
    with pytest.raises(BadRecordError, match="looks like a JSON array.*name it .json or pass --format json"):
        zipkit.read_records(path, on_error="skip")
    assert list(zipkit.read_records(path, format="json")) == POOL


@pytest.mark.parametrize(
    "argv, said",
    [
        (["select", "pool.jsonl", "--budget", "5", "-o", "out.parquet.gz"], "name the output .parquet"),
        (["ratio", "pool.jsonl", "--per-record", "out.txt"], "cannot tell the output format of 'out.txt'"),
        (["score", "pool.jsonl", "-o", "out.csv"], "cannot tell the output format of 'out.csv'"),
    ],
)
def test_outputs_zipkit_cannot_write_are_refused_first(pool, monkeypatch, capsys, argv, said):
    monkeypatch.chdir(pool.parent)
    for reader in (zipkit.api, zipkit.cli.common):
        monkeypatch.setattr(reader, "read_records", lambda *a, **k: pytest.fail("read the pool"))
    assert cli.main(argv) == 2
    assert said in capsys.readouterr().err
    assert sorted(p.name for p in pool.parent.iterdir()) == ["pool.jsonl"]


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".parquet", ".jsonl.gz"])
def test_per_record_scores_are_written_in_the_format_of_the_suffix(pool, tmp_path, suffix):
    out = tmp_path / f"scores{suffix}"
    assert cli.main(["score", str(pool), "-o", str(out), "--no-progress"]) == 0
    if suffix == ".parquet":
        rows = pq.read_table(out).to_pylist()
    else:
        rows = _json_rows(out)
    expected = zipkit.score(POOL, method="ratio")
    assert [row["position"] for row in rows] == list(range(len(POOL)))
    assert [row["ratio"] for row in rows] == pytest.approx(expected.tolist(), rel=1e-12)


def _json_rows(path):
    from zipkit.io.formats import open_binary

    with open_binary(path) as stream:
        text = stream.read().decode()
    return json.loads(text) if path.name.endswith(".json") else [json.loads(x) for x in text.splitlines()]


def test_a_lone_surrogate_is_named_before_a_parquet_selection_runs(tmp_path, monkeypatch, capsys):
    lines = [json.dumps(r) for r in POOL]
    lines[7] = lines[7].replace('"input": ""', '"input": "\\ud800"')
    lines[9] = lines[9].replace('"input": ""', '"input": "\\ud83d\\ude00"')  # a valid pair
    path = tmp_path / "pool.jsonl"
    path.write_text("\n".join(lines) + "\n")

    def select(records, method="zip", **params):
        pytest.fail("selected")

    monkeypatch.setattr(zipkit.cli.select, "select", select)
    assert cli.main(["select", str(path), "--budget", "5", "-o", str(tmp_path / "o.parquet")]) == 2
    assert "line 8, record 7: holds a lone UTF-16 surrogate" in capsys.readouterr().err
    records = zipkit.read_records(path)
    records.write([9, 0], tmp_path / "pair.parquet")  # a valid pair is fine in parquet
    assert pq.read_table(tmp_path / "pair.parquet").to_pylist()[0]["input"] == "\U0001f600"
    records.write([7], tmp_path / "fine.jsonl")  # and JSON keeps the lone one
    assert (tmp_path / "fine.jsonl").read_text() == lines[7] + "\n"


def test_a_budget_beyond_the_pool_is_refused_and_the_official_variant_running_out_warns(pool, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "zipkit.cli",
            "select",
            str(pool),
            "--budget-tokens",
            "100000000",
            "--k1",
            "50",
            "--k2",
            "20",
            "--k3",
            "10",
            "-o",
            str(out),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
    )
    # A token budget larger than the pool is refused at once, as a count budget is.
    err = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(err) == 1
    assert err[0].startswith("zipkit: error: --budget-tokens 100000000 is larger than the pool (")
    assert not out.exists()
    with pytest.warns(RuntimeWarning, match=r"ZIP \(official\) ran out of pool .* drops the unpicked K2"):
        zipkit.select(POOL, variant="official", budget=150, k1=50, k2=20, k3=10)


def test_zips_initial_scoring_reports_progress(monkeypatch):
    totals = []
    real_bar = zipkit.parallel.bar  # the bar of sizes_in_blocks, which ZIP's initial pass uses

    def spy(total, desc, *args, **kwargs):
        totals.append((desc, total))
        return real_bar(total, desc, *args, **kwargs)

    monkeypatch.setattr(zipkit.parallel, "bar", spy)
    zipkit.select(POOL, budget=5, progress=False)
    assert ("zip: each record's ratio", len(POOL)) in totals
