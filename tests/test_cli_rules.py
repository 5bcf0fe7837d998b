"""One rule each: budgets larger than the pool, count parameters' bounds, a choice given
wrong, a minimum length."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import alpaca, write_jsonl

import zipkit
from zipkit.cli import main


@pytest.fixture
def pool(tmp_path):
    return write_jsonl(tmp_path / "pool.jsonl", alpaca(40, seed=3))


def test_a_token_budget_larger_than_the_pool_is_refused_before_any_work(pool):
    total = sum(len(zipkit.read_records(pool).text(i).split()) for i in range(40))
    for method in ("zip", "random", "length"):
        with pytest.raises(ValueError, match=f"budget_tokens={total + 1} is larger than the pool \\({total:,} "):
            zipkit.select(pool, method=method, budget_tokens=total + 1)
        assert len(zipkit.select(pool, method=method, budget_tokens=total).indices) == 40  # the whole pool fits
    with pytest.raises(ValueError, match="budget 41 is larger than the pool"):
        zipkit.select(pool, method="zip", budget=41)


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--k1", str(10**20), "--k1 100000000000000000000 is more than 2,147,483,647"),
        ("--k3", "0", "--k3 0 is not a whole number >= 1"),
        ("--seed", "-1", "--seed -1 is not a whole number >= 0"),
        ("--num-buckets", str(10**13), "--num-buckets 10000000000000 is more than 134,217,728"),
    ],
)
def test_count_parameters_are_bounded_by_name(pool, tmp_path, capsys, flag, value, message):
    method = {"--seed": "random", "--num-buckets": "dsir"}.get(flag, "zip")
    target = ["--target", str(pool)] if method == "dsir" else []
    argv = ["select", str(pool), "--method", method, *target, "--budget", "5", flag, value]
    assert main([*argv, "-o", str(tmp_path / "o.jsonl"), "--no-progress"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize("given, meant", [("zipfitt", "zipfit"), ("ZIP", "zip"), ("lenght", "length")])
def test_a_misspelled_choice_is_one_line_with_the_closest_name(pool, given, meant):
    done = subprocess.run(
        [sys.executable, "-m", "zipkit.cli", "select", str(pool), "--budget", "5", "-o", "x.jsonl", "--method", given],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"did you mean {meant}?" in lines[0] and f"--method {given}" in lines[0]


def test_min_tokens_leaves_short_records_out_and_keeps_input_rows(tmp_path):
    texts = ["hey", "a record long enough to count here", "ok", "another record that is long enough", "hi there"]
    pool = write_jsonl(tmp_path / "p.jsonl", [{"text": t} for t in texts])
    long_rows = [k for k, t in enumerate(texts) if len(t.split()) >= 5]
    selection = zipkit.select(pool, method="zip", budget=2, min_tokens=5, k1=4, k2=2, k3=1)
    assert sorted(selection.indices.tolist()) == long_rows
    assert selection.manifest["parameters"]["min_tokens"] == 5
    assert selection.manifest["min_tokens_left_out"] == 3
    assert selection.manifest["pool"]["records"] == 5  # the pool as given, which inspect checks
    # Off by default (as in the authors' script): the shortest, least compressible records win.
    assert 0 in zipkit.select(pool, method="zip", budget=2, k1=4, k2=2, k3=1).indices.tolist()
    with pytest.raises(ValueError, match="only 2 of 5 records pass min_tokens=5"):
        zipkit.select(pool, method="random", budget=3, min_tokens=5)


def test_min_tokens_in_the_cli_report(tmp_path, capsys):
    pool = write_jsonl(tmp_path / "p.jsonl", alpaca(30, seed=5) + [{"instruction": "hey", "input": "", "output": "ok"}])
    report = tmp_path / "r.json"
    argv = ["select", str(pool), "--budget", "5", "--min-tokens", "4", "--report", str(report)]
    assert main([*argv, "-o", str(tmp_path / "o.jsonl"), "--no-progress"]) == 0
    made = json.loads(report.read_text())
    assert 30 not in made["indices"] and made["manifest"]["parameters"]["min_tokens"] == 4


def test_every_command_that_reads_a_pool_takes_no_progress():
    """--no-progress is accepted wherever a pool is read, so that scripts can pass it to any
    command (``zipkit compressors`` reads nothing and shows no bar)."""
    from zipkit.cli import COMMANDS, build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    takes = {name for name, sub in commands.items() if any("--no-progress" in a.option_strings for a in sub._actions)}
    assert set(COMMANDS) - takes == {"compressors"}
