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


def test_the_dsir_length_floor_table_is_its_results():
    from experiments import dsir_length_floor

    results = json.loads((RESULTS / "dsir_length_floor.json").read_text())
    assert (RESULTS / "dsir_length_floor.md").read_text() == dsir_length_floor.table(results)
    # A higher floor lets fewer records through, towards either target.
    for target in ("humaneval", "proofnet"):
        passing = [
            r["eligible"]
            for r in sorted((r for r in results["rows"] if r["target"] == target), key=lambda r: r["min_tokens"])
        ]
        assert passing == sorted(passing, reverse=True) and passing[0] == results["pool"]["records"]


def test_the_model_throughput_table_is_its_results():
    from experiments import model_throughput

    results = json.loads((RESULTS / "model_throughput_cpu.json").read_text())
    assert (RESULTS / "model_throughput_cpu.md").read_text() == model_throughput.table(results)
    # IFD runs the conditioned pass and one more: it cannot be faster than perplexity alone.
    assert results["ifd"]["records_per_s"] < results["perplexity"]["records_per_s"]


def test_the_model_startup_table_is_its_results():
    from experiments import model_startup

    results = json.loads((RESULTS / "model_startup.json").read_text())
    assert (RESULTS / "model_startup.md").read_text() == model_startup.table(results)
    assert results["load_converted_copy_s"] < results["load_gguf_directly_s"]
    assert results["score_40_records_all_cached_s"] < results["score_40_records_cold_s"]


def test_the_large_record_table_is_its_results():
    from experiments import large_record

    results = json.loads((RESULTS / "large_record.json").read_text())
    assert (RESULTS / "large_record.md").read_text() == large_record.table(results)
    # The quotient is what the two times give.
    for row in results["rows"]:
        assert abs(row["compressions_in_effect"] - row["seconds"] / row["one_compression_s"]) < 0.1


def test_the_zip_duplicates_table_is_its_results():
    from experiments import zip_duplicates

    results = json.loads((RESULTS / "zip_duplicates.json").read_text())
    assert (RESULTS / "zip_duplicates.md").read_text() == zip_duplicates.table(results)
    copies = {row["setting"]: row["copies"] for row in results["rows"]}
    assert copies["paper + dedup"] == 0 and all(row["selected"] == results["budget"] for row in results["rows"])


def test_the_engine_scale_tables_are_their_results():
    from experiments import engine_scale

    for run in ("1m", "10m"):
        results = json.loads((RESULTS / f"engine_scale_{run}.json").read_text())
        assert (RESULTS / f"engine_scale_{run}.md").read_text() == engine_scale.table(results)
        # Both engines wrote the same scores, and records/s is what records and seconds give.
        assert all(row["same_scores_as_local"] for row in results["rows"] if row["engine"] == "ray")
        assert all(row["records_per_s"] == round(row["records"] / row["wall_s"]) for row in results["rows"])


def test_the_context_agreement_table_is_its_two_runs():
    from experiments import context_agreement

    before, after = (
        json.loads((RESULTS / f"{name}.json").read_text()) for name in ("context_agreement_before", "context_agreement")
    )
    assert (RESULTS / "context_agreement.md").read_text() == context_agreement.table(before, after)
    # An exact default context is its own reference: no error and the same selection.
    for row in after["rows"]:
        if row["zip"]["context"] == "exact":
            assert row["zip"]["overlap"] == 1.0
            assert all(size["mean_error_pct"] == 0 for size in row["sizes"].values())


def test_the_out_of_core_table_is_its_results():
    from experiments import out_of_core

    results = json.loads((RESULTS / "out_of_core_5m.json").read_text())
    assert (RESULTS / "out_of_core_5m.md").read_text() == out_of_core.table(results)
    # the pass over every shard is part of each run's wall time
    for run in results["rows"]:
        assert run["timings"][out_of_core.FULL_PASS[run["method"]]] < run["wall_s"]
