"""What every executor shares: running a step over a pool's shards with a scores folder, so
a killed job reruns only the shards it had not finished, and gathering the shards' columns.

Every shard's columns are written as ``FOLDER/shard-NNNNN.parquet`` (``position`` within
the shard, ``record`` number in its file, then the step's columns; the step's own account,
such as a model's manifest, in the metadata) through a temporary file and a rename. The
folder sits under the scores folder, named for the step and keyed by
:func:`zipkit.identity.result_key` of its settings and the shards (path, size, mtime) with
their read options: another step, other settings or changed shards never take its files for
done. Positions are those of :func:`zipkit.read_records` on the whole pool: shard order,
then record order in the shard. A bad record fails the job with the shard and line named,
or with ``on_error="skip"`` is left out and listed.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import BadRecord, BadRecordError
from ..identity import files_identity, plain, result_key
from ..io import atomic_output, is_sharded, read_records, remote, shard_paths
from ..steps import Columns, Step

READ_OPTIONS = ("format", "schema", "text_fields", "on_error")


@dataclass
class Mapped:
    """A step's columns over a pool's shards: per record (in position order) its columns,
    its shard (None for a one-file pool) and its number in that shard; the files read; the
    records skipped; the step's account of itself (``info``). A step that is not per record
    has ``per_shard`` instead of columns. ``describe()`` is the pool's entry of a manifest,
    as ``Records.describe`` gives it. Executors build it; users read it.

    Parameters
    ----------
    path : str
        The pool as given (a file, a folder of shards, a glob or a URL).
    files : list of str
        The files read, in shard order.
    columns : dict of str to numpy.ndarray
        The step's columns, one value per record in position order.
    shard_of : numpy.ndarray or None
        Each record's shard; None for a one-file pool.
    numbers : numpy.ndarray
        Each record's number in its shard (its file).
    info : dict or None
        The step's account of itself (a model's manifest, ...).
    skipped : list of BadRecord, optional
        The records left out as bad (``on_error="skip"``).
    read : dict, optional
        The options the shards were read with.
    sharded : bool, default True
        Whether the pool is a set of shards (else one file).
    per_shard : list of numpy.ndarray, optional
        A step that is not per record: its result for each shard, instead of columns.
    counts : list of int, optional
        Each shard's records, skipped ones included.
    """

    path: str
    files: list[str]
    columns: Columns
    shard_of: np.ndarray | None
    numbers: np.ndarray
    info: dict | None
    skipped: list[BadRecord] = field(default_factory=list)
    read: dict = field(default_factory=dict)
    sharded: bool = True
    per_shard: list[np.ndarray] | None = None
    counts: list[int] = field(default_factory=list)  # each shard's records, skipped ones included

    @property
    def starts(self) -> np.ndarray:
        """Each shard's first index in the input: the records, skipped ones included, of the
        shards before it."""
        return np.cumsum([0, *self.counts[:-1]]).astype(np.int64)

    @property
    def index(self) -> np.ndarray:
        """Each record's index in the input: its shard's start plus its number there."""
        if self.shard_of is None:
            return self.numbers
        return self.starts[self.shard_of] + self.numbers

    @property
    def count(self) -> int:
        """The records of every shard, skipped ones included."""
        return int(sum(self.counts))

    @property
    def skipped_index(self) -> np.ndarray:
        """The input indices of the skipped records, in order."""
        starts = dict(zip(self.files, self.starts.tolist()))
        at = [starts.get(b.path, 0) + b.record for b in self.skipped if b.record is not None]
        return np.asarray(sorted(at), dtype=np.int64)

    @property
    def shards(self) -> list[str] | None:
        """The shard files, or None for a one-file pool."""
        return self.files if self.sharded else None

    def __len__(self) -> int:
        return len(self.numbers)

    def describe(self) -> dict:
        """The pool's entry of a manifest: path, format, records, schema, skipped rows."""
        facts = {
            "path": self.path,
            "format": "shards" if self.sharded else self.read.get("format"),
            "records": len(self),
            "schema": self.read.get("schema"),
            "text_fields": self.read.get("text_fields"),
            "skipped": len(self.skipped),
            "skipped_indices": self.skipped_index.tolist(),
        }
        return {**facts, "shards": self.files} if self.sharded else facts


class Executor:
    """Runs steps over shards. Subclasses say where (:meth:`run_shards`); this class keeps
    the scores folder and gathers what the shards wrote. It knows no method.

    Parameters
    ----------
    scores_dir : str or os.PathLike, optional
        Where each shard's scores are kept, so that a rerun with the same folder skips the
        shards done; a temporary folder, removed at the end, when not given.
    """

    name = "executor"

    def __init__(self, scores_dir: str | os.PathLike | None = None) -> None:
        self.scores_dir = None if scores_dir is None else str(scores_dir)

    def describe(self) -> dict:
        """The engine's entry of a manifest: its name and settings."""
        return {"name": self.name, "scores_dir": self.scores_dir}

    def run_shards(self, step: Step, tasks: list[dict], folder: Path, read: dict, progress: bool | None) -> list[dict]:
        """Map every task (``{"shard": k, "path": p}``) through ``step``; the row each shard
        returned (what it skipped, or the error it met), in any order.

        Parameters
        ----------
        step : Step
            What to run on each shard's records.
        tasks : list of dict
            One ``{"shard": k, "path": p}`` per shard.
        folder : pathlib.Path
            Where each shard's columns are written (``shard-NNNNN.parquet``).
        read : dict
            The options of :func:`zipkit.read_records` for each shard.
        progress : bool or None
            Show a progress bar; None for the default (on at a terminal).
        """
        raise NotImplementedError

    def map_records(self, step: Step, records: Any) -> tuple[Columns, dict | None]:
        """``step`` over records already in memory.

        Parameters
        ----------
        step : Step
            What to run.
        records : Records
            The records, as :func:`zipkit.read_records` gives them.
        """
        raise NotImplementedError

    def map_files(
        self, source: str | os.PathLike, step: Step, read: dict | None = None, progress: bool | None = None
    ) -> Mapped:
        """``step`` over every shard of ``source`` (a one-file pool is one shard), read shard by
        shard, never whole.

        Parameters
        ----------
        source : str or os.PathLike
            A file, a folder of shards, a glob or a URL.
        step : Step
            What to run on each shard's records.
        read : dict, optional
            The options of :func:`zipkit.read_records` (format, schema, text_fields, on_error).
        progress : bool, optional
            Show a progress bar; None for the default (on at a terminal).
        """
        sharded = is_sharded(source)
        shards = shard_paths(source) if sharded else [source if remote.is_url(source) else Path(source)]
        read = _first_shard_schema({k: v for k, v in (read or {}).items() if k in READ_OPTIONS}, shards)
        identity = files_identity(shards, read)
        key = result_key(step.name, step.params(), identity)
        with _folder(self.scores_dir, f"{step.name}-{key}") as folder:
            _say_what_it_holds(folder, {"step": step.name, "params": plain(step.params()), "pool": identity})
            tasks = [{"shard": k, "path": str(p)} for k, p in enumerate(shards)]
            rows = sorted(self.run_shards(step, tasks, folder, read, progress), key=lambda row: row["shard"])
            failed = next((row["error"] for row in rows if row["error"]), None)
            if failed:
                raise _rebuild(json.loads(failed))
            skipped = [BadRecord(*bad) for row in rows for bad in row["skipped"]]
            counts = [int(row["count"]) for row in rows]
            if not step.per_record:
                per_shard = [np.load(folder / f"shard-{k:05d}.npy") for k in range(len(shards))]
                return Mapped(
                    str(source),
                    [str(p) for p in shards],
                    {},
                    None,
                    np.zeros(0, np.int64),
                    None,
                    skipped,
                    read,
                    sharded,
                    per_shard,
                    counts,
                )
            columns, shard_of, numbers, info = _gather(folder, len(shards))
            return Mapped(
                str(source),
                [str(p) for p in shards],
                columns,
                shard_of if sharded else None,
                numbers,
                info,
                skipped,
                read=read,
                sharded=sharded,
                counts=counts,
            )


def _first_shard_schema(read: dict, shards: list[Path]) -> dict:
    """Every shard is read by the schema of the first, as :func:`zipkit.read_records` reads a
    sharded pool: name it, so that workers reading one shard each do not detect their own."""
    if len(shards) < 2 or read.get("schema") or read.get("text_fields"):
        return read
    return {**read, "schema": read_records(shards[0], progress=False, **read).schema}


class ShardTask:
    """Built once per worker: the step's function, its setup done once (the target
    compressed, the model loaded on its first shard); called once per shard."""

    def __init__(self, step: Step, read: dict, folder: str, workers: int | None) -> None:
        self.step, self.read, self.folder = step, read, Path(folder)
        self.run = step.build(workers)

    def __call__(self, batch: dict) -> dict:
        shard, path = int(batch["shard"][0]), str(batch["path"][0])
        suffix = "parquet" if self.step.per_record else "npy"
        out = self.folder / f"shard-{shard:05d}.{suffix}"
        try:
            records = read_records(path, progress=False, **self.read)
            if not out.is_file():  # else done by an earlier run of this job
                columns, info = self.run(records)
                if self.step.per_record:
                    _write(out, columns, records.numbers, info)
                else:
                    _save(out, next(iter(columns.values())))
        except (ValueError, TypeError, OSError) as error:
            # Returned, not raised: Ray's wrapper would keep only the message of what we raise.
            return {"shard": [shard], "skipped": [[]], "count": [0], "error": [_describe(error)]}
        skipped = [[b.path, b.record, b.line, b.problem] for b in records.skipped]
        return {"shard": [shard], "skipped": [skipped], "count": [records.count], "error": [""]}


def _save(path: Path, values: np.ndarray) -> None:
    with atomic_output(path) as out:
        np.save(out, values)


def _write(path: Path, columns: Columns, numbers: np.ndarray, info: dict | None) -> None:
    """One shard's columns as parquet, keyed by position; a column of vectors (embeddings)
    as fixed-size lists."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = {"position": pa.array(np.arange(len(numbers), dtype=np.int64)), "record": pa.array(numbers.astype(np.int64))}
    for name, values in columns.items():
        values = np.asarray(values)
        if values.ndim == 2:
            data[name] = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])
        else:
            data[name] = pa.array(values)
    table = pa.table(data)
    if info is not None:
        table = table.replace_schema_metadata({"zipkit": json.dumps(info, default=str)})
    with atomic_output(path) as out:
        pq.write_table(table, out)


def _gather(folder: Path, shards: int) -> tuple[dict, np.ndarray, np.ndarray, dict | None]:
    """Columns, shard of each record and its number there, from the shards' files in order;
    and the first shard's account of its step."""
    import pyarrow.parquet as pq

    parts: dict[str, list] = {}
    shard_of, numbers, info = [], [], None
    for k in range(shards):
        table = pq.read_table(folder / f"shard-{k:05d}.parquet")
        positions = table.column("position").to_numpy()
        if not np.array_equal(positions, np.arange(len(positions))):
            raise ValueError(
                f"{folder}/shard-{k:05d}.parquet does not hold every position of its shard "
                f"in order: delete it to score that shard again"
            )
        numbers.append(table.column("record").to_numpy())
        shard_of.append(np.full(len(positions), k, np.int32))
        for name in table.column_names[2:]:
            parts.setdefault(name, []).append(_values(table.column(name)))
        if info is None and table.schema.metadata and b"zipkit" in table.schema.metadata:
            info = json.loads(table.schema.metadata[b"zipkit"])
    columns = {name: np.concatenate([v for v in values if len(v)] or values[:1]) for name, values in parts.items()}
    if not numbers:
        return {}, np.zeros(0, np.int32), np.zeros(0, np.int64), info
    return columns, np.concatenate(shard_of), np.concatenate(numbers), info


def _values(column: Any) -> np.ndarray:
    import pyarrow as pa

    column = column.combine_chunks()
    if pa.types.is_fixed_size_list(column.type):
        return column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), column.type.list_size)
    return column.to_numpy(zero_copy_only=False)


@contextlib.contextmanager
def _folder(given: str | None, name: str) -> Iterator[Path]:
    """The step's folder under the scores folder given (kept), or a temporary one (removed)."""
    if given is not None:
        folder = Path(given) / name
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="zipkit-scores-") as folder:
        yield Path(folder)


def _say_what_it_holds(folder: Path, identity: dict) -> None:
    """``identity.json``: what the folder's scores are of (the step, its settings, the shards
    with their size and time), for a person looking at a scores folder; written atomically,
    the same by every run that shares the folder."""
    path = folder / "identity.json"
    if not path.exists():
        with atomic_output(path) as out:
            out.write(json.dumps(identity, indent=1, sort_keys=True).encode() + b"\n")


def _describe(error: Exception) -> str:
    """An error a task met, as JSON the driver raises again (a bad record keeps its place)."""
    if isinstance(error, BadRecordError):
        bad = error.bad
        return json.dumps({"bad": [bad.path, bad.record, bad.line, bad.problem], "message": str(error)})
    return json.dumps({"type": type(error).__name__, "message": str(error)})


def _rebuild(described: dict) -> Exception:
    if "bad" in described:
        error = BadRecordError(BadRecord(*described["bad"]))
        error.args = (described["message"],)  # with the task's hint (some records cannot be skipped)
        return error
    kinds = {"ValueError": ValueError, "TypeError": TypeError}
    return kinds.get(described["type"], OSError)(described["message"])
