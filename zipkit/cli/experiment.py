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
    "report": "remake the tables, plots and findings of a results folder from its results.json",
}


def parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``zipkit experiment`` subcommand and its options, added to ``sub``."""
    p = sub.add_parser(
        "experiment",
        help="run an experiment from a TOML config",
        description="Runs an experiment; every selection is cached in the output "
        "folder, so a rerun reuses it and a killed run continues. Writes "
        "results.json, results.md, results.csv and PNG plots there.",
    )
    p.add_argument("name", choices=tuple(EXPERIMENTS), help="; ".join(f"{k}: {v}" for k, v in EXPERIMENTS.items()))
    p.add_argument("folder", nargs="?", help="report: the results folder (one with results.json)")
    p.add_argument("--config", help="the TOML config (see experiments/*.toml); every experiment but report needs one")
    p.add_argument("--out", help="output folder (default: ./NAME-results)")
    p.add_argument("--no-progress", action="store_true", help="print nothing while it runs")
    p.add_argument(
        "--smoke",
        action="store_true",
        help="run the config at a tiny scale (a small pool, one or two seeds, a few steps, on the CPU) to check it end to end",
    )
    p.add_argument(
        "--smoke-device",
        default="cpu",
        help="with --smoke: the device every model runs on (default cpu; cuda checks a GPU preset on a GPU)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``zipkit experiment`` with the parsed ``args``; the exit status."""
    import importlib

    from ..experiments.runner import Runner, build_pool, load_config

    if args.name == "report":
        return _report(args)
    if args.folder is not None:
        raise ValueError(
            f"zipkit experiment {args.name}: unexpected argument {args.folder!r}; the output folder is --out"
        )
    if args.config is None:
        raise ValueError(f"zipkit experiment {args.name}: --config is required (see experiments/*.toml)")
    config = load_config(args.config, args.name)  # validated before any work
    from ..results.plots import pyplot

    pyplot()  # an experiment ends with its plots: a missing matplotlib is refused before any work
    if args.smoke:
        from ..experiments.smoke import shrink

        config = shrink(config, args.name, device=args.smoke_device)
    out = Path(args.out or f"{args.name}-results")
    module = importlib.import_module(f"zipkit.experiments.{args.name.replace('-', '_')}")
    runner = Runner(out, build_pool(config), progress=False if args.no_progress else None)
    module.run(runner, config)
    print(
        f"{args.name}: {runner.made} selections made, {runner.reused} reused, "
        f"{time.perf_counter() - runner.started:.1f} s -> {out}/results.md"
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    from ..experiments import report

    if args.folder is None:
        raise ValueError(
            "zipkit experiment report: name the results folder, e.g. zipkit experiment report experiments/results/methods"
        )
    for path in report.write(args.folder):
        print(path)
    return 0
