"""Decontamination: the records of a pool that share text with an evaluation benchmark.

A record is contaminated by a benchmark when, after normalisation (NFKC, lower case, words of
letters, digits and underscores; punctuation and spacing dropped), it shares an n-gram of
``ngram`` words (13 by default, as GPT-3's and most later reports' decontamination) with one
of the benchmark's texts, or its whole normalised text equals one of them (which catches a
benchmark text shorter than ``ngram`` words, copied). Dropping such records before selection
keeps a benchmark's answers out of the training data that is then evaluated on it.

The benchmark's n-grams are kept as a set of hashes. A pool record is only hashed within its
runs of words the benchmarks hold at all: a record of other vocabulary costs one lookup per
word, which is what makes a pool of millions practical.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from . import benchmarks
from .steps import Columns, Step

__all__ = ["Dropped", "contaminated", "split"]

NGRAM = 13
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """``text`` normalised: its words, lower-cased, after Unicode compatibility normalisation
    (NFKC: composed and decomposed accents, full-width letters and ligatures count as one)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


@dataclass(frozen=True)
class Dropped:
    """A contaminated record.

    Parameters
    ----------
    index : int
        Its index in the input.
    benchmark : str
        The benchmark it shares text with.
    target : int
        Which of the benchmark's texts.
    reason : str
        Why: the shared n-gram, or an exact match.
    """

    index: int
    benchmark: str
    target: int
    reason: str

    def as_dict(self) -> dict:
        """The four fields by name: a row of ``--dropped``."""
        return {"index": self.index, "benchmark": self.benchmark, "target": self.target, "reason": self.reason}


class Index:
    """The n-grams and whole normalised texts of some benchmarks, to test records against."""

    def __init__(self, ngram: int = NGRAM) -> None:
        if not isinstance(ngram, int) or isinstance(ngram, bool) or ngram < 1:
            raise ValueError(f"ngram={ngram!r} is not a whole number >= 1 of words")
        self.ngram = ngram
        self.grams: dict[int, tuple[str, int]] = {}  # hash of an n-gram -> (benchmark, text)
        self.whole: dict[str, tuple[str, int]] = {}  # normalised text -> (benchmark, text)
        self.vocabulary: set[str] = set()
        self.sizes: dict[str, int] = {}

    def add(self, name: str, texts: Iterable[str]) -> None:
        """Add a benchmark's texts: their n-grams and their whole normalised texts."""
        count = 0
        for k, text in enumerate(texts):
            count += 1
            tokens = words(text)
            if not tokens:
                continue
            self.whole.setdefault(" ".join(tokens), (name, k))
            self.vocabulary.update(tokens)
            n = self.ngram
            for i in range(len(tokens) - n + 1):
                self.grams.setdefault(hash(tuple(tokens[i : i + n])), (name, k))
        self.sizes[name] = count

    def match(self, text: str) -> tuple[str, int, str] | None:
        """The first benchmark text ``text`` shares an n-gram with, or equals: (benchmark,
        text number, reason); None when it is clean."""
        tokens = words(text)
        exact = self.whole.get(" ".join(tokens)) if tokens else None
        if exact is not None:
            return exact[0], exact[1], "its normalised text equals the benchmark text's"
        n = self.ngram
        known = [t in self.vocabulary for t in tokens]
        start = 0
        while start <= len(tokens) - n:
            if not all(known[start : start + n]):
                # Skip past the last unknown word of this window: no n-gram holding it matches.
                start += n - known[start : start + n][::-1].index(False)
                continue
            found = self.grams.get(hash(tuple(tokens[start : start + n])))
            if found is not None:
                return found[0], found[1], f"shares the {n}-word sequence {' '.join(tokens[start : start + n])!r}"
            start += 1
        return None


def index_of(against: Sequence[str], ngram: int = NGRAM, data_dir: Any = None) -> Index:
    """An :class:`Index` of the benchmarks ``against`` (names or records files)."""
    if isinstance(against, str):
        raise TypeError(f"against must be a list of benchmarks, got the string {against!r}; write [{against!r}]")
    if not against:
        raise ValueError(f"name at least one benchmark to decontaminate against: {', '.join(benchmarks.BENCHMARKS)}")
    index = Index(ngram)
    for name in against:
        index.add(str(name), benchmarks.texts(str(name), data_dir))
    return index


def contaminated(records: Any, against: Sequence[str] | Index, ngram: int = NGRAM) -> list[Dropped]:
    """The records that share text with a benchmark of ``against``, in input order, each
    with its input index and why.

    Parameters
    ----------
    records : Records
        The pool, as :func:`zipkit.read_records` gives it.
    against : list of str or Index
        Benchmarks (``humaneval``, ``mbpp``, ``mt_bench``, ``proofnet``, ``minif2f``) or
        records files; or an index of them built once.
    ngram : int, default 13
        Words in a shared sequence that makes a record contaminated.
    """
    return split(records, against, ngram)[1]


def split(records: Any, against: Sequence[str] | Index, ngram: int = NGRAM) -> tuple[np.ndarray, list[Dropped]]:
    """The positions of the records that are clean, and the :class:`Dropped` others.

    Parameters
    ----------
    records : Records
        The pool, as :func:`zipkit.read_records` gives it.
    against : list of str or Index
        Benchmarks or records files; or an index of them built once.
    ngram : int, default 13
        Words in a shared sequence that makes a record contaminated.
    """
    index = against if isinstance(against, Index) else index_of(against, ngram)
    rows = records.index
    keep = np.ones(len(records), dtype=bool)
    dropped = []
    for i in range(len(records)):
        found = index.match(records.text(i))
        if found is not None:
            keep[i] = False
            dropped.append(Dropped(int(rows[i]), found[0], found[1], found[2]))
    return np.flatnonzero(keep), dropped


def account(index: Index, dropped: Sequence[Dropped]) -> dict:
    """What a manifest or a summary says of a decontamination: each benchmark's texts, the
    records dropped for it, and the dropped records' input indices."""
    return {
        "against": dict(index.sizes),
        "dropped": len(dropped),
        "by_benchmark": {name: sum(d.benchmark == name for d in dropped) for name in index.sizes},
        "dropped_indices": [d.index for d in dropped],
    }


@dataclass(frozen=True)
class Contamination(Step):
    """Per record: ``benchmark``, the position in ``against`` of the benchmark it shares text
    with (-1: clean), and ``target``, which of that benchmark's texts (-1: clean). The index of
    the benchmarks is built once per worker, so the local and Ray executors run it over a
    pool's shards; the reasons are found again for the dropped records alone
    (:func:`decontaminate_pool`)."""

    against: tuple[str, ...] = ()
    ngram: int = NGRAM
    data_dir: str | None = field(default=None, compare=False)
    name = "decontaminate"

    def params(self) -> dict:
        return {"against": list(self.against), "ngram": self.ngram}

    def build(self, workers: int | None):
        index = index_of(list(self.against), self.ngram, self.data_dir)
        code = {name: k for k, name in enumerate(self.against)}

        def run(records: Any) -> tuple[Columns, None]:
            benchmark = np.full(len(records), -1, dtype=np.int64)
            target = np.full(len(records), -1, dtype=np.int64)
            for i in range(len(records)):
                found = index.match(records.text(i))
                if found is not None:
                    benchmark[i], target[i] = code[found[0]], found[1]
            return {"benchmark": benchmark, "target": target}, None

        return run


def decontaminate_pool(
    pool: Any, index: Index, against: Sequence[str], data_dir: Any = None
) -> tuple[np.ndarray, list[Dropped]]:
    """:func:`split` of a :class:`zipkit.pool.Pool` on its executor: the positions of the
    clean records and the dropped ones, each with why (found again for them alone). A pool in
    memory here is matched against ``index`` itself."""
    if pool.whole() is not None:
        return split(pool.whole(), index)
    step = Contamination(tuple(str(a) for a in against), index.ngram, None if data_dir is None else str(data_dir))
    columns, _ = pool.map(step)
    hit = np.flatnonzero(columns["benchmark"] >= 0)
    dropped = []
    if len(hit):
        records = pool.take(hit)
        for k, position in enumerate(hit):
            name, target, reason = index.match(records.text(k))
            dropped.append(Dropped(int(pool.index[position]), name, target, reason))
    return np.flatnonzero(columns["benchmark"] < 0), dropped
