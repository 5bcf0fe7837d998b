"""The pool a method works on, and the executor its steps run on.

A :class:`Pool` holds the records in memory (a :class:`zipkit.io.Records`), or leaves them
in their files (a sharded pool on Ray, or one scored shard by shard): then the driver keeps
only what the steps computed (scores, token counts, positions) and reads records back from
their shards where a method needs some (ZIP's candidates, the selected records to write).
Methods see only this interface; which executor runs their steps is not theirs to know.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .budget import TokenCounts, token_counts
from .identity import files_identity, records_identity
from .io import Payloads, Records, read_records
from .io.records import positions_of
from .steps import Columns, Step


class _Positions(Step):
    """No column: where each record is (shard, number) and which were skipped."""

    name = "positions"

    def build(self, workers: int | None):
        return lambda records: ({}, None)


class Pool:
    """A pool as a method sees it: its records (or files) and the executor that maps steps over them."""

    def __init__(
        self,
        executor: Any,
        records: Records | None = None,
        source: str | os.PathLike | None = None,
        read: dict | None = None,
        progress: bool | None = None,
    ) -> None:
        self.executor, self._records, self.source = executor, records, source
        self.read, self.progress = read or {}, progress
        self._placed: Any = None  # the first map's account of the shards (numbers, skipped, files)
        self._tokens: dict[str, np.ndarray] = {}

    @classmethod
    def in_memory(cls, records: Records, executor: Any, progress: bool | None = None) -> "Pool":
        return cls(executor, records=records, progress=progress)

    @classmethod
    def in_files(
        cls, source: str | os.PathLike, executor: Any, read: dict | None = None, progress: bool | None = None
    ) -> "Pool":
        return cls(executor, source=source, read=read, progress=progress)

    # --- what a method asks of its pool ------------------------------------------------------
    @property
    def records(self) -> Records | None:
        """The records in memory, or None when they stay in their shards."""
        return self._records

    def whole(self) -> Records | None:
        """The records when they are in memory and this process computes (a method may then
        work on all of them at once, e.g. DSIR featurizing once for its fit and weights)."""
        return self._records if self.executor.name == "local" else None

    def need_records(self, why: str) -> Records:
        """The records in memory, or an error naming ``why`` and the local engine."""
        if self._records is None:
            raise ValueError(f"{why} needs the pool's records in memory: run it with engine='local' (--engine local)")
        return self._records

    def kept(self, positions: np.ndarray) -> "Pool":
        """The pool of the records at ``positions`` (a filter's survivors; a pool in memory):
        they keep their input indices, and the token counts made already come along instead
        of being counted again."""
        records = self.need_records("keeping some of the records")
        kept = Pool.in_memory(records.take(positions), self.executor, self.progress)
        kept._tokens = {tokenizer: counts[positions] for tokenizer, counts in self._tokens.items()}
        return kept

    def map(self, step: Step) -> tuple[Columns, dict | None]:
        """``step``'s columns for every record (in position order), and its account."""
        if self._records is not None:
            return self.executor.map_records(step, self._records)
        mapped = self.executor.map_files(self.source, step, self.read, self.progress)
        self._place(mapped)
        return mapped.columns, mapped.info

    def map_shards(self, step: Step) -> list[np.ndarray]:
        """``step``'s one array per shard (a map before the caller's reduce)."""
        if self._records is not None and self.executor.name == "local":
            return [next(iter(self.executor.map_records(step, self._records)[0].values()))]
        source, read = self.source, self.read
        if self._records is not None:  # in memory here, read again from their files by the workers
            source, read = self._records.path, getattr(self._records, "read_options", None)
            if read is None:
                raise ValueError(
                    f"engine={self.executor.name!r} reads the pool on its workers: give a file, a "
                    f"directory or a glob of shards, not {self._records.path}"
                )
        return self.executor.map_files(source, step, read, self.progress).per_shard

    def tokens(self, tokenizer: str) -> np.ndarray:
        """Tokens of each record's text (cached per tokenizer)."""
        if tokenizer not in self._tokens:
            if self._records is not None and self.executor.name == "local":
                self._tokens[tokenizer] = token_counts(self._records, tokenizer)
            else:
                self._tokens[tokenizer] = self.map(TokenCounts(tokenizer))[0]["tokens"]
        return self._tokens[tokenizer]

    def payloads_at(self, positions: np.ndarray, serializer: str) -> Payloads:
        """The bytes of the records at ``positions`` (in that order) by ``serializer``."""
        return self.take(positions).payloads(serializer)

    def take(self, positions: np.ndarray) -> Records:
        """The records at ``positions``, in that order; from their shards, one shard at a
        time, when they are not in memory."""
        positions = np.asarray(positions, dtype=np.int64)
        if self._records is not None:
            return self._records.take(positions)
        placed = self._placement()
        parts, order = [], []
        for k, shard in enumerate(placed.files):
            here = positions[placed.shard_of[positions] == k] if placed.shard_of is not None else positions
            if not len(here):
                continue
            records = read_records(shard, progress=False, **placed.read)
            start = int(np.searchsorted(placed.shard_of, k)) if placed.shard_of is not None else 0
            local = here - start
            if not np.array_equal(records.numbers[local], placed.numbers[here]):
                raise RuntimeError(
                    f"{shard} changed while the job ran (its records are not those scored): run it again"
                )
            parts.append(records.take(local))
            order.append(here)
        if not parts:
            raise ValueError("no record positions to take")
        taken = Records.concat(parts, str(self.source)) if len(parts) > 1 else parts[0]
        # The parts hold the positions shard by shard: back to the order asked for, with the
        # input indices of the whole pool (the parts alone do not know the other shards).
        taken = taken.take(_reorder(np.concatenate(order), positions))
        taken._index, taken.count = placed.index[positions], placed.count
        return taken

    # --- facts ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._records) if self._records is not None else len(self._placement().numbers)

    @property
    def index(self) -> np.ndarray:
        """Each record's index in the user's input (``Records.index``): what selections and
        scores report, skipped records counted."""
        return self._records.index if self._records is not None else self._placement().index

    def positions_of(self, indices: Any, what: str = "indices") -> np.ndarray:
        """The positions of the records at input ``indices`` (``Records.positions_of``)."""
        if self._records is not None:
            return self._records.positions_of(indices, what)
        placed = self._placement()
        return positions_of(placed.index, placed.count, placed.skipped_index, indices, what)

    @property
    def numbers(self) -> np.ndarray:
        return self._records.numbers if self._records is not None else self._placement().numbers

    @property
    def shard_of(self) -> np.ndarray | None:
        return self._records.shard_of if self._records is not None else self._placement().shard_of

    @property
    def skipped(self) -> list:
        return self._records.skipped if self._records is not None else self._placement().skipped

    def describe(self) -> dict:
        """The pool's entry of a manifest."""
        return self._records.describe() if self._records is not None else self._placement().describe()

    def identity(self, serializer: str = "text") -> dict:
        """The pool's identity (:mod:`zipkit.identity`): the bytes a method reads, or the
        files and how they are read."""
        if self._records is not None:
            return records_identity(self._records, serializer)
        return files_identity(self._placement().files, self._placement().read)

    def _place(self, mapped: Any) -> None:
        if self._placed is None:
            self._placed = mapped

    def _placement(self) -> Any:
        if self._placed is None:
            self._place(self.executor.map_files(self.source, _Positions(), self.read, self.progress))
        return self._placed


def _reorder(held: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Indices into ``held`` (distinct positions) that give ``wanted``'s order."""
    index = {int(p): k for k, p in enumerate(held)}
    return np.fromiter((index[int(p)] for p in wanted), dtype=np.int64, count=len(wanted))


__all__ = ["Pool"]
