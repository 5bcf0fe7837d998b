"""Selection by a per-record score: rank, filter, take a budget, record how.

Every method that scores records independently (zipfit, dsir, length, random) selects
through :func:`ranked_selection`, so budgets, ties and manifests mean the same for all:
ties break by pool position, a count budget takes the first N of the ranking, a token
budget takes records in rank order while they fit, skipping a record that would exceed what
is left and taking the next (as ZIP tops up its greedy rounds), so that it is filled to
within one record.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .budget import check_budget, check_fits
from .kernels import fill
from .manifest import Timings
from .results import Selection


def rank(keys: np.ndarray, descending: bool = True, eligible: np.ndarray | None = None) -> np.ndarray:
    """Positions of eligible records, best key first; equal keys in pool order."""
    keys = np.asarray(keys, dtype=np.float64)
    if np.isnan(keys).any():
        raise ValueError(f"{int(np.isnan(keys).sum())} score(s) are NaN; cannot rank them")
    positions = np.arange(len(keys)) if eligible is None else np.flatnonzero(eligible)
    order = np.lexsort((positions, -keys[positions] if descending else keys[positions]))
    return positions[order]


def take(ranking: np.ndarray, budget: int | None, budget_tokens: int | None, tokens: np.ndarray | None) -> np.ndarray:
    """What of ``ranking`` the budget takes (everything when there is none): its first
    ``budget`` records, or, under a token budget, every record in rank order that fits what is
    left, skipping one that does not, so that every method fills a token budget to within one
    record (:func:`zipkit.kernels.fill`)."""
    if budget is not None:
        return ranking[:budget]
    if budget_tokens is not None:
        return ranking[fill(tokens[ranking], budget_tokens)]
    return ranking


def ranked_selection(
    pool: Any,
    p: dict,
    *,
    keys: np.ndarray,
    timings: Timings,
    score: str,
    descending: bool = True,
    eligible: np.ndarray | None = None,
    filter_name: str | None = None,
    extra: dict | None = None,
) -> Selection:
    """Select by ``keys`` (higher first unless ``descending=False``) under the budget of the
    resolved parameters ``p`` (``budget``, ``budget_tokens``, ``tokenizer``).

    ``score`` says what the keys are, for the manifest (with the order they rank in).

    ``eligible`` masks records a filter (named ``filter_name``, e.g. "threshold=0.3") let
    through; a count budget larger than what passes is an error naming the filter. With a
    filter, no budget at all selects everything that passes. The manifest holds what only the
    ranking knows; :func:`zipkit.api.run_manifest` adds the method, parameters and the rest.

    Parameters
    ----------
    pool : Pool
        The pool the method was given.
    p : dict
        The method's resolved parameters (the budget ones among them).
    keys : numpy.ndarray
        One key per record, in position order; ties break by position.
    timings : Timings
        The run's timings; the ranking adds its stage.
    score : str
        What the keys are, for the manifest.
    descending : bool, default True
        Higher keys first; False for lower first.
    eligible : numpy.ndarray, optional
        A mask of the records a filter lets through.
    filter_name : str, optional
        The filter's description, for errors and the manifest (``"threshold=0.3"``).
    extra : dict, optional
        More entries for the manifest.
    """
    budget, budget_tokens, tokenizer = p["budget"], p["budget_tokens"], p["tokenizer"]
    if filter_name is None or budget is not None or budget_tokens is not None:
        check_budget(len(pool), budget, budget_tokens)
    if eligible is not None and budget is not None and budget > int(eligible.sum()):
        best = np.max(keys) if descending else np.min(keys)
        raise ValueError(
            f"only {int(eligible.sum()):,} of {len(pool):,} records pass "
            f"{filter_name} (the best score is {best:.4f}); lower the budget or "
            f"relax the filter"
        )
    with timings.stage("rank"):
        tokens = pool.tokens(tokenizer) if budget_tokens is not None else None
        if tokens is not None:
            check_fits(budget_tokens, tokens, tokenizer)
            passing = int(tokens[eligible].sum()) if eligible is not None else None
            if passing is not None and budget_tokens > passing:
                raise ValueError(
                    f"only {passing:,} {tokenizer} tokens (in {int(eligible.sum()):,} of {len(pool):,} records) "
                    f"pass {filter_name}, fewer than budget_tokens={budget_tokens}; lower the budget or relax "
                    f"the filter"
                )
        ranking = rank(keys, descending, eligible)
        picked = take(ranking, budget, budget_tokens, tokens)
    if not len(picked):
        raise ValueError(_why_nothing(keys, descending, ranking, tokens, budget_tokens, tokenizer, filter_name))
    manifest = {
        "score": {"is": score, "order": "descending" if descending else "ascending"},
        **(extra or {}),
        "eligible": len(pool) if eligible is None else int(eligible.sum()),
        "selected": len(picked),
        "tokens_selected": int(tokens[picked].sum()) if tokens is not None else None,
    }
    return Selection(picked.astype(np.int64), np.asarray(keys, np.float64)[picked], manifest)


def _why_nothing(
    keys: np.ndarray,
    descending: bool,
    ranking: np.ndarray,
    tokens: np.ndarray | None,
    budget_tokens: int | None,
    tokenizer: str,
    filter_name: str | None,
) -> str:
    """Why a selection came out empty, with the figure that decides it."""
    if not len(ranking):
        best = np.max(keys) if descending else np.min(keys)
        return f"no record passes {filter_name} (the best score is {best:.4f}); relax the filter"
    return (
        f"budget_tokens={budget_tokens} fits no record at the head of the ranking: the first "
        f"has {int(tokens[ranking[0]])} {tokenizer} tokens (the smallest record "
        f"{int(tokens.min())}); raise the budget"
    )


def describe_target(target: Any) -> dict:
    """What a manifest says about a target set (a path, a Records or a list of texts)."""
    from .io import Records

    if isinstance(target, Records):
        return target.describe()
    if isinstance(target, (list, tuple)):
        return {"records": len(target), "kind": "python list"}
    return {"path": str(target)}
