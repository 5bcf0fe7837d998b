"""``zipkit dedup``: drop a pool's exact or near duplicates, keeping the first of each cluster."""

from __future__ import annotations

import argparse

from ..manifest import command_line
from .common import (
    check_run_outputs,
    engine_options,
    executor_of,
    open_run_pool,
    pool_options,
    progress,
    write_records,
)


def parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``zipkit dedup`` subcommand and its options, added to ``sub``."""
    from ..dedup import BACKENDS, MODES

    p = sub.add_parser(
        "dedup",
        parents=[pool_options(), engine_options()],
        help="drop exact or near duplicate records, keeping the first of each cluster",
        description="Drop duplicates: the same text after normalisation (NFKC, case folded, spacing "
        "made one space: --mode exact), or near duplicates by MinHash LSH over n-gram shingles "
        "(--mode near, which also drops the exact ones). The first record of each cluster, in input "
        "order, is kept. Writes the kept records unchanged, in input order, and with --report the "
        "clusters (input indices, the kept one first) and the manifest.",
    )
    p.add_argument("--mode", choices=MODES, default="near", help="default: %(default)s")
    p.add_argument("--threshold", type=float, default=0.8, help="Jaccard similarity of near duplicates (0.8)")
    p.add_argument("--ngram", type=int, default=5, help="tokens in a shingle (default: %(default)s)")
    p.add_argument("--num-perm", type=int, default=128, help="MinHash permutations (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="the permutations' seed (default: %(default)s)")
    p.add_argument("--backend", choices=BACKENDS, default="rensa", help="MinHash library (default: %(default)s)")
    p.add_argument("-o", "--output", required=True, help="the kept records (.jsonl, .json or .parquet)")
    p.add_argument("--report", help="the clusters, removed indices and manifest as JSON")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``zipkit dedup`` with the parsed ``args``; the exit status."""
    from ..dedup import dedup

    check_run_outputs(args)
    executor = executor_of(args)
    pool = open_run_pool(args, executor)
    result = dedup(
        pool,
        mode=args.mode,
        threshold=args.threshold,
        ngram=args.ngram,
        num_perm=args.num_perm,
        seed=args.seed,
        backend=args.backend,
        engine=executor,
        progress=progress(args),
    )
    result.manifest["argv"] = command_line()
    write_records(pool, result.kept, args.output)
    if args.report:
        result.write_report(args.report)
    m = result.manifest
    print(f"kept     {m['kept']:,} of {m['records']:,} records -> {args.output}")
    print(f"removed  {m['removed']:,} in {m['clusters']:,} clusters ({args.mode}, {args.backend})")
    print(f"time     signatures {m['timings']['signatures']:.2f} s, total {m['timings']['total']:.2f} s")
    return 0
