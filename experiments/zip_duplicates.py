"""Exact duplicates: how many copies of already selected records each ZIP setting selects.

    python -m experiments.zip_duplicates [--copies 1500] [--budget 600]

Pool: Alpaca in ShareGPT form plus copies of random records (same conversation, new id),
shuffled in. A "copy" is a selected record whose conversation text was already selected.
With ``--out FILE`` writes the results and the table beside them (``.md``, generated from the
JSON alone).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import zipkit
from zipkit.experiments.report import markdown
from zipkit.io import write_json, write_text

from .zip_speedup import alpaca_sharegpt_pool

SETTINGS = {
    "official (zlib:9, repr)": dict(variant="official"),
    "paper (zlib:9)": dict(variant="paper"),
    "paper + long history (zstd:3, 1 MiB)": dict(variant="paper", compressor="zstd:3"),
    "paper + long history + fine on D'": dict(variant="paper", compressor="zstd:3", fine_context="selected"),
    "paper + dedup": dict(variant="paper", dedup=True),
}


def pool_with_copies(copies: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    pool = alpaca_sharegpt_pool()
    originals = rng.choice(len(pool), copies, replace=True)
    extra = [{**pool[int(i)], "id": len(pool) + k} for k, i in enumerate(originals)]
    merged = pool + extra
    return [merged[int(i)] for i in rng.permutation(len(merged))]


def copies_selected(records: zipkit.Records, indices: np.ndarray) -> int:
    seen, copies = set(), 0
    for i in indices:
        text = records.text(int(i))
        copies += text in seen
        seen.add(text)
    return copies


def table(results: dict) -> str:
    """The Markdown table of a run's results: a line on the pool, then a row per setting."""
    k1, k2, k3 = results["k"]
    head = (
        f"{results['pool']:,} records (Alpaca in ShareGPT form and {results['copies_in_pool']:,} copies of its "
        f"records), budget {results['budget']:,}, K1/K2/K3 {k1:,}/{k2:,}/{k3:,}."
    )
    rows = [
        {
            "setting": row["setting"],
            "selected": f"{row['selected']:,}",
            "copies of records already selected": f"{row['copies']:,}",
            "seconds": f"{row['seconds']:.2f}",
        }
        for row in results["rows"]
    ]
    return f"{head}\n\n{markdown(rows)}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1500)
    parser.add_argument("--budget", type=int, default=600)
    parser.add_argument("--k", type=int, nargs=3, default=[1000, 100, 50], metavar=("K1", "K2", "K3"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out")
    args = parser.parse_args()
    records = zipkit.read_records(pool_with_copies(args.copies, args.seed))
    k1, k2, k3 = args.k
    rows = []
    for name, setting in SETTINGS.items():
        start = time.perf_counter()
        res = zipkit.select(records, budget=args.budget, k1=k1, k2=k2, k3=k3, **setting)
        row = {
            "setting": name,
            "selected": len(res.indices),
            "copies": copies_selected(records, res.indices),
            "seconds": round(time.perf_counter() - start, 2),
            **setting,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        results = {
            "pool": len(records),
            "copies_in_pool": args.copies,
            "budget": args.budget,
            "k": args.k,
            "rows": rows,
        }
        write_json(args.out, results)
        write_text(Path(args.out).with_suffix(".md"), table(results))


if __name__ == "__main__":
    main()
