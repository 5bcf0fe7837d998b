"""DSIR: hashing, fitting and weighting a pool (records per second), at growing pool sizes."""

from __future__ import annotations

import time

import zipkit

from .common import instruction_pool


def pool_of(n: int) -> zipkit.Records:
    base = instruction_pool()
    return zipkit.read_records([base.text(i % len(base)) for i in range(n)], progress=False)


class DsirScore:
    """Alpaca texts repeated to the pool size; the target is 200 other records."""

    params = ([5000, 100_000],)
    param_names = ["pool"]
    timeout = 600
    number = 1
    repeat = (1, 3, 30)

    def setup(self, pool):
        self.pool = pool_of(pool)
        base = instruction_pool()
        self.target = [base.text(len(base) - 1 - i) for i in range(200)]

    def time_scores(self, pool):
        zipkit.score(self.pool, method="dsir", target=self.target)

    def track_records_per_second(self, pool):
        start = time.perf_counter()
        zipkit.score(self.pool, method="dsir", target=self.target)
        return pool / (time.perf_counter() - start)

    track_records_per_second.unit = "records/s"

    def peakmem_scores(self, pool):
        zipkit.score(self.pool, method="dsir", target=self.target)
