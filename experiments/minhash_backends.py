"""MinHash for near-duplicate removal: rensa (Rust) against datasketch on the same pool, each in
a fresh process on the same cores: time, peak memory, and how far their clusters agree.

    python -m experiments.minhash_backends [--records 100000] [--out experiments/results/minhash_backends]

The pool: a seeded sample of every source of the experiments' pools in ../shared/data. Both backends run ``zipkit.dedup(mode="near")`` with the same
parameters (threshold 0.8, 5-token shingles, 128 permutations, the bands datasketch's LSH
chooses), and ``mode="exact"`` once for reference. Agreement: the Jaccard overlap of the two
sets of removed records, the share of records both remove that both join to the same kept
record, and, for a seeded sample of each backend's removed records, the true Jaccard
similarity of the record's shingles with the kept record's (how many are real near
duplicates: >= the threshold, >= 0.5).

Writes ``OUT/results.json`` and ``OUT/results.md`` (the table, generated from the JSON).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from zipkit.experiments import pools
from zipkit.io import write_json, write_text
from zipkit.manifest import versions

# Every source of the experiments' pools (101,331 records: ShareGPT conversations and their
# exchanges, instructions, code, Lean statements, web text), of which a seeded 100,000.
SOURCES = pools.NAMES
RUN = """
import json, resource, sys, time
import zipkit
started = time.perf_counter()
if sys.argv[2] == "read":  # the baseline: the interpreter, zipkit and the pool read, no dedup
    pool = zipkit.read_records(sys.argv[1], progress=False)
    out = {"seconds": time.perf_counter() - started}
else:
    res = zipkit.dedup(sys.argv[1], mode=sys.argv[2], backend=sys.argv[3], progress=False)
    out = {"seconds": time.perf_counter() - started, "signatures": res.manifest["timings"]["signatures"],
           "kept": len(res.kept), "removed": res.removed.tolist(), "clusters": res.clusters,
           "parameters": res.manifest["parameters"]}
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss: KiB on Linux
json.dump(out, open(sys.argv[4], "w"))
"""


def run(pool: Path, mode: str, backend: str, folder: Path) -> dict:
    out = folder / f"{mode}-{backend.strip('-')}.json"
    subprocess.run([sys.executable, "-c", RUN, str(pool), mode, backend, str(out)], check=True)
    return json.loads(out.read_text())


def roots(result: dict) -> dict[int, int]:
    """Each removed record's kept record."""
    return {i: c[0] for c in result["clusters"] for i in c[1:]}


def agreement(a: dict, b: dict) -> dict:
    ra, rb = set(a["removed"]), set(b["removed"])
    both = ra & rb
    ka, kb = roots(a), roots(b)
    same = sum(ka[i] == kb[i] for i in both)
    return {
        "removed_jaccard": round(len(both) / len(ra | rb), 4) if ra | rb else 1.0,
        "removed_by_both": len(both),
        "same_kept_record": round(same / len(both), 4) if both else 1.0,
    }


def true_similarity(result: dict, texts: list[str], threshold: float, sample: int, seed: int) -> dict:
    from zipkit.dedup import shingles

    pairs = sorted(roots(result).items())
    pairs = random.Random(seed).sample(pairs, min(sample, len(pairs)))

    def jaccard(x: str, y: str) -> float:
        a, b = set(shingles(x, 5)), set(shingles(y, 5))
        return len(a & b) / len(a | b) if a | b else 1.0

    values = [jaccard(texts[i], texts[k]) for i, k in pairs]
    return {
        "checked": len(values),
        "at_least_threshold": round(sum(v >= threshold for v in values) / len(values), 4) if values else None,
        "at_least_0.5": round(sum(v >= 0.5 for v in values) / len(values), 4) if values else None,
    }


def table(results: dict) -> str:
    """The results as Markdown tables (``results.md``), from ``results.json`` alone."""
    base = results["baseline"]
    rows = [
        f"{results['records']:,} records; each run a fresh process on the same cores. Peak memory above "
        f"the baseline: a process that imports zipkit and reads the pool ({base['peak_mib']:.0f} MiB, "
        f"{base['seconds']:.1f} s).",
        "",
        "| backend | mode | removed | clusters | seconds | signatures (s) | peak memory (MiB) | above baseline (MiB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, r in results["runs"].items():
        mode, backend = key.split("-")
        rows.append(
            f"| {backend if mode == 'near' else '(none)'} | {mode} | {r['removed']:,} | {r['clusters']:,} | "
            f"{r['seconds']:.1f} | {r['signatures']:.1f} | {r['peak_mib']:.0f} | "
            f"{max(r['peak_mib'] - base['peak_mib'], 0):.0f} |"
        )
    ag = results["agreement"]
    rows += ["", "| agreement of rensa and datasketch (near) | value |", "|---|---|"]
    rows += [f"| {k.replace('_', ' ')} | {v} |" for k, v in ag.items()]
    rows += [
        "",
        "| true shingle Jaccard of removed records with their kept record (sample) | "
        + " | ".join(results["true_similarity"])
        + " |",
        "|---|" + "---|" * len(results["true_similarity"]),
    ]
    for name in ("checked", "at_least_threshold", "at_least_0.5"):
        rows.append(
            f"| {name.replace('_', ' ')} | "
            + " | ".join(str(v[name]) for v in results["true_similarity"].values())
            + " |"
        )
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--out", default="experiments/results/minhash_backends")
    parser.add_argument("--sample", type=int, default=3000, help="removed records checked against true Jaccard")
    parser.add_argument("--table-only", action="store_true", help="remake OUT/results.md from OUT/results.json")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.table_only:
        write_text(out / "results.md", table(json.loads((out / "results.json").read_text())))
        return 0
    records = pools.build(SOURCES, limit=args.records, seed=0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pool = Path(tmp) / "pool.jsonl"
        pool.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        import zipkit

        read = zipkit.read_records(pool, progress=False)
        texts = [read.text(i) for i in range(len(read))]
        runs = {f"near-{b}": run(pool, "near", b, Path(tmp)) for b in ("rensa", "datasketch")}
        runs["exact-rensa"] = run(pool, "exact", "rensa", Path(tmp))
        baseline = run(pool, "read", "-", Path(tmp))
    threshold = runs["near-rensa"]["parameters"]["threshold"]
    results = {
        "records": len(texts),
        "sources": SOURCES,
        "parameters": runs["near-rensa"]["parameters"],
        "baseline": baseline,
        "runs": {
            k: {kk: v for kk, v in r.items() if kk not in ("removed", "clusters")}
            | {"removed": len(r["removed"]), "clusters": len(r["clusters"])}
            for k, r in runs.items()
        },
        "agreement": agreement(runs["near-rensa"], runs["near-datasketch"]),
        "true_similarity": {
            b: true_similarity(runs[f"near-{b}"], texts, threshold, args.sample, seed=0)
            for b in ("rensa", "datasketch")
        },
        "versions": {**versions(), **{b: version(b) for b in ("rensa", "datasketch")}},
    }
    write_json(out / "results.json", results)
    write_text(out / "results.md", table(results))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
