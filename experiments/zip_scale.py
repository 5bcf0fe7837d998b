"""How long ZIP takes at the paper's scale (300K records, budget 10K, K1=10000, K2=200, K3=100),
estimated from a measured run on the largest real pool we can build here.

    python -m experiments.zip_scale [--budget 1000]

The pool joins every instruction set in ../shared/data that reads as chat or Alpaca records
with the ShareGPT package's conversations. A round's cost does not grow with D' (contexts are
flat in the prefix), so the estimate is: initial scoring, linear in the pool, plus rounds x the
measured cost per round (global bottom-k, linear in the pool, coarse, fine).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import zipkit
from zipkit.io import write_json

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = [
    "alpaca/alpaca_5000.json",
    "codealpaca/new_codealpaca.json",
    "codealpaca/code_alpaca_2k.json",
    "cherry_llm/cherry_alpaca_5_percent.json",
    "llamafactory_demo/alpaca_en_demo.json",
    "lima/train.jsonl",
    "ultrachat_sample/test_200.jsonl",
]


def largest_pool() -> zipkit.Records:
    texts = []
    for name in SOURCES:
        recs = zipkit.read_records(SHARED_DATA / name, on_error="skip", progress=False)
        texts += [recs.text(i) for i in range(len(recs))]
    share = zipkit.read_records("packaged:sharegpt", progress=False)
    texts += [share.text(i) for i in range(len(share))]
    return zipkit.read_records([{"text": t} for t in texts], progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--target-pool", type=int, default=300_000)
    parser.add_argument("--target-budget", type=int, default=10_000)
    parser.add_argument("--out")
    args = parser.parse_args()
    records = largest_pool()
    text_bytes = int(records.payloads("text").lengths.sum())
    warm = zipkit.read_records([{"text": f"record {i}"} for i in range(20)])
    zipkit.select(warm, budget=5, k1=10, k2=10, k3=5)  # load the kernels outside the timing
    start = time.perf_counter()
    res = zipkit.select(records, budget=args.budget, k1=10000, k2=200, k3=100)
    wall = time.perf_counter() - start
    t = res.manifest["timings"]
    rounds = res.manifest["rounds"]
    per_round = {k: t.get(k, 0.0) / rounds for k in ("global", "coarse", "fine")}
    n, N = len(records), args.target_pool
    target_rounds = math.ceil(args.target_budget / 100)
    estimate = t["initial_scores"] * N / n + target_rounds * (
        per_round["global"] * N / n + per_round["coarse"] + per_round["fine"]
    )
    row = {
        "pool": n,
        "pool_text_mb": round(text_bytes / 1e6, 1),
        "budget": args.budget,
        "rounds": rounds,
        "wall_s": round(wall, 1),
        "timings": t,
        "per_round_s": {k: round(v, 3) for k, v in per_round.items()},
        "estimate_target": {
            "pool": N,
            "budget": args.target_budget,
            "rounds": target_rounds,
            "seconds": round(estimate),
            "hours": round(estimate / 3600, 2),
        },
    }
    print(json.dumps(row, indent=1))
    if args.out:
        write_json(args.out, row)


if __name__ == "__main__":
    main()
