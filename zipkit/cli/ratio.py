"""``zipkit ratio``: the compression ratio of a pool, and of each record."""

from __future__ import annotations

import argparse
import json

import numpy as np

from .. import compressors, ratio
from ..executors import Executor
from ..io import SERIALIZERS, atomic_output, check_outputs, is_sharded, output_format
from ..manifest import Timings, command_line, versions
from ..methods.ratio import RecordRatios
from ..results import Scores
from .common import check_read, engine_options, executor_of, load_pool, pool_options, progress, read_options


def parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``zipkit ratio`` subcommand and its options, added to ``sub``."""
    p = sub.add_parser(
        "ratio",
        parents=[pool_options(many=True), engine_options()],
        help="compression ratio of a pool and the distribution of per-record ratios",
        description="The entropy-law measurement: ratio = raw bytes / compressed bytes "
        "(higher = more redundant), for the whole pool compressed as one "
        "document and for each record alone.",
    )
    p.add_argument(
        "--compressor",
        default=ratio.DEFAULT_COMPRESSOR,
        help="a spec such as zlib:9, zstd:19, lz4hc:9 (see `zipkit compressors`; default: %(default)s)",
    )
    p.add_argument(
        "--serializer", default=ratio.DEFAULT_SERIALIZER, choices=tuple(SERIALIZERS), help="default: %(default)s"
    )
    p.add_argument("--workers", type=int, default=None, help="threads (default: one per core)")
    p.add_argument(
        "--per-record",
        metavar="FILE",
        help="write position, record number, bytes and ratio of every record (.parquet, .jsonl or .json)",
    )
    p.add_argument("--report", metavar="FILE", help="write the summary and manifest as JSON")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--plot", metavar="FILE.png", help="draw each pool's ratio and its per-record ratios (versions side by side)"
    )
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``zipkit ratio`` with the parsed ``args``; the exit status."""
    compressor = compressors.get(args.compressor)
    if args.per_record and len(args.pool) > 1:
        raise ValueError("--per-record takes one pool; give the pools one at a time")
    check_outputs(
        {"--per-record": args.per_record, "--report": args.report, "--plot": args.plot},
        {f"pool {k + 1}": path for k, path in enumerate(args.pool)},
    )
    if args.per_record:
        output_format(args.per_record)
    engine = executor_of(args)
    summaries, per_records, pools = zip(*(_ratio_of(args, path, compressor, engine) for path in args.pool))
    if args.per_record:  # one pool (checked above)
        where = pools[0][0]
        Scores(
            per_records[0],
            "ratio",
            "lower",
            summaries[0]["manifest"],
            {"bytes": pools[0][1], "ratio": per_records[0]},
            where.numbers,
            where.shard_of,
            where.index,
        ).write(args.per_record)
    result = summaries[0] if len(summaries) == 1 else {"pools": summaries, "changes": ratio.changes(summaries)}
    if args.report:
        with atomic_output(args.report) as out:
            out.write(json.dumps(result, indent=2).encode() + b"\n")
    if args.plot:
        ratio.plot_versions(summaries, per_records, args.plot)
    if args.json:
        print(json.dumps(result, indent=2))
    elif len(summaries) == 1:
        _print_ratio(summaries[0], per_records[0])
    else:
        _print_versions(result)
    return 0


def _ratio_of(args: argparse.Namespace, path: str, compressor, engine: Executor) -> tuple[dict, np.ndarray, tuple]:
    """One pool's whole and per-record ratios, with the manifest; the pool (its records, or
    where they are) and each record's bytes."""
    timings = Timings()
    if engine.name != "local" or is_sharded(path):  # the per-record pass shard by shard; the pool streamed
        with timings.stage("record_ratios"):
            records = engine.map_files(
                path, RecordRatios(compressor.spec, args.serializer, args.workers), read_options(args), progress(args)
            )
            check_read(len(records), records.skipped, path)
            per_record, lengths = records.columns["ratio"], records.columns["bytes"]
        with timings.stage("dataset_ratio"):
            whole = ratio.shards_ratio(
                records.files, records.read, lengths, compressor, args.serializer, progress=progress(args)
            )
    else:
        with timings.stage("read"):
            records = load_pool(args, path)
        with timings.stage("record_ratios"):
            per_record = ratio.record_ratios(
                records, compressor, args.serializer, args.workers, progress=progress(args)
            )
        with timings.stage("dataset_ratio"):
            whole = ratio.dataset_ratio(records, compressor, args.serializer, progress=progress(args))
        lengths = records.payloads(args.serializer).lengths
    summary = {
        "pool": records.describe(),
        "dataset": whole,
        "per_record": ratio.summarize(per_record),
        "spearman_ratio_vs_length": ratio.spearman(per_record, lengths) if len(records) > 1 else None,
        "manifest": {
            "command": "ratio",
            "argv": command_line(),
            "compressor": compressor.describe(),
            "serializer": args.serializer,
            "workers": args.workers,
            "engine": engine.describe(),
            "versions": versions(),
            "timings": timings,
        },
    }
    return summary, per_record, (records, lengths)


def _print_versions(result: dict) -> None:
    spec = result["pools"][0]["manifest"]["compressor"]["spec"]
    width = max(len(s["pool"]["path"]) for s in result["pools"]) + 2
    print(
        f"{'pool':{width}}{'records':>10}{'MB':>9}{'ratio':>9}{'change':>9}{'median':>9}"
        f"{'p5':>8}{'p95':>8}   ({spec}; per-record ratios: median, p5, p95)"
    )
    for s, change in zip(result["pools"], result["changes"]):
        stats, whole = s["per_record"], s["dataset"]
        moved = "" if change is None else f"{change:+.1%}"
        print(
            f"{s['pool']['path']:{width}}{s['pool']['records']:>10,}{whole['bytes'] / 1e6:>9.2f}"
            f"{whole['ratio']:>9.4f}{moved:>9}{stats['median']:>9.4f}{stats['p5']:>8.4f}"
            f"{stats['p95']:>8.4f}"
        )


def _print_ratio(summary: dict, per_record: np.ndarray) -> None:
    pool, whole, stats = summary["pool"], summary["dataset"], summary["per_record"]
    manifest = summary["manifest"]
    schema = pool["schema"] or f"fields {pool['text_fields']}"
    print(
        f"pool        {pool['path']} ({pool['format']}, {schema}): {pool['records']:,} records"
        + (f", {pool['skipped']:,} skipped" if pool["skipped"] else "")
    )
    print(
        f"compressor  {manifest['compressor']['spec']} ({manifest['compressor']['library']}), "
        f"serializer {manifest['serializer']}"
    )
    print(f"dataset     {whole['bytes']:,} B -> {whole['compressed_bytes']:,} B   ratio {whole['ratio']:.4f}")
    print(
        f"per record  mean {stats['mean']:.4f}  std {stats['std']:.4f}  min {stats['min']:.4f}  "
        f"p5 {stats['p5']:.4f}  p25 {stats['p25']:.4f}  median {stats['median']:.4f}  "
        f"p75 {stats['p75']:.4f}  p95 {stats['p95']:.4f}  max {stats['max']:.4f}"
    )
    if summary["spearman_ratio_vs_length"] is not None:
        print(f"            Spearman(ratio, length) = {summary['spearman_ratio_vs_length']:.3f}")
    for line in ratio.histogram(per_record):
        print(f"            {line}")
    times = ", ".join(f"{k} {v:.2f} s" for k, v in manifest["timings"].items())
    print(f"time        {times}")
