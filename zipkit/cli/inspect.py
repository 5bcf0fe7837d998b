"""``zipkit inspect`` and ``zipkit compare``: what selections picked, next to their pool."""

from __future__ import annotations

import argparse
import json

from ..io import SCHEMAS, SERIALIZERS, check_outputs
from ..methods.params import TOKENIZER
from .common import progress


def parser(sub: argparse._SubParsersAction, name: str = "inspect") -> argparse.ArgumentParser:
    """The ``zipkit inspect`` (or ``compare``) subcommand and its options, added to ``sub``."""
    many = name == "compare"
    p = sub.add_parser(
        name,
        help=(
            "several selections of one pool side by side, with their overlap"
            if many
            else "what a selection picked, next to its pool"
        ),
        description="Counts, tokens (mean, median, histogram), compression ratio of the "
        "selected set (and of a random set of the same tokens), duplicate "
        "texts, message roles, a field's mix, score summaries from reports"
        + (", and the overlap of every pair." if many else "."),
    )
    p.add_argument(
        "selections",
        nargs="+",
        metavar="SELECTION",
        help="a report written by select --report (.json with indices) or a select output "
        "(its records are found in the pool)",
    )
    p.add_argument("--pool", required=True, help="the pool the selections were made from")
    p.add_argument("--schema", choices=SCHEMAS, help="the pool's schema (default: detected)")
    p.add_argument(
        "--text-field",
        dest="text_fields",
        action="append",
        metavar="FIELD",
        help="a field of the pool holding the text (repeat for several)",
    )
    p.add_argument(
        "--compressor",
        dest="compressors",
        action="append",
        metavar="SPEC",
        help="measure the ratio with this compressor (repeat for several; default: zlib:9)",
    )
    p.add_argument(
        "--serializer", default="text", choices=tuple(SERIALIZERS), help="what is compressed (default: %(default)s)"
    )
    p.add_argument(
        "--tokenizer",
        help="unicode, whitespace, bytes, or a Hugging Face tokenizer (default: the one the reports' "
        f"selections were made with, else {TOKENIZER.default})",
    )
    p.add_argument("--by", metavar="FIELD", help="also show the mix of this field's values (e.g. source)")
    p.add_argument("--seed", type=int, default=0, help="of the random set at equal tokens (default: 0)")
    p.add_argument("--plot", metavar="FILE.png", help="write the token-length histograms")
    p.add_argument("--json", action="store_true", help="print everything as JSON")
    p.add_argument("--no-progress", action="store_true", help="never show progress bars")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``zipkit inspect`` (or ``compare``) with the parsed ``args``; the exit status."""
    from .. import summary

    if args.command == "compare" and len(args.selections) < 2:
        raise ValueError("compare needs at least two selections; for one, use zipkit inspect")
    if args.plot:
        check_outputs({"--plot": args.plot}, {"--pool": args.pool})
    result = summary.compare(
        args.selections,
        args.pool,
        schema=args.schema,
        text_fields=args.text_fields,
        compressor_specs=args.compressors or ["zlib:9"],
        serializer=args.serializer,
        tokenizer=args.tokenizer,
        by=args.by,
        seed=args.seed,
        progress=progress(args),
    )
    if args.plot:
        summary.plot(result, args.plot)
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "lengths"}, indent=1))
    else:
        _print_summary(result)
    return 0


def _print_summary(result: dict) -> None:
    pool, rows = result["pool"], result["selections"]
    print(
        f"pool     {pool['path']} ({pool['format']}, {pool['schema'] or pool['text_fields']}): "
        f"{pool['records']:,} records; tokens: {result['tokenizer']}, ratio of the set as one "
        f"{result['serializer']} document"
    )
    width = max(len(r["name"]) for r in [result["whole_pool"], *rows]) + 2
    specs = list(rows[0]["ratio"])
    head = "".join(f"{'ratio ' + s:>14}{'random':>8}" for s in specs)
    print(f"{'':{width}}{'records':>8}{'tokens':>11}{'mean':>8}{'median':>8}{head}{'dup':>5}{'msgs':>6}")
    for r in [result["whole_pool"], *rows]:
        ratios = "".join(f"{r['ratio'][s]:>14.4f}{r['random_ratio_at_equal_tokens'][s]:>8.4f}" for s in specs)
        print(
            f"{r['name']:{width}}{r['records']:>8,}{r['tokens']:>11,}{r['tokens_mean']:>8.1f}"
            f"{r['tokens_median']:>8.1f}{ratios}{r['duplicate_texts']:>5}{r['roles']['per_record']:>6.1f}"
        )
    print(
        "(random: a seeded random set of the pool with the same tokens; dup: repeated texts; msgs: messages per record)"
    )
    for r in rows:
        print(f"\n{r['name']}")
        print("  roles    " + ", ".join(f"{k} {v:.0%}" for k, v in r["roles"]["share"].items()))
        if "mix" in r:
            print("  mix      " + ", ".join(f"{k} {v:.0%}" for k, v in r["mix"].items()))
        if "scores" in r:
            s = r["scores"]
            # The method's preference, not a claim about the sequence: ZIP's scores restart
            # every round, so they do not ascend through the selection.
            prefers = {"ascending": "lower preferred", "descending": "higher preferred"}.get(s["order"], s["order"])
            print(
                f"  scores   {s['is']} ({prefers}): in selection order first {s['first']:.4f}, median "
                f"{s['median']:.4f}, last {s['last']:.4f}"
            )
        hist = r["histogram"]
        print(
            "  lengths  " + " ".join(f"{n}" for n in hist) + f"  (12 bins from {result['bins'][0]:.0f} "
            f"to {result['bins'][-1]:.0f} tokens)"
        )
        for k, text in enumerate(r["first"], 1):
            print(f"  pick {k}   {text}")
    for r in rows:
        if r.get("ambiguous"):
            print(
                f"\nnote: {r['ambiguous']:,} record(s) of {r['name']} have identical twins in the pool: an "
                f"output file cannot say which twin was selected; give the report (select --report) "
                f"for exact positions"
            )
    if len(rows) > 1:
        what = "positions" if result["overlap_by"] == "position" else "records, identical ones as one value"
        print(f"\noverlap (Jaccard of the selected {what})")
        for r, line in zip(rows, result["overlap"]):
            print(f"  {r['name']:{width}}" + "".join(f"{v:>8.3f}" for v in line))
