"""What selections picked, side by side: ``zipkit inspect`` and ``zipkit compare``.

A selection is given as what ``zipkit select`` wrote: its report (a JSON object with
``indices``, ``scores`` and ``manifest``) or its output file (the selected records, found
again in the pool by their JSON value, identical records in pool order, and said to be
ambiguous). A report is checked against the pool (its size and its records' texts) and
counted with the tokenizer its selection used. Every figure is measured on the pool's
records at those positions.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from . import compressors
from .budget import token_counts
from .io import Records, read_records
from .io.schemas import messages
from .io.serializers import json_value
from .methods.params import TOKENIZER
from .ranking import take
from .ratio import framed_ratio

__all__ = ["compare", "read_report"]


@dataclass
class Chosen:
    """One selection: its name, pool positions in selection order, and its report if any.
    ``by_value``: found in the pool by the records' values (an output file), not positions;
    ``ambiguous``: how many of those have identical twins in the pool, so that which twin
    was selected is unknown."""

    name: str
    indices: np.ndarray
    scores: np.ndarray | None = None
    manifest: dict = field(default_factory=dict)
    by_value: bool = False
    ambiguous: int = 0


def read_report(path: str | Path) -> dict | None:
    """A selection report (``zipkit select --report``), checked: ``indices`` a list of whole
    numbers, ``scores`` (if any) numbers aligned with them, ``manifest`` an object. None when
    ``path`` is not a JSON object (a selection's output file of records).

    Parameters
    ----------
    path : str or pathlib.Path
        A report, or a selection's output file.
    """
    path = Path(path)
    if path.suffix.lower() != ".json":
        return None
    with open(path, "rb") as stream:
        if stream.read(64).lstrip()[:1] != b"{":
            return None
    try:
        report = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{path}: not valid JSON ({err}); a report zipkit select wrote is complete JSON: was it cut short?"
        ) from None
    if not isinstance(report, dict) or "indices" not in report:
        raise ValueError(
            f"{path} is a JSON object but not a selection report (no 'indices'); give the "
            f"report zipkit select --report wrote, or its output file"
        )
    indices = report["indices"]
    if not isinstance(indices, list) or not all(type(i) is int for i in indices):
        odd = indices if not isinstance(indices, list) else next(i for i in indices if type(i) is not int)
        raise ValueError(f"{path}: 'indices' must be a list of whole record indices, but holds {odd!r}")
    if not indices:
        raise ValueError(f"{path}: 'indices' is empty; a selection report lists the records selected")
    negative = next((i for i in indices if i < 0), None)
    if negative is not None:
        raise ValueError(f"{path}: 'indices' holds {negative}; an index is a row of the pool, from 0")
    seen: set[int] = set()
    repeated = next((i for i in indices if i in seen or seen.add(i)), None)
    if repeated is not None:
        raise ValueError(f"{path}: 'indices' holds {repeated} more than once; a selection never repeats a record")
    scores = report.get("scores", [])
    if not isinstance(scores, list) or not all(type(v) in (int, float) or v is None for v in scores):
        raise ValueError(f"{path}: 'scores' must be a list of numbers")
    if scores and len(scores) != len(indices):
        raise ValueError(f"{path}: {len(scores)} scores for {len(indices)} indices; a report has one per index")
    if not isinstance(report.get("manifest", {}), dict):
        raise ValueError(f"{path}: 'manifest' must be a JSON object")
    return report


def load_selection(path: str | Path, pool: Records, report: dict | None = None) -> Chosen:
    """A selection from its report or its output file (module docstring)."""
    path = Path(path)
    report = read_report(path) if report is None else report
    if report is not None:
        manifest = report.get("manifest", {})
        check_pool(manifest, pool, path)
        indices = pool.positions_of(report["indices"], f"{path}")
        name = manifest.get("method") or path.stem
        scores = np.asarray([np.nan if v is None else v for v in report.get("scores", [])], float)
        return Chosen(f"{name} ({path.name})", indices, scores, manifest)
    # Read as the pool was (a schema detected in the output might not be the pool's).
    read = {"text_fields": pool.text_fields} if pool.text_fields else {"schema": pool.schema}
    indices, ambiguous = _find_in_pool(read_records(path, progress=False, **read), pool, path)
    return Chosen(path.name, indices, by_value=True, ambiguous=ambiguous)


def check_pool(manifest: dict, pool: Records, path: Path) -> None:
    """Refuse a report whose manifest says it was made on another pool: other texts (the
    digest of every record's text, as read with the same schema), or another size."""
    made_on = manifest.get("pool") or {}
    hint = "is --pool the pool it was selected from?"
    if made_on.get("records") is not None and made_on["records"] != len(pool):
        raise ValueError(
            f"{path}: it was selected from a pool of {made_on['records']:,} records, this one has {len(pool):,}: {hint}"
        )
    texts = made_on.get("texts")
    same_reading = made_on.get("schema") == pool.schema and made_on.get("text_fields") == pool.text_fields
    # Texts read with another schema or other fields differ whatever the pool: compare them
    # only when the pool was read as the selection read it.
    if texts and same_reading and texts != pool.payloads("text").digest():
        raise ValueError(
            f"{path}: it was selected from {made_on.get('path')!r}, whose records' texts differ "
            f"from those of {pool.path} (same size, other content): {hint}"
        )


def _find_in_pool(selected: Records, pool: Records, path: Path) -> tuple[np.ndarray, int]:
    """The pool positions of the selected records, matched by value (key order aside), each
    pool record used once (identical records in pool order); and how many of the selected
    have identical twins in the pool (whose positions are then a guess)."""
    where: dict[str, list[int]] = {}
    for i, record in enumerate(pool):
        where.setdefault(_canonical(record), []).append(i)
    copies = {value: len(positions) for value, positions in where.items()}
    found, ambiguous = [], 0
    for k, record in enumerate(selected):
        value = _canonical(record)
        positions = where.get(value)
        if not positions:
            raise ValueError(f"{path}: record {k} is not in the pool: is --pool the pool it was selected from?")
        ambiguous += copies[value] > 1
        found.append(positions.pop(0))
    return np.asarray(found, dtype=np.int64), ambiguous


def _canonical(record: Any) -> str:
    # json_value: parquet's timestamps, decimals and bytes, as every JSON output writes them.
    return json.dumps(record, sort_keys=True, ensure_ascii=False, default=json_value)


def tokenizer_of(reports: Sequence[tuple[Path, dict | None]], given: str | None) -> str:
    """The tokenizer to count with: the one given, else the one the reports' selections were
    made with (all the same), else the default."""
    if given:
        return given
    used = {str(p): r["manifest"]["parameters"]["tokenizer"] for p, r in reports if _tokenizer(r)}
    kinds = set(used.values())
    if len(kinds) > 1:
        listed = ", ".join(f"{p}: {t}" for p, t in used.items())
        raise ValueError(
            f"the selections were made with different tokenizers ({listed}): their token counts "
            f"do not compare; give --tokenizer to count all of them with one"
        )
    return kinds.pop() if kinds else TOKENIZER.default


def _tokenizer(report: dict | None) -> bool:
    parameters = (report or {}).get("manifest", {}).get("parameters")
    return isinstance(parameters, dict) and bool(parameters.get("tokenizer"))


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
    # The texts are read again for each figure, never all held: the whole pool is one of
    # the sets described, and its texts as Python strings cost several times its bytes.
    texts = lambda: (pool.text(int(i)) for i in idx)  # noqa: E731
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
        "duplicate_texts": len(idx) - _distinct(pool.payloads("text"), idx),
        "near_duplicates": near_duplicates(texts()),
        "distinct_bigrams": distinct_bigrams(texts()),
        "roles": _roles(pool, idx),
        "first": [pool.text(int(i))[:100].replace("\n", " / ") for i in idx[:3]],
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


def distinct_bigrams(texts: Iterable[str]) -> float:
    """Distinct word bigrams over all word bigrams of the texts (distinct-2: 1 = none repeats).

    Bigrams are counted by their 64-bit hashes (two bigrams sharing one, about one chance in
    10^6 at 10 million distinct ones, would count as one), kept sorted and distinct in 16
    parts by their top bits and folded a million or more at a time, so that memory follows the
    distinct bigrams, 8 bytes each, and a fold copies one part of them."""
    parts = [np.empty(0, np.int64) for _ in range(_PARTS)]
    pending: list[np.ndarray] = []
    total = waiting = 0
    for text in texts:
        words = text.split()
        if len(words) < 2:
            continue
        pending.append(np.fromiter(map(hash, zip(words, words[1:])), np.int64, len(words) - 1))
        total += len(words) - 1
        waiting += len(words) - 1
        # Folds grow with what is kept, so that all of them cost a few passes over it.
        if waiting > 1 << 20 and waiting > sum(len(part) for part in parts) // 4:
            _fold(parts, pending)
            pending, waiting = [], 0
    _fold(parts, pending)
    return round(sum(len(part) for part in parts) / total, 4) if total else 0.0


_PARTS = 16


def _fold(parts: list[np.ndarray], pending: list[np.ndarray]) -> None:
    """Merge the pending hashes into the sorted, distinct parts (part = top 4 bits)."""
    if not pending:
        return
    chunk = np.concatenate(pending)
    which = (chunk >> 60) & (_PARTS - 1)
    for k in range(_PARTS):
        new = np.sort(chunk[which == k])
        # Two sorted runs: the stable sort (a merge sort) joins them in one linear pass.
        merged = np.concatenate([parts[k], new])
        merged.sort(kind="stable")
        keep = np.ones(len(merged), np.bool_)
        np.not_equal(merged[1:], merged[:-1], out=keep[1:])
        parts[k] = merged[keep]


def _distinct(payloads: Any, idx: np.ndarray) -> int:
    """How many distinct byte strings are at ``idx`` (by 16-byte BLAKE2 digests, not copies)."""
    digests = b"".join(hashlib.blake2b(payloads[int(i)], digest_size=16).digest() for i in idx)
    return len(np.unique(np.frombuffer(digests, dtype="V16"))) if len(idx) else 0


def near_duplicates(texts: Iterable[str], threshold: float = 0.8, num_perm: int = 64) -> int | None:
    """Records whose word 3-gram set has an estimated Jaccard similarity of at least
    ``threshold`` with an earlier record's: MinHash signatures (``datasketch``; None without
    it), and the LSH banding ``datasketch.MinHashLSH`` chooses for ``threshold``, a record
    counting when one of its bands equals that of an earlier record (what an LSH query before
    each insert finds). The bands are kept as 8-byte digests in one array rather than in the
    LSH's dictionaries, a few percent of their memory on a whole pool."""
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        return None
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    bands = bytearray()  # 8 bytes a band, not a bytes object each
    for text in texts:
        words = text.split()
        grams = {" ".join(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}
        signature = MinHash(num_perm=num_perm, seed=1)
        signature.update_batch([g.encode("utf-8") for g in grams])
        values = signature.hashvalues
        for start, stop in lsh.hashranges:
            bands += hashlib.blake2b(values[start:stop].tobytes(), digest_size=8).digest()
    if not bands:
        return 0
    keys = np.frombuffer(bands, np.uint64).reshape(-1, len(lsh.hashranges))
    earlier = np.zeros(len(keys), np.bool_)
    for column in keys.T:
        _, first, which = np.unique(column, return_index=True, return_inverse=True)
        earlier |= first[which] < np.arange(len(keys))
    return int(earlier.sum())


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


def overlap(selections: Sequence[Chosen], pool: Records | None = None) -> list[list[float]]:
    """Jaccard overlap of every pair of selections: of their positions; where a selection was
    found by value with identical twins in the pool (which twin is unknown), of the
    multisets of their records' values instead, so twins count as the same record."""
    by_value = pool is not None and any(c.by_value and c.ambiguous for c in selections)
    if by_value:
        ids: dict[str, int] = {}
        value_of = np.fromiter((ids.setdefault(_canonical(r), len(ids)) for r in pool), np.int64, len(pool))
        sets = [Counter(value_of[c.indices].tolist()) for c in selections]
    else:
        sets = [Counter(c.indices.tolist()) for c in selections]
    return [[sum((a & b).values()) / max(sum((a | b).values()), 1) for b in sets] for a in sets]


def compare(
    paths: Sequence[str],
    pool: Any,
    *,
    compressor_specs: Sequence[str] = ("zlib:9",),
    serializer: str = "text",
    tokenizer: str | None = None,
    by: str | None = None,
    seed: int = 0,
    schema: str | None = None,
    text_fields: Sequence[str] | None = None,
    progress: bool | None = None,
) -> dict:
    """Every selection described against ``pool``, and their overlaps.

    Tokens are counted with ``tokenizer``, by default the one the reports' selections were
    made with. A pool given as a path is read as the first report's selection read it (its
    schema or text fields, bad records skipped if it skipped some) unless ``schema`` or
    ``text_fields`` say otherwise.

    Parameters
    ----------
    paths : sequence of str
        Selections: reports (``zipkit select --report``) or output files of records.
    pool : str or Records
        The pool they were selected from.
    compressor_specs : sequence of str, default ('zlib:9',)
        The compressors each selection's ratio is measured under.
    serializer : str, default 'text'
        How records become bytes and are framed for the ratios.
    tokenizer : str, optional
        How tokens are counted; the reports' own when not given.
    by : str, optional
        A field whose mix to count in each selection (``source``).
    seed : int, default 0
        Seed of the random set drawn at each selection's tokens.
    schema : str, optional
        The schema to read a pool path by.
    text_fields : sequence of str, optional
        The fields to read a pool path's text from.
    progress : bool, optional
        Show a progress bar while a pool path is read; None: on at a terminal.

    Returns
    -------
    dict
        ``selections``: one row per selection (records, tokens, ratios and a random set's at
        equal tokens, duplicates, role and source mix, scores, a length histogram);
        ``whole_pool``: the same row for the pool; ``overlap``: the overlap of every pair;
        ``pool``: the pool's manifest entry; ``tokenizer``, ``serializer``, ``bins`` and
        every selection's ``lengths``.
    """
    for spec in compressor_specs:
        compressors.get(spec)  # a bad spec fails before any work
    reports = [(Path(p), read_report(p)) for p in paths]
    tokenizer = tokenizer_of(reports, tokenizer)
    if not isinstance(pool, Records):
        pool = read_records(pool, progress=progress, **_read_as(reports, schema, text_fields))
    chosen = [load_selection(p, pool, report) for p, report in reports]
    tokens = token_counts(pool, tokenizer)
    whole = Chosen("the whole pool", np.arange(len(pool)))
    rows = [describe(c, pool, tokens, compressor_specs, serializer, by, seed) for c in chosen]
    pool_row = describe(whole, pool, tokens, compressor_specs, serializer, by, seed)
    bins = np.histogram_bin_edges(np.concatenate([tokens[c.indices] for c in chosen]) if chosen else tokens, bins=12)
    for row, c in zip(rows, chosen):
        row["histogram"] = np.histogram(tokens[c.indices], bins=bins)[0].tolist()
        if c.ambiguous:
            row["ambiguous"] = c.ambiguous
    return {
        "pool": pool.describe(),
        "tokenizer": tokenizer,
        "serializer": serializer,
        "bins": bins.tolist(),
        "whole_pool": pool_row,
        "selections": rows,
        "overlap": overlap(chosen, pool),
        "overlap_by": "value" if any(c.by_value and c.ambiguous for c in chosen) else "position",
        "lengths": {row["name"]: tokens[c.indices].tolist() for row, c in zip(rows, chosen)},
    }


def _read_as(reports: Sequence[tuple[Path, dict | None]], schema: str | None, text_fields: Any) -> dict:
    """How to read the pool: as given, else as the first report's selection read it."""
    made_on = next((r["manifest"].get("pool") or {} for _, r in reports if r and r.get("manifest")), {})
    read: dict = {"on_error": "skip"} if made_on.get("skipped") else {}
    if schema or text_fields:
        return {**read, "schema": schema, "text_fields": list(text_fields) if text_fields else None}
    if made_on.get("text_fields"):
        read["text_fields"] = made_on["text_fields"]
    elif made_on.get("schema"):
        read["schema"] = made_on["schema"]
    return read


def plot(result: dict, path: str | Path) -> None:
    """Token-length histograms of the selections, one step line each, on a log scale."""
    from .results.plots import histograms

    histograms(
        result["lengths"],
        f"tokens per record ({result['tokenizer']})",
        f"Token lengths of the selections of {Path(result['pool']['path']).name}",
        path,
    )
