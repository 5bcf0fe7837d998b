"""Every Python code block of the documentation site runs, as written, on its own."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
BLOCKS = [
    pytest.param(code, id=f"{page.relative_to(DOCS)}:{k}")
    for page in sorted(DOCS.rglob("*.md"))
    for k, code in enumerate(BLOCK.findall(page.read_text()))
]


def test_the_site_has_python_examples():
    assert BLOCKS


@pytest.mark.parametrize("code", BLOCKS)
def test_a_python_block_of_the_docs_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # whatever it writes lands here
    exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})
