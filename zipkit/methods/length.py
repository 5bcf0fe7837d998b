"""The longest (or shortest) records: the sanity check that a compression score is more
than a proxy for length."""

from __future__ import annotations

import numpy as np

from ..manifest import Timings
from ..ranking import ranked_selection
from ..results import Selection
from .params import BUDGETS, FILTERS, TOKENIZER
from .spec import BOTH, Method, Param

PARAMS = (
    *BUDGETS[:2],
    TOKENIZER.but(commands=BOTH, group="length"),
    *FILTERS,
    Param(
        "longest",
        True,
        bool,
        "shortest first (default: longest first)",
        action="switch",
        const=False,
        flag="--shortest",
        group="random, length",
        commands=("select",),
    ),
)


def score(pool, p: dict) -> tuple[dict, None]:
    """Tokens of each record's text (float64) by ``tokenizer``."""
    return {"length": pool.tokens(p["tokenizer"]).astype(np.float64)}, None


def select(pool, p: dict, timings: Timings) -> Selection:
    """The longest records first (``longest=False``: the shortest), counted by ``tokenizer``."""
    with timings.stage("lengths"):
        keys = score(pool, p)[0]["length"]
    return ranked_selection(
        pool,
        p,
        keys=keys,
        descending=p["longest"],
        score=f"tokens ({p['tokenizer']})",
        timings=timings,
    )


METHOD = Method(
    name="length",
    summary="the longest records first (--shortest: the shortest)",
    params=PARAMS,
    column="length",
    direction="higher",
    select=select,
    score=score,
    scores=True,
    score_summary="tokens by --tokenizer",
)
