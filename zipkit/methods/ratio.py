"""Each record's own compression ratio (raw bytes / compressed bytes; higher = more
redundant): the entropy-law measurement per record, a scorer only."""

from __future__ import annotations

from dataclasses import dataclass

from ..ratio import DEFAULT_COMPRESSOR, record_ratios
from ..steps import Step
from .params import COMPRESSOR, PROGRESS, SERIALIZER, WORKERS
from .spec import Method


@dataclass(frozen=True)
class RecordRatios(Step):
    """Each record's ratio and its bytes (``zipkit ratio``'s columns)."""

    compressor: str
    serializer: str
    workers: int | None = None
    progress: bool | None = False
    name = "ratio"

    def build(self, workers: int | None):
        workers = self.workers or workers

        def run(records):
            return {
                "ratio": record_ratios(records, self.compressor, self.serializer, workers, self.progress),
                "bytes": records.payloads(self.serializer).lengths,
            }, None

        return run


PARAMS = (COMPRESSOR.but(default=DEFAULT_COMPRESSOR), SERIALIZER, WORKERS, PROGRESS)


def score(pool, p: dict) -> tuple[dict, None]:
    """Each record's own compression ratio."""
    from .. import compressors

    step = RecordRatios(compressors.get(p["compressor"]).spec, p["serializer"], p["workers"], p["progress"])
    return pool.map(step)


METHOD = Method(
    name="ratio",
    summary="each record's own compression ratio",
    params=PARAMS,
    column="ratio",
    direction="lower",
    score=score,
    scores=True,
    score_summary="each record's own compression ratio",
)
