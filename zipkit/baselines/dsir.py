"""DSIR: data selection by importance resampling on hashed n-grams (Xie et al. 2023).

Features are those of the reference package (``data-selection`` 1.0.3, p-lambda/dsir):
lower-cased word-punct tokens (``\\w+|[^\\w\\s]+``, nltk's WordPunctTokenizer, matched as nltk
matches it: with the ``regex`` engine, whose ``\\w`` takes in combining marks such as the
vowel signs of Devanagari and Bengali, where ``re`` splits those words), their
unigrams and bigrams (two words joined by one space), each hashed by sha256 of its UTF-8
text, read as a big-endian integer, modulo ``num_buckets``. The raw pool and the target
each give a bucket distribution; a record's log importance weight is its bucket counts
dotted with ``log(p_target + 1e-8) - log(p_raw + 1e-8)``, not normalised by length.
Selection is Gumbel top-k on the log weights (sampling without replacement in proportion
to the weights) with a seed, or plain top-k.

Speed: tokens become integer ids through one vocabulary per block, bigrams become pairs
of ids, and sha256 runs once per distinct n-gram of a block, not once per occurrence;
blocks of records run in worker processes.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import regex

from ..io import Records, read_records
from ..parallel import map_blocks, resolve_workers
from ..progress import bar

# nltk compiles its patterns with the ``regex`` engine and these flags (nltk.tokenize.regexp).
WORDPUNCT = regex.compile(r"\w+|[^\w\s]+", regex.UNICODE | regex.MULTILINE | regex.DOTALL)
NUM_BUCKETS = 10_000
# Two float64 distributions of this many buckets (2 GiB each) is already more than any
# n-gram vocabulary needs; past it the feature counts' int32 arithmetic would overflow.
MAX_BUCKETS = 2**27
SMOOTHING = 1e-8
RESAMPLING = ("gumbel", "top_k")
# Records per block (a worker's unit of work, and one vocabulary).
_BLOCK = 4096
_MIN_RECORDS_FOR_PROCESSES = 20_000


def bucket(ngram: str, num_buckets: int = NUM_BUCKETS) -> int:
    """The reference package's hash bucket of one n-gram."""
    return int.from_bytes(hashlib.sha256(ngram.encode("utf-8")).digest(), "big") % num_buckets


def tokenize(text: str) -> list[str]:
    """The lower-cased word-punct tokens of ``text``, as the data-selection package finds them."""
    return WORDPUNCT.findall(text.lower())


@dataclass
class Features:
    """Hashed n-grams of a block of records: every n-gram's bucket, record by record
    (unigrams, then bigrams), with how many n-grams and words each record has."""

    buckets: np.ndarray  # all n-grams of the block (uint16 for up to 65,536 buckets)
    ngrams: np.ndarray  # int64 per record: n-grams it contributed
    words: np.ndarray  # int64 per record: word-punct tokens

    def counts(self, num_buckets: int) -> np.ndarray:
        """The pool's (or target's) count of each hash bucket."""
        return np.bincount(self.buckets, minlength=num_buckets)

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """Per record: sum of ``weights`` over its n-grams, i.e. counts(record) . weights."""
        owner = np.repeat(np.arange(len(self.ngrams)), self.ngrams)
        return np.bincount(owner, weights=weights[self.buckets], minlength=len(self.ngrams))


def featurize(texts: Sequence[str], num_buckets: int = NUM_BUCKETS, ngrams: int = 2) -> Features:
    """Hashed unigram (and bigram, ``ngrams=2``) features of ``texts``."""
    if ngrams not in (1, 2):
        raise ValueError(f"ngrams must be 1 (unigrams) or 2 (unigrams and bigrams), got {ngrams!r}")
    vocab: dict[str, int] = {}
    tokens = [tokenize(text) for text in texts]
    ids = np.fromiter((vocab.setdefault(w, len(vocab)) for toks in tokens for w in toks), np.int64)
    words = np.fromiter(map(len, tokens), np.int64, len(tokens))
    words_list = list(vocab)
    unigram = np.fromiter((bucket(w, num_buckets) for w in words_list), np.int32, len(words_list))
    record = np.repeat(np.arange(len(tokens)), words)
    parts_buckets, parts_owner = [unigram[ids]], [record]
    if ngrams == 2:
        # A bigram pairs each token with the next one of the same record.
        inner = np.flatnonzero(record[:-1] == record[1:]) if len(ids) > 1 else np.empty(0, np.int64)
        keys = ids[inner] * len(words_list) + ids[inner + 1]
        distinct, inverse = np.unique(keys, return_inverse=True)
        first, second = np.divmod(distinct, len(words_list))
        bigram = np.fromiter(
            (bucket(f"{words_list[a]} {words_list[b]}", num_buckets) for a, b in zip(first.tolist(), second.tolist())),
            np.int32,
            len(distinct),
        )
        parts_buckets.append(bigram[inverse.reshape(-1)])
        parts_owner.append(record[inner])
    owner = np.concatenate(parts_owner)
    order = np.argsort(owner, kind="stable")  # group by record: unigrams, then bigrams
    narrow = np.uint16 if num_buckets <= 1 << 16 else np.int32  # half the memory of a big pool
    return Features(
        np.concatenate(parts_buckets)[order].astype(narrow),
        np.bincount(owner, minlength=len(tokens)).astype(np.int64),
        words,
    )


class DSIR:
    """A fitted DSIR estimator: bucket distributions of the raw pool and of the target."""

    def __init__(
        self, num_buckets: int = NUM_BUCKETS, ngrams: int = 2, workers: int | None = None, progress: bool | None = None
    ) -> None:
        if not isinstance(num_buckets, (int, np.integer)) or isinstance(num_buckets, bool) or num_buckets < 1:
            raise ValueError(f"num_buckets={num_buckets!r} is not a whole number >= 1 of hash buckets")
        if num_buckets > MAX_BUCKETS:
            raise ValueError(f"num_buckets={num_buckets!r} is more than {MAX_BUCKETS:,}, the most zipkit takes for it")
        self.num_buckets, self.ngrams = int(num_buckets), int(ngrams)
        self.workers, self.progress = resolve_workers(workers), progress
        self.log_diff: np.ndarray | None = None

    def features(self, records: Records, what: str) -> Iterator[Features]:
        """Features of every block of ``records``, in order."""
        spans = [(a, min(a + _BLOCK, len(records))) for a in range(0, len(records), _BLOCK)]
        blocks = ([records.text(i) for i in range(a, b)] for a, b in spans)
        args = (self.num_buckets, self.ngrams)
        if self.workers == 1 or len(records) < _MIN_RECORDS_FOR_PROCESSES:
            results: Iterator[Features] = (featurize(block, *args) for block in blocks)
        else:
            results = map_blocks(_featurizer, args, blocks, self.workers)
        with bar(len(records), f"dsir: hashing n-grams of the {what}", "rec", self.progress) as pbar:
            for (a, b), features in zip(spans, results):
                pbar.update(b - a)
                yield features

    def fit(self, raw: Records, target: Any, raw_fit_ngrams: int | None = None) -> list[Features]:
        """Fit both distributions; return the raw pool's features for weighting.

        ``raw_fit_ngrams`` caps the n-grams that fit the raw distribution: records in pool
        order, up to and including the first after which the count passes the cap, as the
        package stops (one shard); ``None`` = all.
        """
        raw_features = list(self.features(raw, "pool"))
        raw_counts = np.zeros(self.num_buckets, np.int64)
        fitted = 0
        for block in raw_features:
            taken = len(block.buckets)
            if raw_fit_ngrams is not None:
                running = fitted + np.cumsum(block.ngrams)
                past = np.flatnonzero(running > raw_fit_ngrams)
                if len(past):
                    taken = int(running[past[0]] - fitted)
            raw_counts += np.bincount(block.buckets[:taken], minlength=self.num_buckets)
            fitted += taken
            if raw_fit_ngrams is not None and fitted > raw_fit_ngrams:
                break
        self.fit_counts(raw_counts, target)
        return raw_features

    def pool_counts(self, records: Records) -> np.ndarray:
        """The bucket counts of every n-gram of ``records`` (a shard's part of the raw
        distribution; the sum over shards is the pool's)."""
        return sum(
            (f.counts(self.num_buckets) for f in self.features(records, "pool")), np.zeros(self.num_buckets, np.int64)
        )

    def fit_counts(self, raw_counts: np.ndarray, target: Any) -> None:
        """Fit from the raw pool's bucket counts and the target's records."""
        target_counts = sum(
            (f.counts(self.num_buckets) for f in self.features(read_records(target), "target")),
            np.zeros(self.num_buckets, np.int64),
        )
        self.log_diff = np.log(target_counts / target_counts.sum() + SMOOTHING) - np.log(
            raw_counts / raw_counts.sum() + SMOOTHING
        )

    def log_weights(self, features: list[Features]) -> np.ndarray:
        """Each record's log importance weight: its bucket counts dotted with log p_target - log p_raw."""
        assert self.log_diff is not None, "fit first"
        return np.concatenate([f.dot(self.log_diff) for f in features]) if features else np.empty(0)


def _featurizer(num_buckets: int, ngrams: int) -> Callable[[Sequence[str]], Features]:
    """A worker process's featurize, with the run's settings bound."""
    return functools.partial(featurize, num_buckets=num_buckets, ngrams=ngrams)


def gumbel_keys(log_weights: np.ndarray, seed: int) -> np.ndarray:
    """Log weights plus standard Gumbel noise: the top k of these keys is a sample of k
    records without replacement, each draw in proportion to exp(log weight). One draw per
    pool position, so a record's noise does not depend on which records a filter drops."""
    return log_weights + np.random.default_rng(seed).gumbel(size=len(log_weights))
