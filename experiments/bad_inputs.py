"""Bad inputs, faults and interruptions against the ``zipkit`` command, before and after a fix.

    python -m experiments.bad_inputs [--zipkit SRC_DIR] [--out FILE.json]
    python -m experiments.bad_inputs --table BEFORE.json AFTER.json > TABLE.md

Every case runs ``python -m zipkit.cli ...`` (or a short Python snippet against the API) in
a fresh folder of generated files, with ``SRC_DIR`` first on ``PYTHONPATH`` (so an older
checkout can be measured by pointing at a ``git worktree`` of it). Recorded per case: the
exit status, the message (the error line, or the last line of a traceback) and, where the
case can lose data, what became of the files (``check``). ``--table`` puts two such runs
side by side as the Markdown table of the issue's closing note.

Run it as root: the full-disk case mounts an 8 KB tmpfs, and the unreadable-file cases drop
root's power to override file permissions (``setpriv``), which only root can do.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

_WORDS = (
    "data model train compress ratio token select pool record zip budget window greedy "
    "entropy law loss text code proof lemma theorem python function return value list "
    "sort merge graph node edge tree path search query answer question explain write"
).split()


def _record(rng: random.Random, k: int) -> dict:
    words = lambda n: " ".join(rng.choice(_WORDS) for _ in range(n))  # noqa: E731
    return {"instruction": f"Task {k}: {words(rng.randint(4, 12))}", "input": "", "output": words(rng.randint(10, 80))}


def _pool(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [_record(rng, k) for k in range(n)]


def _jsonl(path: Path, records: list, head: bytes = b"") -> None:
    path.write_bytes(head + b"".join(json.dumps(r).encode() + b"\n" for r in records))


def _array(path: Path, records: list) -> None:
    path.write_text("[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]\n")


def _base(d: Path) -> None:
    """pool.jsonl (200 records), pool.json (the same as an array), target.jsonl (20)."""
    _jsonl(d / "pool.jsonl", _pool(200))
    _array(d / "pool.json", _pool(200))
    _jsonl(d / "target.jsonl", _pool(20, seed=1))


def _lines(path: Path) -> int:
    return sum(1 for line in path.read_bytes().splitlines() if line.strip()) if path.is_file() else -1


def _intact(name: str, records: list) -> Callable[[Path, "Runner"], str]:
    """Whether an input file still holds what the setup wrote."""

    def check(d: Path, _: Runner) -> str:
        expected = b"".join(json.dumps(r).encode() + b"\n" for r in records)
        same = (d / name).read_bytes() == expected
        return f"{name} {'unchanged' if same else f'REPLACED ({_lines(d / name)} lines)'}"

    return check


_pool_intact = _intact("pool.jsonl", _pool(200))


@dataclass
class Case:
    group: str
    name: str
    argv: list[str]  # zipkit's arguments; a first word "python" runs the rest as a snippet
    setup: Callable[[Path], None] = _base
    check: Callable[[Path, "Runner"], str] | None = None
    interrupt_after: float | None = None  # send SIGINT after this many seconds
    unprivileged: bool = False  # without root's power to read and write any file


@dataclass
class Runner:
    src: Path
    timeout: float = 300
    env: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {**os.environ, "PYTHONPATH": str(self.src), "ZIPKIT_CACHE": ""}

    def run(
        self, d: Path, argv: list[str], interrupt_after: float | None = None, unprivileged: bool = False
    ) -> tuple[int, str]:
        if argv[0] == "python":
            command = [sys.executable, "-c", "import zipkit, sys\n" + argv[1]]
        else:
            command = [sys.executable, "-m", "zipkit.cli", *argv]
        if unprivileged:  # root, less the capabilities that override file permissions
            command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
        env = {**self.env, "ZIPKIT_CACHE": str(d / "cache")}
        proc = subprocess.Popen(
            command, cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        if interrupt_after is not None:
            time.sleep(interrupt_after)
            os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=self.timeout)
        return proc.returncode, _message(err.decode(errors="replace"), out.decode(errors="replace"))


def _message(err: str, out: str) -> str:
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    if any(line.startswith("Traceback") for line in lines):
        return "traceback: " + lines[-1]
    said = [line for line in lines if "error" in line.lower() or "warning" in line.lower()][:2]
    out_lines = [line.strip() for line in out.splitlines() if line.strip()]
    if not said and lines:
        said = [lines[-1]]
    if out_lines:  # what the run printed, after what it warned of
        said.append(out_lines[0])
    return " / ".join(said)[:400]


# --- setups -------------------------------------------------------------------------------


def _with(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        _base(d)
        for step in steps:
            step(d)

    return setup


def _broken_array(d: Path) -> None:
    text = (d / "pool.json").read_text().splitlines()
    text[51] = text[51].replace('"output": "', '"output": "x", broken')  # element 50, line 52
    (d / "pool.json").write_text("\n".join(text) + "\n")


def _after_array(extra: str) -> Callable[[Path], None]:
    def step(d: Path) -> None:
        with open(d / "pool.json", "a") as f:
            f.write(extra)

    return step


def _truncated(suffix: str) -> Callable[[Path], None]:
    def step(d: Path) -> None:
        data = (d / "pool.jsonl").read_bytes()
        if suffix == ".zst":
            import zstandard

            packed = zstandard.ZstdCompressor().compress(data)
        else:
            packed = gzip.compress(data)
        (d / f"pool.jsonl{suffix}").write_bytes(packed[: len(packed) * 2 // 3])

    return step


def _gzip_garbage(d: Path) -> None:
    (d / "pool.jsonl.gz").write_bytes(gzip.compress((d / "pool.jsonl").read_bytes()) + b"garbage!")


def _not_gzip(d: Path) -> None:
    (d / "pool.jsonl.gz").write_bytes(b"\x1f\x8b" + os.urandom(300))


def _bom(d: Path) -> None:
    _jsonl(d / "pool.jsonl", _pool(200), head=b"\xef\xbb\xbf")


def _symlink(d: Path) -> None:
    (d / "link.jsonl").symlink_to(d / "pool.jsonl")


def _readonly_dir(d: Path) -> None:
    (d / "ro").mkdir()
    os.chmod(d / "ro", 0o555)


def _unreadable(d: Path) -> None:
    os.chmod(d / "pool.jsonl", 0o000)


def _full_disk(d: Path) -> None:
    (d / "full").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(d / "full")], check=True)


def _unmount(d: Path, _: Runner) -> str:
    subprocess.run(["umount", str(d / "full")], check=False)
    return ""


def _checkpoint(kind: str) -> Callable[[Path], None]:
    def step(d: Path) -> None:
        import numpy as np

        path = d / "run.npz"
        if kind == "directory":
            path.mkdir()
        elif kind == "empty":
            path.write_bytes(b"")
        elif kind == "random bytes":
            path.write_bytes(random.Random(0).randbytes(4096))
        else:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "zipkit.cli",
                    "select",
                    "pool.jsonl",
                    "--budget",
                    "40",
                    "--k3",
                    "5",
                    "-o",
                    "full.jsonl",
                    "--checkpoint",
                    "run.npz",
                    "--checkpoint-every",
                    "1",
                ],
                cwd=d,
                check=True,
                capture_output=True,
                env={**os.environ, "PYTHONPATH": os.environ.get("BAD_INPUTS_SRC", "")},
            )
            state = dict(np.load(path))
            if kind == "truncated":
                path.write_bytes(path.read_bytes()[:300])
                return
            if kind == "missing keys":
                state.pop("pi")
            elif kind == "wrong shapes":
                state["available"] = state["available"][:10]
            elif kind == "out-of-range indices":
                state["selected"] = state["selected"] + 10_000
            with open(path, "wb") as out:
                np.savez(out, **state)

    return step


def _deep(d: Path) -> None:
    (d / "deep.jsonl").write_text('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}\n")


def _array_as_jsonl(d: Path) -> None:
    (d / "array.jsonl").write_text((d / "pool.json").read_text())


def _trailing_comma(d: Path) -> None:
    text = (d / "pool.json").read_text().rstrip().rstrip("]").rstrip()
    (d / "pool.json").write_text(text + ",\n]\n")


def _surrogate(d: Path) -> None:
    records = _pool(200)
    lines = [json.dumps(r) for r in records]
    lines[7] = lines[7].replace('"input": ""', '"input": "\\ud800"')
    (d / "pool.jsonl").write_text("\n".join(lines) + "\n")


def _fifo(d: Path) -> None:
    os.mkfifo(d / "fifo")
    data = (d / "pool.jsonl").read_bytes()

    # A writer in the background, as `zipkit select <(zcat pool.gz)` would have; it waits for
    # a reader, and is left waiting (a daemon thread) if zipkit never opens the FIFO.
    def write() -> None:
        with contextlib.suppress(OSError):  # the reader may leave early
            (d / "fifo").write_bytes(data)

    threading.Thread(target=write, daemon=True).start()


def _stale_temp(d: Path) -> None:
    (d / ".out.jsonl.4194301.abcd.tmp").write_bytes(b"half a selection")


def _big_pool(d: Path) -> None:
    _base(d)
    _jsonl(d / "big.jsonl", _pool(3000, seed=2))


# --- checks -------------------------------------------------------------------------------


def _output_lines(name: str) -> Callable[[Path, Runner], str]:
    return lambda d, _: f"{name}: {_lines(d / name)} records" if (d / name).exists() else f"no {name}"


def _files_left(d: Path, _: Runner) -> str:
    left = sorted(p.name for p in d.iterdir() if p.name.startswith((".out", "out")))
    return "left: " + (", ".join(left) or "nothing")


def _interrupted_then_resumed(d: Path, runner: Runner) -> str:
    code, _ = runner.run(
        d,
        [
            "select",
            "big.jsonl",
            "--budget",
            "600",
            "--k3",
            "20",
            "-o",
            "out.jsonl",
            "--checkpoint",
            "run.npz",
            "--checkpoint-every",
            "1",
            "--resume",
            "--no-progress",
        ],
    )
    runner.run(d, ["select", "big.jsonl", "--budget", "600", "--k3", "20", "-o", "straight.jsonl", "--no-progress"])
    out, straight = d / "out.jsonl", d / "straight.jsonl"
    same = out.exists() and out.read_bytes() == straight.read_bytes()
    return f"resume exit {code}; resumed selection {'==' if same else '!='} an uninterrupted one"


def _resume_other_tokenizer(d: Path, runner: Runner) -> str:
    code, msg = runner.run(
        d,
        [
            "select",
            "big.jsonl",
            "--budget-tokens",
            "20000",
            "--k3",
            "20",
            "-o",
            "out.jsonl",
            "--checkpoint",
            "run.npz",
            "--resume",
            "--tokenizer",
            "bytes",
            "--no-progress",
        ],
    )
    return f"resume with --tokenizer bytes: exit {code}: {msg[:200]}"


SELECT = ["select", "pool.jsonl", "--budget", "10", "--no-progress"]
_CLUSTER = "zipkit.select(recs, method='cluster', budget=5, model='packaged:minilm', device='cpu')"
CASES = [
    # Data lost or corrupted
    Case("lost", "select -o over the pool", [*SELECT, "-o", "pool.jsonl"], check=_pool_intact),
    Case("lost", "--report over the pool", [*SELECT, "-o", "out.jsonl", "--report", "pool.jsonl"], check=_pool_intact),
    Case("lost", "score -o over the pool", ["score", "pool.jsonl", "-o", "pool.jsonl"], check=_pool_intact),
    Case(
        "lost",
        "ratio --per-record over the pool",
        ["ratio", "pool.jsonl", "--per-record", "pool.jsonl"],
        check=_pool_intact,
    ),
    Case(
        "lost",
        "-o over the --target",
        [
            "select",
            "pool.jsonl",
            "--method",
            "zipfit",
            "--budget",
            "10",
            "--target",
            "target.jsonl",
            "-o",
            "target.jsonl",
        ],
        check=_intact("target.jsonl", _pool(20, seed=1)),
    ),
    Case(
        "lost", "-o is a symlink to the pool", [*SELECT, "-o", "link.jsonl"], setup=_with(_symlink), check=_pool_intact
    ),
    Case(
        "lost",
        "-o is another path to the pool",
        [*SELECT, "-o", "./sub/../pool.jsonl"],
        setup=_with(lambda d: (d / "sub").mkdir()),
        check=_pool_intact,
    ),
    Case(
        "lost",
        "-o equal to --report",
        [*SELECT, "-o", "out.jsonl", "--report", "out.jsonl"],
        check=_output_lines("out.jsonl"),
    ),
    Case(
        "lost",
        "--skip-bad on an array with a bad element 50 (line 52)",
        ["ratio", "pool.json", "--skip-bad", "--no-progress"],
        setup=_with(_broken_array),
    ),
    Case(
        "lost",
        "a second array after ']'",
        ["ratio", "pool.json", "--no-progress"],
        setup=_with(_after_array('[{"text": "more"}]\n')),
    ),
    Case(
        "lost",
        "an object after ']'",
        ["ratio", "pool.json", "--no-progress"],
        setup=_with(_after_array('{"text": "more"}\n')),
    ),
    Case("lost", "truncated .zst", ["ratio", "pool.jsonl.zst", "--no-progress"], setup=_with(_truncated(".zst"))),
    Case(
        "lost",
        "truncated .zst, --skip-bad",
        ["ratio", "pool.jsonl.zst", "--skip-bad", "--no-progress"],
        setup=_with(_truncated(".zst")),
    ),
    Case("lost", "truncated .gz", ["ratio", "pool.jsonl.gz", "--no-progress"], setup=_with(_truncated(".gz"))),
    Case(
        "lost",
        "truncated .gz, --skip-bad",
        ["ratio", "pool.jsonl.gz", "--skip-bad", "--no-progress"],
        setup=_with(_truncated(".gz")),
    ),
    Case("lost", ".gz with trailing garbage", ["ratio", "pool.jsonl.gz", "--no-progress"], setup=_with(_gzip_garbage)),
    Case(
        "lost",
        ".gz that is not gzip past its magic",
        ["ratio", "pool.jsonl.gz", "--no-progress"],
        setup=_with(_not_gzip),
    ),
    Case(
        "lost",
        "resume with another tokenizer",
        [
            "select",
            "big.jsonl",
            "--budget-tokens",
            "20000",
            "--k3",
            "20",
            "-o",
            "out.jsonl",
            "--checkpoint",
            "run.npz",
            "--checkpoint-every",
            "1",
            "--no-progress",
        ],
        setup=_big_pool,
        interrupt_after=4,
        check=_resume_other_tokenizer,
    ),
    Case("lost", "UTF-8 BOM in JSONL", ["ratio", "pool.jsonl", "--no-progress"], setup=_with(_bom)),
    Case(
        "lost",
        "UTF-8 BOM in JSONL, --skip-bad",
        ["ratio", "pool.jsonl", "--skip-bad", "--no-progress"],
        setup=_with(_bom),
    ),
    Case(
        "lost",
        "--budget-tokens 1",
        ["select", "pool.jsonl", "--budget-tokens", "1", "-o", "out.jsonl", "--no-progress"],
        check=_output_lines("out.jsonl"),
    ),
    Case(
        "lost",
        "zipfit --threshold nothing passes",
        [
            "select",
            "pool.jsonl",
            "--method",
            "zipfit",
            "--target",
            "target.jsonl",
            "--budget",
            "10",
            "--threshold",
            "0.99",
            "-o",
            "out.jsonl",
            "--no-progress",
        ],
        check=_output_lines("out.jsonl"),
    ),
    # Tracebacks
    Case(
        "os", "unreadable pool", ["ratio", "pool.jsonl", "--no-progress"], setup=_with(_unreadable), unprivileged=True
    ),
    Case(
        "os",
        "output in a read-only directory",
        [*SELECT, "-o", "ro/out.jsonl"],
        setup=_with(_readonly_dir),
        unprivileged=True,
    ),
    Case(
        "os",
        "output in a missing directory",
        [*SELECT, "-o", "missing/out.jsonl"],
        check=lambda d, _: f"missing/ {'created' if (d / 'missing').exists() else 'not created'}",
    ),
    Case("os", "output is a directory", [*SELECT, "-o", "sub"], setup=_with(lambda d: (d / "sub").mkdir())),
    Case(
        "os",
        "full disk",
        ["ratio", "pool.jsonl", "--per-record", "full/r.jsonl", "--no-progress"],
        setup=_with(_full_disk),
        check=_unmount,
    ),
    *(
        Case(
            "checkpoint",
            f"checkpoint: {kind}",
            [
                "select",
                "pool.jsonl",
                "--budget",
                "40",
                "--k3",
                "5",
                "-o",
                "out.jsonl",
                "--checkpoint",
                "run.npz",
                "--resume",
                "--no-progress",
            ],
            setup=_with(_checkpoint(kind)),
        )
        for kind in (
            "truncated",
            "empty",
            "missing keys",
            "wrong shapes",
            "out-of-range indices",
            "random bytes",
            "directory",
        )
    ),
    Case(
        "validate",
        "--checkpoint-every 0",
        [*SELECT, "-o", "out.jsonl", "--checkpoint", "c.npz", "--checkpoint-every", "0"],
    ),
    Case(
        "validate",
        "--checkpoint-every -1",
        [*SELECT, "-o", "out.jsonl", "--checkpoint", "c.npz", "--checkpoint-every", "-1"],
    ),
    Case("validate", "--resume without --checkpoint", [*SELECT, "-o", "out.jsonl", "--resume"]),
    Case("validate", "--compressor ''", [*SELECT, "-o", "out.jsonl", "--compressor", ""]),
    Case(
        "validate",
        "dsir --num-buckets 0",
        [
            "select",
            "pool.jsonl",
            "--method",
            "dsir",
            "--target",
            "target.jsonl",
            "--budget",
            "10",
            "--num-buckets",
            "0",
            "-o",
            "out.jsonl",
            "--no-progress",
        ],
    ),
    Case(
        "validate",
        "dsir --num-buckets -5",
        [
            "select",
            "pool.jsonl",
            "--method",
            "dsir",
            "--target",
            "target.jsonl",
            "--budget",
            "10",
            "--num-buckets",
            "-5",
            "-o",
            "out.jsonl",
            "--no-progress",
        ],
    ),
    *(
        Case("validate", f"API {call}", ["python", f"print(zipkit.{call})"])
        for call in (
            "select('pool.jsonl', budget=5.0)",
            "select('pool.jsonl', budget=True)",
            "select('pool.jsonl', budget=float('inf'))",
            "select('pool.jsonl', budget=5, workers='2')",
            "read_records('pool.jsonl', text_fields='output')",
            "read_records('pool.jsonl').write([1.7], 'out.jsonl')",
        )
    ),
    Case(
        "interrupt",
        "Ctrl-C during select --checkpoint, then --resume",
        [
            "select",
            "big.jsonl",
            "--budget",
            "600",
            "--k3",
            "20",
            "-o",
            "out.jsonl",
            "--checkpoint",
            "run.npz",
            "--checkpoint-every",
            "1000",
            "--no-progress",
        ],
        setup=_big_pool,
        interrupt_after=4,
        check=_interrupted_then_resumed,
    ),
    Case(
        "interrupt",
        "Ctrl-C during zipfit's worker processes",
        [
            "select",
            "big.jsonl",
            "--method",
            "zipfit",
            "--target",
            "target.jsonl",
            "--budget",
            "100",
            "-o",
            "out.jsonl",
            "--no-progress",
        ],
        setup=lambda d: (_base(d), _jsonl(d / "big.jsonl", _pool(30000, seed=3))),
        interrupt_after=3,
        check=_files_left,
    ),
    Case(
        "cache",
        "damaged embedding cache file",
        [
            "python",
            "import pathlib, numpy as np\nfrom zipkit.baselines import cluster\n"
            "recs = zipkit.read_records('pool.jsonl')\n"
            f"sel = {_CLUSTER}\n"
            "for p in pathlib.Path('cache').rglob('*.np*'): p.write_bytes(p.read_bytes()[:100])\n"
            f"again = {_CLUSTER}\n"
            "print('same picks', (sel.indices == again.indices).all(), 'from cache', "
            "again.manifest.get('embeddings_from_cache'))",
        ],
    ),
    Case(
        "cache",
        "embedding cache of all zeros",
        [
            "python",
            "import pathlib, numpy as np\n"
            "recs = zipkit.read_records('pool.jsonl')\n"
            f"sel = {_CLUSTER}\n"
            "for p in pathlib.Path('cache').rglob('*.npy'): np.save(p, np.zeros_like(np.load(p)))\n"
            f"again = {_CLUSTER}\n"
            "print('same picks', (sel.indices == again.indices).all(), 'from cache', "
            "again.manifest.get('embeddings_from_cache'))",
        ],
    ),
    Case("format", "deeply nested record", ["ratio", "deep.jsonl", "--no-progress"], setup=_with(_deep)),
    # Messages and formats
    Case("format", "a directory as the pool", ["ratio", ".", "--no-progress"]),
    Case("format", "a glob as the pool", ["ratio", "*.jsonl", "--no-progress"]),
    Case(
        "format",
        "'-' (standard input) as the pool",
        [
            "python",
            "import subprocess\n"
            "r = subprocess.run([sys.executable, '-m', 'zipkit.cli', 'ratio', '-', '--no-progress'], "
            "stdin=open('pool.jsonl', 'rb'), capture_output=True, text=True)\n"
            "print('exit', r.returncode, (r.stdout.splitlines() or [''])[0], r.stderr.strip()[-300:])",
        ],
    ),
    Case("format", "a FIFO as the pool", ["ratio", "fifo", "--no-progress"], setup=_with(_fifo)),
    Case(
        "format", "a JSON array named .jsonl", ["ratio", "array.jsonl", "--no-progress"], setup=_with(_array_as_jsonl)
    ),
    Case(
        "format", "a trailing comma in an array", ["ratio", "pool.json", "--no-progress"], setup=_with(_trailing_comma)
    ),
    Case("format", "-o x.parquet.gz", [*SELECT, "-o", "out.parquet.gz"], check=_files_left),
    Case(
        "format",
        "score -o x.json",
        ["score", "pool.jsonl", "-o", "out.json", "--no-progress"],
        check=lambda d, _: (
            "out.json is "
            + (
                "a JSON array"
                if (d / "out.json").exists() and (d / "out.json").read_text().startswith("[")
                else "not a JSON array"
            )
        ),
    ),
    Case(
        "format",
        "ratio --per-record x.txt",
        ["ratio", "pool.jsonl", "--per-record", "out.txt", "--no-progress"],
        check=_files_left,
    ),
    Case(
        "format",
        "lone surrogate written to parquet",
        ["select", "pool.jsonl", "--budget", "200", "-o", "out.parquet", "--no-progress"],
        setup=_with(_surrogate),
        check=_files_left,
    ),
    Case(
        "format",
        "paper variant runs out of pool",
        [
            "select",
            "pool.jsonl",
            "--budget-tokens",
            "100000000",
            "--k1",
            "50",
            "--k2",
            "20",
            "--k3",
            "10",
            "-o",
            "out.jsonl",
            "--no-progress",
        ],
        check=_output_lines("out.jsonl"),
    ),
    Case(
        "format",
        "stale temp file of a killed write",
        [*SELECT, "-o", "out.jsonl"],
        setup=_with(_stale_temp),
        check=_files_left,
    ),
]


def run_cases(src: Path, only: str | None = None) -> list[dict]:
    runner = Runner(src)
    os.environ["BAD_INPUTS_SRC"] = str(src)
    rows = []
    for case in CASES:
        if only and only not in case.name:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            case.setup(d)
            started = time.perf_counter()
            code, message = runner.run(d, case.argv, case.interrupt_after, case.unprivileged)
            note = case.check(d, runner) if case.check else ""
            rows.append(
                {
                    "group": case.group,
                    "case": case.name,
                    "command": _shown(case.argv),
                    "exit": code,
                    "message": message,
                    "files": note,
                    "seconds": round(time.perf_counter() - started, 2),
                }
            )
            print(f"{code:>4}  {case.name}: {message[:150]} {note}", file=sys.stderr)
    return rows


def _shown(argv: list[str]) -> str:
    if argv[0] == "python":
        return "python: " + argv[1].replace("\n", "; ")
    return "zipkit " + " ".join(a if a and " " not in a else repr(a) for a in argv)


def table(before: list[dict], after: list[dict]) -> str:
    old = {row["case"]: row for row in before}
    out = ["| case | command | before: exit, message | after: exit, message |", "|---|---|---|---|"]
    for row in after:
        prev = old.get(row["case"], {"exit": "", "message": "(not run)", "files": ""})

        def cell(r: dict) -> str:
            return f"**{r['exit']}** {_cell(r['message'])}" + (f" ({_cell(r['files'])})" if r["files"] else "")

        out.append(f"| {row['case']} | `{_cell(row['command'])[:160]}` | {cell(prev)} | {cell(row)} |")
    return "\n".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:300]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zipkit", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only", help="run the cases whose name contains this")
    parser.add_argument("--table", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.table:
        print(table(*(json.loads(p.read_text())["cases"] for p in args.table)))
        return
    rows = run_cases(args.zipkit.resolve(), args.only)
    if args.out:
        commit = subprocess.run(
            ["git", "-C", str(args.zipkit), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        args.out.write_text(json.dumps({"zipkit": commit, "cases": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
