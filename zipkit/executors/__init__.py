"""Executors: where a method's steps run. ``local`` (this process, every core) or ``ray``
(a Ray cluster, shard by shard). An executor runs any :class:`zipkit.steps.Step` over
records in memory or over a pool's shards; it knows no method, and no method imports it:
:mod:`zipkit.api` composes the two.
"""

from __future__ import annotations

from .base import Executor, Mapped
from .local import LocalExecutor
from .ray import RayExecutor

EXECUTORS = {"local": LocalExecutor, "ray": RayExecutor}


def get(engine: "str | Executor | None" = None) -> Executor:
    """An executor by name (``"local"``, ``"ray"``) with its defaults, or the one given.

    Parameters
    ----------
    engine : str or Executor, optional
        ``"local"`` (None means it), ``"ray"``, or an executor, returned as is.
    """
    if isinstance(engine, Executor):
        return engine
    try:
        return EXECUTORS[engine or "local"]()
    except KeyError:
        raise ValueError(f"engine must be one of {tuple(EXECUTORS)} or an executor, got {engine!r}") from None


__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "Mapped", "RayExecutor", "get"]
