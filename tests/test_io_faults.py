"""Faults of reading and writing files (issue 22): outputs that are devices, FIFOs or long
names, pools with broken links or a closed standard input, values that one format holds and
another cannot, and warnings said once. Each is a clear error naming the file and the fix
(``zipkit: error: ...``, exit 2), never a traceback, and never a device replaced by a file."""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import os
import shlex
import socket
import stat
import subprocess
import sys
import threading
import warnings

import pytest
from helpers import alpaca, write_jsonl

import zipkit
from zipkit import cli
from zipkit.io import atomic

POOL = alpaca(30)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="making device nodes needs root")


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def _char_device(path, minor):
    """A twin of /dev/null (minor 3) or /dev/full (minor 7)."""
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    return path


def _is_char_device(path):
    return stat.S_ISCHR(os.lstat(path).st_mode)


# --- 1. outputs that are not regular files -------------------------------------------------


@needs_root
def test_a_character_device_output_is_written_through_not_replaced(tmp_path, capsys):
    pool = write_jsonl(tmp_path / "pool.jsonl", POOL)
    out, report = _char_device(tmp_path / "null.jsonl", 3), _char_device(tmp_path / "null.json", 3)
    code, said, err = _run(capsys, "select", pool, "--budget", 5, "-o", out, "--report", report, "--no-progress")
    assert code == 0, err
    assert _is_char_device(out) and _is_char_device(report)
    code, said, err = _run(capsys, "select", pool, "--budget", 5, "-o", out, "--report", out, "--no-progress")
    assert code == 0, err  # two outputs may share a device (never a file)
    per_record = _char_device(tmp_path / "ratios.jsonl", 3)
    code, said, err = _run(capsys, "ratio", pool, "--per-record", per_record, "--report", report)
    assert code == 0, err
    assert _is_char_device(per_record) and _is_char_device(report)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null.json", "null.jsonl", "pool.jsonl", "ratios.jsonl"]


@needs_root
def test_a_full_device_fails_clearly_and_stays_a_device(tmp_path, capsys):
    pool = write_jsonl(tmp_path / "pool.jsonl", POOL)
    full = _char_device(tmp_path / "full.json", 7)  # /dev/full's twin: every write fails with ENOSPC
    code, said, err = _run(capsys, "ratio", pool, "--report", full)
    assert code == 2
    assert f"No space left on device while writing {full}" in err
    assert _is_char_device(full)
    full_out = _char_device(tmp_path / "full.jsonl", 7)
    code, said, err = _run(capsys, "select", pool, "--budget", 5, "-o", full_out, "--no-progress")
    assert code == 2 and f"No space left on device while writing {full_out}" in err
    assert _is_char_device(full_out)


def _read_fifo(path, into):
    with open(path, "rb") as stream:
        into.append(stream.read())


def test_a_fifo_output_is_written_through(tmp_path, capsys):
    pool = write_jsonl(tmp_path / "pool.jsonl", POOL)
    fifo = tmp_path / "out.jsonl"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=_read_fifo, args=(fifo, got), daemon=True)
    reader.start()
    try:
        code, said, err = _run(capsys, "select", pool, "--budget", 5, "-o", fifo, "--no-progress")
    finally:
        reader.join(10)
        if reader.is_alive():  # the writer never opened the FIFO: let the reader go
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
    assert code == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    regular = tmp_path / "regular.jsonl"
    assert _run(capsys, "select", pool, "--budget", 5, "-o", regular, "--no-progress")[0] == 0
    assert got == [regular.read_bytes()] and len(got[0].splitlines()) == 5


def test_a_fifo_whose_reader_leaves_early_is_an_error(tmp_path, capsys):
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"text": f"record {i} " + "word " * 60} for i in range(3000)])
    fifo = tmp_path / "out.jsonl"
    os.mkfifo(fifo)

    def read_a_little():
        with open(fifo, "rb") as stream:
            stream.read(10)

    reader = threading.Thread(target=read_a_little, daemon=True)
    reader.start()
    argv = ["select", pool, "--method", "random", "--budget", 2000, "-o", fifo, "--no-progress"]
    code, said, err = _run(capsys, *argv)
    reader.join(10)
    assert code == 2  # more than a pipe holds was cut off: not the quiet end of `zipkit ... | head`
    assert f"Broken pipe while writing {fifo}: its reader closed it before the end" in err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@needs_root
def test_a_block_device_socket_or_directory_output_is_refused(tmp_path, capsys):
    pool = write_jsonl(tmp_path / "pool.jsonl", POOL)
    block = tmp_path / "disk.jsonl"
    os.mknod(block, stat.S_IFBLK | 0o600, os.makedev(7, 200))  # never opened
    code, said, err = _run(capsys, "select", pool, "--budget", 5, "-o", block, "--no-progress")
    assert code == 2 and f"-o {block} is a block device" in err and "regular file" in err
    assert stat.S_ISBLK(os.lstat(block).st_mode)
    sock_path = tmp_path / "s.json"
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(sock_path))
        code, said, err = _run(capsys, "ratio", pool, "--report", sock_path)
        assert code == 2 and f"--report {sock_path} is a socket" in err
        assert stat.S_ISSOCK(os.lstat(sock_path).st_mode)
    finally:
        sock.close()
    with pytest.raises(IsADirectoryError, match="is a directory"):
        with atomic.atomic_output(tmp_path) as out:
            out.write(b"x")


@needs_root
def test_the_writer_itself_never_renames_over_a_device(tmp_path):
    null = _char_device(tmp_path / "null.jsonl", 3)
    with atomic.atomic_output(null) as out:
        out.write(b"discarded\n")
    assert _is_char_device(null)
    block = tmp_path / "disk"
    os.mknod(block, stat.S_IFBLK | 0o600, os.makedev(7, 200))
    with pytest.raises(OSError, match="is a block device"):
        with atomic.atomic_output(block) as out:
            out.write(b"x")
    assert stat.S_ISBLK(os.lstat(block).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk", "null.jsonl"]


def test_a_symlink_output_keeps_the_link_and_writes_its_target(tmp_path):
    target = tmp_path / "real.jsonl"
    target.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to("real.jsonl")
    zipkit.read_records(POOL).write([0, 1], link)
    assert link.is_symlink() and len(target.read_text().splitlines()) == 2
    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to("gone/nowhere.jsonl")
    with pytest.raises(OSError, match=r"dangling.jsonl is a symlink to gone/nowhere.jsonl, which does not exist"):
        zipkit.read_records(POOL).write([0, 1], dangling)
    assert dangling.is_symlink()


# --- 2. long output names ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a" * 234 + ".jsonl", "b" * 249 + ".jsonl", "é" * 124 + ".jsonl"])
def test_a_long_legal_output_name_is_written(tmp_path, capsys, name):
    assert len(os.fsencode(name)) <= 255
    pool = write_jsonl(tmp_path / "pool.jsonl", POOL)
    code, said, err = _run(capsys, "select", pool, "--budget", 5, "-o", tmp_path / name, "--no-progress")
    assert code == 0, err
    assert len((tmp_path / name).read_text().splitlines()) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["pool.jsonl", name])


def test_a_killed_writers_temporary_file_of_a_long_name_is_removed(tmp_path):
    name = "c" * 240 + ".jsonl"
    stem = atomic.temp_prefix(tmp_path / name)
    assert len(stem) < 240
    dead = tmp_path / stem.replace(f".{os.getpid()}.", ".4194301.")
    dead = dead.with_name(dead.name + "k1ll.tmp")
    dead.write_bytes(b"half")
    zipkit.read_records(POOL).write([0, 1], tmp_path / name)
    assert not dead.exists() and (tmp_path / name).exists()


def test_a_name_too_long_for_the_file_system_says_so(tmp_path, capsys):
    pool = write_jsonl(tmp_path / "pool.jsonl", POOL)
    name = "d" * 300 + ".jsonl"
    code, said, err = _run(capsys, "select", pool, "--budget", 5, "-o", tmp_path / name, "--no-progress")
    assert code == 2 and "is 306 bytes long" in err and "at most 255" in err


# --- 3. broken links among a pool's shards -------------------------------------------------


def _shards(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    for k in range(3):
        write_jsonl(folder / f"part-{k}.jsonl", POOL[10 * k : 10 * k + 10])
    return folder


def test_a_dangling_symlink_shard_is_refused_by_name(tmp_path, capsys):
    folder = _shards(tmp_path)
    (folder / "part-1.jsonl").unlink()
    (folder / "part-1.jsonl").symlink_to("../moved/part-1.jsonl")
    code, said, err = _run(capsys, "select", folder, "--budget", 5, "-o", tmp_path / "out.jsonl", "--no-progress")
    assert code == 2
    assert f"{folder / 'part-1.jsonl'} is a symlink to ../moved/part-1.jsonl, which does not exist" in err
    assert not (tmp_path / "out.jsonl").exists()
    code, said, err = _run(capsys, "ratio", f"{folder}/*.jsonl")
    assert code == 2 and "part-1.jsonl is a symlink to ../moved/part-1.jsonl, which does not exist" in err


def test_a_dangling_link_that_is_no_shard_is_left_alone(tmp_path, capsys):
    folder = _shards(tmp_path)
    (folder / "README").symlink_to("nowhere")
    (folder / ".hidden.jsonl").symlink_to("nowhere")
    code, said, err = _run(capsys, "ratio", folder)
    assert code == 0, err


def test_a_symlink_loop_is_called_one(tmp_path, capsys):
    folder = _shards(tmp_path)
    (folder / "loop-a.jsonl").symlink_to("loop-b.jsonl")
    (folder / "loop-b.jsonl").symlink_to("loop-a.jsonl")
    code, said, err = _run(capsys, "ratio", folder)
    assert code == 2 and f"{folder / 'loop-a.jsonl'} is a symlink loop" in err
    code, said, err = _run(capsys, "ratio", folder / "loop-a.jsonl")
    assert code == 2 and "is a symlink loop" in err and "no such pool file" not in err
    assert "loop-a.jsonl -> loop-b.jsonl -> loop-a.jsonl" in err


def test_a_dangling_single_file_pool_names_its_target(tmp_path, capsys):
    link = tmp_path / "pool.jsonl"
    link.symlink_to("gone.jsonl")
    code, said, err = _run(capsys, "ratio", link)
    assert code == 2 and f"{link} is a symlink to gone.jsonl, which does not exist" in err


# --- 4. standard input closed --------------------------------------------------------------


def test_a_closed_standard_input_is_said(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", None)
    code, said, err = _run(capsys, "ratio", "-")
    assert code == 2 and "standard input is closed" in err


def _zipkit(*argv, shell_tail=""):
    """The command in a process of its own (what a shell runs)."""
    command = " ".join(shlex.quote(str(a)) for a in [sys.executable, "-m", "zipkit.cli", *argv])
    return subprocess.run(
        ["bash", "-c", f"exec {command} {shell_tail}"], capture_output=True, text=True, cwd=REPO, timeout=300
    )


def test_a_closed_standard_input_in_a_real_process():
    done = _zipkit("ratio", "-", shell_tail="<&-")
    assert done.returncode == 2, done.stderr
    assert "zipkit: error: standard input is closed" in done.stderr and "Traceback" not in done.stderr


# --- 5. integers one format holds and another cannot ---------------------------------------


def _big_pool(tmp_path):
    records = [dict(r) for r in POOL]
    records[3]["id"] = 2**70
    return write_jsonl(tmp_path / "big.jsonl", records)


def test_an_integer_beyond_int64_is_refused_for_parquet_by_record_and_field(tmp_path, capsys):
    pool = _big_pool(tmp_path)
    out = tmp_path / "out.parquet"
    code, said, err = _run(capsys, "select", pool, "--budget", 30, "-o", out, "--no-progress")
    assert code == 2
    assert f"{pool}: line 4, record 3" in err and "'id'" in err and str(2**70) in err
    assert ".jsonl" in err
    assert not out.exists()


def test_the_writer_names_a_nested_big_integer(tmp_path):
    records = [dict(r) for r in POOL[:3]]
    records[2]["meta"] = {"ids": [1, 2**64]}
    pool = zipkit.read_records(write_jsonl(tmp_path / "p.jsonl", records))
    with pytest.raises(ValueError, match=r"p.jsonl: line 3, record 2: field 'meta.ids\[1\]' holds the integer"):
        pool.write([0, 1, 2], tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


def test_records_beyond_int64_are_found_before_a_selection_without_parsing_all():
    from zipkit.io.serializers import first_beyond_int64

    records = [dict(r) for r in POOL]
    records[7]["id"] = 10**19  # 20 digits: beyond
    records[3]["id"] = 2**63 - 1  # 19 digits: fits
    records[5]["note"] = "9" * 30  # digits in a string: fits
    records[9]["meta"] = {"ids": [-(2**63) - 1]}
    raw = zipkit.read_records(records)._raw
    assert first_beyond_int64(raw) == (7, "id", 10**19)
    assert first_beyond_int64(raw, [3, 5, 9]) == (9, "meta.ids[0]", -(2**63) - 1)
    assert first_beyond_int64(raw, [0, 3, 5]) is None


def test_a_huge_integer_is_shown_short(tmp_path):
    records = [dict(r) for r in POOL[:2]]
    records[1]["n"] = 10**3000
    pool = zipkit.read_records(records)
    with pytest.raises(ValueError, match=r"holds the integer 10000000000000000000\.\.\. \(3001 digits\)"):
        pool.write([0, 1], tmp_path / "out.parquet")


def test_a_field_of_two_types_names_both_records(tmp_path):
    records = [dict(r) for r in POOL[:4]]
    records[1]["tag"] = 7
    records[3]["tag"] = "seven"
    pool = zipkit.read_records(write_jsonl(tmp_path / "p.jsonl", records))
    with pytest.raises(ValueError) as caught:
        pool.write([0, 1, 2, 3], tmp_path / "out.parquet")
    message = str(caught.value)
    assert "field 'tag'" in message and "line 2, record 1" in message and "line 4, record 3" in message
    assert ".jsonl" in message


def test_a_field_only_later_records_have_is_kept_in_parquet(tmp_path):
    import pyarrow.parquet as pq

    records = [dict(r) for r in POOL[:3]]
    records[2]["source"] = "web"
    pool = zipkit.read_records(records)
    pool.write([0, 1, 2], tmp_path / "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet").column("source").to_pylist() == [None, None, "web"]


def _huge_lines():
    lines = [json.dumps(r) for r in POOL]
    lines[4] = lines[4][:-1] + ', "n": ' + "9" * 5000 + "}"
    return lines


def test_an_integer_too_long_to_read_is_a_bad_record(tmp_path, capsys):
    pool = tmp_path / "huge.jsonl"
    pool.write_text("\n".join(_huge_lines()) + "\n")
    out = tmp_path / "out.jsonl"
    code, said, err = _run(capsys, "select", pool, "--budget", 5, "-o", out, "--no-progress")
    assert code == 2 and f"{pool}: line 5, record 4" in err and "digits" in err and "--skip-bad" in err
    code, said, err = _run(capsys, "select", pool, "--budget", 5, "-o", out, "--no-progress", "--skip-bad")
    assert code == 0, err
    assert "skipped 1 bad record(s)" in err
    assert "selected 5 of 29 records" in said
    records = zipkit.read_records(pool, on_error="skip")
    assert len(records) == 29 and [b.line for b in records.skipped] == [5]


def test_an_integer_too_long_to_read_in_a_json_array_is_skippable(tmp_path):
    pool = tmp_path / "huge.json"
    pool.write_text("[\n" + ",\n".join(_huge_lines()) + "\n]\n")
    with pytest.raises(zipkit.errors.BadRecordError, match=r"huge.json: line 6, record 4: .*digits"):
        zipkit.read_records(pool)
    records = zipkit.read_records(pool, on_error="skip")
    assert len(records) == 29 and [(b.record, b.line) for b in records.skipped] == [(4, 6)]
    assert records[4] == POOL[5]


# --- 6. a warning said once per run --------------------------------------------------------


def test_a_schema_warning_is_said_once_in_a_compare(tmp_path, capsys, recwarn):
    records = [dict(r, notes="some extra prose here") for r in POOL]
    pool = write_jsonl(tmp_path / "pool.jsonl", records)
    for name, budget in (("a.jsonl", 5), ("b.jsonl", 8)):
        assert _run(capsys, "select", pool, "--budget", budget, "-o", tmp_path / name, "--no-progress")[0] == 0
    argv = ["compare", tmp_path / "a.jsonl", tmp_path / "b.jsonl", "--pool", pool, "--tokenizer", "whitespace"]
    done = _zipkit(*argv)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("are left out of what is compressed") == 1


def test_distinct_warnings_are_each_said(recwarn):
    zipkit.read_records([dict(r, notes="some extra prose") for r in POOL[:3]])
    zipkit.read_records([dict(r, notes="more extra prose") for r in POOL[3:6]])  # the same warning
    zipkit.read_records([dict(r, comment="other extra prose") for r in POOL[:3]])  # another one
    said = [str(w.message) for w in recwarn if "left out" in str(w.message)]
    assert len(said) == 2 and "notes" in said[0] and "comment" in said[1]


# --- 7. parquet types written as JSON, and shards that disagree ----------------------------


def _typed_parquet(path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 6
    utc = datetime.timezone.utc
    table = pa.table(
        {
            "instruction": [r["instruction"] for r in POOL[:n]],
            "input": [r["input"] for r in POOL[:n]],
            "output": [r["output"] for r in POOL[:n]],
            "at": pa.array(
                [datetime.datetime(2024, 1, 1, 12, 0, i, tzinfo=utc) for i in range(n)], pa.timestamp("us", "UTC")
            ),
            "naive": pa.array([datetime.datetime(2024, 1, 1, 12, 0, i, 500) for i in range(n)], pa.timestamp("us")),
            "day": pa.array([datetime.date(2024, 1, i + 1) for i in range(n)]),
            "clock": pa.array([datetime.time(1, 2, i) for i in range(n)]),
            "took": pa.array([datetime.timedelta(days=1, seconds=i, microseconds=5) for i in range(n)]),
            "price": pa.array([decimal.Decimal("1.10") + i for i in range(n)], pa.decimal128(10, 2)),
            "blob": pa.array([bytes([i, 255]) for i in range(n)]),
            "nested": pa.array([{"when": datetime.date(2024, 2, 1), "raw": b"\x00"} for _ in range(n)]),
        }
    )
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_parquet_dates_decimals_and_bytes_are_written_as_json(tmp_path, capsys, suffix):
    pool = _typed_parquet(tmp_path / "typed.parquet")
    out = tmp_path / f"out{suffix}"
    code, said, err = _run(capsys, "select", pool, "--budget", 6, "-o", out, "--no-progress")
    assert code == 0, err
    text = out.read_text()
    records = [json.loads(line) for line in text.splitlines()] if suffix == ".jsonl" else json.loads(text)
    first = min(records, key=lambda r: r["day"])
    assert first["at"] == "2024-01-01T12:00:00+00:00"
    assert first["naive"] == "2024-01-01T12:00:00.000500"
    assert first["day"] == "2024-01-01" and first["clock"] == "01:02:00"
    assert first["took"] == "P1DT0.000005S"
    assert first["price"] == "1.10"
    assert base64.b64decode(first["blob"]) == bytes([0, 255])
    assert first["nested"] == {"when": "2024-02-01", "raw": "AA=="}


def test_a_parquet_pool_with_dates_serializes_as_json(tmp_path, capsys):
    pool = _typed_parquet(tmp_path / "typed.parquet")
    code, said, err = _run(capsys, "ratio", pool, "--serializer", "json")
    assert code == 0, err


def _conflicting_shards(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "pshards"
    folder.mkdir()
    for k, ids in enumerate((list(range(5)), [f"x{i}" for i in range(5)])):
        rows = POOL[5 * k : 5 * k + 5]
        table = pa.table({key: [r[key] for r in rows] for key in ("instruction", "input", "output")})
        pq.write_table(table.append_column("id", pa.array(ids)), folder / f"part-{k}.parquet")
    return folder


def test_shards_whose_column_types_conflict_are_named(tmp_path, capsys):
    folder = _conflicting_shards(tmp_path)
    out = tmp_path / "out.parquet"
    code, said, err = _run(capsys, "select", folder, "--budget", 10, "-o", out, "--no-progress")
    assert code == 2
    assert "field 'id'" in err and "part-0.parquet" in err and "part-1.parquet" in err
    assert not out.exists()
    code, said, err = _run(capsys, "select", folder, "--budget", 10, "-o", tmp_path / "out.jsonl", "--no-progress")
    assert code == 0, err
    ids = {json.loads(line)["id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()}
    assert ids == set(range(5)) | {f"x{i}" for i in range(5)}


def test_no_warning_leaks_from_the_tests_above():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zipkit.read_records(POOL)
