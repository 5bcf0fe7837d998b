"""The baseline every comparison needs: a seeded random subset, optionally stratified."""

from __future__ import annotations

import json

import numpy as np

from ..manifest import Timings
from ..ranking import ranked_selection
from ..results import Selection
from .params import BUDGETS, FILTERS, SEED
from .spec import Method, Param


def random_keys(n: int, seed: int, strata: np.ndarray | None = None) -> np.ndarray:
    """Each of ``n`` records' place in a seeded random order (lower = earlier).

    With ``strata`` (a stratum id per record) the places interleave the strata in
    proportion to their sizes: the k-th record of a stratum of size n_s sits at
    (k + 0.5) / n_s, so any prefix of the order (a count or a token budget) draws from every
    stratum in proportion, within one record.
    """
    rng = np.random.default_rng(seed)
    place = np.empty(n, dtype=np.float64)
    place[rng.permutation(n)] = np.arange(n, dtype=np.float64)
    if strata is None:
        return place
    keys = np.empty(n, dtype=np.float64)
    for s in range(strata.max() + 1):
        members = np.flatnonzero(strata == s)
        order = members[np.argsort(place[members], kind="stable")]
        keys[order] = (np.arange(len(order)) + 0.5) / len(order)
    return keys


def strata_of(records, field: str) -> np.ndarray:
    """A stratum id per record: the distinct values of ``field``, numbered as met."""
    ids: dict[str, int] = {}
    out = np.empty(len(records), dtype=np.int64)
    for i in range(len(records)):
        record = records[i]
        if not isinstance(record, dict) or field not in record:
            raise ValueError(
                f"record {int(records.numbers[i])} of {records.path} has no field "
                f"{field!r} to stratify by: stratify by a field every record has, "
                f"or not at all"
            )
        value = json.dumps(record[field], sort_keys=True, ensure_ascii=False)
        out[i] = ids.setdefault(value, len(ids))
    return out


PARAMS = (
    *BUDGETS,
    *FILTERS,
    SEED,
    Param("stratify", None, str, "keep the field's proportions", metavar="FIELD", group="random, length"),
)


def select(pool, p: dict, timings: Timings) -> Selection:
    """A seeded random subset, optionally stratified by a field (:func:`random_keys`)."""
    with timings.stage("keys"):
        strata = None
        if p["stratify"] is not None:
            strata = strata_of(pool.need_records("stratify=FIELD (--stratify)"), p["stratify"])
        keys = random_keys(len(pool), p["seed"], strata)
    return ranked_selection(
        pool,
        p,
        keys=keys,
        descending=False,
        score="rank in a seeded random order (0 = first)",
        timings=timings,
    )


METHOD = Method(
    name="random",
    summary="a seeded random subset (--stratify keeps a field's mix)",
    params=PARAMS,
    column="rank",
    direction="lower",
    select=select,
)
