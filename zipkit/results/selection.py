"""``Selection``: what :func:`zipkit.select` returns."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from ..io import atomic_output


@dataclass
class Selection:
    """What a selection method returns.

    ``indices``: int64 indices of the records in the user's input, in selection order, never
    repeated: row numbers of the file, the ``datasets.Dataset`` or the shards one after
    another, with records skipped as bad counted (the manifest's ``pool.skipped_indices``
    lists those), so ``dataset.select(selection.indices)`` gives the selected rows.
    ``scores``: float64, aligned with ``indices``: the score the method ranked each pick by.
    ``manifest``: JSON-serializable record of the run (method, every parameter, compressor,
    serializer, library versions, timings), with the keys a :class:`Scores` manifest has.
    """

    indices: np.ndarray
    scores: np.ndarray
    manifest: dict

    def report(self) -> dict:
        return {"indices": self.indices.tolist(), "scores": self.scores.tolist(), "manifest": self.manifest}

    def write_report(self, path: str | os.PathLike) -> None:
        with atomic_output(path) as out:
            out.write(json.dumps(self.report(), indent=1).encode() + b"\n")
