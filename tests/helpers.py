"""Generated pools for tests that need files on disk."""

from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = (
    "data model train compress ratio token select pool record zip budget window greedy "
    "entropy law loss text code proof lemma theorem python function return value list"
).split()


def alpaca(n: int, seed: int = 0) -> list[dict]:
    """``n`` Alpaca-style records of random words (4-12 in the instruction, 10-80 in the output)."""
    rng = random.Random(seed)
    words = lambda k: " ".join(rng.choice(WORDS) for _ in range(k))  # noqa: E731
    return [
        {"instruction": f"Task {i}: {words(rng.randint(4, 12))}", "input": "", "output": words(rng.randint(10, 80))}
        for i in range(n)
    ]


def write_jsonl(path: Path, records: list, head: bytes = b"") -> Path:
    path.write_bytes(head + b"".join(json.dumps(r).encode() + b"\n" for r in records))
    return path


def write_array(path: Path, records: list) -> Path:
    """A JSON array with one element per line: element k starts on line k + 2."""
    path.write_text("[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]\n")
    return path


def write_shards(folder: Path, records: list, per_shard: int) -> Path:
    """``records`` as JSON Lines shards ``part-K.jsonl`` of ``per_shard`` records each."""
    folder.mkdir()
    for k in range(0, len(records), per_shard):
        write_jsonl(folder / f"part-{k // per_shard}.jsonl", records[k : k + per_shard])
    return folder
