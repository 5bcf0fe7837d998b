"""``zipkit experiment train``: proxy fine-tuning on each selection of a ``methods`` or
``compressors`` experiment, at equal tokens.

The config's ``[pool] from = DIR`` names that experiment's output folder (its pool is rebuilt
from the config in ``DIR/results.json``), and ``[train] selections = DIR`` the folder whose
``selections/`` are trained on (``only`` picks some by label). Every run trains the same model
with the same ``[train.settings]`` (see ``training.Settings``) on the same number of tokens:
``tokens``, or the largest multiple of one step that every selection holds; once per seed in
``seeds``. Held-out sets are named in ``eval`` (see ``heldout``), ``eval_limit`` texts each.

Runs are cached in ``OUT/runs/`` by everything that decides their result, so a rerun, or
another experiment over the same runs (``reuse = [DIR, ...]``), does not train again; a killed
run continues from its checkpoint (``OUT/runs/*.ckpt``, removed when the run ends).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..identity import fingerprint, records_identity
from ..io import atomic_output
from ..results import plots
from ..summary import Chosen
from . import heldout, training
from .runner import Runner, _safe
from .schema import validate


def run(runner: Runner, config: dict) -> None:
    config = validate(config, "the config", "train")
    spec = config["train"]
    chosen = check_pool(saved_selections(Path(spec["selections"]), spec["only"]), runner.pool, spec["selections"])
    trainer = Trainer(runner, config)
    rows = trainer.run_all(chosen)
    summary = summarize(rows, trainer.eval_names)
    table = [
        {
            "selection": "(no training)",
            "runs": 0,
            "records": "",
            "first-epoch loss": "",
            **{f"{n} loss": round(v, 4) for n, v in trainer.base.items()},
            "mean held-out": round(float(np.mean(list(trainer.base.values()))), 4),
            "tokens/s": "",
        }
    ] + [_table_row(s, trainer.eval_names) for s in summary]
    curves(runner.out / "loss_curves.png", rows, trainer.budget)
    plots.boxes(
        {s["selection"]: s["held_out_means"] for s in summary},
        "mean held-out loss (nats/token)",
        f"Held-out loss after training on each selection ({trainer.budget}, {len(trainer.seeds)} seeds)",
        runner.out / "held_out.png",
        log_x=False,
        reference=("before training", float(np.mean(list(trainer.base.values())))),
    )
    runner.write(
        "train",
        config,
        trainer.describe(rows, summary),
        {f"Proxy training, {trainer.budget} (mean ± sd over seeds)": table},
    )


def saved_selections(folder: Path, only: list[str] | None = None) -> list[Chosen]:
    """The selections an experiment saved in ``folder/selections`` (one file per label)."""
    files = sorted((folder / "selections").glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no selections in {folder / 'selections'}: run that experiment first")
    found: dict[str, Chosen] = {}
    for path in files:
        report = json.loads(path.read_text())
        label = report["manifest"].get("label") or path.stem.rsplit("-", 1)[0]
        if label in found:
            raise ValueError(
                f"{folder / 'selections'} holds two selections labelled {label!r} (from "
                f"different parameters): remove the stale one"
            )
        found[label] = Chosen(
            label, np.asarray(report["indices"], np.int64), np.asarray(report["scores"], float), report["manifest"]
        )
    if only:
        missing = [label for label in only if label not in found]
        if missing:
            raise ValueError(f"no selection labelled {', '.join(missing)} in {folder}; it has {', '.join(found)}")
        return [found[label] for label in only]
    return list(found.values())


def check_pool(chosen: list[Chosen], pool: Any, folder: str) -> list[Chosen]:
    """The selections with their reports' input indices turned into positions of ``pool``'s
    records (a decontaminated pool has fewer records than rows); refused when made from
    another pool (their indices would name other records)."""
    out = []
    for c in chosen:
        made_from = c.manifest.get("pool", {}).get("records")
        try:
            if made_from != len(pool):
                raise ValueError(f"this pool has {len(pool)}")
            positions = pool.positions_of(c.indices, f"selection {c.name!r}")
        except (ValueError, IndexError) as err:
            raise ValueError(
                f"selection {c.name!r} in {folder} was made from a pool of {made_from} records, "
                f"not this one ({err}): set [pool] from = the folder of the experiment that made it"
            ) from None
        out.append(Chosen(c.name, positions, c.scores, c.manifest))
    return out


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
        self.end = training.end_token(self.settings.model)
        self.eval_key = fingerprint(self.eval_names, limit, data=json.dumps(texts, sort_keys=True).encode())
        (runner.out / "runs").mkdir(parents=True, exist_ok=True)
        self.tokens = 0
        self.trained: dict[str, list] = {}
        self.base: dict[str, float] = {}

    @property
    def budget(self) -> str:
        """What each run trained on, for titles: the tokens every run was cut to, or its
        whole selection."""
        return "each whole selection" if self.tokens is None else f"{self.tokens:,} tokens"

    def run_all(self, chosen: list[Chosen], tokens: int | None = None, seeds: list[int] | None = None) -> list[dict]:
        """Every selection once per seed (``seeds``, else the config's), cut to ``tokens``
        (else the config's), else each on its whole selection (:func:`training.pack_whole`)."""
        encoded = {c.name: training.encode_records(self.runner.pool, c.indices, self.settings.model) for c in chosen}
        ids = {name: pair[0] for name, pair in encoded.items()}
        self.trained = {name: pair[1] for name, pair in encoded.items()}
        # Tokens asked for (every run cut to them), else each run's whole selection.
        self.tokens = tokens or self.asked_tokens
        base = f"base-{fingerprint('base', self.settings.model, self.eval_key)}"
        self.base = self._cached(base, lambda: {"held_out": training.base_losses(self.settings, self.held_out)})[
            "held_out"
        ]
        rows = []
        for c in chosen:
            for seed in seeds if seeds is not None else self.seeds:
                rows.append(self.one(c, ids[c.name], seed))
        return rows

    def one(self, c: Chosen, ids: list, seed: int) -> dict:
        key = fingerprint(
            "train",
            "loss on responses",  # runs whose loss took the prompts too are not these
            asdict(self.settings),
            seed,
            self.tokens,
            self.eval_key,
            data=np.ascontiguousarray(c.indices).tobytes() + records_identity(self.runner.pool)["bytes"].encode(),
        )
        name = f"{_safe(c.name)}-seed{seed}-{key}"

        def train() -> dict:
            if self.tokens is None:
                self.runner.say(f"training on {c.name}, seed {seed}: the whole selection")
                blocks, trained = training.pack_whole(ids, self.trained[c.name], self.end, self.settings, seed)
            else:
                self.runner.say(f"training on {c.name}, seed {seed}: {self.tokens:,} tokens")
                blocks = training.pack(ids, self.end, self.tokens, self.settings, seed)
                # The same order and cut: which tokens of the blocks are responses (trained).
                trained = training.pack(self.trained[c.name], 1, self.tokens, self.settings, seed)
            result = training.train(
                blocks,
                self.settings,
                seed,
                self.held_out,
                checkpoint=self.runner.out / "runs" / f"{name}.ckpt",
                say=self.runner.say,
                trained=trained,
            )
            return result.to_dict()

        result = self._cached(name, train)
        return {
            "selection": c.name,
            "seed": seed,
            "records": len(c.indices),
            **result,
            "held_out_mean": float(np.mean(list(result["held_out"].values()))),
        }

    def _cached(self, name: str, compute) -> dict:
        """``runs/NAME.json`` (here or in a reused folder), else ``compute()`` saved there."""
        filename = f"{name}.json"
        for folder in [self.runner.out / "runs", *self.reuse]:
            if (folder / filename).is_file():
                return json.loads((folder / filename).read_text())
        result = compute()
        with atomic_output(self.runner.out / "runs" / filename) as out:
            out.write(json.dumps(result).encode())
        (self.runner.out / "runs" / f"{name}.ckpt").unlink(missing_ok=True)
        return result

    def describe(self, rows: list[dict], summary: list[dict]) -> dict:
        return {
            "settings": asdict(self.settings),
            "tokens": self.tokens,
            "seeds": self.seeds,
            "held_out_sets": {n: len(v) for n, v in self.held_out.items()},
            "held_out_tokens": {
                n: int(sum(min(len(i), self.settings.eval_max_tokens) for i in v)) for n, v in self.held_out.items()
            },
            "base_held_out": self.base,
            "runs": rows,
            "summary": summary,
            # what the runs cost when they were made (a rerun from the cache takes seconds)
            "runs_train_seconds": round(sum(r["train_seconds"] for r in rows), 1),
            "runs_eval_seconds": round(sum(r["eval_seconds"] for r in rows), 1),
        }


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation over seeds (0 for a single seed)."""
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def summarize(rows: list[dict], eval_names: list[str]) -> list[dict]:
    """Per selection: mean and standard deviation over seeds of each measured loss."""
    out = []
    for label in dict.fromkeys(r["selection"] for r in rows):
        runs = [r for r in rows if r["selection"] == label]
        entry = {
            "selection": label,
            "runs": len(runs),
            "records": runs[0]["records"],
            "held_out_means": [r["held_out_mean"] for r in runs],
        }
        for name, values in [
            ("first_epoch_loss", [r["first_epoch_loss"] for r in runs]),
            ("held_out_mean", entry["held_out_means"]),
            ("tokens_per_second", [r["tokens_per_second"] for r in runs]),
            *[(n, [r["held_out"][n] for r in runs]) for n in eval_names],
        ]:
            entry[name], entry[f"{name}_sd"] = mean_sd(values)
        out.append(entry)
    return out


def _table_row(s: dict, eval_names: list[str]) -> dict:
    pm = lambda name: f"{s[name]:.4f} ± {s[name + '_sd']:.4f}"  # noqa: E731
    return {
        "selection": s["selection"],
        "runs": s["runs"],
        "records": s["records"],
        "first-epoch loss": pm("first_epoch_loss"),
        **{f"{n} loss": pm(n) for n in eval_names},
        "mean held-out": pm("held_out_mean"),
        "tokens/s": round(s["tokens_per_second"], 1),
    }


def curves(path: Path, rows: list[dict], budget: str) -> None:
    """Training loss against tokens trained, one line per selection (its first seed)."""
    series = {}
    for r in rows:
        if r["selection"] not in series:
            per_step = r["tokens"] / r["steps"]
            series[r["selection"]] = ([per_step * (k + 1) for k in range(r["steps"])], r["losses"])
    plots.lines(
        series,
        "tokens trained",
        "training loss (nats/token)",
        f"Training loss on each selection (seed {rows[0]['seed']}, {budget})",
        path,
    )
