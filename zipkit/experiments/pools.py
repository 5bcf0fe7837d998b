"""Pools for the experiments: the closest real mix to the entropy-law paper's
(WizardLM + ShareGPT + UltraChat) buildable from ``../shared/data`` and the packaged
ShareGPT, every record in ShareGPT form and tagged with its ``source``."""
from __future__ import annotations

import random
import warnings
from pathlib import Path
from typing import Any

from ..records import read_records
from ..schemas import messages

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
# Roles as ShareGPT names them.
_ROLES = {"user": "human", "instruction": "human", "input": "human", "assistant": "gpt",
          "output": "gpt", "text": "human"}


def default_data_dir() -> Path:
    """``../shared/data`` beside the checkout (where this project's data lives)."""
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def build(sources: list[str], data_dir: str | Path | None = None, limit: int | None = None,
          seed: int = 0, max_chars: int | None = None) -> list[dict]:
    """The records of ``sources`` (names of :data:`SOURCES`), in ShareGPT form with a
    ``source`` field; ``max_chars`` leaves out longer records (conversations a small model's
    context would cut, which no token budget of a few thousand fits); ``limit`` keeps a
    seeded sample of that many, in pool order."""
    data = Path(data_dir) if data_dir else default_data_dir()
    pool = [record for name in sources for record in _source(name, data)]
    if max_chars is not None:
        pool = [r for r in pool if sum(len(t["value"]) for t in r["conversations"]) <= max_chars]
    if limit is not None and limit < len(pool):
        keep = sorted(random.Random(seed).sample(range(len(pool)), limit))
        pool = [pool[i] for i in keep]
    return pool


def _source(name: str, data: Path) -> list[dict]:
    try:
        path, fields = SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown pool source {name!r}; known: {', '.join(SOURCES)}") from None
    where = path if path.startswith("packaged:") else data / path
    if not path.startswith("packaged:") and not Path(where).exists():
        raise FileNotFoundError(f"pool source {name!r} needs {where} (../shared/data beside the "
                                f"checkout); the packaged:sharegpt source needs nothing")
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
