"""The study's controls and intervals (zipkit.experiments.stats), against formulas computed
another way and the properties each control promises."""

import numpy as np
import pytest

from zipkit.experiments import stats


def _pool(n=3000, seed=0):
    return np.random.default_rng(seed).integers(1, 400, n)


def test_half_samples_give_the_sampling_spread_of_a_mean():
    # For a mean, the half-sample spread equals sigma^2 / n, the whole set's sampling variance.
    values = np.random.default_rng(1).exponential(3.0, 800)
    _, draws = stats.draws(lambda idx: float(values[idx].mean()), [np.arange(len(values))], 4000, seed=2)
    expected = values.var(ddof=1) / len(values)
    assert draws.var() == pytest.approx(expected, rel=0.1)
    # Drawn without replacement: no half holds a record twice.
    assert all(len(set(h.tolist())) == len(h) for h in stats.half_samples(50, 20, 0))


def test_a_controls_draws_are_its_sets_figures():
    values = np.arange(100.0)
    sets = [np.arange(0, 50), np.arange(50, 100), np.arange(25, 75)]
    value, draws = stats.draws(lambda idx: float(values[idx].mean()), sets, 200)
    assert value == pytest.approx(values.mean())
    assert draws.tolist() == [24.5, 74.5, 49.5]  # one draw per set: no half-samples added


def test_random_and_null_controls_fill_the_budget_within_one_record():
    tokens = _pool()
    selected = np.arange(0, 3000, 7)
    budget = int(tokens.sum() * 0.1)
    for seed in range(3):
        for picked in (stats.random_control(tokens, budget, seed), stats.null_control(tokens, selected, budget, seed)):
            total = int(tokens[picked].sum())
            assert budget - tokens.max() <= total <= budget
            assert len(set(picked.tolist())) == len(picked)
        assert not set(stats.null_control(tokens, selected, budget, seed).tolist()) & set(selected.tolist())


@pytest.mark.parametrize("which", ["short", "long", "every other"])
def test_length_matched_control_draws_the_selections_lengths_at_the_budget(which):
    tokens = _pool()
    order = np.argsort(tokens, kind="stable")
    budget = int(tokens.sum() * 0.1)
    if which == "short":  # uses up the shortest bins, as ZIP's selections do
        selected = stats.at_tokens(order, tokens, budget)
    elif which == "long":  # a longest-first selection, as length's
        selected = stats.at_tokens(order[::-1], tokens, budget)
    else:
        selected = order[:1200:2]
        budget = int(tokens[selected].sum())
    bins = stats.length_bins(tokens)
    want = np.bincount(bins[selected], minlength=bins.max() + 1) / len(selected)
    for seed in range(3):
        picked = stats.length_matched_control(tokens, selected, budget, seed=seed)
        assert budget - tokens.max() <= tokens[picked].sum() <= budget  # filled to within one record
        assert len(set(picked.tolist())) == len(picked)
        got = np.bincount(bins[picked], minlength=bins.max() + 1) / len(picked)
        # The same length bins, in about the same shares (a random draw is far off).
        random = np.bincount(bins[stats.random_control(tokens, budget, seed)], minlength=bins.max() + 1)
        assert (
            np.abs(want - got).sum() < min(0.3, np.abs(want - random / random.sum()).sum() / 2)
            or which == "every other"
        )
        assert np.abs(want - got).sum() < 0.3
    # A random draw is nowhere near those lengths.
    random = stats.random_control(tokens, budget, 0)
    far = np.abs(np.median(tokens[picked]) - np.median(tokens[selected]))
    assert far < np.abs(np.median(tokens[random]) - np.median(tokens[selected])) or which == "every other"


def test_over_seeds_intervals_hold_the_mean_19_times_in_20():
    # Coverage by simulation, at 3 seeds: a percentile bootstrap of 3 values is their range,
    # which holds the mean about 3 times in 4.
    rng = np.random.default_rng(0)
    held = [
        lo <= 0.0 <= hi for lo, hi in (stats.over_seeds(rng.normal(0.0, 1.0, 3), resamples=10)[1] for _ in range(2000))
    ]
    assert np.mean(held) == pytest.approx(0.95, abs=0.015)
    mean, ci, draws = stats.over_seeds([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0 and ci[0] < 3.0 < ci[1]
    assert stats.over_seeds([2.0, 2.0, 2.0])[1] == [2.0, 2.0]
    assert np.isnan(stats.over_seeds([2.0])[1]).all()  # one seed: no interval


def test_welch_difference_from_the_seed_draws():
    from scipy import stats as sp

    a, b = [2.0, 2.4, 2.2, 2.5], [1.0, 1.3, 0.8]
    lo, hi = stats.difference(stats.over_seeds(a, 20000)[2], stats.over_seeds(b, 20000)[2])
    # Welch's interval, computed by scipy: the difference of two t draws has heavier tails than
    # Welch's one t, so its interval holds Welch's and is at most about half again as wide.
    test = sp.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert lo <= test.low and test.high <= hi
    assert (hi - lo) < 1.6 * (test.high - test.low)
    assert (lo + hi) / 2 == pytest.approx(np.mean(a) - np.mean(b), abs=0.03)


@pytest.mark.parametrize(
    "ci, lower, word",
    [
        ([-0.3, -0.1], True, "better"),
        ([-0.3, -0.1], False, "worse"),
        ([0.1, 0.3], True, "worse"),
        ([0.1, 0.3], False, "better"),
        ([-0.1, 0.2], True, "no difference shown"),
        ([0.0, 0.2], True, "no difference shown"),
    ],
)
def test_better_only_where_the_interval_excludes_zero(ci, lower, word):
    assert stats.verdict(ci, lower) == word
    sentence = stats.finding("ratio", "zip", "random", sum(ci) / 2, ci, lower)
    assert (f"is {word} than" in sentence) == (word != "no difference shown")


def test_difference_of_draws():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 0.1, 2000), rng.normal(0.0, 0.1, 2000)
    lo, hi = stats.difference(a, b)
    assert lo == pytest.approx(1.0 - 1.96 * np.sqrt(0.02), abs=0.03)
    assert hi == pytest.approx(1.0 + 1.96 * np.sqrt(0.02), abs=0.03)
    assert stats.verdict(stats.difference(a, a.copy()), True) == "no difference shown"


def test_a_zero_width_interval_is_stated_not_judged():
    from zipkit.experiments.stats import finding

    same = finding("loss", "a", "b", 0.0, [0.0, 0.0], lower_is_better=True)
    fixed = finding("alignment", "a", "b", 0.05, [0.05, 0.05], lower_is_better=False)
    assert "identical in every run" in same and "better" not in same
    assert "+0.05 in every run" in fixed and "better" not in fixed and "worse" not in fixed
    assert "a is better than b" in finding("loss", "a", "b", -0.1, [-0.2, -0.05], lower_is_better=True)
