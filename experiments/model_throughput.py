"""Throughput of the model baselines: embedding, k-means, perplexity and IFD passes.

    python -m experiments.model_throughput [--device auto] [--embed 2000] [--lm 200]
        [--max-length 512] [--out FILE]

Records are Alpaca (../shared/data/alpaca/alpaca_5000.json, repeated past 5,000) with
the packaged models (all-MiniLM-L6-v2, SmolLM2-135M). Caches are off, so every figure is
a model pass. The same command measures a GPU (``--device cuda --embed 100000 --lm 20000``).

With ``--out FILE`` writes the results and the table beside them (``.md``, generated from the
JSON alone).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

import zipkit
from zipkit.baselines import cluster, lm_scores
from zipkit.baselines.models import resolve_device
from zipkit.experiments.report import markdown
from zipkit.io import write_json, write_text

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def alpaca(n: int) -> zipkit.Records:
    raw = json.loads((DATA / "alpaca" / "alpaca_5000.json").read_text())
    return zipkit.read_records([raw[i % len(raw)] for i in range(n)], progress=False)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def _rate(value: float) -> str:
    """A rate: to a tenth below 10, to the unit from 10."""
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def table(results: dict) -> str:
    """The Markdown table of a run's results: a line on the machine, then a row per pass."""
    embed, kmeans = results["embed"], results["kmeans"]
    rows = [
        {
            "pass": "embedding",
            "records": f"{embed['records']:,}",
            "seconds": f"{embed['seconds']:.1f}",
            "records/s": _rate(embed["records_per_s"]),
            "tokens/s": "-",
        },
        {
            "pass": f"k-means into {kmeans['clusters']:,} clusters",
            "records": f"{kmeans['records']:,}",
            "seconds": f"{kmeans['seconds']:.1f}",
            "records/s": "-",
            "tokens/s": "-",
        },
    ]
    for name, label in (("perplexity", "perplexity"), ("ifd", "IFD (both passes)")):
        row = results[name]
        rows.append(
            {
                "pass": f"{label}, {row['dtype'].removeprefix('torch.')}",
                "records": f"{row['records']:,}",
                "seconds": f"{row['seconds']:.1f}",
                "records/s": _rate(row["records_per_s"]),
                "tokens/s": _rate(row["tokens_per_s"]),
            }
        )
    machine = results.get("gpu") or f"{results['device']}, {results['cpus']} cores"
    head = f"{machine}; Alpaca, sequences of at most {results['max_length']} tokens."
    return f"{head}\n\n{markdown(rows)}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--embed", type=int, default=2000, help="records to embed and cluster")
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--lm", type=int, default=200, help="records to score with the LM")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-tokens", type=int)
    parser.add_argument("--out")
    args = parser.parse_args()
    device = resolve_device(args.device)
    rows = {"device": device, "cpus": os.cpu_count(), "max_length": args.max_length}
    if device.startswith("cuda"):
        import torch

        rows["gpu"] = torch.cuda.get_device_name()

    records = alpaca(args.embed)
    cluster.embed(alpaca(64), device=device, use_cache=False)  # load the encoder once
    vectors, seconds = timed(cluster.embed, records, device=device, use_cache=False)
    rows["embed"] = {
        "records": len(records),
        "seconds": round(seconds, 3),
        "records_per_s": round(len(records) / seconds, 1),
    }
    k = min(args.clusters, len(records))
    (centroids, _), seconds = timed(cluster.kmeans, vectors, k, 0, 100, device)
    picks, pick_s = timed(cluster.nearest_unique, vectors, centroids)
    rows["kmeans"] = {
        "records": len(records),
        "clusters": k,
        "seconds": round(seconds, 3),
        "nearest_unique_seconds": round(pick_s, 3),
    }
    print(json.dumps(rows))

    records = alpaca(args.lm)
    lm_scores.lm_losses(alpaca(8), device=device, use_cache=False)  # load the model once
    for name, passes, fmt in (("perplexity", ("cond",), "plain"), ("ifd", lm_scores.PASSES, "plain")):
        losses, seconds = timed(
            lm_scores.lm_losses,
            records,
            device=device,
            format=fmt,
            passes=passes,
            max_length=args.max_length,
            batch_tokens=args.batch_tokens,
            use_cache=False,
        )
        tokens = int((losses.n_response + losses.n_context).sum())
        if "direct" in passes:
            tokens += int(losses.n_direct.sum())
        rows[name] = {
            "records": len(records),
            "seconds": round(seconds, 3),
            "records_per_s": round(len(records) / seconds, 2),
            "tokens_per_s": round(tokens / seconds, 1),
            "mean_loss_cond": float(np.nanmean(losses.loss_cond)),
            "dtype": losses.manifest["dtype"],
        }
        print(json.dumps({name: rows[name]}))
    if args.out:
        write_json(args.out, rows)
        write_text(Path(args.out).with_suffix(".md"), table(rows))


if __name__ == "__main__":
    main()
