"""``zipkit experiment``: run a study from its TOML config."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

EXPERIMENTS = {
    "compressors": "compressor ablation: ZIP (and ZIP-FIT) under every compressor",
    "methods": "ZIP against the baselines at equal tokens (the entropy-law paper's Table 1)",
    "train": "proxy fine-tuning of a small causal LM on each selection of an experiment",
    "entropy-law": "held-out loss against the compression ratio and first-epoch loss",
    "zipfit": "the ZIP-FIT replication: target loss against tokens, ZIP-FIT vs DSIR vs random",
}


def parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "experiment",
        help="run an experiment from a TOML config",
        description="Runs an experiment; every selection is cached in the output "
        "folder, so a rerun reuses it and a killed run continues. Writes "
        "results.json, results.md, results.csv and PNG plots there.",
    )
    p.add_argument("name", choices=tuple(EXPERIMENTS), help="; ".join(f"{k}: {v}" for k, v in EXPERIMENTS.items()))
    p.add_argument("--config", required=True, help="the TOML config (see experiments/*.toml)")
    p.add_argument("--out", help="output folder (default: ./NAME-results)")
    p.add_argument("--no-progress", action="store_true", help="print nothing while it runs")
    return p


def run(args: argparse.Namespace) -> int:
    import importlib

    from ..experiments.runner import Runner, build_pool, load_config

    config = load_config(args.config, args.name)  # validated before any work
    out = Path(args.out or f"{args.name}-results")
    module = importlib.import_module(f"zipkit.experiments.{args.name.replace('-', '_')}")
    runner = Runner(out, build_pool(config), progress=False if args.no_progress else None)
    module.run(runner, config)
    print(
        f"{args.name}: {runner.made} selections made, {runner.reused} reused, "
        f"{time.perf_counter() - runner.started:.1f} s -> {out}/results.md"
    )
    return 0
