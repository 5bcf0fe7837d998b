"""What every command shares: the pool and engine options, reading the pool, and saying
what was skipped."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

import numpy as np

from ..executors import EXECUTORS, Executor, LocalExecutor, RayExecutor
from ..io import EXTENSIONS, FORMATS, SCHEMAS, Records, check_outputs, output_format, read_records


def pool_options(many: bool = False) -> argparse.ArgumentParser:
    """Options shared by every command that reads a pool (a parent parser); ``many``: one or
    several pools."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("pool")
    group.add_argument(
        "pool",
        nargs="+" if many else None,
        help="a .json/.jsonl/.ndjson(.gz/.zst)/.parquet file, a directory of such shards or a "
        "quoted glob of them ('data/*.jsonl.zst'), a Hugging Face datasets save_to_disk folder, "
        "- (standard input), or packaged:sharegpt"
        + ("; several: compared in one table, in order (versions of a dataset)" if many else ""),
    )
    group.add_argument(
        "--format", choices=FORMATS, help="default: from the suffix (" + ", ".join(EXTENSIONS) + ") and the content"
    )
    group.add_argument("--schema", choices=SCHEMAS, help="default: detected from the first record")
    group.add_argument(
        "--text-field",
        dest="text_fields",
        action="append",
        metavar="FIELD",
        help="a field holding the text (repeat for several); overrides --schema",
    )
    group.add_argument(
        "--split",
        help="the split of a save_to_disk folder holding a DatasetDict (train, test, ...)",
    )
    group.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip unreadable records and list them, instead of stopping at the first",
    )
    group.add_argument("--no-progress", action="store_true", help="never show progress bars")
    return parent


def engine_options() -> argparse.ArgumentParser:
    """Where the per-record pass runs (a parent parser)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("engine")
    group.add_argument(
        "--engine",
        choices=tuple(EXECUTORS),
        default="local",
        help="where the pass over every record runs: this process, or Ray, shard by shard; score "
        "and ratio read a sharded pool one shard at a time on either (default: %(default)s)",
    )
    group.add_argument(
        "--ray-address",
        help="an existing Ray cluster (auto, ray://HOST:10001); default: a local one started for the run",
    )
    group.add_argument("--ray-cpus", type=float, help="CPUs per Ray task, > 0 (default 1)")
    group.add_argument(
        "--ray-gpus",
        type=float,
        help="GPUs per Ray task of the model passes: perplexity, ifd, cluster's embeddings (default 0)",
    )
    group.add_argument(
        "--scores-dir",
        help="keep each shard's scores here: a rerun scores only the shards not done (default: a temporary folder)",
    )
    return parent


def executor_of(args: argparse.Namespace) -> Executor:
    """The executor the engine options name; Ray options without ``--engine ray`` are refused."""
    given = [
        flag
        for flag, value in (
            ("--ray-address", args.ray_address),
            ("--ray-cpus", args.ray_cpus),
            ("--ray-gpus", args.ray_gpus),
        )
        if value is not None
    ]
    if given and args.engine != "ray":
        flags = " and ".join(given)
        raise ValueError(
            f"{flags} only {'apply' if len(given) > 1 else 'applies'} with --engine ray: add --engine ray, or drop {flags}"
        )
    if args.scores_dir and args.command == "select" and args.engine == "local":
        raise ValueError(
            "--scores-dir keeps the shards a Ray pass scored; select --engine local reads the pool "
            "and scores it here: add --engine ray, or drop --scores-dir"
        )
    if args.scores_dir and args.command == "ratio" and len(args.pool) > 1:
        raise ValueError("--scores-dir holds one pool's scores; give the pools one at a time")
    if args.engine == "ray":
        return RayExecutor(
            args.ray_address,
            1 if args.ray_cpus is None else args.ray_cpus,
            0 if args.ray_gpus is None else args.ray_gpus,
            args.scores_dir,
        )
    return LocalExecutor(args.scores_dir)


def read_options(args: argparse.Namespace) -> dict:
    """How the pool is read, for a pass that reads it shard by shard."""
    return {
        "format": args.format,
        "schema": args.schema,
        "text_fields": args.text_fields,
        "on_error": "skip" if args.skip_bad else "raise",
        **({"split": args.split} if args.split else {}),
    }


def load_pool(args: argparse.Namespace, path: str | None = None, records: Records | None = None) -> Records:
    """The pool read whole (or ``records``, read already), with what was skipped reported;
    an empty pool refused."""
    path = args.pool if path is None else path
    if records is None:
        records = read_records(path, progress=progress(args), **read_options(args))
    check_read(len(records), records.skipped, path)
    return records


def progress(args: argparse.Namespace) -> bool | None:
    """The ``progress=`` a command passes on: off for ``--no-progress``, else the default."""
    return False if args.no_progress else None


def report_skipped(skipped: list, path: str) -> None:
    """The bad records a read left out, by kind, with a few examples."""
    kinds = Counter(bad.problem.split(":")[0].split(" (")[0] for bad in skipped)
    print(f"skipped {len(skipped):,} bad record(s) of {path}:", file=sys.stderr)
    for kind, n in kinds.most_common():
        print(f"  {n:>8,d} x {kind}", file=sys.stderr)
    for bad in skipped[:5]:
        print(f"  e.g. {bad}", file=sys.stderr)


def check_run_outputs(args: argparse.Namespace, **more: str | None) -> None:
    """Every output of the command, checked before any work (a bad suffix, a path that is an
    input or another output, a directory that cannot take it)."""
    outputs = {"-o": args.output, "--report": getattr(args, "report", None), **more}
    check_outputs(outputs, {"the pool": args.pool, "--target": getattr(args, "target", None)})
    output_format(args.output)


def check_read(count: int, skipped: list, path: str) -> None:
    """After the pool was read (whole, or shard by shard): say what was skipped; refuse a pool
    with no readable record."""
    if skipped:
        report_skipped(skipped, path)
    if not count:
        raise ValueError(
            f"no readable records in {path}: all {len(skipped):,} were skipped as bad, the first because it "
            f"{skipped[0].problem}"
            if skipped
            else f"no records in {path}: the pool is empty"
        )


def write_records(pool: Any, indices: Any, output: str) -> None:
    """The input records at ``indices`` (input rows), in that order, to ``output``: from
    memory, or read back from the shards of a pool left in its files."""
    if pool.records is not None:
        pool.records.write(indices, output)
        return
    chosen = pool.take(pool.positions_of(indices))
    chosen.check_output(output)
    chosen.write_positions(np.arange(len(chosen)), output)


def open_run_pool(args: argparse.Namespace, executor: Executor) -> Any:
    """The pool of a command that writes some of its records to ``-o``: in memory on the
    local executor (read, its skipped records reported, the output checked against it), left
    in its files on Ray."""
    from ..api import open_pool

    pool = open_pool(
        args.pool, executor, stream=executor.name != "local", read=read_options(args), progress=progress(args)
    )
    if pool.records is not None:
        load_pool(args, records=pool.records)
        pool.records.check_output(args.output)
    return pool
