"""Records as prompt/response turns, and the prompt formats the LM scorers render them in.

A record becomes a list of turns (instruction, input, response): Alpaca records are one
turn; ShareGPT and OpenAI-messages records give one turn per assistant message, its
prompt being the user message(s) before it (a system message is put before the prompt
that follows it); preference records are the prompt and the chosen answer; anything else
(plain text) is one turn whose response is the whole text, with no prompt.

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
from typing import Any

FORMATS = ("plain", "alpaca")
_USER = {"human", "user"}
_SYSTEM = {"system"}

ALPACA_INPUT = ("Below is an instruction that describes a task, paired with an input that provides "
                "further context. Write a response that appropriately completes the request.\n\n"
                "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:")
ALPACA_NO_INPUT = ("Below is an instruction that describes a task. Write a response that "
                   "appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n"
                   "### Response:")
ALPACA_NEXT = "\n\n### Instruction:\n{instruction}\n\n### Response:"
ALPACA_NEXT_INPUT = "\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"


@dataclass(frozen=True)
class Turn:
    instruction: str
    input: str
    response: str


def turns_of(record: dict, schema: str | None, text: str) -> list[Turn]:
    """The scored turns of a record (``text`` is its text, for schemas without turns)."""
    if schema == "alpaca":
        return [Turn(_str(record["instruction"]), _str(record.get("input") or ""),
                     _str(record["output"]))]
    if schema == "sharegpt":
        return _dialogue(_sharegpt_messages(record["conversations"]))
    if schema == "messages":
        return _dialogue([(m.get("role", "user"), _str(m.get("content") or ""))
                          for m in record["messages"]])
    if schema == "preference" and isinstance(record.get("chosen"), str):
        return [Turn(_str(record.get("prompt") or ""), "", record["chosen"])]
    return [Turn("", "", text)]


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # a list of content parts
        return "\n".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in value)
    return str(value)


def _sharegpt_messages(turns: list) -> list[tuple[str, str]]:
    out = []
    for k, turn in enumerate(turns):
        if isinstance(turn, str):  # LIMA: alternating user and assistant strings
            out.append(("user" if k % 2 == 0 else "assistant", turn))
        else:
            out.append((str(turn.get("from", "")).lower(), _str(turn.get("value", ""))))
    return out


def _dialogue(messages: list[tuple[str, str]]) -> list[Turn]:
    """One turn per assistant message, its prompt the user/system messages before it."""
    turns, pending = [], []
    for role, content in messages:
        if role in _USER or role in _SYSTEM:
            pending.append(content)
        else:  # gpt, chatgpt, bing, bard, assistant: a response
            turns.append(Turn("\n".join(pending), "", content))
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
    return [((between if k else "") + _prompt(turn, fmt, k == 0), turn.response)
            for k, turn in enumerate(turns)]


def direct_prefix(fmt: str) -> str:
    """What precedes the response in the unconditioned pass (after the start token)."""
    return "### Response:" if fmt == "alpaca" else ""
