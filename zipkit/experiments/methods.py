"""``zipkit experiment methods``: ZIP against the baselines at equal tokens (the entropy-law
paper's Table 1 protocol), with controls and intervals.

At each token budget of ``budgets`` (fractions of the pool's tokens under ``tokenizer``, a
real one: the packaged SmolLM2's by default) every method fills the same budget to within one
record: ZIP, random, length, DSIR, cluster, perplexity, IFD (Superfiltering and Cherry) and
ZIP-FIT towards ``target``. The model scores (perplexity, IFD, the embeddings) are cached on
disk by the pool's content, so a second budget costs no second pass. Per method: cost
(seconds, and the device), records, tokens and fill, lengths, the selected set's ratio under
each ``measure`` compressor, diversity (mean pairwise cosine distance of MiniLM embeddings;
distinct word bigrams), each with its 95% interval (half-samples: ``stats``), duplicates and
the source mix; and its difference from three controls at the same tokens, ``seeds`` draws
each: random, random matched to its lengths, and the null (records it left out).

``report`` makes every table, plot and finding from ``results.json`` alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import methods
from ..budget import token_counts
from ..results import plots
from ..summary import distinct_bigrams
from . import pools, stats
from .runner import Runner, set_facts
from .schema import BASELINES, validate  # BASELINES: the default rows, label -> (method, parameters)

DIVERSITY = ("cosine diversity", "distinct 2-grams")  # higher is more diverse


def run(runner: Runner, config: dict) -> None:
    """Run the methods comparison of ``config`` into ``out``; the results."""
    config = validate(config, "the config", "methods")
    spec = config["methods"]
    tokenizer, measure, device = spec["tokenizer"], spec["measure"], spec["device"]
    tokens = token_counts(runner.pool, tokenizer)
    vectors = _embeddings(runner, device)
    figures = _figures(runner, measure, vectors)
    zip_params = {k: spec[k] for k in ("k1", "k2", "k3") if spec[k] is not None}  # None: ZIP's own
    rows, controls, target = [], {}, None
    for fraction in spec["budgets"]:
        budget = int(fraction * tokens.sum())
        common = {"budget_tokens": budget, "tokenizer": tokenizer}
        chosen = [runner.select(f"zip {fraction:g}", "zip", **zip_params, **common)]
        for label in spec["baselines"]:
            method, params = BASELINES.get(label, (label, {}))
            params = {**params, **spec["params"].get(label, {})}
            takes = methods.get(method).parameters()  # an unknown method is named with the known ones
            if "target" in takes:
                if target is None:
                    target = pools.target_texts(spec["target"], spec["target_fields"])
                params["target"] = target
            if "device" in takes:
                params["device"] = device
            chosen.append(runner.select(f"{label} {fraction:g}", method, **params, **common))
        runner.say(f"random control at {fraction:g} of the tokens")
        randoms = [stats.random_control(tokens, budget, seed) for seed in range(spec["seeds"])]
        controls[f"{fraction:g}"] = stats.measured(figures, randoms, spec["resamples"], tokens, budget)
        for label, c in zip(["zip", *spec["baselines"]], chosen):
            runner.say(f"measuring {label} at {fraction:g} and its controls")
            row = _row(runner, label, c, fraction, budget, tokens, figures, spec["resamples"])
            row["controls"] = {
                name: stats.measured(
                    figures,
                    [stats.control(name, tokens, c.indices, budget, seed) for seed in range(spec["seeds"])],
                    spec["resamples"],
                    tokens,
                    budget,
                )
                for name in ("length-matched", "null")
            }
            rows.append(row)
    runner.write(
        "methods",
        config,
        {
            "title": "ZIP against the baselines at equal tokens",
            "tokenizer": tokenizer,
            "measure": measure,
            "pool_tokens": int(tokens.sum()),
            "longest_record_tokens": int(tokens.max()),
            "rows": rows,
            "controls": controls,
        },
    )


def _embeddings(runner: Runner, device: str) -> np.ndarray:
    from ..baselines.cluster import embed

    runner.say("embedding the pool for diversity")
    return embed(runner.pool, device=device, progress=False)


def _figures(runner: Runner, measure: list[str], vectors: np.ndarray) -> dict:
    """Each figure of a set of pool positions: its ratio under each compressor, and diversity."""
    payloads = runner.pool.payloads("text")
    texts = [runner.pool.text(i) for i in range(len(runner.pool))]

    def cosine(idx):
        # Mean pairwise cosine distance of unit vectors: 1 - (|sum|^2 - n) / (n (n - 1)).
        picked, n = vectors[idx], len(idx)
        total = picked.sum(axis=0)
        return 1 - (float(total @ total) - n) / (n * (n - 1)) if n > 1 else 0.0

    out = {f"ratio {m}": stats.ratio_of(payloads, m) for m in measure}
    out["cosine diversity"] = cosine
    out["distinct 2-grams"] = lambda idx: distinct_bigrams([texts[int(i)] for i in idx])
    return out


def _row(runner: Runner, label: str, c, fraction: float, budget: int, tokens, figures, resamples) -> dict:
    timings = c.manifest.get("timings", {})
    seconds = (
        sum(v for k, v in timings.items() if k not in ("loop",))
        if c.manifest.get("method") != "zip"
        else sum(timings.get(k, 0) for k in ("prepare", "initial_scores", "loop"))
    )
    device = c.manifest.get("lm", {}).get("device") or c.manifest.get("parameters", {}).get("device") or "cpu"
    return {
        "method": label,
        "fraction": fraction,
        "budget_tokens": budget,
        "seconds": round(seconds, 2),
        "device": device,
        **set_facts(runner.pool, c, tokens, budget),
        "figures": stats.measured(figures, [c.indices], resamples),
    }


# --- the report: tables, plots and findings from results.json alone ---------------------------


def report(results: dict, out: Path) -> tuple[dict[str, list[dict]], list[str]]:
    """The tables, plots and findings of a results folder, from its results.json."""
    rows, controls = results["rows"], results["controls"]
    figures = [k for k in rows[0]["figures"] if isinstance(rows[0]["figures"][k], dict)]
    first = figures[0]  # the ratio under the first measure
    tables: dict[str, list[dict]] = {}
    findings = [
        f"The primary comparison is each method against length-matched random on {first}; the others "
        "describe, and are not corrected for their number."
    ]
    for n, fraction in enumerate(dict.fromkeys(r["fraction"] for r in rows)):
        # The model passes are made at the first budget and read from the cache after it.
        cost = "cost as run" if n == 0 else "cost as run: the model passes read from the cache of the first budget"
        key = f"{fraction:g}"
        mine = [r for r in rows if r["fraction"] == fraction]
        at = f"{fraction:.0%} of the pool's tokens ({mine[0]['budget_tokens']:,} {results['tokenizer']} tokens)"
        table = [_table_row(r, figures) for r in mine]
        seeds = results["config"]["methods"].get("seeds", 5)
        table.append(_control_row(f"random ({seeds} draws; 95% of them)", controls[key], figures))
        tables[f"Methods at {at} ({cost})"] = table
        tables[f"Each method against its controls at {at}"] = _against(mine, controls[key], figures)
        for r in mine:
            for figure in (first, "cosine diversity"):
                others = [
                    (name, *stats.diff(r["figures"][figure], control[figure]))
                    for name, control in (
                        ("random", controls[key]),
                        ("length-matched random", r["controls"]["length-matched"]),
                        ("the null", r["controls"]["null"]),
                    )
                ]
                lower = figure.startswith("ratio")
                findings.append(f"At {at}: " + stats.against(figure, r["method"], r["figures"][figure], others, lower))
        _plots(out, mine, controls[key], first, key, at, cost)
    return tables, findings


def _table_row(r: dict, figures: list[str]) -> dict:
    row = {
        "method": r["method"],
        "cost (s)": r["seconds"],
        "device": r["device"],
        "records": r["records"],
        "tokens": r["tokens"],
        "fill %": round(100 * r["fill"], 2),
        "mean tok": round(r["tokens_mean"], 1),
        "median tok": r["tokens_median"],
    }
    row.update({f"{f} (95% CI)": stats.shown(r["figures"][f]) for f in figures})
    top = max(r["mix"], key=r["mix"].get) if r["mix"] else ""
    row.update({"dup": r["duplicate_texts"], "near-dup": r["near_duplicates"], "top source": top})
    return row


def _control_row(name: str, control: dict, figures: list[str]) -> dict:
    row = {"method": name, "cost (s)": "", "device": "", "records": round(control["records"], 1)}
    row.update({k: "" for k in ("tokens", "fill %", "mean tok", "median tok")})
    if "fill" in control:
        row["fill %"] = round(100 * control["fill"], 2)
    row.update({f"{f} (95% CI)": stats.shown(control[f]) for f in figures})
    row.update({"dup": "", "near-dup": "", "top source": ""})
    return row


def _against(rows: list[dict], random: dict, figures: list[str]) -> list[dict]:
    table = []
    for r in rows:
        for figure in figures:
            row = {"method": r["method"], "figure": figure, "value": round(r["figures"][figure]["value"], 4)}
            for name, control in (("random", random), *r["controls"].items()):
                value, ci = stats.diff(r["figures"][figure], control[figure])
                row[f"minus {name} (95% CI)"] = f"{value:+.4f} ({ci[0]:+.4f} to {ci[1]:+.4f})"
                row[f"vs {name}"] = stats.verdict(ci, lower_is_better=figure.startswith("ratio"))
                row[f"{name} fill %"] = round(100 * control["fill"], 2) if "fill" in control else ""
            table.append(row)
    return table


def _plots(out: Path, rows: list[dict], random: dict, first: str, key: str, at: str, cost: str) -> None:
    plots.intervals(
        [r["method"] for r in rows] + ["random control (95% of its draws)"],
        [r["figures"][first]["value"] for r in rows] + [random[first]["value"]],
        [r["figures"][first]["ci"] for r in rows] + [random[first]["ci"]],
        f"{first} of the selected set (95% CI)",
        f"Each method's selection at {at}: {first}, lower is less redundant",
        out / f"ratio_{key}.png",
        references={"length-matched (own)": [r["controls"]["length-matched"][first]["value"] for r in rows]},
    )
    plots.scatter(
        [max(r["seconds"], 0.01) for r in rows],
        [r["figures"][first]["value"] for r in rows],
        [r["method"] for r in rows],
        "cost (s, log scale)",
        f"{first} of the selected set",
        f"{first} of each method's selection against its cost, at {at} ({cost})",
        out / f"ratio_vs_cost_{key}.png",
    )
