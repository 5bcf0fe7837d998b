"""Numba kernels for selection loops: masked bottom-k and greedy bookkeeping.

Each kernel has a numpy twin (``*_numpy``) that states the same contract plainly; the
tests hold them equal. Ties always break by position (the lower index first), so a
selection never depends on sort stability.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _after(heap_v, heap_i, a, b):
    """Whether entry ``a`` sorts after entry ``b`` by (value, position)."""
    return heap_v[a] > heap_v[b] or (heap_v[a] == heap_v[b] and heap_i[a] > heap_i[b])


@numba.njit(cache=True, nogil=True)
def _swap(heap_v, heap_i, a, b):
    heap_v[a], heap_v[b] = heap_v[b], heap_v[a]
    heap_i[a], heap_i[b] = heap_i[b], heap_i[a]


@numba.njit(cache=True, nogil=True)
def _sift_down(heap_v, heap_i, size, pos):
    # Max-heap on (value, position): the root is the worst of the k kept so far.
    while True:
        child = 2 * pos + 1
        if child >= size:
            return
        if child + 1 < size and _after(heap_v, heap_i, child + 1, child):
            child += 1
        if not _after(heap_v, heap_i, child, pos):
            return
        _swap(heap_v, heap_i, pos, child)
        pos = child


@numba.njit(cache=True, nogil=True)
def _bottom_k(values, mask, k):
    heap_v = np.empty(k, dtype=np.float64)
    heap_i = np.empty(k, dtype=np.int64)
    size = 0
    for i in range(values.shape[0]):
        if not mask[i]:
            continue
        v = values[i]
        if size < k:
            pos = size
            heap_v[pos] = v
            heap_i[pos] = i
            size += 1
            while pos > 0 and _after(heap_v, heap_i, pos, (pos - 1) // 2):  # sift up
                _swap(heap_v, heap_i, pos, (pos - 1) // 2)
                pos = (pos - 1) // 2
        elif v < heap_v[0]:  # equal values lose: the kept one has the lower position
            heap_v[0] = v
            heap_i[0] = i
            _sift_down(heap_v, heap_i, size, 0)
    # Heap sort, ascending by (value, position).
    for end in range(size - 1, 0, -1):
        _swap(heap_v, heap_i, 0, end)
        _sift_down(heap_v, heap_i, end, 0)
    return heap_i[:size].copy()


def bottom_k(values: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest ``values`` where ``mask`` is true, ascending by
    (value, position); fewer when fewer are masked in. NaN is refused."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    if np.isnan(values).any():
        raise ValueError("bottom_k got NaN values, which have no order; a score went wrong upstream")
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    return _bottom_k(values, np.ascontiguousarray(mask, dtype=np.bool_), int(k))


def bottom_k_numpy(values: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """The numpy twin of ``bottom_k``: the ``k`` lowest values under ``mask``, ties by position."""
    candidates = np.flatnonzero(mask)
    order = np.lexsort((candidates, values[candidates]))
    return candidates[order[: max(k, 0)]].astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _argmin_available(values, taken):
    best = -1
    for i in range(values.shape[0]):
        if not taken[i] and (best < 0 or values[i] < values[best]):
            best = i
    return best


def argmin_available(values: np.ndarray, taken: np.ndarray) -> int:
    """Greedy step: the first position of the smallest value not yet taken (-1 if none)."""
    return int(
        _argmin_available(np.ascontiguousarray(values, dtype=np.float64), np.ascontiguousarray(taken, dtype=np.bool_))
    )


def argmin_available_numpy(values: np.ndarray, taken: np.ndarray) -> int:
    """The numpy twin of ``argmin_available``: the first lowest value not taken, or -1."""
    free = np.flatnonzero(~taken)
    if free.size == 0:
        return -1
    return int(free[np.argmin(values[free])])  # argmin returns the first of equal minima


@numba.njit(cache=True, nogil=True)
def _fill(costs, budget):
    taken = np.zeros(len(costs), dtype=np.bool_)
    left = budget
    for i in range(len(costs)):
        if costs[i] <= left:
            taken[i] = True
            left -= costs[i]
            if left == 0:
                break
    return taken


# Below this many costs the loop runs in Python: numba's first call in a process starts its
# compiler's runtime (about 60 MB and a fifth of a second), which a tool that fills one
# budget, such as `zipkit inspect`, would pay for a loop of a few milliseconds.
_FILL_IN_PYTHON_BELOW = 200_000


def fill(costs: np.ndarray, budget: int) -> np.ndarray:
    """Which of ``costs``, in their order, a budget takes when it takes each one that fits what
    is left and skips each one that does not (a token budget filled to within one record: what
    is left at the end is smaller than every cost skipped)."""
    if len(costs) < _FILL_IN_PYTHON_BELOW:
        return fill_numpy(costs, budget)
    return _fill(np.ascontiguousarray(costs, dtype=np.int64), np.int64(budget))


def fill_numpy(costs: np.ndarray, budget: int) -> np.ndarray:
    """:func:`fill` as a Python loop (also the reference its tests hold the kernel to)."""
    taken, left = np.zeros(len(costs), dtype=bool), int(budget)
    for i, cost in enumerate(np.asarray(costs).tolist()):
        if cost <= left:
            taken[i], left = True, left - cost
            if left == 0:  # the budget is met: nothing more is taken (not even a zero cost)
                break
    return taken
