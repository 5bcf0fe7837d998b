"""IFD (instruction-following difficulty): the loss of a response given its prompt against
its loss alone, under a small causal LM, in the Superfiltering or Cherry variant. Formulas
and keep rules: :mod:`zipkit.baselines.difficulty`."""

from __future__ import annotations

import numpy as np

from ..baselines.difficulty import IFD_VARIANTS
from ..manifest import Timings
from ..ranking import ranked_selection
from ..results import Selection
from .lm import LM_PARAMS, losses
from .params import BUDGETS, FILTERS, MAX_LENGTH, MODELS
from .spec import Method, Param

PARAMS = (
    *BUDGETS,
    *FILTERS,
    Param(
        "ifd_variant", "superfiltering", str, "formula, template and rule", choices=tuple(IFD_VARIANTS), group=MODELS
    ),
    MAX_LENGTH.but(
        help=f"{MAX_LENGTH.help} (default by variant: "
        + ", ".join(f"{k} {v[1]}" for k, v in IFD_VARIANTS.items())
        + ")"
    ),
    *LM_PARAMS,
)


def score(pool, p: dict) -> tuple[dict, dict]:
    """IFD with the losses it comes from."""
    return losses(pool, "ifd", p, ifd_variant=p["ifd_variant"])


def select(pool, p: dict, timings: Timings) -> Selection:
    """Highest IFD first among records the variant keeps (IFD < 1, or <= 1 for cherry)."""
    with timings.stage("lm_scores"):
        columns, info = score(pool, p)
    ifd = columns["ifd"]
    finite = np.isfinite(ifd)
    keep = finite & ((ifd < 1) if p["ifd_variant"] == "superfiltering" else (ifd <= 1))
    extra = {
        "parameters": {"max_length": info["lm"]["max_length"]},
        **info,
        "ifd_dropped": int((finite & ~keep).sum()),
        "unscored": int((~finite).sum()),
    }
    rule = "IFD < 1" if p["ifd_variant"] == "superfiltering" else "IFD <= 1"
    return ranked_selection(
        pool,
        p,
        keys=np.where(finite, ifd, -np.inf),
        timings=timings,
        score=f"IFD ({p['ifd_variant']})",
        eligible=None if keep.all() else keep,
        filter_name=f"the {p['ifd_variant']} rule ({rule})",
        extra=extra,
    )


METHOD = Method(
    name="ifd",
    summary="by instruction-following difficulty under a small causal LM",
    params=PARAMS,
    column="ifd",
    direction="higher",
    select=select,
    score=score,
    scores=True,
    writes_all_columns=True,
    score_summary="IFD with the losses it comes from",
)
