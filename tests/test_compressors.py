import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zipkit import compressors
from zipkit.compressors import CONDITIONAL, EXACT

ALL_SPECS = [
    "zlib:1",
    "zlib:6",
    "zlib:9",
    "gzip:6",
    "deflate:9",
    "zlib:9,window=10",
    "isal:0",
    "isal:3",
    "zstd:-3",
    "zstd:3",
    "zstd:19",
    "lz4:1",
    "lz4:8",
    "lz4hc:9",
    "brotli:1",
    "brotli:5",
]
DEFLATE_SPECS = ["zlib:1", "zlib:6", "zlib:9", "gzip:1", "gzip:9", "deflate:6", "zlib:9,window=9,memlevel=3"]

# Text-like bytes: a small alphabet of words so that prefixes and suffixes share matches.
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
    ]
)
texty = st.lists(words, max_size=400).map(b"".join)
blobs = st.one_of(texty, st.binary(max_size=3000))


@settings(max_examples=60, deadline=None)
@given(spec=st.sampled_from(DEFLATE_SPECS), prefix=blobs, suffix=blobs)
def test_deflate_context_equals_one_shot(spec, prefix, suffix):
    c = compressors.get(spec)
    ctx = c.context(prefix)
    assert ctx.exactness == EXACT
    assert ctx.size_with(suffix) == len(c.compress(prefix + suffix))
    # Querying does not disturb the context.
    assert ctx.size_with(suffix) == len(c.compress(prefix + suffix))


@settings(max_examples=40, deadline=None)
@given(spec=st.sampled_from(DEFLATE_SPECS), pieces=st.lists(blobs, min_size=1, max_size=5), suffix=blobs)
def test_deflate_context_extend_and_fork_stay_exact(spec, pieces, suffix):
    c = compressors.get(spec)
    ctx = c.context()
    prefix = b""
    for piece in pieces:
        twin = ctx.fork()
        ctx.extend(piece)
        # The fork kept the state from before the extension.
        assert twin.size_with(piece + suffix) == len(c.compress(prefix + piece + suffix))
        prefix += piece
        assert ctx.size_with(suffix) == len(c.compress(prefix + suffix))


def test_deflate_context_exact_on_large_prefixes():
    rng = np.random.default_rng(0)
    vocab = [bytes(w, "ascii") for w in "alpha beta gamma delta epsilon zeta eta theta iota".split()]
    text = b" ".join(vocab[i] for i in rng.integers(0, len(vocab), 120_000))
    c = compressors.get("zlib:9")
    for cut in (40_000, 300_000):
        ctx = c.context(text[:cut])
        for length in (10, 700, 5000):
            suffix = text[cut : cut + length]
            assert ctx.size_with(suffix) == len(zlib.compress(text[:cut] + suffix, 9))


@settings(max_examples=40, deadline=None)
@given(spec=st.sampled_from(DEFLATE_SPECS), prefix=blobs, suffix=blobs)
def test_flushed_context_is_the_size_of_a_real_flushed_stream(spec, prefix, suffix):
    c = compressors.get(spec)
    ctx = c.context(prefix, exact=False)
    assert ctx.exactness == CONDITIONAL
    stream = c._stream()
    out = stream.compress(prefix)
    if prefix:
        out += stream.flush(zlib.Z_SYNC_FLUSH)
    out += stream.compress(suffix) + stream.flush()
    assert ctx.size_with(suffix) == len(out)
    assert c.decompress(out) == prefix + suffix


@pytest.mark.parametrize("spec", ALL_SPECS)
@settings(max_examples=15, deadline=None)
@given(data=blobs)
def test_every_backend_round_trips_and_sizes_agree(spec, data):
    c = compressors.get(spec)
    packed = c.compress(data)
    assert c.decompress(packed) == data
    assert c.size(data) == len(packed)
    assert c.size(memoryview(data)) == len(packed)


@pytest.mark.parametrize("spec", ALL_SPECS)
def test_sizes_in_a_thread_pool_equal_one_by_one(spec):
    rng = np.random.default_rng(1)
    items = [bytes(rng.integers(97, 105, rng.integers(1, 900)).astype(np.uint8)) for _ in range(300)]
    c = compressors.get(spec)
    expected = [len(c.compress(x)) for x in items]
    assert c.sizes(items, workers=2).tolist() == expected
    assert c.sizes(items, workers=1).tolist() == expected


@pytest.mark.parametrize("spec", ALL_SPECS)
def test_stream_size_is_the_size_of_a_decodable_stream(spec):
    c = compressors.get(spec)
    chunks = [b"record %d says hello\n" % i for i in range(2000)]
    stream = c._stream()
    packed = b"".join(stream.compress(x) for x in chunks) + stream.flush()
    assert c.decompress(packed) == b"".join(chunks)
    assert c.stream_size(chunks) == len(packed)


@pytest.mark.parametrize("spec", ALL_SPECS)
def test_exact_context_of_every_backend_equals_recompression(spec):
    c = compressors.get(spec)
    prefix, suffix = b"some selected records\n" * 40, b"a new candidate record"
    ctx = c.context(prefix, exact=True)
    assert ctx.exactness == EXACT
    assert ctx.size_with(suffix) == c.size(prefix + suffix)
    ctx.extend(suffix)
    assert ctx.size_with(b"more") == c.size(prefix + suffix + b"more")


@pytest.mark.parametrize("spec", ["isal:2", "zstd:3", "lz4:1", "lz4hc:9", "brotli:5"])
def test_conditional_contexts_use_the_prefix_as_history(spec):
    rng = np.random.default_rng(2)
    novel = bytes(rng.integers(97, 123, 3000).astype(np.uint8))
    repeat = bytes(rng.integers(97, 123, 3000).astype(np.uint8))
    c = compressors.get(spec)
    ctx = c.context(b"header " + repeat)
    assert ctx.exactness == CONDITIONAL
    # A suffix already in the history costs a small fraction of a novel one.
    assert ctx.cost(repeat) < 0.2 * ctx.cost(novel)
    # With no history the estimate is the one-shot size (the framing cost cancels).
    assert c.context().size_with(novel) == c.size(novel)


@pytest.mark.parametrize("spec", ["isal:2", "zstd:3", "lz4:1", "brotli:5"])
def test_conditional_extend_and_fork(spec):
    c = compressors.get(spec)
    ctx = c.context(b"first part of the pool. " * 20)
    twin = ctx.fork()
    before = ctx.size_with(b"first part")
    ctx.extend(b"second part, different words entirely! " * 20)
    assert twin.size_with(b"first part") == before
    assert ctx.base > twin.base
    # The extension is now history: repeating it is cheap.
    assert ctx.cost(b"second part, different words entirely! " * 5) < 20


@pytest.mark.parametrize(
    "spec, message",
    [
        ("zst:3", "Did you mean 'zstd'"),
        ("zlib:12", "levels are 0 to 9"),
        ("lz4hc:1", "levels are 3 to 12"),
        ("zstd:3,window=20", "takes key=value options from: history"),
        ("zstd:3,history", "bad option"),
        ("brotli:5,window=30", "out of range"),
        ("zlib:nine", "not an integer"),
        ("", "must be a string"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        compressors.get(spec)


@pytest.mark.parametrize("spec", ["gzip:0", "zlib:0", "deflate:0"])
def test_stored_deflate_is_refused_with_the_reason(spec):
    with pytest.raises(ValueError, match="rank by length"):
        compressors.get(spec)
    stored = compressors.get(spec, allow_stored=True)
    data = b"abc" * 1000
    assert stored.size(data) > len(data)  # stored: no compression at all


def test_spec_round_trips_and_defaults():
    assert compressors.get("zlib").spec == "zlib:6"
    assert compressors.get("zstd:3,history=65536").spec == "zstd:3,history=65536"
    assert compressors.get("zstd:3,history=1048576").spec == "zstd:3"
    c = compressors.get("lz4hc:12")
    assert compressors.get(c.spec).spec == c.spec
    assert compressors.get(c) is c


def test_gzip_is_raw_deflate_plus_18_bytes():
    data = b"entropy law " * 500
    assert compressors.get("gzip:9").size(data) == compressors.get("deflate:9").size(data) + 18
    assert compressors.get("zlib:9").size(data) == compressors.get("deflate:9").size(data) + 6


def test_available_lists_every_backend():
    names = [row["name"] for row in compressors.available()]
    assert names == list(compressors.BACKENDS)


def instruction_like(n, seed=0):
    """Records of a few hundred bytes over a shared vocabulary, as an instruction pool."""
    rng = np.random.default_rng(seed)
    vocab = [bytes(rng.integers(97, 123, int(rng.integers(2, 9))).astype(np.uint8)) for _ in range(600)]
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    return [
        b"\n" + b" ".join(vocab[i] for i in rng.choice(len(vocab), int(rng.integers(20, 90)), p=weights))
        for _ in range(n)
    ]


@pytest.mark.parametrize("spec", ["isal:2", "zstd:3", "lz4:1", "lz4hc:9", "brotli:5"])
def test_conditional_sizes_stay_near_the_true_size_as_the_context_grows(spec):
    """Fed one record at a time as ZIP grows D' (~110 kB here, past every library's
    window but zstd's), a query's size stays within 1 % of one-shot compression of the
    whole: only the candidate's own cost is an estimate, never the held prefix's size."""
    c = compressors.get(spec)
    records = instruction_like(560)
    ctx, prefix = c.context(), b""
    for record in records[:500]:
        ctx.extend(record)
        prefix += record
    assert ctx.base == c.size(prefix)
    for record in records[500:]:
        true = c.size(prefix + record)
        assert abs(ctx.size_with(record) - true) <= 0.01 * true
