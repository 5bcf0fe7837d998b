"""ZIP against the naive exact loop: same selection, and how much faster.

    python -m experiments.zip_speedup --budgets 200 600 2000 [--variant paper] [--out FILE]

The pool is Alpaca (../shared/data/alpaca/alpaca_5000.json) in ShareGPT form, built as
../shared/golden/README.md describes; K1=1000, K2=100, K3=50 unless told otherwise. The
naive loop (zipkit.naive.naive_zip) recompresses D'+[d] from scratch for every candidate
on one core; zipkit uses its contexts and a thread pool on every core.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import zipkit
from zipkit.io import write_json
from zipkit.io.schemas import alpaca_as_sharegpt
from zipkit.naive import naive_zip

SHARED = Path(__file__).resolve().parents[2] / "shared"


def alpaca_sharegpt_pool() -> list[dict]:
    raw = json.loads((SHARED / "data" / "alpaca" / "alpaca_5000.json").read_text())
    return [alpaca_as_sharegpt(r, i) for i, r in enumerate(raw)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[200, 600, 2000])
    parser.add_argument("--k", type=int, nargs=3, default=[1000, 100, 50], metavar=("K1", "K2", "K3"))
    parser.add_argument("--variant", default="paper", choices=("paper", "official"))
    parser.add_argument("--no-naive", action="store_true", help="time zipkit only")
    parser.add_argument("--out", help="write the rows as JSON")
    args = parser.parse_args()
    records = zipkit.read_records(alpaca_sharegpt_pool())
    k1, k2, k3 = args.k
    zipkit.select(records, budget=k3, k1=k1, k2=k2, k3=k3)  # compile and load the kernels once
    rows = []
    for budget in args.budgets:
        start = time.perf_counter()
        fast = zipkit.select(records, budget=budget, k1=k1, k2=k2, k3=k3, variant=args.variant)
        row = {
            "budget": budget,
            "variant": args.variant,
            "k": args.k,
            "zipkit_s": round(time.perf_counter() - start, 3),
        }
        if not args.no_naive:
            start = time.perf_counter()
            slow = naive_zip(
                records, budget, k1, k2, k3, variant=args.variant, serializer=fast.manifest["parameters"]["serializer"]
            )
            row["naive_s"] = round(time.perf_counter() - start, 3)
            row["same_selection"] = slow == fast.indices.tolist()
            row["speedup"] = round(row["naive_s"] / row["zipkit_s"], 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        write_json(args.out, rows)


if __name__ == "__main__":
    main()
