"""Sharded pools: a directory or glob of JSONL, compressed JSONL, JSON array and parquet
shards reads as the concatenation of its shards in natural order, errors name the shard and
line, and no output is written where it would become a shard."""

import gzip
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from helpers import alpaca, write_array, write_jsonl

import zipkit
from zipkit import BadRecordError, cli

RECORDS = alpaca(120)
PARTS = [RECORDS[:30], RECORDS[30:50], RECORDS[50:80], RECORDS[80:100], RECORDS[100:]]


def mixed_shards(folder):
    """Five shards of five kinds, named so that text order and natural order differ."""
    folder.mkdir()
    write_jsonl(folder / "part-1.jsonl", PARTS[0])
    (folder / "part-2.jsonl.gz").write_bytes(gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in PARTS[1])))
    write_array(folder / "part-3.json", PARTS[2])
    pq.write_table(pa.Table.from_pylist(PARTS[3]), folder / "part-9.parquet")
    (folder / "part-10.jsonl.zst").write_bytes(
        zstandard.ZstdCompressor().compress(b"".join(json.dumps(r).encode() + b"\n" for r in PARTS[4]))
    )
    (folder / "notes.txt").write_text("not a shard")
    write_jsonl(folder / ".partial.jsonl", alpaca(3, seed=9))  # hidden: an unfinished write
    return folder


def test_a_directory_of_mixed_shards_reads_as_their_concatenation(tmp_path):
    pool = zipkit.read_records(mixed_shards(tmp_path / "shards"))
    whole = zipkit.read_records(RECORDS)
    assert len(pool) == len(RECORDS)
    assert [pool.text(i) for i in range(len(pool))] == [whole.text(i) for i in range(len(whole))]
    assert list(pool) == RECORDS
    assert [p.rsplit("/", 1)[1] for p in pool.shards] == [
        "part-1.jsonl",
        "part-2.jsonl.gz",
        "part-3.json",
        "part-9.parquet",
        "part-10.jsonl.zst",
    ]
    assert pool.shard_of.tolist() == sum(([k] * len(part) for k, part in enumerate(PARTS)), [])
    assert pool.numbers.tolist() == sum((list(range(len(part))) for part in PARTS), [])
    assert pool.format == "mixed" and pool.describe()["shards"] == pool.shards
    # Positions are stable: ratios and selections equal those of the one-file pool.
    assert zipkit.select(pool, budget=15).indices.tolist() == zipkit.select(whole, budget=15).indices.tolist()


def test_a_glob_reads_the_files_it_matches_in_natural_order(tmp_path):
    mixed_shards(tmp_path / "shards")
    pool = zipkit.read_records(str(tmp_path / "shards" / "part-*.jsonl*"))
    assert [p.rsplit("/", 1)[1] for p in pool.shards] == ["part-1.jsonl", "part-2.jsonl.gz", "part-10.jsonl.zst"]
    assert list(pool) == PARTS[0] + PARTS[1] + PARTS[4]


def test_parquet_shards_stay_a_table(tmp_path):
    (tmp_path / "p").mkdir()
    for k, part in enumerate(PARTS):
        pq.write_table(pa.Table.from_pylist(part), tmp_path / "p" / f"{k}.parquet")
    pool = zipkit.read_records(tmp_path / "p")
    assert pool.format == "parquet" and list(pool) == RECORDS
    pool.write([119, 0, 45], tmp_path / "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet").to_pylist() == [RECORDS[119], RECORDS[0], RECORDS[45]]


def test_a_bad_line_is_named_by_its_shard_and_line(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", PARTS[0])
    bad = folder / "b.jsonl"
    bad.write_bytes(
        b"".join(json.dumps(r).encode() + b"\n" for r in PARTS[1][:4])
        + b"{oops\n"
        + b"".join(json.dumps(r).encode() + b"\n" for r in PARTS[1][4:])
    )
    with pytest.raises(BadRecordError, match=f"{bad}: line 5, record 4"):
        zipkit.read_records(folder)
    pool = zipkit.read_records(folder, on_error="skip")
    assert len(pool) == len(PARTS[0]) + len(PARTS[1])
    assert [(s.path, s.line) for s in pool.skipped] == [(str(bad), 5)]


def test_every_shard_is_read_by_the_first_ones_schema(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", PARTS[0])
    write_jsonl(folder / "b.jsonl", [{"text": "a plain text record"}])
    with pytest.raises(BadRecordError, match="b.jsonl: line 1, record 0"):
        zipkit.read_records(folder)


def test_the_cli_selects_from_shards_and_never_writes_into_them(tmp_path, capsys):
    folder = tmp_path / "shards"
    folder.mkdir()
    for k, part in enumerate(PARTS):
        write_jsonl(folder / f"s{k}.jsonl", part)
    write_jsonl(tmp_path / "one.jsonl", RECORDS)
    for name in ("shards/out.jsonl", "shards/s0.jsonl"):
        assert cli.main(["select", str(folder), "--budget", "10", "-o", str(tmp_path / name)]) == 2
        assert "write it elsewhere" in capsys.readouterr().err
    assert (
        cli.main(
            [
                "select",
                str(tmp_path / "shards" / "s*.jsonl"),
                "--budget",
                "10",
                "-o",
                str(tmp_path / "shards" / "s9.jsonl"),
            ]
        )
        == 2
    )
    assert sorted(p.name for p in folder.iterdir()) == [f"s{k}.jsonl" for k in range(5)]
    assert cli.main(["select", str(folder), "--budget", "10", "-o", str(tmp_path / "a.jsonl")]) == 0
    assert cli.main(["select", str(tmp_path / "one.jsonl"), "--budget", "10", "-o", str(tmp_path / "b.jsonl")]) == 0
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert np.array_equal(
        zipkit.read_records(folder).payloads().lengths, zipkit.read_records(RECORDS).payloads().lengths
    )
