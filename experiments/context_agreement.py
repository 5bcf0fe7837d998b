"""How far each backend's default context agrees with exact recompression by the same library.

    python -m experiments.context_agreement [--out FILE] [--counts 10 100 1000] [--no-zip]
    python -m experiments.context_agreement --table BEFORE.json AFTER.json   # print the table

Pool: Alpaca in ShareGPT form (as experiments.zip_speedup builds it), records framed as
ZIP's ``text`` serializer frames them (a newline between records).

- Size error: a context is fed the first n records one at a time (``extend``, as ZIP's
  D' grows); for the next ``--probes`` records, ``size_with(sep + record)`` is compared
  with ``compressor.size(prefix + sep + record)``. Reported: the mean and the largest
  relative error (signed, in %) after n = 10, 100, 1,000 records, and the mean absolute error
  against the bytes the record adds (true size with it minus true size without it).
- Selection overlap: ZIP (paper variant, budget 300, K1/K2/K3 1000/100/50) with the
  backend's default context, and again with ``exact=True`` (recompression of D'+d for
  every candidate); the share of the 300 picks the two selections have in common.

zlib/gzip's default context is exact (a copied stream), so it is its own reference. With
``--out FILE`` the table against ``--before`` (the run before conditional contexts took their
base from the true size) is written beside the results (``.md``, generated from the JSON alone).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np

import zipkit
from zipkit import compressors
from zipkit.experiments.report import markdown
from zipkit.io import get_serializer, write_json, write_text
from zipkit.manifest import versions

from .zip_speedup import alpaca_sharegpt_pool

BEFORE = Path(__file__).parent / "results" / "context_agreement_before.json"  # the run at commit ffcddbe
BACKENDS = ("zlib:9", "gzip:6", "isal:2", "zstd:3", "lz4:1", "lz4hc:9", "brotli:5")


def size_errors(spec: str, payloads, counts: list[int], probes: int) -> dict:
    """Relative error (%) of ``size_with`` against one-shot sizes after n records."""
    compressor = compressors.get(spec)
    frame = get_serializer("text")
    context = compressor.context(frame.head)
    prefix = bytearray(frame.head)
    rows, fed = {}, 0
    for n in sorted(counts):
        while fed < n:
            piece = (frame.sep if fed else b"") + bytes(payloads[fed])
            context.extend(piece)
            prefix += piece
            fed += 1
        held = compressor.size(bytes(prefix))
        errors, cost_errors = [], []
        for j in range(n, n + probes):
            suffix = frame.sep + bytes(payloads[j])
            true = compressor.size(bytes(prefix) + suffix)
            error = context.size_with(suffix) - true
            errors.append(100.0 * error / true)
            cost_errors.append(100.0 * abs(error) / max(true - held, 1))
        errors = np.asarray(errors)
        rows[str(n)] = {
            "prefix_bytes": len(prefix),
            "mean_error_pct": round(float(errors.mean()), 3),
            "max_abs_error_pct": round(float(np.abs(errors).max()), 3),
            # the error against what the record itself adds, the part ZIP ranks by
            "mean_abs_error_of_added_bytes_pct": round(float(np.mean(cost_errors)), 1),
        }
    return rows


def zip_overlap(spec: str, records, budget: int, k: list[int]) -> dict:
    k1, k2, k3 = k
    runs = {}
    for label, exact in (("default", None), ("exact", True)):
        start = time.perf_counter()
        selection = zipkit.select(
            records, method="zip", budget=budget, k1=k1, k2=k2, k3=k3, compressor=spec, exact=exact, progress=False
        )
        runs[label] = (selection, round(time.perf_counter() - start, 3))
    default, exact = runs["default"][0], runs["exact"][0]
    common = len(set(default.indices.tolist()) & set(exact.indices.tolist()))
    return {
        "context": default.manifest["context_exactness"],
        "overlap": round(common / budget, 4),
        "common": common,
        "default_s": runs["default"][1],
        "exact_s": runs["exact"][1],
    }


def table(before: dict, after: dict) -> str:
    """The Markdown table of two runs (before and after a change): a line on the runs, then a
    row per compressor of ``after``."""
    k1, k2, k3 = after["k"]
    head = (
        f"Pool: {after['pool']}. Size errors: mean of {after['probes']} records. ZIP: budget "
        f"{after['budget']:,}, K1/K2/K3 {k1:,}/{k2:,}/{k3:,}. Before: commit {before['commit'][:7]}; "
        f"after: commit {after['commit'][:7]}."
    )
    old = {row["compressor"]: row for row in before["rows"]}
    counts = lambda r: sorted(r["sizes"], key=int)  # noqa: E731
    errors = lambda r: " / ".join(f"{r['sizes'][n]['mean_error_pct']:+.2f} %" for n in counts(r)) or "-"  # noqa: E731
    after_n = " / ".join(f"{int(n):,}" for n in counts(after["rows"][0]))
    rows = []
    for row in after["rows"]:
        was, run = old.get(row["compressor"], {"sizes": {}}), row.get("zip", {})
        rows.append(
            {
                "compressor (default context)": f"{row['compressor']} ({run.get('context', '?')})",
                f"size error after {after_n} records: before": errors(was),
                "size error: after": errors(row),
                f"error of the bytes a record adds, after ({after_n})": " / ".join(
                    f"{row['sizes'][n]['mean_abs_error_of_added_bytes_pct']:.0f} %" for n in counts(row)
                ),
                "ZIP overlap with exact: before": f"{was['zip']['overlap']:.2f}" if "zip" in was else "-",
                "ZIP overlap: after": f"{run['overlap']:.2f}" if run else "-",
                "ZIP seconds, after: default / exact": f"{run['default_s']:.2f} / {run['exact_s']:.2f}" if run else "-",
            }
        )
    return f"{head}\n\n{markdown(rows)}\n"


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--k", type=int, nargs=3, default=[1000, 100, 50], metavar=("K1", "K2", "K3"))
    parser.add_argument("--no-zip", action="store_true", help="size errors only")
    parser.add_argument("--out", help="write the rows as JSON, and beside them (.md) the table against --before")
    parser.add_argument("--before", default=str(BEFORE), help="the run the table compares with (default: %(default)s)")
    parser.add_argument(
        "--table", nargs=2, metavar=("BEFORE", "AFTER"), help="print the markdown table of two result files, and stop"
    )
    args = parser.parse_args()
    if args.table:
        print(table(*(json.loads(Path(path).read_text()) for path in args.table)), end="")
        return
    records = zipkit.read_records(alpaca_sharegpt_pool())
    payloads = records.payloads("text")
    rows = []
    for spec in args.backends:
        row = {"compressor": spec, "sizes": size_errors(spec, payloads, args.counts, args.probes)}
        if not args.no_zip:
            row["zip"] = zip_overlap(spec, records, args.budget, args.k)
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {
        "commit": _commit(),
        "pool": "alpaca_5000 as ShareGPT, text serializer",
        "budget": args.budget,
        "k": args.k,
        "probes": args.probes,
        "versions": versions(),
        "rows": rows,
    }
    if args.out:
        write_json(args.out, result)
        write_text(Path(args.out).with_suffix(".md"), table(json.loads(Path(args.before).read_text()), result))


if __name__ == "__main__":
    main()
