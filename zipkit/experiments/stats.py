"""Controls and intervals for the study: what a selection is compared with, and how sure.

Controls, each at the selection's token budget (``zipkit.kernels.fill``), one set per seed:

- ``random``: records in a seeded random order of the whole pool;
- ``length-matched``: records drawn at random within bins of token length (the pool's length
  quantiles) in the shares the selection has there, so that a difference from it is not a
  difference of lengths;
- ``null``: records drawn at random from what the selection left out (the unselected pool).

Intervals of a selection's figure (its compression ratio, its diversity) come from
half-samples: the figure of random halves of the set, drawn without replacement, spread around
the whole set's figure. Resampling records *with* replacement, the usual bootstrap, would put
copies of a record into a set, and a copy compresses to almost nothing, so every resample
would look more redundant than the set itself. For a mean, the spread of half-sample means is
exactly the sampling spread of the whole set's mean (variance sigma^2/(n/2) * (1 - 1/2) =
sigma^2/n); for set figures such as a ratio (a half compresses a little worse than the whole)
only the spread is taken, centred on the whole set's figure. A control is a distribution of
sets: its draws are the figures of its seeds' sets, and a selection differs from it where the
interval of (selection's draws - control's draws) excludes 0. Training figures vary over
seeds: their intervals are t-intervals over the seeds (:func:`over_seeds`).

A finding says one method is better than another only where the 95% interval of their
difference excludes 0 (:func:`finding`). The comparisons are many and not corrected for
multiplicity: each report names its primary comparison, and the others describe.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..ranking import take

LEVEL = 0.95  # every interval is a 95% one
CONTROLS = ("random", "length-matched", "null")


def random_order(n: int, seed: int) -> np.ndarray:
    """A seeded permutation of ``n`` positions."""
    return np.random.default_rng(seed).permutation(n)


def at_tokens(order: np.ndarray, tokens: np.ndarray, budget: int) -> np.ndarray:
    """The records of ``order`` a token budget takes, as every method takes it (skipping one
    that does not fit: ``zipkit.ranking.take``)."""
    return take(np.asarray(order, dtype=np.int64), None, int(budget), tokens)


def random_control(tokens: np.ndarray, budget: int, seed: int) -> np.ndarray:
    """A random set at the token budget, taken as every method takes it."""
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
    """Records drawn to the length distribution of ``selected``, at the token budget: a random
    order in which each next record comes from a length bin drawn in the selection's shares
    (a random record of the pool in that bin, the selection's own included: a bin the selection
    holds most of is what a length-matched draw has to draw from), taken as every method takes a
    token budget. Where a bin runs out, the draws go on in the bins left."""
    rng = np.random.default_rng(seed)
    of = length_bins(tokens, bins)
    shares = np.bincount(of[np.asarray(selected, dtype=np.int64)], minlength=of.max() + 1).astype(np.float64)
    members = [rng.permutation(np.flatnonzero(of == b)) for b in range(len(shares))]
    left = np.array([len(m) for m in members])
    used = np.zeros(len(shares), dtype=np.int64)
    order = []
    while True:
        weights = np.where(used < left, shares, 0.0)
        if weights.sum() == 0:
            break
        b = rng.choice(len(shares), p=weights / weights.sum())
        order.append(members[b][used[b]])
        used[b] += 1
        if len(order) % 256 == 0 and tokens[np.asarray(order)].sum() >= 4 * budget:
            break  # far more than the budget takes: enough of the order
    return at_tokens(np.asarray(order, dtype=np.int64), tokens, budget)


def control(name: str, tokens: np.ndarray, selected: np.ndarray, budget: int, seed: int) -> np.ndarray:
    """The control named ``name`` (random, length-matched, null) at the selection's budget."""
    if name == "random":
        return random_control(tokens, budget, seed)
    if name == "length-matched":
        return length_matched_control(tokens, selected, budget, seed)
    if name == "null":
        return null_control(tokens, selected, budget, seed)
    raise ValueError(f"unknown control {name!r}; the controls are {', '.join(CONTROLS)}")


def ratio_of(payloads, spec: str) -> Callable[[np.ndarray], float]:
    """The figure "compression ratio under ``spec``" of a set of pool positions (the records'
    bytes framed as one document, as ``zipkit ratio`` measures a set)."""
    from ..ratio import framed_ratio

    return lambda idx: framed_ratio([payloads[int(i)] for i in idx], "text", spec)


def half_samples(n: int, resamples: int, seed: int) -> list[np.ndarray]:
    """``resamples`` random halves of ``range(n)``, each drawn without replacement, in order."""
    rng = np.random.default_rng(seed)
    half = max(n // 2, 1)
    return [np.sort(rng.choice(n, size=half, replace=False)) for _ in range(resamples)]


def draws(
    figure: Callable[[np.ndarray], float], sets: Sequence[np.ndarray], resamples: int, seed: int = 0
) -> tuple[float, np.ndarray]:
    """A figure and its draws. One set (a selection): its figure, and the figure of each of
    ``resamples`` half-samples less their mean, plus the set's figure (the sampling spread of
    its records around it). Several sets (a control's draws): their mean, and the figure of
    each set, which already is a draw of the control (adding half-samples to those would count
    the sampling of records twice)."""
    if len(sets) > 1:
        values = np.array([figure(np.asarray(s, dtype=np.int64)) for s in sets])
        return float(values.mean()), values
    chosen = np.asarray(sets[0], dtype=np.int64)
    value = figure(chosen)
    halves = np.array([figure(chosen[h]) for h in half_samples(len(chosen), resamples, seed)])
    return float(value), value + halves - halves.mean()


def measured(
    figures: dict[str, Callable[[np.ndarray], float]],
    sets: Sequence[np.ndarray],
    resamples: int,
    tokens: np.ndarray | None = None,
    budget: int | None = None,
) -> dict:
    """Per named figure: its value over ``sets`` (a selection, or a control's seeds), its 95%
    interval (of a control: where 95% of its sets fall) and its draws (kept, so that a report
    can take differences from results alone); ``records``, the sets' mean size, and with
    ``tokens`` and ``budget``, ``fill``, their mean share of the budget."""
    out: dict = {}
    if tokens is not None and budget:
        out["fill"] = float(np.mean([tokens[np.asarray(s, dtype=np.int64)].sum() / budget for s in sets]))
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
    """The 95% interval of (a - b) from two sets of independent draws: every pair of them
    (a random million pairs where there are more)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) * len(b) <= 1_000_000:
        return interval(np.subtract.outer(a, b).ravel())
    rng = np.random.default_rng(seed)
    return interval(rng.choice(a, 1_000_000) - rng.choice(b, 1_000_000))


def over_seeds(values: Sequence[float], resamples: int = 4000, seed: int = 0) -> tuple[float, list[float], np.ndarray]:
    """Mean over training seeds, its 95% t-interval, and draws of that mean from the same t
    distribution (what :func:`difference` takes: two of them give Welch's interval). A
    percentile bootstrap of 3 seeds is their range, which holds the mean about 3 times in 4,
    not 19 in 20; the t-interval holds it 19 times in 20 where the seeds' figures are about
    normal, and is as wide as 2 or 3 seeds deserve. One seed: no interval (NaN)."""
    from scipy.stats import t as student

    values = np.asarray([v for v in values if v == v], dtype=np.float64)  # NaN: a run without a figure
    if len(values) == 0:
        return float("nan"), [float("nan")] * 2, np.array([np.nan])
    mean = float(values.mean())
    if len(values) == 1:
        return mean, [float("nan")] * 2, np.array([mean])
    se = float(values.std(ddof=1) / np.sqrt(len(values)))
    half = float(student.ppf((1 + LEVEL) / 2, len(values) - 1)) * se
    sampled = mean + se * np.random.default_rng(seed).standard_t(len(values) - 1, resamples)
    return mean, [mean - half, mean + half], sampled


def diff(a: dict, b: dict) -> tuple[float, list[float]]:
    """(a - b) of two figures of :func:`measured` and the interval of that difference."""
    return a["value"] - b["value"], difference(np.asarray(a["draws"]), np.asarray(b["draws"]))


def shown(figure: dict) -> str:
    """A figure of :func:`measured` as "value (lo to hi)"."""
    lo, hi = figure["ci"]
    return f"{figure['value']:.4f} ({lo:.4f} to {hi:.4f})"


def verdict(ci: Sequence[float], lower_is_better: bool) -> str:
    """ "better", "worse" or "no difference shown", for an interval of (method - other)."""
    lo, hi = ci
    if lo > 0 or hi < 0:
        below = hi < 0
        return "better" if below == lower_is_better else "worse"
    return "no difference shown"


def finding(what: str, a: str, b: str, value: float, ci: Sequence[float], lower_is_better: bool) -> str:
    """One sentence: how ``a`` compares with ``b`` on ``what``, with the interval of the
    difference; "better" only where that interval excludes 0. An interval of zero width (every
    draw gave the same difference: the same records on both sides, or a fixed selection's
    figure) is no evidence either way: the difference is stated as it is, not judged."""
    if ci[0] == ci[1]:
        if value == 0:
            return f"{a} vs {b}, {what}: identical in every run (no difference, and no spread to judge one by)."
        return f"{a} vs {b}, {what}: {value:+.4g} in every run (a fixed difference: no spread to judge it by)."
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
