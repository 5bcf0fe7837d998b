"""zlib 1.2.13's LZ77 parse (deflate.c), counting symbols instead of emitting them.

``deflate_fast`` (levels 1-3: greedy, short matches' strings inserted) and
``deflate_slow`` (levels 4-9: lazy matching) with ``longest_match``'s hash chains, the
per-level limits of zlib's configuration table, window slides where ``fill_window`` makes
them, and blocks that end where zlib's symbol buffer fills (16,383 symbols at memLevel 8).
Only each block's symbol frequencies are kept; ``deflate_trees.block_bits`` turns them into
the block's exact bit length.

Positions are absolute offsets in the stream, so the window never moves: zlib's slide
(positions less 32 KiB, those that fall off become "no match") is the base ``B`` rising by
32 KiB, and a hash entry at or below ``B`` reads as no match. The hash of a string is that
of its three bytes, as zlib's rolling hash is at 15 bits.

A parse of a prefix stops where zlib's next step would depend on bytes after it (fewer than
MIN_LOOKAHEAD bytes left in a window that is not full): the state there, continued over the
rest of the prefix and any suffix, is one-shot compression of prefix+suffix. A query
continues it without touching the shared hash tables (its inserts go to an overlay), so
queries can run in threads side by side.

The parse and every kernel under it are compiled without numba's runtime (``_nrt=False``):
with it, each array handed to an inlined helper is reference-counted by an atomic add and
subtract that numba cannot prune across the helpers' branches, which took 70% of a query's
time. Those kernels allocate nothing; the entry points (``query``, ``advance``,
``speculate``) allocate their scratch and hand it down.
"""

from __future__ import annotations

import numba
import numpy as np

from .deflate_trees import D_CODES, END_BLOCK, EXTRA_DBITS, EXTRA_LBITS, HEAP_SIZE, L_CODES, block_bits

WSIZE = 1 << 15
WMASK = WSIZE - 1
HASH_SIZE = 1 << 15
HASH_MASK = HASH_SIZE - 1
MIN_MATCH = 3
MAX_MATCH = 258
MIN_LOOKAHEAD = MAX_MATCH + MIN_MATCH + 1
MAX_DIST = WSIZE - MIN_LOOKAHEAD
TOO_FAR = 4096
SYM_LIMIT = (1 << 14) - 1  # lit_bufsize - 1 symbols fill the buffer at memLevel 8
WINDOW_SIZE = 2 * WSIZE

# zlib's configuration_table: good_length, max_lazy (max_insert for 1-3), nice_length, max_chain.
LEVELS = {
    1: (4, 4, 8, 4),
    2: (4, 5, 16, 8),
    3: (4, 6, 32, 32),
    4: (4, 4, 16, 16),
    5: (8, 16, 32, 32),
    6: (8, 16, 128, 128),
    7: (8, 32, 128, 256),
    8: (32, 128, 258, 1024),
    9: (32, 258, 258, 4096),
}

# The parse state: one int64 vector (with the block's frequencies beside it).
STRSTART, BASE, MATCH_AVAILABLE, PREV_LENGTH, PREV_MATCH, MATCH_LENGTH, MATCH_START, BLOCK_START, SYMS, BITS = range(10)
INSERTED = 10  # positions a DIRECT parse inserted (it notes them in ``local``)
STATE_SIZE = 11
FINAL, SAFE, SPECULATE, DIRECT = 0, 1, 2, 3
# A speculative parse holds for suffixes of at least this many bytes (deflate_fast's inserts
# after a match need 3 bytes of lookahead past it; deflate_slow's lookahead must exceed the
# previous match).
MIN_SUFFIX = 2


def _length_codes() -> np.ndarray:
    """The length code (0-28) of each match length less 3, as zlib's _length_code."""
    codes = np.concatenate([np.full(1 << e, code) for code, e in enumerate(EXTRA_LBITS[:-1])])
    codes[255] = 28  # length 258 has a code of its own
    return codes.astype(np.int64)


def _dist_codes() -> np.ndarray:
    """zlib's _dist_code: distances less 1 below 256, then (distance-1) >> 7 from 256 on."""
    table = np.zeros(512, np.int64)
    dist = 0
    for code in range(16):
        table[dist : dist + (1 << EXTRA_DBITS[code])] = code
        dist += 1 << EXTRA_DBITS[code]
    dist >>= 7
    for code in range(16, D_CODES):
        table[256 + dist : 256 + dist + (1 << (EXTRA_DBITS[code] - 7))] = code
        dist += 1 << (EXTRA_DBITS[code] - 7)
    return table


LENGTH_CODE = _length_codes()
DIST_CODE = _dist_codes()


def new_state() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A stream before its first byte: state, literal/length and distance frequencies, and
    the hash tables (head, then prev), all empty."""
    state = np.zeros(STATE_SIZE, np.int64)
    state[PREV_LENGTH] = state[MATCH_LENGTH] = MIN_MATCH - 1
    lfreq = np.zeros(L_CODES, np.int64)
    lfreq[END_BLOCK] = 1
    return state, lfreq, np.zeros(D_CODES, np.int64), np.zeros(HASH_SIZE + WSIZE, np.int32)


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _hash(buf, i):
    u = np.uint64(i)  # unsigned: no negative-index wrap-around (see _longest_match)
    one = np.uint64(1)
    return ((np.int64(buf[u]) << 10) ^ (np.int64(buf[u + one]) << 5) ^ np.int64(buf[u + one + one])) & HASH_MASK


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _prev_of(tables, q0, local, cur):
    """prev[cur & WMASK]: the query's own entry for positions it inserted."""
    if local.shape[0] > 0 and cur >= q0:
        return local[cur - q0]
    return tables[np.uint64(HASH_SIZE + (cur & WMASK))]


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _head_of(tables, h, q0, local):
    """head[h] as the query starting at ``q0`` sees it: positions a speculative parse put in
    the shared tables at or after ``q0`` are skipped through their chain links."""
    head = np.int64(tables[h])
    if local.shape[0] > 0:
        while head >= q0 and head > 0:  # 0 is zlib's NIL, whose link is itself
            head = np.int64(tables[HASH_SIZE + (head & WMASK)])
    return head


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _insert(buf, off, pos, tables, q0, local, keys, values):
    """INSERT_STRING at ``pos``: its chain link is the old head of its hash, and it becomes
    the head; returns the old head. A query (``local`` not empty) writes to its overlay: its
    own prev entries and a small open-addressed map of the heads it changed."""
    h = _hash(buf, pos - off)
    if local.shape[0] == 0:
        slot = np.uint64(h)
        head = np.int64(tables[slot])
        tables[np.uint64(HASH_SIZE + (pos & WMASK))] = head
        tables[slot] = pos
        return head
    mask = keys.shape[0] - 1
    slot = (h * 40503) & mask
    while keys[slot] != -1 and keys[slot] != h:
        slot = (slot + 1) & mask
    if keys[slot] == h:
        head = values[slot]
    else:
        head = _head_of(tables, h, q0, local)
        keys[slot] = h
    values[slot] = pos
    local[pos - q0] = head
    return head


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _insert_strings(buf, off, first, last, tables, q0, local, keys, values, record, count):
    """INSERT_STRING at ``first`` to ``last``; a speculative parse notes each position in
    ``record`` (from ``count`` on); returns the new count."""
    for pos in range(first, last + 1):
        if record.shape[0] > 0:
            record[count] = pos
            count += 1
        _insert(buf, off, pos, tables, q0, local, keys, values)
    return count


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _longest_match(buf, off, strstart, cur, best_len, lookahead, base, good, nice, chain, tables, q0, local, bound):
    """longest_match: the best match length (at most ``lookahead``), where it starts (-1 if
    none beat ``best_len``), and whether zlib would have read the byte at ``bound`` (a
    speculative parse stops there: that byte is not known yet)."""
    match_start = -1
    if best_len >= lookahead:
        # Any answer is at least the lookahead, so zlib returns the lookahead (its loop
        # reads bytes past the data here, which cannot change what the parse does next).
        return lookahead, match_start, False
    if strstart + best_len >= bound:
        return best_len, match_start, True
    chain_length = chain
    limit = strstart - MAX_DIST if strstart - base > MAX_DIST else base
    if best_len >= good:
        chain_length >>= 2
    if nice > lookahead:
        nice = lookahead
    top = MAX_MATCH if lookahead > MAX_MATCH else lookahead
    known = bound - strstart
    stop = top if top < known else known
    # Offsets into buf as unsigned integers (all of them, never mixed with signed ones, which
    # numba would take to floats): indexing then skips the wrap-around of negative indices,
    # a third of the instructions of this loop, the hottest of the engine.
    one = np.uint64(1)
    ustop = np.uint64(stop)  # positive: the bound lies past strstart + best_len
    s = np.uint64(strstart - off)
    scan_end1 = buf[s + np.uint64(best_len) - one]
    scan_end = buf[s + np.uint64(best_len)]
    while True:
        m = np.uint64(cur - off)
        ends = m + np.uint64(best_len)
        if buf[ends] == scan_end and buf[ends - one] == scan_end1 and buf[m] == buf[s] and buf[m + one] == buf[s + one]:
            # Byte 2 is equal when the hashes are (zlib skips it too).
            scanned = np.uint64(3)
            while scanned < ustop and buf[s + scanned] == buf[m + scanned]:
                scanned += one
            length = np.int64(scanned)
            if length == known and known < top:
                return best_len, match_start, True
            if length > best_len:
                match_start = cur
                best_len = length
                if length >= nice:
                    break
                scan_end1 = buf[s + np.uint64(best_len) - one]
                scan_end = buf[s + np.uint64(best_len)]
        cur = _prev_of(tables, q0, local, cur)
        if cur <= limit:
            break
        chain_length -= 1
        if chain_length == 0:
            break
    return (best_len if best_len <= lookahead else lookahead), match_start, False


@numba.njit(cache=True, nogil=True, _nrt=False)
def _flush(state, lfreq, dfreq, end_at, base, last, work):
    """End the block at ``end_at``: its bits added, its frequencies cleared."""
    block_start = state[BLOCK_START]
    state[BITS] = block_bits(lfreq, dfreq, end_at - block_start, block_start >= base, state[BITS], last, work)
    lfreq[:] = 0
    lfreq[END_BLOCK] = 1
    dfreq[:] = 0
    state[SYMS] = 0
    state[BLOCK_START] = end_at


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _tally_dist(state, lfreq, dfreq, dist, length):
    # Unsigned indices throughout (no negative-index wrap-around, see _longest_match).
    lfreq[np.uint64(LENGTH_CODE[np.uint64(length - MIN_MATCH)] + END_BLOCK + 1)] += 1
    d = dist - 1
    code = DIST_CODE[np.uint64(d)] if d < 256 else DIST_CODE[np.uint64(256 + (d >> 7))]
    dfreq[np.uint64(code)] += 1
    state[SYMS] += 1
    return state[SYMS] == SYM_LIMIT


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _tally_lit(state, lfreq, byte):
    lfreq[byte] += 1
    state[SYMS] += 1
    return state[SYMS] == SYM_LIMIT


@numba.njit(cache=True, nogil=True, _nrt=False)
def parse(
    buf, off, end, mode, state, lfreq, dfreq, tables, q0, local, keys, values, work, level, good, lazy, nice, chain
):
    """Run zlib's parse over ``buf`` (stream positions ``off`` to ``end``) from ``state``.
    Levels 1-3 parse greedily (deflate_fast), 4-9 lazily (deflate_slow). ``mode``:

    - FINAL: the data ends at ``end`` (Z_FINISH): parse to the end, flush the last block and
      return the stream's DEFLATE bytes.
    - SAFE: stop where the next step would depend on what follows ``end`` (its lookahead or
      a window slide); returns -1.
    - SPECULATE: go on past SAFE's stop while every step reads only bytes before ``end``
      and assumes only that at least MIN_SUFFIX more bytes follow (its lookahead at least
      that of the step's reads); its inserted positions go to ``local`` (their count is
      returned) so that they can be taken out again.
    - DIRECT: FINAL, on a thread's own copy of the hash tables: its inserts go straight into
      them (no overlay), noted in ``local`` (their count in ``state[INSERTED]``) so that
      :func:`_restore` puts the copy back as it was.
    """
    slow = level >= 4
    speculate = mode == SPECULATE
    direct = mode == DIRECT
    final = mode == FINAL or direct
    overlay = local if mode == FINAL else local[:0]
    record = local if speculate or direct else local[:0]
    inserted = 0
    strstart = state[STRSTART]
    base = state[BASE]
    match_available = state[MATCH_AVAILABLE]
    prev_length = state[PREV_LENGTH]
    prev_match = state[PREV_MATCH]
    match_length = state[MATCH_LENGTH]
    match_start = state[MATCH_START]
    while True:
        if speculate:
            # As if the data went on: no slide can be near, and this string's bytes are here.
            if strstart - base >= WSIZE + MAX_DIST or strstart + MIN_MATCH - 1 >= end:
                break
            lookahead = base + WINDOW_SIZE - strstart
        else:
            window_end = min(end, base + WINDOW_SIZE)
            lookahead = window_end - strstart
            if lookahead < MIN_LOOKAHEAD:
                # fill_window: slide once the window is full (known only when it is, or at the end)
                if strstart - base >= WSIZE + MAX_DIST and (final or end >= base + WINDOW_SIZE):
                    base += WSIZE
                    window_end = min(end, base + WINDOW_SIZE)
                    lookahead = window_end - strstart
                if lookahead < MIN_LOOKAHEAD and not final:
                    break
                if lookahead == 0:
                    break
        hash_head = np.int64(0)
        has_head = False
        if lookahead >= MIN_MATCH:
            if speculate:  # looked at first, inserted once the step is known to be safe
                hash_head = np.int64(tables[_hash(buf, strstart - off)])
            else:
                hash_head = _insert(buf, off, strstart, tables, q0, overlay, keys, values)
                if direct:
                    record[inserted] = strstart
                    inserted += 1
            has_head = hash_head > base
        if slow:
            length = MIN_MATCH - 1
            found = -1
            if has_head and match_length < lazy and strstart - hash_head <= MAX_DIST:
                length, found, touched = _longest_match(
                    buf,
                    off,
                    strstart,
                    hash_head,
                    match_length,
                    lookahead,
                    base,
                    good,
                    nice,
                    chain,
                    tables,
                    q0,
                    overlay,
                    end,
                )
                if touched:
                    break
            if speculate:
                emits = match_length >= MIN_MATCH and length <= match_length
                if emits and strstart + match_length >= end:
                    break  # the match's strings would hash bytes not yet here
                inserted = _insert_strings(
                    buf, off, strstart, strstart, tables, q0, overlay, keys, values, record, inserted
                )
            prev_length = match_length
            prev_match = match_start
            match_length = length
            if found >= 0:
                match_start = found
            if match_length == MIN_MATCH and strstart - match_start > TOO_FAR:
                match_length = MIN_MATCH - 1
            if prev_length >= MIN_MATCH and match_length <= prev_length:
                max_insert = strstart + lookahead - MIN_MATCH
                bflush = _tally_dist(state, lfreq, dfreq, strstart - 1 - prev_match, prev_length)
                inserted = _insert_strings(
                    buf,
                    off,
                    strstart + 1,
                    min(strstart + prev_length - 2, max_insert),
                    tables,
                    q0,
                    overlay,
                    keys,
                    values,
                    record,
                    inserted,
                )
                strstart += prev_length - 1
                match_available = 0
                match_length = MIN_MATCH - 1
                if bflush:
                    _flush(state, lfreq, dfreq, strstart, base, False, work)
            elif match_available:
                if _tally_lit(state, lfreq, buf[strstart - 1 - off]):
                    _flush(state, lfreq, dfreq, strstart, base, False, work)
                strstart += 1
            else:
                match_available = 1
                strstart += 1
        else:
            length = match_length
            found = -1
            if has_head and strstart - hash_head <= MAX_DIST:
                length, found, touched = _longest_match(
                    buf,
                    off,
                    strstart,
                    hash_head,
                    MIN_MATCH - 1,
                    lookahead,
                    base,
                    good,
                    nice,
                    chain,
                    tables,
                    q0,
                    overlay,
                    end,
                )
                if touched:
                    break
            if speculate:
                if length >= MIN_MATCH and length <= lazy and strstart + length + 1 >= end:
                    break  # the match's strings would hash bytes not yet here
                inserted = _insert_strings(
                    buf, off, strstart, strstart, tables, q0, overlay, keys, values, record, inserted
                )
            match_length = length
            if found >= 0:
                match_start = found
            if match_length >= MIN_MATCH:
                bflush = _tally_dist(state, lfreq, dfreq, strstart - match_start, match_length)
                lookahead -= match_length
                if match_length <= lazy and lookahead >= MIN_MATCH:  # max_insert_length at 1-3
                    inserted = _insert_strings(
                        buf,
                        off,
                        strstart + 1,
                        strstart + match_length - 1,
                        tables,
                        q0,
                        overlay,
                        keys,
                        values,
                        record,
                        inserted,
                    )
                strstart += match_length
                match_length = 0
            else:
                bflush = _tally_lit(state, lfreq, buf[strstart - off])
                strstart += 1
            if bflush:
                _flush(state, lfreq, dfreq, strstart, base, False, work)
    state[STRSTART] = strstart
    state[BASE] = base
    state[MATCH_AVAILABLE] = match_available
    state[PREV_LENGTH] = prev_length
    state[PREV_MATCH] = prev_match
    state[MATCH_LENGTH] = match_length
    state[MATCH_START] = match_start
    if speculate:
        return inserted
    if not final:
        return -1
    state[INSERTED] = inserted
    if slow and match_available:
        _tally_lit(state, lfreq, buf[strstart - 1 - off])  # no flush here: the last block takes it
        state[MATCH_AVAILABLE] = 0
    _flush(state, lfreq, dfreq, strstart, base, True, work)
    return state[BITS] >> 3


@numba.njit(cache=True, nogil=True, inline="always")
def _work():
    """Scratch for ``deflate_trees.block_bits``'s trees (allocated here, where the runtime
    that allocates is on: ``parse`` and the kernels under it run without it)."""
    return np.empty((8, HEAP_SIZE + 1), np.int64)


@numba.njit(cache=True, nogil=True)
def queries(buf, off, pend, suffixes, bounds, state, lfreq, dfreq, tables, private, level, good, lazy, nice, chain):
    """DEFLATE bytes of the stream of the prefix (parsed up to ``state``; its bytes from
    stream position ``off`` to ``pend`` at the start of ``buf``) followed by each suffix
    ``suffixes[bounds[k]:bounds[k + 1]]``, which is written after them in ``buf`` (which has
    room for the longest). One call answers a batch, so that the scratch is made once and a
    thread runs its whole share without the interpreter's lock.

    Nothing shared is written: the state is copied, and the hash tables either overlaid
    (``private`` empty: a query's inserts go to a small map, each lookup checks it first) or,
    where the thread holds its own copy of them in ``private`` (equal to ``tables``), written
    directly and put back after each query, which makes every insert and chain step as cheap
    as zlib's."""
    n = bounds.shape[0] - 1
    out = np.empty(n, np.int64)
    strstart = state[STRSTART]
    held = pend - off
    longest = 0
    for k in range(n):
        longest = max(longest, bounds[k + 1] - bounds[k])
    most = pend + longest - strstart + 1  # positions a query inserts, at most
    local = np.empty(max(most, 1), np.int64)
    direct = private.shape[0] > 0
    keys = np.empty(0 if direct else _table_size(most), np.int64)
    values = np.empty(keys.shape[0], np.int64)
    work = _work()
    own_state, own_lfreq, own_dfreq = state.copy(), lfreq.copy(), dfreq.copy()
    for k in range(n):
        length = bounds[k + 1] - bounds[k]
        buf[held : held + length] = suffixes[bounds[k] : bounds[k + 1]]
        end = pend + length
        size = 0 if direct else _table_size(end - strstart + 1)
        keys[:size] = -1
        own_state[:] = state
        own_lfreq[:] = lfreq
        own_dfreq[:] = dfreq
        out[k] = parse(
            buf,
            off,
            end,
            DIRECT if direct else FINAL,
            own_state,
            own_lfreq,
            own_dfreq,
            private if direct else tables,
            strstart,
            local,
            keys[:size],
            values[:size],
            work,
            level,
            good,
            lazy,
            nice,
            chain,
        )
        if direct:
            _restore(buf, off, private, tables, local, own_state[INSERTED])
    return out


@numba.njit(cache=True, nogil=True, _nrt=False)
def _restore(buf, off, private, tables, inserted, count):
    """Put a thread's copy of the hash tables back as ``tables`` holds them: the head and
    the chain link of every position a DIRECT parse inserted."""
    for k in range(count):
        pos = inserted[k]
        h = _hash(buf, pos - off)
        private[h] = tables[h]
        link = HASH_SIZE + (pos & WMASK)
        private[link] = tables[link]


@numba.njit(cache=True, nogil=True, inline="always")
def _table_size(inserts):
    """Slots of the open-addressed map of a query's changed heads: a power of two, at most
    half full."""
    size = 64
    while size < 2 * inserts:
        size <<= 1
    return size


@numba.njit(cache=True, nogil=True)
def advance(buf, off, end, state, lfreq, dfreq, tables, level, good, lazy, nice, chain):
    """Parse the prefix's new bytes into ``state`` and the hash tables (in place), as far as
    they go without knowing what comes next."""
    none = np.empty(0, np.int64)
    parse(
        buf, off, end, SAFE, state, lfreq, dfreq, tables, 0, none, none, none, _work(), level, good, lazy, nice, chain
    )


@numba.njit(cache=True, nogil=True)
def speculate(buf, off, end, state, lfreq, dfreq, tables, inserted, level, good, lazy, nice, chain):
    """SPECULATE from ``state`` (in place; the positions it inserts into ``inserted``);
    returns how many it inserted."""
    none = np.empty(0, np.int64)
    return parse(
        buf,
        off,
        end,
        SPECULATE,
        state,
        lfreq,
        dfreq,
        tables,
        0,
        inserted,
        none,
        none,
        _work(),
        level,
        good,
        lazy,
        nice,
        chain,
    )


@numba.njit(cache=True, nogil=True)
def retract(buf, off, tables, inserted, count):
    """Take a speculative parse's inserts out of the hash tables, newest first: each hash's
    head goes back to what it was (the chain link the insert saved). The prev entries they
    overwrote belonged to positions a window behind, which no match can reach."""
    for k in range(count - 1, -1, -1):
        pos = inserted[k]
        tables[_hash(buf, pos - off)] = tables[HASH_SIZE + (pos & WMASK)]
