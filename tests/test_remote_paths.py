"""Pools and outputs at URLs through fsspec, without a network: fsspec's ``memory://``
filesystem (an object store in this process) and ``file://`` URLs of a local folder. A URL
pool reads as the same pool on disk does; an output appears whole or not at all."""

from __future__ import annotations

import json

import pytest
from helpers import alpaca, write_jsonl

import zipkit
from zipkit import cli
from zipkit.io import atomic_output, check_outputs

fsspec = pytest.importorskip("fsspec")


def _empty(fs) -> None:
    for path in fs.ls("/", detail=False):
        fs.rm(path, recursive=True)


@pytest.fixture()
def store():
    """fsspec's in-memory object store, empty (it is one per process)."""
    fs = fsspec.filesystem("memory")
    _empty(fs)
    yield fs
    _empty(fs)


def put(fs, path: str, rows: list[dict]) -> None:
    with fs.open(path, "wb") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows).encode())


def test_a_pool_at_a_url_is_the_pool_on_disk(store, tmp_path):
    rows = alpaca(80)
    put(store, "/b/pool.jsonl", rows)
    write_jsonl(tmp_path / "pool.jsonl", rows)
    remote, local = zipkit.read_records("memory://b/pool.jsonl"), zipkit.read_records(tmp_path / "pool.jsonl")
    assert [remote.text(i) for i in range(80)] == [local.text(i) for i in range(80)]
    a = zipkit.select("memory://b/pool.jsonl", method="zip", budget=10)
    b = zipkit.select(str(tmp_path / "pool.jsonl"), method="zip", budget=10)
    assert a.indices.tolist() == b.indices.tolist()
    assert zipkit.read_records(f"file://{tmp_path}/pool.jsonl").path == str(tmp_path / "pool.jsonl")


def test_shards_in_a_folder_or_a_pattern_at_a_url(store):
    rows = alpaca(30)
    for k in (0, 1, 2, 10):  # part-10 after part-2: numbers compared as numbers
        put(store, f"/b/shards/part-{k}.jsonl", rows[k % 3 * 10 : k % 3 * 10 + 10] if k < 10 else rows[:5])
    folder = zipkit.read_records("memory://b/shards")
    assert [s.rsplit("/", 1)[-1] for s in folder.shards] == [
        "part-0.jsonl",
        "part-1.jsonl",
        "part-2.jsonl",
        "part-10.jsonl",
    ]
    assert len(folder) == 35 and folder.text(30) == zipkit.read_records(rows[:5]).text(0)
    assert len(zipkit.read_records("memory://b/shards/part-?.jsonl")) == 30
    # A sharded pool is streamed shard by shard (never read whole): the same selection as in memory.
    streamed = zipkit.select("memory://b/shards", method="zip", budget=6)
    assert streamed.indices.tolist() == zipkit.select(folder, method="zip", budget=6).indices.tolist()
    assert zipkit.score("memory://b/shards", method="length").values.tolist() == [
        float(len(folder.text(i).split())) for i in range(35)
    ]


def test_compressed_and_parquet_outputs_round_trip(store):
    rows = alpaca(40)
    put(store, "/b/pool.jsonl", rows)
    pool = zipkit.read_records("memory://b/pool.jsonl")
    res = zipkit.select(pool, method="random", budget=7)
    for name in ("sel.jsonl.gz", "sel.jsonl.zst", "sel.parquet", "sel.json"):
        pool.write(res.indices, f"memory://b/out/{name}")
        back = zipkit.read_records(f"memory://b/out/{name}")
        assert [back.text(i) for i in range(7)] == [pool.text(int(i)) for i in res.indices], name
    assert not [p for p in store.find("/b") if "zipkit-tmp" in p]  # no temporary object left
    # parquet told by its content, as on disk, under a name that does not say it
    store.pipe("/b/out/sel.data", store.cat("/b/out/sel.parquet"))
    back = zipkit.read_records("memory://b/out/sel.data")
    assert back.format == "parquet" and [back.text(i) for i in range(7)] == [pool.text(int(i)) for i in res.indices]


def test_a_failed_write_leaves_nothing_at_the_name(store):
    put(store, "/b/old.jsonl", alpaca(2))
    before = store.cat("/b/old.jsonl")
    for name in ("/b/new.jsonl", "/b/old.jsonl"):
        with pytest.raises(RuntimeError):
            with atomic_output(f"memory://{name.lstrip('/')}") as out:
                out.write(b'{"text": "half a record')
                raise RuntimeError("killed mid-write")
    assert not store.exists("/b/new.jsonl") and store.cat("/b/old.jsonl") == before
    assert not [p for p in store.find("/b") if "zipkit-tmp" in p]


def test_the_cli_reads_and_writes_urls(store, tmp_path):
    rows = alpaca(60)
    put(store, "/b/pool.jsonl", rows)
    write_jsonl(tmp_path / "pool.jsonl", rows)
    argv = ["select", "memory://b/pool.jsonl", "--method", "zip", "--budget", "6", "--no-progress"]
    assert cli.main(argv + ["-o", "memory://b/sel.jsonl", "--report", "memory://b/sel.json"]) == 0
    report = json.loads(store.cat("/b/sel.json"))
    written = [json.loads(line) for line in store.cat("/b/sel.jsonl").decode().splitlines()]
    assert written == [rows[i] for i in report["indices"]]
    local = ["select", f"file://{tmp_path}/pool.jsonl", "--method", "zip", "--budget", "6", "--no-progress"]
    assert cli.main(local + ["-o", f"file://{tmp_path}/sel.jsonl"]) == 0
    assert [json.loads(line) for line in (tmp_path / "sel.jsonl").read_text().splitlines()] == written


def test_an_output_over_its_input_or_on_a_read_only_protocol_is_refused(store, capsys):
    put(store, "/b/pool.jsonl", alpaca(20))
    argv = ["select", "memory://b/pool.jsonl", "--method", "random", "--budget", "3", "--no-progress"]
    assert cli.main(argv + ["-o", "memory://b/pool.jsonl"]) == 2
    assert "is the same file as" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"http:// can be read but not written"):
        check_outputs({"-o": "http://example.org/sel.jsonl"}, {})
    assert len(zipkit.read_records("memory://b/pool.jsonl")) == 20  # untouched


def test_a_protocol_without_its_package_says_what_to_install():
    try:
        import s3fs  # noqa: F401

        pytest.skip("s3fs is installed: s3:// has its package")
    except ImportError:
        pass
    with pytest.raises(ImportError, match=r"install the protocol's package \(s3fs for s3://"):
        zipkit.read_records("s3://bucket/pool.jsonl")
