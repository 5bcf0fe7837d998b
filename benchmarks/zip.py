"""ZIP selection: time at several pool sizes and budgets, and the speed-up over the naive loop."""

from __future__ import annotations

import time

import zipkit
from zipkit.naive import naive_zip

from .common import instruction_pool, sharegpt_pool


class ZipSelect:
    """Paper variant (text serializer) and official variant (repr), K1=1000, K2=100, K3=50."""

    params = ([1000, 5000, 20000], [200, 600], ["paper", "official"])
    param_names = ["pool", "budget", "variant"]
    timeout = 600
    number = 1
    repeat = (1, 3, 60)

    def setup(self, pool, budget, variant):
        self.records = sharegpt_pool(pool)
        self.records.payloads("repr")
        zipkit.select(self.records, budget=10, k1=100, k2=20, k3=10)  # load the kernels

    def time_select(self, pool, budget, variant):
        zipkit.select(self.records, budget=budget, k1=1000, k2=100, k3=50, variant=variant)

    def peakmem_select(self, pool, budget, variant):
        zipkit.select(self.records, budget=budget, k1=1000, k2=100, k3=50, variant=variant)


class ZipSelectByCompressor:
    """Paper variant under each backend's default context (conditional ones pay one
    recompression of what D' holds per round, for its true size), 5,000 records, budget 600."""

    params = (["zlib:9", "isal:2", "zstd:3", "lz4:1", "lz4hc:9", "brotli:5"],)
    param_names = ["compressor"]
    timeout = 600
    number = 1
    repeat = (1, 3, 60)

    def setup(self, compressor):
        self.records = sharegpt_pool(5000)
        zipkit.select(self.records, budget=10, k1=100, k2=20, k3=10)  # load the kernels

    def time_select(self, compressor):
        zipkit.select(self.records, budget=600, k1=1000, k2=100, k3=50, compressor=compressor)


class ZipSpeedup:
    """zipkit over the naive exact loop (every candidate recompresses D'+[d], one core), same
    selection, official variant on Alpaca in ShareGPT form, K1=1000, K2=100, K3=50."""

    params = ([200, 600],)
    param_names = ["budget"]
    timeout = 900
    number = 1
    repeat = 1

    def setup(self, budget):
        self.records = sharegpt_pool(5000)
        zipkit.select(self.records, budget=10, k1=100, k2=20, k3=10)

    def track_speedup_vs_naive(self, budget):
        start = time.perf_counter()
        fast = zipkit.select(self.records, budget=budget, k1=1000, k2=100, k3=50, variant="official")
        fast_s = time.perf_counter() - start
        start = time.perf_counter()
        slow = naive_zip(self.records, budget, 1000, 100, 50, variant="official", serializer="repr")
        slow_s = time.perf_counter() - start
        if slow != fast.indices.tolist():
            raise AssertionError("zipkit and the naive loop selected differently")
        return slow_s / fast_s

    track_speedup_vs_naive.unit = "x"


class ZipOfficialAlpaca:
    """The workload of issue 25's aims: ZIP official on Alpaca in ShareGPT form (5,000
    records), K 1000/100/50, budgets 600 and 2,000, every core."""

    params = ([600, 2000],)
    param_names = ["budget"]
    timeout = 600
    number = 1
    repeat = (1, 3, 60)

    def setup(self, budget):
        self.records = sharegpt_pool(5000)
        zipkit.select(self.records, budget=10, k1=100, k2=20, k3=10)

    def time_select(self, budget):
        zipkit.select(self.records, budget=budget, k1=1000, k2=100, k3=50, variant="official")


class ZipPaperScale:
    """The paper's scale: 300,000 distinct records (Alpaca records cycled, each copy ending
    in its number), budget 10,000, K 10000/200/100, paper variant, every core."""

    timeout = 1200
    number = 1
    repeat = 1

    def setup(self):
        texts = [bytes(p).decode("utf-8", "surrogatepass") for p in instruction_pool().payloads("text")]
        self.records = zipkit.read_records(
            [{"text": f"{texts[i % len(texts)]}\n#{i}"} for i in range(300_000)], progress=False
        )
        zipkit.select(self.records, budget=100, k1=1000, k2=200, k3=100)

    def time_select(self):
        zipkit.select(self.records, budget=10_000, k1=10_000, k2=200, k3=100)
