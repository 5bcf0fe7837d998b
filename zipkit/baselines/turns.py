"""Records as prompt/response turns, and the prompt formats the LM scorers render them in.

A record, parsed once into messages by :func:`zipkit.io.schemas.messages`, becomes a list of
turns (instruction, input, response): Alpaca records are one turn; ShareGPT and
OpenAI-messages records give one turn per assistant message, its prompt being the user
message(s) before it (a system message is put before the prompt that follows it);
preference records are scored on their chosen answer (after the prompt, or as the
conversation they hold), never the rejected one; anything else (plain text) is one turn
whose response is the whole text, with no prompt.

A format renders the context of turn k (the conversation so far, then turn k's prompt)
and the prefix of the unconditioned pass:

- ``plain`` (Superfiltering): a prompt is ``"{instruction}\\n{input}\\n"`` (``"{instruction}\\n"``
  without input); each earlier turn is its prompt, its response and a newline. The
  unconditioned pass has no prefix: the start token alone.
- ``alpaca`` (Cherry_LLM): the Alpaca template ending in ``"### Response:"``; later turns
  continue with ``"\\n\\n### Instruction:\\n..."``; the unconditioned prefix is ``"### Response:"``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..io.schemas import Message, text_of

FORMATS = ("plain", "alpaca")
_USER = {"human", "user"}
_SYSTEM = {"system"}
_ALPACA = {"instruction", "input", "output"}

ALPACA_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides "
    "further context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"
)
ALPACA_NO_INPUT = (
    "Below is an instruction that describes a task. Write a response that "
    "appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n"
    "### Response:"
)
ALPACA_NEXT = "\n\n### Instruction:\n{instruction}\n\n### Response:"
ALPACA_NEXT_INPUT = "\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"


@dataclass(frozen=True)
class Turn:
    instruction: str
    input: str
    response: str


def turns_of(parts: list[Message]) -> list[Turn]:
    """The scored turns of a record parsed into messages (:func:`zipkit.io.schemas.messages`)."""
    roles = {m.role for m in parts}
    if roles <= _ALPACA and "output" in roles:
        content = {m.role: m.content for m in parts}
        return [Turn(content["instruction"], content.get("input", ""), content["output"])]
    if roles == {"text"}:
        return [Turn("", "", text_of(parts))]
    return _dialogue([m for m in parts if m.role != "rejected"])


def _dialogue(parts: list[Message]) -> list[Turn]:
    """One turn per assistant message, its prompt the user/system messages before it."""
    turns, pending = [], []
    for m in parts:
        if m.role in _USER or m.role in _SYSTEM:
            pending.append(m.content)
        else:  # gpt, chatgpt, bing, bard, assistant: a response
            turns.append(Turn("\n".join(pending), "", m.content))
            pending = []
    return turns


def _prompt(turn: Turn, fmt: str, first: bool) -> str:
    if fmt == "plain":
        if not turn.instruction and not turn.input:
            return ""
        return f"{turn.instruction}\n{turn.input}\n" if turn.input else f"{turn.instruction}\n"
    if first:
        template = ALPACA_INPUT if turn.input else ALPACA_NO_INPUT
    else:
        template = ALPACA_NEXT_INPUT if turn.input else ALPACA_NEXT
    return template.format(instruction=turn.instruction, input=turn.input)


def pieces(turns: list[Turn], fmt: str) -> list[tuple[str, str]]:
    """(prompt, response) text of every turn in order; each prompt carries what separates
    it from the turn before, so joining all pieces gives the whole conversation."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    between = "\n" if fmt == "plain" else ""
    return [((between if k else "") + _prompt(turn, fmt, k == 0), turn.response) for k, turn in enumerate(turns)]


def trained_pieces(parts: list[Message]) -> list[tuple[str, str]]:
    """(prompt, response) pieces of a record for training on its responses: the turns in the
    plain format; a record with no reply at all (a prompt or a statement alone, as the plain
    texts of a mixed pool are held) is all response, as plain text is; messages after the last
    reply stay as a prompt of their own (context that is not trained), so nothing is lost."""
    turns = turns_of(parts)
    if not turns:
        return [("", text_of([m for m in parts if m.role != "rejected"]))]
    out = pieces(turns, "plain")
    kept = [m for m in parts if m.role != "rejected"]
    replies = [k for k, m in enumerate(kept) if m.role not in _USER and m.role not in _SYSTEM]
    if replies and not ({m.role for m in parts} <= _ALPACA):
        trailing = [m.content for m in kept[replies[-1] + 1 :]]
        if trailing:
            out.append(("\n" + "\n".join(trailing), ""))
    return out


def direct_prefix(fmt: str) -> str:
    """What precedes the response in the unconditioned pass (after the start token)."""
    return "### Response:" if fmt == "alpaca" else ""
