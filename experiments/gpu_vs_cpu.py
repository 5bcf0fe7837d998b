"""The model baselines on the GPU against the CPU, on the same records: do they select the same?

    python -m experiments.gpu_vs_cpu [--records 300] [--out FILE]

Alpaca records (../shared/data), the packaged models, caches off. Per method (cluster,
perplexity, IFD Superfiltering and Cherry): Spearman of the per-record scores (embeddings:
the mean cosine of each record's two vectors), the largest score difference, and the Jaccard
overlap of the selections at 20% of the pool's SmolLM2 tokens. A GPU runs in bf16/fp16 where
the CPU runs fp32, so small differences are expected; a large one is a fault.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

import zipkit
from zipkit.budget import token_counts
from zipkit.io import write_text
from zipkit.ratio import spearman

from .model_throughput import alpaca

METHODS = {
    "cluster": ("cluster", {}),
    "perplexity": ("perplexity", {}),
    "ifd superfiltering": ("ifd", {"ifd_variant": "superfiltering"}),
    "ifd cherry": ("ifd", {"ifd_variant": "cherry"}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--devices", nargs=2, default=["cpu", "cuda"], help="the two to compare (cpu cpu: a dry run)")
    parser.add_argument("--out")
    args = parser.parse_args()
    pool = alpaca(args.records)
    budget = int(0.2 * token_counts(pool, "packaged:smollm2").sum())
    rows = []
    from zipkit.baselines.cluster import embed

    first, second = args.devices
    vectors = [embed(pool, device=d, use_cache=False, progress=False) for d in (first, second)]
    rows.append({"method": "embeddings", "mean cosine": float((vectors[0] * vectors[1]).sum(1).mean())})
    for label, (method, params) in METHODS.items():
        got = []
        for device in (first, second):
            started = time.perf_counter()
            sel = zipkit.select(
                pool, method=method, budget_tokens=budget, tokenizer="packaged:smollm2", device=device, **params
            )
            scores = zipkit.score(pool, method=method, device=device, **params).values if method != "cluster" else None
            got.append((set(sel.indices.tolist()), scores, time.perf_counter() - started))
        (a, sa, ta), (b, sb, tb) = got
        row = {
            "method": label,
            "jaccard": len(a & b) / max(len(a | b), 1),
            f"{first} s": round(ta, 2),
            f"{second} s": round(tb, 2),
        }
        if sa is not None:
            ok = ~(np.isnan(sa) | np.isnan(sb))
            row["spearman"] = spearman(sa[ok], sb[ok])
            row["max abs diff"] = float(np.abs(sa[ok] - sb[ok]).max())
        rows.append(row)
        print(row, flush=True)
    result = {
        "devices": args.devices,
        "records": args.records,
        "budget_tokens": budget,
        "rows": rows,
        "host": platform.node(),
    }
    if args.out:
        write_text(args.out, json.dumps(result, indent=1))
    else:
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
