"""Proxy fine-tuning: a small causal LM trained on one selection, and its held-out losses.

Every run of an experiment trains the same model with the same settings: the selection's
texts, each ended by the EOS token, shuffled by the run's seed, concatenated and cut into
``steps x batch_size x seq_len`` token blocks (packed sequences): all of them, the last block
padded (:func:`pack_whole`), or the first ``tokens`` of them, the tail dropped (:func:`pack`),
so that runs at equal tokens take equal steps. The loss is the causal LM
loss over the tokens trained: with :func:`encode_records`, the responses of each record's
turns and the end token, never the prompts (a record of plain text is all response); with
plain :func:`encode`, every token. A checkpoint (model, optimizer, schedule, losses) is saved
every ``checkpoint_every`` steps and when the run is stopped by Ctrl-C or ``kill``; the next
run with the same settings continues from it and reaches the same losses.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..baselines.models import DEFAULT_CAUSAL_LM, default_dtype, load_causal_lm, load_tokenizer, quiet_loading, require
from ..interrupts import deferred
from ..io import atomic_output


@dataclass(frozen=True)
class Settings:
    """What a proxy run is trained with; the same for every run an experiment compares."""

    model: str = DEFAULT_CAUSAL_LM  # packaged:smollm2, or a local Hugging Face model directory
    seq_len: int = 128
    batch_size: int = 2
    lr: float = 1e-4
    warmup: float = 0.1  # fraction of the steps with a linear warm-up
    min_lr: float = 0.1  # the cosine schedule ends at this fraction of lr
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    epochs: int = 1
    lora_r: int = 0  # 0: full fine-tuning; else LoRA of this rank on the attention and MLP (peft)
    device: str = "auto"
    eval_max_tokens: int = 128  # each held-out text is scored on its first tokens
    eval_batch: int = 8
    checkpoint_every: int = 20

    def __post_init__(self) -> None:
        for name in ("seq_len", "batch_size", "epochs", "eval_max_tokens", "eval_batch", "checkpoint_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"train setting {name}={value!r} must be a whole number >= 1")
        if not isinstance(self.lora_r, int) or self.lora_r < 0:
            raise ValueError(f"train setting lora_r={self.lora_r!r} must be 0 (full fine-tuning) or a rank >= 1")
        if not 0 < self.lr < 1:
            raise ValueError(f"train setting lr={self.lr!r} must be between 0 and 1")
        if not (0 <= self.warmup < 1 and 0 <= self.min_lr <= 1):
            raise ValueError(
                "train settings warmup (a fraction of the steps) and min_lr (a fraction of lr) must lie in [0, 1)"
            )

    @classmethod
    def from_config(cls, spec: dict) -> "Settings":
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"unknown train setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**spec)

    @property
    def tokens_per_step(self) -> int:
        return self.seq_len * self.batch_size


def encode(texts: Sequence[str], model: str, cache: Any = None) -> list[np.ndarray]:
    """Token ids of each text under the model's tokenizer (no special tokens)."""
    tokenizer = load_tokenizer(model, cache)
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return [np.asarray(i, np.int64) for i in ids]


def encode_records(records: Any, positions: Sequence[int], model: str, cache: Any = None) -> tuple[list, list]:
    """The token ids of the records at ``positions`` and, aligned with them, which ids are
    trained: each record as its prompt/response pieces (``baselines.turns.trained_pieces``,
    the plain format, whose pieces joined are the conversation; a record with no reply is all
    response), the prompts' tokens not trained, the responses' tokens trained."""
    from ..baselines.turns import trained_pieces
    from ..io.schemas import messages

    tokenizer = load_tokenizer(model, cache)
    split = [trained_pieces(messages(records[int(i)], records.schema, records.text_fields)) for i in positions]
    flat = [text for parts in split for pair in parts for text in pair]
    encoded = iter(tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else [])
    ids, trained = [], []
    for parts in split:
        record_ids, record_trained = [], []
        for _ in parts:
            prompt, response = next(encoded), next(encoded)
            record_ids += prompt + response
            record_trained += [False] * len(prompt) + [True] * len(response)
        ids.append(np.asarray(record_ids, np.int64))
        trained.append(np.asarray(record_trained, np.int64))
    return ids, trained


def end_token(model: str, cache: Any = None) -> int:
    """The token that ends each packed text: EOS, else SEP (BERT-style tokenizers)."""
    tokenizer = load_tokenizer(model, cache)
    for token in (tokenizer.eos_token_id, tokenizer.sep_token_id):
        if token is not None:
            return int(token)
    raise ValueError(f"the tokenizer of {model} has neither an EOS nor a SEP token to end texts with")


def stream_length(ids: Sequence[np.ndarray]) -> int:
    """Tokens in the packed stream of these texts (each with its end token)."""
    return int(sum(len(i) + 1 for i in ids))


def pack(ids: Sequence[np.ndarray], end: int, tokens: int, settings: Settings, seed: int) -> np.ndarray:
    """The training blocks, shape (steps, batch_size, seq_len): per epoch the texts in an
    order shuffled by ``seed`` (and the epoch), the first ``tokens`` tokens of their stream.
    The order depends only on ``seed`` and the number of texts, so packing the ``trained``
    masks of :func:`encode_records` the same way (end ``1``: the end token is trained) gives
    the blocks' mask of trained tokens."""
    if not ids:
        raise ValueError("the selection is empty: nothing to train on")
    have = stream_length(ids)
    if tokens > have:
        raise ValueError(
            f"the selection has {have:,} tokens (with one end token per text), fewer "
            f"than the {tokens:,} asked to train on: lower tokens, or select more"
        )
    steps = tokens // settings.tokens_per_step
    if steps == 0:
        raise ValueError(
            f"tokens={tokens} is less than one step of batch_size x seq_len = {settings.tokens_per_step} tokens"
        )
    epochs = []
    for epoch in range(settings.epochs):
        order = np.random.default_rng([seed, epoch]).permutation(len(ids))
        stream = np.concatenate([np.append(ids[i], end) for i in order])
        epochs.append(stream[: steps * settings.tokens_per_step].reshape(steps, settings.batch_size, settings.seq_len))
    return np.concatenate(epochs)


def pack_whole(
    ids: Sequence[np.ndarray], trained: Sequence[np.ndarray], end: int, settings: Settings, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every token of every text, every epoch: the blocks (steps, batch_size, seq_len) and
    their mask of tokens trained. Per epoch the texts in an order shuffled by ``seed`` (and the
    epoch), each ended by ``end``; the last block of an epoch is filled with ``end`` tokens that
    are context but never targets. A run trains on its whole selection, every record seen
    ``epochs`` times (equal budgets then come from the selection, filled to within one record)."""
    if not ids:
        raise ValueError("the selection is empty: nothing to train on")
    step = settings.tokens_per_step
    blocks, masks = [], []
    for epoch in range(settings.epochs):
        order = np.random.default_rng([seed, epoch]).permutation(len(ids))
        stream = np.concatenate([np.append(ids[i], end) for i in order])
        mask = np.concatenate([np.append(trained[i], 1) for i in order])
        pad = -len(stream) % step
        stream = np.append(stream, np.full(pad, end, dtype=stream.dtype))
        mask = np.append(mask, np.zeros(pad, dtype=mask.dtype))
        blocks.append(stream.reshape(-1, settings.batch_size, settings.seq_len))
        masks.append(mask.reshape(-1, settings.batch_size, settings.seq_len))
    return np.concatenate(blocks), np.concatenate(masks)


def steps_of(lengths: Sequence[int], settings: Settings, tokens: int | None = None) -> int:
    """The optimizer steps of a run on texts of these token lengths: every token of their
    packed stream (each text and its end token), the last block padded, every epoch
    (:func:`pack_whole`); or the first ``tokens`` of it, in whole steps (:func:`pack`)."""
    step = settings.tokens_per_step
    if tokens is None:
        stream = int(sum(int(n) + 1 for n in lengths))
        return settings.epochs * -(-stream // step)
    return settings.epochs * (int(tokens) // step)


def kept_tokens(lengths: Sequence[int], tokens: int, settings: Settings, seed: int) -> np.ndarray:
    """Per text, the most of its stream tokens (its ids, then its end token) that any epoch's
    cut of :func:`pack` to ``tokens`` holds: ``length + 1`` for a text trained whole, 0 for
    one left out, between them for the text the cut ends in. The order is :func:`pack`'s."""
    lengths = np.asarray(lengths, dtype=np.int64) + 1
    cut = (int(tokens) // settings.tokens_per_step) * settings.tokens_per_step
    kept = np.zeros(len(lengths), dtype=np.int64)
    for epoch in range(settings.epochs):
        order = np.random.default_rng([seed, epoch]).permutation(len(lengths))
        start = np.concatenate([[0], np.cumsum(lengths[order])[:-1]])
        kept[order] = np.maximum(kept[order], np.clip(cut - start, 0, lengths[order]))
    return kept


def labels_of(x: Any, trained: np.ndarray) -> Any:
    """The labels of a block ``x`` (a tensor) whose ``trained`` mask marks the tokens the loss
    is taken over: the others are -100, which the loss ignores (the model predicts token t+1
    from the first t, so a prompt token is never a target, while it is still context)."""
    import torch

    return x.masked_fill(torch.from_numpy(np.asarray(trained) == 0).to(x.device), -100)


def learning_rate(step: int, steps: int, settings: Settings) -> float:
    """The multiplier of lr at ``step``: linear warm-up, then cosine down to ``min_lr``."""
    warm = int(round(settings.warmup * steps))
    if step < warm:
        return (step + 1) / warm
    progress = (step - warm) / max(steps - warm, 1)
    return settings.min_lr + (1 - settings.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


def load_model(settings: Settings, device: str, cache: Any = None) -> Any:
    """The model to train, on ``device`` with fp32 weights (bf16 updates of a small learning
    rate round away: on a GPU the forward pass runs in bf16 under :func:`precision`),
    LoRA-wrapped when ``lora_r`` is set."""
    torch = require("torch")
    with quiet_loading(False):  # the runner reports progress; no bar per run
        lm, _ = load_causal_lm(settings.model, device, torch.float32, cache)
    if settings.lora_r:
        try:
            peft = require("peft")
        except ImportError:
            raise ImportError("lora_r needs peft: pip install peft") from None
        config = peft.LoraConfig(
            r=settings.lora_r,
            lora_alpha=2 * settings.lora_r,
            lora_dropout=0.0,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
        lm = peft.get_peft_model(lm, config)
    return lm


def precision(device: str) -> Any:
    """bf16 autocast on a GPU (fp16 where bf16 is missing), nothing on the CPU (fp32)."""
    torch = require("torch")
    if not device.startswith("cuda"):
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda", dtype=default_dtype(device))


def held_out_loss(lm: Any, ids: Sequence[np.ndarray], settings: Settings, device: str) -> float:
    """Mean next-token cross-entropy (nats per token) over every predicted token of the texts,
    each cut to its first ``eval_max_tokens`` tokens; batched by length, padding ignored."""
    torch = require("torch")
    texts = [i[: settings.eval_max_tokens] for i in ids if len(i) > 1]
    order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
    total, count = 0.0, 0
    was_training = lm.training
    lm.eval()
    with torch.no_grad():
        for start in range(0, len(order), settings.eval_batch):
            batch = [texts[k] for k in order[start : start + settings.eval_batch]]
            width = max(len(b) for b in batch)
            x = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros_like(x)
            for row, b in enumerate(batch):
                x[row, : len(b)] = torch.from_numpy(b)
                mask[row, : len(b)] = 1
            x, mask = x.to(device), mask.to(device)
            with precision(device):
                logits = lm(input_ids=x, attention_mask=mask).logits[:, :-1].float()
            labels = x[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
            total += torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100, reduction="sum"
            ).item()
            count += int((labels != -100).sum())
    lm.train(was_training)
    if count == 0:
        raise ValueError("the held-out set has no text of two or more tokens")
    return total / count


@dataclass
class Run:
    """One training run's record: its loss curve and what it measured."""

    losses: list[float]
    steps: int
    tokens: int
    trained_tokens: int  # the tokens the loss is taken over (responses only, when masked)
    first_epoch_loss: float
    held_out: dict[str, float]
    train_seconds: float
    eval_seconds: float
    device: str

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.train_seconds if self.train_seconds else float("nan")

    def to_dict(self) -> dict:
        """The run's settings and losses, for results.json."""
        return {**asdict(self), "tokens_per_second": round(self.tokens_per_second, 1)}


def train(
    blocks: np.ndarray,
    settings: Settings,
    seed: int,
    held_out: dict[str, Sequence[np.ndarray]],
    checkpoint: Path | None = None,
    cache: Any = None,
    say: Callable[[str], None] = lambda message: None,
    trained: np.ndarray | None = None,
) -> Run:
    """Train a fresh copy of the model on ``blocks`` (from :func:`pack`) and measure the loss
    on each held-out set; resumes from ``checkpoint`` when one is there. ``trained``: the
    blocks' mask of tokens the loss is taken over (packed like them), else every token."""
    torch = require("torch")
    from ..baselines.models import resolve_device

    device = resolve_device(settings.device)
    torch.manual_seed(seed)
    lm = load_model(settings, device, cache).train()
    params = [p for p in lm.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    steps = len(blocks)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: learning_rate(s, steps, settings))
    losses: list[float] = []
    seconds = 0.0
    if checkpoint is not None and checkpoint.is_file():
        losses, seconds = _restore(checkpoint, lm, optimizer, schedule, steps)
        say(f"resuming at step {len(losses)} of {steps} from {checkpoint}")
    with deferred() as signals:
        for step in range(len(losses), steps):
            started = time.perf_counter()
            x = torch.from_numpy(blocks[step]).to(device)
            # A block of prompt (or padding) alone has no target: its loss is undefined and
            # there is nothing to learn; the step passes, in the schedule too.
            value = float("nan")
            if trained is None or (trained[step][:, 1:] != 0).any():
                labels = x if trained is None else labels_of(x, trained[step])
                with precision(device):
                    loss = lm(input_ids=x, labels=labels).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, settings.grad_clip)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                value = float(loss.item())
            schedule.step()
            losses.append(value)
            seconds += time.perf_counter() - started
            done = step + 1
            if checkpoint is not None and done < steps and (done % settings.checkpoint_every == 0 or signals.pending):
                _save(checkpoint, lm, optimizer, schedule, losses, seconds)
            signals.raise_if_signalled()
    started = time.perf_counter()
    measured = {name: held_out_loss(lm, ids, settings, device) for name, ids in held_out.items()}
    per_epoch = steps // settings.epochs
    return Run(
        losses=losses,
        steps=steps,
        tokens=steps * settings.tokens_per_step,
        # The model predicts token t+1 from the first t: a block's first token is never a label.
        trained_tokens=int(blocks[:, :, 1:].size if trained is None else (trained[:, :, 1:] != 0).sum()),
        first_epoch_loss=float(np.nanmean(losses[:per_epoch])),
        held_out=measured,
        train_seconds=round(seconds, 2),
        eval_seconds=round(time.perf_counter() - started, 2),
        device=device,
    )


def base_losses(settings: Settings, held_out: dict[str, Sequence[np.ndarray]], cache: Any = None) -> dict:
    """The held-out losses of the model before any training (the reference point)."""
    from ..baselines.models import resolve_device

    device = resolve_device(settings.device)
    lm = load_model(settings, device, cache)
    return {name: held_out_loss(lm, ids, settings, device) for name, ids in held_out.items()}


def _trained_state(lm: Any) -> dict:
    """The weights that training changes (all, or only the LoRA adapters)."""
    return {k: v for k, v in lm.state_dict().items() if "lora_" in k} if hasattr(lm, "peft_config") else lm.state_dict()


def _save(path: Path, lm: Any, optimizer: Any, schedule: Any, losses: list, seconds: float) -> None:
    """The run's state, written whole or not at all (never half a checkpoint)."""
    torch = require("torch")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as out:
        torch.save(
            {
                "model": _trained_state(lm),
                "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(),
                "losses": losses,
                "seconds": seconds,
            },
            out,
        )


def _restore(path: Path, lm: Any, optimizer: Any, schedule: Any, steps: int) -> tuple[list, float]:
    torch = require("torch")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        lm.load_state_dict(state["model"], strict=not hasattr(lm, "peft_config"))
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        losses = [float(v) for v in state["losses"]]
    except Exception as err:  # noqa: BLE001 - any unreadable state: say which file, start over
        raise ValueError(
            f"checkpoint {path} is damaged or from other settings ({err}); delete it to train this run from the start"
        ) from None
    if len(losses) >= steps:
        raise ValueError(
            f"checkpoint {path} holds {len(losses)} steps, more than this run's {steps}: "
            f"it is from other settings; delete it"
        )
    return losses, float(state["seconds"])
