"""``zipkit score``: one value per record by any scoring method."""

from __future__ import annotations

import argparse
import os

from .. import methods, ratio
from ..api import open_pool, score
from ..io import write_json
from ..manifest import command_line
from .common import (
    check_read,
    check_run_outputs,
    engine_options,
    executor_of,
    load_pool,
    pool_options,
    progress,
    read_options,
)
from .options import add_method_options, method_params


def parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``zipkit score`` subcommand and its options, added to ``sub``."""
    p = sub.add_parser(
        "score",
        parents=[pool_options(), engine_options()],
        help="score every record of a pool",
        description="Per-record scores, keyed by position: ratio (compression "
        "ratio), zipfit (alignment with --target), dsir (log importance "
        "weight towards --target), length (tokens), perplexity and ifd "
        "(with every LM loss and token count they come from).",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="position, record number, score per record (.parquet, .jsonl or .json); parquet also carries the manifest",
    )
    p.add_argument(
        "--report", help="the manifest (method, every parameter, compressor or model, versions, timings) as JSON"
    )
    add_method_options(p, "score")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``zipkit score`` with the parsed ``args``; the exit status."""
    check_run_outputs(args)
    executor = executor_of(args)
    params = method_params(args, "score")
    # With --scores-dir a one-file pool is scored as one shard, so its scores are kept there
    # (standard input and packaged pools, which are not files, are read whole).
    stream = True if args.scores_dir and os.path.isfile(args.pool) else None
    pool = open_pool(args.pool, executor, stream=stream, read=read_options(args), progress=progress(args))
    if pool.records is None:
        result = score(pool, method=args.method, engine=executor, **params)
        check_read(len(pool), pool.skipped, args.pool)
    else:
        load_pool(args, records=pool.records)
        result = score(pool, method=args.method, engine=executor, **params)
    if not methods.get(args.method).writes_all_columns:
        result.columns = {result.column: result.values}
    result.manifest["argv"] = command_line()
    result.write(args.output)
    if args.report:
        write_json(args.report, result.manifest)
    stats = ratio.summarize(next(iter(result.columns.values())))
    print(f"scored   {len(result):,} records by {args.method} -> {args.output}")
    print(
        f"{next(iter(result.columns)):8} "
        + "  ".join(f"{k} {v:,}" if k == "unscored" else f"{k} {v:.4f}" for k, v in stats.items())
    )
    print("time     " + ", ".join(f"{k} {v:.2f} s" for k, v in result.manifest["timings"].items()))
    return 0
