"""Every Python code block of the documentation site and the README runs, as written, on small
fixtures: the files and names the examples use (``pool.jsonl``, ``recs``, ``target``, ...) are
made here."""

import gzip
import json
import random
import re
from pathlib import Path

import pytest

import zipkit

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
BLOCKS = [
    pytest.param(code, id=f"{page.relative_to(ROOT)}:{k}")
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for k, code in enumerate(BLOCK.findall(page.read_text()))
]
WORDS = "data selection compression entropy law model token budget record text the of a to".split()


def _fixtures(folder: Path) -> dict:
    """The files the examples read, in ``folder``, and the names they take as given."""
    rng = random.Random(0)
    texts = [" ".join(rng.choices(WORDS, k=rng.randint(4, 40))) + f" #{k}" for k in range(1500)]
    (folder / "pool.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
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
    return {
        "zipkit": zipkit,
        "recs": zipkit.read_records(str(folder / "pool.jsonl"), progress=False),
        "target": prompts,
        "completion_1": "    return sorted(numbers) == numbers and False\n",
        "completion_2": "    return False\n",
    }


def test_the_site_has_python_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("code", BLOCKS)
def test_a_python_block_of_the_docs_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    names = _fixtures(tmp_path)
    exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__", **names})


def test_the_readme_is_a_front_door():
    """At most about 200 lines: the rest lives in the documentation site."""
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


SHELL = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
FRONT_DOOR = [ROOT / "README.md", ROOT / "docs" / "getting-started.md"]
COMMANDS = [
    pytest.param(block, id=f"{page.relative_to(ROOT)}:{k}")
    for page in FRONT_DOOR
    for k, block in enumerate(SHELL.findall(page.read_text()))
    if any(line.startswith("zipkit ") for line in block.splitlines())
]


def test_the_front_door_has_commands():
    assert len(COMMANDS) >= 2


@pytest.mark.parametrize("block", COMMANDS)
def test_the_zipkit_commands_of_the_front_door_run(block, tmp_path, monkeypatch):
    """The README's and Getting started's ``zipkit`` command lines, in order, on the fixtures
    (the guides' shell blocks name files of the reader's own)."""
    import shlex
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)
    _fixtures(tmp_path)
    for line in block.splitlines():
        if not line.startswith("zipkit "):
            continue
        command = [sys.executable, "-m", "zipkit.cli", *shlex.split(line.split("  #")[0])[1:]]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{line}\n{done.stderr[-2000:]}"
