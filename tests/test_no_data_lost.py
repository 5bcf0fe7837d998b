"""Nothing a user owns is lost, and no run ends "successfully" on data it silently dropped."""

import gzip
import json
import re

import numpy as np
import pytest
import zstandard
from helpers import alpaca, write_array, write_jsonl

import zipkit
from zipkit import BadRecordError, read_records
from zipkit.cli import main
from zipkit.io.formats import DamagedStreamError

POOL = alpaca(200)
TARGET = alpaca(20, seed=1)


@pytest.fixture
def files(tmp_path):
    write_jsonl(tmp_path / "pool.jsonl", POOL)
    write_jsonl(tmp_path / "target.jsonl", TARGET)
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "pool.jsonl")
    (tmp_path / "sub").mkdir()
    return tmp_path


# --- outputs never replace inputs ---------------------------------------------------------

SELECT = ["select", "pool.jsonl", "--budget", "10", "--no-progress"]


@pytest.mark.parametrize(
    "argv, victim, said",
    [
        ([*SELECT, "-o", "pool.jsonl"], "pool.jsonl", "-o pool.jsonl is the same file as the pool"),
        ([*SELECT, "-o", "out.jsonl", "--report", "pool.jsonl"], "pool.jsonl", "--report pool.jsonl"),
        (["score", "pool.jsonl", "-o", "pool.jsonl"], "pool.jsonl", "-o pool.jsonl"),
        (["ratio", "pool.jsonl", "--per-record", "pool.jsonl"], "pool.jsonl", "--per-record pool.jsonl"),
        (
            [
                "select",
                "pool.jsonl",
                "--method",
                "zipfit",
                "--target",
                "target.jsonl",
                "--budget",
                "10",
                "-o",
                "target.jsonl",
            ],
            "target.jsonl",
            "same file as --target",
        ),
        ([*SELECT, "-o", "link.jsonl"], "pool.jsonl", "-o link.jsonl is the same file as the pool"),
        ([*SELECT, "-o", "sub/../pool.jsonl"], "pool.jsonl", "same file as the pool"),
        ([*SELECT, "-o", "out.jsonl", "--report", "out.jsonl"], "out.jsonl", "are both out.jsonl"),
        ([*SELECT, "-o", "out.jsonl", "--checkpoint", "pool.jsonl"], "pool.jsonl", "--checkpoint pool.jsonl"),
    ],
)
def test_no_output_is_written_over_an_input(files, monkeypatch, capsys, argv, victim, said):
    monkeypatch.chdir(files)
    before = {p.name: p.read_bytes() for p in files.iterdir() if p.is_file()}
    assert main(argv) == 2
    assert said in capsys.readouterr().err
    after = {p.name: p.read_bytes() for p in files.iterdir() if p.is_file()}
    assert after == before  # not the victim, and no other file either (no partial output)


def test_the_api_never_writes_a_selection_over_its_pool(files):
    records = read_records(files / "pool.jsonl")
    with pytest.raises(ValueError, match="same file as the pool"):
        records.write([0, 1], files / "link.jsonl")
    assert (files / "pool.jsonl").read_bytes() == write_jsonl(files / "copy.jsonl", POOL).read_bytes()


# --- JSON arrays: one broken element loses what follows it, so it is never skipped ------------


def _broken_array(tmp_path, k=50):
    path = write_array(tmp_path / "pool.json", POOL)
    lines = path.read_text().splitlines()
    lines[k + 1] = lines[k + 1].replace('"output": "', '"output": "x", broken')
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_a_malformed_array_element_is_fatal_and_named_by_its_own_line(tmp_path, on_error):
    path = _broken_array(tmp_path)
    with pytest.raises(BadRecordError, match=r"line 52, record 50: malformed JSON at line 52") as err:
        read_records(path, on_error=on_error)
    assert "cannot be skipped" in str(err.value)


@pytest.mark.parametrize(
    "tail, said",
    [
        ('[{"text": "a second array"}]\n', "more data after the array's closing ']'"),
        ('{"text": "an object"}\n', "more data after the array's closing ']'"),
    ],
)
def test_data_after_the_array_is_an_error(tmp_path, tail, said):
    path = write_array(tmp_path / "pool.json", POOL)
    path.write_text(path.read_text() + tail)
    with pytest.raises(BadRecordError, match=said):
        read_records(path, on_error="skip")
    # whitespace after the array is fine
    path = write_array(tmp_path / "ok.json", POOL)
    path.write_text(path.read_text() + "\n  \n")
    assert len(read_records(path)) == len(POOL)


def test_a_trailing_comma_is_named_as_such(tmp_path):
    path = tmp_path / "comma.json"
    path.write_text(json.dumps(POOL[:3])[:-1] + ",\n]")
    with pytest.raises(BadRecordError, match="record 3: a trailing comma after the last record"):
        read_records(path)


# --- compressed streams: cut off or damaged is an error, never an early end -------------------


def _compressed(tmp_path, kind, damage):
    data = b"".join(json.dumps(r).encode() + b"\n" for r in POOL)
    packed = gzip.compress(data) if kind == "gz" else zstandard.ZstdCompressor().compress(data)
    if damage == "truncated":
        packed = packed[: len(packed) * 2 // 3]
    elif damage == "trailing garbage":
        packed += b"garbage!"
    elif damage == "not the codec":
        packed = packed[:4] + bytes(300)
    path = tmp_path / f"pool.jsonl.{kind}"
    path.write_bytes(packed)
    return path


@pytest.mark.parametrize("kind", ["gz", "zst"])
@pytest.mark.parametrize(
    "damage, said",
    [
        ("truncated", "stream is truncated"),
        ("trailing garbage", "bytes after its end"),
        ("not the codec", "stream is (damaged|truncated)"),
    ],
)
@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_damaged_compressed_streams_are_named(tmp_path, kind, damage, said, on_error):
    path = _compressed(tmp_path, kind, damage)
    with pytest.raises(DamagedStreamError, match=f"pool.jsonl.{kind}: the .* {said}"):
        read_records(path, on_error=on_error)


@pytest.mark.parametrize("kind", ["gz", "zst"])
def test_concatenated_members_and_frames_read_whole(tmp_path, kind):
    halves = [b"".join(json.dumps(r).encode() + b"\n" for r in part) for part in (POOL[:90], POOL[90:])]
    pack = gzip.compress if kind == "gz" else zstandard.ZstdCompressor().compress
    path = tmp_path / f"pool.jsonl.{kind}"
    path.write_bytes(b"".join(pack(half) for half in halves))
    assert list(read_records(path)) == POOL


def test_cli_says_a_stream_is_truncated(tmp_path, capsys):
    path = _compressed(tmp_path, "gz", "truncated")
    assert main(["ratio", str(path), "--skip-bad", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "gzip stream is truncated" in err and "Traceback" not in err


# --- a byte order mark --------------------------------------------------------------------


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_a_utf8_bom_before_jsonl_is_not_part_of_the_first_record(tmp_path, on_error):
    path = write_jsonl(tmp_path / "bom.jsonl", POOL, head=b"\xef\xbb\xbf")
    records = read_records(path, on_error=on_error)
    assert list(records) == POOL and not records.skipped
    assert records.raw(0) == json.dumps(POOL[0]).encode()


# --- an empty selection is a failure with its reason ----------------------------------------


@pytest.mark.parametrize("method", ["zip", "random", "length", "zipfit"])
def test_a_token_budget_no_record_fits_fails_with_the_smallest_record(method):
    smallest = min(len(zipkit.read_records(POOL).text(i).split()) for i in range(len(POOL)))
    extra = {"target": TARGET} if method == "zipfit" else {}
    with pytest.raises(ValueError, match=f"budget_tokens=1 fits no record.* {smallest} "):
        zipkit.select(POOL, method=method, budget_tokens=1, **extra)


def test_zip_tops_up_when_its_first_pick_is_over_the_token_budget():
    """Once an error ("its first pick is over the budget"); now, as every method, ZIP skips a
    pick that does not fit and fills the budget from the records left, lowest score first."""
    records = zipkit.read_records(POOL)
    tokens = np.array([len(records.text(i).split()) for i in range(len(records))])
    first = zipkit.select(records, budget=1).indices[0]
    if tokens[first] == tokens.min():
        pytest.skip("the first pick is the smallest record")
    budget = int(tokens[first]) - 1
    selection = zipkit.select(records, budget_tokens=budget)
    got = int(tokens[selection.indices].sum())
    assert first not in selection.indices and 0 < got <= budget
    assert selection.manifest["topped_up"] == len(selection.indices)  # the rounds took nothing
    left_out = np.setdiff1d(np.arange(len(records)), selection.indices)
    assert (tokens[left_out] > budget - got).all()


def test_a_threshold_nothing_passes_fails_with_the_best_score(tmp_path, capsys):
    scores = zipkit.score(POOL, method="zipfit", target=TARGET)
    with pytest.raises(ValueError, match=f"no record passes threshold=0.99 .the best score is {scores.max():.4f}"):
        zipkit.select(POOL, method="zipfit", target=TARGET, threshold=0.99)
    write_jsonl(tmp_path / "pool.jsonl", POOL)
    write_jsonl(tmp_path / "target.jsonl", TARGET)
    out = tmp_path / "out.jsonl"
    assert (
        main(
            [
                "select",
                str(tmp_path / "pool.jsonl"),
                "--method",
                "zipfit",
                "--target",
                str(tmp_path / "target.jsonl"),
                "--threshold",
                "0.99",
                "-o",
                str(out),
            ]
        )
        == 2
    )
    assert "no record passes" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize(
    "content, said",
    [
        (b"", "no records in .*: the pool is empty"),
        (b'{"text": ""}\n{"text": " "}\n', "no readable records in .*: all 2 were skipped as bad"),
        (
            b'{"txt": "a b"}\n{"txt": "c d"}\n',
            "record 0: matches no known schema.*--text-field FIELD \\(--skip-bad would skip every record like it",
        ),
    ],
)
def test_a_pool_with_nothing_to_select_from_is_an_error(tmp_path, capsys, content, said):
    path = tmp_path / "pool.jsonl"
    path.write_bytes(content)
    assert main(["ratio", str(path), "--skip-bad", "--no-progress"]) == 2
    assert re.search(said, capsys.readouterr().err)
