"""Where a per-record pass runs: shard by shard in this process (``engine="local"``) or on
Ray (``engine="ray"``). The passes themselves are in :mod:`zipkit.passes`.

A pool's shards (a sharded pool's files; a one-file pool is one shard) are mapped through a
pass that each worker builds once: for ZIP-FIT it holds the compressed target set, for the
model passes the loaded model. On Ray, a Ray Data pipeline spreads the shards over the
cluster's workers; locally they are scored one after another, each with every core, so only
one shard's records are in memory at a time. DSIR first maps every shard to its n-gram
bucket counts, which the driver sums.

Every shard's columns are written as ``SCORES/shard-NNNNN.parquet`` (``position`` within
the shard, ``record`` number in its file, then the pass's columns; the pass's own account,
such as the model manifest, in the metadata) through a temporary file and a rename, so a
killed job reruns only the shards it had not finished, and the driver holds nothing but the
scores. Positions are those of :func:`zipkit.read_records` on the whole pool: shard order,
then record order in the shard. A bad record fails the job with the shard and line named,
or with ``on_error="skip"`` is left out and listed.

Inside :func:`zipkit.select`, the engine in use (:func:`using`) decides where the method's
per-record pass runs (:func:`remote_pass`); the rest of the method runs here.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from . import passes
from .errors import BadRecord, BadRecordError
from .io import atomic_output
from .io import is_sharded, shard_paths
from .progress import bar

ENGINES = ("local", "ray")
READ_OPTIONS = ("format", "schema", "text_fields", "on_error")


@dataclass(frozen=True)
class Engine:
    """Where per-record passes run, and with what. ``ray_address``: an existing cluster
    (``"auto"``, ``"ray://host:10001"``), else a local one started for the run;
    ``cpus_per_task``/``gpus_per_task``: what each Ray worker holds (GPUs for the model
    passes); ``scores_dir``: where each shard's scores are kept, so that a rerun with the
    same folder skips the shards done (default: a temporary folder, removed at the end)."""

    name: str = "local"
    ray_address: str | None = None
    cpus_per_task: float = 1
    gpus_per_task: float = 0
    scores_dir: str | None = None

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {self.name!r}")
        if not self.cpus_per_task > 0 or not self.gpus_per_task >= 0:
            raise ValueError(f"CPUs per task must be > 0 and GPUs per task >= 0, got {self.cpus_per_task} "
                             f"and {self.gpus_per_task}")

    def describe(self) -> dict:
        return asdict(self)


def engine_of(engine: "str | Engine | None") -> Engine:
    return engine if isinstance(engine, Engine) else Engine(engine or "local")


_current: contextvars.ContextVar[Engine] = contextvars.ContextVar("zipkit_engine", default=Engine())


@contextlib.contextmanager
def using(engine: Engine) -> Iterator[Engine]:
    """Run the per-record passes of what is called inside on ``engine``."""
    token = _current.set(engine)
    try:
        yield engine
    finally:
        _current.reset(token)


def remote_pass(records: Any, kind: str, params: dict) -> "ShardScores | None":
    """The ``kind`` pass over ``records`` on the engine in use, or None when that is this
    process (the caller computes it as it always has). The records must have been read from
    files: the workers read them again, shard by shard, with the same options."""
    engine = _current.get()
    if engine.name == "local":
        return None
    read = getattr(records, "read_options", None)
    if read is None:
        raise ValueError(f"engine={engine.name!r} reads the pool on its workers: give a file, a directory "
                         f"or a glob of shards, not {records.path}")
    done = shard_scores(records.path, kind, params, engine, read)
    same_shards = (done.shard_of is None and records.shard_of is None) or np.array_equal(done.shard_of, records.shard_of)
    if not (np.array_equal(done.numbers, records.numbers) and same_shards):
        raise RuntimeError(f"the {engine.name} engine read other records from {records.path} than this "
                           f"process did (files changed while the job ran?): run it again")
    return done


def shard_scores(source: str | os.PathLike, kind: str, params: dict, engine: "Engine | str | None" = None,
                 read: dict | None = None) -> "ShardScores":
    """The ``kind`` pass (:mod:`zipkit.passes`) over every shard of ``source`` on ``engine``:
    each record's columns, where it is (its shard and its number there) and the records
    skipped as bad. The pool is read shard by shard, never whole. ``read``: the options of
    :func:`zipkit.read_records`."""
    engine = engine_of(engine)
    shards = shard_paths(source) if is_sharded(source) else [Path(source)]
    read = _first_shard_schema({k: v for k, v in (read or {}).items() if k in READ_OPTIONS}, shards)
    if kind not in passes.MODEL_PASSES + ("dsir",):
        passes.build(kind, params, 1)  # bad parameters fail here, before any worker starts
    with _folder(engine.scores_dir) as folder:
        _claim(folder, kind, params, read, shards)
        job = _Job(source, shards, folder, read, engine)
        if kind == "dsir":  # first a map and a reduce: the raw pool's n-gram counts
            params = _dsir_fitted(job, params)
        rows = job.run(kind, params)
        skipped = [BadRecord(*bad) for row in rows for bad in row["skipped"]]
        columns, shard_of, numbers, info = _gather(folder, len(shards))
        sharded = is_sharded(source)
        return ShardScores(str(source), [str(p) for p in shards], columns, shard_of if sharded else None, numbers,
                           info, skipped, read=read, sharded=sharded)


def ray_scores(source: str | os.PathLike, method: str, *, scores_dir: str | os.PathLike | None = None,
               ray_address: str | None = None, cpus_per_task: float = 1, gpus_per_task: float = 0,
               read: dict | None = None, **params: Any) -> "ShardScores":
    """A scoring method's pass on Ray (:func:`shard_scores`); ``.scores`` is its score."""
    engine = Engine("ray", ray_address, cpus_per_task, gpus_per_task, None if scores_dir is None else str(scores_dir))
    return shard_scores(source, method, params, engine, read).scored_by(method)


@dataclass
class ShardScores:
    """What a sharded pass returns: per record (in position order) its columns, its shard
    (None for a one-file pool) and its number in that shard; the files read; the records
    skipped; the pass's account of itself (``info``). ``describe()`` is the pool's entry of a
    manifest, as ``Records.describe`` gives it."""

    path: str
    files: list[str]
    columns: dict[str, np.ndarray]
    shard_of: np.ndarray | None
    numbers: np.ndarray
    info: dict | None
    skipped: list[BadRecord] = field(default_factory=list)
    read: dict = field(default_factory=dict)
    sharded: bool = True
    method: str | None = None

    @property
    def shards(self) -> list[str] | None:
        return self.files if self.sharded else None

    def __len__(self) -> int:
        return len(self.numbers)

    def scored_by(self, method: str) -> "ShardScores":
        self.method = method
        return self

    @property
    def scores(self) -> np.ndarray:
        """The method's score (``passes.SCORE_COLUMN``)."""
        return self.columns[passes.SCORE_COLUMN[self.method]]

    def describe(self) -> dict:
        facts = {"path": self.path, "format": "shards" if self.sharded else self.read.get("format"),
                 "records": len(self), "schema": self.read.get("schema"), "text_fields": self.read.get("text_fields"),
                 "skipped": len(self.skipped)}
        return {**facts, "shards": self.files} if self.sharded else facts


@dataclass
class _Job:
    """One pass of a job over the shards, on its engine."""

    source: Any
    shards: list[Path]
    folder: Path
    read: dict
    engine: Engine

    def run(self, kind: str, params: dict) -> list[dict]:
        """Map every shard through the ``kind`` pass; the row each shard returned, in shard
        order (what it skipped, or the error it met)."""
        rows = self._on_ray(kind, params) if self.engine.name == "ray" else self._here(kind, params)
        failed = next((row["error"] for row in rows if row["error"]), None)
        if failed:
            raise _rebuild(json.loads(failed))
        return rows

    def _here(self, kind: str, params: dict) -> list[dict]:
        """Shard after shard in this process, each with every core; stops at a failed one."""
        scorer = _ShardScorer(kind, params, self.read, str(self.folder), workers=None)
        rows = []
        with bar(len(self.shards), f"{kind}: shards", "shard", params.get("progress")) as pbar:
            for k, path in enumerate(self.shards):
                done = scorer({"shard": [k], "path": [str(path)]})
                rows.append({name: values[0] for name, values in done.items()})
                pbar.update(1)
                if rows[-1]["error"]:
                    break
        return rows

    def _on_ray(self, kind: str, params: dict) -> list[dict]:
        ray = _ray(self.engine.ray_address)
        import ray.data

        hosts = len(_hosts(ray)) if self.engine.scores_dir is None else 1
        if hosts > 1:
            raise ValueError(f"the Ray cluster spans {hosts} machines: workers write each shard's "
                             f"scores to --scores-dir (scores_dir=), which must be a folder every machine "
                             f"mounts (as the shards must be); give one")
        resources = ray.cluster_resources()
        workers = int(resources.get("CPU", 1) // self.engine.cpus_per_task)
        if self.engine.gpus_per_task and kind in passes.MODEL_PASSES:
            workers = min(workers, int(resources.get("GPU", 0) // self.engine.gpus_per_task))
            if workers < 1:
                raise ValueError(f"the Ray cluster has {resources.get('GPU', 0):g} GPUs, fewer than the "
                                 f"{self.engine.gpus_per_task:g} a task asks for")
        items = [{"shard": k, "path": str(p)} for k, p in enumerate(self.shards)]
        gpus = self.engine.gpus_per_task if kind in passes.MODEL_PASSES else 0
        try:
            rows = ray.data.from_items(items).map_batches(
                _ShardScorer, fn_constructor_kwargs={"kind": kind, "params": params, "read": self.read,
                                                     "folder": str(self.folder),
                                                     "workers": max(1, int(self.engine.cpus_per_task))},
                batch_size=1, concurrency=(1, max(1, min(len(self.shards), workers))),
                num_cpus=self.engine.cpus_per_task, num_gpus=gpus).take_all()
        except Exception as error:  # noqa: BLE001 - say which job failed, with Ray's reason
            raise RuntimeError(f"the Ray job scoring {self.source} failed: {error}") from None
        return sorted(rows, key=lambda row: row["shard"])


def _first_shard_schema(read: dict, shards: list[Path]) -> dict:
    """Every shard is read by the schema of the first, as :func:`zipkit.read_records` reads a
    sharded pool: name it, so that workers reading one shard each do not detect their own."""
    if len(shards) < 2 or read.get("schema") or read.get("text_fields"):
        return read
    from .io import read_records

    return {**read, "schema": read_records(shards[0], progress=False, **read).schema}


def _claim(folder: Path, kind: str, params: dict, read: dict, shards: list[Path]) -> None:
    """Mark the scores folder with what it holds; refuse one that holds another job's scores
    (other pass, parameters, read options or shards), whose files would be taken as done."""
    import hashlib

    described = json.dumps({"method": kind, "read": read, "shards": [[str(p), p.stat().st_size,
                                                                      p.stat().st_mtime_ns] for p in shards],
                            "params": {k: v for k, v in sorted(params.items()) if k not in passes.HOW}},
                           default=_identity, sort_keys=True)
    key = hashlib.blake2b(described.encode(), digest_size=12).hexdigest()
    mark = folder / "job.json"
    if mark.is_file():
        if json.loads(mark.read_text()).get("key") != key:
            raise ValueError(f"scores folder {folder} holds the scores of another job (another method, "
                             f"parameters, read options or shards, or shards changed since): give another "
                             f"folder, or empty it to score afresh")
        return
    with atomic_output(mark) as out:
        out.write(json.dumps({"key": key, "method": kind}).encode() + b"\n")


def _identity(value: Any) -> Any:
    """A parameter JSON cannot hold, as what identifies it from one run to the next (a target
    read from a file by its texts, not by where it sits in memory)."""
    from .io import Records

    if isinstance(value, Records):
        return {"pool": value.describe(), "texts": value.payloads("text").digest()}
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    return repr(value)


def _dsir_fitted(job: _Job, params: dict) -> dict:
    """DSIR's fit, sharded: each shard's bucket counts (a map), summed here (the reduce),
    and the target's counts; the second pass then needs only the log ratio."""
    from .baselines.dsir import DSIR, NUM_BUCKETS

    if params.get("raw_fit_ngrams") is not None:
        raise ValueError("raw_fit_ngrams (fit the raw distribution on the pool's first n-grams) needs "
                         "the pool in one piece, in order: read it whole (engine='local' on one file)")
    job.run("dsir_counts", params)
    num_buckets = params.get("num_buckets") or NUM_BUCKETS
    raw_counts = sum((np.load(job.folder / f"counts-{k:05d}.npy") for k in range(len(job.shards))),
                     np.zeros(num_buckets, np.int64))
    estimator = DSIR(num_buckets, params.get("ngrams", 2), workers=1, progress=False)
    estimator.fit_counts(raw_counts, params["target"])
    return {"num_buckets": num_buckets, "ngrams": estimator.ngrams, "log_diff": estimator.log_diff}


class _ShardScorer:
    """Built once per worker: the pass, its setup done once (the target compressed, the
    model loaded on its first shard); called once per shard."""

    def __init__(self, kind: str, params: dict, read: dict, folder: str, workers: int | None) -> None:
        self.kind, self.read, self.folder = kind, read, Path(folder)
        self.run = passes.build(kind, params, workers)

    def __call__(self, batch: dict) -> dict:
        from .io import read_records

        shard, path = int(batch["shard"][0]), str(batch["path"][0])
        out = self.folder / (f"counts-{shard:05d}.npy" if self.kind == "dsir_counts" else f"shard-{shard:05d}.parquet")
        try:
            records = read_records(path, progress=False, **self.read)
            if not out.is_file():  # else done by an earlier run of this job
                columns, info = self.run(records)
                if self.kind == "dsir_counts":
                    _save_counts(out, columns["counts"])
                else:
                    _write(out, columns, records.numbers, info)
        except (ValueError, TypeError, OSError) as error:
            # Returned, not raised: Ray's wrapper would keep only the message of what we raise.
            return {"shard": [shard], "skipped": [[]], "error": [_describe(error)]}
        skipped = [[b.path, b.record, b.line, b.problem] for b in records.skipped]
        return {"shard": [shard], "skipped": [skipped], "error": [""]}


def _save_counts(path: Path, counts: np.ndarray) -> None:
    with atomic_output(path) as out:
        np.save(out, counts)


def _write(path: Path, columns: dict[str, np.ndarray], numbers: np.ndarray, info: dict | None) -> None:
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
    and the first shard's account of its pass."""
    import pyarrow.parquet as pq

    parts: dict[str, list] = {}
    shard_of, numbers, info = [], [], None
    for k in range(shards):
        table = pq.read_table(folder / f"shard-{k:05d}.parquet")
        positions = table.column("position").to_numpy()
        if not np.array_equal(positions, np.arange(len(positions))):
            raise ValueError(f"{folder}/shard-{k:05d}.parquet does not hold every position of its shard "
                             f"in order: delete it to score that shard again")
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
def _folder(given: str | os.PathLike | None) -> Iterator[Path]:
    """The scores folder: the one given (kept), or a temporary one (removed)."""
    if given is not None:
        Path(given).mkdir(parents=True, exist_ok=True)
        yield Path(given)
        return
    with tempfile.TemporaryDirectory(prefix="zipkit-scores-") as folder:
        yield Path(folder)


def _ray(address: str | None) -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError("engine='ray' needs Ray: pip install 'zipkit[ray]'") from None
    import ray.data

    if not ray.is_initialized():
        import logging

        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                 ignore_reinit_error=True)
        ray.data.DataContext.get_current().enable_progress_bars = False
    return ray


def _hosts(ray: Any) -> set[str]:
    """The machines of the cluster's live nodes (nodes of one machine share its address)."""
    return {node["NodeManagerAddress"] for node in ray.nodes() if node.get("Alive")}


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
