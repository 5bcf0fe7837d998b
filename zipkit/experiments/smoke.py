"""``zipkit experiment NAME --smoke``: a preset at a tiny scale, to check it end to end.

Every preset's config, shrunk by the same rules wherever its keys are: a pool of at most
``POOL`` short records, small ZIP windows, two seeds, few resamples, a few held-out texts and
training steps, and the CPU for every device, so that a config error in a GPU preset shows on
a laptop in a minute instead of on a GPU after its first hour. The figures it gives mean
nothing; the code paths it runs are the preset's own.
"""

from __future__ import annotations

import copy
from typing import Any

POOL = 40  # records
MAX_CHARS = 600  # per record: short records keep the model passes fast

# key -> what it becomes (a function of its value), wherever the key is in the config.
RULES: dict[str, Any] = {
    "limit": lambda v: min(v, POOL) if v else POOL,
    "max_chars": lambda v: min(v or MAX_CHARS, MAX_CHARS),
    "k1": lambda v: min(v, 40) if v else v,
    "k2": lambda v: min(v, 12) if v else v,
    "k3": lambda v: min(v, 4) if v else v,
    "seeds": lambda v: v[:2] if isinstance(v, list) else min(v, 2),
    "random_seeds": lambda v: v[:1],
    "resamples": lambda v: min(v, 4),
    "device": lambda v: "cpu",
    "eval_limit": lambda v: min(v, 3) if v else 3,
    "heldout": lambda v: min(v, 3) if isinstance(v, int) and not isinstance(v, bool) else v,
    "records": lambda v: min(v, POOL),  # [exact] records of the compressor ablation
    "sources": lambda v: min(v, 20) if isinstance(v, int) and not isinstance(v, bool) else v,  # [zipfit] sources
    "tokens": lambda v: min(v, 256) if v else v,
    "budget_tokens": lambda v: min(v, 256) if isinstance(v, int) and not isinstance(v, bool) else v,
    "zip_budgets": lambda v: [min(b, 400 + 100 * k) for k, b in enumerate(v)][:2],
    "steps": lambda v: min(v, 2) if v else v,
    "max_steps": lambda v: min(v, 2) if v else v,
    "epochs": lambda v: min(v, 1) if v else v,
    "seq_len": lambda v: min(v, 64),
    "problems": lambda v: min(v, 2) if v else v,
    "samples": lambda v: min(v, 2) if v else v,
    "max_new_tokens": lambda v: min(v, 16) if v else v,
}


def shrink(config: dict, name: str) -> dict:
    """``config`` (validated, defaults filled) at the smoke scale; the experiment ``name``
    may add its own rules (``SMOKE`` in its module: key -> function)."""
    import importlib

    module = importlib.import_module(f"zipkit.experiments.{name.replace('-', '_')}")
    rules = {**RULES, **getattr(module, "SMOKE", {})}
    return _walk(copy.deepcopy(config), rules)


def _walk(value: Any, rules: dict) -> Any:
    if isinstance(value, dict):
        return {k: (rules[k](v) if k in rules and v is not None else _walk(v, rules)) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, rules) for v in value]
    return value
