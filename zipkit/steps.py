"""A step: what a method computes from one shard's records, apart from where it runs.

A method (:mod:`zipkit.methods`) hands its steps to an executor (:mod:`zipkit.executors`),
which runs them over the records in memory or over a pool's shards, here or on Ray; neither
imports the other, and both import this module. A step is a small picklable object: its
fields are its settings, :meth:`Step.build` makes the function a worker calls once per shard
(paying the setup once: a compressor, a compressed target set, a loaded model), and
:meth:`Step.params` says which settings change what it computes (the key of its scores).

Every column a step computes from a shard equals what it computes on the whole pool,
restricted to the shard: a record's value never depends on the other records of its shard.
A step that is not ``per_record`` returns one array per shard instead (a map before the
method's reduce, such as DSIR's n-gram counts).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

Columns = dict[str, np.ndarray]
ShardFunction = Callable[[Any], "tuple[Columns, dict | None]"]

# Settings that say how a step is carried out, never what it computes.
HOW = ("workers", "progress")


@dataclasses.dataclass(frozen=True)
class Step:
    """Base of every step (subclasses are frozen dataclasses of their settings)."""

    # A name for progress bars and scores folders.
    name = "step"
    # One value (or vector) per record, or one array per shard.
    per_record = True
    # Whether the step runs a model: an executor gives it the GPUs it asks for.
    uses_gpu = False

    def params(self) -> dict:
        """The settings that change what the step computes."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in HOW}

    def build(self, workers: int | None) -> ShardFunction:
        """The function that computes the step on a batch of records (a shard's, or the pool's).

        It takes a :class:`zipkit.Records` and returns ``(columns, info)``: ``columns`` a dict
        of numpy arrays by name, one value per record in position order (for a step that is
        not per record, one array); ``info`` a dict of how it ran (a model's manifest) for the
        run's manifest, or None. ``pool.map(step)`` runs it on the executor and returns the
        same pair for the whole pool.

        Parameters
        ----------
        workers : int or None
            Cores the function may use; None for every core.
        """
        raise NotImplementedError
