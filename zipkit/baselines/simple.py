"""The two baselines every comparison needs: a seeded random subset and the longest
(or shortest) records. Length is also the sanity check that a compression score is more
than a proxy for length."""
from __future__ import annotations

import json

import numpy as np

from ..budget import token_counts
from ..engine import remote_pass
from ..manifest import Timings
from ..ranking import ranked_selection
from ..io import Records
from ..selection import Selection


def random_keys(records: Records, seed: int = 0, stratify: str | None = None) -> np.ndarray:
    """Each record's place in a seeded random order (lower = earlier).

    With ``stratify=FIELD`` the places interleave the field's values in proportion to how
    often they occur: the k-th record of a stratum of size n_s sits at (k + 0.5) / n_s, so
    any prefix of the order (a count or a token budget) draws from every stratum in
    proportion, within one record.
    """
    rng = np.random.default_rng(seed)
    place = np.empty(len(records), dtype=np.float64)
    place[rng.permutation(len(records))] = np.arange(len(records), dtype=np.float64)
    if stratify is None:
        return place
    strata = _strata(records, stratify)
    keys = np.empty(len(records), dtype=np.float64)
    for s in range(strata.max() + 1):
        members = np.flatnonzero(strata == s)
        order = members[np.argsort(place[members], kind="stable")]
        keys[order] = (np.arange(len(order)) + 0.5) / len(order)
    return keys


def _strata(records: Records, field: str) -> np.ndarray:
    ids: dict[str, int] = {}
    out = np.empty(len(records), dtype=np.int64)
    for i in range(len(records)):
        record = records[i]
        if not isinstance(record, dict) or field not in record:
            raise ValueError(f"record {int(records.numbers[i])} of {records.path} has no field "
                             f"{field!r} to stratify by: stratify by a field every record has, "
                             f"or not at all")
        value = json.dumps(record[field], sort_keys=True, ensure_ascii=False)
        out[i] = ids.setdefault(value, len(ids))
    return out


def select_random(records: Records, *, budget: int | None = None, budget_tokens: int | None = None,
                  tokenizer: str = "whitespace", seed: int = 0,
                  stratify: str | None = None) -> Selection:
    """A seeded random subset, optionally stratified by a field (``random_keys``)."""
    timings = Timings()
    with timings.stage("keys"):
        keys = random_keys(records, seed, stratify)
    return ranked_selection(records, method="random", keys=keys, descending=False,
                            params=dict(seed=seed, stratify=stratify), budget=budget,
                            score="rank in a seeded random order (0 = first)",
                            budget_tokens=budget_tokens, tokenizer=tokenizer, timings=timings)


def length_scores(records: Records, tokenizer: str = "whitespace") -> np.ndarray:
    """Tokens of each record's text, as float64 (``budget.token_counts``)."""
    return token_counts(records, tokenizer).astype(np.float64)


def select_length(records: Records, *, budget: int | None = None, budget_tokens: int | None = None,
                  tokenizer: str = "whitespace", longest: bool = True) -> Selection:
    """The longest records first (``longest=False``: the shortest), counted by ``tokenizer``."""
    timings = Timings()
    with timings.stage("lengths"):
        done = remote_pass(records, "length", {"tokenizer": tokenizer})
        keys = done.columns["length"] if done else length_scores(records, tokenizer)
    return ranked_selection(records, method="length", keys=keys, descending=longest,
                            params=dict(longest=longest), budget=budget,
                            score=f"tokens ({tokenizer})",
                            budget_tokens=budget_tokens, tokenizer=tokenizer, timings=timings)
