"""The numba DEFLATE size engine against the zlib this Python links: every size it gives
must equal ``zlib.compress``/``gzip.compress`` of prefix+suffix, byte for byte, at every
level, through extends, forks, short and long suffixes, window slides and block ends."""

import concurrent.futures
import gzip
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zipkit import compressors
from zipkit.compressors import deflate, exact_deflate
from zipkit.compressors.deflate_parse import MIN_SUFFIX
from zipkit.compressors.exact_deflate import EngineContext

LEVELS = range(1, 10)
ONE_SHOT = {
    "zlib": lambda data, level: zlib.compress(data, level),
    "gzip": lambda data, level: gzip.compress(data, level, mtime=0),
    "raw": lambda data, level: zlib.compress(data, level, wbits=-15),
}

words = st.sampled_from(
    [
        b"the ",
        b"data ",
        b"selection ",
        b"zip",
        b"\n",
        b"compress ",
        b"{'from': ",
        b"\xc3\xa9t\xc3\xa9 ",
        b"0123456789",
        b"    ",
        b"aaaaaaaaaaaaaaaaaaaa",
    ]
)
texty = st.lists(words, max_size=600).map(b"".join)
blobs = st.one_of(texty, st.binary(max_size=4000), st.binary(max_size=3))


def _text(n: int, seed: int) -> bytes:
    """Word salad of ``n`` bytes: matches at every distance, long runs now and then."""
    rng = np.random.default_rng(seed)
    vocab = [bytes(rng.integers(97, 123, rng.integers(2, 10)).astype(np.uint8)) for _ in range(3000)]
    pieces, size = [], 0
    while size < n:
        piece = vocab[rng.integers(len(vocab))] + (b"\n" if rng.random() < 0.1 else b" ")
        if rng.random() < 0.002:
            piece = piece * int(rng.integers(2, 200))
        pieces.append(piece)
        size += len(piece)
    return b"".join(pieces)[:n]


@settings(max_examples=300, deadline=None)
@given(level=st.sampled_from(LEVELS), container=st.sampled_from(sorted(ONE_SHOT)), prefix=blobs, suffix=blobs)
def test_sizes_equal_one_shot_compression(level, container, prefix, suffix):
    context = EngineContext(level, container, prefix)
    expected = len(ONE_SHOT[container](prefix + suffix, level))
    assert context.size_with(suffix) == expected
    assert context.size_with(suffix) == expected  # a query leaves the context as it was


@settings(max_examples=150, deadline=None)
@given(
    level=st.sampled_from(LEVELS),
    pieces=st.lists(blobs, min_size=1, max_size=8),
    suffixes=st.lists(blobs, min_size=1, max_size=3),
)
def test_extends_and_forks_stay_exact(level, pieces, suffixes):
    context, prefix = EngineContext(level, "zlib"), b""
    for piece in pieces:
        before = context.fork()
        context.extend(piece)
        assert before.size_with(piece) == len(zlib.compress(prefix + piece, level))  # the fork kept its state
        prefix += piece
        for suffix in suffixes:
            assert context.size_with(suffix) == len(zlib.compress(prefix + suffix, level))


@pytest.mark.parametrize("level", LEVELS)
def test_long_prefixes_and_suffixes_cross_slides_and_blocks(level):
    """Prefixes to 2 MB (the window slides every 32 KiB, a block ends every 16,383 symbols),
    suffixes to 64 KB, held by one context extended record by record."""
    text = _text(2_200_000, seed=level)
    context, held = EngineContext(level, "zlib"), 0
    checked = 0
    for cut in (0, 1, 2, 300, 40_000, 65_536, 65_537, 300_000, 1_000_000, 2_000_000):
        while held < cut:  # extends of 1, 2 and many bytes
            step = min(cut - held, [1, 2, 5000, 70_000][held % 4])
            context.extend(text[held : held + step])
            held += step
        suffixes = [text[2_100_000 : 2_100_000 + length] for length in (0, 1, 2, 3, 258, 700, 17_000, 64_000)]
        expected = [len(zlib.compress(text[:cut] + suffix, level)) for suffix in suffixes]
        for suffix, size in zip(suffixes, expected):
            assert context.size_with(suffix) == size, (cut, len(suffix))
            checked += 1
        # One batch, long and short suffixes in turn: the scratch one query leaves must not
        # reach the next; and a batch of suffixes of MIN_SUFFIX bytes or more (the speculative
        # parse) gives the same sizes.
        assert context.sizes_with(suffixes[::-1]).tolist() == expected[::-1], cut
        assert context.sizes_with(suffixes[2:]).tolist() == expected[2:], cut
    assert checked == 80


@settings(max_examples=150, deadline=None)
@given(level=st.sampled_from(LEVELS), prefix=blobs, suffixes=st.lists(blobs, max_size=6))
def test_a_batch_of_queries_equals_one_shot_compression(level, prefix, suffixes):
    context = EngineContext(level, "zlib", prefix)
    sizes = context.sizes_with(suffixes)
    assert sizes.dtype == np.int64
    assert sizes.tolist() == [len(zlib.compress(prefix + s, level)) for s in suffixes]
    # Without a short suffix the batch runs on the thread's own tables, put back after each
    # query: asked twice, in both orders, the sizes stay one-shot compression's.
    long = [s for s in suffixes if len(s) >= MIN_SUFFIX]
    expected = [len(zlib.compress(prefix + s, level)) for s in long]
    assert context.sizes_with(long).tolist() == expected
    assert context.sizes_with(long[::-1]).tolist() == expected[::-1]
    assert [context.size_with(s) for s in long] == expected


@pytest.mark.parametrize("level", [1, 6, 9])
def test_incompressible_and_run_data(level):
    """Random bytes make stored blocks (their bytes must still be in the window), runs make
    258-byte matches at distance 1 and fixed-code blocks."""
    rng = np.random.default_rng(level)
    noise = rng.integers(0, 256, 300_000).astype(np.uint8).tobytes()
    runs = b"".join(bytes([b]) * int(n) for b, n in zip(rng.integers(0, 4, 3000), rng.integers(1, 600, 3000)))
    for prefix, suffix in (
        (noise, noise[:70_000]),
        (runs, noise[:50]),
        (noise[:100_000] + runs, runs[:9000]),
        (runs[:5], b"\x00"),
        (b"", noise[:65_535]),
    ):
        assert EngineContext(level, "gzip", prefix).size_with(suffix) == len(gzip.compress(prefix + suffix, level))


def test_real_records_as_zip_builds_its_history():
    """A context extended record by record (real ShareGPT conversations), asked about each
    next record as ZIP's greedy loop does, at the levels ZIP and ZIP-FIT use."""
    import zipkit

    pool = zipkit.read_records("packaged:sharegpt", progress=False)
    records = [pool.text(i).encode() for i in range(150)]
    for level in (1, 6, 9):
        context, held = EngineContext(level, "zlib"), b""
        for record in records:
            assert context.size_with(record) == len(zlib.compress(held + record, level))
            context.extend(record)
            held += record


def test_queries_from_threads_equal_serial_queries():
    text = _text(300_000, seed=3)
    context = EngineContext(9, "zlib", text[:200_000])
    suffixes = [text[200_000 + 997 * k : 200_000 + 997 * k + 50 + k * 13] for k in range(64)] + [b"", b"x"]
    serial = [context.size_with(s) for s in suffixes]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert list(pool.map(context.size_with, suffixes)) == serial
    assert serial == [len(zlib.compress(text[:200_000] + s, 9)) for s in suffixes]


def test_speculation_is_used_and_retracted():
    """The speculative parse runs ahead of the safe one; a 1-byte extend (too short for it)
    takes its inserts out again, a longer one goes on from it, and sizes stay exact."""
    text = _text(60_000, seed=5)
    ahead = 0
    for cut in range(40_000, 41_000, 100):
        for step in (1, 2, 300):
            context = EngineContext(6, "zlib", text[:cut])
            ahead += context._speculated > 0 and context._ahead[0][0] > context._safe[0][0]
            context.extend(text[cut : cut + step])
            for length in (0, 1, 2, 500):
                held = text[: cut + step + length]
                assert context.size_with(held[cut + step :]) == len(zlib.compress(held, 6)), (cut, step, length)
    assert MIN_SUFFIX == 2 and ahead >= 20


def test_deflate_compressors_use_the_engine_where_it_applies():
    assert isinstance(compressors.get("zlib:9").context(b"abc"), EngineContext)
    assert isinstance(compressors.get("gzip:1").context(b"abc", exact=True), EngineContext)
    assert isinstance(compressors.get("deflate:6").context(), EngineContext)
    # Other windows and memory levels keep the stream copy.
    for spec in ("zlib:9,window=10", "zlib:6,memlevel=9"):
        assert isinstance(compressors.get(spec).context(b"abc"), deflate.StreamCopyContext)


def test_an_engine_that_disagrees_with_zlib_is_not_used(monkeypatch):
    exact_deflate.available.cache_clear()
    real = exact_deflate.engine.queries
    monkeypatch.setattr(exact_deflate.engine, "queries", lambda *a: real(*a) + 1)  # off by a byte
    try:
        with pytest.warns(RuntimeWarning, match="size engine gives .* where zlib .* gives"):
            context = compressors.get("zlib:7").context(b"hello hello hello")
        assert isinstance(context, deflate.StreamCopyContext)
        assert context.size_with(b" world") == len(zlib.compress(b"hello hello hello world", 7))
    finally:
        exact_deflate.available.cache_clear()


def test_the_engine_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("ZIPKIT_DEFLATE_ENGINE", "off")
    assert isinstance(compressors.get("zlib:9").context(b"abc"), deflate.StreamCopyContext)


def test_memory_per_context_is_bounded():
    """Hash tables (256 KiB) and a few windows of bytes, whatever the prefix's length."""
    text = _text(3_000_000, seed=9)
    context = EngineContext(9, "zlib")
    for k in range(0, len(text), 100_000):
        context.extend(text[k : k + 100_000])
    context.size_with(b"probe")
    assert context.nbytes < 2_000_000
