"""``Selection``: what :func:`zipkit.select` returns."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from ..io import write_json


@dataclass
class Selection:
    """What a selection method returns.

    Parameters
    ----------
    indices : numpy.ndarray
        int64 indices of the records in the user's input, in selection order, never
        repeated: row numbers of the file, the ``datasets.Dataset`` or the shards one after
        another, with records skipped as bad counted (the manifest's ``pool.skipped_indices``
        lists those), so ``dataset.select(selection.indices)`` gives the selected rows.
    scores : numpy.ndarray
        float64, aligned with ``indices``: the score the method ranked each pick by.
    manifest : dict
        JSON-serializable record of the run (method, every parameter, compressor,
        serializer, library versions, timings), with the keys a :class:`Scores` manifest has.
    source : optional
        What :func:`zipkit.select` was given (a path, a Dataset, a list, Records): where
        :meth:`records` and :meth:`to_dataset` find the selected rows again.
    """

    indices: np.ndarray
    scores: np.ndarray
    manifest: dict
    # What zipkit.select was given (a path, a Dataset, a list, Records): where records() and
    # to_dataset() find the selected rows again.
    source: Any = field(default=None, repr=False, compare=False)

    def records(self, source: Any = None) -> Iterator[dict]:
        """The selected input records themselves, in selection order: a Dataset's rows with
        every column, or the records of a file or list as read.

        Parameters
        ----------
        source : optional
            The input, for a selection that does not know it (one read from a report).
        """
        from ..io.hf import rows_at

        return rows_at(as_input(self.source if source is None else source), self.indices)

    def to_dataset(self, source: Any = None) -> Any:
        """The selected rows as a ``datasets.Dataset``, in selection order, every column kept
        (``Dataset.select`` on a Dataset; built from :meth:`records` otherwise).

        Parameters
        ----------
        source : optional
            The input, for a selection that does not know it (one read from a report).
        """
        from ..io.hf import selected_dataset

        return selected_dataset(as_input(self.source if source is None else source), self.indices)

    def report(self) -> dict:
        """The report ``zipkit select --report`` writes: indices, scores and the manifest."""
        return {"indices": self.indices.tolist(), "scores": self.scores.tolist(), "manifest": self.manifest}

    def write_report(self, path: str | os.PathLike) -> None:
        """Write :meth:`report` as JSON to ``path``, atomically.

        Parameters
        ----------
        path : str or os.PathLike
            The report's file.
        """
        write_json(path, self.report())


def as_input(source: Any) -> Any:
    """A result's input as :mod:`zipkit.io.hf` takes it: a dataset as it is, anything else
    (a path, a list) read again as ``zipkit.read_records`` read it for the result."""
    from ..io import read_records
    from ..io.hf import kind

    if source is None or kind(source) is not None:
        return source
    return read_records(source)
