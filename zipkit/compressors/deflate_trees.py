"""The bit length of a DEFLATE block from its symbol frequencies, as zlib 1.2.13's trees.c
decides and writes it, without encoding a symbol.

zlib ends a block with ``_tr_flush_block``: it builds a Huffman tree for the literal/length
codes and one for the distance codes (a heap ordered by frequency, then by subtree depth;
lengths capped at 15 bits by its overflow repair), run-length codes both trees' code
lengths into a third tree (capped at 7 bits), and then sends the block stored, with the
fixed codes, or with its own codes, whichever its byte estimates favour (ties to the fixed
codes; a stored block only where the block's bytes are still in the window). The size of
each of those is a sum of frequency x code length, so the whole block costs three small
tree constructions. The tie rules matter: another order of equal-frequency nodes gives
other lengths and another size.

Every kernel here follows the C function of the same name; the tests hold the sizes they
give equal to zlib's on random and real data.
"""

from __future__ import annotations

import numba
import numpy as np

L_CODES = 286  # literal bytes, end of block, 29 length codes
D_CODES = 30
BL_CODES = 19  # code lengths 0-15, and 16/17/18 for runs
END_BLOCK = 256
HEAP_SIZE = 2 * L_CODES + 1
MAX_BITS = 15
MAX_BL_BITS = 7

EXTRA_LBITS = np.array(
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0], np.int64
)
EXTRA_DBITS = np.array(
    [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13], np.int64
)
EXTRA_BLBITS = np.array([0] * 16 + [2, 3, 7], np.int64)
BL_ORDER = np.array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15], np.int64)
# The fixed codes' lengths (RFC 1951 3.2.6): what a block sent with them costs per symbol.
STATIC_LLEN = np.array([8] * 144 + [9] * 112 + [7] * 24 + [8] * 8, np.int64)[: L_CODES + 2]
STATIC_DLEN = np.full(D_CODES, 5, np.int64)


def scratch() -> np.ndarray:
    """The working rows :func:`block_bits` builds its trees in."""
    return np.empty((8, HEAP_SIZE + 1), np.int64)


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _clear(row):
    """Zero a row in a loop. Every kernel here is compiled without numba's runtime
    (``_nrt=False``), which would otherwise count references to each array a helper is
    handed (an atomic add and subtract per call): that was most of a query's time."""
    for i in range(row.shape[0]):
        row[i] = 0


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _pqdownheap(key, heap, heap_len, k):
    """zlib's pqdownheap. ``key`` is frequency << 8 | depth, so zlib's ``smaller(n, m)``
    (lower frequency, or equal frequency and depth no greater) is ``key[n] <= key[m]``."""
    # Unsigned positions: numba then skips the wrap-around of negative indices on every access.
    k = np.uint64(k)
    heap_len = np.uint64(heap_len)
    v = heap[k]
    kv = key[np.uint64(v)]
    j = k << np.uint64(1)
    while j <= heap_len:
        hj = heap[j]
        if j < heap_len:
            right = heap[j + np.uint64(1)]
            if key[np.uint64(right)] <= key[np.uint64(hj)]:
                j += np.uint64(1)
                hj = right
        if kv <= key[np.uint64(hj)]:
            break
        heap[k] = hj
        k = j
        j <<= np.uint64(1)
    heap[k] = v


@numba.njit(cache=True, nogil=True, _nrt=False)
def _build_tree(freq, elems, slen, extra, base, max_length, lens, heap, key, dad, bl_count):
    """build_tree + gen_bitlen: the code length of every symbol into ``lens``; returns the
    largest code used and the bits of the symbols under these codes and under the fixed
    ones (``slen``; empty for the code-length tree, which has none). ``freq`` is changed:
    two codes are forced where fewer are used, and inner nodes follow the symbols."""
    heap_len = 0
    heap_max = HEAP_SIZE
    max_code = -1
    opt = 0
    static = 0
    has_static = slen.shape[0] > 0
    for n in range(elems):
        if freq[n] != 0:
            heap_len += 1
            heap[heap_len] = n
            max_code = n
            key[n] = freq[n] << 8
        else:
            lens[n] = 0
    # A tree needs two codes: zlib adds the lowest unused ones with frequency 1.
    while heap_len < 2:
        if max_code < 2:
            max_code += 1
            node = max_code
        else:
            node = 0
        heap_len += 1
        heap[heap_len] = node
        freq[node] = 1
        key[node] = 1 << 8
        opt -= 1
        if has_static:
            static -= slen[node]
    for n in range(heap_len // 2, 0, -1):
        _pqdownheap(key, heap, heap_len, n)
    node = np.uint64(elems)  # unsigned positions, as in _pqdownheap
    top = np.uint64(1)
    while True:
        n = np.uint64(heap[top])
        heap[top] = heap[np.uint64(heap_len)]
        heap_len -= 1
        _pqdownheap(key, heap, heap_len, 1)
        m = np.uint64(heap[top])
        heap_max -= 1
        heap[np.uint64(heap_max)] = n
        heap_max -= 1
        heap[np.uint64(heap_max)] = m
        freq[node] = freq[n] + freq[m]
        depth = (max(key[n] & 0xFF, key[m] & 0xFF) + 1) & 0xFF  # zlib keeps depths in a byte
        key[node] = (freq[node] << 8) | depth
        dad[n] = node
        dad[m] = node
        heap[top] = node
        node += top
        _pqdownheap(key, heap, heap_len, 1)
        if heap_len < 2:
            break
    heap_max -= 1
    heap[heap_max] = heap[1]

    # gen_bitlen: lengths from the root down, then the 15-bit (7-bit) limit repaired.
    for b in range(MAX_BITS + 1):
        bl_count[b] = 0
    lens[heap[heap_max]] = 0
    overflow = 0
    h = heap_max + 1
    while h < HEAP_SIZE:
        n = np.uint64(heap[h])  # unsigned, as in _pqdownheap
        h += 1
        bits = lens[np.uint64(dad[n])] + 1
        if bits > max_length:
            bits = max_length
            overflow += 1
        lens[n] = bits
        if n > max_code:
            continue  # an inner node
        bl_count[np.uint64(bits)] += 1
        xbits = extra[n - np.uint64(base)] if n >= base else 0
        f = freq[n]
        opt += f * (bits + xbits)
        if has_static:
            static += f * (slen[n] + xbits)
    if overflow == 0:
        return max_code, opt, static
    while True:
        bits = max_length - 1
        while bl_count[bits] == 0:
            bits -= 1
        bl_count[bits] -= 1
        bl_count[bits + 1] += 2
        bl_count[max_length] -= 1
        overflow -= 2
        if overflow <= 0:
            break
    h = HEAP_SIZE
    bits = max_length
    while bits != 0:
        n = bl_count[bits]
        while n != 0:
            h -= 1
            m = heap[h]
            if m > max_code:
                continue
            if lens[m] != bits:
                opt += (bits - lens[m]) * freq[m]
                lens[m] = bits
            n -= 1
        bits -= 1
    return max_code, opt, static


@numba.njit(cache=True, nogil=True, _nrt=False)
def _scan_tree(lens, max_code, bl_freq):
    """Count the code-length symbols (with runs 16, 17, 18) that send a tree's lengths."""
    prevlen = -1
    nextlen = lens[0]
    count = 0
    max_count = 7
    min_count = 4
    if nextlen == 0:
        max_count = 138
        min_count = 3
    lens[max_code + 1] = 0xFFFF  # guard, as zlib sets it
    for n in range(max_code + 1):
        curlen = nextlen
        nextlen = lens[n + 1]
        count += 1
        if count < max_count and curlen == nextlen:
            continue
        elif count < min_count:
            bl_freq[curlen] += count
        elif curlen != 0:
            if curlen != prevlen:
                bl_freq[curlen] += 1
            bl_freq[16] += 1
        elif count <= 10:
            bl_freq[17] += 1
        else:
            bl_freq[18] += 1
        count = 0
        prevlen = curlen
        if nextlen == 0:
            max_count = 138
            min_count = 3
        elif curlen == nextlen:
            max_count = 6
            min_count = 3
        else:
            max_count = 7
            min_count = 4


@numba.njit(cache=True, nogil=True, _nrt=False)
def block_bits(lfreq, dfreq, stored_len, can_store, bits, last, work):
    """The bit position after zlib flushes a block (``_tr_flush_block``) that holds these
    symbol frequencies (``lfreq[END_BLOCK]`` = 1) over ``stored_len`` input bytes, starting
    at bit position ``bits``; ``can_store``: the block's bytes are still in the window;
    ``last``: the final block, padded to a byte. ``work``: scratch of :func:`scratch`'s shape
    (its rows are written before they are read)."""
    # Rows by index: contiguous views (unpacking the array gives strided ones, slower to index).
    heap, key, dad, freq = work[0], work[1], work[2], work[3]
    llens, dlens, bllens, bl_count = work[4], work[5], work[6], work[7]
    # Loops, not slice copies: these kernels run without numba's runtime (see _clear). Only
    # the symbols' counts are set: _build_tree writes each inner node's before reading it.
    for n in range(L_CODES):
        freq[n] = lfreq[n]
    lmax, lopt, lstatic = _build_tree(
        freq, L_CODES, STATIC_LLEN, EXTRA_LBITS, END_BLOCK + 1, MAX_BITS, llens, heap, key, dad, bl_count
    )
    for n in range(D_CODES):
        freq[n] = dfreq[n]
    dmax, dopt, dstatic = _build_tree(
        freq, D_CODES, STATIC_DLEN, EXTRA_DBITS, 0, MAX_BITS, dlens, heap, key, dad, bl_count
    )
    _clear(freq[:BL_CODES])
    _scan_tree(llens, lmax, freq)
    _scan_tree(dlens, dmax, freq)
    _, blopt, _ = _build_tree(
        freq, BL_CODES, STATIC_DLEN[:0], EXTRA_BLBITS, 0, MAX_BL_BITS, bllens, heap, key, dad, bl_count
    )
    max_blindex = BL_CODES - 1
    while max_blindex >= 3:
        if bllens[BL_ORDER[max_blindex]] != 0:
            break
        max_blindex -= 1
    opt = lopt + dopt + blopt + 3 * (max_blindex + 1) + 5 + 5 + 4
    static = lstatic + dstatic
    opt_lenb = (opt + 3 + 7) >> 3
    static_lenb = (static + 3 + 7) >> 3
    if static_lenb <= opt_lenb:
        opt_lenb = static_lenb
    if stored_len + 4 <= opt_lenb and can_store:
        bits = ((bits + 3 + 7) & ~7) + 32 + 8 * stored_len  # header, pad to a byte, LEN, NLEN, bytes
    elif static_lenb == opt_lenb:
        bits += 3 + static
    else:
        bits += 3 + opt
    if last:
        bits = (bits + 7) & ~7
    return bits
