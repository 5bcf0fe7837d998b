"""Every committed experiment report is what its committed results.json gives (item 9 of
issue 23): the report is regenerated from results.json alone and compared with the files."""

import json
import shutil
from pathlib import Path

import pytest

from zipkit.cli import main
from zipkit.experiments import include, report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "results"
REPORTED = sorted(p.parent for p in RESULTS.glob("*/results.json") if (p.parent / "findings.md").is_file())
GENERATED = ("results.md", "findings.md", "results.csv")


@pytest.mark.parametrize("folder", REPORTED, ids=[p.name for p in REPORTED])
def test_committed_report_is_regenerated_from_its_results(folder, tmp_path):
    shutil.copy(folder / "results.json", tmp_path / "results.json")
    report.write(tmp_path)
    for name in GENERATED:
        if (folder / name).exists():
            assert (tmp_path / name).read_text() == (folder / name).read_text(), f"{folder.name}/{name} is stale"
    # Every plot the folder has is one the report draws.
    drawn = {p.name for p in tmp_path.glob("*.png")}
    assert {p.name for p in folder.glob("*.png")} <= drawn


def test_pages_include_the_reports_as_generated():
    pages = (
        [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
        if (ROOT / "docs").is_dir()
        else [ROOT / "README.md"]
    )
    for page in pages:
        text = page.read_text()
        assert include.filled(text, ROOT) == text, f"{page.name}: python -m zipkit.experiments.include {page.name}"


def test_include_fills_and_checks_a_page(tmp_path, monkeypatch):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "findings.md").write_text(report.HEAD + "\n\n- zip is better than random.\n")
    page = tmp_path / "page.md"
    page.write_text("intro\n<!-- include: r/findings.md -->\nold number 4x\n<!-- end include -->\nafter\n")
    monkeypatch.chdir(tmp_path)
    assert include.main(["--check", "page.md"]) == 1
    assert "old number" in page.read_text()  # --check changes nothing
    assert include.main(["page.md"]) == 0
    assert (
        page.read_text()
        == "intro\n<!-- include: r/findings.md -->\n- zip is better than random.\n<!-- end include -->\nafter\n"
    )
    assert include.main(["--check", "page.md"]) == 0


def test_report_command_remakes_a_folder(tmp_path, capsys):
    results = {
        "experiment": "compressors",
        "title": "t",
        "config": {"zip": {"seeds": 2}},
        "measure": ["zlib:9"],
        "tokenizer": "whitespace",
        "rows": [],
        "controls": {},
        "overlap": {},
        "single_record_spearman": {"zlib:9": {"zlib:9": 1.0}},
    }
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert main(["experiment", "report", str(tmp_path)]) == 0
    assert "Spearman" in (tmp_path / "results.md").read_text()
    assert main(["experiment", "report", str(tmp_path / "missing")]) != 0
    assert "no results.json" in capsys.readouterr().err
