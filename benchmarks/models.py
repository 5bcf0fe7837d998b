"""Model baselines: embedding and LM scoring throughput (records/s, tokens/s) with the
packaged models, on the GPU when present. Skipped where the models extra is missing."""

from __future__ import annotations

import time

import zipkit

from .common import instruction_pool


def records(n: int) -> zipkit.Records:
    pool = instruction_pool()
    return zipkit.read_records([pool[i % len(pool)] for i in range(n)], progress=False)


class Embedding:
    params = ([256],)
    param_names = ["records"]
    timeout = 600
    number = 1
    repeat = (1, 3, 60)

    def setup(self, n):
        try:
            from zipkit.baselines import cluster
        except ImportError:
            raise NotImplementedError("needs the models extra") from None
        self.cluster = cluster
        self.records = records(n)
        cluster.embed(records(8), use_cache=False)  # load the encoder

    def track_records_per_second(self, n):
        start = time.perf_counter()
        self.cluster.embed(self.records, use_cache=False)
        return n / (time.perf_counter() - start)

    track_records_per_second.unit = "records/s"


class LmScoring:
    """One pass (perplexity) or both (IFD) of SmolLM2-135M, sequences cut at 512 tokens."""

    params = ([48], ["perplexity", "ifd"])
    param_names = ["records", "scorer"]
    timeout = 900
    number = 1
    repeat = (1, 2, 120)

    def setup(self, n, scorer):
        try:
            from zipkit.baselines import lm_scores
        except ImportError:
            raise NotImplementedError("needs the models extra") from None
        self.lm = lm_scores
        self.records = records(n)
        self.passes = ("cond",) if scorer == "perplexity" else lm_scores.PASSES
        lm_scores.lm_losses(records(4), max_length=512, use_cache=False)  # load the model

    def _run(self):
        start = time.perf_counter()
        losses = self.lm.lm_losses(self.records, passes=self.passes, max_length=512, use_cache=False)
        tokens = int((losses.n_response + losses.n_context).sum()) + int(losses.n_direct.sum())
        return time.perf_counter() - start, tokens

    def track_records_per_second(self, n, scorer):
        seconds, _ = self._run()
        return n / seconds

    track_records_per_second.unit = "records/s"

    def track_tokens_per_second(self, n, scorer):
        seconds, tokens = self._run()
        return tokens / seconds

    track_tokens_per_second.unit = "tokens/s"
