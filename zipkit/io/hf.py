"""Hugging Face ``datasets`` the other way: a selection's rows, and a pool with its scores, as
datasets again (reading one is :func:`zipkit.read_records`).

Every index zipkit hands back is a row of the user's input (:class:`zipkit.io.Records`), so a
``datasets.Dataset`` gets its rows back with ``Dataset.select``, every column kept; an
``IterableDataset`` is streamed once more and only the selected rows are kept; any other source
(a path, a list) comes here read again by ``zipkit.read_records``, as :class:`Records`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np

DICTS = ("DatasetDict", "IterableDatasetDict")


def kind(source: Any) -> str | None:
    """``"dataset"``, ``"iterable"`` (a ``datasets.IterableDataset``) or None (not a dataset)."""
    module = type(source).__module__ or ""
    if not module.startswith("datasets"):
        return None
    name = type(source).__name__
    if name in DICTS:
        splits = ", ".join(source) or "none"
        raise TypeError(f"got a {name}; pass one split, e.g. ds['train'] (its splits: {splits})")
    return "iterable" if name == "IterableDataset" else "dataset"


# The files ``save_to_disk`` writes beside its Arrow files: a Dataset's, a DatasetDict's.
SAVED = {"dataset": ("state.json", "dataset_info.json"), "dict": ("dataset_dict.json",)}


def saved(path: Any) -> str | None:
    """``"dataset"`` or ``"dict"`` if ``path`` is a folder written by ``save_to_disk``."""
    try:
        folder = Path(path)
        if not folder.is_dir():
            return None
    except TypeError:
        return None
    for found, names in SAVED.items():
        if all((folder / name).is_file() for name in names):
            return found
    return None


def one_split(source: Any, split: str | None, where: str) -> Any:
    """``source`` itself, or its ``split`` when it is a DatasetDict (the split is needed)."""
    name = type(source).__name__
    if name in DICTS:
        splits = ", ".join(source) or "none"
        if split is None:
            raise ValueError(f"{where} holds the splits {splits}: choose the one to read (split=NAME)")
        if split not in source:
            raise ValueError(f"{where} has no split {split!r}; its splits: {splits}")
        return source[split]
    if split is not None:
        raise ValueError(f"{where} is one dataset, not a DatasetDict: it has no split {split!r} to choose")
    return source


def load_saved(path: Any, split: str | None) -> Any:
    """The dataset of a ``save_to_disk`` folder (memory-mapped, not read into memory), its
    ``split`` for a DatasetDict."""
    datasets = _datasets()
    return one_split(datasets.load_from_disk(str(path)), split, str(path))


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise ImportError("a Hugging Face dataset needs the datasets package: pip install 'zipkit[hf]'") from None
    return datasets


def _no_source(what: str) -> ValueError:
    return ValueError(
        f"{what}: this result does not know its input records (it was read from a report, or made from a pool "
        f"zipkit cannot reach again); pass them: .{what}(records)"
    )


def rows_at(source: Any, indices: np.ndarray) -> Iterator[dict]:
    """The input records at ``indices`` (rows of the input), in that order, as dicts."""
    if source is None:
        raise _no_source("records")
    indices = np.asarray(indices, dtype=np.int64)
    found = kind(source)
    if found == "dataset":
        yield from source.select(indices).with_format(None)
        return
    if found == "iterable":
        wanted = {int(i): k for k, i in enumerate(indices)}
        rows: list[Any] = [None] * len(indices)
        for row_number, row in enumerate(source):
            k = wanted.get(row_number)
            if k is not None:
                rows[k] = row
        missing = [int(indices[k]) for k, row in enumerate(rows) if row is None]
        if missing:
            raise ValueError(
                f"the IterableDataset gave fewer rows than when it was selected from: no row {missing[0]}; "
                f"stream the same dataset (the same shards, no shuffle) again"
            )
        yield from rows
        return
    for position in source.positions_of(indices):  # Records
        yield source[int(position)]


def selected_dataset(source: Any, indices: np.ndarray) -> Any:
    """A ``datasets.Dataset`` of the input records at ``indices``, in that order, every
    column kept (a Dataset's own ``select``; otherwise built from the records)."""
    if source is None:
        raise _no_source("to_dataset")
    indices = np.asarray(indices, dtype=np.int64)
    if kind(source) == "dataset":
        return source.select(indices)
    datasets = _datasets()
    features = getattr(source, "features", None) if kind(source) == "iterable" else None
    return datasets.Dataset.from_list(list(rows_at(source, indices)), features=features)


def with_scores(source: Any, name: str, values: np.ndarray, index: np.ndarray) -> Any:
    """The input as a dataset with a column ``name``: each row's score (``values`` of the
    rows ``index``), NaN for a row that has none (a record skipped as bad). A Dataset gets
    ``add_column``; an IterableDataset stays one, the column added as it streams; any other
    source becomes a Dataset of its records (a record skipped as bad, unreadable, left out)."""
    if source is None:
        raise _no_source("to_dataset")
    index = np.asarray(index, dtype=np.int64)
    if name in (getattr(source, "column_names", None) or []):
        raise ValueError(f"the dataset already has a column {name!r}; name the scores' column: to_dataset(name=...)")
    found = kind(source)
    if found == "dataset":
        if len(index) and index.max() >= len(source):
            raise ValueError(f"these scores reach row {index.max()}, past the dataset's {len(source):,} rows")
        column = np.full(len(source), np.nan)
        column[index] = values
        return source.add_column(name, column)
    by_row = dict(zip(index.tolist(), np.asarray(values, dtype=np.float64).tolist()))
    if found == "iterable":
        return source.map(lambda row, i: {name: by_row.get(i, float("nan"))}, with_indices=True)
    rows = ({**row, name: by_row.get(int(i), float("nan"))} for row, i in zip(source, source.index))  # Records
    return _datasets().Dataset.from_list(list(rows))
