"""Perplexity (the entropy-law paper's baseline, "the samples with highest training loss"):
records by the mean NLL of their response tokens (or the full sequence) under a small
causal LM. Formulas: :mod:`zipkit.baselines.difficulty`."""

from __future__ import annotations

import numpy as np

from ..baselines.difficulty import PERPLEXITY_MAX_LENGTH, PERPLEXITY_TOKENS, PREFER
from ..manifest import Timings
from ..ranking import ranked_selection
from ..results import Selection
from .lm import LM_PARAMS, losses
from .params import BUDGETS, FILTERS, MAX_LENGTH, MODELS
from .spec import SELECT, Method, Param

PARAMS = (
    *BUDGETS,
    *FILTERS,
    Param("tokens", "response", str, "which tokens' loss", choices=PERPLEXITY_TOKENS, group=MODELS),
    Param("prefer", "highest", str, "which losses first", choices=PREFER, group=MODELS, commands=(SELECT,)),
    MAX_LENGTH.but(default=PERPLEXITY_MAX_LENGTH),
    *LM_PARAMS,
)


def score(pool, p: dict) -> tuple[dict, dict]:
    """``perplexity`` (exp of the mean NLL) and ``mean_nll`` (what the selection ranks by;
    the same order), with every loss and token count."""
    return losses(pool, "perplexity", p, tokens=p["tokens"])


def select(pool, p: dict, timings: Timings) -> Selection:
    """Records by mean NLL under a small causal LM: highest first by default."""
    with timings.stage("lm_scores"):
        columns, info = score(pool, p)
    loss = columns["mean_nll"]
    eligible = np.isfinite(loss)
    if p["prefer"] == "middle":
        ranked = np.flatnonzero(eligible)[np.lexsort((np.flatnonzero(eligible), -loss[eligible]))]
        eligible = eligible.copy()
        eligible[ranked[: len(ranked) // 3]] = False  # skip the top third
    skip = ", skipping the top third" if p["prefer"] == "middle" else ""
    return ranked_selection(
        pool,
        p,
        keys=np.nan_to_num(loss, nan=-np.inf),
        descending=p["prefer"] != "lowest",
        score=f"mean NLL of the {p['tokens']} tokens",
        timings=timings,
        eligible=None if eligible.all() else eligible,
        filter_name=f"having a scored token{skip}",
        extra=info,
    )


METHOD = Method(
    name="perplexity",
    summary="by mean NLL under a small causal LM",
    params=PARAMS,
    column="mean_nll",
    direction="higher",
    select=select,
    score=score,
    scores=True,
    writes_all_columns=True,
    score_summary="perplexity and mean NLL under a causal LM, with every loss",
)
