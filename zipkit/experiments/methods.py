"""``zipkit experiment methods``: ZIP against the baselines at equal tokens (the entropy-law
paper's Table 1 protocol).

ZIP selects ``zip_budget`` records; their token count under ``tokenizer`` (a real one: the
packaged SmolLM2's by default) is the budget every other method fills: random, length, DSIR,
cluster, perplexity, IFD (Superfiltering and Cherry) and ZIP-FIT towards ``target``. Per
method: cost (seconds, and the device), records, mean and median tokens, the selected set's
ratio under each ``measure`` compressor next to a random set of the same tokens, diversity
(mean pairwise cosine distance of MiniLM embeddings, distinct word-bigram ratio), duplicates
and the source mix (``zipkit.summary``, the code of ``zipkit compare``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import methods
from ..budget import token_counts
from ..results import plots
from ..summary import describe
from .compressors import _target_source
from .runner import Runner
from .schema import BASELINES, validate  # BASELINES: the default rows, label -> (method, parameters)


def run(runner: Runner, config: dict) -> None:
    config = validate(config, "the config", "methods")
    spec = config["methods"]
    tokenizer, measure, device = spec["tokenizer"], spec["measure"], spec["device"]
    tokens = token_counts(runner.pool, tokenizer)
    zip_params = {k: spec[k] for k in ("k1", "k2", "k3") if spec[k] is not None}  # None: ZIP's own
    chosen = [runner.select("zip", "zip", budget=spec["zip_budget"], **zip_params)]
    budget_tokens = int(tokens[chosen[0].indices].sum())
    target = None
    for label in spec["baselines"]:
        method, params = BASELINES.get(label, (label, {}))
        params = {**params, **spec["params"].get(label, {})}
        takes = methods.get(method).parameters()  # an unknown method is named with the known ones
        if "target" in takes:
            if target is None:
                target = _target(spec)
            params["target"] = target
        if "device" in takes:
            params["device"] = device
        chosen.append(runner.select(label, method, budget_tokens=budget_tokens, tokenizer=tokenizer, **params))
    vectors = _embeddings(runner, device)
    rows = [_row(runner, c, tokens, measure, vectors) for c in chosen]
    for row in rows:  # how much of the budget each method filled (at most 100%)
        row["fill"] = round(row["tokens"] / budget_tokens, 4)
    table = [_table_row(r, measure) for r in rows]
    _plots(runner.out, chosen, rows, tokens, measure, tokenizer)
    runner.write(
        "methods",
        config,
        {"budget_tokens": budget_tokens, "tokenizer": tokenizer, "rows": rows},
        {f"Methods at {budget_tokens:,} {tokenizer} tokens": table},
    )


def _target(spec: dict) -> list[str]:
    from ..io import read_records

    target = read_records(_target_source(spec["target"]), text_fields=spec["target_fields"], progress=False)
    return [target.text(i) for i in range(len(target))]


def _embeddings(runner: Runner, device: str) -> np.ndarray:
    from ..baselines.cluster import embed

    runner.say("embedding the pool for diversity")
    return embed(runner.pool, device=device, progress=False)


def _row(runner: Runner, c, tokens: np.ndarray, measure: list, vectors: np.ndarray) -> dict:
    timings = c.manifest.get("timings", {})
    seconds = (
        sum(v for k, v in timings.items() if k not in ("loop",))
        if c.name != "zip"
        else sum(timings.get(k, 0) for k in ("prepare", "initial_scores", "loop"))
    )
    picked = vectors[c.indices]
    # Mean pairwise cosine distance of unit vectors: 1 - (|sum|^2 - n) / (n (n - 1)).
    n = len(picked)
    total = picked.sum(axis=0)
    cosine = 1 - (float(total @ total) - n) / (n * (n - 1)) if n > 1 else 0.0
    device = c.manifest.get("lm", {}).get("device") or c.manifest.get("parameters", {}).get("device") or "cpu"
    return {
        "method": c.name,
        "seconds": round(seconds, 2),
        "device": device,
        "cosine_diversity": round(cosine, 4),
        **describe(c, runner.pool, tokens, measure, by="source"),
    }


def _table_row(row: dict, measure: list) -> dict:
    out = {
        "method": row["method"],
        "cost (s)": row["seconds"],
        "device": row["device"],
        "records": row["records"],
        "tokens": row["tokens"],
        "fill %": round(100 * row["fill"], 1),
        "avg length": round(row["tokens_mean"], 1),
        "median length": row["tokens_median"],
    }
    out.update({f"ratio {m}": round(row["ratio"][m], 4) for m in measure})
    out[f"random {measure[0]}"] = round(row["random_ratio_at_equal_tokens"][measure[0]], 4)
    out.update(
        {
            "cosine div.": row["cosine_diversity"],
            "distinct 2-grams": row["distinct_bigrams"],
            "dup": row["duplicate_texts"],
            "near-dup": row["near_duplicates"],
            "top source": max(row["mix"], key=row["mix"].get) if row.get("mix") else "",
        }
    )
    return out


def _plots(out: Path, chosen: list, rows: list, tokens: np.ndarray, measure: list, tokenizer: str) -> None:
    plots.histograms(
        {c.name: tokens[c.indices].tolist() for c in chosen},
        f"tokens per record ({tokenizer})",
        "Token lengths of each method's selection at equal tokens",
        out / "lengths.png",
    )
    plots.scatter(
        [max(r["seconds"], 0.01) for r in rows],
        [r["ratio"][measure[0]] for r in rows],
        [r["method"] for r in rows],
        "cost (s, log scale)",
        f"ratio of the selected set under {measure[0]}",
        "Compression ratio of each method's selection against its cost",
        out / "ratio_vs_cost.png",
    )
