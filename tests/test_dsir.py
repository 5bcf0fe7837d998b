import json

import numpy as np
import pytest

import zipkit
from zipkit.baselines import dsir

TEXTS = [
    "Alice went to the store.",
    "The store was closed; Alice went home!",
    "def add(x, y):\n    return x + y",
    "Ünïcödé — naïve café, “quotes”\tand 🙂!!",
    "...",
    "import numpy as np\nprint(np.arange(3)) # numbers",
    # Combining marks (Devanagari and Bengali vowel signs, a virama, a Latin accent as its
    # own code point): nltk's regex engine keeps each of these words whole.
    "नमस्ते दुनिया, यह हिंदी है।",
    "বাংলা ভাষা খুব সুন্দর",
    "cafe\u0301 and re\u0301sume\u0301",
]


def test_regression_values_of_the_reference_package():
    assert dsir.bucket("alice") == 6720
    assert dsir.bucket("alice went") == 114
    features = dsir.featurize(["Alice went to the store"])
    assert features.ngrams.tolist() == [9] and features.words.tolist() == [5]


def test_features_equal_the_reference_featurizer():
    from data_selection.hashed_ngram_dsir import get_ngram_counts

    texts = TEXTS + ["", "one"]
    features = dsir.featurize(texts)
    start = 0
    for text, n in zip(texts, features.ngrams):
        ours = np.bincount(features.buckets[start : start + n], minlength=dsir.NUM_BUCKETS)
        np.testing.assert_array_equal(ours, get_ngram_counts(text))
        start += n


def test_words_with_combining_marks_are_one_token_as_in_the_reference():
    from nltk.tokenize import WordPunctTokenizer

    for text in TEXTS[-3:]:
        assert dsir.tokenize(text) == WordPunctTokenizer().tokenize(text.lower())
    assert dsir.tokenize("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]


def test_unigrams_only():
    features = dsir.featurize(["a b a c"], ngrams=1)
    assert sorted(features.buckets.tolist()) == sorted(dsir.bucket(w) for w in "a b a c".split())


def write_jsonl(path, texts):
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    return path


def pool_texts(n=300, seed=0):
    rng = np.random.default_rng(seed)
    words = (
        "the model data loss , . ; def return x y ( ) : + numpy import print store alice went "
        "closed home why how code list"
    ).split()
    return [" ".join(rng.choice(words, int(rng.integers(1, 150)))) for _ in range(n)] + TEXTS


@pytest.mark.parametrize("cap", ["all", 3000])
def test_log_weights_equal_the_reference_package(tmp_path, cap):
    from data_selection import HashedNgramDSIR

    raw = write_jsonl(tmp_path / "raw.jsonl", pool_texts())
    target = write_jsonl(tmp_path / "target.jsonl", TEXTS[2:4] + ["print(x) ; return y"])
    reference = HashedNgramDSIR(
        [str(raw)], [str(target)], cache_dir=str(tmp_path / "cache"), num_proc=1, min_example_length=0
    )
    reference.fit_importance_estimator(num_tokens_to_fit=cap)
    reference.compute_importance_weights()
    expected = np.load(tmp_path / "cache" / "log_importance_weights" / "0.npy")
    got = zipkit.score(
        str(raw), method="dsir", target=str(target), progress=False, raw_fit_ngrams=None if cap == "all" else cap
    )
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)


def test_worker_processes_change_nothing(monkeypatch):
    texts = pool_texts(500)
    serial = zipkit.score(texts, method="dsir", target=TEXTS[2:4], workers=1).values
    monkeypatch.setattr(dsir, "_MIN_RECORDS_FOR_PROCESSES", 1)
    monkeypatch.setattr(dsir, "_BLOCK", 37)
    np.testing.assert_array_equal(zipkit.score(texts, method="dsir", target=TEXTS[2:4], workers=2).values, serial)


def test_gumbel_top_1_samples_in_proportion_to_the_weights():
    weights = np.array([0.1, 0.2, 0.3, 0.4])
    firsts = [int(np.argmax(dsir.gumbel_keys(np.log(weights), seed))) for seed in range(4000)]
    frequency = np.bincount(firsts, minlength=4) / len(firsts)
    np.testing.assert_allclose(frequency, weights, atol=0.03)


def test_resampling_is_seeded_and_top_k_is_the_ranking():
    texts = pool_texts()
    target = TEXTS[2:4]
    a = zipkit.select(texts, method="dsir", target=target, budget=40, seed=1)
    b = zipkit.select(texts, method="dsir", target=target, budget=40, seed=1)
    c = zipkit.select(texts, method="dsir", target=target, budget=40, seed=2)
    assert a.indices.tolist() == b.indices.tolist() != c.indices.tolist()
    assert len(set(a.indices.tolist())) == 40
    weights = zipkit.score(texts, method="dsir", target=target)
    top = zipkit.select(texts, method="dsir", target=target, budget=40, resampling="top_k", min_tokens=0)
    assert top.indices.tolist() == sorted(range(len(texts)), key=lambda i: (-weights[i], i))[:40]
    assert a.manifest["parameters"]["seed"] == 1 and a.manifest["method"] == "dsir"


def test_min_tokens_filter():
    texts = pool_texts()
    words = [len(dsir.tokenize(t)) for t in texts]
    result = zipkit.select(texts, method="dsir", target=TEXTS[2:4], budget=30, min_tokens=100)
    assert all(words[i] >= 100 for i in result.indices)
    passing = sum(w >= 100 for w in words)
    with pytest.raises(ValueError, match="pass min_tokens=100"):
        zipkit.select(texts, method="dsir", target=TEXTS[2:4], budget=passing + 1, min_tokens=100)


def test_bad_parameters():
    with pytest.raises(ValueError, match="resampling must be"):
        zipkit.select(TEXTS, method="dsir", target=TEXTS, budget=2, resampling="greedy")
    with pytest.raises(ValueError, match="ngrams must be"):
        zipkit.score(TEXTS, method="dsir", target=TEXTS, ngrams=3)
    with pytest.raises(ValueError, match="empty text"):
        zipkit.score(TEXTS, method="dsir", target=["  \n"])
