"""``zipkit experiment entropy-law``: does held-out loss track the selected set's compression
ratio and its first-epoch training loss (the entropy-law paper's Figures 3 and 4)?

Selections that differ in ratio, on one pool: every selection of a ``methods`` experiment
(``[entropy_law] methods = DIR``), ZIP under each of ``compressors``, ZIP with each ``stages``
= [K1, K2, K3] and random at each of ``random_seeds``, all at the same token budget; and ZIP at
each of the larger ``zip_budgets`` (tokens), whose sets are more redundant. Every run trains on
the same number of tokens (a larger set is sampled by the seed's shuffle). Each is trained
by the ``train`` experiment's code (``[train]``: settings, seeds, held-out sets; runs already
made by a ``train`` experiment are reused through ``reuse``). Per selection: its ratio under
``measure``, the mean held-out loss and the first-epoch loss over seeds. The fits are least
squares lines of held-out loss on ratio and on first-epoch loss; the correlations (Pearson
and Spearman) are computed per seed, and reported as their mean with a 95% t-interval over
seeds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..ratio import framed_ratio, spearman
from ..results import plots
from ..summary import Chosen
from .runner import Runner
from .schema import validate
from .train import Trainer, check_pool, saved_selections, summarize


def run(runner: Runner, config: dict) -> None:
    config = validate(config, "the config", "entropy-law")
    spec = config["entropy_law"]
    measure = spec["measure"]
    chosen, groups = _selections(runner, spec)
    trainer = Trainer(runner, config)
    rows = trainer.run_all(chosen)
    summary = {s["selection"]: s for s in summarize(rows, trainer.eval_names)}
    payloads = runner.pool.payloads("text")
    points = [
        {
            "selection": c.name,
            "group": groups[c.name],
            "records": len(c.indices),
            "ratio": framed_ratio([payloads[int(i)] for i in c.indices], "text", measure),
            "held_out": summary[c.name]["held_out_mean"],
            "held_out_sd": summary[c.name]["held_out_mean_sd"],
            "first_epoch_loss": summary[c.name]["first_epoch_loss"],
            "first_epoch_loss_sd": summary[c.name]["first_epoch_loss_sd"],
        }
        for c in chosen
    ]
    fits = {x: fit(points, rows, x) for x in MEASURES}
    excluded = spec["exclude_from_fit"]
    if excluded:  # the same fits without outliers the config names (a fit is not robust to one)
        kept = [p for p in points if p["selection"] not in excluded]
        fits.update({f"{x} without {', '.join(excluded)}": fit(kept, rows, x) for x in MEASURES})
    _plots(runner.out, points, fits, measure, trainer.budget, excluded)
    table = [
        {
            "selection": p["selection"],
            "group": p["group"],
            "records": p["records"],
            f"ratio {measure}": round(p["ratio"], 4),
            "first-epoch loss": _pm(p, "first_epoch_loss"),
            "held-out loss": _pm(p, "held_out"),
        }
        for p in points
    ]
    fit_table = [
        {
            "x": x,
            "selections": f["selections"],
            "slope": round(f["slope"], 4),
            "intercept": round(f["intercept"], 4),
            **{
                f"{kind} r": f"{f[kind]['mean']:.3f} [{f[kind]['low']:.3f}, {f[kind]['high']:.3f}]"
                for kind in ("pearson", "spearman")
            },
            "seeds": f["seeds"],
        }
        for x, f in fits.items()
    ]
    runner.write(
        "entropy-law",
        config,
        {**trainer.describe(rows, list(summary.values())), "measure": measure, "points": points, "fits": fits},
        {
            f"Selections, {trainer.budget} (mean ± sd over seeds)": table,
            "Held-out loss against each measure (correlations: mean over seeds [95% CI])": fit_table,
        },
    )


def _selections(runner: Runner, spec: dict) -> tuple[list[Chosen], dict[str, str]]:
    """The selections and the group each belongs to (method, compressor, stages, random)."""
    chosen = saved_selections(Path(spec["methods"])) if spec["methods"] is not None else []
    chosen = check_pool(chosen, runner.pool, spec["methods"] or "")
    groups = {c.name: "random" if c.name == "random" else "zip" if c.name == "zip" else "method" for c in chosen}
    budget = spec["budget_tokens"]
    if budget is None:  # the schema asks for one of the two
        budget = json.loads((Path(spec["methods"]) / "results.json").read_text())["budget_tokens"]
    common = {"budget_tokens": int(budget), "tokenizer": spec["tokenizer"]}
    k = {name: spec[name] for name in ("k1", "k2", "k3") if spec[name] is not None}  # None: ZIP's own
    for compressor in spec["compressors"]:
        chosen.append(runner.select(f"zip {compressor}", "zip", compressor=compressor, **k, **common))
        groups[chosen[-1].name] = "zip, other compressor"
    for tokens in spec["zip_budgets"]:  # larger ZIP sets, more redundant by construction
        chosen.append(
            runner.select(f"zip at {tokens:,} tokens", "zip", **k, **{**common, "budget_tokens": int(tokens)})
        )
        groups[chosen[-1].name] = "zip, larger budget"
    for k1, k2, k3 in spec["stages"]:
        chosen.append(runner.select(f"zip K={k1}/{k2}/{k3}", "zip", k1=k1, k2=k2, k3=k3, **common))
        groups[chosen[-1].name] = "zip, other K1/K2/K3"
    for seed in spec["random_seeds"]:
        chosen.append(runner.select(f"random seed {seed}", "random", seed=seed, **common))
        groups[chosen[-1].name] = "random"
    return chosen, groups


MEASURES = ("ratio", "first_epoch_loss")


def fit(points: list[dict], rows: list[dict], x: str) -> dict:
    """Least squares held-out loss = slope * x + intercept over the selections (means over
    seeds), and per-seed Pearson and Spearman correlations, their mean and 95% t-interval."""
    xs = np.array([p[x] for p in points])
    ys = np.array([p["held_out"] for p in points])
    slope, intercept = np.polyfit(xs, ys, 1)
    per_seed: dict[str, list[float]] = {"pearson": [], "spearman": []}
    seeds = sorted({r["seed"] for r in rows})
    for seed in seeds:
        runs = {r["selection"]: r for r in rows if r["seed"] == seed}
        ys_seed = np.array([runs[p["selection"]]["held_out_mean"] for p in points])
        xs_seed = xs if x == "ratio" else np.array([runs[p["selection"]]["first_epoch_loss"] for p in points])
        per_seed["pearson"].append(float(np.corrcoef(xs_seed, ys_seed)[0, 1]))
        per_seed["spearman"].append(spearman(xs_seed, ys_seed))
    return {
        "slope": float(slope),
        "intercept": float(intercept),
        "seeds": len(seeds),
        "selections": len(points),
        **{kind: interval(values) for kind, values in per_seed.items()},
    }


def interval(values: list[float]) -> dict:
    """Mean and 95% confidence interval (Student t over the values; none from one value)."""
    from scipy import stats

    mean = float(np.mean(values))
    if len(values) < 2:
        return {"mean": mean, "low": float("nan"), "high": float("nan"), "values": values}
    half = float(stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values)))
    return {"mean": mean, "low": mean - half, "high": mean + half, "values": values}


def _pm(point: dict, name: str) -> str:
    return f"{point[name]:.4f} ± {point[name + '_sd']:.4f}"


def _plots(out: Path, points: list[dict], fits: dict, measure: str, budget: str, excluded: list[str]) -> None:
    groups = [p["group"] for p in points]
    y = [p["held_out"] for p in points]
    errors = [p["held_out_sd"] for p in points]
    for x, label, name in (
        ("ratio", f"compression ratio of the selected set ({measure})", "loss_vs_ratio.png"),
        ("first_epoch_loss", "first-epoch training loss (nats/token)", "loss_vs_first_epoch_loss.png"),
    ):
        lines = [(f"fit, all {fits[x]['selections']}: r = {fits[x]['pearson']['mean']:.2f}", fits[x])]
        if excluded:
            f = fits[f"{x} without {', '.join(excluded)}"]
            lines.append((f"fit without {', '.join(excluded)}: r = {f['pearson']['mean']:.2f}", f))
        plots.fitted(
            [p[x] for p in points],
            y,
            groups,
            [(t, f["slope"], f["intercept"]) for t, f in lines],
            label,
            "mean held-out loss (nats/token)",
            f"Held-out loss against {label.split(' (')[0]} ({len(points)} selections, {budget}; "
            f"error bars: sd over {fits[x]['seeds']} seeds; r: Pearson, mean over seeds)",
            out / name,
            errors=errors,
        )
