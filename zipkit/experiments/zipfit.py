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

from ..results import plots
from ..summary import Chosen
from . import heldout, training
from .runner import Runner
from .schema import validate
from .train import Trainer, mean_sd


def run(runner: Runner, config: dict) -> None:
    config = validate(config, "the config", "zipfit")
    spec = config["zipfit"]
    budgets = sorted(spec["budgets"])
    results, tables = {}, {}
    for task in spec["task"]:
        results[task["name"]] = result = _task(runner, config, task, budgets)
        seeds = f"mean over {result['seeds']} seeds" if result["seeds"] > 1 else "one seed"
        tables[
            f"{task['name']}: {task['eval']} loss after training ({seeds}; before training: {result['base_loss']:.4f})"
        ] = _table(result["curve"], budgets)
        tables[
            f"{task['name']}: tokens each method needs to reach a loss (interpolated in log tokens; "
            f"'<= N': already at the smallest budget)"
        ] = [
            {
                "method": m,
                **{
                    f"{label} ({loss:.4f})": _tokens(result["tokens_to_reach"][label][m])
                    for label, loss in result["reach"].items()
                },
            }
            for m in result["methods"]
        ]
        _plot(runner.out / f"{task['name']}_loss_vs_tokens.png", task, result)
    runner.write("zipfit", config, {"budgets": budgets, "tasks": results}, tables)


def _task(runner: Runner, config: dict, task: dict, budgets: list[int]) -> dict:
    """One task: each method's ranking towards the target, a run per (method, budget), the
    curve, and the tokens each method needs to reach each reference loss."""
    spec = config["zipfit"]
    runner.say(f"task {task['name']}: target {task['target']}, evaluation {task['eval']}")
    target = heldout.texts(task["target"], pool=config["pool"])
    methods = spec["methods"]
    # The task names the held-out set and each budget the tokens (the schema refuses them in [train]).
    trainer = Trainer(runner, {**config, "train": {**config["train"], "eval": [task["eval"]], "tokens": None}})
    tokens = stream_tokens(runner.pool, trainer.settings.model)
    step = trainer.settings.tokens_per_step
    runs = []
    for seed in trainer.seeds:  # the training seed is also random's selection seed
        ranked = {m: ranking(runner, task["name"], m, target, seed, spec["params"].get(m, {})) for m in methods}
        for budget in budgets:
            chosen = [
                Chosen(f"{m} {budget}", prefix_holding(c.indices, tokens, budget), None, c.manifest)
                for m, c in ranked.items()
            ]
            mix = {c.name: _mix(runner.pool, c.indices) for c in chosen}
            for row in trainer.run_all(chosen, tokens=max(budget // step, 1) * step, seeds=[seed]):
                runs.append(
                    {
                        "method": row["selection"].rsplit(" ", 1)[0],
                        "budget": budget,
                        "seed": seed,
                        "tokens": row["tokens"],
                        "records": row["records"],
                        "mix": mix[row["selection"]],
                        "loss": row["held_out"][task["eval"]],
                        "first_epoch_loss": row["first_epoch_loss"],
                        "train_seconds": row["train_seconds"],
                        "tokens_per_second": row["tokens_per_second"],
                    }
                )
    curve = mean_over_seeds(runs)
    reach = reference_losses(task, curve, budgets[-1])
    needed = {
        label: {
            m: tokens_to_reach([(r["tokens"], r["loss"]) for r in curve if r["method"] == m], loss) for m in methods
        }
        for label, loss in reach.items()
    }
    return {
        "target": task["target"],
        "eval": task["eval"],
        "target_texts": len(target),
        "methods": methods,
        "seeds": len(trainer.seeds),
        "base_loss": trainer.base[task["eval"]],
        "reach": reach,
        "tokens_to_reach": needed,
        "curve": curve,
        "runs": runs,
    }


def ranking(runner: Runner, task: str, method: str, target: list[str], seed: int, params: dict) -> Chosen:
    """The method's order of the whole pool: towards the target (ZIP-FIT, DSIR: the same
    for every seed), or random by ``seed``."""
    if method == "random":
        return runner.select(f"{task} random seed {seed}", "random", budget=len(runner.pool), seed=seed, **params)
    return runner.select(f"{task} {method}", method, budget=len(runner.pool), target=target, **params)


def reference_losses(task: dict, curve: list[dict], largest: int) -> dict[str, float]:
    """The losses to reach: the config's ``reach_loss`` (a number or a list), else the loss
    each method other than ZIP-FIT reaches at the largest budget."""
    given = task["reach_loss"]
    if given is not None:
        return {f"loss {v}": float(v) for v in (given if isinstance(given, list) else [given])}
    return {
        f"{r['method']} at {r['tokens']:,}": r["loss"]
        for r in curve
        if r["budget"] == largest and r["method"] != "zipfit"
    }


def _mix(pool, indices: np.ndarray) -> dict[str, int]:
    """How many of the records come from each source (records without one: '?')."""
    counts: dict[str, int] = {}
    for i in indices:
        source = pool[int(i)].get("source", "?")
        counts[source] = counts.get(source, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _tokens(reached: dict | None) -> str:
    if reached is None:
        return "not reached"
    return f"<= {reached['tokens']:,.0f}" if reached["at_most"] else f"{reached['tokens']:,.0f}"


def mean_over_seeds(runs: list[dict]) -> list[dict]:
    """Per (method, budget): the tokens trained, and the loss's mean and sd over seeds."""
    curve = []
    for method, budget in dict.fromkeys((r["method"], r["budget"]) for r in runs):
        losses = [r["loss"] for r in runs if r["method"] == method and r["budget"] == budget]
        first = next(r for r in runs if r["method"] == method and r["budget"] == budget)
        mean, sd = mean_sd(losses)
        curve.append(
            {
                "method": method,
                "budget": budget,
                "tokens": first["tokens"],
                "records": first["records"],
                "loss": mean,
                "loss_sd": sd,
                "seeds": len(losses),
            }
        )
    return curve


def stream_tokens(pool, model: str) -> np.ndarray:
    """Each record's tokens in a packed training stream: its text's, plus the end token."""
    ids = training.encode([pool.text(i) for i in range(len(pool))], model)
    return np.array([len(i) + 1 for i in ids], np.int64)


def prefix_holding(indices: np.ndarray, tokens: np.ndarray, budget: int) -> np.ndarray:
    """The shortest prefix of a ranking whose records hold ``budget`` tokens (all of it when
    the whole ranking holds fewer)."""
    reached = np.cumsum(tokens[indices]) >= budget
    return indices[: int(np.argmax(reached)) + 1 if reached.any() else len(indices)]


def tokens_to_reach(points: list[tuple[int, float]], loss: float) -> dict | None:
    """The tokens at which the loss first reaches ``loss``, interpolated linearly in log
    tokens between the measured budgets (``at_most`` when the smallest budget already
    reaches it); None when no budget reaches it."""
    points = sorted(points)
    for k, (tokens, value) in enumerate(points):
        if value <= loss:
            if k == 0:
                return {"tokens": float(tokens), "at_most": True}
            (t0, v0) = points[k - 1]
            share = (v0 - loss) / (v0 - value)
            return {"tokens": float(2 ** (np.log2(t0) + share * (np.log2(tokens) - np.log2(t0)))), "at_most": False}
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


def _plot(path: Path, task: dict, result: dict) -> None:
    curve = result["curve"]
    pick = lambda m, key: [r[key] for r in curve if r["method"] == m]  # noqa: E731
    first_reach = next(iter(result["reach"].items()))
    plots.lines(
        {m: (pick(m, "tokens"), pick(m, "loss")) for m in result["methods"]},
        "tokens trained (log scale)",
        f"cross-entropy on {task['eval']} (nats/token)",
        f"{task['name']}: evaluation loss against tokens trained (target: {task['target']}; "
        f"before training: {result['base_loss']:.3f}; mean over {result['seeds']} seed(s), shaded: "
        f"+- sd)",
        path,
        log_x=True,
        reference=(f"{first_reach[0]}: {first_reach[1]:.3f}", first_reach[1]),
        bands={m: pick(m, "loss_sd") for m in result["methods"]},
    )
