"""Out-of-core selection on Ray: a 5-million-record sharded pool selected by random,
length, dsir and zip (K1 10,000) with ``zipkit select --engine ray``, each a fresh process
timed by /usr/bin/time (wall seconds, the driver's peak resident memory; Ray's workers are
other processes). The pool never enters the driver: the methods' steps stream the shards on
the workers, the driver keeps scores and candidate positions, and reads the selected
records (and ZIP's candidates) back from the shards. A small pool checks that Ray's
selections equal the local engine's, output file for output file.

    python -m experiments.out_of_core --records 5000000 --shards 50

The pool is ``experiments.engine_scale``'s (Alpaca and CodeAlpaca records, cycled, each
made distinct), written to --workdir, never to the project. Rows already in --out are kept:
a run cut short continues.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import subprocess
import sys
import time
from pathlib import Path

from experiments.engine_scale import build
from zipkit.experiments.report import markdown
from zipkit.io import write_json, write_text

ROOT = Path(__file__).resolve().parents[1]
METHODS = {
    "random": ["--budget", "1000"],
    "length": ["--budget", "1000"],
    "dsir": ["--budget", "1000", "--min-tokens", "0"],
    "zip": ["--budget", "1000", "--k1", "10000", "--k2", "200", "--k3", "100"],
}


def select(pool: Path, method: str, engine: str, out: Path, target: Path) -> dict:
    zipkit = str(Path(sys.executable).parent / "zipkit")
    extra = ["--target", str(target)] if method == "dsir" else []
    command = [
        "/usr/bin/time",
        "-f",
        "%e %M",
        zipkit,
        "select",
        str(pool),
        "--method",
        method,
        "--engine",
        engine,
        *METHODS[method],
        *extra,
        "-o",
        str(out),
        "--report",
        str(out.with_suffix(".report.json")),
        "--no-progress",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    seconds, kb = done.stderr.strip().splitlines()[-1].split()
    report = json.loads(out.with_suffix(".report.json").read_text())
    return {
        "method": method,
        "engine": engine,
        "wall_s": float(seconds),
        "driver_max_rss_mb": round(int(kb) / 1024),
        "selected": report["manifest"]["selected"],
        "candidates": report["manifest"].get("candidates"),
        "timings": report["manifest"]["timings"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--shards", type=int, default=50)
    parser.add_argument("--small", type=int, default=20_000, help="records of the pool both engines select from")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--workdir", default="/tmp/zipkit-ooc")
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "out_of_core_5m.json"))
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    target = work / "target.jsonl"
    target.write_text("".join(json.dumps({"text": f"def f{i}(x):\n    return x * {i}\n"}) + "\n" for i in range(32)))
    out = Path(args.out)
    saved = json.loads(out.read_text()) if out.is_file() else {"rows": [], "same_as_local": {}}
    small = build(work, args.small, 8)
    for method in args.methods:  # the same selection on both engines, a pool small enough for both
        if method in saved["same_as_local"]:
            continue
        files = {engine: work / f"small-{method}-{engine}.jsonl" for engine in ("local", "ray")}
        for engine, path in files.items():
            select(small, method, engine, path, target)
        saved["same_as_local"][method] = filecmp.cmp(files["local"], files["ray"], shallow=False)
        save(out, saved, args)
    pool = build(work, args.records, args.shards)
    for method in args.methods:
        if any(row["method"] == method and row["records"] == args.records for row in saved["rows"]):
            continue
        started = time.perf_counter()
        row = {
            "records": args.records,
            "shards": args.shards,
            **select(pool, method, "ray", work / f"big-{method}.jsonl", target),
        }
        row["measured_s"] = round(time.perf_counter() - started, 1)
        saved["rows"].append(row)
        print(json.dumps(row), flush=True)
        save(out, saved, args)


# What each method's driver reads back from the shards, beyond every record's score and place.
READ_BACK = {"zip": "{candidates:,} candidates, then the {selected:,} selected"}
LABELS = {
    "dsir": "dsir (32 short code targets, `--min-tokens 0`)",
    "zip": "zip (K1 10,000, K2 200, K3 100)",
}
# The stage of each method that reads every shard on the workers.
FULL_PASS = {"random": "keys", "length": "lengths", "dsir": "fit", "zip": "initial_scores"}


def table(results: dict) -> str:
    """The Markdown table of the runs: wall time, the driver's peak memory, the pass over every
    shard, ZIP's loop, and what the driver read back; then whether each selection was the local
    engine's on the small pool."""
    rows = []
    for run in results["rows"]:
        read_back = READ_BACK.get(run["method"], "the {selected:,} selected")
        rows.append(
            {
                "method": LABELS.get(run["method"], run["method"]),
                "records (shards)": f"{run['records']:,} ({run['shards']})",
                "wall s": f"{run['wall_s']:,.0f}",
                "driver peak RSS": f"{run['driver_max_rss_mb']:,} MB",
                "pass over every shard, s": f"{run['timings'][FULL_PASS[run['method']]]:,.0f}",
                "selection loop, s": f"{run['timings']['loop']:.1f}" if "loop" in run["timings"] else "-",
                "records read back by the driver": read_back.format(**run),
                "same output as local (small pool)": "yes" if results["same_as_local"].get(run["method"]) else "no",
            }
        )
    return markdown(rows) + "\n"


def save(out: Path, saved: dict, args: argparse.Namespace) -> None:
    saved.update(
        machine="2 cores, 24 GB",
        budget="1000 records",
        note="select --engine ray on a sharded pool; driver_max_rss_mb is the driver process's peak RSS "
        "(/usr/bin/time %M); Ray workers are other processes",
    )
    write_json(out, saved)
    if saved["rows"]:
        write_text(out.with_suffix(".md"), table(saved))


if __name__ == "__main__":
    main()
