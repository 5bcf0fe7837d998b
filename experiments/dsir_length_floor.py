"""DSIR with and without a length floor (``min_tokens``), towards two targets.

    python -m experiments.dsir_length_floor [--out FILE] [--floors 0 20 50 100]

Pool (../shared/data, tagged by source): Alpaca 5k, CodeAlpaca 2k, MBPP (text and code), the
LLaMA-Factory C4 demo, LIMA train, and the Lean 4 statements of DeepSeek-Prover's miniF2F.
Targets: HumanEval (prompt + canonical solution) and ProofNet valid (formal statements).
For each target and floor: DSIR (Gumbel top-k, seed 0) at 50,000 whitespace tokens, and a
random set of the same tokens. Reported: how many records pass the floor, and of the
selection: records, mean and median characters, and the source mix. The reference package
(``data-selection``) drops examples under 100 word-punct tokens (``min_example_length``).

Writes ``OUT`` (JSON) and the table beside it (``.md``, generated from the JSON alone).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

import zipkit
from zipkit.baselines.dsir import featurize
from zipkit.experiments.report import markdown
from zipkit.io import write_json, write_text
from zipkit.manifest import versions

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BUDGET_TOKENS = 50_000

SOURCES = {  # name -> (path, text fields or None for the detected schema)
    "alpaca": ("alpaca/alpaca_5000.json", None),
    "codealpaca": ("codealpaca/code_alpaca_2k.json", None),
    "mbpp": ("mbpp/mbpp.jsonl", ["text", "code"]),
    "c4": ("llamafactory_demo/c4_demo.jsonl", None),
    "lima": ("lima/train.jsonl", None),
    "lean_minif2f": ("lean4_deepseek_prover/minif2f.jsonl", ["formal_statement"]),
}
TARGETS = {
    "humaneval": ("humaneval/HumanEval.jsonl.gz", ["prompt", "canonical_solution"]),
    "proofnet": ("proofnet/valid.jsonl", ["formal_statement"]),
}
TARGET_NAMES = {"humaneval": "HumanEval", "proofnet": "ProofNet"}


def _texts(path: str, fields: list | None) -> list[str]:
    records = zipkit.read_records(DATA / path, text_fields=fields, on_error="skip", progress=False)
    return [records.text(i) for i in range(len(records))]


def build_pool() -> list[dict]:
    return [{"text": text, "source": name} for name, (path, fields) in SOURCES.items() for text in _texts(path, fields)]


def describe(pool: list[dict], indices: np.ndarray) -> dict:
    chars = np.array([len(pool[int(i)]["text"]) for i in indices])
    mix = Counter(pool[int(i)]["source"] for i in indices)
    return {
        "records": len(indices),
        "mean_chars": round(float(chars.mean()), 1),
        "median_chars": float(np.median(chars)),
        "source_mix": {k: round(v / len(indices), 3) for k, v in mix.most_common()},
    }


def table(results: dict) -> str:
    """The Markdown table of a run's results: a line on the pool, then a row per selection."""
    pool = results["pool"]
    sources = ", ".join(f"{name} {n:,}" for name, n in pool["by_source"].items())
    percent = lambda share: f"{100 * share:.0f}%"  # noqa: E731
    rows = [
        {
            "target": TARGET_NAMES.get(row["target"], row["target"]) if row["target"] else "(random set)",
            "min_tokens": "-" if row["min_tokens"] is None else row["min_tokens"],
            "records passing": f"{row['eligible']:,}" if "eligible" in row else "-",
            "selected": f"{row['records']:,}",
            "mean characters": f"{row['mean_chars']:.0f}",
            "largest sources": ", ".join(f"{k} {percent(v)}" for k, v in list(row["source_mix"].items())[:3]),
            "lean_minif2f share": percent(row["source_mix"].get("lean_minif2f", 0.0)),
        }
        for row in results["rows"]
    ]
    head = f"Pool: {pool['records']:,} records ({sources}); budget {results['budget_tokens']:,} whitespace tokens."
    return f"{head}\n\n{markdown(rows)}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--floors", type=int, nargs="+", default=[0, 20, 50, 100])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "dsir_length_floor.json")
    args = parser.parse_args()
    pool = build_pool()
    words = featurize([r["text"] for r in pool]).words
    records = zipkit.read_records(pool)
    random = zipkit.select(records, method="random", budget_tokens=BUDGET_TOKENS, seed=0)
    rows = [{"target": None, "method": "random", "min_tokens": None, **describe(pool, random.indices)}]
    print(json.dumps(rows[-1]), flush=True)
    for target, (path, fields) in TARGETS.items():
        texts = _texts(path, fields)
        for floor in args.floors:
            sel = zipkit.select(
                records, method="dsir", target=texts, budget_tokens=BUDGET_TOKENS, min_tokens=floor, progress=False
            )
            rows.append(
                {
                    "target": target,
                    "method": "dsir",
                    "min_tokens": floor,
                    "eligible": int((words >= floor).sum()),
                    **describe(pool, sel.indices),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    result = {
        "pool": {
            "records": len(pool),
            "by_source": dict(Counter(r["source"] for r in pool)),
            "mean_chars": round(float(np.mean([len(r["text"]) for r in pool])), 1),
        },
        "budget_tokens": BUDGET_TOKENS,
        "rows": rows,
        "versions": versions(),
    }
    write_json(args.out, result)
    write_text(args.out.with_suffix(".md"), table(result))


if __name__ == "__main__":
    main()
