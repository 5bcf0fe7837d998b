"""``zipkit experiment train``: proxy fine-tuning on every method's selection and on the
controls, at budgets of the experiment's own that each of them fills.

``[train] methods = DIR`` names a ``methods`` experiment's output folder: its methods (labels,
parameters, target, device, ZIP's K1/K2/K3) select again here, on the pool of ``[pool]`` (``from
= DIR``: the same pool, so the perplexity, IFD and embedding passes come from the cache), at
each token budget: ``budget_tokens`` (tokens of the trained model's tokenizer) and ``budgets``
(fractions of the pool's tokens). Every method fills each budget to within one record (issue
23, item 1); ``only`` keeps some of its labels. The controls, at the same budget:

- ``random``: one draw per seed of ``random_seeds`` (the methods experiment's ``random`` row is
  this control);
- ``length-matched to M`` and ``null of M`` for each method M of ``matched`` (those ``only``
  keeps): records drawn to the length distribution of M's selection, and records M left out;
  one draw per seed of ``matched_seeds`` (``stats.control``).

Every run trains the same model with the same ``[train.settings]`` (``training.Settings``) on its
whole selection (every record once per epoch, the same epochs for all; ``tokens`` cuts every run
to that many tokens instead), the loss over the responses. A method's selection is trained once
per seed of ``seeds``; a control's draw once, with its draw's seed. Held-out sets are named in
``eval`` (see ``heldout``), ``eval_limit`` texts each; ``min_held_out`` (all sets together) and
``min_steps`` (each run) are refused when not met, before any training.

Per run: its held-out losses, first-epoch loss, steps, tokens, and the compression ratio
(``measure``) of exactly the records it trained on. Per method or control: the mean held-out
loss with a bootstrap 95% interval over its seeds or draws (``stats.over_seeds``), and its
difference from the controls (and ZIP's from every other method); a finding says "better" only
where the difference's interval excludes 0 (``stats.finding``), and gives no verdict where a
side has a single run. ``report`` makes the tables, plots and findings from results.json alone.

Runs are cached in ``OUT/runs/`` by everything that decides their result, so a rerun, or
another experiment over the same runs (``reuse = [DIR, ...]``), does not train again; a killed
run continues from its checkpoint (``OUT/runs/*.ckpt``, removed when the run ends).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np

from ..budget import token_counts
from ..identity import fingerprint, records_identity
from ..io import atomic_output
from ..ratio import framed_ratio
from ..results import plots
from ..summary import Chosen
from . import heldout, pools, stats, training
from .runner import Runner, _safe
from .schema import BASELINES, validate

NAME = "train"
TITLE = "Proxy training on each method's selection and the controls, at equal tokens"
CONTROL_GROUPS = ("random", "length-matched", "null")


def run(runner: Runner, config: dict) -> None:
    """Run the proxy training of ``config`` into ``out``; the results."""
    config = validate(config, "the config", NAME)
    study = Study(runner, config)
    runner.write(NAME, config, {"title": TITLE, **study.run()})


# --- the study: selections at each budget, the controls, a run per (selection, seed) -----------


class Study:
    """The selections of the train experiment's ``[train]`` at each budget and their runs;
    the entropy-law experiment adds selections of its own (``extra``)."""

    def __init__(self, runner: Runner, config: dict) -> None:
        spec = config["train"]
        self.runner, self.spec = runner, spec
        self.trainer = Trainer(runner, config)
        model = self.trainer.settings.model
        scored, sets = self.trainer.texts_scored, ", ".join(self.trainer.eval_names)
        if scored < spec["min_held_out"]:
            raise ValueError(
                f"[train] min_held_out = {spec['min_held_out']}: the held-out sets {sets} hold {scored} texts "
                f"of two or more tokens at eval_limit = {spec['eval_limit']}: raise eval_limit or add sets"
            )
        every = method_list(spec["methods"])
        unknown = [m for m in spec["matched"] if m not in every]
        if unknown:
            raise ValueError(
                f"[train] matched: {', '.join(unknown)} is not a method of {spec['methods']} ({', '.join(every)})"
            )
        self.methods = method_list(spec["methods"], spec["only"])
        self.matched = [m for m in spec["matched"] if m in self.methods]  # those ``only`` leaves
        runner.say(f"counting the pool's tokens ({model})")
        self.tokens = token_counts(runner.pool, model)
        self.budgets = budgets_of(spec, int(self.tokens.sum()))
        self.payloads = runner.pool.payloads("text")
        self._ratios: dict[bytes, float] = {}

    def selections(self, budget: int) -> list[dict]:
        """Each method's selection at ``budget`` tokens and the controls' draws: entries of
        ``selection`` (a Chosen), ``row`` (the line of the tables it counts in), ``group``,
        ``draw`` (a control's seed, else None) and ``seeds`` (its training seeds)."""
        model = self.trainer.settings.model
        out, target = [], {}
        for label, (method, params) in self.methods.items():
            params = dict(params)
            if "target" in params:  # (file, fields) -> the texts, read once
                key = tuple(map(str, params["target"]))
                if key not in target:
                    target[key] = pools.target_texts(*params["target"])
                params["target"] = target[key]
            chosen = self.runner.select(label, method, budget_tokens=budget, tokenizer=model, **params)
            out.append(
                {"selection": chosen, "row": label, "group": "method", "draw": None, "seeds": self.trainer.seeds}
            )
        for seed in self.spec["random_seeds"]:
            indices = stats.random_control(self.tokens, budget, seed)
            out.append(_control(f"random seed {seed}", indices, "random", "random", seed))
        by_label = {e["row"]: e["selection"] for e in out}
        for label in self.matched:
            for kind, row in (("length-matched", f"length-matched to {label}"), ("null", f"null of {label}")):
                for seed in self.spec["matched_seeds"]:
                    indices = stats.control(kind, self.tokens, by_label[label].indices, budget, seed)
                    out.append(_control(f"{row} seed {seed}", indices, row, kind, seed))
        return out

    def run(self, extra: Callable[[int, list[dict]], list[dict]] | None = None) -> dict:
        """Every selection at every budget trained (``extra(budget, entries)``: more entries,
        each with ``cut``: the tokens its runs are cut to, or None); the results."""
        plans = []
        for budget in self.budgets:
            self.runner.say(f"selecting at {budget:,} tokens")
            entries = self.selections(budget)
            if extra is not None:
                entries += extra(budget, entries)
            for entry in entries:
                entry.setdefault("cut", self.trainer.asked_tokens)
                plans.append((budget, entry))
        encoded = self._encode(plans)
        self._check_steps(plans, encoded)
        runs = []
        for budget, entry in plans:
            c = entry["selection"]
            ids, trained = encoded[_key(c)]
            for seed in entry["seeds"]:
                row = self.trainer.one(c, ids, trained, seed, entry["cut"])
                runs.append(
                    {
                        "budget": budget,
                        "row": entry["row"],
                        "group": entry["group"],
                        "draw": entry["draw"],
                        "selection": c.name,
                        "selected_tokens": int(self.tokens[c.indices].sum()),
                        "ratio": self.ratio(c, ids, seed, entry["cut"]),
                        **_compact(row),
                    }
                )
        return self.describe(runs)

    def _encode(self, plans: list) -> dict:
        model = self.trainer.settings.model
        encoded: dict = {}
        for _, entry in plans:
            c = entry["selection"]
            if _key(c) not in encoded:
                encoded[_key(c)] = training.encode_records(self.runner.pool, c.indices, model)
        return encoded

    def _check_steps(self, plans: list, encoded: dict) -> None:
        """Refuse, before any training, a run of fewer steps than ``min_steps``."""
        least = self.spec["min_steps"]
        s = self.trainer.settings
        for budget, entry in plans:
            ids = encoded[_key(entry["selection"])][0]
            steps = training.steps_of([len(i) for i in ids], s, entry["cut"])
            if steps < least:
                raise ValueError(
                    f"[train] min_steps = {least}: {entry['selection'].name} at {budget:,} tokens trains "
                    f"{steps} steps of batch_size x seq_len = {s.tokens_per_step:,} tokens x {s.epochs} epoch(s): "
                    f"raise the budget or lower batch_size or seq_len"
                )

    def ratio(self, c: Chosen, ids: list, seed: int, cut: int | None) -> float:
        """The compression ratio (``measure``) of exactly the records a run trains on: the
        selection's records, whole; under a cut, the records the cut holds, the one it ends in
        cut to the tokens it keeps (decoded)."""
        measure = self.spec["measure"]
        if cut is None:  # the same for every seed
            key = _key(c)
            if key not in self._ratios:
                self._ratios[key] = framed_ratio([self.payloads[int(i)] for i in c.indices], "text", measure)
            return self._ratios[key]
        kept = training.kept_tokens([len(i) for i in ids], cut, self.trainer.settings, seed)
        tokenizer = training.load_tokenizer(self.trainer.settings.model)
        items = []
        for k, i in enumerate(c.indices):
            if kept[k] > len(ids[k]):  # the whole record and its end token
                items.append(bytes(self.payloads[int(i)]))
            elif kept[k] > 0:
                items.append(tokenizer.decode(ids[k][: kept[k]].tolist()).encode("utf-8", "surrogatepass"))
        return framed_ratio(items, "text", measure)

    def describe(self, runs: list[dict]) -> dict:
        """The study's settings, for results.json."""
        t = self.trainer
        total = int(self.tokens.sum())
        return {
            "settings": asdict(t.settings),
            "tokenizer": t.settings.model,
            "pool_tokens": total,
            "budgets": [{"tokens": b, "share": round(b / total, 6)} for b in self.budgets],
            "cut": t.asked_tokens,
            "measure": self.spec["measure"],
            "seeds": t.seeds,
            "random_seeds": self.spec["random_seeds"],
            "matched": self.matched,
            "matched_seeds": self.spec["matched_seeds"],
            "methods": {label: {"method": m, "params": _shown(p)} for label, (m, p) in self.methods.items()},
            "held_out_sets": {n: len(v) for n, v in t.held_out.items()},
            "held_out_texts": t.texts_scored,
            "held_out_tokens": {
                n: int(sum(min(len(i), t.settings.eval_max_tokens) for i in v)) for n, v in t.held_out.items()
            },
            "base_held_out": t.base,
            "runs": runs,
            # what the runs cost when they were made (a rerun from the cache takes seconds)
            "runs_train_seconds": round(sum(r["train_seconds"] for r in runs), 1),
            "runs_eval_seconds": round(sum(r["eval_seconds"] for r in runs), 1),
        }


def _control(label: str, indices: np.ndarray, row: str, group: str, seed: int) -> dict:
    """A control's draw, trained once, with its draw's seed."""
    chosen = Chosen(label, np.asarray(indices, dtype=np.int64), None, {"control": group, "seed": seed})
    return {"selection": chosen, "row": row, "group": group, "draw": seed, "seeds": [seed]}


def _key(c: Chosen) -> bytes:
    return np.ascontiguousarray(c.indices, dtype=np.int64).tobytes()


def _compact(row: dict) -> dict:
    """A run's figures for results.json: its loss curve as at most 200 points (mean loss over
    equal spans of steps, against the tokens trained by each span's end)."""
    losses = np.asarray(row.pop("losses"), dtype=float)
    per_step = row["tokens"] / max(row["steps"], 1)
    spans = np.array_split(np.arange(len(losses)), min(len(losses), 200)) if len(losses) else []
    row["curve"] = [
        [round(float(per_step * (s[-1] + 1)), 1), round(float(np.nanmean(losses[s])), 5)]
        for s in spans
        if np.isfinite(losses[s]).any()
    ]
    return row


def _shown(params: dict) -> dict:
    """A method's parameters as results.json records them (the target by its file)."""
    return {k: (list(v) if k == "target" else v) for k, v in params.items()}


def budgets_of(spec: dict, pool_tokens: int) -> list[int]:
    """The token budgets: ``budget_tokens``, then ``budgets`` (fractions of the pool's tokens)."""
    out = list(spec["budget_tokens"] or []) + [int(round(f * pool_tokens)) for f in spec["budgets"] or []]
    for b in out:
        if b > pool_tokens:
            raise ValueError(f"[train] a budget of {b:,} tokens is more than the pool holds ({pool_tokens:,})")
    return list(dict.fromkeys(out))


def method_list(folder: str, only: list[str] | None = None) -> dict[str, tuple[str, dict]]:
    """The methods of the ``methods`` experiment whose output is ``folder``: label -> (method,
    parameters), ZIP first, then its baselines less ``random`` (a control here); a target as
    (file, fields), read when selecting. ``only``: these labels."""
    from .. import methods

    path = Path(folder) / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"[train] methods = {str(folder)!r}: no {path}; run the methods experiment first")
    spec = json.loads(path.read_text())["config"].get("methods", {})
    out = {"zip": ("zip", {k: spec[k] for k in ("k1", "k2", "k3") if spec.get(k) is not None})}
    for label in spec.get("baselines", list(BASELINES)):
        if label == "random":
            continue
        method, params = BASELINES.get(label, (label, {}))
        params = {**params, **spec.get("params", {}).get(label, {})}
        takes = methods.get(method).parameters()
        if "target" in takes:
            if spec.get("target") is None:
                raise ValueError(f"{path}: [methods] has no target for {label}")
            params["target"] = (spec["target"], spec.get("target_fields"))
        if "device" in takes:
            params["device"] = spec.get("device", "auto")
        out[label] = (method, params)
    if only is not None:
        missing = [label for label in only if label not in out and label != "random"]
        if missing:
            raise ValueError(
                f"[train] only: no method labelled {', '.join(missing)} in {path}; it has {', '.join(out)}"
            )
        out = {label: out[label] for label in out if label in only}
    return out


# --- the trainer: one cached run --------------------------------------------------------------


class Trainer:
    """Trains the runs of an experiment and caches each one's result; ``config`` is validated
    (``schema.validate``: its ``[train]`` table holds every key, defaults filled in)."""

    def __init__(self, runner: Runner, config: dict) -> None:
        spec = config["train"]
        self.runner = runner
        self.settings = training.Settings.from_config(spec["settings"])
        self.seeds = list(spec["seeds"])
        self.asked_tokens = spec["tokens"]
        self.reuse = [Path(p) / "runs" for p in spec["reuse"]]
        self.eval_names = list(spec["eval"])
        limit = spec["eval_limit"]
        runner.say(f"held-out sets: {', '.join(self.eval_names)}")
        texts = {
            name: heldout.texts(name, limit=limit, pool=config["pool"], seed=spec["eval_seed"])
            for name in self.eval_names
        }
        self.held_out = {name: training.encode(t, self.settings.model) for name, t in texts.items()}
        self.texts_scored = sum(len(i) > 1 for v in self.held_out.values() for i in v)
        self.end = training.end_token(self.settings.model)
        self.eval_key = fingerprint(self.eval_names, limit, data=json.dumps(texts, sort_keys=True).encode())
        (runner.out / "runs").mkdir(parents=True, exist_ok=True)
        self._base: dict[str, float] | None = None

    @property
    def base(self) -> dict[str, float]:
        """The held-out losses of the model before training (cached like a run)."""
        if self._base is None:
            name = f"base-{fingerprint('base', self.settings.model, self.eval_key)}"
            self._base = self._cached(name, lambda: {"held_out": training.base_losses(self.settings, self.held_out)})[
                "held_out"
            ]
        return self._base

    def run_all(self, chosen: list[Chosen], tokens: int | None = None, seeds: list[int] | None = None) -> list[dict]:
        """Every selection once per seed (``seeds``, else the config's), cut to ``tokens``
        (else the config's), else each on its whole selection (:func:`training.pack_whole`)."""
        tokens = tokens or self.asked_tokens
        self.base  # noqa: B018 - the reference point, before the runs
        rows = []
        for c in chosen:
            ids, trained = training.encode_records(self.runner.pool, c.indices, self.settings.model)
            for seed in seeds if seeds is not None else self.seeds:
                rows.append(self.one(c, ids, trained, seed, tokens))
        return rows

    def one(self, c: Chosen, ids: list, trained: list, seed: int, tokens: int | None) -> dict:
        """One run of selection ``c`` (its records' ids and trained masks) with ``seed``: its
        whole selection, or cut to ``tokens``; from the cache when it ran before."""
        self.base  # noqa: B018
        key = fingerprint(
            "train",
            "loss on responses",  # runs whose loss took the prompts too are not these
            asdict(self.settings),
            seed,
            tokens,
            self.eval_key,
            data=np.ascontiguousarray(c.indices).tobytes() + records_identity(self.runner.pool)["bytes"].encode(),
        )
        name = f"{_safe(c.name)}-seed{seed}-{key}"

        def train() -> dict:
            if tokens is None:
                self.runner.say(f"training on {c.name}, seed {seed}: the whole selection")
                blocks, mask = training.pack_whole(ids, trained, self.end, self.settings, seed)
            else:
                self.runner.say(f"training on {c.name}, seed {seed}: {tokens:,} tokens")
                blocks = training.pack(ids, self.end, tokens, self.settings, seed)
                # The same order and cut: which tokens of the blocks are responses (trained).
                mask = training.pack(trained, 1, tokens, self.settings, seed)
            result = training.train(
                blocks,
                self.settings,
                seed,
                self.held_out,
                checkpoint=self.runner.out / "runs" / f"{name}.ckpt",
                say=self.runner.say,
                trained=mask,
            )
            return result.to_dict()

        result = self._cached(name, train)
        return {
            "selection": c.name,
            "seed": seed,
            "records": len(c.indices),
            "cut": tokens,
            "epochs": self.settings.epochs,
            **result,
            "held_out_mean": float(np.mean(list(result["held_out"].values()))),
        }

    def _cached(self, name: str, compute) -> dict:
        """``runs/NAME.json`` (here or in a reused folder), else ``compute()`` saved there."""
        found = self._found(name)
        if found is not None:
            return found
        result = compute()
        self._save(name, result)
        (self.runner.out / "runs" / f"{name}.ckpt").unlink(missing_ok=True)
        return result

    def _found(self, name: str) -> dict | None:
        for folder in [self.runner.out / "runs", *self.reuse]:
            if (folder / f"{name}.json").is_file():
                return json.loads((folder / f"{name}.json").read_text())
        return None

    def _save(self, name: str, value: dict) -> None:
        with atomic_output(self.runner.out / "runs" / f"{name}.json") as out:
            out.write(json.dumps(value).encode())


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation over seeds (0 for a single seed)."""
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


# --- the report: tables, plots and findings from results.json alone ----------------------------


def summarize(results: dict, budget: int) -> list[dict]:
    """Per table row (a method, or a control over its draws) at ``budget``: the means of its
    runs' figures and the held-out loss's bootstrap over its seeds (``stats.over_seeds``)."""
    runs = [r for r in results["runs"] if r["budget"] == budget]
    out = []
    for row in dict.fromkeys(r["row"] for r in runs):
        mine = [r for r in runs if r["row"] == row]
        mean, ci, draws = stats.over_seeds([r["held_out_mean"] for r in mine])
        out.append(
            {
                "row": row,
                "group": mine[0]["group"],
                "runs": len(mine),
                "records": float(np.mean([r["records"] for r in mine])),
                "selected_tokens": float(np.mean([r["selected_tokens"] for r in mine])),
                "steps": float(np.mean([r["steps"] for r in mine])),
                "tokens": float(np.mean([r["tokens"] for r in mine])),
                "trained_tokens": float(np.mean([r["trained_tokens"] for r in mine])),
                "epochs": mine[0]["epochs"],
                "ratio": float(np.mean([r["ratio"] for r in mine])),
                "first_epoch_loss": float(np.nanmean([r["first_epoch_loss"] for r in mine])),
                "held_out": {n: float(np.mean([r["held_out"][n] for r in mine])) for n in mine[0]["held_out"]},
                "held_out_mean": mean,
                "ci": ci,
                "draws": draws,
                "values": [r["held_out_mean"] for r in mine],
            }
        )
    return out


def comparisons(summary: list[dict]) -> list[tuple[str, str]]:
    """(a, b) pairs compared: each method against the random control and its own matched
    controls, and ZIP against every other method."""
    rows = {s["row"]: s for s in summary}
    methods = [s["row"] for s in summary if s["group"] == "method"]
    pairs = [(m, "random") for m in methods if "random" in rows]
    for m in methods:
        pairs += [(m, c) for c in (f"length-matched to {m}", f"null of {m}") if c in rows]
    if "zip" in rows:
        pairs += [("zip", m) for m in methods if m != "zip"]
    return pairs


def differences(summary: list[dict]) -> dict[tuple[str, str], tuple[float, list[float] | None]]:
    """(a, b) -> the difference of mean held-out loss (a - b) and its 95% interval (None where
    a side has a single run: one run has no spread to resample)."""
    rows = {s["row"]: s for s in summary}
    out = {}
    for a, b in comparisons(summary):
        spread = rows[a]["runs"] > 1 and rows[b]["runs"] > 1
        ci = stats.difference(rows[a]["draws"], rows[b]["draws"]) if spread else None
        out[(a, b)] = (rows[a]["held_out_mean"] - rows[b]["held_out_mean"], ci)
    return out


def finding(what: str, a: str, b: str, value: float, ci: list[float] | None) -> str:
    """``stats.finding`` (lower loss is better), or the difference alone where it has no interval."""
    if ci is None:
        return f"{a} vs {b}, {what}: {value:+.4g}, no interval (a single run on one side: add seeds or draws)."
    return stats.finding(what, a, b, value, ci, lower_is_better=True)


def budget_title(results: dict, budget: dict) -> str:
    """How a budget is named in titles: its tokens, their share of the pool, the tokenizer."""
    share = f"{100 * budget['share']:.2g}% of the pool's tokens"
    return f"{budget['tokens']:,} {_model_name(results['tokenizer'])} tokens ({share})"


def training_of(results: dict) -> str:
    """What every run trained on, for titles."""
    s = results["settings"]
    what = "each whole selection" if results["cut"] is None else f"{results['cut']:,} tokens of each selection"
    epochs = f"{s['epochs']} epoch" + ("s" if s["epochs"] != 1 else "")
    return f"{what}, {epochs}, batches of {s['batch_size']} x {s['seq_len']} tokens"


def report(results: dict, out: Path) -> tuple[dict[str, list[dict]], list[str]]:
    """The tables, plots and findings of a results folder, from its results.json."""
    out = Path(out)
    check_results(results)
    tables: dict[str, list[dict]] = {}
    findings: list[str] = []
    names = list(results["base_held_out"])
    base_mean = float(np.mean(list(results["base_held_out"].values())))
    texts = results["held_out_texts"]
    for budget in results["budgets"]:
        b = budget["tokens"]
        summary = summarize(results, b)
        diffs = differences(summary)
        runs = [r for r in results["runs"] if r["budget"] == b]
        title = (
            f"Proxy training at {budget_title(results, budget)}, every method and control filling it: "
            f"{training_of(results)}; held-out loss over {texts} texts of {len(names)} "
            f"set{'s' if len(names) != 1 else ''} (mean over the sets; 95% CI over seeds); {len(runs)} runs, "
            f"{sum(r['tokens'] for r in runs):,} tokens trained in "
            f"{sum(r['train_seconds'] for r in runs) / 60:.1f} min, scored in "
            f"{sum(r['eval_seconds'] for r in runs) / 60:.1f} min"
        )
        tables[title] = [_base_row(results, names, base_mean)] + [
            _table_row(s, b, names, results["measure"], diffs.get((s["row"], "random"))) for s in summary
        ]
        findings += [finding(f"mean held-out loss at {b:,} tokens", a, c, v, ci) for (a, c), (v, ci) in diffs.items()]
        suffix = f"_{b}"
        plots.boxes(
            {s["row"]: s["values"] for s in summary},
            "mean held-out loss (nats/token)",
            f"Held-out loss after training on each selection at {budget_title(results, budget)} "
            f"({training_of(results)}; a method: one run per seed, a control: one per draw)",
            out / f"held_out{suffix}.png",
            log_x=False,
            reference=("before training", base_mean),
        )
        curves(out / f"loss_curves{suffix}.png", runs, budget_title(results, budget))
    tables[COST] = cost_table(results)
    return tables, [scale(results)] + findings


def scale(results: dict) -> str:
    """The sentence that says what scale the runs are: a proxy, and what it took."""
    runs = results["runs"]
    minutes = sum(r["train_seconds"] + r["eval_seconds"] for r in runs) / 60
    steps = [r["steps"] for r in runs]
    budgets = ", ".join(budget_title(results, b) for b in results["budgets"])
    devices = ", ".join(sorted({r["device"] for r in runs}))
    return (
        f"Scale: {len(runs)} runs of {_model_name(results['settings']['model'])} at {budgets}, "
        f"{min(steps)} to {max(steps)} optimizer steps each ({training_of(results)}), "
        f"{minutes:.0f} min of training and scoring on {devices}. A proxy sized to the device: it shows "
        f"which selections move the held-out loss beyond the seeds' noise at this scale, not which would "
        f"make the better fine-tuned model."
    )


def check_results(results: dict) -> None:
    """Refuse the results of an older train or entropy-law experiment (no budgets of its own,
    runs cut to a number of tokens), whose figures these reports do not hold."""
    if "budgets" not in results:
        raise ValueError(
            f"these {results.get('experiment', 'train')} results were made before each experiment had budgets of "
            f"its own (issue 23): run the experiment again to report them"
        )


COST = "Cost of the runs (as they were made; a rerun from the cache takes seconds)"


def cost_table(results: dict) -> list[dict]:
    """Per budget: the runs, their steps and tokens, and the time they took to train and score."""
    out = []
    for budget in results["budgets"]:
        runs = [r for r in results["runs"] if r["budget"] == budget["tokens"]]
        seconds = sum(r["train_seconds"] for r in runs)
        out.append(
            {
                "budget (tokens)": budget["tokens"],
                "runs": len(runs),
                "steps (mean)": round(float(np.mean([r["steps"] for r in runs])), 1),
                "epochs": results["settings"]["epochs"],
                "tokens trained": sum(r["tokens"] for r in runs),
                "training (min)": round(seconds / 60, 1),
                "scoring (min)": round(sum(r["eval_seconds"] for r in runs) / 60, 1),
                "tokens/s": round(sum(r["tokens"] for r in runs) / seconds, 1) if seconds else "",
                "device": ", ".join(sorted({r["device"] for r in runs})),
            }
        )
    return out


def _set_name(name: str) -> str:
    """A held-out set as a column names it: a file of the user's by its file name."""
    return Path(name).name if Path(name).suffix in heldout.SUFFIXES else name


def _model_name(model: str) -> str:
    return "SmolLM2" if model == "packaged:smollm2" else Path(model).name or model


def _base_row(results: dict, names: list[str], base_mean: float) -> dict:
    row = {
        "selection": "(no training)",
        "kind": "",
        "runs": 0,
        "records": "",
        "tokens": "",
        "fill %": "",
        "steps": "",
        "epochs": "",
        "tokens trained": "",
        "loss tokens": "",
        f"ratio {results['measure']}": "",
        "first-epoch loss": "",
    }
    row.update({f"{_set_name(n)} loss": results["base_held_out"][n] for n in names})
    row.update({"held-out loss": base_mean, "95% CI": "", "vs random": "", "vs random 95% CI": ""})
    return row


def _table_row(s: dict, budget: int, names: list[str], measure: str, vs_random: tuple | None) -> dict:
    row = {
        "selection": s["row"],
        "kind": s["group"],
        "runs": s["runs"],
        "records": round(s["records"], 1),
        "tokens": round(s["selected_tokens"], 1),
        "fill %": round(100 * s["selected_tokens"] / budget, 2),
        "steps": round(s["steps"], 1),
        "epochs": s["epochs"],
        "tokens trained": round(s["tokens"], 1),
        "loss tokens": round(s["trained_tokens"], 1),
        f"ratio {measure}": round(s["ratio"], 4),
        "first-epoch loss": round(s["first_epoch_loss"], 4),
    }
    row.update({f"{_set_name(n)} loss": round(s["held_out"][n], 4) for n in names})
    row.update(
        {
            "held-out loss": round(s["held_out_mean"], 4),
            "95% CI": [round(v, 4) for v in s["ci"]] if s["runs"] > 1 else "",
            "vs random": "" if vs_random is None else round(vs_random[0], 4),
            "vs random 95% CI": ""
            if vs_random is None or vs_random[1] is None
            else [round(v, 4) for v in vs_random[1]],
        }
    )
    return row


def curves(path: Path, runs: list[dict], budget: str) -> None:
    """Training loss against tokens trained: each method's first seed and the random
    control's first draw."""
    series, seen = {}, set()
    for r in runs:
        if r["group"] in ("method", "random") and r["row"] not in seen and r["curve"]:
            seen.add(r["row"])
            x, y = zip(*r["curve"])
            series[r["row"] if r["group"] == "method" else f"random (seed {r['seed']})"] = (list(x), list(y))
    if series:
        plots.lines(
            series, "tokens trained", "training loss (nats/token)", f"Training loss on each selection at {budget}", path
        )
