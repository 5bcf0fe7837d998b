"""Numba kernels for selection loops: masked bottom-k and greedy bookkeeping.

Each kernel has a numpy twin (``*_numpy``) that states the same contract plainly; the
tests hold them equal. Ties always break by position (the lower index first), so a
selection never depends on sort stability.
"""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _sift_down(heap_v, heap_i, size, pos):
    # Max-heap on (value, index): the root is the worst of the k kept so far.
    while True:
        left = 2 * pos + 1
        if left >= size:
            return
        child = left
        right = left + 1
        if right < size and (heap_v[right] > heap_v[left]
                             or (heap_v[right] == heap_v[left] and heap_i[right] > heap_i[left])):
            child = right
        if heap_v[child] > heap_v[pos] or (heap_v[child] == heap_v[pos] and heap_i[child] > heap_i[pos]):
            heap_v[pos], heap_v[child] = heap_v[child], heap_v[pos]
            heap_i[pos], heap_i[child] = heap_i[child], heap_i[pos]
            pos = child
        else:
            return


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
            # Sift up.
            pos = size
            heap_v[pos] = v
            heap_i[pos] = i
            size += 1
            while pos > 0:
                parent = (pos - 1) // 2
                if heap_v[pos] > heap_v[parent] or (heap_v[pos] == heap_v[parent] and heap_i[pos] > heap_i[parent]):
                    heap_v[pos], heap_v[parent] = heap_v[parent], heap_v[pos]
                    heap_i[pos], heap_i[parent] = heap_i[parent], heap_i[pos]
                    pos = parent
                else:
                    break
        elif v < heap_v[0]:  # equal values lose: the kept one has the lower index
            heap_v[0] = v
            heap_i[0] = i
            _sift_down(heap_v, heap_i, size, 0)
    # Heap sort, ascending by (value, index).
    for end in range(size - 1, 0, -1):
        heap_v[0], heap_v[end] = heap_v[end], heap_v[0]
        heap_i[0], heap_i[end] = heap_i[end], heap_i[0]
        _sift_down(heap_v, heap_i, end, 0)
    return heap_i[:size].copy()


def bottom_k(values: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest ``values`` where ``mask`` is true, ascending by
    (value, position); fewer when fewer are masked in. NaN is refused."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    return _bottom_k(values, np.ascontiguousarray(mask, dtype=np.bool_), int(k))


def bottom_k_numpy(values: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    candidates = np.flatnonzero(mask)
    order = np.lexsort((candidates, values[candidates]))
    return candidates[order[:max(k, 0)]].astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _argmin_available(values, taken):
    best = -1
    for i in range(values.shape[0]):
        if not taken[i] and (best < 0 or values[i] < values[best]):
            best = i
    return best


def argmin_available(values: np.ndarray, taken: np.ndarray) -> int:
    """Greedy step: the first position of the smallest value not yet taken (-1 if none)."""
    return int(_argmin_available(np.ascontiguousarray(values, dtype=np.float64),
                                 np.ascontiguousarray(taken, dtype=np.bool_)))


def argmin_available_numpy(values: np.ndarray, taken: np.ndarray) -> int:
    free = np.flatnonzero(~taken)
    if free.size == 0:
        return -1
    return int(free[np.argmin(values[free])])  # argmin returns the first of equal minima
