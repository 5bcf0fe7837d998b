"""Controls and intervals for the study: what a selection is compared with, and how sure.

Controls, each at the selection's token budget (``zipkit.kernels.fill``):

- ``random``: records in a seeded random order of the whole pool;
- ``length-matched``: records drawn at random within bins of token length, as many per bin
  as the selection has there (the pool's length quantiles), so that a difference from it is
  not a difference of lengths;
- ``null``: records drawn at random from what the selection left out (the unselected pool).

Each control is drawn once per seed (``seeds``: at least five in the presets).

Intervals of a set's figure (its compression ratio, its diversity) come from half-samples:
the figure of random halves of the set, drawn without replacement, spread around the whole
set's figure. Resampling records *with* replacement, the usual bootstrap, would put copies
of a record into a set, and a copy compresses to almost nothing, so every resample would
look more redundant than the set itself. For a mean, the spread of half-sample means is
exactly the sampling spread of the whole set's mean (variance sigma^2/(n/2) * (1 - 1/2) =
sigma^2/n); for set figures such as a ratio (a half compresses a little worse than the
whole) only the spread is taken, centred on the whole set's figure. A control's draws pool
its seeds: each draw is one seed's figure plus a half-sample's deviation, so its interval
holds both the seed-to-seed and the within-set spread. Training figures are resampled over
seeds (:func:`over_seeds`).

A finding says one method is better than another only where the 95% interval of their
difference excludes 0 (:func:`finding`).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..kernels import fill

LEVEL = 0.95  # every interval is a 95% one
CONTROLS = ("random", "length-matched", "null")


def random_order(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n)


def at_tokens(order: np.ndarray, tokens: np.ndarray, budget: int) -> np.ndarray:
    """The records of ``order`` a token budget takes, skipping one that does not fit."""
    order = np.asarray(order, dtype=np.int64)
    return order[fill(tokens[order], int(budget))]


def random_control(tokens: np.ndarray, budget: int, seed: int) -> np.ndarray:
    return at_tokens(random_order(len(tokens), seed), tokens, budget)


def null_control(tokens: np.ndarray, selected: np.ndarray, budget: int, seed: int) -> np.ndarray:
    """Random records of those the selection left out, at its token budget (all of them when
    they hold fewer tokens)."""
    left = np.ones(len(tokens), dtype=bool)
    left[np.asarray(selected, dtype=np.int64)] = False
    rest = np.flatnonzero(left)
    return at_tokens(rest[random_order(len(rest), seed)], tokens, budget)


def length_bins(tokens: np.ndarray, bins: int = 20) -> np.ndarray:
    """Each record's bin of token length: the pool's length quantiles, so that every bin holds
    about as many records (ties share a bin)."""
    edges = np.unique(np.quantile(tokens, np.linspace(0, 1, bins + 1)[1:-1]))
    return np.searchsorted(edges, tokens, side="right")


def length_matched_control(
    tokens: np.ndarray, selected: np.ndarray, budget: int, seed: int, bins: int = 20
) -> np.ndarray:
    """Records drawn to the length distribution of ``selected``: per length bin, as many random
    pool records as the selection has in it (from the nearest bins where one runs short), in a
    random order, then taken at the token budget. The selection's own records are drawn only
    once no other record is left."""
    rng = np.random.default_rng(seed)
    selected = np.asarray(selected, dtype=np.int64)
    of = length_bins(tokens, bins)
    want = np.bincount(of[selected], minlength=of.max() + 1)
    mine = np.zeros(len(tokens), dtype=bool)
    mine[selected] = True
    # Per bin, the other records and the selection's own, each in a random order.
    others = [rng.permutation(np.flatnonzero((of == b) & ~mine)) for b in range(len(want))]
    own = [rng.permutation(np.flatnonzero((of == b) & mine)) for b in range(len(want))]
    drawn = []
    for members in (others, own):  # the selection's own records only once no other is left
        used = np.zeros(len(want), dtype=np.int64)
        for b in np.flatnonzero(want):
            while want[b] > 0:
                # The nearest bin with a record left: this one, then one below, one above, ...
                near = next(
                    (
                        c
                        for step in range(len(want))
                        for c in (b - step, b + step)
                        if 0 <= c < len(want) and used[c] < len(members[c])
                    ),
                    None,
                )
                if near is None:
                    break
                drawn.append(members[near][used[near]])
                used[near] += 1
                want[b] -= 1
    drawn = np.asarray(drawn, dtype=np.int64)
    return at_tokens(drawn[rng.permutation(len(drawn))], tokens, budget)


def control(name: str, tokens: np.ndarray, selected: np.ndarray, budget: int, seed: int) -> np.ndarray:
    if name == "random":
        return random_control(tokens, budget, seed)
    if name == "length-matched":
        return length_matched_control(tokens, selected, budget, seed)
    if name == "null":
        return null_control(tokens, selected, budget, seed)
    raise ValueError(f"unknown control {name!r}; the controls are {', '.join(CONTROLS)}")


def half_samples(n: int, resamples: int, seed: int) -> list[np.ndarray]:
    """``resamples`` random halves of ``range(n)``, each drawn without replacement, in order."""
    rng = np.random.default_rng(seed)
    half = max(n // 2, 1)
    return [np.sort(rng.choice(n, size=half, replace=False)) for _ in range(resamples)]


def draws(
    figure: Callable[[np.ndarray], float], sets: Sequence[np.ndarray], resamples: int, seed: int = 0
) -> tuple[float, np.ndarray]:
    """The figure of one set (the mean over ``sets`` when several seeds drew it) and its draws:
    each a set's figure plus one half-sample's deviation from the mean of that set's halves."""
    values, out = [], []
    per_set = max(resamples // len(sets), 2)
    for k, chosen in enumerate(sets):
        chosen = np.asarray(chosen, dtype=np.int64)
        value = figure(chosen)
        halves = np.array([figure(chosen[h]) for h in half_samples(len(chosen), per_set, seed + k)])
        values.append(value)
        out.append(value + halves - halves.mean())
    return float(np.mean(values)), np.concatenate(out)


def measured(figures: dict[str, Callable[[np.ndarray], float]], sets: Sequence[np.ndarray], resamples: int) -> dict:
    """Per named figure: its value over ``sets`` (a selection, or a control's seeds), its 95%
    interval and its draws (kept, so that a report can take differences from results alone);
    and ``records``, the sets' mean size."""
    out: dict = {}
    for name, figure in figures.items():
        value, samples = draws(figure, sets, resamples)
        out[name] = {"value": value, "ci": interval(samples), "draws": np.round(samples, 6).tolist()}
    out["records"] = float(np.mean([len(s) for s in sets]))
    return out


def interval(samples: np.ndarray) -> list[float]:
    """The central 95% of ``samples``."""
    lo, hi = np.quantile(np.asarray(samples, dtype=np.float64), [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return [float(lo), float(hi)]


def difference(a: np.ndarray, b: np.ndarray, seed: int = 0) -> list[float]:
    """The 95% interval of (a - b) from two sets of independent draws (paired at random)."""
    rng = np.random.default_rng(seed)
    n = max(len(a), len(b))
    return interval(rng.choice(a, n) - rng.choice(b, n))


def over_seeds(values: Sequence[float], resamples: int = 2000, seed: int = 0) -> tuple[float, list[float], np.ndarray]:
    """Mean over training seeds, its bootstrap 95% interval (seeds resampled with replacement)
    and the bootstrap means (the draws a :func:`difference` takes)."""
    values = np.asarray([v for v in values if v == v], dtype=np.float64)  # NaN: a run without a figure
    if len(values) == 0:
        return float("nan"), [float("nan")] * 2, np.array([np.nan])
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (resamples, len(values)))].mean(axis=1)
    return float(values.mean()), interval(means), means


def verdict(ci: Sequence[float], lower_is_better: bool) -> str:
    """ "better", "worse" or "no difference shown", for an interval of (method - other)."""
    lo, hi = ci
    if lo > 0 or hi < 0:
        below = hi < 0
        return "better" if below == lower_is_better else "worse"
    return "no difference shown"


def finding(what: str, a: str, b: str, value: float, ci: Sequence[float], lower_is_better: bool) -> str:
    """One sentence: how ``a`` compares with ``b`` on ``what``, with the interval of the
    difference; "better" only where that interval excludes 0."""
    word = verdict(ci, lower_is_better)
    span = f"{value:+.4g} (95% CI {ci[0]:+.4g} to {ci[1]:+.4g})"
    if word == "no difference shown":
        return f"{a} vs {b}, {what}: no difference shown, {span}."
    return f"{a} is {word} than {b} on {what}: difference {span}."


def against(
    what: str, a: str, value: dict, others: Sequence[tuple[str, float, Sequence[float]]], lower_is_better: bool
) -> str:
    """One sentence for ``a``'s figure ``what`` (``value``: its value and interval) against
    several others at once: per other, the verdict and the difference with its interval."""
    parts = [
        f"{verdict(ci, lower_is_better)} than {name}, {diff:+.4g} (95% CI {ci[0]:+.4g} to {ci[1]:+.4g})".replace(
            "no difference shown than", "no difference shown from"
        )
        for name, diff, ci in others
    ]
    lo, hi = value["ci"]
    return f"{a}, {what} {value['value']:.4g} (95% CI {lo:.4g} to {hi:.4g}): " + "; ".join(parts) + "."
