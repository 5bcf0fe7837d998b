"""What selections picked, side by side: ``zipkit inspect`` and ``zipkit compare``.

A selection is given as what ``zipkit select`` wrote: its report (a JSON object with
``indices``, ``scores`` and ``manifest``) or its output file (the selected records, found
again in the pool by their JSON value, duplicates in pool order). Every figure is measured
on the pool's records at those positions.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import compressors
from .budget import token_counts
from .io import Records, read_records
from .io.schemas import messages
from .methods.params import TOKENIZER
from .ranking import take
from .ratio import framed_ratio


@dataclass
class Chosen:
    """One selection: its name, pool positions in selection order, and its report if any."""

    name: str
    indices: np.ndarray
    scores: np.ndarray | None = None
    manifest: dict = field(default_factory=dict)


def load_selection(path: str | Path, pool: Records) -> Chosen:
    """A selection from its report or its output file (module docstring)."""
    path = Path(path)
    report = _report(path)
    if report is not None:
        indices = np.asarray(report["indices"], dtype=np.int64)
        if len(indices) and (indices.min() < 0 or indices.max() >= len(pool)):
            raise ValueError(
                f"{path}: its indices reach {int(indices.max())}, past the pool's "
                f"{len(pool)} records: is --pool the pool it was selected from?"
            )
        name = report.get("manifest", {}).get("method") or path.stem
        return Chosen(
            f"{name} ({path.name})", indices, np.asarray(report.get("scores", []), float), report.get("manifest", {})
        )
    return Chosen(path.name, _find_in_pool(read_records(path, progress=False), pool, path))


def _report(path: Path) -> dict | None:
    if path.suffix.lower() != ".json":
        return None
    with open(path, "rb") as stream:
        if stream.read(64).lstrip()[:1] != b"{":
            return None
    report = json.loads(path.read_text())
    if not isinstance(report, dict) or "indices" not in report:
        raise ValueError(f"{path} is a JSON object but not a selection report (no 'indices')")
    return report


def _find_in_pool(selected: Records, pool: Records, path: Path) -> np.ndarray:
    """The pool positions of the selected records, matched by value (key order aside)."""
    where: dict[str, list[int]] = {}
    for i, record in enumerate(pool):
        where.setdefault(_canonical(record), []).append(i)
    found = []
    for k, record in enumerate(selected):
        positions = where.get(_canonical(record))
        if not positions:
            raise ValueError(f"{path}: record {k} is not in the pool: is --pool the pool it was selected from?")
        found.append(positions.pop(0))
    return np.asarray(found, dtype=np.int64)


def _canonical(record: Any) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def describe(
    chosen: Chosen,
    pool: Records,
    tokens: np.ndarray,
    specs: Sequence[str],
    serializer: str = "text",
    by: str | None = None,
    seed: int = 0,
) -> dict:
    """Counts, tokens, ratios (and a random set's at equal tokens), duplicates, role and
    source mix, and the score summary of one selection."""
    idx = chosen.indices
    picked = tokens[idx]
    payloads = pool.payloads(serializer)
    texts = [pool.text(int(i)) for i in idx]
    random_set = _random_at_tokens(tokens, int(picked.sum()), seed)
    row = {
        "name": chosen.name,
        "records": len(idx),
        "tokens": int(picked.sum()),
        "tokens_mean": float(picked.mean()) if len(idx) else 0.0,
        "tokens_median": float(np.median(picked)) if len(idx) else 0.0,
        "ratio": {spec: framed_ratio([payloads[int(i)] for i in idx], serializer, spec) for spec in specs},
        "random_ratio_at_equal_tokens": {
            spec: framed_ratio([payloads[int(i)] for i in random_set], serializer, spec) for spec in specs
        },
        "duplicate_texts": len(texts) - len(set(texts)),
        "near_duplicates": near_duplicates(texts),
        "distinct_bigrams": distinct_bigrams(texts),
        "roles": _roles(pool, idx),
        "first": [text[:100].replace("\n", " / ") for text in texts[:3]],
    }
    if by:
        row["mix"] = _mix(pool, idx, by)
    if chosen.scores is not None and len(chosen.scores):
        score = chosen.manifest.get("score", {})
        row["scores"] = {
            "is": score.get("is"),
            "order": score.get("order"),
            "first": float(chosen.scores[0]),
            "median": float(np.median(chosen.scores)),
            "last": float(chosen.scores[-1]),
        }
    return row


def distinct_bigrams(texts: Sequence[str]) -> float:
    """Distinct word bigrams over all word bigrams of the texts (distinct-2: 1 = none repeats)."""
    bigrams = [pair for text in texts for pair in zip(text.split(), text.split()[1:])]
    return round(len(set(bigrams)) / len(bigrams), 4) if bigrams else 0.0


def near_duplicates(texts: Sequence[str], threshold: float = 0.8, num_perm: int = 64) -> int | None:
    """Records whose word 3-gram set has an estimated Jaccard similarity of at least
    ``threshold`` with an earlier record's (MinHash LSH, ``datasketch``; None without it)."""
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        return None
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    found = 0
    for k, text in enumerate(texts):
        words = text.split()
        grams = {" ".join(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}
        signature = MinHash(num_perm=num_perm, seed=1)
        signature.update_batch([g.encode("utf-8") for g in grams])
        found += bool(lsh.query(signature))
        lsh.insert(str(k), signature)
    return found


def _random_at_tokens(tokens: np.ndarray, budget: int, seed: int) -> np.ndarray:
    """A seeded random order of the pool, taken as every method takes a token budget."""
    return take(np.random.default_rng(seed).permutation(len(tokens)), None, budget, tokens)


def _roles(pool: Records, idx: np.ndarray) -> dict:
    """Share of each role among the selected records' messages, and messages per record."""
    counts: Counter = Counter()
    for i in idx:
        counts.update(m.role for m in messages(pool[int(i)], pool.schema, pool.text_fields))
    total = sum(counts.values()) or 1
    return {"per_record": total / max(len(idx), 1), "share": {role: n / total for role, n in counts.most_common(6)}}


def _mix(pool: Records, idx: np.ndarray, by: str) -> dict:
    values = Counter(str(pool[int(i)].get(by, "(missing)")) for i in idx)
    return {value: n / max(len(idx), 1) for value, n in values.most_common(8)}


def overlap(selections: Sequence[Chosen]) -> list[list[float]]:
    """Jaccard overlap of the selections' positions, every pair."""
    sets = [set(c.indices.tolist()) for c in selections]
    return [[len(a & b) / max(len(a | b), 1) for b in sets] for a in sets]


def compare(
    paths: Sequence[str],
    pool: Any,
    *,
    compressor_specs: Sequence[str] = ("zlib:9",),
    serializer: str = "text",
    tokenizer: str = TOKENIZER.default,
    by: str | None = None,
    seed: int = 0,
) -> dict:
    """Every selection described against ``pool``, and their overlaps."""
    pool = read_records(pool, progress=False)
    for spec in compressor_specs:
        compressors.get(spec)  # a bad spec fails before any work
    chosen = [load_selection(p, pool) for p in paths]
    tokens = token_counts(pool, tokenizer)
    whole = Chosen("the whole pool", np.arange(len(pool)))
    rows = [describe(c, pool, tokens, compressor_specs, serializer, by, seed) for c in chosen]
    pool_row = describe(whole, pool, tokens, compressor_specs, serializer, by, seed)
    bins = np.histogram_bin_edges(np.concatenate([tokens[c.indices] for c in chosen]) if chosen else tokens, bins=12)
    for row, c in zip(rows, chosen):
        row["histogram"] = np.histogram(tokens[c.indices], bins=bins)[0].tolist()
    return {
        "pool": pool.describe(),
        "tokenizer": tokenizer,
        "serializer": serializer,
        "bins": bins.tolist(),
        "whole_pool": pool_row,
        "selections": rows,
        "overlap": overlap(chosen),
        "lengths": {row["name"]: tokens[c.indices].tolist() for row, c in zip(rows, chosen)},
    }


def plot(result: dict, path: str | Path) -> None:
    """Token-length histograms of the selections, one step line each, on a log scale."""
    from .results.plots import histograms

    histograms(
        result["lengths"],
        f"tokens per record ({result['tokenizer']})",
        f"Token lengths of the selections of {Path(result['pool']['path']).name}",
        path,
    )
