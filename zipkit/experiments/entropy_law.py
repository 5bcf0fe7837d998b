"""``zipkit experiment entropy-law``: does held-out loss track the compression ratio of the data
a model trained on, and its first-epoch training loss (the entropy-law paper's Figures 3 and 4)?

The selections are the train experiment's (``[train]``, the same table as a ``train`` config:
every method of the methods experiment and the controls' draws at each budget; with ``reuse``
naming a train experiment's folder its runs are not trained again), and selections added to
spread the ratio at the same budget (``[entropy_law]``): ZIP under each of ``compressors``,
ZIP with each ``stages`` = [K1, K2, K3], and ZIP sets ``zip_multiples`` times larger than the
budget (more redundant by construction), each run of those cut to the budget's tokens (in
whole steps). The added ones train once per seed of ``seeds`` (default: ``[train]``'s).

One point per selection at a budget: x, the compression ratio (``[train] measure``) of exactly
the records its runs trained on (the whole selection; for a cut run, the records the cut
holds, the last one cut to its tokens), or its first-epoch training loss; y, its mean held-out
loss (means over its runs). Per budget and x: the least-squares line through the points, the
slope's 95% interval and Spearman's rho (and Pearson's r) with 95% intervals, from a bootstrap
over the points and, within each, over its runs (seeds). ``exclude_from_fit``: rows (a method's
label, or a control's: ``random``) whose points a second fit leaves out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..ratio import spearman
from ..results import plots
from . import stats
from .runner import Runner
from .schema import validate
from .train import COST, Study, budget_title, check_results, cost_table, method_list, training_of

NAME = "entropy-law"
TITLE = "The entropy law: held-out loss against the compression ratio of the trained data"
MEASURES = {
    "ratio": "compression ratio of the trained records",
    "first_epoch_loss": "first-epoch training loss (nats/token)",
}


def run(runner: Runner, config: dict) -> None:
    """Run the entropy-law analysis of ``config`` into ``out``; the results."""
    config = validate(config, "the config", NAME)
    spec = config["entropy_law"]
    study = Study(runner, config)
    seeds = list(spec["seeds"] or study.trainer.seeds)
    ks = {k: spec[k] for k in ("k1", "k2", "k3") if spec[k] is not None}
    if not ks:  # the methods experiment's own ZIP
        ks = method_list(config["train"]["methods"])["zip"][1]
    model = study.trainer.settings.model
    step = study.trainer.settings.tokens_per_step

    def extra(budget: int, entries: list[dict]) -> list[dict]:
        def zip_set(label: str, group: str, tokens: int, cut: int | None, **params) -> dict:
            chosen = runner.select(label, "zip", budget_tokens=tokens, tokenizer=model, **params)
            return {"selection": chosen, "row": label, "group": group, "draw": None, "seeds": seeds, "cut": cut}

        asked = study.trainer.asked_tokens  # a [train] cut applies to these runs too
        out = [
            zip_set(f"zip {c}", "zip, other compressor", budget, asked, compressor=c, **ks) for c in spec["compressors"]
        ]
        out += [
            zip_set(f"zip K={k1}/{k2}/{k3}", "zip, other K1/K2/K3", budget, asked, k1=k1, k2=k2, k3=k3)
            for k1, k2, k3 in spec["stages"]
        ]
        # Larger ZIP sets, each run cut to the budget's tokens in whole steps.
        cut = asked or max(-(-budget // step), 1) * step
        out += [
            zip_set(f"zip at {m}x the budget", "zip, larger set cut to the budget", m * budget, cut, **ks)
            for m in spec["zip_multiples"]
        ]
        return out

    results = study.run(extra)
    results["extra"] = {"seeds": seeds, "zip": ks, "exclude_from_fit": spec["exclude_from_fit"]}
    results["points"], results["fits"] = {}, {}
    for budget in results["budgets"]:
        b = str(budget["tokens"])
        points = points_of([r for r in results["runs"] if r["budget"] == budget["tokens"]])
        results["points"][b] = points
        results["fits"][b] = fits_of(points, spec["exclude_from_fit"], spec["resamples"])
    runner.write(NAME, config, {"title": TITLE, **results})


def points_of(runs: list[dict]) -> list[dict]:
    """One point per selection: its runs' ratios, first-epoch and held-out losses (and means)."""
    out = []
    for name in dict.fromkeys(r["selection"] for r in runs):
        mine = [r for r in runs if r["selection"] == name]
        point = {
            "selection": name,
            "row": mine[0]["row"],
            "group": mine[0]["group"],
            "records": mine[0]["records"],
            "seeds": [r["seed"] for r in mine],
            "runs": {
                "ratio": [r["ratio"] for r in mine],
                "first_epoch_loss": [r["first_epoch_loss"] for r in mine],
                "held_out": [r["held_out_mean"] for r in mine],
            },
        }
        for key, values in point["runs"].items():
            point[key] = float(np.nanmean(values))
        point["held_out_sd"] = float(np.std(point["runs"]["held_out"], ddof=1)) if len(mine) > 1 else 0.0
        out.append(point)
    return out


def fits_of(points: list[dict], excluded: list[str], resamples: int) -> dict:
    """Per measure: the fit over every point and, with ``excluded`` rows, without theirs."""
    out = {x: fit(points, x, resamples) for x in MEASURES}
    if excluded:
        kept = [p for p in points if p["row"] not in excluded and p["selection"] not in excluded]
        out.update({f"{x} without {', '.join(excluded)}": fit(kept, x, resamples) for x in MEASURES})
    return out


def fit(points: list[dict], x: str, resamples: int, seed: int = 0) -> dict | None:
    """Least squares held-out loss = slope * x + intercept through the points (means over each
    selection's runs), Spearman's rho and Pearson's r; their 95% intervals from ``resamples``
    bootstrap draws: points drawn with replacement and, within each, its runs with replacement.
    None with fewer than three points or one x."""
    xs = np.array([p[x] for p in points], dtype=float)
    ys = np.array([p["held_out"] for p in points], dtype=float)
    if len(points) < 3 or np.ptp(xs) == 0 or not np.isfinite(xs).all():
        return None
    slope, intercept = np.polyfit(xs, ys, 1)
    runs_x = [np.asarray(p["runs"][x], dtype=float) for p in points]
    runs_y = [np.asarray(p["runs"]["held_out"], dtype=float) for p in points]
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {"slope": [], "spearman": [], "pearson": []}
    for _ in range(resamples):
        bx, by = np.empty(len(points)), np.empty(len(points))
        for k, p in enumerate(rng.integers(0, len(points), len(points))):
            runs = rng.integers(0, len(runs_x[p]), len(runs_x[p]))
            bx[k], by[k] = np.nanmean(runs_x[p][runs]), np.nanmean(runs_y[p][runs])
        if np.ptp(bx) == 0 or np.ptp(by) == 0:
            continue  # a draw of one point repeated: no line, no correlation
        draws["slope"].append(float(np.polyfit(bx, by, 1)[0]))
        draws["spearman"].append(spearman(bx, by))
        draws["pearson"].append(float(np.corrcoef(bx, by)[0, 1]))
    return {
        "points": len(points),
        "runs": int(sum(len(r) for r in runs_y)),
        "slope": float(slope),
        "intercept": float(intercept),
        "spearman": spearman(xs, ys),
        "pearson": float(np.corrcoef(xs, ys)[0, 1]),
        "resamples": len(draws["slope"]),
        **{f"{k}_ci": stats.interval(np.asarray(v)) if v else [float("nan")] * 2 for k, v in draws.items()},
    }


# --- the report: tables, plots and findings from results.json alone ----------------------------


def report(results: dict, out: Path) -> tuple[dict[str, list[dict]], list[str]]:
    """The tables, plots and findings of a results folder, from its results.json."""
    out = Path(out)
    check_results(results)
    tables: dict[str, list[dict]] = {}
    findings: list[str] = []
    measure = results["measure"]
    fit_rows = []
    for budget in results["budgets"]:
        b = str(budget["tokens"])
        points, fits = results["points"][b], results["fits"][b]
        where = budget_title(results, budget)
        tables[f"Selections at {where} ({training_of(results)}; means over each selection's runs)"] = [
            {
                "selection": p["selection"],
                "group": p["group"],
                "runs": len(p["seeds"]),
                "records": p["records"],
                f"ratio {measure} (trained records)": round(p["ratio"], 4),
                "first-epoch loss": round(p["first_epoch_loss"], 4),
                "held-out loss": round(p["held_out"], 4),
                "held-out sd over seeds": round(p["held_out_sd"], 4),
            }
            for p in points
        ]
        for name, f in fits.items():
            if f is None:
                continue
            fit_rows.append(
                {
                    "budget (tokens)": budget["tokens"],
                    "x": name.replace("ratio", f"ratio {measure}"),
                    "points": f["points"],
                    "runs": f["runs"],
                    "slope": round(f["slope"], 4),
                    "slope 95% CI": [round(v, 4) for v in f["slope_ci"]],
                    "intercept": round(f["intercept"], 4),
                    "Spearman rho": round(f["spearman"], 3),
                    "rho 95% CI": [round(v, 3) for v in f["spearman_ci"]],
                    "Pearson r": round(f["pearson"], 3),
                    "r 95% CI": [round(v, 3) for v in f["pearson_ci"]],
                }
            )
            findings.append(_finding(name, f, budget["tokens"], measure))
        for x, label in MEASURES.items():
            if fits.get(x) is not None:
                _plot(out / f"loss_vs_{x}_{b}.png", points, fits, x, label, measure, results, budget)
    tables[
        "Held-out loss against each x: least-squares line, Spearman and Pearson correlations "
        "(95% CIs: bootstrap over the points and their seeds)"
    ] = fit_rows
    tables[COST] = cost_table(results)
    return tables, findings


def _finding(name: str, f: dict, budget: int, measure: str) -> str:
    x = name.replace("ratio", f"the compression ratio ({measure}) of the trained records").replace(
        "first_epoch_loss", "the first-epoch training loss"
    )
    lo, hi = f["slope_ci"]
    if lo > 0:
        verdict = "held-out loss rises with it"
    elif hi < 0:
        verdict = "held-out loss falls as it rises"
    else:
        verdict = "no relation shown (the slope's interval holds 0)"
    return (
        f"At {budget:,} tokens, held-out loss against {x}, over {f['points']} selections: {verdict}; "
        f"slope {f['slope']:+.4g} (95% CI {lo:+.4g} to {hi:+.4g}), Spearman's rho {f['spearman']:+.3f} "
        f"(95% CI {f['spearman_ci'][0]:+.3f} to {f['spearman_ci'][1]:+.3f})."
    )


def _plot(path: Path, points: list, fits: dict, x: str, label: str, measure: str, results: dict, budget: dict) -> None:
    lines = []
    for name, f in fits.items():
        if f is not None and name.split(" without ")[0] == x:
            which = "all" if name == x else name[len(x) + 1 :]
            lines.append(
                (
                    f"{which} ({f['points']}): slope {f['slope']:.3g} "
                    f"[{f['slope_ci'][0]:.3g}, {f['slope_ci'][1]:.3g}], "
                    f"rho {f['spearman']:.2f} [{f['spearman_ci'][0]:.2f}, {f['spearman_ci'][1]:.2f}]",
                    f["slope"],
                    f["intercept"],
                )
            )
    xlabel = label.replace("compression ratio", f"compression ratio ({measure})")
    plots.fitted(
        [p[x] for p in points],
        [p["held_out"] for p in points],
        [p["group"] for p in points],
        lines,
        xlabel,
        "mean held-out loss (nats/token)",
        f"Held-out loss against the {label.split(' (')[0]} at {budget_title(results, budget)} "
        f"({len(points)} selections; error bars: sd over seeds; [95% CI], bootstrap over points and seeds)",
        path,
        errors=[p["held_out_sd"] for p in points],
        labels=[p["row"] if p["group"] == "method" else "" for p in points],
    )
