"""``zipkit select``: a subset of a pool by any method."""

from __future__ import annotations

import argparse

import numpy as np

from ..api import select
from ..manifest import command_line
from .common import (
    check_run_outputs,
    engine_options,
    executor_of,
    open_run_pool,
    pool_options,
    report_skipped,
    write_records,
)
from .options import add_method_options, method_params


def parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``zipkit select`` subcommand and its options, added to ``sub``."""
    p = sub.add_parser(
        "select",
        parents=[pool_options(), engine_options()],
        help="select a subset of a pool",
        description="Select records; the output holds the selected input records "
        "unchanged, in selection order; the report holds indices, "
        "scores and the manifest. With --engine ray the pool is never read "
        "whole here: its shards stream through the method's steps on the "
        "workers, and the selected records are read back from them.",
    )
    p.add_argument("-o", "--output", required=True, help="selected records (.jsonl, .ndjson, .json, .parquet)")
    p.add_argument("--report", help="indices, scores and manifest as JSON")
    add_method_options(p, "select")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``zipkit select`` with the parsed ``args``; the exit status."""
    check_run_outputs(args, **{"--checkpoint": getattr(args, "checkpoint", None)})
    executor = executor_of(args)
    if args.scores_dir and executor.name == "local":
        raise ValueError(
            "--scores-dir keeps the shards a Ray pass scored; select --engine local reads the pool "
            "and scores it here: add --engine ray, or drop --scores-dir"
        )
    params = method_params(args, "select")
    pool = open_run_pool(args, executor)
    result = select(pool, method=args.method, engine=executor, **params)
    result.manifest["argv"] = command_line()
    if pool.records is None and pool.skipped:
        report_skipped(pool.skipped, args.pool)
    write_records(pool, result.indices, args.output)
    if args.report:
        result.write_report(args.report)
    m = result.manifest
    tokens = f", {m['tokens_selected']:,} tokens" if m.get("tokens_selected") is not None else ""
    print(f"selected {len(result.indices):,} of {len(pool):,} records{tokens} -> {args.output}")
    if len(result.scores):
        print(
            f"scores   first {result.scores[0]:.4f}  median {np.median(result.scores):.4f}  "
            f"last {result.scores[-1]:.4f}"
        )
    times = ", ".join(f"{k} {v:.2f} s" for k, v in m["timings"].items())
    print(f"time     {times}")
    return 0
