"""The local executor: steps run in this process, on every core (the steps spread their own
work over threads or processes). A sharded pool is scored one shard after another, so only
one shard's records are in memory at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..progress import bar
from ..steps import Columns, Step
from .base import Executor, ShardTask


class LocalExecutor(Executor):
    """Runs steps in this process: shard after shard, each with every core.

    Parameters
    ----------
    scores_dir : str or os.PathLike, optional
        Where each shard's scores are kept, so that a rerun with the same folder skips the
        shards done; a temporary folder, removed at the end, when not given.
    """

    name = "local"

    def map_records(self, step: Step, records: Any) -> tuple[Columns, dict | None]:
        return step.build(None)(records)

    def run_shards(self, step: Step, tasks: list[dict], folder: Path, read: dict, progress: bool | None) -> list[dict]:
        # Shard after shard, each with every core; stops at a failed one.
        task = ShardTask(step, read, str(folder), workers=None)
        rows = []
        with bar(len(tasks), f"{step.name}: shards", "shard", progress) as pbar:
            for item in tasks:
                done = task({name: [value] for name, value in item.items()})
                rows.append({name: values[0] for name, values in done.items()})
                pbar.update(1)
                if rows[-1]["error"]:
                    break
        return rows

    def describe(self) -> dict:
        """The engine's entry of a manifest, in the same keys as Ray's."""
        return {
            "name": self.name,
            "ray_address": None,
            "cpus_per_task": 1,
            "gpus_per_task": 0,
            "scores_dir": self.scores_dir,
        }
