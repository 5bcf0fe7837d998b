"""What a selection now does besides its method: filling a token budget record by record
(kernels.fill, on every token-budget ranking), mapping input indices back to positions
(Records.positions_of, on every write and report read), and decontaminating the packaged
ShareGPT pool against HumanEval and MT-bench-sized benchmarks."""

from __future__ import annotations

import functools

import numpy as np

import zipkit
from zipkit.decontaminate import split
from zipkit.kernels import fill, fill_numpy


class FillTokenBudget:
    """A ranking of records filled to half the pool's tokens."""

    params = ([10_000, 1_000_000],)
    param_names = ["records"]

    def setup(self, records):
        rng = np.random.default_rng(0)
        self.costs = rng.integers(5, 2000, size=records)
        self.budget = int(self.costs.sum() // 2)
        fill(self.costs[:2], 1)  # compiled (or loaded from numba's cache) outside the timing

    def time_fill(self, records):
        fill(self.costs, self.budget)


class FillNumpyTwin(FillTokenBudget):
    """The plain twin the kernel is tested against, for scale (10,000 records only)."""

    params = ([10_000],)

    def time_fill(self, records):
        fill_numpy(self.costs, self.budget)


class PositionsOf:
    """A million input indices of a pool with every tenth row skipped, back to positions."""

    def setup(self):
        from zipkit.io.records import positions_of

        self.positions_of = positions_of
        rows = np.arange(1_100_000)
        self.index = rows[rows % 10 != 3]
        self.wanted = np.random.default_rng(1).permutation(self.index)[:1_000_000]

    def time_positions_of(self):
        self.positions_of(self.index, 1_100_000, np.zeros(0, np.int64), self.wanted)


@functools.lru_cache(maxsize=1)
def _sharegpt() -> zipkit.Records:
    return zipkit.read_records("packaged:sharegpt", progress=False)


class Decontaminate:
    """The 17,545 ShareGPT conversations against HumanEval (its package) and a benchmark of
    pool-like text (so that its vocabulary is the pool's, the slow case)."""

    timeout = 300

    def setup(self):
        from zipkit.decontaminate import Index, index_of

        self.records = _sharegpt()
        self.humaneval = index_of(["humaneval"])
        self.alike = Index()
        self.alike.add("alike", (self.records.text(i)[:600] for i in range(0, len(self.records), 100)))

    def time_against_humaneval(self):
        split(self.records, self.humaneval)

    def time_against_pool_like_text(self):
        split(self.records, self.alike)
