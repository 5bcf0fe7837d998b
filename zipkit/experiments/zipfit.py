"""``zipkit experiment zipfit``: the ZIP-FIT replication. Does data aligned with a target by
compression lower the target's cross-entropy with fewer tokens than DSIR or random?

For each ``[[zipfit.task]]`` (a ``target`` and an ``eval`` held-out set, see ``heldout``),
each method of ``methods`` ranks the whole pool towards the target (ZIP-FIT and DSIR by their
scores, random by its seeded order); at each of ``budgets`` (tokens of the model's tokenizer)
the selection is the shortest prefix of that ranking whose packed stream (texts with their
end tokens) holds the budget, and every method trains on exactly the budget's tokens (in
whole steps), so the methods differ only in which records they rank first. Each (method,
budget) is trained on by the ``train`` experiment's code and scored on the task's evaluation
set. Reported: the evaluation loss against tokens trained (the paper's
figure) and, per method, the tokens it needs to reach ``reach_loss`` (default: the loss random
reaches at the largest budget), interpolated linearly in log tokens between budgets.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..summary import Chosen
from . import heldout, plots, training
from .runner import Runner
from .train import Trainer

METHODS = {"zipfit": {}, "dsir": {}, "random": {"seed": 0}}


def run(runner: Runner, config: dict) -> None:
    spec = config["zipfit"]
    budgets = sorted(spec["budgets"])
    results, tables = {}, {}
    for task in spec["task"]:
        runner.say(f"task {task['name']}: target {task['target']}, evaluation {task['eval']}")
        target = heldout.texts(task["target"], pool=config.get("pool"))
        ranked = {m: runner.select(f"{task['name']} {m}", m, budget=len(runner.pool),
                                   **({"target": target} if m != "random" else {}),
                                   **{**METHODS.get(m, {}), **spec.get("params", {}).get(m, {})})
                  for m in spec.get("methods", list(METHODS))}
        trainer = Trainer(runner, {**config, "train": {**config.get("train", {}), "eval": [task["eval"]]}})
        tokens = stream_tokens(runner.pool, trainer.settings.model)
        step = trainer.settings.tokens_per_step
        runs = []
        for budget in budgets:
            chosen = [Chosen(f"{m} {budget}", prefix_holding(c.indices, tokens, budget), None, c.manifest)
                      for m, c in ranked.items()]
            for row in trainer.run_all(chosen, tokens=max(budget // step, 1) * step):
                runs.append({"method": row["selection"].rsplit(" ", 1)[0], "budget": budget, "seed": row["seed"],
                             "tokens": row["tokens"], "records": row["records"],
                             "loss": row["held_out"][task["eval"]], "first_epoch_loss": row["first_epoch_loss"],
                             "train_seconds": row["train_seconds"], "tokens_per_second": row["tokens_per_second"]})
        base = trainer.base[task["eval"]]
        curve = mean_over_seeds(runs)
        reach = task.get("reach_loss") or min(r["loss"] for r in curve
                                              if r["method"] == "random" and r["budget"] == budgets[-1])
        needed = {m: tokens_to_reach([(r["tokens"], r["loss"]) for r in curve if r["method"] == m], reach)
                  for m in ranked}
        results[task["name"]] = {"target": task["target"], "eval": task["eval"], "target_texts": len(target),
                                 "base_loss": base, "reach_loss": reach, "tokens_to_reach": needed,
                                 "curve": curve, "runs": runs}
        seeds = f"mean over {len(trainer.seeds)} seeds" if len(trainer.seeds) > 1 else "one seed"
        tables[f"{task['name']}: {task['eval']} loss after training ({seeds}; before training: {base:.4f})"] = \
            _table(curve, budgets)
        tables[f"{task['name']}: tokens to reach loss {reach:.4f}"] = [
            {"method": m, "tokens": "not reached" if t is None else round(t)} for m, t in needed.items()]
        _plot(runner.out / f"{task['name']}_loss_vs_tokens.png", task, curve, base, reach)
    runner.write("zipfit", config, {"budgets": budgets, "tasks": results}, tables)


def mean_over_seeds(runs: list[dict]) -> list[dict]:
    """Per (method, budget): the tokens trained, and the loss's mean and sd over seeds."""
    curve = []
    for method, budget in dict.fromkeys((r["method"], r["budget"]) for r in runs):
        losses = [r["loss"] for r in runs if r["method"] == method and r["budget"] == budget]
        first = next(r for r in runs if r["method"] == method and r["budget"] == budget)
        curve.append({"method": method, "budget": budget, "tokens": first["tokens"], "records": first["records"],
                      "loss": float(np.mean(losses)), "loss_sd": float(np.std(losses, ddof=1)) if len(losses) > 1
                      else 0.0, "seeds": len(losses)})
    return curve


def stream_tokens(pool, model: str) -> np.ndarray:
    """Each record's tokens in a packed training stream: its text's, plus the end token."""
    ids = training.encode([pool.text(i) for i in range(len(pool))], model)
    return np.array([len(i) + 1 for i in ids], np.int64)


def prefix_holding(indices: np.ndarray, tokens: np.ndarray, budget: int) -> np.ndarray:
    """The shortest prefix of a ranking whose records hold ``budget`` tokens (all of it when
    the whole ranking holds fewer)."""
    reached = np.cumsum(tokens[indices]) >= budget
    return indices[:int(np.argmax(reached)) + 1 if reached.any() else len(indices)]


def tokens_to_reach(points: list[tuple[int, float]], loss: float) -> float | None:
    """The tokens at which the loss first reaches ``loss``, interpolated linearly in log
    tokens between the measured budgets; None when no budget reaches it."""
    points = sorted(points)
    for k, (tokens, value) in enumerate(points):
        if value <= loss:
            if k == 0:
                return float(tokens)
            (t0, v0) = points[k - 1]
            share = (v0 - loss) / (v0 - value)
            return float(2 ** (np.log2(t0) + share * (np.log2(tokens) - np.log2(t0))))
    return None


def _table(runs: list[dict], budgets: list[int]) -> list[dict]:
    rows = []
    for method in dict.fromkeys(r["method"] for r in runs):
        row = {"method": method}
        for budget in budgets:
            r = next(r for r in runs if r["method"] == method and r["budget"] == budget)
            row[f"{r['tokens']:,} tok"] = round(r["loss"], 4)
        rows.append(row)
    return rows


def _plot(path: Path, task: dict, curve: list[dict], base: float, reach: float) -> None:
    methods = list(dict.fromkeys(r["method"] for r in curve))
    pick = lambda m, key: [r[key] for r in curve if r["method"] == m]  # noqa: E731
    plots.lines({m: (pick(m, "tokens"), pick(m, "loss")) for m in methods}, "tokens trained (log scale)",
                f"cross-entropy on {task['eval']} (nats/token)",
                f"{task['name']}: evaluation loss against tokens trained (target: {task['target']}; "
                f"before training: {base:.3f})", path, log_x=True, reference=(f"loss to reach: {reach:.3f}", reach),
                bands={m: pick(m, "loss_sd") for m in methods})
