import json
import subprocess
import sys
import zlib

import numpy as np
import pytest
from helpers import alpaca, write_jsonl

import zipkit
from zipkit import cli, ratio

RECS = [
    {
        "id": i,
        "conversations": [
            {"from": "human", "value": f"question {i} " * (i % 7 + 1)},
            {"from": "gpt", "value": "answer " + "abc" * i},
        ],
    }
    for i in range(40)
]


def test_per_record_ratio_is_bytes_over_zlib_bytes():
    recs = zipkit.read_records(RECS)
    got = zipkit.score(recs, method="ratio", compressor="zlib:9", serializer="repr")
    want = [len(repr(r).encode()) / len(zlib.compress(repr(r).encode(), 9)) for r in RECS]
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.float64


def test_dataset_ratio_with_repr_is_the_authors_formula():
    recs = zipkit.read_records(RECS)
    whole = ratio.dataset_ratio(recs, "zlib:9", "repr")
    text = str(RECS).encode("utf-8")
    assert whole["bytes"] == len(text)
    assert whole["compressed_bytes"] == len(zlib.compress(text, 9))
    assert whole["ratio"] == len(text) / len(zlib.compress(text, 9))


def test_spearman_matches_a_direct_rank_computation():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 10, 200).astype(float)  # many ties
    b = a + rng.normal(0, 3, 200)

    def avg_ranks(x):
        order = sorted(range(len(x)), key=lambda i: x[i])
        ranks = [0.0] * len(x)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
                j += 1
            for k in range(i, j + 1):
                ranks[order[k]] = (i + j) / 2
            i = j + 1
        return ranks

    ra, rb = avg_ranks(list(a)), avg_ranks(list(b))
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    want = cov / (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5
    assert ratio.spearman(a, b) == pytest.approx(want, abs=1e-12)


def test_score_rejects_unknown_methods():
    with pytest.raises(ValueError, match="unknown scoring method"):
        zipkit.score(RECS, method="vibes")


def test_cli_ratio_report_and_per_record(tmp_path, capsys):
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(r) + "\n" for r in RECS))
    report, per = tmp_path / "r.json", tmp_path / "per.jsonl"
    assert (
        cli.main(
            [
                "ratio",
                str(pool),
                "--compressor",
                "zstd:3",
                "--report",
                str(report),
                "--per-record",
                str(per),
                "--no-progress",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    summary = json.loads(report.read_text())
    assert summary["pool"]["records"] == 40
    assert summary["manifest"]["compressor"]["spec"] == "zstd:3"
    assert set(summary["manifest"]["timings"]) == {"read", "record_ratios", "dataset_ratio"}
    assert f"ratio {summary['dataset']['ratio']:.4f}" in printed
    rows = [json.loads(x) for x in per.read_text().splitlines()]
    want = zipkit.score(zipkit.read_records(pool), compressor="zstd:3")
    assert [r["position"] for r in rows] == list(range(40))
    np.testing.assert_allclose([r["ratio"] for r in rows], want)


def test_cli_errors_are_clear(tmp_path, capsys):
    pool = tmp_path / "pool.jsonl"
    pool.write_text('{"text": "a"}\n{"text": \n')
    assert cli.main(["ratio", str(pool)]) == 2
    assert "line 2, record 1: malformed JSON" in capsys.readouterr().err
    assert cli.main(["ratio", str(pool), "--skip-bad", "--no-progress"]) == 0
    assert "skipped 1 bad record" in capsys.readouterr().err
    assert cli.main(["ratio", str(pool), "--compressor", "gzip:0"]) == 2
    assert "rank by length" in capsys.readouterr().err


def test_console_script_version_and_compressors():
    out = subprocess.run(
        [sys.executable, "-m", "zipkit.cli", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"zipkit {zipkit.__version__}"
    out = subprocess.run(
        [sys.executable, "-m", "zipkit.cli", "compressors", "--json"], capture_output=True, text=True, check=True
    ).stdout
    assert {row["name"] for row in json.loads(out)} == set(zipkit.compressors.BACKENDS)


def test_versions_of_a_pool_in_one_table(tmp_path, capsys):
    base = alpaca(300)
    paths = [
        write_jsonl(tmp_path / "v1.jsonl", base[:200]),
        write_jsonl(tmp_path / "v2.jsonl", base),
        write_jsonl(tmp_path / "v3.jsonl", base + base[:150]),
    ]
    report, plot = tmp_path / "r.json", tmp_path / "v.png"
    assert (
        cli.main(
            [
                "ratio",
                *map(str, paths),
                "--compressor",
                "zstd:19",
                "--report",
                str(report),
                "--plot",
                str(plot),
                "--no-progress",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "v3.jsonl" in out and "change" in out
    result = json.loads(report.read_text())
    whole = [zipkit.ratio.dataset_ratio(zipkit.read_records(p), "zstd:19")["ratio"] for p in paths]
    assert [s["dataset"]["ratio"] for s in result["pools"]] == pytest.approx(whole)
    assert result["changes"] == [None, pytest.approx(whole[1] / whole[0] - 1), pytest.approx(whole[2] / whole[1] - 1)]
    assert result["changes"][2] > 0.1  # the version with repeated records stands out
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["ratio", *map(str, paths[:2]), "--per-record", str(tmp_path / "p.jsonl")]) == 2
    assert "--per-record takes one pool" in capsys.readouterr().err
