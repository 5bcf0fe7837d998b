"""``Scores``: what :func:`zipkit.score` returns, one value per record with its direction."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..io import atomic_output, output_format

DIRECTIONS = ("lower", "higher")


@dataclass(eq=False)
class Scores(np.lib.mixins.NDArrayOperatorsMixin):
    """Per-record scores of a method.

    Where an array is expected, a ``Scores`` is its ``values``: ``np.asarray(scores)``,
    ``scores[positions]``, ``scores >= 0.5``, ``scores.max()``, iteration.

    Parameters
    ----------
    values : numpy.ndarray
        float64, one per record, in pool position order (the method's score column).
    column : str
        Its name.
    direction : str
        ``"lower"`` or ``"higher"``: which end the method prefers.
    manifest : dict
        The run, with the keys a selection's manifest has.
    columns : dict of str to numpy.ndarray, optional
        Every column the scoring produced (``values`` among them; the LM methods add the
        losses they come from).
    numbers : numpy.ndarray, optional
        Each record's number in its file (in its shard for a sharded pool).
    shard_of : numpy.ndarray, optional
        Each record's shard, for a sharded pool.
    index : numpy.ndarray, optional
        Each value's record's index in the user's input (its row; records skipped as bad are
        counted, so the rows the values skip are the skipped ones).
    source : optional
        What :func:`zipkit.score` was given: where :meth:`to_dataset` finds the rows again.
    """

    values: np.ndarray
    column: str
    direction: str
    manifest: dict
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    numbers: np.ndarray | None = None
    shard_of: np.ndarray | None = None
    index: np.ndarray | None = None
    # What zipkit.score was given: where to_dataset() finds the rows again.
    source: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {self.direction!r}")
        if not self.columns:
            self.columns = {self.column: self.values}

    def __len__(self) -> int:
        return len(self.values)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.values if dtype is None else self.values.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(x.values if isinstance(x, Scores) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __getitem__(self, key):
        return self.values[key]

    def __iter__(self):
        return iter(self.values)

    def __getattr__(self, name: str):
        # Only reached for names a Scores does not have: the array's (max, tolist, dtype...).
        values = self.__dict__.get("values")
        if values is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(values, name)

    def _table_columns(self) -> dict[str, np.ndarray]:
        n = len(self.values)
        columns = {"position": np.arange(n, dtype=np.int64) if self.index is None else self.index}
        if self.shard_of is not None:
            columns["shard"] = self.shard_of
        columns["record"] = np.arange(n, dtype=np.int64) if self.numbers is None else self.numbers
        return {**columns, **self.columns}

    def to_arrow(self):
        """A pyarrow Table: position (the record's index in the input), (shard,) record number,
        then every column; the manifest in the schema's metadata (key ``zipkit``)."""
        import pyarrow as pa

        table = pa.table(self._table_columns())
        return table.replace_schema_metadata({"zipkit": json.dumps(self.manifest, default=str)})

    def to_dataset(self, name: str | None = None, source: Any = None) -> Any:
        """The input as a ``datasets`` dataset with the scores as a column: a Dataset's
        ``add_column``, an IterableDataset's streamed ``map``, or a Dataset of the records of a file
        or list; NaN where a record was skipped as bad.

        Parameters
        ----------
        name : str, optional
            The column's name (default: the method's name).
        source : optional
            The input, for scores that do not know it.
        """
        from ..io.hf import with_scores
        from .selection import as_input

        index = np.arange(len(self.values), dtype=np.int64) if self.index is None else self.index
        name = name or self.manifest.get("method") or self.column
        return with_scores(as_input(self.source if source is None else source), name, self.values, index)

    def to_frame(self):
        """A pandas DataFrame of :meth:`to_arrow`'s columns."""
        return self.to_arrow().to_pandas()

    def write(self, path: str | os.PathLike) -> None:
        """One row per record in the format the suffix names (.parquet, .jsonl, .json array).
        A parquet file carries the manifest in its metadata; NaN is written as null in JSON.

        Parameters
        ----------
        path : str or os.PathLike
            The output file.
        """
        out_format = output_format(path)
        if out_format == "parquet":
            import pyarrow.parquet as pq

            with atomic_output(path) as out:
                pq.write_table(self.to_arrow(), out)
            return
        columns = self._table_columns()
        rows = (
            json.dumps(dict(zip(columns, _json_row(row)))).encode()
            for row in zip(*(np.asarray(c).tolist() for c in columns.values()))
        )
        with atomic_output(path) as out:
            if out_format == "jsonl":
                out.writelines(row + b"\n" for row in rows)
            else:
                out.write(b"[\n" + b",\n".join(rows) + b"\n]\n")


def _json_row(row: tuple) -> list:
    # An unscored record's NaN is written as null: JSON has no NaN.
    return [None if isinstance(v, float) and v != v else v for v in row]
