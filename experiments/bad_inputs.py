"""Bad inputs, faults and interruptions against the ``zipkit`` command, before and after a fix.

    python -m experiments.bad_inputs [--zipkit SRC_DIR] [--out FILE.json]
    python -m experiments.bad_inputs --table BEFORE.json AFTER.json > TABLE.md

Every case runs ``python -m zipkit.cli ...`` (or a short Python snippet against the API, or a
shell line) in a fresh folder of generated files, with ``SRC_DIR`` first on ``PYTHONPATH`` (so an older
checkout can be measured by pointing at a ``git worktree`` of it). Recorded per case: the
exit status, the message (the error line, or the last line of a traceback) and, where the
case can lose data or the message is not the point, what became of the files or what the run
printed (``check``). ``--table`` puts two such runs
side by side as the Markdown table of the issue's closing note.

Run it as root: the full-disk case mounts an 8 KB tmpfs, and the unreadable-file cases drop
root's power to override file permissions (``setpriv``), which only root can do; the
device-node cases make their own twins of /dev/null and /dev/full inside the case's folder
(``mknod``), never touching /dev.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import signal
import stat
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
    # zipkit's arguments; a first word "python" runs the rest as a snippet, "sh" as a bash line
    # in which $ZIPKIT is the zipkit command
    argv: list[str]
    setup: Callable[[Path], None] = _base
    check: Callable[[Path, "Runner"], str] | None = None
    interrupt_after: float | None = None  # send SIGINT after this many seconds
    unprivileged: bool = False  # without root's power to read and write any file


@dataclass
class Runner:
    src: Path
    timeout: float = 300
    env: dict = field(default_factory=dict)
    stdout: str = ""  # what the last run printed, for the checks
    stderr: str = ""

    def __post_init__(self) -> None:
        self.env = {
            **os.environ,
            "PYTHONPATH": str(self.src),
            "ZIPKIT_CACHE": "",
            "ZIPKIT": f"{sys.executable} -m zipkit.cli",
        }

    def run(
        self, d: Path, argv: list[str], interrupt_after: float | None = None, unprivileged: bool = False
    ) -> tuple[int, str]:
        if argv[0] == "python":
            command = [sys.executable, "-c", "import zipkit, sys\n" + argv[1]]
        elif argv[0] == "sh":
            command = ["bash", "-c", argv[1]]
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
        self.stdout, self.stderr = out.decode(errors="replace"), err.decode(errors="replace")
        return proc.returncode, _message(self.stderr, self.stdout)


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


def _zipkit(d: Path, line: str) -> None:
    """Run ``zipkit LINE`` (the code under test) in the case's folder, as a user would before the case."""
    env = {**os.environ, "PYTHONPATH": os.environ.get("BAD_INPUTS_SRC", ""), "ZIPKIT_CACHE": str(d / "cache")}
    command = [sys.executable, "-m", "zipkit.cli", *line.split(), "--no-progress"]
    subprocess.run(command, cwd=d, check=True, capture_output=True, env=env)


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
            _zipkit(d, "select pool.jsonl --budget 40 --k3 5 -o full.jsonl --checkpoint run.npz --checkpoint-every 1")
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


# Issue 22's setups.


def _bad_line(path: Path, line: int) -> None:
    """Line ``line`` (counted from 1) of a JSONL file made malformed JSON."""
    lines = path.read_text().splitlines()
    lines[line - 1] = '{"instruction": broken'
    path.write_text("\n".join(lines) + "\n")


def _empty_text(records: list, at: int) -> list:
    return [{**r, "instruction": "", "input": "", "output": ""} if k == at else r for k, r in enumerate(records)]


def _bad_jsonl(d: Path) -> None:
    _bad_line(d / "pool.jsonl", 6)  # record 5


def _empty_in_array(d: Path) -> None:
    _array(d / "pool.json", _empty_text(_pool(200), 5))


def _empty_in_parquet(d: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(_empty_text(_pool(200), 5)), d / "pool.parquet")


def _shards(d: Path) -> None:
    """shards/part-{0,1,2}.jsonl: the 200 records of pool.jsonl, 70 + 70 + 60."""
    (d / "shards").mkdir()
    records = _pool(200)
    for k, start in enumerate((0, 70, 140)):
        _jsonl(d / "shards" / f"part-{k}.jsonl", records[start : start + 70])


def _bad_shard(d: Path) -> None:
    _shards(d)
    _bad_line(d / "shards" / "part-0.jsonl", 11)  # record 10 of the pool


def _linked_shards(kind: str) -> Callable[[Path], None]:
    """Three shards of 10 records, and a fourth that is a dangling symlink or a symlink loop."""

    def step(d: Path) -> None:
        (d / "shards").mkdir()
        records = _pool(30)
        for k in range(3):
            _jsonl(d / "shards" / f"part-{k}.jsonl", records[10 * k : 10 * k + 10])
        if kind == "dangling":  # a shard moved away, its link left behind
            (d / "shards" / "part-3.jsonl").symlink_to(d / "moved" / "part-3.jsonl")
        else:
            (d / "shards" / "part-3.jsonl").symlink_to("part-4.jsonl")
            (d / "shards" / "part-4.jsonl").symlink_to("part-3.jsonl")

    return step


def _loop(d: Path) -> None:
    (d / "loop.jsonl").symlink_to("loop.jsonl")


def _device(name: str, minor: int) -> Callable[[Path], None]:
    """A character device in the case's folder: the twin of /dev/null (minor 3) or /dev/full (7)."""
    return lambda d: os.mknod(d / name, stat.S_IFCHR | 0o666, os.makedev(1, minor))


def _empty_target(d: Path) -> None:
    (d / "empty.jsonl").write_bytes(b"")


def _report(indices: object = None, pool: str = "pool.jsonl", cut: bool = False) -> Callable[[Path], None]:
    """report.json of a real selection (budget 10) from ``pool``; its indices replaced, or the
    file cut in half."""

    def step(d: Path) -> None:
        _zipkit(d, f"select {pool} --budget 10 -o selected.jsonl --report report.json")
        path = d / "report.json"
        if cut:
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        elif indices is not None:
            path.write_text(json.dumps({**json.loads(path.read_text()), "indices": indices}))

    return step


def _other_pool(d: Path) -> None:
    _jsonl(d / "other.jsonl", _pool(200, seed=9))  # as many records as pool.jsonl, other ones


def _config(text: str) -> Callable[[Path], None]:
    """c.toml: an experiment on pool.jsonl (``[pool]`` first), with ``text`` after it."""
    return lambda d: (d / "c.toml").write_text('[pool]\npath = "pool.jsonl"\n\n' + text)


_ZIP_TABLE = '[zip]\nbudget = 10\nk1 = 200\nk2 = 50\nk3 = 5\ncompressors = ["zlib:9"]\nmeasure = ["zlib:9"]\n'


def _field(name: str, value: Callable[[int], object]) -> Callable[[Path], None]:
    """pool.jsonl with one more field in every record."""
    return lambda d: _jsonl(d / "pool.jsonl", [{**r, name: value(k)} for k, r in enumerate(_pool(200))])


def _huge_int(d: Path) -> None:
    lines = (d / "pool.jsonl").read_text().splitlines()
    lines[7] = lines[7][:-1] + ', "n": ' + "9" * 5000 + "}"
    (d / "pool.jsonl").write_text("\n".join(lines) + "\n")


def _timestamps(d: Path) -> None:
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    start = datetime.datetime(2024, 1, 1)
    rows = [{**r, "created": start + datetime.timedelta(hours=k)} for k, r in enumerate(_pool(200))]
    pq.write_table(pa.Table.from_pylist(rows), d / "pool.parquet")


def _conflicting_shards(d: Path) -> None:
    """shards/part-0.parquet with an integer ``id``, part-1.parquet with a string one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (d / "shards").mkdir()
    records = _pool(200)
    pq.write_table(
        pa.Table.from_pylist([{**r, "id": k} for k, r in enumerate(records[:100])]), d / "shards/part-0.parquet"
    )
    pq.write_table(
        pa.Table.from_pylist([{**r, "id": f"r{k}"} for k, r in enumerate(records[100:])]), d / "shards/part-1.parquet"
    )


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


# Issue 22's checks.


def _rows_of(path: Path) -> list:
    """An input's rows as its user counts them: a JSONL file's lines (None where a line is not
    JSON), a JSON array's elements, a parquet file's rows, a directory's shards one after another."""
    if path.is_dir():
        return [row for shard in sorted(path.iterdir()) for row in _rows_of(shard)]
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if path.suffix == ".json":
        return json.loads(path.read_text())
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            rows.append(None)
    return rows


def _lists_skipped(value: object) -> bool:
    """Whether a report holds a list under a key that names skipped records."""
    if isinstance(value, dict):
        return any(("skip" in str(k) and isinstance(v, list)) or _lists_skipped(v) for k, v in value.items())
    return isinstance(value, list) and any(_lists_skipped(v) for v in value)


def _report_rows(pool: str) -> Callable[[Path, Runner], str]:
    """Whether the input's rows at the report's indices are the records written to out.jsonl."""

    def check(d: Path, _: Runner) -> str:
        if not (d / "report.json").is_file() or not (d / "out.jsonl").is_file():
            return "no report.json or out.jsonl"
        report = json.loads((d / "report.json").read_text())
        rows = _rows_of(d / pool)
        chosen = [json.loads(line) for line in (d / "out.jsonl").read_text().splitlines()]
        at = [rows[i] if isinstance(i, int) and 0 <= i < len(rows) else None for i in report["indices"]]
        same = sum(a == b for a, b in zip(at, chosen))
        listed = "lists" if _lists_skipped(report) else "does not list"
        return f"{pool} rows at the report's indices: {same} of {len(chosen)} are the selected; it {listed} the skipped"

    return check


def _positions(d: Path, _: Runner) -> str:
    """Whether the scores' positions are the records' places in the input (their record numbers)."""
    if not (d / "scores.jsonl").is_file():
        return "no scores.jsonl"
    rows = _rows_of(d / "scores.jsonl")
    off = sum(1 for r in rows if r.get("position") != r.get("record"))
    return f"scores.jsonl: {off} of {len(rows)} rows have a position other than their record number"


def _character_device(name: str) -> Callable[[Path, Runner], str]:
    def check(d: Path, _: Runner) -> str:
        mode = os.lstat(d / name).st_mode
        if stat.S_ISCHR(mode):
            return f"{name} still a character device"
        return f"{name} REPLACED by a regular file ({(d / name).stat().st_size} bytes)"

    return check


def _tokens_shown(d: Path, runner: Runner) -> str:
    """Whether compare's (or inspect's) row of each report shows the manifest's tokens_selected."""
    notes = []
    for name in ("tokens.json", "count.json"):
        selected = json.loads((d / name).read_text())["manifest"].get("tokens_selected")
        row = next((line for line in runner.stdout.splitlines() if f"({name})" in line), "")
        shown = selected is not None and f"{selected:,}" in row
        row = " ".join(row.split()[:5])
        notes.append(f"{name}: tokens_selected {selected}, {'shown' if shown else 'NOT shown'} (row: {row})")
    return "; ".join(notes)


def _jaccard_printed(d: Path, runner: Runner) -> str:
    lines = runner.stdout.splitlines()
    start = next((k for k, line in enumerate(lines) if line.startswith("overlap")), len(lines))
    row = next((line.split() for line in lines[start:] if line.strip().startswith("selected.jsonl")), [])
    return f"Jaccard printed, output file vs its report: {row[1] if len(row) > 1 else '(none)'}"


def _null_scores(name: str, column: str) -> Callable[[Path, Runner], str]:
    def check(d: Path, _: Runner) -> str:
        if not (d / name).is_file():
            return f"no {name}"
        rows = _rows_of(d / name)
        nulls = sum(1 for r in rows if r and (r.get(column) is None or r.get(column) != r.get(column)))
        return f"{name}: {nulls} of {len(rows)} scores null/NaN"

    return check


def _experiment_budgets(d: Path, _: Runner) -> str:
    path = d / "res" / "results.json"
    if not path.is_file():
        return "no results.json"
    budgets = sorted({row["budget"] for row in json.loads(path.read_text())["zip"]})
    return f"results.json has ZIP rows for budget(s): {', '.join(budgets)}"


def _stderr_lines(d: Path, runner: Runner) -> str:
    return f"{len(runner.stderr.splitlines())} lines on stderr"


def _count_in_stderr(word: str) -> Callable[[Path, Runner], str]:
    def check(d: Path, runner: Runner) -> str:
        return f"{sum(word in line for line in runner.stderr.splitlines())} stderr lines name '{word}'"

    return check


def _scores_dir(d: Path, _: Runner) -> str:
    if not (d / "kept").exists():
        return "kept/ not created"
    return f"kept/ holds {sum(1 for p in (d / 'kept').rglob('*') if p.is_file())} file(s)"


# The selection from a Dataset with an empty row, against the same selection from the Dataset
# without it (ZIP is deterministic, and the records it reads are the same).
_DATASET = (
    "import json, datasets\n"
    "rows = [json.loads(line) for line in open('pool.jsonl')]\n"
    "empty = {**rows[5], 'instruction': '', 'input': '', 'output': ''}\n"
    "ds = datasets.Dataset.from_list(rows[:5] + [empty] + rows[6:])\n"
    "res = zipkit.select(zipkit.read_records(ds, on_error='skip', progress=False), budget=10, progress=False)\n"
    "clean = datasets.Dataset.from_list(rows[:5] + rows[6:])\n"
    "truth = clean.select(zipkit.select(zipkit.read_records(clean, progress=False), budget=10).indices)\n"
    "same = sum(a == b for a, b in zip(ds.select(res.indices), truth))\n"
    "print(f'ds.select(res.indices) gives the selected rows: {same} of {len(truth)}')"
)
# Two score runs at once into one --scores-dir, each against a run of its own.
_CONCURRENT = (
    "import json, os, subprocess\n"
    "def score(out, spec, *more):\n"
    "    argv = ['score', 'shards', '-o', out, '--compressor', spec, '--no-progress', *more]\n"
    "    return subprocess.Popen([sys.executable, '-m', 'zipkit.cli', *argv], stdout=subprocess.DEVNULL)\n"
    "both = [score('a.jsonl', 'zlib:9', '--scores-dir', 'kept'), score('b.jsonl', 'zstd:3', '--scores-dir', 'kept')]\n"
    "codes = [p.wait() for p in both]\n"
    "for out, spec in (('solo_a.jsonl', 'zlib:9'), ('solo_b.jsonl', 'zstd:3')):\n"
    "    score(out, spec).wait()\n"
    "ratios = lambda p: os.path.exists(p) and [json.loads(line)['ratio'] for line in open(p)]\n"
    "print('exits', codes, '; zlib:9 run == its solo run:', ratios('a.jsonl') == ratios('solo_a.jsonl'),\n"
    "      '; zstd:3 run == its solo run:', ratios('b.jsonl') == ratios('solo_b.jsonl'))"
)


SELECT = ["select", "pool.jsonl", "--budget", "10", "--no-progress"]
_DSIR = "select pool.jsonl --method dsir --min-tokens 0 --budget 10 -o out.jsonl --no-progress".split()
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
    # Issue 22: indices that drift from the user's rows, outputs that replace what they should
    # not, reports trusted blindly, tracebacks, unclear messages.
    Case(
        "indices",
        "--skip-bad: report indices against a JSONL pool's lines",
        "select pool.jsonl --skip-bad --budget 10 -o out.jsonl --report report.json --no-progress".split(),
        setup=_with(_bad_jsonl),
        check=_report_rows("pool.jsonl"),
    ),
    Case(
        "indices",
        "--skip-bad: report indices against a JSON array's elements",
        "select pool.json --skip-bad --budget 10 -o out.jsonl --report report.json --no-progress".split(),
        setup=_with(_empty_in_array),
        check=_report_rows("pool.json"),
    ),
    Case(
        "indices",
        "--skip-bad: report indices against a parquet file's rows",
        "select pool.parquet --skip-bad --budget 10 -o out.jsonl --report report.json --no-progress".split(),
        setup=_with(_empty_in_parquet),
        check=_report_rows("pool.parquet"),
    ),
    Case(
        "indices",
        "--skip-bad: report indices against a sharded pool's rows",
        "select shards --skip-bad --budget 10 -o out.jsonl --report report.json --no-progress".split(),
        setup=_with(_bad_shard),
        check=_report_rows("shards"),
    ),
    Case(
        "indices",
        "score --skip-bad: positions against a JSONL pool's lines",
        "score pool.jsonl --skip-bad -o scores.jsonl --no-progress".split(),
        setup=_with(_bad_jsonl),
        check=_positions,
    ),
    Case("indices", "API: ds.select(res.indices) on a Dataset with an empty row", ["python", _DATASET]),
    *(
        Case(
            "lost",
            f"{command}: tokens of selections made with --tokenizer bytes",
            [command, "--pool", "pool.jsonl", "tokens.json", "count.json"],
            setup=_with(
                lambda d: _zipkit(
                    d, "select pool.jsonl --budget-tokens 3000 --tokenizer bytes -o t.jsonl --report tokens.json"
                ),
                lambda d: _zipkit(d, "select pool.jsonl --budget 10 --tokenizer bytes -o c.jsonl --report count.json"),
            ),
            check=_tokens_shown,
        )
        for command in ("compare", "inspect")
    ),
    Case(
        "lost",
        "compare: a selection as report and as output, pool of identical records",
        "compare --pool pool.jsonl report.json selected.jsonl".split(),
        setup=lambda d: (
            _jsonl(d / "pool.jsonl", _pool(50) * 4),
            _zipkit(d, "select pool.jsonl --method random --budget 20 -o selected.jsonl --report report.json"),
        ),
        check=_jaccard_printed,
    ),
    Case(
        "lost",
        "--report is a /dev/full twin (character device)",
        [*SELECT, "-o", "out.jsonl", "--report", "full.json"],
        setup=_with(_device("full.json", 7)),
        check=_character_device("full.json"),
    ),
    Case(
        "lost",
        "--per-record is a /dev/null twin (character device)",
        "ratio pool.jsonl --per-record null.jsonl --no-progress".split(),
        setup=_with(_device("null.jsonl", 3)),
        check=_character_device("null.jsonl"),
    ),
    Case(
        "lost",
        "-o is a /dev/null twin (character device)",
        [*SELECT, "-o", "null.jsonl"],
        setup=_with(_device("null.jsonl", 3)),
        check=_character_device("null.jsonl"),
    ),
    Case(
        "lost",
        "two concurrent score runs, other compressors, one --scores-dir",
        ["python", _CONCURRENT],
        setup=_with(_shards),
    ),
    Case(
        "lost",
        "a dangling symlink among a directory's shards",
        ["ratio", "shards", "--no-progress"],
        setup=_with(_linked_shards("dangling")),
    ),
    Case(
        "lost",
        "a symlink loop among a directory's shards",
        ["ratio", "shards", "--no-progress"],
        setup=_with(_linked_shards("loop")),
    ),
    Case("lost", "a symlink loop as the pool", ["ratio", "loop.jsonl", "--no-progress"], setup=_with(_loop)),
    Case(
        "lost",
        "dsir select with an empty --target",
        [*_DSIR, "--target", "empty.jsonl"],
        setup=_with(_empty_target),
    ),
    Case(
        "lost",
        "dsir score with an empty --target",
        "score pool.jsonl --method dsir --target empty.jsonl -o scores.jsonl --no-progress".split(),
        setup=_with(_empty_target),
        check=_null_scores("scores.jsonl", "dsir"),
    ),
    Case(
        "report",
        "inspect a report made on another pool of the same size",
        "inspect --pool pool.jsonl report.json".split(),
        setup=_with(_other_pool, _report(pool="other.jsonl")),
    ),
    *(
        Case(
            "report",
            f"inspect a report with {what}",
            "inspect --pool pool.jsonl report.json".split(),
            setup=_with(_report(indices)),
        )
        for what, indices in (
            ("fractional indices", [1.5, 2.0, 3.0]),
            ("repeated indices", [1, 1, 2, 2]),
            ("negative indices", [-1, -2, 3]),
            ("null indices", [None, 1, 2]),
            ("string indices", ["4", "7", "9"]),
            ("scores but no indices", []),
        )
    ),
    Case(
        "report",
        "inspect a truncated report",
        "inspect --pool pool.jsonl report.json".split(),
        setup=_with(_report(cut=True)),
    ),
    *(
        Case(
            "config",
            f"experiment config: {what}",
            "experiment compressors --config c.toml --out res --no-progress".split(),
            setup=_with(_config(text)),
            check=_experiment_budgets,
        )
        for what, text in (
            ("misspelled optional key budget_token", _ZIP_TABLE + "budget_token = 2000\n"),
            ("no [zip] table", ""),
            ("misspelled required key budgt", _ZIP_TABLE.replace("budget =", "budgt =")),
            ('compressors = "zlib:9"', _ZIP_TABLE.replace('["zlib:9"]', '"zlib:9"')),
        )
    ),
    Case(
        "format",
        "an integer beyond int64 written to parquet",
        [*SELECT, "-o", "out.parquet"],
        setup=_with(_field("id", lambda k: 2**64 + k)),
        check=_files_left,
    ),
    Case("format", "a 5,000-digit integer", ["ratio", "pool.jsonl", "--no-progress"], setup=_with(_huge_int)),
    Case(
        "format",
        "a 5,000-digit integer, --skip-bad",
        ["ratio", "pool.jsonl", "--skip-bad", "--no-progress"],
        setup=_with(_huge_int),
    ),
    Case("validate", "--k1 10**20", [*SELECT, "-o", "out.jsonl", "--k1", str(10**20)]),
    Case(
        "validate",
        "dsir --num-buckets 10**13",
        [*_DSIR, "--target", "target.jsonl", "--num-buckets", str(10**13)],
    ),
    Case("format", "standard input closed: ratio - <&-", ["sh", "$ZIPKIT ratio - --no-progress <&-"]),
    *(
        Case(
            "message",
            f"--method {method}",
            ["select", "pool.jsonl", "--method", method, "--budget", "10", "-o", "out.jsonl"],
            check=_stderr_lines,
        )
        for method in ("zipfitt", "ZIP")
    ),
    *(
        Case(
            "message",
            f"zipfit --target-field prompts{skip}",
            "select pool.jsonl --method zipfit --target target.jsonl --target-field prompts --budget 10 -o out.jsonl"
            f" --no-progress{skip}".split(),
        )
        for skip in ("", " --skip-bad")
    ),
    Case(
        "message",
        "zip: a token budget beyond the pool's tokens",
        "select big.jsonl --budget-tokens 10000000 -o out.jsonl --no-progress".split(),
        setup=_with(lambda d: _jsonl(d / "big.jsonl", _pool(1000, seed=2))),
        check=_output_lines("out.jsonl"),
    ),
    Case(
        "message",
        "zip: a count budget beyond the pool's records",
        "select pool.jsonl --budget 500 -o out.jsonl --no-progress".split(),
        check=_output_lines("out.jsonl"),
    ),
    Case(
        "message",
        "compare: a schema warning (an extra text field)",
        "compare --pool pool.jsonl a.jsonl b.jsonl".split(),
        setup=_with(
            _field("remark", lambda k: f"remark number {k}"),
            lambda d: _zipkit(d, "select pool.jsonl --budget 10 -o a.jsonl"),
            lambda d: _zipkit(d, "select pool.jsonl --method random --budget 10 -o b.jsonl"),
        ),
        check=_count_in_stderr("remark"),
    ),
    Case(
        "format",
        "a parquet timestamp column written to JSON Lines",
        ["select", "pool.parquet", "--budget", "10", "-o", "out.jsonl", "--no-progress"],
        setup=_with(_timestamps),
        check=_files_left,
    ),
    Case(
        "format",
        "parquet shards whose columns conflict in type",
        ["select", "shards", "--budget", "10", "-o", "out.parquet", "--no-progress"],
        setup=_with(_conflicting_shards),
        check=_files_left,
    ),
    Case("message", "random --seed -1", [*SELECT, "--method", "random", "--seed", "-1", "-o", "out.jsonl"]),
    Case(
        "message",
        "an output name of 240 characters",
        [*SELECT, "-o", "o" * 234 + ".jsonl"],
        check=lambda d, _: f"{sum(1 for p in d.iterdir() if len(p.name) == 240)} file(s) of that name",
    ),
    Case(
        "message",
        "score --scores-dir on a one-file pool",
        "score pool.jsonl --scores-dir kept -o scores.jsonl --no-progress".split(),
        check=_scores_dir,
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
    if argv[0] in ("python", "sh"):
        return f"{argv[0]}: " + argv[1].replace("\n", "; ")
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
    # Started in the background by a shell without job control, this process ignores SIGINT,
    # and so would every command it starts (an ignored signal stays ignored across exec, and
    # Python then installs no KeyboardInterrupt handler): the Ctrl-C cases need it delivered.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rows = run_cases(args.zipkit.resolve(), args.only)
    if args.out:
        commit = subprocess.run(
            ["git", "-C", str(args.zipkit), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        args.out.write_text(json.dumps({"zipkit": commit, "cases": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
