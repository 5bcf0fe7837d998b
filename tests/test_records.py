import gzip
import json
import os

import numpy as np
import pytest
import zstandard

import zipkit
from zipkit import BadRecordError, read_records

SHAREGPT = [
    {
        "id": "a1",
        "conversations": [
            {"from": "human", "value": "Hi 'there'"},
            {"from": "gpt", "value": "Hello!\nHow can I help?"},
        ],
        "source": "x",
    },
    {
        "id": "b2",
        "conversations": [{"from": "human", "value": "Écris un poème"}, {"from": "gpt", "value": 'Il dit "oui"'}],
        "source": "y",
    },
    {
        "id": "c3",
        "conversations": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"}],
        "extra": None,
        "score": 1.5,
        "flag": True,
    },
]
SHAREGPT_TEXTS = ["Hi 'there'\nHello!\nHow can I help?", 'Écris un poème\nIl dit "oui"', "2+2?\n4"]


def write_jsonl(path, records, newline="\n"):
    path.write_bytes("".join(json.dumps(r, ensure_ascii=False) + newline for r in records).encode())
    return path


@pytest.mark.parametrize(
    "name, writer",
    [
        ("pool.jsonl", lambda p, recs: write_jsonl(p, recs)),
        ("pool.json", lambda p, recs: p.write_text(json.dumps(recs, indent=2, ensure_ascii=False))),
        (
            "pool.jsonl.gz",
            lambda p, recs: p.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in recs).encode())),
        ),
        (
            "pool.jsonl.zst",
            lambda p, recs: p.write_bytes(
                zstandard.ZstdCompressor().compress("".join(json.dumps(r) + "\n" for r in recs).encode())
            ),
        ),
        ("pool.json.gz", lambda p, recs: p.write_bytes(gzip.compress(json.dumps(recs).encode()))),
        ("pool.data", lambda p, recs: p.write_text(json.dumps(recs))),  # no telling suffix: looked into
    ],
)
def test_every_json_format_reads_the_same_records(tmp_path, name, writer):
    path = tmp_path / name
    writer(path, SHAREGPT)
    recs = read_records(path)
    assert len(recs) == 3 and recs.schema == "sharegpt"
    assert [recs[i] for i in range(3)] == SHAREGPT
    assert list(recs) == SHAREGPT
    assert [recs.text(i) for i in range(3)] == SHAREGPT_TEXTS


def test_parquet_and_hf_dataset_and_list(tmp_path):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"text": "first text"}, {"text": "second"}, {"text": "third one"}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "p.parquet")
    for source in (tmp_path / "p.parquet", datasets.Dataset.from_list(rows), rows):
        recs = read_records(source)
        assert recs.schema == "text"
        assert list(recs) == rows and recs[2] == rows[2]
        assert [recs.text(i) for i in range(3)] == ["first text", "second", "third one"]
    # A dataset's own row order, after a select, is honoured.
    recs = read_records(datasets.Dataset.from_list(rows).select([2, 0]))
    assert list(recs) == [rows[2], rows[0]]


def test_dataset_dict_asks_for_a_split():
    import datasets

    dd = datasets.DatasetDict({"train": datasets.Dataset.from_list([{"text": "a"}])})
    with pytest.raises(ValueError, match=r"holds the splits train: choose the one to read \(split=NAME\)"):
        read_records(dd)
    assert read_records(dd, split="train").text(0) == "a"


@pytest.mark.parametrize(
    "record, schema, text",
    [
        (
            {
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": [{"type": "text", "text": "Hey"}]},
                ]
            },
            "messages",
            "Be brief.\nHi\nHey",
        ),
        ({"instruction": "Add", "input": "1 and 2", "output": "3"}, "alpaca", "Add\n1 and 2\n3"),
        ({"instruction": "Say hi", "input": "", "output": "hi"}, "alpaca", "Say hi\nhi"),
        ({"prompt": "Q?", "chosen": "good", "rejected": "bad"}, "preference", "Q?\ngood\nbad"),
        (
            {
                "chosen": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}],
                "rejected": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "B"}],
            },
            "preference",
            "Q\nA\nQ\nB",
        ),
        ({"text": "plain"}, "text", "plain"),
        ({"conversations": ["lima question", "lima answer"]}, "sharegpt", "lima question\nlima answer"),
    ],
)
def test_schemas_and_their_text(record, schema, text):
    recs = read_records([record])
    assert recs.schema == schema
    assert recs.text(0) == text
    assert bytes(recs.payloads("text")[0]) == text.encode()


def test_explicit_text_fields(tmp_path):
    recs = read_records([{"question": "Why?", "answer": "Because.", "id": 7}], text_fields=["question", "answer"])
    assert recs.text(0) == "Why?\nBecause." and recs.schema is None
    with pytest.raises(BadRecordError, match="has no 'answer' field"):
        read_records([{"question": "Why?"}], text_fields=["question", "answer"])


def test_serializers():
    recs = read_records(SHAREGPT)
    for i, record in enumerate(SHAREGPT):
        assert bytes(recs.payloads("repr")[i]) == repr(record).encode("utf-8")
        assert bytes(recs.payloads("json")[i]) == json.dumps(record, ensure_ascii=False).encode()
    assert recs.payloads("text").lengths.tolist() == [len(t.encode()) for t in SHAREGPT_TEXTS]
    # The repr frame of a pool is what ZIP's authors compress: str() of the list of dicts.
    frame = zipkit.io.get_serializer("repr")
    assert b"".join(frame.join(recs.payloads("repr"))) == str(SHAREGPT).encode()
    frame = zipkit.io.get_serializer("json")
    assert b"".join(frame.join(recs.payloads("json"))) == json.dumps(SHAREGPT, ensure_ascii=False).encode()
    with pytest.raises(ValueError, match="unknown serializer"):
        recs.payloads("pickle")


def test_records_are_fresh_copies():
    recs = read_records(SHAREGPT)
    recs[0]["id"] = "changed"
    assert recs[0]["id"] == "a1"
    assert SHAREGPT[0]["id"] == "a1"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_jsonl_lines_come_back_byte_identical(tmp_path, newline):
    # Unusual spacing and escapes that a re-serialization would change.
    lines = ['{"text":"a","z":1}', '{ "text" : "caf\\u00e9 \\"q\\"" ,"n": 1.50}', '{"text": "ü\\n"}']
    src = tmp_path / "in.jsonl"
    src.write_bytes((newline.join(lines) + newline).encode())
    recs = read_records(src)
    recs.write([2, 0], tmp_path / "out.jsonl")
    out = (tmp_path / "out.jsonl").read_bytes()
    assert out == (lines[2] + newline + lines[0] + newline).encode()
    recs.write([1], tmp_path / "out.jsonl.gz")
    assert gzip.decompress((tmp_path / "out.jsonl.gz").read_bytes()) == (lines[1] + newline).encode()


def test_json_array_elements_keep_their_bytes(tmp_path):
    src = tmp_path / "in.json"
    src.write_text(json.dumps(SHAREGPT, indent=4, ensure_ascii=False))
    recs = read_records(src)
    recs.write([1, 2], tmp_path / "out.json")
    text = (tmp_path / "out.json").read_text()
    assert json.loads(text) == [SHAREGPT[1], SHAREGPT[2]]
    assert json.dumps(SHAREGPT[1], indent=4, ensure_ascii=False).replace("\n", "\n    ") in text
    # In JSON Lines a multi-line element becomes one line with the same value.
    recs.write([1], tmp_path / "out.jsonl")
    assert [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()] == [SHAREGPT[1]]


def test_parquet_output_takes_input_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"text": ["a", "b", "c"], "score": [0.5, 1.5, 2.5]})
    pq.write_table(table, tmp_path / "in.parquet")
    read_records(tmp_path / "in.parquet").write([2, 0], tmp_path / "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet").equals(table.take([2, 0]))
    read_records(SHAREGPT).write([1], tmp_path / "from_json.parquet")
    assert pq.read_table(tmp_path / "from_json.parquet").to_pylist()[0]["id"] == "b2"


def test_write_refuses_repeats_and_bad_positions_and_leaves_nothing(tmp_path):
    recs = read_records(SHAREGPT)
    out = tmp_path / "out.jsonl"
    with pytest.raises(ValueError, match="index 1 is selected more than once"):
        recs.write([1, 0, 1], out)
    with pytest.raises(IndexError, match="index 3 is out of range"):
        recs.write([3], out)
    with pytest.raises(ValueError, match="suffix"):
        recs.write([0], tmp_path / "out.txt")
    assert os.listdir(tmp_path) == []


def test_write_is_atomic_when_it_fails_midway(tmp_path, monkeypatch):
    recs = read_records(SHAREGPT)
    out = tmp_path / "out.jsonl"
    out.write_text("previous result\n")

    def boom(i, one_line):
        if i == 2:
            raise RuntimeError("disk on fire")
        return b"{}"

    monkeypatch.setattr(recs, "_json_bytes", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        recs.write([0, 1, 2], out)
    assert out.read_text() == "previous result\n"
    assert os.listdir(tmp_path) == ["out.jsonl"]


# --- bad input ----------------------------------------------------------------------------


def _bad_jsonl(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        b'{"text": "ok"}\n'
        b'{"text": "broken\n'  # line 2: malformed
        b"\n"  # blank lines are not records
        b'{"text": "caf\xe9"}\n'  # line 4: latin-1 byte
        b'{"txt": "typo"}\n'  # line 5: missing field
        b'{"text": "   "}\n'  # line 6: empty text
        b'["a list"]\n'  # line 7: not an object
        b'{"text": "fine too"}\n'
    )
    return path


def test_first_bad_record_raises_with_file_line_and_problem(tmp_path):
    with pytest.raises(BadRecordError, match=r"bad.jsonl: line 2, record 1: malformed JSON") as info:
        read_records(_bad_jsonl(tmp_path))
    assert info.value.bad.line == 2 and "on_error='skip'" in str(info.value)


def test_skip_mode_lists_every_bad_record(tmp_path):
    recs = read_records(_bad_jsonl(tmp_path), on_error="skip")
    assert [recs.text(i) for i in range(len(recs))] == ["ok", "fine too"]
    assert recs.numbers.tolist() == [0, 6] and recs.lines.tolist() == [1, 8]
    problems = {bad.line: bad.problem for bad in recs.skipped}
    assert sorted(problems) == [2, 4, 5, 6, 7]
    assert "malformed JSON" in problems[2]
    assert "not UTF-8" in problems[4]
    assert "has no 'text' field" in problems[5]
    assert "empty text" in problems[6]
    assert "not an object" in problems[7]


def test_unknown_schema_names_the_keys_and_the_fix():
    with pytest.raises(BadRecordError, match=r"keys are 'question', 'answer'.*text_fields"):
        read_records([{"question": "a", "answer": "b"}])


def test_missing_field_after_detection_names_the_field():
    with pytest.raises(BadRecordError, match=r"record 1: turn conversations\[0\] has no 'value'"):
        read_records([SHAREGPT[0], {"conversations": [{"from": "human", "text": "x"}]}])


def test_truncated_and_malformed_arrays(tmp_path):
    full = json.dumps(SHAREGPT, indent=2)
    cut = tmp_path / "cut.json"
    cut.write_text(full[: full.index('"b2"') + 30])
    with pytest.raises(BadRecordError, match="record 1: the file ends inside this record"):
        read_records(cut)
    # Skipping cannot help: what follows the cut is lost, and a run on the rest would look whole.
    with pytest.raises(BadRecordError, match="truncated.*cannot be skipped"):
        read_records(cut, on_error="skip")
    unclosed = tmp_path / "unclosed.json"
    unclosed.write_text(json.dumps(SHAREGPT)[:-1])
    with pytest.raises(BadRecordError, match="without closing the array"):
        read_records(unclosed, on_error="skip")
    junk = tmp_path / "junk.json"
    junk.write_text('[{"text": "a"}, {"text": "b"} {"text": "c"}]')
    with pytest.raises(BadRecordError, match="expected ',' or ']'"):
        read_records(junk)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'[{"text": "caf\xe9"}]')
    with pytest.raises(BadRecordError, match="not UTF-8"):
        read_records(latin)


def test_json_array_larger_than_the_read_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(zipkit.io.formats, "_CHUNK", 64)  # force many refills mid-record
    recs_in = [{"text": f"record {i} " + "x" * (i * 37 % 300)} for i in range(200)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(recs_in, indent=1))
    recs = read_records(path)
    assert list(recs) == recs_in
    assert recs.lines[:3].tolist() == [2, 5, 8]


def test_bad_arguments():
    with pytest.raises(ValueError, match="on_error"):
        read_records(SHAREGPT, on_error="ignore")
    with pytest.raises(ValueError, match="unknown schema"):
        read_records(SHAREGPT, schema="chatml")
    with pytest.raises(FileNotFoundError, match="no such pool file"):
        read_records("/nonexistent/pool.jsonl")
    with pytest.raises(TypeError, match="cannot read records"):
        read_records(42)
    with pytest.raises(ValueError, match="unknown packaged pool"):
        read_records("packaged:nope")


def test_packaged_sharegpt_pool():
    recs = read_records("packaged:sharegpt")
    assert len(recs) == 17_545 and recs.schema == "sharegpt"
    kinds = [bad.problem.split(" (")[0] for bad in recs.skipped]
    assert kinds.count("has empty text") == 126
    assert recs.skipped[-1].record == 17_671 and "truncated" in recs.skipped[-1].problem
    assert recs[0]["id"] == "QWJhYvA_0"
    assert np.all(np.diff(recs.numbers) > 0)


def test_shared_mbpp_crlf_round_trip(shared_data, tmp_path):
    src = shared_data / "mbpp" / "mbpp.jsonl"
    recs = read_records(src, text_fields=["text", "code"])
    assert len(recs) == 974
    recs.write(list(range(len(recs))), tmp_path / "all.jsonl")
    original = src.read_bytes()
    # Every line byte-identical, CR included; the file's last line lacks its newline, ours has it.
    assert (tmp_path / "all.jsonl").read_bytes() == original + (b"" if original.endswith(b"\n") else b"\n")


def test_shared_alpaca(shared_data):
    recs = read_records(shared_data / "alpaca" / "alpaca_5000.json")
    assert len(recs) == 5000 and recs.schema == "alpaca"
    raw = json.loads((shared_data / "alpaca" / "alpaca_5000.json").read_text())
    assert recs[4321] == raw[4321]
