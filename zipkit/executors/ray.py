"""The Ray executor: a Ray Data pipeline spreads a pool's shards over the cluster's workers,
each of which builds the step once (the target compressed, the model loaded) and writes
each shard's columns to the scores folder. The driver holds nothing but what the shards
wrote."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..steps import Columns, Step
from .base import Executor, ShardTask


class RayExecutor(Executor):
    """Runs each shard as a Ray task, on an existing cluster or a local one.

    Parameters
    ----------
    address : str, optional
        An existing cluster (``"auto"``, ``"ray://host:10001"``); a local one is started for
        the run when not given.
    cpus_per_task : float, default 1
        CPUs each Ray worker holds.
    gpus_per_task : float, default 0
        GPUs each Ray worker holds (for the steps that run a model).
    scores_dir : str or os.PathLike, optional
        Where each shard's scores are kept, so that a rerun with the same folder skips the
        shards done; a temporary folder, removed at the end, when not given. A cluster of
        several machines needs one they all mount.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        cpus_per_task: float = 1,
        gpus_per_task: float = 0,
        scores_dir: str | os.PathLike | None = None,
    ) -> None:
        super().__init__(scores_dir)
        for what, value, least in (
            ("cpus_per_task (--ray-cpus)", cpus_per_task, "> 0"),
            ("gpus_per_task (--ray-gpus)", gpus_per_task, ">= 0"),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (value > 0 if least == "> 0" else value >= 0)
            ):
                raise ValueError(f"{what} must be a number {least}, got {value!r}")
        self.address, self.cpus_per_task, self.gpus_per_task = address, cpus_per_task, gpus_per_task

    def describe(self) -> dict:
        """The engine's entry of a manifest: its name, address and resources per task."""
        return {
            "name": self.name,
            "ray_address": self.address,
            "cpus_per_task": self.cpus_per_task,
            "gpus_per_task": self.gpus_per_task,
            "scores_dir": self.scores_dir,
        }

    def map_records(self, step: Step, records: Any) -> tuple[Columns, dict | None]:
        """``step`` over records read from files: they are scored again from those files, on
        the workers, who must read the same records.

        Parameters
        ----------
        step : Step
            What to run.
        records : Records
            Records that :func:`zipkit.read_records` read from a file, a folder or a glob.
        """
        read = getattr(records, "read_options", None)
        if read is None:
            raise ValueError(
                f"engine='ray' reads the pool on its workers: give a file, a directory "
                f"or a glob of shards, not {records.path}"
            )
        done = self.map_files(records.path, step, read)
        same_shards = (done.shard_of is None and records.shard_of is None) or np.array_equal(
            done.shard_of, records.shard_of
        )
        if not (np.array_equal(done.numbers, records.numbers) and same_shards):
            raise RuntimeError(
                f"the ray engine read other records from {records.path} than this "
                f"process did (files changed while the job ran?): run it again"
            )
        return done.columns, done.info

    def run_shards(self, step: Step, tasks: list[dict], folder: Path, read: dict, progress: bool | None) -> list[dict]:
        ray = _ray(self.address)  # with ray.data imported
        hosts = len(_hosts(ray)) if self.scores_dir is None else 1
        if hosts > 1:
            raise ValueError(
                f"the Ray cluster spans {hosts} machines: workers write each shard's "
                f"scores to --scores-dir (scores_dir=), which must be a folder every machine "
                f"mounts (as the shards must be); give one"
            )
        resources = ray.cluster_resources()
        workers = int(resources.get("CPU", 1) // self.cpus_per_task)
        gpus = self.gpus_per_task if step.uses_gpu else 0
        if gpus:
            workers = min(workers, int(resources.get("GPU", 0) // gpus))
            if workers < 1:
                raise ValueError(
                    f"the Ray cluster has {resources.get('GPU', 0):g} GPUs, fewer than the {gpus:g} a task asks for"
                )
        try:
            return (
                ray.data.from_items(tasks)
                .map_batches(
                    ShardTask,
                    fn_constructor_kwargs={
                        "step": step,
                        "read": read,
                        "folder": str(folder),
                        "workers": max(1, int(self.cpus_per_task)),
                    },
                    batch_size=1,
                    concurrency=(1, max(1, min(len(tasks), workers))),
                    num_cpus=self.cpus_per_task,
                    num_gpus=gpus,
                )
                .take_all()
            )
        except Exception as error:  # noqa: BLE001 - say which job failed, with Ray's reason
            raise RuntimeError(f"the Ray job running {step.name} over {len(tasks)} shard(s) failed: {error}") from None


def _ray(address: str | None) -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError("engine='ray' needs Ray: pip install 'zipkit[ray]'") from None
    import ray.data

    if not ray.is_initialized():
        import logging

        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
            ignore_reinit_error=True,
        )
        ray.data.DataContext.get_current().enable_progress_bars = False
    return ray


def _hosts(ray: Any) -> set[str]:
    """The machines of the cluster's live nodes (nodes of one machine share its address)."""
    return {node["NodeManagerAddress"] for node in ray.nodes() if node.get("Alive")}
