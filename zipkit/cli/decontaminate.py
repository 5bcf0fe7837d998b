"""``zipkit decontaminate``: drop a pool's records that share text with benchmarks."""

from __future__ import annotations

import argparse
import json
import time

from .. import benchmarks
from ..io import atomic_output, check_outputs, output_format
from .common import engine_options, executor_of, open_run_pool, pool_options, write_records


def parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``zipkit decontaminate`` subcommand and its options, added to ``sub``."""
    p = sub.add_parser(
        "decontaminate",
        parents=[pool_options(), engine_options()],
        help="drop the records that share text with evaluation benchmarks",
        description="Drop every record that shares an n-gram of --ngram words (13) with a text of a "
        "benchmark, or whose whole text equals one, after normalisation (lower case, words only). "
        "Writes the clean pool, records unchanged, and the dropped records' indices with the "
        "benchmark text and the words they share.",
    )
    p.add_argument(
        "--against",
        action="append",
        required=True,
        metavar="BENCHMARK",
        help=f"{', '.join(benchmarks.BENCHMARKS)}, or a records file (repeat for several)",
    )
    p.add_argument("--ngram", type=int, default=13, help="words in a shared sequence (default: %(default)s)")
    p.add_argument("-o", "--output", required=True, help="the clean pool (.jsonl, .json or .parquet)")
    p.add_argument(
        "--dropped",
        help="the dropped records, one JSON line each: index (row of the input), benchmark, target "
        "(its text's number), reason",
    )
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``zipkit decontaminate`` with the parsed ``args``; the exit status."""
    from ..decontaminate import account, decontaminate_pool, index_of

    outputs = {"-o": args.output, "--dropped": args.dropped}
    check_outputs(outputs, {"the pool": args.pool, **{f"--against {a}": a for a in args.against}})
    output_format(args.output)
    started = time.perf_counter()
    index = index_of(args.against, args.ngram)
    executor = executor_of(args)
    pool = open_run_pool(args, executor)
    keep, dropped = decontaminate_pool(pool, index, args.against)
    write_records(pool, pool.index[keep], args.output)
    if args.dropped:
        with atomic_output(args.dropped) as out:
            out.writelines(json.dumps(d.as_dict(), ensure_ascii=False).encode() + b"\n" for d in dropped)
    by = account(index, dropped)["by_benchmark"]
    print(f"kept     {len(keep):,} of {len(pool):,} records -> {args.output}")
    print("dropped  " + ", ".join(f"{n:,} for {name} ({index.sizes[name]:,} texts)" for name, n in by.items()))
    for d in dropped[:3]:
        print(f"  e.g. index {d.index}: {d.benchmark} text {d.target}: {d.reason[:100]}")
    print(f"time     {time.perf_counter() - started:.2f} s")
    return 0
