"""Faults and bad parameters: a clear error naming the file and the fix, never a traceback,
a damaged state never resumed from, and Ctrl-C leaving a state that --resume continues."""

import errno
import os
import signal

import numpy as np
import pytest
from helpers import alpaca, write_jsonl

import zipkit
from zipkit import cli
from zipkit.baselines import cluster, lm_scores
from zipkit.baselines.models import load_cached
from zipkit.io import atomic
from zipkit.methods import zip as zipmod

POOL = alpaca(200)
ZIP = dict(budget=40, k1=100, k2=30, k3=5)


# --- where outputs go -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "output, said",
    [
        ("missing/out.jsonl", "the directory of -o missing/out.jsonl does not exist"),
        ("sub", "-o sub is a directory"),
    ],
)
def test_a_bad_output_location_fails_before_any_work(tmp_path, monkeypatch, capsys, output, said):
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "pool.jsonl", POOL)
    (tmp_path / "sub").mkdir()
    monkeypatch.setattr(zipkit.api, "read_records", lambda *a, **k: pytest.fail("read the pool"))
    assert cli.main(["select", "pool.jsonl", "--budget", "5", "-o", output]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    assert not (tmp_path / "missing").exists()


def test_an_unwritable_directory_is_found_before_the_work(tmp_path, monkeypatch, capsys):
    write_jsonl(tmp_path / "pool.jsonl", POOL)

    def no_room(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(zipkit.io.atomic.tempfile, "mkstemp", no_room)
    assert cli.main(["ratio", str(tmp_path / "pool.jsonl"), "--report", str(tmp_path / "r.json")]) == 2
    assert "cannot write --report" in capsys.readouterr().err


def test_a_full_disk_names_the_output_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    write_jsonl(tmp_path / "pool.jsonl", POOL)
    out = tmp_path / "out.jsonl"

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full)
    assert cli.main(["select", str(tmp_path / "pool.jsonl"), "--budget", "5", "-o", str(out), "--no-progress"]) == 2
    assert f"No space left on device while writing {out}" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pool.jsonl"]


def test_an_unreadable_pool_is_named(tmp_path, monkeypatch, capsys):
    path = write_jsonl(tmp_path / "pool.jsonl", POOL)
    monkeypatch.setattr(zipkit.io.readers.os, "access", lambda p, mode: False)  # root reads anything
    assert cli.main(["ratio", str(path)]) == 2
    assert f"cannot read pool {path}: permission denied" in capsys.readouterr().err


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    out = tmp_path / "out.jsonl"
    dead = tmp_path / ".out.jsonl.4194301.k1ll.tmp"  # pid 4194301: above any live pid here
    alive = tmp_path / f".out.jsonl.{os.getpid()}.b1sy.tmp"
    dead.write_bytes(b"half")
    alive.write_bytes(b"in progress")
    zipkit.read_records(POOL).write([0, 1], out)
    assert not dead.exists() and alive.exists() and out.exists()


# --- checkpoints ------------------------------------------------------------------------------


def _damage(path, kind, n):
    if kind == "directory":
        path.unlink()
        path.mkdir()
        return
    if kind in ("empty", "truncated", "random bytes"):
        data = {
            "empty": b"",
            "truncated": path.read_bytes()[:300],
            "random bytes": np.random.default_rng(0).bytes(4096),
        }[kind]
        path.write_bytes(data)
        return
    state = dict(np.load(path))
    if kind == "missing keys":
        del state["pi"]
    elif kind == "wrong shapes":
        state["available"] = state["available"][:10]
    elif kind == "out-of-range indices":
        state["selected"] = state["selected"] + n
    elif kind == "repeated indices":
        state["selected"][1] = state["selected"][0]
    elif kind == "wrong kinds":
        state["pi"] = state["pi"].astype(np.int64)
    with open(path, "wb") as out:
        np.savez(out, **state)


@pytest.mark.parametrize(
    "kind",
    [
        "empty",
        "truncated",
        "random bytes",
        "missing keys",
        "wrong shapes",
        "out-of-range indices",
        "repeated indices",
        "wrong kinds",
    ],
)
def test_a_damaged_checkpoint_is_never_resumed(tmp_path, kind):
    ckpt = tmp_path / "run.npz"
    zipkit.select(POOL, checkpoint=ckpt, checkpoint_every=1, **ZIP)
    _damage(ckpt, kind, len(POOL))
    with pytest.raises(ValueError, match=f"checkpoint {ckpt} is damaged: remove it or point --checkpoint elsewhere"):
        zipkit.select(POOL, checkpoint=ckpt, resume=True, **ZIP)


def test_a_checkpoint_that_is_a_directory_is_refused_on_the_command_line(tmp_path, capsys):
    write_jsonl(tmp_path / "pool.jsonl", POOL)
    (tmp_path / "run.npz").mkdir()
    assert (
        cli.main(
            [
                "select",
                str(tmp_path / "pool.jsonl"),
                "--budget",
                "5",
                "-o",
                str(tmp_path / "o.jsonl"),
                "--checkpoint",
                str(tmp_path / "run.npz"),
                "--resume",
            ]
        )
        == 2
    )
    assert "--checkpoint" in capsys.readouterr().err


# --- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, said",
    [
        (dict(checkpoint="c.npz", checkpoint_every=0), "checkpoint_every=0 is not a whole number of rounds"),
        (dict(checkpoint="c.npz", checkpoint_every=-1), "checkpoint_every"),
        (dict(checkpoint="c.npz", checkpoint_every=2.0), "checkpoint_every"),
        (dict(resume=True), "resume=True continues the run saved in a checkpoint"),
        (dict(compressor=""), "compressor spec must be a string like 'zlib:9', got ''"),
        (dict(workers="2"), "workers='2' is not a whole number >= 0"),
        (dict(workers=True), "workers=True is not a whole number >= 0"),
    ],
)
def test_zip_parameters_are_validated(tmp_path, monkeypatch, params, said):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=said):
        zipkit.select(POOL, **ZIP, **params)
    assert not (tmp_path / "c.npz").exists()


@pytest.mark.parametrize("buckets", [0, -5, 2.5, True])
def test_dsir_bucket_count_is_validated(buckets):
    with pytest.raises(ValueError, match="num_buckets=.* is not a whole number >= 1"):
        zipkit.select(POOL, method="dsir", target=POOL[:10], budget=5, num_buckets=buckets)


@pytest.mark.parametrize("budget", [5.0, True, float("inf"), 0, -1])
def test_budgets_are_whole_positive_numbers(budget):
    with pytest.raises(ValueError, match="budget must be a positive whole number"):
        zipkit.select(POOL, method="random", budget=budget)


def test_text_fields_must_be_a_list_and_positions_ints(tmp_path):
    with pytest.raises(TypeError, match=r"write text_fields=\['output'\]"):
        zipkit.read_records(POOL, text_fields="output")
    with pytest.raises(TypeError, match="indices must be whole record indices"):
        zipkit.read_records(POOL).write([1.7], tmp_path / "out.jsonl")
    assert not list(tmp_path.iterdir())


def test_deep_nesting_names_the_record_not_the_recursion(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"text": "ok"}\n' + '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(zipkit.BadRecordError, match="line 2, record 1: nested too deeply"):
        zipkit.read_records(path)
    array = tmp_path / "deep.json"
    array.write_text('[{"text": "ok"}, ' + "[" * 100_000 + "]" * 100_000 + "]")
    with pytest.raises(zipkit.BadRecordError, match="record 1: nested too deeply"):
        zipkit.read_records(array)


# --- Ctrl-C and kill --------------------------------------------------------------------------


def signalled_in_round(n, monkeypatch, signum=signal.SIGINT):
    """Send ``signum`` to this process in the middle of ZIP's ``n``-th round."""
    real_fine, calls = zipmod._Run._fine, []

    def fine(self, coarse):
        calls.append(1)
        if len(calls) == n:
            os.kill(os.getpid(), signum)
        return real_fine(self, coarse)

    monkeypatch.setattr(zipmod._Run, "_fine", fine)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_round_saves_that_round_and_resume_finishes_the_same(tmp_path, monkeypatch, signum):
    whole = zipkit.select(POOL, **ZIP)
    ckpt = tmp_path / "run.npz"
    signalled_in_round(3, monkeypatch, signum)
    with pytest.raises(KeyboardInterrupt) as stop:
        zipkit.select(POOL, checkpoint=ckpt, checkpoint_every=100, **ZIP)
    assert stop.value.signum == signum
    assert int(np.load(ckpt)["rounds"]) == 3  # the round it was in finished, then it stopped
    monkeypatch.undo()
    resumed = zipkit.select(POOL, checkpoint=ckpt, resume=True, checkpoint_every=100, **ZIP)
    assert resumed.indices.tolist() == whole.indices.tolist()
    np.testing.assert_array_equal(resumed.scores, whole.scores)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def test_ctrl_c_on_the_command_line_exits_130_and_says_how_to_go_on(tmp_path, monkeypatch, capsys):
    write_jsonl(tmp_path / "pool.jsonl", POOL)
    ckpt, out = tmp_path / "run.npz", tmp_path / "out.jsonl"
    signalled_in_round(2, monkeypatch)
    argv = [
        "select",
        str(tmp_path / "pool.jsonl"),
        "--budget",
        "40",
        "--k1",
        "100",
        "--k2",
        "30",
        "--k3",
        "5",
        "-o",
        str(out),
        "--checkpoint",
        str(ckpt),
        "--no-progress",
    ]
    assert cli.main(argv) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"saved in {ckpt}: run the same command with --resume" in err
    assert not out.exists()
    monkeypatch.undo()
    assert cli.main([*argv, "--resume"]) == 0
    assert [json_index(line) for line in out.read_text().splitlines()] == zipkit.select(POOL, **ZIP).indices.tolist()


def json_index(line):
    import json

    return POOL.index(json.loads(line))


def test_a_second_signal_interrupts_at_once(monkeypatch, tmp_path):
    with zipmod.interrupts.deferred() as held:
        os.kill(os.getpid(), signal.SIGINT)
        assert held.pending
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# --- caches -----------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "garbage", "all zeros", "wrong shape"])
def test_an_unusable_embedding_cache_is_named_and_recomputed(tmp_path, damage):
    path = tmp_path / "e.npy"
    vectors = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    np.save(path, vectors)
    assert np.array_equal(load_cached(path, lambda v: cluster._not_embeddings(v, 5)), vectors)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage":
        path.write_bytes(b"not numpy at all")
    else:
        np.save(path, np.zeros_like(vectors) if damage == "all zeros" else vectors[:4])
    with pytest.warns(UserWarning, match=f"cache file {path} is not usable"):
        assert load_cached(path, lambda v: cluster._not_embeddings(v, 5)) is None
    assert not path.exists()


@pytest.mark.parametrize("damage", ["truncated", "missing array", "zero tokens", "negative loss"])
def test_an_unusable_lm_cache_is_named_and_recomputed(tmp_path, damage):
    path = tmp_path / "s.npz"
    n = 4
    state = {
        "done": np.ones(n, bool),
        "nll_ctx": np.full(n, 2.0),
        "n_ctx": np.full(n, 3),
        "nll_resp": np.full(n, 1.5),
        "n_resp": np.full(n, 2),
    }
    np.savez(path, **state)
    assert lm_scores._load_state(path, n)["nll_resp"].tolist() == [1.5] * n
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:50])
    else:
        if damage == "missing array":
            del state["n_resp"]
        elif damage == "zero tokens":
            state["n_ctx"][:] = 0
            state["n_resp"][:] = 0
        else:
            state["nll_resp"][1] = -1.0
        np.savez(path, **state)
    with pytest.warns(UserWarning, match="is not usable"):
        fresh = lm_scores._load_state(path, n)
    assert not fresh["done"].any() and not path.exists()
