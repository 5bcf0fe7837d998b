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


def _fractions(v: list) -> bool:
    return all(isinstance(x, float) and x <= 1 for x in v)


def _at_most(limit: int):
    return lambda v: v if v is None else min(v, limit)


# key -> what it becomes (a function of its value, None included), wherever the key is.
RULES: dict[str, Any] = {
    # the pool
    "limit": lambda v: min(v, POOL) if v else POOL,
    "max_chars": lambda v: min(v or MAX_CHARS, MAX_CHARS),
    "records": _at_most(POOL),  # [exact] records of the compressor ablation
    "sources": lambda v: min(v, 20) if isinstance(v, int) and not isinstance(v, bool) else v,  # [zipfit] sources
    # budgets: the largest fraction, or a few hundred tokens
    "budgets": lambda v: v if v is None else (v[-1:] if _fractions(v) else [min(v[0], 300)]),
    "budget_tokens": lambda v: v if v is None else ([300] if isinstance(v, list) else min(v, 300)),
    "tokens": _at_most(256),
    # ZIP's windows and the selections added
    "k1": _at_most(40),
    "k2": _at_most(12),
    "k3": _at_most(4),
    "stages": lambda v: v and [[40, 12, 4]],
    "zip_multiples": lambda v: v[:1],
    "compressors": lambda v: v[:2],
    # seeds, draws and resamples
    "seeds": lambda v: v if v is None else (v[:2] if isinstance(v, list) else min(v, 2)),
    "random_seeds": lambda v: v if v is None else v[:2],
    "matched_seeds": lambda v: v[:1],
    "resamples": lambda v: 100 if v >= 100 else min(v, 4),  # a bootstrap of the entropy law has a floor of 100
    # training: the methods that need no model pass, a few steps, a few held-out texts
    "only": lambda v: ["zip", "length"],
    "min_held_out": lambda v: 0,
    "min_steps": lambda v: 0,
    "epochs": lambda v: 1,
    "seq_len": _at_most(64),
    "eval_limit": lambda v: min(v, 3) if v else 3,
    "eval_max_tokens": _at_most(64),
    # code generation in the sandbox
    "problems": lambda v: 2,
    "samples": _at_most(2),
    "max_new_tokens": _at_most(16),
    # every device the CPU
    "device": lambda v: "cpu",
}


def shrink(config: dict, name: str, device: str = "cpu") -> dict:
    """``config`` (validated, defaults filled) at the smoke scale, every model on ``device``;
    the experiment ``name`` may add its own rules (``SMOKE`` in its module: key -> function)."""
    import importlib

    module = importlib.import_module(f"zipkit.experiments.{name.replace('-', '_')}")
    rules = {**RULES, **getattr(module, "SMOKE", {}), "device": lambda v: device}
    return _walk(copy.deepcopy(config), rules)


def _walk(value: Any, rules: dict) -> Any:
    if isinstance(value, dict):
        return {k: (rules[k](v) if k in rules else _walk(v, rules)) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, rules) for v in value]
    return value
