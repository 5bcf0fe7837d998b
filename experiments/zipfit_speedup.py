"""ZIP-FIT scoring against straightforward pairwise loops: same scores, and how much faster.

    python -m experiments.zipfit_speedup [--compressor gzip:6] [--out FILE]
    python -m experiments.zipfit_speedup --scale 5000 [--out FILE]

Sources: MBPP (text and code), CodeAlpaca 2k, C4 (LLaMA-Factory demo), each alone and all
together; target: the 164 HumanEval prompts (../shared/data). Two pairwise loops on one
core (zipkit.naive.naive_zipfit): the formula as written, which compresses x+t, x and t
for every pair, and the loop that compresses each x and t once (as the zip-fit package
does). zipkit runs on every core. Every score is checked against both loops (1e-9).

``--scale N`` measures N sources of a mixed pool (Lean 4 statements, MBPP, CodeAlpaca,
C4) against the 185 ProofNet validation statements and extrapolates to the paper's
185k x 185 by the measured cost per pair.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

import zipkit
from zipkit.io import write_json
from zipkit.naive import naive_zipfit

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def source_sets() -> dict[str, list[bytes]]:
    read = {
        "mbpp": zipkit.read_records(DATA / "mbpp" / "mbpp.jsonl", text_fields=["text", "code"]),
        "codealpaca": zipkit.read_records(DATA / "codealpaca" / "code_alpaca_2k.json"),
        "c4": zipkit.read_records(DATA / "llamafactory_demo" / "c4_demo.jsonl"),
    }
    sets = {name: [bytes(p) for p in recs.payloads("text")] for name, recs in read.items()}
    sets["all three"] = [x for name in read for x in sets[name]]
    return sets


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return np.asarray(out), time.perf_counter() - start


def speedup(compressor: str) -> list[dict]:
    targets = [
        bytes(p)
        for p in zipkit.read_records(DATA / "humaneval" / "HumanEval.jsonl.gz", text_fields=["prompt"]).payloads("text")
    ]
    rows = []
    for name, sources in source_sets().items():
        fast, fast_s = timed(
            zipkit.score,
            sources_as_texts(sources),
            method="zipfit",
            target=sources_as_texts(targets),
            compressor=compressor,
            progress=False,
        )
        cached, cached_s = timed(naive_zipfit, sources, targets, compressor, singles_once=True)
        literal, literal_s = timed(naive_zipfit, sources, targets, compressor)
        pairs = len(sources) * len(targets)
        row = {
            "sources": name,
            "n_sources": len(sources),
            "n_targets": len(targets),
            "mean_source_bytes": round(float(np.mean([len(x) for x in sources])), 1),
            "compressor": compressor,
            "cpus": os.cpu_count(),
            "zipkit_s": round(fast_s, 3),
            "zipkit_us_per_pair": round(fast_s / pairs * 1e6, 2),
            "loop_singles_once_s": round(cached_s, 3),
            "loop_singles_once_us_per_pair": round(cached_s / pairs * 1e6, 2),
            "loop_formula_s": round(literal_s, 3),
            "loop_formula_us_per_pair": round(literal_s / pairs * 1e6, 2),
            "speedup_vs_formula_loop": round(literal_s / fast_s, 2),
            "speedup_vs_singles_once_loop": round(cached_s / fast_s, 2),
            "max_abs_diff": float(max(np.abs(fast - cached).max(), np.abs(fast - literal).max())),
        }
        assert row["max_abs_diff"] < 1e-9, row
        print(json.dumps(row))
        rows.append(row)
    return rows


def sources_as_texts(items: list[bytes]) -> list[str]:
    return [x.decode("utf-8", "surrogatepass") for x in items]


def scale(n: int, compressor: str) -> list[dict]:
    target = zipkit.read_records(DATA / "proofnet" / "valid.jsonl", text_fields=["formal_statement"])
    lean = zipkit.read_records(DATA / "lean4_deepseek_prover" / "minif2f.jsonl", text_fields=["formal_statement"])
    mixed = [lean.text(i) for i in range(len(lean))]
    for texts in source_sets().values():
        mixed += sources_as_texts(texts)
    sources = [mixed[i % len(mixed)] for i in range(n)]
    scores, seconds = timed(
        zipkit.score, sources, method="zipfit", target=target, compressor=compressor, progress=False
    )
    per_pair = seconds / (n * len(target))
    row = {
        "n_sources": n,
        "n_targets": len(target),
        "compressor": compressor,
        "mean_source_bytes": round(float(np.mean([len(s.encode()) for s in sources])), 1),
        "cpus": os.cpu_count(),
        "seconds": round(seconds, 3),
        "us_per_pair": round(per_pair * 1e6, 2),
        "estimated_185k_x_185_minutes": round(185_000 * 185 * per_pair / 60, 1),
    }
    print(json.dumps(row))
    return [row]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compressor", default="gzip:6")
    parser.add_argument("--scale", type=int, help="time N sources against ProofNet and extrapolate")
    parser.add_argument("--out", help="write the rows as JSON")
    args = parser.parse_args()
    rows = scale(args.scale, args.compressor) if args.scale else speedup(args.compressor)
    if args.out:
        write_json(args.out, rows)


if __name__ == "__main__":
    main()
