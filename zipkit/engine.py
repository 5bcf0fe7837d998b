"""Where a per-record pass runs: in this process (``engine="local"``) or on Ray
(``engine="ray"``), shard by shard.

On Ray, a Ray Data pipeline maps the pool's shards (a sharded pool's files; a one-file pool is
one shard) through a scorer that each worker builds once: for ZIP-FIT it holds the compressed
target set, for ``ratio`` the compressor; DSIR first maps every shard to its n-gram bucket
counts, which the driver sums. Every shard's scores are written as
``SCORES/shard-NNNNN.parquet`` (columns ``position`` within the shard, ``record`` number in its
file, and ``score``) through a
temporary file and a rename, so a killed job reruns only the shards it had not finished, and
the driver holds nothing but the scores. Positions are the local engine's: shard order, then
record order in the shard. A bad record fails the job with the shard and line named, or with
``on_error="skip"`` is left out and listed.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .errors import BadRecord, BadRecordError
from .formats import atomic_output
from .paths import is_sharded, shard_paths

ENGINES = ("local", "ray")
# Methods with a Ray pass: a record's score depends on the record and on fixed parameters (and,
# for DSIR, on the pool's n-gram counts, a first pass of its own).
RAY_METHODS = ("ratio", "zipfit", "length", "dsir")
_READ_OPTIONS = ("format", "schema", "text_fields", "on_error")


def check_engine(engine: str, method: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "ray" and method not in RAY_METHODS:
        raise ValueError(f"engine='ray' runs {', '.join(RAY_METHODS)}; {method} runs on engine='local' "
                         f"(its Ray pass is not written yet)")


def ray_scores(source: str | os.PathLike, method: str, *, scores_dir: str | os.PathLike | None = None,
               ray_address: str | None = None, cpus_per_task: float = 1, read: dict | None = None,
               **params: Any) -> "RayScores":
    """Every record's score under ``method`` on Ray, with where each record is (its shard
    and its number there) and the records skipped as bad; the driver never reads the pool.

    ``ray_address``: an existing cluster (``"auto"``, ``"ray://host:10001"``), else a local
    one started for the run. ``scores_dir``: where each shard's scores are kept (a rerun with
    the same folder skips the shards done); default a temporary folder removed at the end.
    ``read``: the options of :func:`zipkit.read_records` for each shard.
    """
    check_engine("ray", method)
    ray = _ray(ray_address)
    shards = shard_paths(source) if is_sharded(source) else [Path(source)]
    with _folder(scores_dir) as folder:
        _claim(folder, method, params, read or {}, shards)
        job = _Job(source, shards, str(folder), read or {}, cpus_per_task,
                   max(1, min(len(shards), int(ray.cluster_resources().get("CPU", 1) // cpus_per_task))))
        if method == "dsir":  # first a map and a reduce: the raw pool's n-gram counts
            params = _dsir_fitted(job, params)
        done = job.run("score", method, params)
        skipped = [BadRecord(*bad) for row in done for bad in row["skipped"]]
        return RayScores(str(source), [str(p) for p in shards], *_gather(folder, len(shards)), skipped)


@dataclass
class _Job:
    """One pass of a Ray job over the shards."""

    source: Any
    shards: list[Path]
    folder: str
    read: dict
    cpus_per_task: float
    workers: int

    def run(self, kind: str, method: str, params: dict) -> list[dict]:
        """Map every shard through the ``kind`` pass (``score``, or ``counts`` for DSIR's
        first pass); the rows each shard returned, in shard order."""
        import ray.data

        items = [{"shard": k, "path": str(p)} for k, p in enumerate(self.shards)]
        try:
            done = ray.data.from_items(items).map_batches(
                _ShardScorer, fn_constructor_kwargs={"kind": kind, "method": method, "params": params,
                                                     "read": self.read, "folder": self.folder},
                batch_size=1, concurrency=(1, self.workers), num_cpus=self.cpus_per_task).take_all()
        except Exception as error:  # noqa: BLE001 - say which job failed, with Ray's reason
            raise RuntimeError(f"the Ray job scoring {self.source} failed: {error}") from None
        done.sort(key=lambda row: row["shard"])
        failed = next((row["error"] for row in done if row["error"]), None)
        if failed:
            raise _rebuild(json.loads(failed))
        return done


def _claim(folder: Path, method: str, params: dict, read: dict, shards: list[Path]) -> None:
    """Mark the scores folder with what it holds; refuse one that holds another job's scores
    (other method, parameters, read options or shards), whose files would be taken as done."""
    import hashlib

    described = json.dumps({"method": method, "read": read, "shards": [[str(p), p.stat().st_size,
                                                                        p.stat().st_mtime_ns] for p in shards],
                            "params": {k: v for k, v in sorted(params.items()) if k not in ("progress", "workers")}},
                           default=repr, sort_keys=True)
    key = hashlib.blake2b(described.encode(), digest_size=12).hexdigest()
    mark = folder / "job.json"
    if mark.is_file():
        held = json.loads(mark.read_text()).get("key")
        if held != key:
            raise ValueError(f"scores folder {folder} holds the scores of another job (another method, "
                             f"parameters, read options or shards, or shards changed since): give another "
                             f"folder, or empty it to score afresh")
        return
    with atomic_output(mark) as out:
        out.write(json.dumps({"key": key, "method": method}).encode() + b"\n")


def _dsir_fitted(job: _Job, params: dict) -> dict:
    """DSIR's fit on Ray: each shard's bucket counts (a map), summed here (the reduce), the
    target's counts; the second pass then needs only the log ratio."""
    from .baselines.dsir import DSIR, NUM_BUCKETS

    if params.get("raw_fit_ngrams") is not None:
        raise ValueError("raw_fit_ngrams (fit the raw distribution on the pool's first n-grams) needs "
                         "the pool in order: use engine='local'")
    job.run("counts", "dsir", params)
    num_buckets = params.get("num_buckets", NUM_BUCKETS)
    raw_counts = sum((np.load(Path(job.folder) / f"counts-{k:05d}.npy") for k in range(len(job.shards))),
                     np.zeros(num_buckets, np.int64))
    estimator = DSIR(num_buckets, params.get("ngrams", 2), workers=1, progress=False)
    estimator.fit_counts(raw_counts, params["target"])
    return {"num_buckets": num_buckets, "ngrams": estimator.ngrams, "log_diff": estimator.log_diff}


@dataclass
class RayScores:
    """What a Ray pass returns: per record (in position order) its score, its shard and its
    number in that shard; the shards; the records skipped. ``describe()`` is the pool's
    entry of a manifest, as ``Records.describe`` gives it."""

    path: str
    shards: list[str]
    scores: np.ndarray
    shard_of: np.ndarray
    numbers: np.ndarray
    skipped: list[BadRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.scores)

    def describe(self) -> dict:
        return {"path": self.path, "format": "shards", "records": len(self), "shards": self.shards,
                "skipped": len(self.skipped)}


class _ShardScorer:
    """Built once per Ray worker: the method's scorer (the target compressed once)."""

    def __init__(self, kind: str, method: str, params: dict, read: dict, folder: str) -> None:
        self.kind = kind
        self.score = _per_shard_scorer(method, params) if kind == "score" else _dsir_counter(params)
        self.read, self.folder = read, Path(folder)

    def __call__(self, batch: dict) -> dict:
        from .records import read_records

        shard, path = int(batch["shard"][0]), str(batch["path"][0])
        out = self.folder / (f"shard-{shard:05d}.parquet" if self.kind == "score" else f"counts-{shard:05d}.npy")
        try:
            records = read_records(path, progress=False,
                                   **{k: v for k, v in self.read.items() if k in _READ_OPTIONS})
            if out.is_file():  # done by an earlier run of this job
                pass
            elif self.kind == "score":
                _write(out, self.score(records), records.numbers)
            else:
                _save_counts(out, self.score(records))
        except (ValueError, TypeError, OSError) as error:
            # Returned, not raised: Ray's wrapper would keep only the message of what we raise.
            return {"shard": [shard], "skipped": [[]], "error": [_describe(error)]}
        skipped = [[b.path, b.record, b.line, b.problem] for b in records.skipped]
        return {"shard": [shard], "skipped": [skipped], "error": [""]}


def _per_shard_scorer(method: str, params: dict) -> Callable[[Any], np.ndarray]:
    """A function of a shard's records to their scores, with its setup done once."""
    params = {k: v for k, v in params.items() if k not in ("progress", "workers")}
    if method == "zipfit":
        from .zipfit import shard_scorer

        return shard_scorer(**params)
    if method == "dsir":  # the second pass: log weights from the fitted log ratio
        from .baselines.dsir import DSIR

        estimator = DSIR(params["num_buckets"], params["ngrams"], workers=1, progress=False)
        estimator.log_diff = params["log_diff"]
        return lambda records: estimator.log_weights(list(estimator.features(records, "pool")))
    from .scoring import SCORERS

    from .lazy import parameters

    scorer = SCORERS[method]
    takes = parameters(scorer)
    extra = {k: v for k, v in {"workers": 1, "progress": False}.items() if k in takes}  # one task, one core
    return lambda records: scorer(records, **extra, **params)


def _dsir_counter(params: dict) -> Callable[[Any], np.ndarray]:
    from .baselines.dsir import DSIR, NUM_BUCKETS

    estimator = DSIR(params.get("num_buckets", NUM_BUCKETS), params.get("ngrams", 2), workers=1, progress=False)
    return estimator.pool_counts


def _save_counts(path: Path, counts: np.ndarray) -> None:
    with atomic_output(path) as out:
        np.save(out, counts)


def _write(path: Path, scores: np.ndarray, numbers: np.ndarray) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"position": np.arange(len(scores), dtype=np.int64), "record": numbers.astype(np.int64),
                      "score": np.asarray(scores, np.float64)})
    with atomic_output(path) as out:
        pq.write_table(table, out)


def _gather(folder: Path, shards: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores, shard of each record and its number there, from the shards' files in order."""
    import pyarrow.parquet as pq

    scores, shard_of, numbers = [], [], []
    for k in range(shards):
        table = pq.read_table(folder / f"shard-{k:05d}.parquet")
        positions = table.column("position").to_numpy()
        if not np.array_equal(positions, np.arange(len(positions))):
            raise ValueError(f"{folder}/shard-{k:05d}.parquet does not hold every position of its shard "
                             f"in order: delete it to score that shard again")
        scores.append(table.column("score").to_numpy())
        numbers.append(table.column("record").to_numpy())
        shard_of.append(np.full(len(positions), k, np.int32))
    if not scores:
        return np.zeros(0), np.zeros(0, np.int32), np.zeros(0, np.int64)
    return np.concatenate(scores), np.concatenate(shard_of), np.concatenate(numbers)


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
