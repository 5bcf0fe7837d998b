"""The figures `zipkit inspect` counts while it streams the texts, against the same counts
made the plain way, all texts in memory."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from zipkit import summary
from zipkit.io import Payloads

words = st.sampled_from(["a", "b", "the", "data", "zip", "é", "\n", "  "])
texts = st.lists(st.lists(words, max_size=40).map(" ".join), max_size=30)


@settings(max_examples=200, deadline=None)
@given(texts=texts)
def test_distinct_bigrams_equal_a_set_of_every_bigram(texts):
    bigrams = [pair for text in texts for pair in zip(text.split(), text.split()[1:])]
    expected = round(len(set(bigrams)) / len(bigrams), 4) if bigrams else 0.0
    assert summary.distinct_bigrams(iter(texts)) == expected


def test_distinct_bigrams_fold_across_parts_and_chunks():
    """Past a million bigrams the counts are folded into 16 parts: the result is the set's."""
    rng = np.random.default_rng(0)
    vocab = [f"w{k}" for k in range(3000)]
    texts = [" ".join(vocab[i] for i in rng.integers(0, 3000, 5000)) for _ in range(240)]
    bigrams = [pair for text in texts for pair in zip(text.split(), text.split()[1:])]
    assert len(bigrams) > 1 << 20
    assert summary.distinct_bigrams(texts) == round(len(set(bigrams)) / len(bigrams), 4)


@given(texts=texts)
def test_distinct_texts_are_counted_by_digest(texts):
    payloads = Payloads.pack(t.encode() for t in texts)
    idx = np.arange(len(texts))[::-1]
    assert summary._distinct(payloads, idx) == len(set(texts))
