"""Committed tables are what their committed results files give: regenerated here."""

from __future__ import annotations

import json
from pathlib import Path

from experiments import bad_inputs

RESULTS = Path(__file__).resolve().parent.parent / "experiments" / "results"


def test_the_bad_inputs_table_is_its_two_runs():
    before, after = (
        json.loads((RESULTS / f"bad_inputs_{run}.json").read_text())["cases"] for run in ("before", "after")
    )
    assert (RESULTS / "bad_inputs.md").read_text() == bad_inputs.table(before, after) + "\n"


def test_the_minhash_comparison_table_is_its_results():
    from experiments import minhash_backends

    folder = RESULTS / "minhash_backends"
    results = json.loads((folder / "results.json").read_text())
    assert (folder / "results.md").read_text() == minhash_backends.table(results)
    # the agreement is what the two runs' counts allow: both removed at most what each removed
    near = results["runs"]
    assert results["agreement"]["removed_by_both"] <= min(
        near["near-rensa"]["removed"], near["near-datasketch"]["removed"]
    )


def test_the_dedup_scale_table_is_its_results():
    from experiments import dedup_scale

    results = json.loads((RESULTS / "dedup_scale.json").read_text())
    assert (RESULTS / "dedup_scale.md").read_text() == dedup_scale.table(results)
    assert all(r["records"] == results["records"] for r in results["runs"].values())


def test_the_zip_breakdown_tables_are_its_results():
    from experiments import zip_breakdown

    results = json.loads((RESULTS / "zip_breakdown.json").read_text())
    assert (RESULTS / "zip_breakdown.md").read_text() == zip_breakdown.table(results)
    # The run's parts add up: around + waiting = the stage's wall time, per round.
    for run in results["run"]["runs"]:
        for row in run["rounds"]:
            assert abs(row["around_s"] + row.get("in_queries_s", 0) - row["wall_s"]) < 1e-3


def test_the_zipfit_package_table_is_its_results():
    from experiments import zipfit_package

    results = json.loads((RESULTS / "zipfit_package.json").read_text())
    assert (RESULTS / "zipfit_package.md").read_text() == zipfit_package.table(results)
    assert results["max_diff_vs_loop"] < 1e-9 and results["same_ranking_as_package"]


def test_the_deflate_engine_tables_are_its_results():
    from experiments import deflate_engine

    results = json.loads((RESULTS / "deflate_engine.json").read_text())
    assert (RESULTS / "deflate_engine.md").read_text() == deflate_engine.table(results)
    assert (RESULTS / "deflate_engine_runs.md").read_text() == deflate_engine.runs_table(results)
