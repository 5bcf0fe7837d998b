"""Perplexity and IFD (instruction-following difficulty), derived from stored LM losses.

- perplexity: the entropy-law paper's baseline, "the samples with highest training loss".
  The score is the mean NLL (log perplexity) of the ``response`` tokens given their prompt,
  or of the ``full`` sequence; ``prefer`` takes the ``highest`` first, the ``lowest``, or
  the ``middle`` (the highest after skipping the top third).
- ifd: loss of the response given its prompt against its loss alone.
  ``superfiltering`` (default): IFD = PPL(A|Q) / PPL(A) = exp(loss_cond - loss_direct),
  plain prompts, 1,024 tokens, keep IFD < 1 strictly. ``cherry``: IFD = loss_cond /
  loss_direct, the Alpaca template with "### Response:" before the unconditioned answer,
  512 tokens, drop IFD > 1 (ties at 1 kept). Both take the highest IFD first.
  A multi-turn record pools the tokens of all its assistant turns, each scored given the
  conversation before it: its losses are per-token means over all its response tokens.

Both read one batched pass of :mod:`zipkit.baselines.lm_scores` (two for IFD), cached, so
switching between them or changing the budget runs no model again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..io import Records, read_records
from .lm_scores import lm_losses

PERPLEXITY_TOKENS = ("response", "full")
PERPLEXITY_MAX_LENGTH = 1024
PREFER = ("highest", "lowest", "middle")
IFD_VARIANTS = {
    # ifd_variant: (prompt format, default max_length); formulas and keep rules in the docstring
    "superfiltering": ("plain", 1024),
    "cherry": ("alpaca", 512),
}


def _perplexity(
    records: Records,
    tokens: str,
    model: str,
    device: str,
    max_length: int,
    batch_tokens: int | None,
    cache: Any,
    progress: bool | None,
):
    if tokens not in PERPLEXITY_TOKENS:
        raise ValueError(f"tokens must be one of {PERPLEXITY_TOKENS}, got {tokens!r}")
    losses = lm_losses(
        records,
        model=model,
        device=device,
        format="plain",
        passes=("cond",),
        max_length=max_length,
        batch_tokens=batch_tokens,
        cache=cache,
        progress=progress,
    )
    return (losses.loss_cond if tokens == "response" else losses.loss_full), losses


def _ifd(
    records: Records,
    ifd_variant: str,
    model: str,
    device: str,
    max_length: int | None,
    batch_tokens: int | None,
    cache: Any,
    progress: bool | None,
):
    if ifd_variant not in IFD_VARIANTS:
        raise ValueError(f"ifd_variant must be one of {tuple(IFD_VARIANTS)}, got {ifd_variant!r}")
    fmt, default_length = IFD_VARIANTS[ifd_variant]
    losses = lm_losses(
        records,
        model=model,
        device=device,
        format=fmt,
        passes=("cond", "direct"),
        max_length=max_length or default_length,
        batch_tokens=batch_tokens,
        cache=cache,
        progress=progress,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        if ifd_variant == "superfiltering":
            ifd = np.exp(losses.loss_cond - losses.loss_direct)
        else:
            ifd = losses.loss_cond / losses.loss_direct
    return ifd, losses


def loss_table(
    records: Any,
    method: str,
    *,
    model: str,
    device: str,
    max_length: int | None,
    batch_tokens: int | None,
    cache: Any,
    tokens: str = "response",
    ifd_variant: str = "superfiltering",
    progress: bool | None = None,
) -> tuple[dict[str, np.ndarray], dict]:
    """The method's score with every stored loss and token count, per position (what
    ``zipkit score`` writes), and the LM manifest (model, dtype, device, cache, timings).

    For ``perplexity`` the columns are ``perplexity`` (exp of the mean NLL, a perplexity)
    and ``mean_nll`` (what the selection ranks by; the same order)."""
    records = read_records(records)
    if method == "perplexity":
        scores, losses = _perplexity(
            records, tokens, model, device, max_length or PERPLEXITY_MAX_LENGTH, batch_tokens, cache, progress
        )
    else:
        scores, losses = _ifd(records, ifd_variant, model, device, max_length, batch_tokens, cache, progress)
    if method == "perplexity":
        with np.errstate(over="ignore"):
            columns = {"perplexity": np.exp(scores), "mean_nll": scores}
    else:
        columns = {method: scores}
    return {**columns, **losses.table()}, losses.manifest
