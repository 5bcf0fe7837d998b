"""``zipkit experiment report DIR``: an experiment's tables, plots and findings, made from its
``results.json`` alone.

Every experiment module has ``report(results, out) -> (tables, findings)``: it draws its
plots into ``out`` and returns its tables (title -> rows) and its findings (sentences, each
computed from the results with its interval). This module writes them: ``results.md`` (the
findings, then the tables), ``findings.md`` (the findings alone, for the README and the
docs to include) and ``results.csv`` (the first table). An experiment's run ends by calling
it, and so does a test on every committed results folder: a report that differs from what
its results give fails.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
from pathlib import Path

from ..io import write_text

HEAD = "<!-- generated from results.json by `zipkit experiment report FOLDER`; do not edit -->"


def write(folder: str | Path) -> list[Path]:
    """Regenerate the report of the experiment whose ``results.json`` is in ``folder``; the
    paths written."""
    folder = Path(folder)
    path = folder / "results.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder}: no results.json; run the experiment first (zipkit experiment NAME --out {folder})"
        )
    results = json.loads(path.read_text())
    name = results.get("experiment")
    try:
        module = importlib.import_module(f"zipkit.experiments.{str(name).replace('-', '_')}")
        report = module.report
    except (ImportError, AttributeError):
        raise ValueError(f"{path}: 'experiment' is {name!r}, not an experiment zipkit can report") from None
    tables, findings = report(results, folder)
    head = HEAD
    written = []
    text = [head, f"# {results.get('title', name)}"]
    if findings:
        text.append("## Findings\n\n" + bullets(findings))
    text += [f"## {title}\n\n{markdown(rows)}" for title, rows in tables.items() if rows]
    written.append(_put(folder / "results.md", "\n\n".join(text) + "\n"))
    written.append(_put(folder / "findings.md", head + "\n\n" + (bullets(findings) if findings else "(none)") + "\n"))
    first = next((rows for rows in tables.values() if rows), None)
    if first:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(first[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(first)
        written.append(_put(folder / "results.csv", out.getvalue()))
    return written


def bullets(lines: list[str]) -> str:
    """Lines as a Markdown list."""
    return "\n".join(f"- {line}" for line in lines)


def markdown(rows: list[dict]) -> str:
    """A Markdown table of rows (dicts with the same keys); floats to 4 significant figures,
    intervals ([lo, hi]) as "lo to hi"."""
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(row.get(k, "")) for k in head) + " |" for row in rows]
    return "\n".join(lines)


def cell(value) -> str:
    """A value as a table cell: floats to 4 significant figures, a pair as an interval."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return f"{value[0]:.4g} to {value[1]:.4g}"
    return str(value)


def _put(path: Path, text: str) -> Path:
    write_text(path, text)
    return path
