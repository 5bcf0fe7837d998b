"""``zipkit experiment zipfit``: the ZIP-FIT replication. Does data aligned with a target by
compression lower the loss on the target's held-out split more than DSIR's or random data at
the same tokens, and how much of that comes from the target's own statements leaking into
the pool?

Each ``[[zipfit.task]]`` names a ``target`` and an ``eval`` held-out set (see ``heldout``);
``direction`` writes ProofNet's statements informal first (``informal_to_formal``, the
autoformalization direction) or Lean first (``formal_to_informal``), in the target and in the
evaluation texts alike (``as_given``: the texts as ``heldout`` gives them). The held-out loss
is taken over the whole text, so the direction decides which statement is predicted from the
other. Each method of ``methods`` ranks the whole pool towards the task's
target (ZIP-FIT and DSIR both aimed at it; random by its seeded order). At each of
``budgets`` (tokens of the model's tokenizer, each text with its end token) a run takes the
ranking's records in order, skipping one that does not fit what is left (``kernels.fill``:
every method fills the budget to within one record), and trains on its whole selection once
(``training.pack_whole``), with the ``train`` experiment's code. ZIP-FIT and DSIR run once per
training seed of ``[train] seeds``; random once per seed of ``random_seeds`` (its selection
seed and its training seed). Each method of ``matched`` has the train experiment's two other
controls at ``matched_budgets``: ``length-matched to M`` (records drawn to its selection's
length distribution) and ``null of M`` (records it left out), drawn from the same pool as its
selection, once per seed of ``matched_seeds`` (the draw's seed and its run's training seed).

With ``decontaminate = [benchmarks]`` a task runs twice: on the pool as built (``pool``) and
on the pool less every record sharing a ``decontaminate_ngram``-word sequence, or its whole
normalised text, with those benchmarks (``decontaminated``). The decontaminated run takes the
same rankings and skips the dropped records, so the two differ only by the leaked records.
Each run's ``alignment`` is the mean ZIP-FIT score (1 - mean NCD to the target's texts) of the
records it trained on, and ``leaked`` how many of them the decontamination drops.

With ``[zipfit.generate]``, on a task evaluated on ``humaneval_eval``, every run's trained
model (and the model before training) completes HumanEval problems of the evaluation half,
each completion run in the sandbox (``generation``): greedy pass@1 and sampled pass@k.

``report`` makes every table, plot and finding from results.json alone: held-out loss and
alignment per method, budget and pool with 95% intervals over seeds (``stats.over_seeds``),
the leak's effect (pool minus decontaminated), the paper's figure of alignment against
held-out loss, loss against tokens, the tokens each method needs to reach a reference loss,
and pass@k.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..identity import fingerprint
from ..io import atomic_output, read_records
from ..results import plots
from ..summary import Chosen
from . import generation, heldout, pools, stats, training
from .runner import Runner, _safe
from .schema import validate
from .train import Trainer, mean_sd

TITLE = "ZIP-FIT replication: held-out loss and alignment at equal tokens, with and without the target's leak"
# ProofNet's fields in the order each direction writes them (target and evaluation texts).
DIRECTIONS = {
    "informal_to_formal": ["nl_statement", "formal_statement"],
    "formal_to_informal": ["formal_statement", "nl_statement"],
}
PROOFNET = ("proofnet_valid", "proofnet_test")
POOL, CLEAN = "pool", "decontaminated"  # the two runs of a task with decontaminate
CONTROLS = ("length-matched", "null")  # drawn for each method of ``[zipfit] matched``


def control_label(kind: str, of: str) -> str:
    """The method name of a control's runs, as the train experiment names them."""
    return f"length-matched to {of}" if kind == "length-matched" else f"null of {of}"


# ``--smoke`` (``smoke.shrink``): one small budget and one training seed, beside the common rules.
SMOKE = {
    "budgets": lambda v: [min(min(v), 128)],
    "matched_budgets": lambda v: None,  # the one budget left
    "seeds": lambda v: v[:1],
    "workers": lambda v: 1,
}


def run(runner: Runner, config: dict) -> None:
    """Run the ZIP-FIT replication of ``config`` into ``out``; the results."""
    config = validate(config, getattr(config, "path", "the config"), "zipfit")
    spec = config["zipfit"]
    budgets = sorted(spec["budgets"])
    settings = training.Settings.from_config(config["train"]["settings"])
    tokens = stream_tokens(runner.pool, settings.model)
    results: dict[str, Any] = {
        "title": TITLE,
        "budgets": budgets,
        "pool_tokens": int(tokens.sum()),
        "tasks": {},
    }
    for task in spec["task"]:
        results["tasks"][task["name"]] = _task(runner, config, task, budgets, tokens)
    runner.write("zipfit", config, results)


def _task(runner: Runner, config: dict, task: dict, budgets: list[int], tokens: np.ndarray) -> dict:
    """One task: each method's ranking towards the target, a run per (pool, method, seed,
    budget), each with its held-out loss, alignment and (code) pass@k."""
    spec, train = config["zipfit"], config["train"]
    name, seed0 = task["name"], train["eval_seed"]
    direction = task["direction"]
    runner.say(f"task {name}: target {task['target']}, evaluation {task['eval']} ({direction})")
    started = time.perf_counter()
    target = task_texts(task["target"], direction, seed=seed0, pool=config["pool"])
    eval_name = task["eval"]
    if direction != "as_given":  # the Trainer reads its held-out sets by name: a file of them
        eval_name = str(
            _write_texts(
                runner.out / "heldout" / f"{_safe(name)}-{task['eval']}-{direction}.jsonl",
                task_texts(task["eval"], direction, seed=seed0, pool=config["pool"]),
            )
        )
    code = _code_spec(spec.get("generate"), task, seed0)
    trainer = _Trainer(runner, {**config, "train": {**train, "eval": [eval_name], "tokens": None}}, code)
    methods = spec["methods"]
    random_seeds = spec["random_seeds"] if spec["random_seeds"] is not None else trainer.seeds

    # The pools: as built, and (decontaminate) less the records that share text with the benchmarks.
    allowed = {POOL: np.ones(len(runner.pool), dtype=bool)}
    leak, dropped = None, None
    if task["decontaminate"]:
        from ..decontaminate import account, index_of, split

        index = index_of(task["decontaminate"], task["decontaminate_ngram"], config["pool"].get("data_dir"))
        keep, found = split(runner.pool, index)
        allowed[CLEAN] = np.zeros(len(runner.pool), dtype=bool)
        allowed[CLEAN][keep] = True
        leak = ~allowed[CLEAN]
        dropped = {
            "against": task["decontaminate"],
            "ngram": task["decontaminate_ngram"],
            **{k: v for k, v in account(index, found).items() if k != "dropped_indices"},
            "by_source": _mix(runner.pool, np.flatnonzero(leak)),
        }
        runner.say(
            f"task {name}: decontamination against {', '.join(task['decontaminate'])} drops {len(found)} records"
        )

    params = spec["params"]
    towards = {m: ranking(runner, name, m, target, 0, params.get(m, {})) for m in methods if m != "random"}
    if "zipfit" not in towards:  # the alignment of every selection is its ZIP-FIT score
        towards["zipfit"] = ranking(runner, name, "zipfit", target, 0, params.get("zipfit", {}))
    alignment = np.full(len(runner.pool), np.nan)
    alignment[towards["zipfit"].indices] = towards["zipfit"].scores

    runs = []

    def train_on(variant: str, method: str, budget: int, seed: int, picked: np.ndarray) -> None:
        trainer.generating = code is not None and (code["every_budget"] or budget == budgets[-1])
        label = f"{method} {budget}"  # the same selection in both pools is one run
        row = trainer.run_all([Chosen(label, picked, None, {})], tokens=None, seeds=[seed])[0]
        runs.append(
            {
                "variant": variant,
                "method": method,
                "budget": budget,
                "seed": seed,
                "records": len(picked),
                "tokens": int(tokens[picked].sum()),
                "fill": round(float(tokens[picked].sum()) / budget, 6),
                "steps": row["steps"],
                "trained_tokens": row["trained_tokens"],
                "epochs": trainer.settings.epochs,
                "leaked": None if leak is None else int(leak[picked].sum()),
                "alignment": float(np.mean(alignment[picked])) if len(picked) else float("nan"),
                "mix": _mix(runner.pool, picked),
                "loss": row["held_out"][eval_name],
                "first_epoch_loss": row["first_epoch_loss"],
                "train_seconds": row["train_seconds"],
                "eval_seconds": row["eval_seconds"],
                "tokens_per_second": row["tokens_per_second"],
                **({"code": row["code"]} if "code" in row else {}),
            }
        )

    def taken(order: np.ndarray, budget: int, mask: np.ndarray) -> np.ndarray:
        """The records ``order`` takes at ``budget`` tokens from the pool ``mask`` allows."""
        return stats.at_tokens(order[mask[order]], tokens, budget)

    for method in methods:
        for seed in random_seeds if method == "random" else trainer.seeds:
            order = (  # read once per seed: every budget and pool takes from the same order
                ranking(runner, name, method, target, seed, params.get(method, {}))
                if method == "random"
                else towards[method]
            ).indices
            for budget in budgets:
                for variant, mask in allowed.items():
                    train_on(variant, method, budget, seed, taken(order, budget, mask))
    # The controls of each ``matched`` method, drawn from the same pool as its selection: records
    # of its selection's length distribution, and records it left out (``stats.control``). Each
    # draw's seed is also its run's training seed, as for random.
    for of in spec["matched"]:
        for kind in CONTROLS:
            for seed in spec["matched_seeds"]:
                for budget in spec["matched_budgets"] or budgets:
                    for variant, mask in allowed.items():
                        here = np.flatnonzero(mask)
                        chosen = np.searchsorted(here, taken(towards[of].indices, budget, mask))
                        picked = here[stats.control(kind, tokens[here], chosen, budget, seed)]
                        train_on(variant, control_label(kind, of), budget, seed, picked)
    held = trainer.held_out[eval_name]
    return {
        "target": task["target"],
        "eval": task["eval"],
        "direction": task["direction"],
        "target_texts": len(target),
        "eval_texts": len(held),
        "eval_tokens": int(sum(min(len(i), trainer.settings.eval_max_tokens) for i in held)),
        "methods": methods,
        "seeds": trainer.seeds,
        "random_seeds": list(random_seeds),
        "matched": list(spec["matched"]),
        "matched_seeds": list(spec["matched_seeds"]),
        "base_loss": trainer.base[eval_name],
        "reach_loss": task["reach_loss"],
        "decontamination": dropped,
        "code": None if code is None else {**code["describe"], "base": trainer.base_code()},
        "runs": runs,
        "seconds": round(time.perf_counter() - started, 1),
    }


def task_texts(name: str, direction: str = "as_given", *, seed: int = 0, pool: dict | None = None) -> list[str]:
    """The texts of held-out set ``name``; with a ``direction`` other than ``as_given``,
    ProofNet's statements with its fields in that direction's order."""
    if direction == "as_given":
        return heldout.texts(name, seed=seed, pool=pool)
    if name not in PROOFNET:
        raise ValueError(f"direction {direction!r} applies to ProofNet ({', '.join(PROOFNET)}), not {name!r}")
    path = pools.default_data_dir() / heldout.FILES[name][0]
    heldout._need(path, name)
    records = read_records(str(path), text_fields=DIRECTIONS[direction], progress=False)
    return [records.text(i) for i in range(len(records))]


def _write_texts(path: Path, texts: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as out:
        out.write(b"".join(json.dumps({"text": t}).encode() + b"\n" for t in texts))
    return path


def _code_spec(spec: dict | None, task: dict, seed: int) -> dict | None:
    """What the models of a task evaluated on HumanEval's evaluation half generate: the
    problems, the sampling and a key for the cache (None for the other tasks)."""
    if spec is None or task["eval"] != "humaneval_eval":
        return None
    sampling = generation.Sampling.from_config({k: v for k, v in spec.items() if k != "every_budget"})
    problems = generation.humaneval_problems("eval", seed, sampling.problems)
    describe = {"sampling": sampling.describe(), "problems": list(problems), "every_budget": spec["every_budget"]}
    return {
        "sampling": sampling,
        "problems": problems,
        "every_budget": spec["every_budget"],
        "describe": describe,
        "key": fingerprint("humaneval pass@k", sampling.describe(), list(problems), generation.STOP),
    }


class _Trainer(Trainer):
    """The Trainer whose runs' trained models also complete HumanEval problems (while
    ``generating``), what that gives cached beside the run (``runs/NAME-code-KEY.json``, with
    the completions); a run cached without it is trained again to have its model."""

    def __init__(self, runner: Runner, config: dict, code: dict | None) -> None:
        super().__init__(runner, config)
        self.code, self.generating = code, False

    def _cached(self, name: str, compute: Callable[[], dict]) -> dict:
        if self.code is None or not self.generating or name.startswith("base-"):
            return super()._cached(name, compute)
        extra = f"{name}-code-{self.code['key']}"
        found = self._found(extra)
        if found is not None:
            return {**super()._cached(name, compute), "code": found["result"]}
        with generation.keeping_trained_models() as kept:
            result = compute()
            made = self._complete(kept[-1])
            kept.clear()
        self._save(extra, made)
        (self.runner.out / "runs" / f"{name}.ckpt").unlink(missing_ok=True)
        return {**super()._cached(name, lambda: result), "code": made["result"]}

    def base_code(self) -> dict:
        """pass@k of the model before training."""
        name = f"base-code-{fingerprint(self.settings.model, self.code['key'])}"
        found = self._found(name)
        if found is None:
            from ..baselines.models import resolve_device

            found = self._complete(training.load_model(self.settings, resolve_device(self.settings.device)))
            self._save(name, found)
        return found["result"]

    def _complete(self, lm: Any) -> dict:
        from ..baselines.models import load_tokenizer, resolve_device

        self.runner.say(f"generating code for {len(self.code['problems'])} HumanEval problems")
        device = resolve_device(self.settings.device)
        return generation.evaluate(
            lm, load_tokenizer(self.settings.model), self.code["problems"], self.code["sampling"], device
        )


def ranking(runner: Runner, task: str, method: str, target: list[str], seed: int, params: dict) -> Chosen:
    """The method's order of the whole pool: towards the target (ZIP-FIT, DSIR: the same
    for every seed), or random by ``seed`` (the same for every task)."""
    if method == "random":
        return runner.select(f"random seed {seed}", "random", budget=len(runner.pool), seed=seed, **params)
    return runner.select(f"{task} {method}", method, budget=len(runner.pool), target=target, **params)


def _mix(pool, indices: np.ndarray) -> dict[str, int]:
    """How many of the records come from each source (records without one: '?')."""
    counts: dict[str, int] = {}
    for i in indices:
        source = pool[int(i)].get("source", "?")
        counts[source] = counts.get(source, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def stream_tokens(pool, model: str) -> np.ndarray:
    """Each record's tokens in a packed training stream: the tokens of its prompt and
    response pieces as training encodes them, plus the end token."""
    ids, _ = training.encode_records(pool, range(len(pool)), model)
    return np.array([len(i) + 1 for i in ids], np.int64)


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


# --- the report: tables, plots and findings from results.json alone ---------------------------


def report(results: dict, out: Path) -> tuple[dict[str, list[dict]], list[str]]:
    """The tables, plots and findings of a results folder, from its results.json."""
    out = Path(out)
    tables: dict[str, list[dict]] = {"Every selection and its held-out loss (mean over seeds, 95% CI over seeds)": []}
    findings: list[str] = []
    tasks = results["tasks"]
    for name, task in tasks.items():
        runs = runs_of(task)
        cells = summarize(runs)
        eval_set = task["eval"] + (f", {task['direction']}" if task.get("direction", "as_given") != "as_given" else "")
        tables["Every selection and its held-out loss (mean over seeds, 95% CI over seeds)"] += [
            _selection_row(name, key, cell) for key, cell in cells.items()
        ]
        tables[f"{name}: held-out loss on {eval_set} (before training: {task['base_loss']:.4f})"] = _by_budget(
            cells, "loss"
        )
        if any(c["alignment"] is not None for c in cells.values()):
            tables[
                f"{name}: alignment of the trained records with the target {task['target']} (mean ZIP-FIT score)"
            ] = _by_budget(cells, "alignment")
        if CLEAN in {k[0] for k in cells}:
            tables[f"{name}: the leak's effect (pool as built minus decontaminated pool)"] = _leak_rows(cells)
            findings += _leak_findings(name, cells)
        for variant in dict.fromkeys(v for v, _, _ in cells):
            tables[
                f"{name} ({variant}): tokens each method needs to reach a loss (interpolated in log tokens; "
                f"'<= N': already at the smallest budget)"
            ] = _reach_rows(task, cells, variant)
        if task.get("code"):
            problems = len(task["code"]["problems"])
            tables[f"{name}: pass@k on {problems} HumanEval problems of the evaluation half (mean over seeds)"] = (
                _code_rows(task, cells)
            )
            findings += _zipfit_against(name, cells, task["methods"], "greedy pass@1", "greedy pass@1", False)
        findings += _zipfit_against(name, cells, task["methods"], "loss", "held-out loss", True)
        findings += _against_controls(name, cells, task.get("matched", []))
        findings += _alignment_findings(name, runs)
        _loss_plot(out / f"{name}_loss_vs_tokens.png", name, task, cells)
        if any(c["alignment"] is not None for c in cells.values()):
            alignment_figure(out / f"{name}_alignment_vs_loss.png", name, task, cells)
    if results.get("pool_tokens"):
        tables["Every selection and its held-out loss (mean over seeds, 95% CI over seeds)"] = [
            {**row, "% of pool tokens": round(100 * row["tokens"] / results["pool_tokens"], 3)}
            for row in tables["Every selection and its held-out loss (mean over seeds, 95% CI over seeds)"]
        ]
    return tables, findings


def runs_of(task: dict) -> list[dict]:
    """A task's runs, each with its pool (``variant``; a task without decontamination has
    only the pool as built)."""
    return [{"variant": POOL, **r} for r in task["runs"]]


def summarize(runs: list[dict]) -> dict[tuple[str, str, int], dict]:
    """Per (pool, method, budget): the runs' figures, each a mean with its 95% interval over
    seeds and the bootstrap means (``stats.over_seeds``)."""
    cells: dict[tuple[str, str, int], dict] = {}
    for key in dict.fromkeys((r["variant"], r["method"], r["budget"]) for r in runs):
        mine = [r for r in runs if (r["variant"], r["method"], r["budget"]) == key]
        losses = [r["loss"] for r in mine]
        cell = {
            "runs": mine,
            "seeds": len(mine),
            "records": float(np.mean([r["records"] for r in mine])),
            "tokens": float(np.mean([r["tokens"] for r in mine])),
            "fill": float(np.mean([r.get("fill", r["tokens"] / r["budget"]) for r in mine])),
            "steps": float(np.mean([r["steps"] for r in mine])) if "steps" in mine[0] else None,
            "leaked": float(np.mean([r["leaked"] for r in mine])) if mine[0].get("leaked") is not None else None,
            "mix": mine[0]["mix"],
            "loss": stats.over_seeds(losses),
            "loss_sd": mean_sd(losses)[1],
            "alignment": stats.over_seeds([r["alignment"] for r in mine]) if "alignment" in mine[0] else None,
        }
        if "code" in mine[0]:
            for part, ks in (("greedy", ["pass@1"]), ("sampled", None)):
                if part in mine[0]["code"]:
                    for k in ks or [k for k in mine[0]["code"][part] if k.startswith("pass@")]:
                        cell[f"{part} {k}"] = stats.over_seeds([r["code"][part][k] for r in mine])
        cells[key] = cell
    return cells


def _mean_ci(figure) -> tuple[float, list[float]]:
    return round(figure[0], 4), [round(figure[1][0], 4), round(figure[1][1], 4)]


def _selection_row(task: str, key: tuple, cell: dict) -> dict:
    variant, method, budget = key
    loss, loss_ci = _mean_ci(cell["loss"])
    align = _mean_ci(cell["alignment"]) if cell["alignment"] is not None else ("", "")
    return {
        "task": task,
        "pool": variant,
        "method": method,
        "budget": budget,
        "seeds": cell["seeds"],
        "records": round(cell["records"], 1),
        "tokens": round(cell["tokens"], 1),
        "fill %": round(100 * cell["fill"], 2),
        "steps": "" if cell["steps"] is None else round(cell["steps"], 1),
        "leaked records": "" if cell["leaked"] is None else round(cell["leaked"], 1),
        "alignment": align[0],
        "alignment 95% CI": align[1],
        "held-out loss": loss,
        "loss 95% CI": loss_ci,
        "sources (first seed)": ", ".join(f"{s} {n}" for s, n in list(cell["mix"].items())[:3]),
    }


def _by_budget(cells: dict, figure: str) -> list[dict]:
    rows: dict[tuple[str, str], dict] = {}
    for (variant, method, budget), cell in cells.items():
        row = rows.setdefault((variant, method), {"pool": variant, "method": method})
        mean, ci = _mean_ci(cell[figure])
        row[f"{budget:,} tok"] = mean
        row[f"{budget:,} tok 95% CI"] = ci
    return list(rows.values())


def _difference(a, b) -> tuple[float, list[float]]:
    """(a - b) of two figures from ``stats.over_seeds``, with the interval of the difference
    (independent draws: two methods' runs)."""
    return a[0] - b[0], stats.difference(a[2], b[2])


def _paired(cell: dict, other: dict, figure: str) -> tuple[float, list[float], int]:
    """(cell - other) of a figure, run by run: the runs of the same seed on the two pools
    (the same ranking, the same training seed) differ only by the leaked records; the mean
    difference, its 95% interval over seeds and how many seeds."""
    theirs = {r["seed"]: r for r in other["runs"]}
    diffs = [r[figure] - theirs[r["seed"]][figure] for r in cell["runs"] if r["seed"] in theirs]
    mean, ci, _ = stats.over_seeds(diffs)
    return mean, ci, len(diffs)


def _finding(what: str, a: str, b: str, value: float, ci: list[float], lower_is_better: bool, seeds: int) -> str:
    """``stats.finding``, but with one seed on a side there is no interval to judge by."""
    if seeds < 2:
        return f"{a} vs {b}, {what}: {value:+.4g} (one seed: no interval, no verdict)."
    return stats.finding(what, a, b, value, ci, lower_is_better)


def _leak_rows(cells: dict) -> list[dict]:
    rows = []
    for (variant, method, budget), cell in cells.items():
        clean = cells.get((CLEAN, method, budget))
        if variant != POOL or clean is None:
            continue
        loss, loss_ci, seeds = _paired(cell, clean, "loss")
        row = {
            "method": method,
            "budget": budget,
            "leaked records (pool)": "" if cell["leaked"] is None else round(cell["leaked"], 1),
            "loss (pool)": round(cell["loss"][0], 4),
            "loss (decontaminated)": round(clean["loss"][0], 4),
            "loss difference": round(loss, 4),
            "loss difference 95% CI": [round(v, 4) for v in loss_ci],
            "loss verdict": stats.verdict(loss_ci, lower_is_better=True) if seeds > 1 else "one seed",
        }
        if cell["alignment"] is not None:
            value, ci, _ = _paired(cell, clean, "alignment")
            row.update(
                {
                    "alignment (pool)": round(cell["alignment"][0], 4),
                    "alignment (decontaminated)": round(clean["alignment"][0], 4),
                    "alignment difference": round(value, 4),
                    "alignment difference 95% CI": [round(v, 4) for v in ci],
                }
            )
        rows.append(row)
    return rows


def _leak_findings(task: str, cells: dict) -> list[str]:
    out = []
    largest = max(b for _, _, b in cells)
    for (variant, method, budget), cell in cells.items():
        clean = cells.get((CLEAN, method, budget))
        if variant != POOL or clean is None:
            continue
        value, ci, seeds = _paired(cell, clean, "loss")
        leaked = (
            f" ({cell['leaked']:.1f} leaked records of {cell['records']:.1f})" if cell["leaked"] is not None else ""
        )
        mine, theirs = f"{method} on the pool with the leak", f"{method} on the decontaminated pool"
        out.append(
            f"{task}, {budget:,} tokens: " + _finding("held-out loss", mine + leaked, theirs, value, ci, True, seeds)
        )
        if budget == largest and cell["alignment"] is not None:
            value, ci, seeds = _paired(cell, clean, "alignment")
            out.append(
                f"{task}, {budget:,} tokens: "
                + _finding("alignment with the target", mine, theirs, value, ci, False, seeds)
            )
    return out


def _zipfit_against(
    task: str, cells: dict, methods: list[str], figure: str, what: str, lower_is_better: bool
) -> list[str]:
    """ZIP-FIT against each other method on ``figure`` (``what`` it is, in words), per pool and
    budget, where both have it."""
    out = []
    for (variant, method, budget), cell in cells.items():
        if method != "zipfit" or figure not in cell:
            continue
        for other in methods:
            theirs = cells.get((variant, other, budget))
            if other == "zipfit" or theirs is None or figure not in theirs:
                continue
            value, ci = _difference(cell[figure], theirs[figure])
            seeds = min(cell["seeds"], theirs["seeds"])
            out.append(
                f"{task} ({variant}), {budget:,} tokens: "
                + _finding(what, "zipfit", other, value, ci, lower_is_better, seeds)
            )
    return out


def _against_controls(task: str, cells: dict, matched: list[str]) -> list[str]:
    """Each matched method against its length-matched and null controls on held-out loss, per
    pool and budget where both ran (independent draws: the controls' seeds are their own)."""
    out = []
    for (variant, method, budget), cell in cells.items():
        if method not in matched:
            continue
        for kind in CONTROLS:
            theirs = cells.get((variant, control_label(kind, method), budget))
            if theirs is None:
                continue
            value, ci = _difference(cell["loss"], theirs["loss"])
            seeds = min(cell["seeds"], theirs["seeds"])
            out.append(
                f"{task} ({variant}), {budget:,} tokens: "
                + _finding("held-out loss", method, control_label(kind, method), value, ci, True, seeds)
            )
    return out


def correlation(x: list[float], y: list[float], resamples: int = 2000, seed: int = 0) -> tuple[float, list[float]]:
    """Pearson's r of (x, y) and its 95% bootstrap interval (points resampled)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan"), [float("nan"), float("nan")]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        k = rng.integers(0, len(x), len(x))
        if np.std(x[k]) > 0 and np.std(y[k]) > 0:
            draws.append(np.corrcoef(x[k], y[k])[0, 1])
    return float(np.corrcoef(x, y)[0, 1]), stats.interval(np.asarray(draws))


def _alignment_findings(task: str, runs: list[dict]) -> list[str]:
    """Per budget: how alignment and held-out loss go together over every run (the paper's
    figure: higher alignment, lower loss)."""
    out = []
    for budget in dict.fromkeys(r["budget"] for r in runs):
        mine = [
            r
            for r in runs
            if r["budget"] == budget and r.get("alignment") is not None and r["alignment"] == r["alignment"]
        ]
        # A run the two pools share (the same selection) counts once.
        mine = list({(r["method"], r["seed"], r["records"], r["tokens"], r["loss"]): r for r in mine}.values())
        r, ci = correlation([m["alignment"] for m in mine], [m["loss"] for m in mine])
        if r != r:
            continue
        shown = "negative" if ci[1] < 0 else "positive" if ci[0] > 0 else "no correlation shown"
        out.append(
            f"{task}, {budget:,} tokens: alignment against held-out loss over {len(mine)} runs: Pearson r = {r:+.3f} "
            f"(95% CI {ci[0]:+.3f} to {ci[1]:+.3f}; {shown})."
        )
    return out


def _reach_rows(task: dict, cells: dict, variant: str) -> list[dict]:
    """Per method, the tokens at which its curve reaches each reference loss: the task's
    ``reach_loss``, else the loss each method but ZIP-FIT reaches at the largest budget."""
    ranked = set(task["methods"])  # a control, drawn at some budgets only, has no curve
    curve = {(m, b): c for (v, m, b), c in cells.items() if v == variant and m in ranked}
    largest = max(b for _, b in curve)
    given = task.get("reach_loss")
    if given is not None:
        reach = {f"loss {v}": float(v) for v in (given if isinstance(given, list) else [given])}
    else:
        reach = {f"{m} at {largest:,}": c["loss"][0] for (m, b), c in curve.items() if b == largest and m != "zipfit"}
    rows = []
    for method in dict.fromkeys(m for m, _ in curve):
        row = {"method": method}
        points = [(c["tokens"], c["loss"][0]) for (m, _), c in curve.items() if m == method]
        for label, loss in reach.items():
            row[f"{label} ({loss:.4f})"] = _tokens(tokens_to_reach(points, loss))
        rows.append(row)
    return rows


def _tokens(reached: dict | None) -> str:
    if reached is None:
        return "not reached"
    return f"<= {reached['tokens']:,.0f}" if reached["at_most"] else f"{reached['tokens']:,.0f}"


def _code_rows(task: dict, cells: dict) -> list[dict]:
    figures = sorted({k for c in cells.values() for k in c if k.startswith(("greedy ", "sampled "))})
    base = task["code"].get("base", {})
    rows = [
        {
            "pool": "(no training)",
            "method": "",
            "budget": "",
            **{f: round(base.get(f.split()[0], {}).get(f.split()[1], float("nan")), 4) for f in figures},
            **{f"{f} 95% CI": "" for f in figures},
        }
    ]
    for (variant, method, budget), cell in cells.items():
        if not any(f in cell for f in figures):
            continue
        row = {"pool": variant, "method": method, "budget": budget}
        for f in figures:
            mean, ci = _mean_ci(cell[f]) if f in cell else ("", "")
            row[f] = mean
            row[f"{f} 95% CI"] = ci
        rows.append(row)
    keys = list(dict.fromkeys(k for row in rows for k in row))
    return [{k: row.get(k, "") for k in keys} for row in rows]


def _label(variant: str, method: str) -> str:
    return method if variant == POOL else f"{method} ({variant})"


def _loss_plot(path: Path, name: str, task: dict, cells: dict) -> None:
    series, bands = {}, {}
    for variant, method in dict.fromkeys((v, m) for v, m, _ in cells):
        mine = sorted(((b, c) for (v, m, b), c in cells.items() if (v, m) == (variant, method)), key=lambda bc: bc[0])
        series[_label(variant, method)] = ([c["tokens"] for _, c in mine], [c["loss"][0] for _, c in mine])
        bands[_label(variant, method)] = [c["loss_sd"] for _, c in mine]
    plots.lines(
        series,
        "tokens trained (log scale)",
        f"cross-entropy on {task['eval']} (nats/token)",
        f"{name}: held-out loss against tokens trained (target: {task['target']}; mean over seeds, shaded: +- sd)",
        path,
        log_x=True,
        reference=(f"before training: {task['base_loss']:.3f}", task["base_loss"]),
        bands=bands,
    )


def alignment_points(cells: dict) -> dict[str, list]:
    """The alignment figure's data: per (pool, method, budget), the mean alignment and mean
    held-out loss over seeds, the half-width of the loss's interval, and a least-squares line
    of loss on alignment per budget."""
    keys = [k for k, c in cells.items() if c["alignment"] is not None]
    fits = []
    for budget in dict.fromkeys(b for _, _, b in keys):
        x = [cells[k]["alignment"][0] for k in keys if k[2] == budget]
        y = [cells[k]["loss"][0] for k in keys if k[2] == budget]
        if len(x) >= 2 and np.ptp(x) > 0:
            slope, intercept = np.polyfit(x, y, 1)
            fits.append((f"fit at {budget:,} tokens", float(slope), float(intercept)))
    return {
        "x": [cells[k]["alignment"][0] for k in keys],
        "y": [cells[k]["loss"][0] for k in keys],
        "groups": [_label(k[0], k[1]) for k in keys],
        "shapes": [f"{k[2]:,} tokens" for k in keys],
        "errors": [(cells[k]["loss"][1][1] - cells[k]["loss"][1][0]) / 2 for k in keys],
        "fits": fits,
        "keys": keys,
    }


def alignment_figure(path: Path, name: str, task: dict, cells: dict) -> None:
    """The paper's figure: held-out loss against the alignment of the trained records with
    the target, one point per (pool, method, budget), a line per budget."""
    data = alignment_points(cells)
    plots.fitted_by(
        data["x"],
        data["y"],
        data["groups"],
        data["shapes"],
        data["fits"],
        f"alignment with {task['target']} (mean ZIP-FIT score of the trained records)",
        f"cross-entropy on {task['eval']} (nats/token)",
        f"{name}: held-out loss against alignment (mean over seeds, bars: 95% CI over seeds; a line per budget)",
        path,
        errors=data["errors"],
    )
