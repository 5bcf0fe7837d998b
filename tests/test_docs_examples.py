"""Every Python block and every ``zipkit`` command line of the documentation site and the
README runs, as written, on small fixtures: the files and names the examples use
(``pool.jsonl``, ``recs``, ``target``, ...) are made here. The command lines that cannot run
here (a GPU, a Ray cluster, hours of data) are listed in NOT_RUN with the reason."""

import gzip
import json
import random
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
# Benchmarks read from ../shared/data (MBPP, MT-bench, ProofNet, miniF2F): those lines need it.
NEEDS_DATA = re.compile(r"\b(mbpp|mt_bench|proofnet|minif2f)\b")
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
MODULE_BLOCK = re.compile(r"^```python\n# (\w+)\.py\n(.*?)^```", re.S | re.M)
TOML_FILE = re.compile(r"^```toml\n# ([\w.-]+\.toml)\n(.*?)^```", re.S | re.M)


def _save_files(page: Path, folder: Path) -> None:
    """The files the page has the reader save: a block that starts ``# NAME.py`` or
    ``# NAME.toml`` is that file, which later blocks import or name."""
    text = page.read_text()
    for name, code in MODULE_BLOCK.findall(text):
        (folder / f"{name}.py").write_text(code)
    for name, body in TOML_FILE.findall(text):
        (folder / name).write_text(body)


PYTHON_PAGES = [
    pytest.param(page, id=str(page.relative_to(ROOT)))
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    if BLOCK.search(page.read_text())
]
WORDS = "data selection compression entropy law model token budget record text the of a to".split()


def _fixtures(folder: Path) -> None:
    """The files the examples read, in ``folder``. No name is given to a page's code: a page
    defines what it uses, as a reader pasting it would need."""
    rng = random.Random(0)
    texts = [" ".join(rng.choices(WORDS, k=rng.randint(4, 40))) + f" #{k}" for k in range(1500)]
    sources = ["alpaca", "code", "chat"]
    rows = [{"text": t, "source": sources[k % 3]} for k, t in enumerate(texts)]
    (folder / "pool.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (folder / "pool.json").write_text(json.dumps(rows))
    (folder / "big.jsonl").write_text("".join(json.dumps({"text": t + " again"}) + "\n" for t in texts * 2))
    (folder / "broken.jsonl").write_text('{"text": "fine"}\n{"text": "broken\n{"text": "fine again"}\n')
    (folder / "target.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts[:50]))
    for version in (1, 2, 3):  # versions of a dataset, the third with repeats of the first
        kept = texts[: 400 * version] + (texts[:300] if version == 3 else [])
        (folder / f"v{version}.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in kept))
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"question": [t[: len(t) // 2] for t in texts], "answer": [t[len(t) // 2 :] for t in texts]}),
        folder / "pool.parquet",
    )
    (folder / "pool").mkdir()
    (folder / "pool" / "part.jsonl").write_text(
        "".join(json.dumps({"id": str(k), "text": t}) + "\n" for k, t in enumerate(texts[:300]))
    )
    prompts = [f"def f{k}(x):\n    return x + {k}\n" for k in range(8)]
    humaneval = [json.dumps({"task_id": f"HumanEval/{k}", "prompt": p}) + "\n" for k, p in enumerate(prompts)]
    with gzip.open(folder / "HumanEval.jsonl.gz", "wt") as out:
        out.writelines(humaneval)
    (folder / "humaneval.jsonl").write_text("".join(humaneval))
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_list([{"text": t} for t in texts[:400]]).save_to_disk(str(folder / "my_pool"))


def test_the_site_has_python_examples():
    assert len(PYTHON_PAGES) >= 10


@pytest.mark.parametrize("page", PYTHON_PAGES)
def test_the_python_blocks_of_a_page_run(page, tmp_path, monkeypatch):
    """A page's blocks run in order in one namespace, as a reader would paste them."""
    monkeypatch.chdir(tmp_path)
    _fixtures(tmp_path)
    _save_files(page, tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    names = {"__name__": "__docs__"}
    for k, code in enumerate(BLOCK.findall(page.read_text())):
        if NEEDS_DATA.search(code) and not SHARED_DATA.is_dir():
            pytest.skip(f"block {k} reads a benchmark from ../shared/data, which is absent")
        exec(compile(code, f"<{page.name}, block {k}>", "exec"), names)


def test_the_readme_is_a_front_door():
    """At most about 200 lines: the rest lives in the documentation site."""
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


SHELL = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)

# Command lines of the pages that do not run here, each with the reason; a key is a page and
# the start of a line. test_every_line_left_out_exists keeps this list from going stale.
NOT_RUN = {
    ("docs/guides/baselines.md", "zipkit select pool.json --method cluster"): "a model pass: tests/test_models*.py",
    ("docs/guides/baselines.md", "zipkit select pool.json --method perplexity"): "a model pass: tests/test_models*.py",
    ("docs/guides/baselines.md", "zipkit select pool.json --method ifd"): "a GPU (--device cuda)",
    (
        "docs/guides/baselines.md",
        "zipkit score pool.json --method ifd --model ./my-local-gpt2",
    ): "the reader's own model",
    ("docs/guides/ray.md", "zipkit "): "a Ray cluster and its shared folder: tests/test_engine_ray*.py",
    (
        "docs/results/experiments.md",
        "zipkit experiment",
    ): "hours on ../shared/data; every preset runs at smoke scale in tests/test_experiment*.py",
}


def _lines(block: str) -> list[str]:
    """The block's command lines, continuation lines joined, comments after two spaces cut."""
    joined = re.sub(r"\\\n\s*", "", block)
    return [line.split("  #")[0].strip() for line in joined.splitlines() if line.strip()]


def _commands(page: Path) -> list[str]:
    """The page's ``zipkit`` lines, and its ``python -c`` lines (which read what they wrote)."""
    return [
        line
        for block in SHELL.findall(page.read_text())
        for line in _lines(block)
        if line.startswith(("zipkit ", "python -c "))
    ]


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FAQ = ROOT / "docs" / "faq.md"  # its commands fail, on purpose: test_the_troubleshooting_page_meets_each_error
COMMAND_PAGES = [
    pytest.param(page, id=str(page.relative_to(ROOT))) for page in PAGES if _commands(page) and page != FAQ
]


def _left_out(page: Path, line: str) -> str | None:
    name = str(page.relative_to(ROOT))
    for (where, start), why in NOT_RUN.items():
        if where == name and line.startswith(start):
            return why
    if NEEDS_DATA.search(line) and not SHARED_DATA.is_dir():
        return "../shared/data"
    return None


def test_the_pages_have_commands():
    assert len(COMMAND_PAGES) >= 10


def test_every_line_left_out_exists():
    for (where, start), _ in NOT_RUN.items():
        assert any(line.startswith(start) for line in _commands(ROOT / where)), f"{where}: no line starts {start!r}"


def _install_plugin(folder: Path) -> dict:
    """What ``pip install -e .`` of the package the page had saved in ``folder`` leaves: its
    module on the path, and a dist-info with the entry points of its pyproject.toml."""
    import os

    try:
        import tomllib
    except ImportError:  # Python 3.10: the experiments extra's tomli
        import tomli as tomllib

    project = tomllib.loads((folder / "pyproject.toml").read_text())
    info = folder / "docs_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: docs-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in entries.items()) + "\n"
            for group, entries in project["project"]["entry-points"].items()
        )
    )
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.parametrize("page", COMMAND_PAGES)
def test_the_zipkit_command_lines_of_a_page_run(page, tmp_path, monkeypatch):
    """Every ``zipkit`` line of the page's shell blocks, in order, as written, on the fixtures
    (a ``# NAME.toml`` block is written to NAME.toml first); the lines of NOT_RUN are left
    out. A page that declares a plugin runs its lines in a fresh process with the plugin
    installed; the others run in this one, through the command's own entry function."""
    import subprocess
    import sys

    from zipkit.cli import main

    monkeypatch.chdir(tmp_path)
    _fixtures(tmp_path)
    _save_files(page, tmp_path)
    plugin = "[project.entry-points." in page.read_text()
    env = _install_plugin(tmp_path) if plugin else None
    for line in _commands(page):
        if _left_out(page, line):
            continue
        argv = shlex.split(line)[1:]
        if line.startswith("python ") or plugin:
            program = [] if line.startswith("python ") else ["-m", "zipkit.cli"]
            done = subprocess.run([sys.executable, *program, *argv], env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"{line}\n{done.stderr[-2000:]}"
        else:
            assert main(argv) == 0, line


ERROR_CASE = re.compile(r"^```bash\n(.*?)^```\n\n```text\n(.*?)^```", re.S | re.M)


def test_the_troubleshooting_page_meets_each_error(tmp_path, monkeypatch, capsys):
    """Each command of the troubleshooting page fails with exit status 2, prints the message
    the page quotes, and writes no output."""
    from zipkit.cli import main

    cases = ERROR_CASE.findall(FAQ.read_text())
    assert len(cases) >= 8
    monkeypatch.chdir(tmp_path)
    _fixtures(tmp_path)
    for block, message in cases:
        (line,) = _lines(block)
        capsys.readouterr()
        try:
            status = main(shlex.split(line)[1:] + ["--no-progress"])
        except SystemExit as exit:  # argparse's usage errors
            status = exit.code
        printed = capsys.readouterr().err
        assert status == 2, line
        assert printed.strip() == message.strip(), line
        assert not (tmp_path / "out.jsonl").exists(), line


def test_the_benchmark_files_the_troubleshooting_page_lists_are_the_ones_read(tmp_path, monkeypatch):
    """A data folder holding exactly the files the page's table lists (small, in each
    benchmark's format) gives every benchmark its texts."""
    from zipkit import benchmarks

    rows = re.findall(r"^  \| `(\w+)` \| (.*) \|$", FAQ.read_text(), re.M)
    assert {name for name, _ in rows} == set(benchmarks.BENCHMARKS) - {"humaneval"}
    line = {
        "mbpp": {"text": "Write a function.", "code": "def f(): pass"},
        "question": {"turns": ["What is 2 + 2?"]},
        "gpt-4": {"choices": [{"turns": ["4"]}]},
        "proofnet": {"nl_statement": "For all n, n = n.", "formal_statement": "theorem t (n : ℕ) : n = n"},
        "lean4": {"informal_prefix": "/-- n = n -/", "formal_statement": "theorem t (n : ℕ) : n = n := by"},
    }
    for _, files in rows:
        for relative in re.findall(r"`([\w./-]+\.(?:jsonl|lean))`", files):
            path = tmp_path / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if relative.endswith(".lean"):
                path.write_text("theorem t (n : ℕ) : n = n :=\nbegin\n  refl\nend\n")
            else:
                kind = next(k for k in line if k in relative) if "lean4" not in relative else "lean4"
                path.write_text(json.dumps(line[kind]) + "\n")
    monkeypatch.setenv("ZIPKIT_DATA", str(tmp_path))
    for name, _ in rows:
        assert benchmarks.texts(name), name
