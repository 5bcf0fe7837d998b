"""Deduplication at a million records, outside asv: the pool of ``benchmarks/dedup.py`` (real
instruction texts made distinct, one in ten a near copy and one in twenty an exact copy of an
earlier record), each mode in a fresh process on the same cores: seconds, peak memory (the
process's maximum resident set), records removed.

    python -m experiments.dedup_scale [--records 1000000] [--modes near-rensa exact] [--out FILE]

Writes ``OUT.json`` and ``OUT.md`` (the table, generated from the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from zipkit.io import write_json, write_text
from zipkit.manifest import versions

RUN = """
import json, resource, sys, time
import zipkit
started = time.perf_counter()
kind, _, backend = sys.argv[2].partition("-")
if kind == "read":
    pool = zipkit.read_records(sys.argv[1], progress=False)
    out = {"records": len(pool)}
else:
    res = zipkit.dedup(sys.argv[1], mode=kind, backend=backend or "rensa", progress=False)
    out = {"records": res.manifest["records"], "removed": res.manifest["removed"],
           "clusters": res.manifest["clusters"], "signatures": res.manifest["timings"]["signatures"]}
out["seconds"] = time.perf_counter() - started
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def table(results: dict) -> str:
    rows = [
        f"{results['records']:,} records ({results['pool_mib']:.0f} MiB of JSON Lines); each mode a fresh process.",
        "",
        "| mode | removed | clusters | seconds | signatures (s) | peak memory (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for mode, r in results["runs"].items():
        rows.append(
            f"| {mode} | {r.get('removed', '')} | {r.get('clusters', '')} | {r['seconds']:.1f} | "
            f"{r.get('signatures', 0):.1f} | {r['peak_mib']:.0f} |"
        )
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--modes", nargs="+", default=["read", "exact", "near-rensa"])
    parser.add_argument("--out", default="experiments/results/dedup_scale")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks import dedup as bench

    bench.RECORDS = args.records
    with tempfile.TemporaryDirectory() as tmp:
        here = Path.cwd()
        try:  # setup_cache writes its pool into the working folder, as asv runs it
            os.chdir(tmp)
            pool = Path(tmp) / bench.Dedup1M().setup_cache()
        finally:
            os.chdir(here)
        runs = {}
        for mode in args.modes:
            done = subprocess.run(
                [sys.executable, "-c", RUN, str(pool), mode], check=True, capture_output=True, text=True
            )
            runs[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            print(mode, runs[mode] | {"removed": runs[mode].get("removed")}, flush=True)
        results = {
            "records": args.records,
            "pool_mib": pool.stat().st_size / 2**20,
            "runs": runs,
            "versions": versions(),
        }
    write_json(f"{args.out}.json", results)
    write_text(f"{args.out}.md", table(results))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
