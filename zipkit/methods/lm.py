"""The step both LM baselines share: one batched pass of a small causal LM over the
records (:func:`zipkit.baselines.difficulty.loss_table`), the method's score with every
loss and token count it comes from, and the LM's manifest."""

from __future__ import annotations

from dataclasses import dataclass

from ..steps import Step
from .params import BATCH_TOKENS, CACHE, CAUSAL_LM, DEVICE, PROGRESS

LM_PARAMS = (CAUSAL_LM, DEVICE, BATCH_TOKENS, CACHE, PROGRESS)


@dataclass(frozen=True)
class LmLosses(Step):
    """``kind`` (perplexity or ifd): its score columns and the losses; the model is loaded
    on the first shard and kept by the worker."""

    kind: str
    model: str
    device: str
    max_length: int | None
    tokens: str = "response"
    ifd_variant: str = "superfiltering"
    batch_tokens: int | None = None
    cache: str | None = None
    progress: bool | None = False
    name = "lm_losses"
    uses_gpu = True

    def params(self) -> dict:
        return {k: v for k, v in super().params().items() if k not in ("batch_tokens", "cache")}

    def build(self, workers: int | None):
        from ..baselines.difficulty import loss_table

        return lambda records: loss_table(
            records,
            self.kind,
            tokens=self.tokens,
            ifd_variant=self.ifd_variant,
            model=self.model,
            device=self.device,
            max_length=self.max_length,
            batch_tokens=self.batch_tokens,
            cache=self.cache,
            progress=self.progress,
        )


def losses(pool, kind: str, p: dict, **settings) -> tuple[dict, dict]:
    """The ``kind`` pass over the pool: columns, and the LM's manifest under ``lm``."""
    step = LmLosses(
        kind,
        p["model"],
        p["device"],
        p["max_length"],
        batch_tokens=p["batch_tokens"],
        cache=None if p["cache"] is None else str(p["cache"]),
        progress=p["progress"],
        **settings,
    )
    columns, lm = pool.map(step)
    return columns, {"lm": lm}
