"""What starting a model method costs: the packaged SmolLM2 (GGUF) loaded as transformers
de-quantizes it, against zipkit's converted copy, and a scoring run cold and fully cached.

    python -m experiments.model_startup [--out FILE]

Each load runs in a fresh process (a warm process would hide the cost), in a new cache folder.
Writes ``OUT`` (JSON) and the table beside it (``.md``, generated from the JSON alone).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zipkit.experiments.report import markdown
from zipkit.io import write_json, write_text
from zipkit.manifest import versions

LOAD = """
import sys, time
import torch, transformers
from transformers.utils import logging
logging.disable_progress_bar()
from zipkit.baselines import models
where = models.locate("packaged:smollm2")
started = time.perf_counter()
if sys.argv[1] == "gguf":
    transformers.AutoModelForCausalLM.from_pretrained(where.directory, gguf_file=where.gguf_file,
                                                      dtype=torch.float32)
else:
    models.load_causal_lm("packaged:smollm2", "cpu", cache=sys.argv[2])
print(time.perf_counter() - started)
"""


def _seconds(*args: str) -> float:
    run = subprocess.run([sys.executable, "-c", LOAD, *args], capture_output=True, text=True, check=True)
    return round(float(run.stdout.strip().splitlines()[-1]), 2)


def _score(pool: Path, cache: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "zipkit.cli",
            "score",
            str(pool),
            "--method",
            "perplexity",
            "--model",
            "packaged:smollm2",
            "--device",
            "cpu",
            "--cache",
            cache,
            "-o",
            str(Path(cache).with_suffix(".parquet")),
            "--no-progress",
        ],
        capture_output=True,
        check=True,
    )
    return round(time.perf_counter() - started, 2)


STEPS = {  # result key -> what was timed, each in a fresh process
    "load_gguf_directly_s": "load the GGUF file with transformers (it de-quantizes the weights)",
    "first_load_with_conversion_s": "first load by zipkit (de-quantizes once and saves the copy)",
    "load_converted_copy_s": "load by zipkit from its converted copy (hashing the GGUF file included)",
    "score_40_records_cold_s": "`zipkit score --method perplexity` on 40 records, cold cache",
    "score_40_records_all_cached_s": "the same again, every loss cached",
}


def table(results: dict) -> str:
    """The Markdown table of a run's results: a row per step timed."""
    rows = [
        {"packaged SmolLM2 (GGUF) on the CPU": label, "seconds": f"{results[key]:.1f}"} for key, label in STEPS.items()
    ]
    return markdown(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "model_startup.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        pool = Path(cache) / "pool.jsonl"
        rows = ({"instruction": f"Say {i}.", "input": "", "output": f"{i}."} for i in range(40))
        pool.write_text("".join(json.dumps(r) + "\n" for r in rows))
        row = {
            "load_gguf_directly_s": _seconds("gguf"),
            "first_load_with_conversion_s": _seconds("zipkit", cache),
            "load_converted_copy_s": _seconds("zipkit", cache),
        }
        fresh = str(Path(cache) / "fresh")
        row["score_40_records_cold_s"] = _score(pool, fresh)  # converts the model again, in its own cache
        row["score_40_records_all_cached_s"] = _score(pool, fresh)
    print(json.dumps(row))
    results = {**row, "versions": versions()}
    write_json(args.out, results)
    write_text(args.out.with_suffix(".md"), table(results))


if __name__ == "__main__":
    main()
