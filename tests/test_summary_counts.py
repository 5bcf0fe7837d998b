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


def _near_duplicates_by_lsh(texts, threshold=0.8, num_perm=64):
    """The count the way datasketch's LSH gives it: query, then insert, record by record."""
    from datasketch import MinHash, MinHashLSH

    lsh, found = MinHashLSH(threshold=threshold, num_perm=num_perm), 0
    for k, text in enumerate(texts):
        words = text.split()
        signature = MinHash(num_perm=num_perm, seed=1)
        signature.update_batch([" ".join(words[i : i + 3]).encode() for i in range(max(len(words) - 2, 1))])
        found += bool(lsh.query(signature))
        lsh.insert(str(k), signature)
    return found


def test_near_duplicates_equal_an_lsh_queried_before_each_insert():
    rng = np.random.default_rng(2)
    vocab = [f"w{k}" for k in range(400)]
    base = [[vocab[i] for i in rng.integers(0, 400, 60)] for _ in range(40)]
    texts = []
    for words in base:  # each text, and copies with one, five and twenty words changed
        for changed in (0, 1, 5, 20):
            copy = list(words)
            for i in rng.integers(0, 60, changed):
                copy[i] = vocab[rng.integers(0, 400)]
            texts.append(" ".join(copy))
    texts += ["", "one", "two words"]
    order = rng.permutation(len(texts))
    texts = [texts[i] for i in order]
    for threshold in (0.5, 0.8, 0.9):
        expected = _near_duplicates_by_lsh(texts, threshold)
        assert 0 < expected < len(texts)
        assert summary.near_duplicates(iter(texts), threshold) == expected
