"""``zipkit compressors``: the backends, their levels and contexts."""

from __future__ import annotations

import argparse
import json

from .. import compressors


def parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``zipkit compressors`` subcommand and its options, added to ``sub``."""
    p = sub.add_parser("compressors", help="list compressor backends, levels and contexts")
    p.add_argument("--json", action="store_true")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``zipkit compressors`` with the parsed ``args``; the exit status."""
    rows = compressors.available()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'name':8} {'library':10} {'version':9} {'levels':7} {'default':7} {'context':12} {'exact via':12} options")
    for r in rows:
        options = ",".join(f"{k}={v}" for k, v in r["options"].items())
        print(
            f"{r['name']:8} {r['library']:10} {r['version']:9} {r['levels']:7} "
            f"{r['default_level']:<7} {r['default_context']:12} {r['exact_context']:12} {options}"
        )
    print(
        "\nspec: name[:level][,option=value...], e.g. zlib:9, zstd:19,history=4194304, lz4hc:12. "
        "DEFLATE level 0 (stored) is refused for scoring."
    )
    return 0
