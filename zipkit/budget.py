"""Budgets by record count or by tokens, and the tokenizers that count tokens.

Token budgets are how the entropy-law paper compares methods fairly. A selection under
``budget_tokens=T`` takes records in the method's order while the running total stays
within ``T``, and stops at the first record that would exceed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import regex

from .io import Records
from .steps import Step

TOKENIZERS = ("unicode", "whitespace", "bytes")

# Scripts written without spaces between words: each character is a token (a Chinese or
# Japanese paragraph is otherwise one "word"). Everywhere else a token is a run of characters
# between whitespace, as str.split() finds it (its whitespace: Unicode's White_Space and the
# four information separators \x1c-\x1f).
_UNSPACED = r"\p{Han}\p{Hiragana}\p{Katakana}"
_UNICODE = regex.compile(rf"[{_UNSPACED}]|[^\s\x1c-\x1f{_UNSPACED}]+")


def unicode_tokens(text: str) -> int:
    """Tokens of ``text`` by the ``unicode`` count: one per Han ideograph, hiragana or
    katakana character (Unicode's Script property), one per whitespace-delimited run of other
    characters. On text without those scripts it is ``len(text.split())``."""
    return sum(1 for _ in _UNICODE.finditer(text))


def token_counts(records: Records, tokenizer: str) -> np.ndarray:
    """Tokens of each record's text (int64): ``unicode`` (words, and a token per CJK
    ideograph and kana: :func:`unicode_tokens`), ``whitespace`` words, UTF-8 ``bytes``, or the
    tokenizer of a model (a local path, a cached hub name, or ``packaged:smollm2``;
    ``transformers`` needed)."""
    count = _counter(tokenizer)
    return np.fromiter((count(records.text(i)) for i in range(len(records))), dtype=np.int64, count=len(records))


def _counter(tokenizer: str) -> Callable[[str], int]:
    if tokenizer == "unicode":
        return unicode_tokens
    if tokenizer == "whitespace":
        return lambda text: len(text.split())
    if tokenizer == "bytes":
        return lambda text: len(text.encode("utf-8", "surrogatepass"))
    try:
        import transformers  # noqa: F401
    except ImportError:
        raise ImportError(
            f"tokenizer {tokenizer!r} is neither {' nor '.join(TOKENIZERS)}; a Hugging "
            f"Face tokenizer needs transformers: pip install 'zipkit[models]'"
        ) from None
    from .baselines.models import load_tokenizer

    hf = load_tokenizer(tokenizer)  # a directory, a cached hub name, or packaged:smollm2's
    return lambda text: len(hf(text, add_special_tokens=False)["input_ids"])


def check_budget(n_available: int | None, budget: int | None, budget_tokens: int | None) -> None:
    """Exactly one budget, positive, and a count budget no larger than the pool (when its
    size is known: ``None`` for a pool still in its shards, checked again once scored)."""
    if (budget is None) == (budget_tokens is None):
        raise ValueError("give exactly one of budget=N (records) or budget_tokens=T (tokens)")
    if budget is not None:
        if not _is_count(budget):
            raise ValueError(f"budget must be a positive whole number of records (an int), got {budget!r}")
        if n_available is not None and budget > n_available:
            raise ValueError(
                f"budget {budget} is larger than the pool ({n_available:,} records "
                f"available): lower the budget or add records"
            )
    elif not _is_count(budget_tokens):
        raise ValueError(f"budget_tokens must be a positive whole number of tokens (an int), got {budget_tokens!r}")


def check_fits(budget_tokens: int, tokens: np.ndarray, tokenizer: str) -> None:
    """Before any work: a token budget that no record fits selects nothing, and one larger
    than the pool's tokens is refused as a count budget larger than the pool is."""
    smallest = int(tokens.min()) if len(tokens) else 0
    if budget_tokens < smallest:
        raise ValueError(
            f"budget_tokens={budget_tokens} fits no record: the smallest record has "
            f"{smallest} {tokenizer} tokens; raise the budget"
        )
    total = int(tokens.sum())
    if budget_tokens > total:
        raise ValueError(
            f"budget_tokens={budget_tokens} is larger than the pool ({total:,} {tokenizer} tokens in "
            f"{len(tokens):,} records available): lower the budget or add records"
        )


def _is_count(value: object) -> bool:
    # A float such as 5.0 is refused: it is a sign of a computed budget gone wrong.
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


@dataclass(frozen=True)
class TokenCounts(Step):
    """Tokens of each record's text by ``tokenizer`` (column ``tokens``, int64): what a token
    budget is counted in, for a pool whose records stay in their shards."""

    tokenizer: str
    name = "tokens"

    def build(self, workers: int | None):
        return lambda records: ({"tokens": token_counts(records, self.tokenizer)}, None)
