"""Selection from a pool left in its shards (what ``select --engine ray`` does, here on the
local executor so that it runs without Ray): the driver keeps scores and positions, reads
back only the records a method needs, and selects exactly what the pool in memory gives.
ZIP reads back only the ``ceil(picks / k3) * k1`` records of lowest initial ratio, and the
cases below make that fewer than the pool, so the bound itself is what is tested."""

import numpy as np
import pytest
from helpers import alpaca, write_shards

import zipkit
from zipkit.api import open_pool
from zipkit.executors import LocalExecutor

RECORDS = alpaca(400, seed=9)
TARGET = [r["instruction"] for r in alpaca(8, seed=21)]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return write_shards(tmp_path_factory.mktemp("ooc") / "pool", RECORDS, 70)


def _left_in_files(shards):
    return open_pool(str(shards), LocalExecutor(), stream=True)


@pytest.mark.parametrize(
    "params",
    [
        dict(budget=12, k1=40, k2=12, k3=4),  # 3 rounds: 120 of 400 candidates
        dict(budget=10, k1=30, k2=10, k3=5, variant="official"),
        dict(budget_tokens=900, k1=25, k2=10, k3=3),  # rounds bounded by the smallest records
        dict(budget=9, k1=20, k2=6, k3=3, fine_context="selected"),
        dict(budget=8, k1=30, k2=8, k3=4, compressor="zstd:3"),
    ],
)
def test_zip_from_shards_reads_back_only_its_candidates_and_selects_the_same(shards, params, monkeypatch):
    whole = zipkit.select(zipkit.read_records(shards), method="zip", **params)
    pool = _left_in_files(shards)
    asked = []
    take = type(pool).take
    monkeypatch.setattr(
        type(pool), "take", lambda self, positions: asked.append(len(positions)) or take(self, positions)
    )
    out = zipkit.select(pool, method="zip", **params)
    assert out.indices.tolist() == whole.indices.tolist()
    assert np.array_equal(out.scores, whole.scores)
    assert out.manifest["candidates"] == asked[0] < len(RECORDS)
    assert whole.manifest["candidates"] == len(RECORDS)


@pytest.mark.parametrize(
    "method, params",
    [
        ("random", dict(budget=25, seed=3)),
        ("length", dict(budget_tokens=2000)),
        ("dsir", dict(budget=20, target=TARGET, min_tokens=3)),
        ("zipfit", dict(budget=15, target=TARGET)),
    ],
)
def test_ranked_methods_from_shards_select_as_from_memory(shards, method, params):
    whole = zipkit.select(zipkit.read_records(shards), method=method, **params)
    out = zipkit.select(_left_in_files(shards), method=method, **params)
    assert out.indices.tolist() == whole.indices.tolist()
    assert np.array_equal(out.scores, whole.scores)


def test_records_read_back_from_shards_are_the_selected_ones_in_order(shards):
    pool = _left_in_files(shards)
    positions = np.array([399, 3, 150, 70, 69, 0])
    taken = pool.take(positions)
    assert [taken[i] for i in range(len(taken))] == [RECORDS[i] for i in positions]


def test_what_needs_the_records_in_memory_says_so(shards):
    with pytest.raises(ValueError, match="dedup=True .* needs the pool's records in memory"):
        zipkit.select(_left_in_files(shards), method="zip", budget=5, dedup=True)
    with pytest.raises(ValueError, match="stratify=FIELD .* needs the pool's records in memory"):
        zipkit.select(_left_in_files(shards), method="random", budget=5, stratify="instruction")
