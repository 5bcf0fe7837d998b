"""zipkit as datatrove pipeline steps (``pip install 'zipkit[datatrove]'``).

- :class:`ZipkitScore`: a per-record score of any zipkit scorer (``zipfit``, ``ratio``,
  ``length``, ``perplexity``, ``ifd``) into each document's ``metadata``, in batches; a score
  never depends on the other documents of its batch, so batches change nothing but speed.
- :class:`ZipkitSelect`: a selection method (``zip``, ``zipfit``, ``random``, ...) over a
  task's documents, passing on the selected ones in selection order, the rank and score in
  their metadata. A selection needs the documents it chooses among: it runs per datatrove
  task, so a selection over the whole pool runs with ``tasks=1`` (or after a step that
  gathers the shards).
- :class:`ZipkitDedup`: exact or near-duplicate removal (:func:`zipkit.dedup`) over a task's
  documents, the first of each cluster passed on, its cluster in the metadata.
- :class:`ZipkitDecontaminate`: a filter that drops every document sharing an n-gram with a
  benchmark (:mod:`zipkit.decontaminate`), the reason in datatrove's exclusion writer.

Documents become zipkit records ``{"text": doc.text}`` (the ``text`` schema), so what is
compressed, embedded or counted is the document's text.
"""

from __future__ import annotations

from typing import Any, Iterator

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter

from ..api import score, select
from ..dedup import dedup
from ..io import read_records

__all__ = ["ZipkitDecontaminate", "ZipkitDedup", "ZipkitScore", "ZipkitSelect"]


def _records(docs: list[Document]) -> Any:
    return read_records([{"text": d.text} for d in docs], schema="text", progress=False)


class ZipkitScore(PipelineStep):
    """``metadata[key]`` = the document's score by ``method``, computed ``batch_size``
    documents at a time (a score never depends on the other documents of its batch).

    Parameters
    ----------
    method : str, default 'ratio'
        A scorer of :func:`zipkit.score` (``zipfit``, ``ratio``, ``length``, ``perplexity``,
        ``ifd``); ``dsir``, which fits the whole pool, is refused.
    key : str, optional
        The metadata key; the method's name when not given.
    batch_size : int, default 1000
        Documents scored in one call.
    **params : object
        The method's parameters, as :func:`zipkit.score` takes them.
    """

    name = "zipkit score"
    type = "📊 - STATS"

    def __init__(self, method: str = "ratio", key: str | None = None, batch_size: int = 1000, **params: Any):
        super().__init__()
        from .. import methods

        spec = methods.get(method)
        if spec.score is None or not spec.scores:
            raise ValueError(f"method {method!r} does not score records one by one; scorers: {methods.scorers()}")
        if method == "dsir":
            raise ValueError("dsir fits its weights to the whole pool: a batch's scores would differ from the pool's")
        self.method, self.key, self.batch_size, self.params = method, key or method, batch_size, params

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        """The documents of one datatrove task, each with its score in its metadata.

        Parameters
        ----------
        data : DocumentsPipeline
            The documents the step before passed on.
        rank : int, default 0
            This task's number (datatrove's).
        world_size : int, default 1
            How many tasks run the pipeline.
        """
        batch: list[Document] = []
        for doc in data:
            batch.append(doc)
            if len(batch) == self.batch_size:
                yield from self._scored(batch)
                batch = []
        if batch:
            yield from self._scored(batch)

    def _scored(self, batch: list[Document]) -> Iterator[Document]:
        with self.track_time("batch"):
            values = score(_records(batch), method=self.method, **self.params).values
        for doc, value in zip(batch, values):
            doc.metadata[self.key] = float(value)
            self.stat_update("scored")
            yield doc


class ZipkitSelect(PipelineStep):
    """The documents a selection ``method`` picks from a task's documents, in selection
    order, with ``metadata["zipkit_rank"]`` and ``metadata["zipkit_score"]``.

    Parameters
    ----------
    method : str, default 'zip'
        A method of :func:`zipkit.select`.
    **params : object
        Its parameters, as :func:`zipkit.select` takes them, a budget among them.
    """

    name = "zipkit select"
    type = "🔻 - FILTER"

    def __init__(self, method: str = "zip", **params: Any):
        super().__init__()
        self.method, self.params = method, params

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        """The documents of one datatrove task, the selected ones in selection order.

        Parameters
        ----------
        data : DocumentsPipeline
            The documents the step before passed on.
        rank : int, default 0
            This task's number (datatrove's).
        world_size : int, default 1
            How many tasks run the pipeline.
        """
        docs = list(data)
        if not docs:
            return
        with self.track_time():
            res = select(_records(docs), method=self.method, **self.params)
        self.stat_update("documents", value=len(docs))
        self.stat_update("selected", value=len(res.indices))
        for k, (i, value) in enumerate(zip(res.indices, res.scores)):
            doc = docs[int(i)]
            doc.metadata["zipkit_rank"], doc.metadata["zipkit_score"] = k, float(value)
            yield doc


class ZipkitDedup(PipelineStep):
    """A task's documents less their duplicates, in input order; a kept document with copies
    has their ids in ``metadata["duplicates"]``.

    Parameters
    ----------
    **params : object
        The parameters of :func:`zipkit.dedup` (``mode=``, ``threshold=``, ...).
    """

    name = "zipkit dedup"
    type = "🫂 - DEDUP"

    def __init__(self, **params: Any):
        super().__init__()
        self.params = params

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        """The documents of one datatrove task, the first of each cluster of duplicates kept.

        Parameters
        ----------
        data : DocumentsPipeline
            The documents the step before passed on.
        rank : int, default 0
            This task's number (datatrove's).
        world_size : int, default 1
            How many tasks run the pipeline.
        """
        docs = list(data)
        if not docs:
            return
        with self.track_time():
            res = dedup(_records(docs), progress=False, **self.params)
        copies = {c[0]: c[1:] for c in res.clusters}
        self.stat_update("removed", value=len(res.removed))
        for i in res.kept:
            doc = docs[int(i)]
            if int(i) in copies:
                doc.metadata["duplicates"] = [docs[j].id for j in copies[int(i)]]
            self.stat_update("kept")
            yield doc


class ZipkitDecontaminate(BaseFilter):
    """Drops a document that shares an ``ngram``-word sequence (or its whole normalised text)
    with a text of ``against`` (benchmark names, or records files); the reason, for
    datatrove's stats and exclusion writer, is ``contaminated_BENCHMARK``.

    Parameters
    ----------
    against : list of str
        Benchmarks (``humaneval``, ``mbpp``, ``mt_bench``, ``proofnet``, ``minif2f``) or
        records files.
    ngram : int, default 13
        Words in a shared sequence that makes a document contaminated.
    exclusion_writer : datatrove writer, optional
        Where the dropped documents are written, with their reason.
    batch_size : int, default 1000
        Documents matched in one call.
    """

    name = "zipkit decontaminate"

    def __init__(self, against: list[str], ngram: int = 13, exclusion_writer: Any = None, batch_size: int = 1000):
        super().__init__(exclusion_writer, batch_size)
        from ..decontaminate import index_of

        self.index = index_of(list(against), ngram)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        """True to keep ``doc``, else ``(False, reason)``.

        Parameters
        ----------
        doc : Document
            One document.
        """
        return self.filter_batch([doc])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        """:meth:`filter` of every document of ``batch``, in one pass.

        Parameters
        ----------
        batch : list of Document
            Documents to match against the benchmarks.
        """
        from ..decontaminate import split

        _, found = split(_records(batch), self.index)
        # The reason is datatrove's stat key: one per benchmark, so the counts add up by it.
        why = {d.index: f"contaminated_{d.benchmark}" for d in found}
        return [(False, why[k]) if k in why else True for k in range(len(batch))]
