"""Where a ZIP run's time goes: the queries against everything around them, per stage and
round, and a query's time split into its parts.

    python -m experiments.zip_breakdown [--sections run query] [--out experiments/results/zip_breakdown]

- run: ZIP official at budget 600 (K 1000/100/50) on Alpaca in ShareGPT form, with 1 and 2
  workers. Per round and stage (coarse, fine): the stage's wall time, the wall time spent
  waiting on query batches, the rest (building suffixes, picking, extending the context,
  the thread pool's hand-offs), the queries' summed kernel time, and how many queries.
- query: a zlib:9 query of a real record after 100 KiB of real records, in parts measured
  apart: the Python call (``size_with`` against the batch kernel ``sizes_with`` per
  query), the Huffman code lengths of the last block (``block_bits`` on each query's final
  frequencies, in a numba loop), the match search down the hash chains past their head
  (the kernel at zlib's chain limit against a chain of one), and the rest of the parse
  (inserts, lazy-match decisions, symbol counts, copies of the state). Block ends are
  counted: the share of queries in which the pending block fills (16,383 symbols) before
  the candidate's end.

- reuse: how many of the fine stage's queries could reuse an earlier answer exactly. A
  candidate's parse after the round's picks plus a new pick can equal its parse without that
  pick only where none of its 3-byte strings hashes like one of the pick's (otherwise the
  pick's positions come first in the candidate's hash chains); counted over every (new pick,
  remaining candidate) pair of the fine stages of the run above.

Writes ``OUT.json`` and ``OUT.md`` (the tables, generated from the JSON alone).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import threading
import time
import zlib
from pathlib import Path

import numba
import numpy as np

import zipkit
from zipkit.compressors import deflate_parse as engine
from zipkit.compressors.deflate_trees import block_bits, scratch
from zipkit.compressors.exact_deflate import EngineContext
from zipkit.io import write_json, write_text
from zipkit.methods import zip as zip_method

ROOT = Path(__file__).resolve().parents[1]
PARAMS = {"budget": 600, "k1": 1000, "k2": 100, "k3": 50, "variant": "official", "progress": False}


class _Clock:
    """Wall and kernel time of every query batch, by round and stage, from any thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stage, self.round = "coarse", 0
        self.rows: dict = collections.defaultdict(lambda: collections.Counter())

    def add(self, key: str, value: float) -> None:
        with self.lock:
            self.rows[(self.round, self.stage)][key] += value


def _instrumented_run(records, workers: int) -> dict:
    """One ZIP run with the run's methods wrapped by timers (restored afterwards)."""
    clock = _Clock()
    originals = {
        "sizes_with": EngineContext.sizes_with,
        "ratios": zip_method._Run._ratios,
        "round": zip_method._Run.round,
        "fine": zip_method._Run._fine,
    }

    def sizes_with(self, suffixes):
        start = time.perf_counter()
        out = originals["sizes_with"](self, suffixes)
        clock.add("kernel_s", time.perf_counter() - start)
        clock.add("queries", len(suffixes))
        return out

    def ratios(self, anchor, positions):
        start = time.perf_counter()
        out = originals["ratios"](self, anchor, positions)
        clock.add("in_queries_s", time.perf_counter() - start)
        return out

    def fine(self, coarse):
        clock.stage = "fine"
        start = time.perf_counter()
        out = originals["fine"](self, coarse)
        clock.add("wall_s", time.perf_counter() - start)
        clock.stage = "coarse"
        return out

    def round_(self):
        start = time.perf_counter()
        originals["round"](self)
        clock.rows[(clock.round, "coarse")]["wall_s"] += (
            time.perf_counter() - start - clock.rows[(clock.round, "fine")]["wall_s"]
        )
        clock.round += 1

    EngineContext.sizes_with = sizes_with
    zip_method._Run._ratios, zip_method._Run._fine, zip_method._Run.round = ratios, fine, round_
    try:
        start = time.perf_counter()
        selection = zipkit.select(records, **PARAMS, workers=workers)
        total = time.perf_counter() - start
    finally:
        EngineContext.sizes_with = originals["sizes_with"]
        zip_method._Run._ratios, zip_method._Run._fine = originals["ratios"], originals["fine"]
        zip_method._Run.round = originals["round"]
    rounds = [
        {"round": r, "stage": stage, **{k: round(v, 4) for k, v in counts.items()}}
        for (r, stage), counts in sorted(clock.rows.items())
    ]
    for row in rounds:  # the global stage's bottom-k is counted with the coarse stage
        row["around_s"] = round(row["wall_s"] - row.get("in_queries_s", 0.0), 4)
    return {
        "workers": workers,
        "total_s": round(total, 3),
        "timings": {k: round(v, 3) for k, v in selection.manifest["timings"].items()},
        "rounds": rounds,
        "indices": selection.indices.tolist(),
    }


def run_section() -> dict:
    from experiments.zip_speedup import alpaca_sharegpt_pool

    records = zipkit.read_records(alpaca_sharegpt_pool(), progress=False)
    zipkit.select(records, **{**PARAMS, "budget": 50})  # kernels loaded outside the timing
    runs = [_instrumented_run(records, workers) for workers in (1, 2)]
    assert runs[0].pop("indices") == runs[1].pop("indices"), "1 and 2 workers selected differently"
    return {"pool": len(records), **{k: v for k, v in PARAMS.items() if k != "progress"}, "runs": runs}


def _hashes(data: bytes) -> set:
    """The zlib hashes of every 3-byte string of ``data`` (deflate_parse._hash)."""
    a = np.frombuffer(data, np.uint8).astype(np.int64)
    if len(a) < 3:
        return set()
    return set((((a[:-2] << 10) ^ (a[1:-1] << 5) ^ a[2:]) & engine.HASH_MASK).tolist())


def reuse_section() -> dict:
    from experiments.zip_speedup import alpaca_sharegpt_pool

    records = zipkit.read_records(alpaca_sharegpt_pool(), progress=False)
    rounds = []
    original = zip_method._Run._fine

    def fine(self, coarse):
        picks, scores = original(self, coarse)
        rounds.append((coarse.tolist(), picks))
        return picks, scores

    zip_method._Run._fine = fine
    try:
        selection = zipkit.select(records, **PARAMS)
    finally:
        zip_method._Run._fine = original
    payloads = records.payloads(selection.manifest["parameters"]["serializer"])
    pairs = disjoint = 0
    for coarse, picks in rounds:
        hashes = {i: _hashes(bytes(payloads[i])) for i in coarse}
        left = set(coarse)
        for pick in picks[:-1]:  # after the last pick nothing is asked again
            left.discard(pick)
            for c in left:
                pairs += 1
                disjoint += not (hashes[pick] & hashes[c])
    return {"rounds": len(rounds), "requeried_pairs": pairs, "sharing_no_hash": disjoint}


@numba.njit(cache=True)
def _trees_loop(lfreqs, dfreqs, work):
    total = 0
    for k in range(lfreqs.shape[0]):
        total += block_bits(lfreqs[k], dfreqs[k], 1, False, 0, True, work)
    return total


def _per_query_us(fn, n: int, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def query_section() -> dict:
    from experiments.deflate_engine import instruction_texts

    texts = instruction_texts()
    history = b"\n".join(texts[:8000])[:100_000]
    candidates = texts[9000:9400]
    n = len(candidates)
    context = EngineContext(9, "zlib", history)
    context.sizes_with(candidates[:4])
    plain = _per_query_us(lambda: [zlib.compress(c, 9) for c in candidates], n)
    size_with = _per_query_us(lambda: [context.size_with(c) for c in candidates], n)
    batch = _per_query_us(lambda: context.sizes_with(candidates), n)
    params = context._params
    context._params = (*params[:3], 1)  # a chain of one: each match search stops at the chain's head
    head_only = _per_query_us(lambda: context.sizes_with(candidates), n)
    context._params = params
    # Each query's last block: the frequencies of the prefix and candidate parsed as one.
    finals = [EngineContext(9, "zlib", history + c)._safe for c in candidates]
    lfreqs = np.array([f[1] for f in finals])
    dfreqs = np.array([f[2] for f in finals])
    work = scratch()
    _trees_loop(lfreqs[:2], dfreqs[:2], work)
    trees = _per_query_us(lambda: _trees_loop(lfreqs, dfreqs, work), n)
    symbols = np.array([f[0][engine.SYMS] for f in finals])
    start_syms = context._safe[0][engine.SYMS]
    blocks_end = sum(
        EngineContext(9, "zlib", history + c)._safe[0][engine.BLOCK_START] != context._safe[0][engine.BLOCK_START]
        for c in candidates
    )
    assert np.all(context.sizes_with(candidates) == [len(zlib.compress(history + c, 9)) for c in candidates])
    return {
        "level": 9,
        "history_bytes": len(history),
        "candidates": n,
        "mean_candidate_bytes": round(float(np.mean([len(c) for c in candidates])), 1),
        "plain_us": round(plain, 2),
        "size_with_us": round(size_with, 2),
        "batch_us": round(batch, 2),
        "python_call_us": round(size_with - batch, 2),
        "trees_us": round(trees, 2),
        "match_search_us": round(batch - head_only, 2),
        "parse_rest_us": round(head_only - trees, 2),
        "pending_symbols_before": int(start_syms),
        "mean_symbols_after": round(float(symbols.mean()), 1),
        "queries_with_a_block_end": int(blocks_end),
        "size_with_over_plain": round(size_with / plain, 2),
        "batch_over_plain": round(batch / plain, 2),
    }


def table(results: dict) -> str:
    lines: list[str] = []
    run = results.get("run")
    if run:
        lines += [
            f"ZIP {run['variant']}, budget {run['budget']}, K {run['k1']}/{run['k2']}/{run['k3']}, "
            f"{run['pool']:,} records; {results['cpus']} cores, zlib {results['zlib']}. Seconds.",
            "",
            "| workers | total | stage | wall | waiting on queries | around the queries | query kernels (summed) | queries |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in run["runs"]:
            for stage in ("coarse", "fine"):
                rows = [row for row in r["rounds"] if row["stage"] == stage]
                sums = {
                    k: sum(row.get(k, 0) for row in rows) for k in ("wall_s", "in_queries_s", "around_s", "kernel_s")
                }
                queries = int(sum(row.get("queries", 0) for row in rows))
                lines.append(
                    f"| {r['workers']} | {r['total_s']:.2f} | {stage} | {sums['wall_s']:.3f} | "
                    f"{sums['in_queries_s']:.3f} | {sums['around_s']:.3f} | {sums['kernel_s']:.3f} | {queries:,} |"
                )
        lines += [
            "",
            "Per round, 2 workers (seconds, coarse / fine):",
            "",
            "| round | wall | around the queries |",
            "|---|---|---|",
        ]
        two = run["runs"][-1]["rounds"]
        for r in sorted({row["round"] for row in two}):
            coarse, fine = (
                next(row for row in two if row["round"] == r and row["stage"] == s) for s in ("coarse", "fine")
            )
            lines.append(
                f"| {r + 1} | {coarse['wall_s']:.3f} / {fine['wall_s']:.3f} | {coarse['around_s']:.3f} / {fine['around_s']:.3f} |"
            )
        lines.append("")
    q = results.get("query")
    if q:
        lines += [
            f"A zlib:{q['level']} query after {q['history_bytes']:,} bytes of history, {q['candidates']} real records "
            f"of {q['mean_candidate_bytes']} bytes on average; µs per query, best of 5 passes.",
            "",
            "| part | µs |",
            "|---|---|",
            f"| plain `zlib.compress` of the candidate alone | {q['plain_us']} |",
            f"| `size_with`, one call per query | {q['size_with_us']} ({q['size_with_over_plain']}x plain) |",
            f"| `sizes_with`, one call per batch | {q['batch_us']} ({q['batch_over_plain']}x plain) |",
            f"| of which: the Python call per query (the difference) | {q['python_call_us']} |",
            f"| of which: match search down the hash chains past their head | {q['match_search_us']} |",
            f"| of which: Huffman code lengths of the last block (`block_bits`) | {q['trees_us']} |",
            f"| of which: the rest of the parse (inserts, lazy decisions, symbol counts, copies) | {q['parse_rest_us']} |",
            "",
            f"The pending block holds {q['pending_symbols_before']:,} symbols before a query; "
            f"{q['queries_with_a_block_end']} of {q['candidates']} queries end a block before the candidate's end.",
            "",
        ]
    r = results.get("reuse")
    if r:
        lines += [
            f"Fine stages of the same run: {r['requeried_pairs']:,} queries ask a candidate again after a new pick; in "
            f"{r['sharing_no_hash']:,} of them ({r['sharing_no_hash'] / max(r['requeried_pairs'], 1):.2%}) the "
            "candidate shares no 3-byte hash with the pick, the least that an unchanged parse needs.",
            "",
        ]
    return "\n".join(lines)


SECTIONS = {"run": run_section, "query": query_section, "reuse": reuse_section}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=list(SECTIONS))
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "zip_breakdown"))
    args = parser.parse_args(argv)
    path = Path(f"{args.out}.json")
    results = json.loads(path.read_text()) if path.is_file() else {}
    results.update({"cpus": os.cpu_count(), "zlib": zlib.ZLIB_RUNTIME_VERSION})
    for section in args.sections:
        results[section] = SECTIONS[section]()
        write_json(path, results)
    write_text(f"{args.out}.md", table(results))
    print(table(results))


if __name__ == "__main__":
    main()
