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


def test_draws_centre_on_the_whole_sets_figure_and_pool_seeds():
    values = np.arange(100.0)
    sets = [np.arange(0, 50), np.arange(50, 100)]
    value, draws = stats.draws(lambda idx: float(values[idx].mean()), sets, 200)
    assert value == pytest.approx((values[:50].mean() + values[50:].mean()) / 2)
    # Each seed's draws sit around that seed's figure: the seed-to-seed spread is kept.
    assert draws[:100].mean() == pytest.approx(values[:50].mean())
    assert draws[100:].mean() == pytest.approx(values[50:].mean())


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


def test_length_matched_control_draws_the_selections_lengths_from_other_records():
    tokens = _pool()
    order = np.argsort(tokens, kind="stable")
    selected = order[:400:2]  # short records: a length distribution far from the pool's
    budget = int(tokens[selected].sum())
    picked = stats.length_matched_control(tokens, selected, budget, seed=0)
    assert not set(picked.tolist()) & set(selected.tolist())
    assert budget - tokens.max() <= tokens[picked].sum() <= budget
    bins = stats.length_bins(tokens)
    want = np.bincount(bins[selected], minlength=bins.max() + 1) / len(selected)
    got = np.bincount(bins[picked], minlength=bins.max() + 1) / len(picked)
    assert np.abs(want - got).sum() < 0.15  # the same length bins, in about the same shares
    # A random draw is nowhere near those lengths.
    random = stats.random_control(tokens, budget, 0)
    assert np.median(tokens[picked]) < np.median(tokens[random]) / 3


def test_over_seeds_is_a_bootstrap_of_the_mean():
    mean, ci, means = stats.over_seeds([1.0, 2.0, 3.0, 4.0, 5.0], resamples=4000)
    assert mean == 3.0
    assert ci[0] < 3.0 < ci[1] and 1.0 <= ci[0] and ci[1] <= 5.0
    assert means.std() == pytest.approx(np.std([1, 2, 3, 4, 5]) / np.sqrt(5), rel=0.1)
    assert stats.over_seeds([2.0, 2.0, 2.0])[1] == [2.0, 2.0]


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
