"""Deduplication at a million records: time and peak memory of ``zipkit dedup`` on a JSON Lines
pool of 1,000,000 instruction-sized records (two real texts of ../shared/data or the ShareGPT
package joined, and a numbered line; one in ten a near copy of an earlier record, one word
changed, and one in twenty an exact copy), near duplicates by rensa and by datasketch, and
exact ones."""

from __future__ import annotations

import json
import random

import zipkit

from .common import instruction_pool

RECORDS = 1_000_000


class Dedup1M:
    params = (["near-rensa", "near-datasketch", "exact"],)
    param_names = ["mode"]
    timeout = 3600
    number, repeat, rounds, warmup_time = 1, 1, 1, 0

    def setup_cache(self):
        pool = instruction_pool()
        texts = [pool.text(i)[:800] for i in range(len(pool))]
        rng = random.Random(0)
        with open("pool.jsonl", "w") as out:  # asv runs setup_cache in a cache folder of its own
            made = []
            for k in range(RECORDS):
                roll = rng.random()
                if made and roll < 0.05:
                    text = rng.choice(made)  # an exact copy
                elif made and roll < 0.15:
                    words = rng.choice(made).split()
                    words[rng.randrange(len(words))] = "changed"  # a near copy
                    text = " ".join(words)
                else:  # two real texts joined: 25 million pairs, so a pair repeats rarely
                    text = f"{rng.choice(texts)}\n{rng.choice(texts)}\nrecord {k}"
                if len(made) < 50_000:
                    made.append(text)
                out.write(json.dumps({"text": text}) + "\n")
        return "pool.jsonl"

    def _run(self, path, mode):
        kind, _, backend = mode.partition("-")
        zipkit.dedup(path, mode=kind, backend=backend or "rensa", progress=False)

    def time_dedup(self, path, mode):
        self._run(path, mode)

    def peakmem_dedup(self, path, mode):
        self._run(path, mode)
