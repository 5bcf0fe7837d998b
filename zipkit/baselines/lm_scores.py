"""One batched pass of a causal LM over a pool: the losses perplexity and IFD derive from.

Every sequence starts with the same start token, so that the first response token is
scored in both passes:

- ``cond``: start + the conversation: each turn's prompt, then its response, turn after
  turn. One forward pass scores every response given everything before it (a causal LM
  sees only the past), and the prompt tokens give the full-sequence loss. A conversation
  longer than ``max_length`` continues in a new sequence that starts with as much of the
  history as leaves room (the end of it), so those history tokens count twice in the
  full-sequence loss.
- ``direct``: start + the format's prefix + one response. The response's loss on its own.

Prompts and responses are tokenized apart and joined as ids, so both passes score exactly
the same response tokens. A response that does not fit is cut at its end, in both passes.

Sequences run sorted by length in batches of at most ``batch_tokens`` padded tokens,
right-padded with an attention mask; each sequence's losses come from its own logits
and labels (a model's built-in loss would average over the batch). Per record the
module stores sums and counts (a multi-turn record pools the tokens of all its turns):

    loss_cond   = NLL of response tokens given context / response tokens
    loss_direct = NLL of response tokens, unconditioned / response tokens
    loss_full   = NLL of context and response tokens / their count (the start token excluded)

Results are cached per pass (``.npz`` under :func:`zipkit.baselines.models.cache_dir`, keyed by the
token ids and response spans of every sequence, the model, its dtype, the device kind and
the length limit), saved at most a minute apart, so an interrupted run continues where it
stopped; the manifest says how many sequences came from the cache. On a GPU an
out-of-memory batch is retried at half the size.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..identity import fingerprint
from ..io import Records, atomic_output
from ..io.schemas import messages
from ..progress import bar
from . import turns as turnmod
from .models import (
    DEFAULT_CAUSAL_LM,
    cache_dir,
    default_dtype,
    load_cached,
    load_causal_lm,
    load_tokenizer,
    locate,
    quiet_loading,
    require,
    resolve_device,
)

PASSES = ("cond", "direct")
# Padded tokens per batch: the logits of a batch are batch_tokens x vocabulary floats.
DEFAULT_BATCH_TOKENS = {"cpu": 4096, "cuda": 32768}
_SAVE_EVERY_S = 60.0


@dataclass
class Sequences:
    """Token sequences of one pass: ids, the response spans in each (start, end) and whose
    record each sequence is."""

    ids: list = field(default_factory=list)
    spans: list = field(default_factory=list)
    owner: list = field(default_factory=list)


@dataclass
class Losses:
    """Per-record sums and counts of one or both passes (NaN where a pass did not run)."""

    nll_response: np.ndarray
    n_response: np.ndarray
    nll_context: np.ndarray
    n_context: np.ndarray
    nll_direct: np.ndarray
    n_direct: np.ndarray
    manifest: dict

    @property
    def loss_cond(self) -> np.ndarray:
        return _ratio(self.nll_response, self.n_response)

    @property
    def loss_direct(self) -> np.ndarray:
        return _ratio(self.nll_direct, self.n_direct)

    @property
    def loss_full(self) -> np.ndarray:
        return _ratio(self.nll_response + self.nll_context, self.n_response + self.n_context)

    def table(self) -> dict[str, np.ndarray]:
        """Columns keyed by position, for parquet/JSONL output."""
        return {
            "loss_cond": self.loss_cond,
            "loss_direct": self.loss_direct,
            "loss_full": self.loss_full,
            "response_tokens": self.n_response,
            "context_tokens": self.n_context,
        }


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.maximum(b, 1), np.nan)


def start_token_id(tokenizer: Any, start_token: str = "auto") -> tuple[int, str]:
    """The token every sequence starts with: GPT-2-style ``<|endoftext|>`` where the
    vocabulary has it, else the BOS, EOS or CLS token; or the one named."""
    if start_token != "auto":
        ids = tokenizer.convert_tokens_to_ids([start_token])
        if not ids or ids[0] is None or ids[0] == tokenizer.unk_token_id:
            raise ValueError(f"start token {start_token!r} is not in the tokenizer's vocabulary")
        return int(ids[0]), start_token
    vocab = tokenizer.get_vocab()
    if "<|endoftext|>" in vocab:
        return int(vocab["<|endoftext|>"]), "<|endoftext|>"
    for name in ("bos_token", "eos_token", "cls_token"):
        token = getattr(tokenizer, name, None)
        if token is not None:
            return int(tokenizer.convert_tokens_to_ids(token)), token
    raise ValueError("the tokenizer has no <|endoftext|>, BOS, EOS or CLS token: name one with start_token=...")


def build_sequences(
    records: Records, tokenizer: Any, fmt: str, passes: tuple, max_length: int, start: int
) -> dict[str, Sequences]:
    """The token sequences of each pass, for every turn of every record."""
    out = {p: Sequences() for p in passes}
    encode = functools.partial(_encode, tokenizer)
    prefix = encode(turnmod.direct_prefix(fmt))
    for position in range(len(records)):
        turns = turnmod.turns_of(messages(records[position], records.schema, records.text_fields))
        parts = [(encode(p), encode(r)) for p, r in turnmod.pieces(turns, fmt)]
        kept = _pack(out.get("cond"), parts, start, max_length, len(prefix), position)
        if "direct" in out:
            for response in kept:
                if response:
                    _append(
                        out["direct"],
                        [start] + prefix + response,
                        [(1 + len(prefix), 1 + len(prefix) + len(response))],
                        position,
                    )
    return out


def _encode(tokenizer: Any, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


def _pack(
    seqs: Sequences | None, parts: list, start: int, max_length: int, prefix_len: int, owner: int
) -> list[list[int]]:
    """A conversation's turns in as few sequences as fit ``max_length``: each response is
    scored given everything before it, one forward pass for all the turns that fit. A turn
    that does not fit starts a new sequence with as much of the history as leaves room.
    Returns the response tokens kept for each turn (the direct pass scores the same)."""
    room = max_length - 1
    ids, spans, history, kept = [start], [], [], []
    for prompt, response in parts:
        response = response[: max(room - prefix_len, 0)]
        if len(ids) + len(prompt) + len(response) > max_length:
            if spans and seqs is not None:
                _append(seqs, ids, spans, owner)
            context, response = _fit(history + prompt, response, room)
            ids, spans = [start] + context, []
        else:
            ids = ids + prompt
        if response:
            spans.append((len(ids), len(ids) + len(response)))
        ids = ids + response
        history += prompt + response
        kept.append(response)
    if spans and seqs is not None:
        _append(seqs, ids, spans, owner)
    return kept


def _fit(context: list, response: list, room: int) -> tuple[list, list]:
    """Context (its end) and response (its start) within ``room`` tokens; the response keeps
    at least half the room."""
    keep_response = min(len(response), max(room - len(context), room // 2))
    keep_context = min(len(context), room - keep_response)
    return context[len(context) - keep_context :], response[:keep_response]


def _append(seqs: Sequences, ids: list, spans: list, owner: int) -> None:
    seqs.ids.append(ids)
    seqs.spans.append(spans)
    seqs.owner.append(owner)


@functools.lru_cache(maxsize=2)
def _model(model: str, device: str, cache: Any = None) -> tuple[Any, Any]:
    """The model and its files, loaded once per process."""
    return load_causal_lm(model, device, cache=cache)


@functools.lru_cache(maxsize=4)
def _tokenizer(model: str, cache: Any = None) -> Any:
    return load_tokenizer(model, cache)


def lm_losses(
    records: Records,
    *,
    model: str = DEFAULT_CAUSAL_LM,
    device: str = "auto",
    format: str = "plain",
    passes: tuple = PASSES,
    max_length: int = 1024,
    start_token: str = "auto",
    batch_tokens: int | None = None,
    cache: Any = None,
    use_cache: bool = True,
    progress: bool | None = None,
) -> Losses:
    """The losses of ``records`` under ``model`` (module docstring)."""
    for p in passes:
        if p not in PASSES:
            raise ValueError(f"passes must be among {PASSES}, got {p!r}")
    if max_length < 8:
        raise ValueError(f"max_length must be at least 8 tokens, got {max_length}")
    device = resolve_device(device)
    cache = None if cache is None else str(cache)
    where, dtype = locate(model), str(default_dtype(device))
    with quiet_loading(progress):
        tokenizer = _tokenizer(model, cache)

    def load() -> Any:  # only when some loss is not in the cache
        with quiet_loading(progress):
            return _model(model, device, cache)[0]

    start, start_name = start_token_id(tokenizer, start_token)
    timings: dict[str, float] = {}
    begun = time.perf_counter()
    sequences = build_sequences(records, tokenizer, format, passes, max_length, start)
    timings["tokenize"] = round(time.perf_counter() - begun, 6)
    n = len(records)
    sums = {p: (np.zeros(n), np.zeros(n, np.int64), np.zeros(n), np.zeros(n, np.int64)) for p in passes}
    cached = {}
    for p in passes:
        # Keyed by what is scored (every token id and response span), and by what scores it:
        # records of equal text split another way, or fp16 GPU losses, never share an entry.
        key = fingerprint(
            "lm-v3", p, where.describe(), dtype, device.split(":")[0], max_length, data=_sequences_bytes(sequences[p])
        )
        path = cache_dir(cache) / "lm_scores" / f"{key}.npz"
        begun = time.perf_counter()
        per_seq, reused = _score_pass(
            load, sequences[p], device, batch_tokens, path if use_cache else None, f"{p} pass ({where.name})", progress
        )
        cached[p] = {"file": str(path) if use_cache else None, "sequences_from_cache": reused}
        timings[f"{p}_pass"] = round(time.perf_counter() - begun, 6)
        owner = np.asarray(sequences[p].owner, dtype=np.int64)
        nll_ctx, n_ctx, nll_resp, n_resp = per_seq
        s = sums[p]
        np.add.at(s[0], owner, nll_resp)
        np.add.at(s[1], owner, n_resp)
        np.add.at(s[2], owner, nll_ctx)
        np.add.at(s[3], owner, n_ctx)
    nan = np.full(n, np.nan)
    zero = np.zeros(n, np.int64)
    cond = sums.get("cond", (nan, zero, nan, zero))
    direct = sums.get("direct", (nan, zero, nan, zero))
    manifest = {
        "model": where.describe(),
        "device": device,
        "dtype": dtype,
        "format": format,
        "passes": list(passes),
        "max_length": max_length,
        "start_token": start_name,
        "batch_tokens": batch_tokens or _default_batch(device),
        "sequences": {p: len(sequences[p].ids) for p in passes},
        "cache": cached,
        "timings": timings,
    }
    return Losses(cond[0], cond[1], cond[2], cond[3], direct[0], direct[1], manifest)


def _sequences_bytes(seqs: Sequences) -> bytes:
    """Every sequence's token ids, response spans and owner, as one byte string."""
    flat = [len(seqs.ids)]
    for ids, spans, owner in zip(seqs.ids, seqs.spans, seqs.owner):
        flat += [owner, len(ids), *ids, len(spans), *(bound for span in spans for bound in span)]
    return np.asarray(flat, dtype=np.int64).tobytes()


def _default_batch(device: str) -> int:
    return DEFAULT_BATCH_TOKENS["cuda" if device.startswith("cuda") else "cpu"]


def _score_pass(
    load: Callable[[], Any],
    seqs: Sequences,
    device: str,
    batch_tokens: int | None,
    path: Path | None,
    label: str,
    progress: bool | None,
) -> tuple[tuple, int]:
    """Per sequence: (NLL of context tokens, their count, NLL of response tokens, count), and
    how many sequences came from the cache. ``load()`` gives the model, if any is to run."""
    n = len(seqs.ids)
    lengths = np.fromiter(map(len, seqs.ids), np.int64, n)
    state = _load_state(path, n)
    reused = int(state["done"].sum())
    budget = batch_tokens or _default_batch(device)
    order = np.lexsort((np.arange(n), lengths))  # shortest first, ties by position
    todo = order[~state["done"][order]]
    saved = time.perf_counter()
    lm = load() if len(todo) else None
    with bar(int(lengths[todo].sum()), label, "tok", progress) as pbar:
        k = 0
        while k < len(todo):
            batch = _next_batch(todo, k, lengths, budget)
            try:
                _run_batch(lm, seqs, batch, device, state)
            except Exception as error:  # noqa: BLE001 - only out-of-memory is handled
                if not _is_oom(error):
                    raise
                if len(batch) == 1:
                    raise RuntimeError(
                        f"out of memory on one sequence of {lengths[batch[0]]} tokens; "
                        f"lower max_length or use a device with more memory"
                    ) from None
                budget = max(int(lengths[batch].max()), budget // 2)
                _empty_cache(device)
                continue
            k += len(batch)
            pbar.update(int(lengths[batch].sum()))
            if path is not None and time.perf_counter() - saved > _SAVE_EVERY_S:
                _save_state(path, state)
                saved = time.perf_counter()
    if path is not None:
        _save_state(path, state)
    return (state["nll_ctx"], state["n_ctx"], state["nll_resp"], state["n_resp"]), reused


def _next_batch(todo: np.ndarray, k: int, lengths: np.ndarray, budget: int) -> np.ndarray:
    """Sequences from ``todo[k]`` on while padded size (count x longest) fits ``budget``."""
    end = k + 1
    while end < len(todo) and (end - k + 1) * lengths[todo[end]] <= budget:
        end += 1
    return todo[k:end]


def _run_batch(lm: Any, seqs: Sequences, batch: np.ndarray, device: str, state: dict) -> None:
    torch = require("torch")
    longest = max(len(seqs.ids[i]) for i in batch)
    ids = torch.zeros((len(batch), longest), dtype=torch.long)
    mask = torch.zeros((len(batch), longest), dtype=torch.long)
    for row, i in enumerate(batch):
        ids[row, : len(seqs.ids[i])] = torch.tensor(seqs.ids[i])
        mask[row, : len(seqs.ids[i])] = 1
    with torch.inference_mode():
        logits = lm(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        for row, i in enumerate(batch):
            length = len(seqs.ids[i])
            # Token t is predicted by the logits at t - 1; the start token is not scored.
            nll = (
                torch.nn.functional.cross_entropy(
                    logits[row, : length - 1].float(), ids[row, 1:length].to(device), reduction="none"
                )
                .double()
                .cpu()
                .numpy()
            )
            response = sum(nll[a - 1 : b - 1].sum() for a, b in seqs.spans[i])
            n_response = sum(b - a for a, b in seqs.spans[i])
            state["nll_resp"][i], state["n_resp"][i] = response, n_response
            state["nll_ctx"][i], state["n_ctx"][i] = nll.sum() - response, length - 1 - n_response
            state["done"][i] = True


def _is_oom(error: Exception) -> bool:
    torch = require("torch")
    if isinstance(error, getattr(torch.cuda, "OutOfMemoryError", ())):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def _empty_cache(device: str) -> None:
    torch = require("torch")
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def _load_state(path: Path | None, n: int) -> dict:
    state = load_cached(path, lambda saved: _not_state(saved, n)) if path is not None else None
    if state is not None:
        return state
    return {
        "done": np.zeros(n, bool),
        "nll_ctx": np.zeros(n),
        "n_ctx": np.zeros(n, np.int64),
        "nll_resp": np.zeros(n),
        "n_resp": np.zeros(n, np.int64),
    }


def _not_state(saved: Any, n: int) -> str | None:
    """What makes a cached pass unfit for these ``n`` sequences (None if fit): every array
    one value per sequence, and every sequence marked done scored on at least one token,
    with a finite, non-negative loss."""
    if not isinstance(saved, dict) or set(saved) != {"done", "nll_ctx", "n_ctx", "nll_resp", "n_resp"}:
        return "it does not hold the arrays of a scoring pass"
    if any(np.shape(value) != (n,) for value in saved.values()):
        return f"its arrays are not one value for each of the {n} sequences"
    done = saved["done"].astype(bool)
    tokens = (saved["n_ctx"] + saved["n_resp"])[done]
    losses = np.concatenate([saved["nll_ctx"][done], saved["nll_resp"][done]])
    if (tokens <= 0).any() or not np.isfinite(losses).all() or (losses < 0).any():
        return "sequences marked done have no scored token or a loss that is not finite and >= 0"
    return None


def _save_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as out:
        np.savez(out, **state)
