"""``zipkit experiment compressors``: which compressor to select with, at equal tokens.

ZIP (paper variant) under each compressor of ``[zip] compressors`` at each token budget of
``budgets`` (fractions of the pool's tokens), every set filled to within one record of the
budget, so that no compressor wins by picking records of another length. Each set is
measured under every compressor of ``measure`` (the cross matrix: does a set chosen with A
also look non-redundant under B?), each figure with its 95% interval (half-samples of the
set: ``stats``), next to three controls at the same tokens (``seeds`` draws each): random,
random matched to the set's lengths, and the null (records the set left out). The matrix is
drawn per evaluator (each column coloured on its own scale); the sets' overlap is Jaccard's.

``[exact]``: each of its compressors at its default context and at an exact one (sizes equal
to one-shot compression of set + candidate), on a sample of ``records`` records of the same
pool, so that what an inexact context costs is its own row. An exact context of zstd, lz4,
brotli or isal recompresses the whole selected set per query (zlib's copies its stream and
is exact by default), which is why it runs on a sample.

On the whole pool: the Spearman correlation of single-record ratios between compressors.
With a ``[zipfit]`` table: ZIP-FIT's time per pair under each compressor and how far its
ranking agrees with the reference compressor's (Spearman, top-10% overlap).

``report`` makes every table, plot and finding from ``results.json`` alone.
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
from . import pools, stats
from .runner import Runner, set_facts
from .schema import validate


def run(runner: Runner, config: dict) -> None:
    """Run the compressor ablation of ``config`` into ``out``; the results."""
    config = validate(config, "the config", "compressors")
    spec = config["zip"]
    ks = {k: spec[k] for k in ("k1", "k2", "k3")}
    rows, controls = _part(runner, spec, spec["compressors"], ks, "main", exact=None)
    results = {
        "title": "ZIP under each compressor at equal tokens",
        "measure": spec["measure"],
        "tokenizer": spec["tokenizer"],
        "pool_tokens": int(token_counts(runner.pool, spec["tokenizer"]).sum()),
        "rows": rows,
        "controls": controls,
        "overlap": _overlaps(rows),
        "single_record_spearman": _single_record_spearman(runner, spec["compressors"]),
    }
    if "exact" in config:  # each compressor at its default and at an exact context, on a sample
        exact = config["exact"]
        sample = _sample(runner, exact["records"], config["pool"].get("seed", 0))
        ks = {k: exact[k] for k in ("k1", "k2", "k3")}
        both = []
        for flag in (None, True):
            made, _ = _part(sample, spec, exact["compressors"], ks, "exact sample", exact=flag, controls=False)
            both += made
        results["exact"] = {"records": len(sample.pool), "rows": both}
        runner.made, runner.reused = runner.made + sample.made, runner.reused + sample.reused
    if "zipfit" in config:  # an optional table: without it, no ZIP-FIT part
        results["zipfit"] = _zipfit(runner, config["zipfit"])
    runner.write("compressors", config, results)


def _part(
    runner: Runner, spec: dict, compressors: list[str], ks: dict, part: str, exact: bool | None, controls: bool = True
) -> tuple[list[dict], dict]:
    """ZIP under each compressor at each budget, each set measured with its interval; with
    ``controls``, the three controls at each budget (random once per budget, the other two
    per set)."""
    measure, seeds, resamples = spec["measure"], spec["seeds"], spec["resamples"]
    tokens = token_counts(runner.pool, spec["tokenizer"])
    payloads = runner.pool.payloads("text")
    figures = {m: stats.ratio_of(payloads, m) for m in measure}
    rows, random_rows = [], {}
    for fraction in spec["budgets"]:
        budget = int(fraction * tokens.sum())
        if controls:
            runner.say(f"random control at {fraction:g} of the tokens")
            sets = [stats.random_control(tokens, budget, seed) for seed in range(seeds)]
            random_rows[f"{fraction:g}"] = stats.measured(figures, sets, resamples, tokens, budget)
        for compressor in compressors:
            context = "exact" if exact else "default"
            label = f"zip {compressor} {context} {fraction:g}"
            params = dict(ks, compressor=compressor, budget_tokens=budget, tokenizer=spec["tokenizer"])
            if exact is not None:
                params["exact"] = exact
            c = runner.select(label, "zip", **params)
            row = _row(runner, c, part, context, compressor, fraction, budget, tokens, figures, resamples)
            if controls:
                runner.say(f"controls of {label}")
                # Under the set's own compressor and the first evaluator (the figures the findings use).
                mine = {m: figures[m] for m in dict.fromkeys([_own(compressor, measure), measure[0]])}
                row["controls"] = {
                    name: stats.measured(
                        mine,
                        [stats.control(name, tokens, c.indices, budget, seed) for seed in range(seeds)],
                        resamples,
                        tokens,
                        budget,
                    )
                    for name in ("length-matched", "null")
                }
            rows.append(row)
    return rows, random_rows


def _row(runner, c, part, context, compressor, fraction, budget, tokens, figures, resamples) -> dict:
    timings = c.manifest["timings"]
    rounds = max(c.manifest["rounds"], 1)
    facts = set_facts(runner.pool, c, tokens, budget)
    return {
        "part": part,
        "compressor": compressor,
        "context": context,
        "exactness": c.manifest["context_exactness"],
        "fraction": fraction,
        "budget_tokens": budget,
        **facts,
        "seconds": round(sum(v for k, v in timings.items() if k in ("prepare", "initial_scores", "loop")), 3),
        "seconds_per_round": round(timings.get("loop", 0) / rounds, 4),
        "rounds": c.manifest["rounds"],
        "top_source": max(facts["mix"], key=facts["mix"].get) if facts["mix"] else "",
        "ratio": stats.measured(figures, [c.indices], resamples),
    }


def _overlaps(rows: list[dict]) -> dict:
    """Per budget: Jaccard overlap of every pair of the main part's sets."""
    out = {}
    for fraction in dict.fromkeys(r["fraction"] for r in rows):
        mine = [r for r in rows if r["fraction"] == fraction]
        sets = [set(r["indices"]) for r in mine]
        out[f"{fraction:g}"] = {
            "labels": [r["compressor"] for r in mine],
            "jaccard": [[round(len(a & b) / max(len(a | b), 1), 4) for b in sets] for a in sets],
        }
    return out


def _sample(runner: Runner, records: int, seed: int) -> Runner:
    pool = runner.pool
    if records < len(pool):
        pool = pool.take(np.sort(np.random.default_rng(seed).choice(len(pool), records, replace=False)))
    return Runner(runner.out, pool, progress=runner.progress)


def _single_record_spearman(runner: Runner, specs: list[str]) -> dict:
    scores = {}
    for spec in specs:
        runner.say(f"single-record ratios: {spec}")
        scores[spec] = score(runner.pool, method="ratio", compressor=spec).values
    return {a: {b: round(ratio.spearman(scores[a], scores[b]), 4) for b in specs} for a in specs}


def _zipfit(runner: Runner, spec: dict) -> list[dict]:
    """Time per pair and agreement with the reference compressor's alignment ranking."""
    target = pools.target_texts(spec["target"], spec["target_fields"])
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


# --- the report: tables, plots and findings from results.json alone ---------------------------


def report(results: dict, out: Path) -> tuple[dict[str, list[dict]], list[str]]:
    """The tables, plots and findings of a results folder, from its results.json."""
    measure = results["measure"]
    rows, controls = results["rows"], results["controls"]
    tables: dict[str, list[dict]] = {}
    findings = [
        "The primary comparison is each compressor's set against length-matched random under its own "
        "compressor; the others describe, and are not corrected for their number."
    ]
    for key, fraction in _budgets(rows):
        mine = [r for r in rows if r["fraction"] == fraction]
        budget = mine[0]["budget_tokens"]
        at = f"{fraction:.0%} of the pool's tokens ({budget:,} {results['tokenizer']} tokens)"
        table = [_set_row(r, measure) for r in mine]
        if key in controls:
            table.append(_control_row(f"random ({_seeds(results)} draws; 95% of them)", controls[key], measure))
        tables[f"ZIP under each compressor at {at}"] = table
        tables[f"Rank of each set under each evaluator at {at} (1 = lowest ratio)"] = _ranks(mine, measure)
        tables[f"Each set against its controls at {at}, under its own compressor"] = _against(
            mine, controls.get(key), measure
        )
        findings += _findings(mine, controls.get(key), measure, at)
        _plots(out, mine, results["overlap"][key], measure, key, at)
    if "exact" in results:
        exact_rows = results["exact"]["rows"]
        tables[f"Default against exact contexts ({results['exact']['records']:,}-record sample of the pool)"] = [
            _set_row(r, measure) for r in exact_rows
        ]
        findings += _exact_findings(exact_rows, measure, results["exact"]["records"])
    singles = results["single_record_spearman"]
    tables["Spearman correlation of single-record ratios"] = [{"": a, **singles[a]} for a in singles]
    if results.get("zipfit"):
        tables["ZIP-FIT under each compressor"] = results["zipfit"]
    return tables, findings


def _budgets(rows: list[dict]) -> list[tuple[str, float]]:
    return [(f"{f:g}", f) for f in dict.fromkeys(r["fraction"] for r in rows if r["part"] == "main")]


def _seeds(results: dict) -> int:
    return results["config"]["zip"].get("seeds", 5)


def _own(compressor: str, measure: list[str]) -> str:
    """The evaluator a set is judged by: its own compressor where it is one, else the first."""
    return compressor if compressor in measure else measure[0]


def _set_row(r: dict, measure: list[str]) -> dict:
    row = {
        "compressor": r["compressor"],
        "context": f"{r['context']} ({r['exactness']})",
        "records": r["records"],
        "tokens": r["tokens"],
        "fill %": round(100 * r["fill"], 2),
        "s": r["seconds"],
        "s/round": r["seconds_per_round"],
        "mean tok": round(r["tokens_mean"], 1),
        "median tok": r["tokens_median"],
    }
    row.update({f"ratio {m} (95% CI)": stats.shown(r["ratio"][m]) for m in measure})
    row.update({"dup": r["duplicate_texts"], "near-dup": r["near_duplicates"], "top source": r["top_source"]})
    return row


def _control_row(name: str, figures: dict, measure: list[str]) -> dict:
    row = {"compressor": name, "context": "control", "records": round(figures["records"], 1)}
    row.update({k: "" for k in ("tokens", "fill %", "s", "s/round", "mean tok", "median tok")})
    if "fill" in figures:
        row["fill %"] = round(100 * figures["fill"], 2)
    row.update({f"ratio {m} (95% CI)": stats.shown(figures[m]) for m in measure})
    row.update({"dup": "", "near-dup": "", "top source": ""})
    return row


def _ranks(rows: list[dict], measure: list[str]) -> list[dict]:
    values = np.array([[r["ratio"][m]["value"] for m in measure] for r in rows])
    ranks = values.argsort(axis=0, kind="stable").argsort(axis=0, kind="stable") + 1
    return [
        {"selected with": r["compressor"], **{m: int(ranks[i, j]) for j, m in enumerate(measure)}}
        for i, r in enumerate(rows)
    ]


def _against(rows: list[dict], random: dict | None, measure: list[str]) -> list[dict]:
    table = []
    for r in rows:
        m = _own(r["compressor"], measure)
        row = {"set": r["compressor"], "measured under": m, "ratio": round(r["ratio"][m]["value"], 4)}
        others = {"random": random, **r.get("controls", {})}
        for name, figures in others.items():
            if figures is None or m not in figures:
                continue
            value, ci = stats.diff(r["ratio"][m], figures[m])
            row[f"minus {name} (95% CI)"] = f"{value:+.4f} ({ci[0]:+.4f} to {ci[1]:+.4f})"
            row[f"vs {name}"] = stats.verdict(ci, lower_is_better=True)
            row[f"{name} fill %"] = round(100 * figures["fill"], 2) if "fill" in figures else ""
        table.append(row)
    return table


def _findings(rows: list[dict], random: dict | None, measure: list[str], at: str) -> list[str]:
    out = []
    for m in measure:
        ranked = sorted(rows, key=lambda r: r["ratio"][m]["value"])
        if len(ranked) < 2:
            continue
        best, second = ranked[0], ranked[1]
        value, ci = stats.diff(best["ratio"][m], second["ratio"][m])
        own = " (its own compressor)" if best["compressor"] == m else ""
        out.append(
            f"At {at}, under {m} the lowest ratio is the set selected with {best['compressor']}{own}, "
            f"{stats.shown(best['ratio'][m])}; "
            + stats.finding(f"ratio under {m}", best["compressor"], second["compressor"], value, ci, True)
        )
    for r in rows:
        m = _own(r["compressor"], measure)
        controls = {
            "random": random,
            **{f"{k} random" if k != "null" else "the null": v for k, v in r.get("controls", {}).items()},
        }
        others = [
            (name, *stats.diff(r["ratio"][m], figures[m]))
            for name, figures in controls.items()
            if figures and m in figures
        ]
        if others:
            out.append(
                f"At {at}: "
                + stats.against(f"ratio under {m}", f"ZIP with {r['compressor']}", r["ratio"][m], others, True)
            )
    return out


def _exact_findings(rows: list[dict], measure: list[str], records: int) -> list[str]:
    out = []
    default = {(r["compressor"], r["fraction"]): r for r in rows if r["context"] == "default"}
    for r in rows:
        if r["context"] != "exact" or (r["compressor"], r["fraction"]) not in default:
            continue
        d = default[(r["compressor"], r["fraction"])]
        m = _own(r["compressor"], measure)
        value, ci = stats.diff(d["ratio"][m], r["ratio"][m])
        out.append(
            f"On a {records:,}-record sample at {r['fraction']:.0%} of its tokens: "
            + stats.finding(
                f"ratio under {m}",
                f"{r['compressor']} at its default context ({d['exactness']})",
                "at an exact context",
                value,
                ci,
                True,
            )
        )
    return out


def _plots(out: Path, rows: list[dict], overlap: dict, measure: list[str], key: str, at: str) -> None:
    names = [r["compressor"] for r in rows]
    plots.heatmap(
        [[r["ratio"][m]["value"] for m in measure] for r in rows],
        names,
        measure,
        f"Ratio of each ZIP set at {at} under each compressor (colour: within each evaluator)",
        "measured under (evaluator)",
        "selected with",
        out / f"ratio_cross_{key}.png",
        by_column=True,
    )
    plots.heatmap(
        overlap["jaccard"],
        overlap["labels"],
        overlap["labels"],
        f"Overlap of the ZIP sets at {at}, Jaccard",
        "selected with",
        "selected with",
        out / f"overlap_{key}.png",
    )
    plots.scatter(
        [r["seconds"] for r in rows],
        [r["ratio"][measure[0]]["value"] for r in rows],
        names,
        "selection time (s, log scale)",
        f"ratio of the selected set under {measure[0]}",
        f"What each compressor buys at {at}: time against the set's ratio",
        out / f"time_vs_ratio_{key}.png",
    )
