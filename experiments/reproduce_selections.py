"""Rerun every committed selection of the experiments and check it is reproduced bit for bit.

For each ``experiments/results/*/selections/*.json`` (``{"indices", "scores", "manifest"}``)
the pool is rebuilt from its folder's ``results.json`` config (``runner.build_pool``), the
call the experiment made through ``runner.select`` is rebuilt from the manifest's parameters
(only those the experiments pass; the rest are defaults, resolved values or descriptions such
as ``target``), the target of a ZIP-FIT or DSIR selection is rebuilt from the config the way the
experiment built it, and the call is run through the public ``zipkit.select``. Its indices and
scores must equal the committed ones exactly. Model caches (embeddings, LM losses) go to a fresh
temporary ``$ZIPKIT_CACHE``, so nothing computed before this run is reused.

Run from the repository root::

    python -m experiments.reproduce_selections [--skip-models] [--only SUBSTRING ...] [--data-dir DIR] [--out PATH]

``--skip-models`` leaves out cluster, perplexity and IFD (CPU-heavy models). The report
(default ``experiments/results/reproduce_selections.json``) lists each file and the totals;
the exit status is 1 when any selection differs or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import zipkit
from zipkit.experiments import heldout, methods, pools, runner

RESULTS = Path(__file__).resolve().parent / "results"
MODELS = ("cluster", "perplexity", "ifd")
BUDGET = ("budget", "budget_tokens", "tokenizer")
# Method -> the parameters the experiments pass it (besides the budget, the target and the
# ``params`` tables of a config); a manifest's other parameters are defaults, resolved values or
# descriptions. Where an experiment left one of these out (the methods experiment's ZIP, its
# compressor; the compressors and zipfit experiments, the tokenizer), the manifest holds the
# default it resolved to, so passing it makes the same call.
PASSED = {
    "zip": ("k1", "k2", "k3", "compressor"),
    "random": ("seed",),
    "length": (),
    "dsir": (),
    "zipfit": (),
    "cluster": ("device",),
    "perplexity": ("device",),
    "ifd": ("ifd_variant", "device"),
}


def call(manifest: dict, config: dict) -> dict:
    """The keyword arguments the experiment passed to ``runner.select`` (target aside)."""
    given = manifest["parameters"]
    from_config = {
        key
        for table in ("methods", "zipfit")
        for params in config.get(table, {}).get("params", {}).values()
        for key in params
    }
    keys = {*BUDGET, *PASSED[manifest["method"]], *from_config}
    params = {k: v for k, v in given.items() if k in keys and not (k in BUDGET[:2] and v is None)}
    if "progress" in given:  # the method takes it; it decides nothing in the result
        params["progress"] = False
    return params


def target(config: dict, label: str, data_dir: Path) -> list[str]:
    """The target texts the experiment gave ZIP-FIT or DSIR: the methods experiment's
    ``target`` file, or the ``target`` held-out set of the zipfit task the label names."""
    if "methods" in config:
        spec = dict(config["methods"])
        if spec["target"].startswith("data:"):
            spec["target"] = str(data_dir / spec["target"][len("data:") :])
        return methods._target(spec)
    task = next(t for t in config["zipfit"]["task"] if label.startswith(runner._safe(t["name"]) + "_"))
    return heldout.texts(task["target"], pool=config.get("pool"), data_dir=data_dir)


def check(path: Path, pool, config: dict, data_dir: Path) -> dict:
    saved = json.loads(path.read_text())
    manifest = saved["manifest"]
    row = {"folder": path.parent.parent.name, "file": path.name, "method": manifest["method"]}
    started = time.perf_counter()
    try:
        if manifest["pool"]["records"] != len(pool):
            raise ValueError(f"made from {manifest['pool']['records']} records, the pool has {len(pool)}")
        params = call(manifest, config)
        if "target" in manifest["parameters"]:
            params["target"] = target(config, path.stem, data_dir)
            if len(params["target"]) != manifest["parameters"]["target"]["records"]:
                raise ValueError(
                    f"target has {len(params['target'])} texts, the manifest "
                    f"{manifest['parameters']['target']['records']}"
                )
        got = zipkit.select(pool, method=manifest["method"], **params)
        indices = np.asarray(saved["indices"], np.int64)
        scores = np.asarray(saved["scores"], np.float64)
        row["indices"] = bool(np.array_equal(got.indices, indices))
        row["scores"] = bool(np.array_equal(got.scores, scores, equal_nan=True))
        if not row["scores"] and got.scores.shape == scores.shape:
            row["max_abs_diff"] = float(np.nanmax(np.abs(got.scores - scores)))
    except Exception as err:  # recorded; the other files still run
        row.update(indices=False, scores=False, error=f"{type(err).__name__}: {err}")
    row["seconds"] = round(time.perf_counter() - started, 2)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", action="append", metavar="SUBSTRING", help="only files whose FOLDER/FILE holds it (repeatable: any)"
    )
    parser.add_argument("--skip-models", action="store_true", help="leave out " + ", ".join(MODELS))
    parser.add_argument("--data-dir", type=Path, help="the data folder (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=RESULTS / "reproduce_selections.json")
    args = parser.parse_args()
    data_dir = args.data_dir or pools.default_data_dir()
    os.environ["ZIPKIT_CACHE"] = cache = tempfile.mkdtemp(prefix="zipkit-reproduce-")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still removes the cache
    files = [
        p
        for p in sorted(RESULTS.glob("*/selections/*.json"))
        if not args.only or any(s in f"{p.parent.parent.name}/{p.name}" for s in args.only)
    ]
    built: dict[str, object] = {}
    rows: list[dict] = []
    started = time.perf_counter()
    try:
        for path in files:
            config = json.loads((path.parent.parent / "results.json").read_text())["config"]
            if args.skip_models and json.loads(path.read_text())["manifest"]["method"] in MODELS:
                continue
            spec = {"data_dir": str(data_dir), **config.get("pool", {})}
            key = json.dumps(spec, sort_keys=True)
            if key not in built:  # folders with the same [pool] table share it
                built[key] = runner.build_pool({"pool": spec})
            row = check(path, built[key], config, data_dir)
            rows.append(row)
            print(line(row), flush=True)
            write(args.out, rows, started)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    totals = write(args.out, rows, started)
    print(
        f"{totals['matched']} of {totals['files']} selections reproduced ({totals['mismatched']} differ, "
        f"{totals['errors']} failed) in {totals['seconds']} s; report: {args.out}"
    )
    return 0 if totals["matched"] == totals["files"] else 1


def line(row: dict) -> str:
    verdict = "ok" if row["indices"] and row["scores"] else "ERROR" if "error" in row else "MISMATCH"
    text = (
        f"{verdict:8} {row['folder']}/{row['file']} {row['method']}: indices {row['indices']}, scores {row['scores']}"
    )
    if "max_abs_diff" in row:
        text += f" (max abs diff {row['max_abs_diff']:.3g})"
    return text + f", {row['seconds']} s" + (f"; {row['error']}" if "error" in row else "")


def write(out: Path, rows: list[dict], started: float) -> dict:
    totals = {
        "files": len(rows),
        "matched": sum(r["indices"] and r["scores"] for r in rows),
        "mismatched": sum(not (r["indices"] and r["scores"]) and "error" not in r for r in rows),
        "errors": sum("error" in r for r in rows),
        "seconds": round(time.perf_counter() - started, 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"zipkit": zipkit.__file__, "totals": totals, "files": rows}, indent=1) + "\n")
    return totals


if __name__ == "__main__":
    sys.exit(main())
