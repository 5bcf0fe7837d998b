"""The ``zipkit`` command. Each subcommand is an entry of ``COMMANDS``: a function that builds
its parser and one that runs it. ``select`` takes the options of every method in
``_SELECT_OPTIONS``, named as the Python API names them."""
from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import re
import signal
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import __version__, compressors, ratio
from .errors import BadRecordError
from .io import atomic_output
from .lazy import parameters
from .engine import ENGINES, Engine, shard_scores
from .passes import SCORE_COLUMN
from .io import is_sharded
from .io import check_outputs
from .manifest import Timings, command_line, versions
from .io import SERIALIZERS, Records, output_format, read_records
from .scoring import SCORERS, score, score_manifest
from .selection import SELECTORS, select
from .io.schemas import SCHEMAS


def pool_options(many: bool = False) -> argparse.ArgumentParser:
    """Options shared by every command that reads a pool (a parent parser); ``many``: one or
    several pools."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("pool")
    group.add_argument("pool", nargs="+" if many else None,
                       help="a .json/.jsonl(.gz/.zst)/.parquet file, a directory of such shards or a "
                            "quoted glob of them ('data/*.jsonl.zst'), - (standard input), or "
                            "packaged:sharegpt" + ("; several: compared in one table, in order "
                                                   "(versions of a dataset)" if many else ""))
    group.add_argument("--format", choices=("json", "jsonl", "parquet"), help="default: from the file")
    group.add_argument("--schema", choices=SCHEMAS, help="default: detected from the first record")
    group.add_argument("--text-field", dest="text_fields", action="append", metavar="FIELD",
                       help="a field holding the text (repeat for several); overrides --schema")
    group.add_argument("--skip-bad", action="store_true",
                       help="skip unreadable records and list them, instead of stopping at the first")
    group.add_argument("--no-progress", action="store_true", help="never show progress bars")
    return parent


def engine_options() -> argparse.ArgumentParser:
    """Where the per-record pass runs (a parent parser)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("engine")
    group.add_argument("--engine", choices=ENGINES, default="local",
                       help="where the pass over every record runs: this process, or Ray, shard by shard; score "
                            "and ratio read a sharded pool one shard at a time on either (default: %(default)s)")
    group.add_argument("--ray-address", help="an existing Ray cluster (auto, ray://HOST:10001); default: a local "
                                             "one started for the run")
    group.add_argument("--ray-cpus", type=float, help="CPUs per Ray task (default 1)")
    group.add_argument("--ray-gpus", type=float, help="GPUs per Ray task of the model passes: perplexity, ifd, "
                                                      "cluster's embeddings (default 0)")
    group.add_argument("--scores-dir", help="keep each shard's scores here: a rerun scores only the shards not "
                                            "done (default: a temporary folder)")
    return parent


def _engine(args: argparse.Namespace) -> Engine:
    given = [flag for flag, value in (("--ray-address", args.ray_address), ("--ray-cpus", args.ray_cpus),
                                      ("--ray-gpus", args.ray_gpus)) if value is not None]
    if given and args.engine != "ray":
        raise ValueError(f"{', '.join(given)} apply to --engine ray; add it, or drop them")
    if args.scores_dir and args.command == "select" and args.engine == "local":
        raise ValueError("--scores-dir keeps the shards a Ray pass scored; select --engine local reads the pool "
                         "and scores it here: add --engine ray, or drop --scores-dir")
    if args.scores_dir and args.command == "ratio" and len(args.pool) > 1:
        raise ValueError("--scores-dir holds one pool's scores; give the pools one at a time")
    return Engine(args.engine, args.ray_address, args.ray_cpus or 1, args.ray_gpus or 0, args.scores_dir)


def _read_options(args: argparse.Namespace) -> dict:
    """How the pool is read, for a pass that reads it shard by shard."""
    return {"format": args.format, "schema": args.schema, "text_fields": args.text_fields,
            "on_error": "skip" if args.skip_bad else "raise"}


def _by_shards(args: argparse.Namespace, path: str, kind: str, params: dict, engine: Engine) -> Any:
    """The ``kind`` pass over the pool read shard by shard (here or on Ray), never whole."""
    done = shard_scores(path, kind, params, engine, _read_options(args))
    if done.skipped:
        _report_skipped(done)
    if not len(done):
        raise ValueError(f"no readable records in {path}: all {len(done.skipped):,} were skipped as bad "
                         f"(see above)" if done.skipped else f"no records in {path}: the pool is empty")
    return done


def _shard_by_shard(args: argparse.Namespace, path: str, engine: Engine) -> bool:
    return engine.name != "local" or is_sharded(path)


def load_pool(args: argparse.Namespace, path: str | None = None) -> Records:
    path = args.pool if path is None else path
    records = read_records(path, format=args.format, schema=args.schema,
                           text_fields=args.text_fields,
                           on_error="skip" if args.skip_bad else "raise", progress=_progress(args))
    if records.skipped:
        _report_skipped(records)
    if not len(records):
        raise ValueError(f"no readable records in {path}: all {len(records.skipped):,} were "
                         f"skipped as bad (see above)" if records.skipped else
                         f"no records in {path}: the pool is empty")
    return records


def _progress(args: argparse.Namespace) -> bool | None:
    return False if args.no_progress else None


def _report_skipped(records: Records) -> None:
    kinds = Counter(bad.problem.split(":")[0].split(" (")[0] for bad in records.skipped)
    print(f"skipped {len(records.skipped):,} bad record(s) of {records.path}:", file=sys.stderr)
    for kind, n in kinds.most_common():
        print(f"  {n:>8,d} x {kind}", file=sys.stderr)
    for bad in records.skipped[:5]:
        print(f"  e.g. {bad}", file=sys.stderr)


# --- zipkit ratio -------------------------------------------------------------------------

def _ratio_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("ratio", parents=[pool_options(many=True), engine_options()],
                       help="compression ratio of a pool and the distribution of per-record ratios",
                       description="The entropy-law measurement: ratio = raw bytes / compressed bytes "
                                   "(higher = more redundant), for the whole pool compressed as one "
                                   "document and for each record alone.")
    p.add_argument("--compressor", default=ratio.DEFAULT_COMPRESSOR,
                   help="a spec such as zlib:9, zstd:19, lz4hc:9 (see `zipkit compressors`; "
                        "default: %(default)s)")
    p.add_argument("--serializer", default=ratio.DEFAULT_SERIALIZER, choices=tuple(SERIALIZERS),
                   help="default: %(default)s")
    p.add_argument("--workers", type=int, default=None, help="threads (default: one per core)")
    p.add_argument("--per-record", metavar="FILE",
                   help="write position, record number, bytes and ratio of every record "
                        "(.parquet, .jsonl or .json)")
    p.add_argument("--report", metavar="FILE", help="write the summary and manifest as JSON")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw each pool's ratio and its per-record ratios (versions side by side)")
    return p


def _ratio_run(args: argparse.Namespace) -> int:
    compressor = compressors.get(args.compressor)
    if args.per_record and len(args.pool) > 1:
        raise ValueError("--per-record takes one pool; give the pools one at a time")
    check_outputs({"--per-record": args.per_record, "--report": args.report, "--plot": args.plot},
                  {f"pool {k + 1}": path for k, path in enumerate(args.pool)})
    if args.per_record:
        output_format(args.per_record)
    engine = _engine(args)
    summaries, per_records, pools = zip(*(_ratio_of(args, path, compressor, engine) for path in args.pool))
    if args.per_record:  # one pool (checked above)
        _write_per_record(args.per_record, pools[0][0], {"bytes": pools[0][1], "ratio": per_records[0]},
                          summaries[0]["manifest"])
    result = summaries[0] if len(summaries) == 1 else {"pools": summaries,
                                                       "changes": ratio.changes(summaries)}
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


def _ratio_of(args: argparse.Namespace, path: str, compressor, engine: Engine) -> tuple[dict, np.ndarray, tuple]:
    """One pool's whole and per-record ratios, with the manifest; the pool (its records, or
    where they are) and each record's bytes."""
    timings = Timings()
    if _shard_by_shard(args, path, engine):  # the per-record pass shard by shard; the whole pool streamed
        with timings.stage("record_ratios"):
            records = _by_shards(args, path, "ratio", {"compressor": compressor.spec, "serializer": args.serializer,
                                                       "workers": args.workers}, engine)
            per_record, lengths = records.columns["ratio"], records.columns["bytes"]
        with timings.stage("dataset_ratio"):
            whole = ratio.shards_ratio(records.files, records.read, lengths, compressor, args.serializer,
                                       progress=_progress(args))
    else:
        with timings.stage("read"):
            records = load_pool(args, path)
        with timings.stage("record_ratios"):
            per_record = ratio.record_ratios(records, compressor, args.serializer, args.workers,
                                             progress=_progress(args))
        with timings.stage("dataset_ratio"):
            whole = ratio.dataset_ratio(records, compressor, args.serializer, progress=_progress(args))
        lengths = records.payloads(args.serializer).lengths
    summary = {
        "pool": records.describe(),
        "dataset": whole,
        "per_record": ratio.summarize(per_record),
        "spearman_ratio_vs_length": ratio.spearman(per_record, lengths) if len(records) > 1 else None,
        "manifest": {"command": "ratio", "argv": command_line(), "compressor": compressor.describe(),
                     "serializer": args.serializer, "workers": args.workers, "engine": engine.describe(),
                     "versions": versions(), "timings": timings},
    }
    return summary, per_record, (records, lengths)


def _print_versions(result: dict) -> None:
    spec = result["pools"][0]["manifest"]["compressor"]["spec"]
    width = max(len(s["pool"]["path"]) for s in result["pools"]) + 2
    print(f"{'pool':{width}}{'records':>10}{'MB':>9}{'ratio':>9}{'change':>9}{'median':>9}"
          f"{'p5':>8}{'p95':>8}   ({spec}; per-record ratios: median, p5, p95)")
    for s, change in zip(result["pools"], result["changes"]):
        stats, whole = s["per_record"], s["dataset"]
        moved = "" if change is None else f"{change:+.1%}"
        print(f"{s['pool']['path']:{width}}{s['pool']['records']:>10,}{whole['bytes'] / 1e6:>9.2f}"
              f"{whole['ratio']:>9.4f}{moved:>9}{stats['median']:>9.4f}{stats['p5']:>8.4f}"
              f"{stats['p95']:>8.4f}")


def _write_per_record(path: str, records: Records, values: dict[str, np.ndarray],
                      manifest: dict) -> None:
    """One row per record: its position, its number in the file, then ``values``, in the
    format the suffix names (.parquet, .jsonl or a .json array). A parquet file carries the
    run's manifest in its metadata (key ``zipkit``)."""
    columns = {"position": np.arange(len(records)), "record": records.numbers, **values}
    if getattr(records, "shard_of", None) is not None:  # a sharded pool: the record's number is in its shard
        columns = {"position": columns["position"], "shard": records.shard_of, **dict(list(columns.items())[1:])}
    out_format = output_format(path)
    if out_format == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(columns).replace_schema_metadata({"zipkit": json.dumps(manifest)})
        with atomic_output(path) as out:
            pq.write_table(table, out)
        return
    rows = (json.dumps(dict(zip(columns, _json_row(row)))).encode()
            for row in zip(*(c.tolist() for c in columns.values())))
    with atomic_output(path) as out:
        if out_format == "jsonl":
            out.writelines(row + b"\n" for row in rows)
        else:
            out.write(b"[\n" + b",\n".join(rows) + b"\n]\n")


def _json_row(row: tuple) -> list:
    # An unscored record's NaN is written as null: JSON has no NaN.
    return [None if isinstance(v, float) and v != v else v for v in row]


def _print_ratio(summary: dict, per_record: np.ndarray) -> None:
    pool, whole, stats = summary["pool"], summary["dataset"], summary["per_record"]
    manifest = summary["manifest"]
    schema = pool["schema"] or f"fields {pool['text_fields']}"
    print(f"pool        {pool['path']} ({pool['format']}, {schema}): {pool['records']:,} records"
          + (f", {pool['skipped']:,} skipped" if pool["skipped"] else ""))
    print(f"compressor  {manifest['compressor']['spec']} ({manifest['compressor']['library']}), "
          f"serializer {manifest['serializer']}")
    print(f"dataset     {whole['bytes']:,} B -> {whole['compressed_bytes']:,} B   "
          f"ratio {whole['ratio']:.4f}")
    print(f"per record  mean {stats['mean']:.4f}  std {stats['std']:.4f}  min {stats['min']:.4f}  "
          f"p5 {stats['p5']:.4f}  p25 {stats['p25']:.4f}  median {stats['median']:.4f}  "
          f"p75 {stats['p75']:.4f}  p95 {stats['p95']:.4f}  max {stats['max']:.4f}")
    if summary["spearman_ratio_vs_length"] is not None:
        print(f"            Spearman(ratio, length) = {summary['spearman_ratio_vs_length']:.3f}")
    for line in ratio.histogram(per_record):
        print(f"            {line}")
    times = ", ".join(f"{k} {v:.2f} s" for k, v in manifest["timings"].items())
    print(f"time        {times}")


# --- zipkit select ------------------------------------------------------------------------

def _defaults(functions: dict[str, Callable], name: str) -> str:
    """The default of parameter ``name`` as the methods' signatures write it, for --help
    (the one place a default is written): " (default: 10000)" when every method that takes
    it agrees, else per method (" (default zipfit: gzip:6)"); None means "decided by the
    method" and is left out."""
    taking = {m: parameters(f)[name].default for m, f in functions.items() if name in parameters(f)}
    given = {m: v for m, v in taking.items() if v not in (inspect.Parameter.empty, None)}
    if not given:
        return ""
    given = {m: "off" if v is False else v for m, v in given.items()}  # a flag's default
    if len(given) == len(taking) and len(set(map(repr, given.values()))) == 1:
        return f" (default: {next(iter(given.values()))})"
    return " (default " + "; ".join(f"{m}: {v}" for m, v in given.items()) + ")"


def _budget_options(p: argparse.ArgumentParser, functions: dict[str, Callable]) -> None:
    budget = p.add_argument_group("budget (one of)")
    budget.add_argument("--budget", type=int, help="records to select")
    budget.add_argument("--budget-tokens", type=int, help="tokens to select")
    budget.add_argument("--tokenizer", help="whitespace, bytes, or a Hugging Face tokenizer "
                                            "path/name" + _defaults(functions, "tokenizer"))


def _target_options(p: argparse.ArgumentParser) -> None:
    t = p.add_argument_group("target (zipfit, dsir)")
    t.add_argument("--target", help="the target task's examples (a file, as for the pool)")
    t.add_argument("--target-schema", choices=SCHEMAS, help="default: detected")
    t.add_argument("--target-field", dest="target_fields", action="append", metavar="FIELD",
                   help="a field of the target holding the text (repeat for several)")


def _method_options(p: argparse.ArgumentParser, functions: dict[str, Callable]) -> None:
    """Options of every method, named as the Python API names them. None of them has a
    default here: an option left out is left to the method, whose signature --help quotes."""
    def add(group, flag, show_default=True, **kw):
        name = kw.get("dest") or flag.lstrip("-").replace("-", "_")
        if any(name in parameters(f) for f in functions.values()):  # else no method here takes it
            kw["help"] = kw.get("help", "") + (_defaults(functions, name) if show_default else "")
            group.add_argument(flag, **kw)

    flag = dict(action="store_const", const=True)  # True when given, else the method's default
    shared = p.add_argument_group("shared by several methods")
    zip_note = "zip's default depends on --variant" if "zip" in functions else ""
    add(shared, "--compressor", help="a spec such as zlib:9, zstd:19, lz4hc:12" +
        (f"; {zip_note}" if zip_note else ""))
    add(shared, "--serializer", choices=tuple(SERIALIZERS),
        help="what is compressed" + (f"; {zip_note} (repr for official)" if zip_note else ""))
    add(shared, "--workers", type=int,
        help="cores for the per-record pass (threads for compression sizes, processes for "
             "zipfit and dsir); 0 = one per core (default: one per core)")
    add(shared, "--seed", type=int, help="random, dsir, cluster")
    z = p.add_argument_group("zip")
    add(z, "--k1", type=int, help="global window")
    add(z, "--k2", type=int, help="coarse window")
    add(z, "--k3", type=int, help="fine picks per round")
    add(z, "--variant", choices=("paper", "official"), help="Algorithm 1 as printed, or the authors' script")
    add(z, "--fine-context", choices=("batch", "selected"), help="what the fine stage compresses with")
    add(z, "--dedup", **flag, help="drop exact duplicate texts first")
    add(z, "--exact", action=argparse.BooleanOptionalAction,
        help="force exact (or conditional) compressor contexts; default the backend's")
    add(z, "--checkpoint", help="save the state here (.npz) every few rounds")
    add(z, "--checkpoint-every", type=int, help="rounds between checkpoints")
    add(z, "--resume", **flag, help="continue the run saved in --checkpoint")
    f = p.add_argument_group("zipfit")
    add(f, "--order", choices=("source_first", "target_first"), help="C(x+t) or C(t+x)")
    add(f, "--aggregate", choices=("mean", "max"),
        help="mean NCD over the targets (the paper) or the nearest target")
    add(f, "--threshold", type=float, help="keep only records aligned at least this much")
    d = p.add_argument_group("dsir")
    add(d, "--resampling", choices=("gumbel", "top_k"), help="Gumbel top-k sampling or plain top-k")
    add(d, "--min-tokens", type=int, help="drop records with fewer word-punct tokens, as the package does "
                                          "(0 keeps every record; see README)")
    add(d, "--num-buckets", type=int, help="hash buckets of the n-gram features")
    add(d, "--ngrams", type=int, choices=(1, 2), help="unigrams, or unigrams and bigrams")
    add(d, "--raw-fit-ngrams", type=int, help="cap on n-grams that fit the raw model (default: none)")
    m = p.add_argument_group("cluster, perplexity, ifd (models)")
    add(m, "--model", help="a local model directory, or packaged:minilm / packaged:smollm2")
    add(m, "--device", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    add(m, "--max-length", type=int, help="tokens per scored sequence (ifd: by variant)")
    add(m, "--batch-tokens", type=int, help="padded tokens per LM batch (default by device)")
    add(m, "--batch-size", type=int, help="texts per embedding batch (default by device)")
    add(m, "--tokens", choices=("response", "full"), help="perplexity: which tokens' loss")
    add(m, "--prefer", choices=("highest", "lowest", "middle"), help="perplexity: which losses first")
    add(m, "--ifd-variant", choices=("superfiltering", "cherry"), help="ifd: formula, template and rule")
    add(m, "--rule", choices=("nearest", "random"), help="cluster: one record per centroid, or "
                                                         "random records cluster by cluster")
    add(m, "--clusters", type=int, help="cluster: k (default: from the budget)")
    add(m, "--iterations", type=int, help="cluster: k-means iterations")
    add(m, "--cache", help="where embeddings and LM losses are cached "
                           "(default $ZIPKIT_CACHE or ~/.cache/zipkit)")
    r = p.add_argument_group("random, length")
    add(r, "--stratify", metavar="FIELD", help="random: keep the field's proportions")
    add(r, "--shortest", dest="longest", action="store_const", const=False, show_default=False,
        help="length: shortest first (default: longest first)")


# What each method does, in a line, for --method's help.
_SELECT_METHODS = {
    "zip": "a low-redundancy set, greedily by compression ratio (the entropy-law paper)",
    "zipfit": "the records closest to --target by compression distance",
    "dsir": "importance resampling towards --target on hashed n-grams",
    "random": "a seeded random subset (--stratify keeps a field's mix)",
    "length": "the longest records first (--shortest: the shortest)",
    "cluster": "k-means on sentence embeddings, records near the centroids",
    "perplexity": "by mean NLL under a small causal LM",
    "ifd": "by instruction-following difficulty under a small causal LM",
}
_SCORE_METHODS = {
    "ratio": "each record's own compression ratio",
    "zipfit": "alignment with --target (1 - mean NCD)",
    "dsir": "log importance weight towards --target",
    "length": "tokens by --tokenizer",
    "perplexity": "perplexity and mean NLL under a causal LM, with every loss",
    "ifd": "IFD with the losses it comes from",
}


def _method_help(methods: dict[str, str]) -> str:
    return "; ".join(f"{name}: {what}" for name, what in methods.items()) + " (default: %(default)s)"


def _select_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("select", parents=[pool_options(), engine_options()], help="select a subset of a pool",
                       description="Select records; the output holds the selected input records "
                                   "unchanged, in selection order; the report holds indices, "
                                   "scores and the manifest.")
    p.add_argument("--method", default=parameters(select)["method"].default, choices=tuple(SELECTORS),
                   help=_method_help(_SELECT_METHODS))
    p.add_argument("-o", "--output", required=True, help="selected records (.jsonl, .json, .parquet)")
    p.add_argument("--report", help="indices, scores and manifest as JSON")
    _budget_options(p, SELECTORS)
    _target_options(p)
    _method_options(p, SELECTORS)
    return p


def _options_of(function: Callable, args: argparse.Namespace) -> tuple:
    """The command-line options a method takes: its signature's parameters that are options."""
    return tuple(name for name in parameters(function)
                 if name not in ("records", "progress") and hasattr(args, name))


def _method_params(args: argparse.Namespace, functions: dict[str, Callable]) -> dict:
    """The options the method takes; unset ones (None) are left to the method's defaults.
    An option given that the method does not take is an error, not silently ignored."""
    names = _options_of(functions[args.method], args)
    _refuse_foreign_options(args, names, functions)
    params = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if "target" in names:
        if args.target is None:
            raise ValueError(f"--method {args.method} needs --target FILE (the target task's examples)")
        params["target"] = read_records(args.target, schema=args.target_schema,
                                        text_fields=args.target_fields, progress=False)
    return params


def _refuse_foreign_options(args: argparse.Namespace, names: tuple, functions: dict) -> None:
    every = {name for function in functions.values() for name in _options_of(function, args)}
    every |= {"target_schema", "target_fields"} if "target" in every else set()
    taken = set(names) | ({"target_schema", "target_fields"} if "target" in names else set())
    foreign = sorted(name for name in every - taken if getattr(args, name) is not None)
    if foreign:
        flags = {"longest": "shortest", "target_fields": "target-field"}
        given = ", ".join("--" + flags.get(name, name.replace("_", "-")) for name in foreign)
        verb = "does" if len(foreign) == 1 else "do"
        raise ValueError(f"{given} {verb} not apply to --method {args.method}; drop it or pick the "
                         f"method it belongs to (see zipkit {args.command} --help)")


def _check_run_outputs(args: argparse.Namespace, **more: str | None) -> None:
    """Every output of the command, checked before any work (a bad suffix, a path that is an
    input or another output, a directory that cannot take it)."""
    outputs = {"-o": args.output, "--report": getattr(args, "report", None), **more}
    check_outputs(outputs, {"the pool": args.pool, "--target": getattr(args, "target", None)})
    output_format(args.output)


def _select_run(args: argparse.Namespace) -> int:
    _check_run_outputs(args, **{"--checkpoint": getattr(args, "checkpoint", None)})
    records = load_pool(args)
    records.check_output(args.output)
    params = _method_params(args, SELECTORS)
    if "progress" in parameters(SELECTORS[args.method]):
        params["progress"] = _progress(args)
    result = select(records, method=args.method, engine=_engine(args), **params)
    result.manifest["argv"] = command_line()
    records.write(result.indices, args.output)
    if args.report:
        result.write_report(args.report)
    m = result.manifest
    tokens = f", {m['tokens_selected']:,} tokens" if m.get("tokens_selected") is not None else ""
    print(f"selected {len(result.indices):,} of {len(records):,} records{tokens} -> {args.output}")
    if len(result.scores):
        print(f"scores   first {result.scores[0]:.4f}  median {np.median(result.scores):.4f}  "
              f"last {result.scores[-1]:.4f}")
    times = ", ".join(f"{k} {v:.2f} s" for k, v in m["timings"].items())
    print(f"time     {times}")
    return 0


# --- zipkit score -------------------------------------------------------------------------

def _score_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("score", parents=[pool_options(), engine_options()], help="score every record of a pool",
                       description="Per-record scores, keyed by position: ratio (compression "
                                   "ratio), zipfit (alignment with --target), dsir (log importance "
                                   "weight towards --target), length (tokens), perplexity and ifd "
                                   "(with every LM loss and token count they come from).")
    p.add_argument("--method", default=parameters(score)["method"].default, choices=tuple(SCORERS),
                   help=_method_help(_SCORE_METHODS))
    p.add_argument("-o", "--output", required=True,
                   help="position, record number, score per record (.parquet, .jsonl or .json); "
                        "parquet also carries the manifest")
    p.add_argument("--report", help="the manifest (method, every parameter, compressor or model, "
                                    "versions, timings) as JSON")
    p.add_argument("--tokenizer", help="length: how tokens are counted" + _defaults(SCORERS, "tokenizer"))
    _target_options(p)
    _method_options(p, SCORERS)
    return p


def _score_run(args: argparse.Namespace) -> int:
    _check_run_outputs(args)
    engine = _engine(args)
    timings = Timings()
    params = _method_params(args, SCORERS)
    if "progress" in parameters(SCORERS[args.method]):
        params["progress"] = _progress(args)
    lm = None
    if _shard_by_shard(args, args.pool, engine):  # the pool is read shard by shard, never whole
        with timings.stage("score"):
            records = _by_shards(args, args.pool, args.method, params, engine)
        columns = {args.method: records.columns[SCORE_COLUMN[args.method]]}
        if args.method in ("perplexity", "ifd"):  # the score and every loss it comes from
            columns, lm = records.columns, records.info
    else:
        with timings.stage("read"):
            records = load_pool(args)
        with timings.stage("score"):
            if args.method in ("perplexity", "ifd"):  # the score and every loss it comes from
                from .baselines.difficulty import loss_table

                columns, lm = loss_table(records, args.method, **params)
            else:
                columns = {args.method: score(records, method=args.method, **params)}
    manifest = score_manifest(args.method, records, params, timings, lm=lm)
    manifest["engine"] = engine.describe()
    manifest["argv"] = command_line()
    _write_per_record(args.output, records, columns, manifest)
    if args.report:
        with atomic_output(args.report) as out:
            out.write(json.dumps(manifest, indent=1).encode() + b"\n")
    stats = ratio.summarize(next(iter(columns.values())))
    print(f"scored   {len(records):,} records by {args.method} -> {args.output}")
    print(f"{next(iter(columns)):8} " + "  ".join(f"{k} {v:,}" if k == "unscored" else f"{k} {v:.4f}"
                                                  for k, v in stats.items()))
    print("time     " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
    return 0


# --- zipkit compressors -------------------------------------------------------------------

def _compressors_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("compressors", help="list compressor backends, levels and contexts")
    p.add_argument("--json", action="store_true")
    return p


def _compressors_run(args: argparse.Namespace) -> int:
    rows = compressors.available()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'name':8} {'library':10} {'version':9} {'levels':7} {'default':7} "
          f"{'context':12} {'exact via':12} options")
    for r in rows:
        options = ",".join(f"{k}={v}" for k, v in r["options"].items())
        print(f"{r['name']:8} {r['library']:10} {r['version']:9} {r['levels']:7} "
              f"{r['default_level']:<7} {r['default_context']:12} {r['exact_context']:12} {options}")
    print("\nspec: name[:level][,option=value...], e.g. zlib:9, zstd:19,history=4194304, lz4hc:12. "
          "DEFLATE level 0 (stored) is refused for scoring.")
    return 0


# --- zipkit inspect / compare ----------------------------------------------------------------

def _inspect_parser(sub: argparse._SubParsersAction, name: str = "inspect") -> argparse.ArgumentParser:
    many = name == "compare"
    p = sub.add_parser(name, help=("several selections of one pool side by side, with their overlap"
                                   if many else "what a selection picked, next to its pool"),
                       description="Counts, tokens (mean, median, histogram), compression ratio of the "
                                   "selected set (and of a random set of the same tokens), duplicate "
                                   "texts, message roles, a field's mix, score summaries from reports"
                                   + (", and the overlap of every pair." if many else "."))
    p.add_argument("selections", nargs="+", metavar="SELECTION",
                   help="a report written by select --report (.json with indices) or a select output "
                        "(its records are found in the pool)")
    p.add_argument("--pool", required=True, help="the pool the selections were made from")
    p.add_argument("--schema", choices=SCHEMAS, help="the pool's schema (default: detected)")
    p.add_argument("--text-field", dest="text_fields", action="append", metavar="FIELD",
                   help="a field of the pool holding the text (repeat for several)")
    p.add_argument("--compressor", dest="compressors", action="append", metavar="SPEC",
                   help="measure the ratio with this compressor (repeat for several; default: zlib:9)")
    p.add_argument("--serializer", default="text", choices=tuple(SERIALIZERS),
                   help="what is compressed (default: %(default)s)")
    p.add_argument("--tokenizer", default="whitespace",
                   help="whitespace, bytes, or a Hugging Face tokenizer (default: %(default)s)")
    p.add_argument("--by", metavar="FIELD", help="also show the mix of this field's values (e.g. source)")
    p.add_argument("--seed", type=int, default=0, help="of the random set at equal tokens (default: 0)")
    p.add_argument("--plot", metavar="FILE.png", help="write the token-length histograms")
    p.add_argument("--json", action="store_true", help="print everything as JSON")
    return p


def _inspect_run(args: argparse.Namespace) -> int:
    from . import summary

    if args.command == "compare" and len(args.selections) < 2:
        raise ValueError("compare needs at least two selections; for one, use zipkit inspect")
    if args.plot:
        check_outputs({"--plot": args.plot}, {"--pool": args.pool})
    pool = read_records(args.pool, schema=args.schema, text_fields=args.text_fields, progress=False)
    result = summary.compare(args.selections, pool, compressor_specs=args.compressors or ["zlib:9"],
                             serializer=args.serializer, tokenizer=args.tokenizer, by=args.by,
                             seed=args.seed)
    if args.plot:
        summary.plot(result, args.plot)
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "lengths"}, indent=1))
    else:
        _print_summary(result)
    return 0


def _print_summary(result: dict) -> None:
    pool, rows = result["pool"], result["selections"]
    print(f"pool     {pool['path']} ({pool['format']}, {pool['schema'] or pool['text_fields']}): "
          f"{pool['records']:,} records; tokens: {result['tokenizer']}, ratio of the set as one "
          f"{result['serializer']} document")
    width = max(len(r["name"]) for r in [result["whole_pool"], *rows]) + 2
    specs = list(rows[0]["ratio"])
    head = "".join(f"{'ratio ' + s:>14}{'random':>8}" for s in specs)
    print(f"{'':{width}}{'records':>8}{'tokens':>11}{'mean':>8}{'median':>8}{head}{'dup':>5}{'msgs':>6}")
    for r in [result["whole_pool"], *rows]:
        ratios = "".join(f"{r['ratio'][s]:>14.4f}{r['random_ratio_at_equal_tokens'][s]:>8.4f}"
                         for s in specs)
        print(f"{r['name']:{width}}{r['records']:>8,}{r['tokens']:>11,}{r['tokens_mean']:>8.1f}"
              f"{r['tokens_median']:>8.1f}{ratios}{r['duplicate_texts']:>5}{r['roles']['per_record']:>6.1f}")
    print("(random: a seeded random set of the pool with the same tokens; dup: repeated texts; "
          "msgs: messages per record)")
    for r in rows:
        print(f"\n{r['name']}")
        print("  roles    " + ", ".join(f"{k} {v:.0%}" for k, v in r["roles"]["share"].items()))
        if "mix" in r:
            print("  mix      " + ", ".join(f"{k} {v:.0%}" for k, v in r["mix"].items()))
        if "scores" in r:
            s = r["scores"]
            print(f"  scores   {s['is']} ({s['order']}): first {s['first']:.4f}, median "
                  f"{s['median']:.4f}, last {s['last']:.4f}")
        hist = r["histogram"]
        print("  lengths  " + " ".join(f"{n}" for n in hist) + f"  (12 bins from {result['bins'][0]:.0f} "
              f"to {result['bins'][-1]:.0f} tokens)")
        for k, text in enumerate(r["first"], 1):
            print(f"  pick {k}   {text}")
    if len(rows) > 1:
        print("\noverlap (Jaccard of the selected positions)")
        for r, line in zip(rows, result["overlap"]):
            print(f"  {r['name']:{width}}" + "".join(f"{v:>8.3f}" for v in line))


# --- zipkit experiment --------------------------------------------------------------------

EXPERIMENTS = {"compressors": "compressor ablation: ZIP (and ZIP-FIT) under every compressor",
               "methods": "ZIP against the baselines at equal tokens (the entropy-law paper's Table 1)",
               "train": "proxy fine-tuning of a small causal LM on each selection of an experiment",
               "entropy-law": "held-out loss against the compression ratio and first-epoch loss",
               "zipfit": "the ZIP-FIT replication: target loss against tokens, ZIP-FIT vs DSIR vs random"}


def _experiment_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("experiment", help="run an experiment from a TOML config",
                       description="Runs an experiment; every selection is cached in the output "
                                   "folder, so a rerun reuses it and a killed run continues. Writes "
                                   "results.json, results.md, results.csv and PNG plots there.")
    p.add_argument("name", choices=tuple(EXPERIMENTS),
                   help="; ".join(f"{k}: {v}" for k, v in EXPERIMENTS.items()))
    p.add_argument("--config", required=True, help="the TOML config (see experiments/*.toml)")
    p.add_argument("--out", help="output folder (default: ./NAME-results)")
    p.add_argument("--no-progress", action="store_true", help="print nothing while it runs")
    return p


def _experiment_run(args: argparse.Namespace) -> int:
    import importlib

    from .experiments.runner import Runner, build_pool, load_config

    config = load_config(args.config)
    out = Path(args.out or f"{args.name}-results")
    module = importlib.import_module(f"zipkit.experiments.{args.name.replace('-', '_')}")
    runner = Runner(out, build_pool(config), progress=False if args.no_progress else None)
    module.run(runner, config)
    print(f"{args.name}: {runner.made} selections made, {runner.reused} reused, "
          f"{time.perf_counter() - runner.started:.1f} s -> {out}/results.md")
    return 0


COMMANDS: dict[str, tuple[Callable, Callable]] = {
    "select": (_select_parser, _select_run),
    "score": (_score_parser, _score_run),
    "ratio": (_ratio_parser, _ratio_run),
    "compressors": (_compressors_parser, _compressors_run),
    "inspect": (_inspect_parser, _inspect_run),
    "compare": (functools.partial(_inspect_parser, name="compare"), _inspect_run),
    "experiment": (_experiment_parser, _experiment_run),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zipkit", description="Choose LLM training data by compression.")
    parser.add_argument("--version", action="version", version=f"zipkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (make_parser, run) in COMMANDS.items():
        make_parser(sub).set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.formatwarning = _one_line_warning
    try:
        return args.run(args)
    except KeyboardInterrupt as stop:
        print(f"zipkit: interrupted{_resume_hint(args)}", file=sys.stderr)
        return 128 + getattr(stop, "signum", signal.SIGINT)
    except BrokenPipeError:  # `zipkit ... | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 0
    except (BadRecordError, ValueError, TypeError, OSError, ImportError, IndexError,
            RuntimeError) as err:
        print(f"zipkit: error: {cli_words(_describe(err), args)}", file=sys.stderr)
        return 2


# API phrases whose command-line form is not --name VALUE.
_CLI_PHRASES = {"on_error='skip'": "--skip-bad", "text_fields=[...]": "--text-field FIELD",
                "resume=True": "--resume", "variant='paper'": "--variant paper"}


def cli_words(message: str, args: argparse.Namespace) -> str:
    """An error of the Python API in the words of the command line: ``budget=N`` becomes
    ``--budget N``, ``device='cpu'`` ``--device cpu``, for every option the command has
    (the API's messages are written once, in its own words)."""
    for phrase, flag in _CLI_PHRASES.items():
        message = message.replace(phrase, flag)
    flags = {name: "--" + name.replace("_", "-") for name in vars(args)}
    flags.update(_RENAMED_FLAGS)

    def flag(match: re.Match) -> str:
        name, value = match.group(1), match.group(2)
        if name not in flags:
            return match.group(0)
        value = value.strip("'\"")
        return flags[name] if value == "True" else f"{flags[name]} {value}"

    return re.sub(r"(?<![\w-])([a-z][a-z0-9_]*)=('[^']*'|\"[^\"]*\"|[^\s,;)]+)", flag, message)


_RENAMED_FLAGS = {"longest": "--shortest", "target_fields": "--target-field", "text_fields": "--text-field"}


def _describe(err: Exception) -> str:
    """An OS error as its reason and file ("No space left on device: out.jsonl"); others as
    their message."""
    if isinstance(err, OSError) and err.strerror and len(err.args) > 1:
        return f"{err.strerror}: {err.filename}" if err.filename else err.strerror
    return str(err)


def _resume_hint(args: argparse.Namespace) -> str:
    if args.command == "experiment":
        return ("; the selections and training runs it finished are kept in the output folder, and a "
                "training run it was in the middle of in its checkpoint: run the same command to go on")
    if getattr(args, "scores_dir", None):
        return (f"; the shards it scored are kept in {args.scores_dir}: run the same command to score "
                f"the rest")
    checkpoint = getattr(args, "checkpoint", None)
    if checkpoint and os.path.exists(checkpoint):
        return f"; the state is saved in {checkpoint}: run the same command with --resume to go on"
    return "; nothing was written"


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"zipkit: warning: {message}\n"


if __name__ == "__main__":
    sys.exit(main())
