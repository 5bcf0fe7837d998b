"""Work spread over the cores: threads for compression, processes for Python-bound work.

``workers`` means the same for every method: how many cores its per-record pass uses
(``None`` or 0: all of them, :func:`resolve_workers`). What runs on them depends on the work:

- compression sizes (``ratio``, ZIP's scores): threads (:func:`parallel_sizes`); every
  compression library here releases the GIL while it compresses.
- Python-bound work (ZIP-FIT pairs, DSIR tokenizing): processes (:func:`map_blocks`),
  since threads contend for the GIL (two threads gave 1.46x on two cores, two processes
  1.93x). Blocks run in order, a bounded number in flight. Workers are forked on Linux
  (they start at once, share the parent's memory, and scripts need no
  ``if __name__ == "__main__"`` guard) and spawned elsewhere; each builds its worker once,
  ``make_worker(*args)`` (a callable holding whatever state the work needs), and calls it
  on the blocks it is handed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .progress import BLOCK, bar

_START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"
# Blocks in flight per worker: enough to keep every worker busy, few enough that a huge
# pool is not copied into the queue all at once.
_IN_FLIGHT_PER_WORKER = 4

# Below this many items of instruction size a thread pool costs more than it saves.
_MIN_ITEMS_FOR_POOL = 64
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def resolve_workers(workers: int | None) -> int:
    """``None`` or 0 means one worker (thread or process) per core."""
    if workers is None or (isinstance(workers, (int, np.integer)) and workers == 0):
        return os.cpu_count() or 1
    if not isinstance(workers, (int, np.integer)) or isinstance(workers, bool) or workers < 0:
        raise ValueError(f"workers={workers!r} is not a whole number >= 0 (0 or None = one per core)")
    return int(workers)


def thread_pool(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool per size: every library here releases the GIL while it compresses."""
    with _pools_lock:
        pool = _pools.get(workers)
        if pool is None:
            pool = _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="zipkit")
        return pool


def parallel_sizes(
    size: Callable[[Any], int],
    items: Sequence[Any],
    workers: int | None = None,
    min_items: int = _MIN_ITEMS_FOR_POOL,
    batch: Callable[[Sequence[Any]], np.ndarray] | None = None,
) -> np.ndarray:
    """``[size(x) for x in items]`` as int64, across a thread pool when there are enough items.

    ``size`` is ``Compressor.size`` or ``Context.size_with``: both are safe to call from
    several threads, and the libraries release the GIL while they compress. ``min_items``
    is the smallest batch worth a pool: lower it for calls that take tens of microseconds
    (context queries), where even a handful of items splits well. ``batch``, where given,
    sizes a whole span in one call (``Context.sizes_with`` of the DEFLATE engine: one call
    per thread, which holds no interpreter lock while it runs).
    """
    n = len(items)
    out = np.empty(n, dtype=np.int64)
    workers = resolve_workers(workers)
    if workers == 1 or n < max(min_items, 2):
        if batch is not None:
            return batch(items) if n else out
        for i in range(n):
            out[i] = size(items[i])
        return out
    if batch is not None:
        # One span per thread, cut at equal bytes (a query's cost follows its length): each
        # thread makes one call, and they finish together.
        ends = np.cumsum(np.fromiter(map(len, items), np.int64, n))
        cuts = np.searchsorted(ends, np.linspace(0, ends[-1], workers + 1)[1:-1])
        bounds = np.unique(np.concatenate([[0], cuts, [n]]))
    else:
        # Two spans per thread: enough to even out uneven items, few enough to keep the GIL
        # hand-offs (which cost as much as compressing a 200-byte item) rare.
        bounds = np.linspace(0, n, min(n, workers * 2) + 1, dtype=np.int64)

    def fill(span: tuple[int, int]) -> None:
        if batch is not None:
            out[span[0] : span[1]] = batch(items[span[0] : span[1]])
            return
        for i in range(span[0], span[1]):
            out[i] = size(items[i])

    list(thread_pool(workers).map(fill, zip(bounds[:-1].tolist(), bounds[1:].tolist())))
    return out


def sizes_in_blocks(
    size: Callable[[Any], int], items: np.ndarray, workers: int | None, desc: str, progress: bool | None
) -> np.ndarray:
    """:func:`parallel_sizes` over ``items`` a block at a time, with a progress bar."""
    out = np.empty(len(items), dtype=np.int64)
    with bar(len(items), desc, "rec", progress) as pbar:
        for start in range(0, len(items), BLOCK):
            block = items[start : start + BLOCK]
            out[start : start + len(block)] = parallel_sizes(size, block, workers)
            pbar.update(len(block))
    return out


def map_blocks(
    make_worker: Callable[..., Callable[[Any], Any]], args: tuple, blocks: Iterable[Any], workers: int
) -> Iterator[Any]:
    """``make_worker(*args)(block)`` for every block, in order, across ``workers`` processes
    (each process calls ``make_worker`` once)."""
    context = multiprocessing.get_context(_START_METHOD)
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(make_worker, args))
    try:
        yield from _in_order(pool, _run_worker, blocks, workers)
    finally:  # on an error or Ctrl-C, drop the queued blocks instead of finishing them
        pool.shutdown(wait=True, cancel_futures=True)


def map_threads(fn: Callable[[Any], Any], blocks: Iterable[Any], workers: int) -> Iterator[Any]:
    """``fn(block)`` for every block, in order, on the process-wide pool of ``workers``
    threads: for work that releases the interpreter's lock for the whole block (a numba
    kernel with ``nogil``), which needs no processes."""
    yield from _in_order(thread_pool(workers), fn, blocks, workers)


def _in_order(pool: Any, fn: Callable[[Any], Any], blocks: Iterable[Any], workers: int) -> Iterator[Any]:
    """``fn(block)`` submitted to ``pool`` for every block, results in order, a bounded number
    of blocks in flight."""
    pending: deque = deque()
    for block in blocks:
        pending.append(pool.submit(fn, block))
        if len(pending) >= _IN_FLIGHT_PER_WORKER * workers:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


_worker: Callable[[Any], Any] | None = None  # this process's worker, when it is one


def _start_worker(make_worker: Callable[..., Callable[[Any], Any]], args: tuple) -> None:
    global _worker
    # Ctrl-C reaches the whole process group: the parent stops the work, and the workers
    # do not each print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = make_worker(*args)


def _run_worker(block: Any) -> Any:
    assert _worker is not None, "worker process not started"
    return _worker(block)
