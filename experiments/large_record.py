"""What one huge record costs ZIP: time against the record's size.

    python -m experiments.large_record [--sizes-mb 1 4 16 50] [--out FILE]

Pool: 200 generated instruction records (as ``experiments.bad_inputs`` makes them) and one
more record whose text is ``--sizes-mb`` MB of such records' text repeated. ZIP (paper
variant, zlib:9, budget 10 records, K3 = 10), twice: with K1/K2 = 10000/200 (the defaults;
the huge record's high ratio ranks it out of the coarse window, so only the initial and
coarse stages compress it) and with K2 = 1000 >= the pool (the worst case: it is a
fine-stage candidate at every step). Reported: total time, the time of one
``zlib.compress`` of the huge record alone, and their quotient (how many times the run
compressed the record, in effect). Writes ``OUT`` (JSON) and the table beside it (``.md``,
generated from the JSON alone).
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from pathlib import Path

import zipkit
from zipkit.experiments.report import markdown
from zipkit.io import write_json, write_text
from zipkit.manifest import versions

from .bad_inputs import _pool


def measure(size_mb: float, k2: int, budget: int = 10, k3: int = 10) -> dict:
    records = _pool(200)
    filler = " ".join(r["output"] for r in _pool(400, seed=9))
    text = (filler * (int(size_mb * 2**20) // len(filler) + 1))[: int(size_mb * 2**20)]
    records.insert(100, {"instruction": "a huge record", "input": "", "output": text})
    pool = zipkit.read_records(records)
    started = time.perf_counter()
    sel = zipkit.select(pool, budget=budget, k2=k2, k3=k3, workers=1, progress=False)
    total = time.perf_counter() - started
    began = time.perf_counter()
    zlib.compress(pool.text(100).encode(), 9)
    one = time.perf_counter() - began
    return {
        "size_mb": size_mb,
        "k2": k2,
        "seconds": round(total, 3),
        "one_compression_s": round(one, 3),
        "compressions_in_effect": round(total / one, 1),
        "picked_the_huge_record": 100 in sel.indices,
        "timings": sel.manifest["timings"],
    }


def table(results: dict) -> str:
    """The Markdown table of a run's results: a row per record size and K2."""
    rows = [
        {
            "huge record (MB)": f"{row['size_mb']:g}",
            "K2": f"{row['k2']:,}",
            "ZIP (s)": f"{row['seconds']:.1f}",
            "one zlib:9 compression of the record (s)": f"{row['one_compression_s']:.2f}",
            "compressions in effect": f"{row['compressions_in_effect']:.1f}",
            "picked it": "yes" if row["picked_the_huge_record"] else "no",
        }
        for row in results["rows"]
    ]
    return markdown(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=[1, 4, 16, 50])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "large_record.json")
    args = parser.parse_args()
    rows = []
    for k2 in (200, 1000):
        for size in args.sizes_mb:
            rows.append(measure(size, k2))
            print(json.dumps(rows[-1]), flush=True)
    results = {"rows": rows, "versions": versions()}
    write_json(args.out, results)
    write_text(args.out.with_suffix(".md"), table(results))


if __name__ == "__main__":
    main()
