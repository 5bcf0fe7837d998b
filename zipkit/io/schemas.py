"""Record schemas and the text each one holds.

The ``text`` serializer joins the content strings of a record with newlines, in this order:
- sharegpt: the ``value`` of every turn of ``conversations`` (LIMA's string turns as they are);
- messages (OpenAI): the ``content`` of every message (for a list of parts, each part's ``text``);
- alpaca: ``instruction``, then ``input`` when it is not empty, then ``output``;
- preference: ``prompt`` when present, then ``chosen``, then ``rejected`` (each a string or a
  list of messages);
- text: the ``text`` field;
- explicit ``text_fields``: those fields in the order given (strings or lists of turns).
Role names, ids and other fields are not part of the text; the ``json`` and ``repr``
serializers keep them. A record is parsed once, into :class:`Message` s (role, content):
its text joins their contents, and the LM scorers read its prompt/response turns from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

SCHEMAS = ("sharegpt", "messages", "alpaca", "preference", "text")


# The top-level fields each schema takes its text from.
FIELDS = {
    "sharegpt": ("conversations",),
    "messages": ("messages",),
    "alpaca": ("instruction", "input", "output"),
    "preference": ("prompt", "chosen", "rejected"),
    "text": ("text",),
}


def left_out(record: dict, schema: str) -> list[str]:
    """Fields of ``record`` that hold text (a string with a space in it: prose or code, not an
    id) but that ``schema`` does not read: MBPP's ``code`` beside its ``text``."""
    return [
        key
        for key, value in record.items()
        if key not in FIELDS[schema] and isinstance(value, str) and " " in value.strip()
    ]


class SchemaError(ValueError):
    """A record lacks what its schema needs; the message names the field."""


def detect(record: dict) -> str:
    """The schema of a record, judged by its keys."""
    if "conversations" in record:
        return "sharegpt"
    if "messages" in record:
        return "messages"
    if "instruction" in record and "output" in record:
        return "alpaca"
    if "chosen" in record and "rejected" in record:
        return "preference"
    if "text" in record:
        return "text"
    keys = ", ".join(map(repr, list(record)[:12])) or "none"
    raise SchemaError(
        f"matches no known schema ({', '.join(SCHEMAS)}); its keys are {keys}. "
        f"Name the field(s) holding the text with text_fields=[...]"
    )


@dataclass(frozen=True)
class Message:
    """One piece of a record's content and the role it plays: a ShareGPT or OpenAI role
    (``human``, ``gpt``, ``user``, ``assistant``, ``system``...), Alpaca's ``instruction``,
    ``input`` and ``output``, a preference pair's ``rejected`` answer, or ``text``."""

    role: str
    content: str


def messages(record: dict, schema: str | None, text_fields: Sequence[str] | None = None) -> list[Message]:
    """A record parsed into its messages, in order: the one parse of a record's structure.
    Its text (:func:`text_of`) and its prompt/response turns (``baselines.turns``) both
    derive from it."""
    if text_fields:
        return [Message("text", _content(_field(record, f), f)) for f in text_fields]
    return _parser(schema)(record)


def _parser(schema: str | None) -> Callable[[dict], list[Message]]:
    try:
        return _PARSERS[schema]
    except KeyError:
        raise ValueError(f"unknown schema {schema!r}; known: {', '.join(SCHEMAS)}") from None


def text_of(parts: Sequence[Message]) -> str:
    """A record's text: the content of its messages, joined by newlines."""
    return _join(m.content for m in parts)


def extractor(schema: str | None, text_fields: Sequence[str] | None) -> Callable[[dict], str]:
    """A function from a record to its text for the given schema or explicit fields."""
    if not text_fields:
        _parser(schema)  # an unknown name fails here, not at the first record
    fields = list(text_fields) if text_fields else None
    return lambda record: text_of(messages(record, schema, fields))


def _field(record: dict, name: str) -> Any:
    try:
        return record[name]
    except KeyError:
        raise SchemaError(f"has no {name!r} field") from None


def _list_field(record: dict, name: str, of: str) -> list:
    value = _field(record, name)
    if not isinstance(value, list):
        raise SchemaError(f"field {name!r} is not a list of {of}")
    return value


def _join(parts) -> str:
    return "\n".join(parts)


def _content(value: Any, where: str) -> str:
    """Text of a field: a string, or a list of turns/messages/parts flattened with newlines."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return _join(_turn_text(turn, f"{where}[{k}]") for k, turn in enumerate(value))
    raise SchemaError(f"field {where!r} holds {type(value).__name__}, not text or a list of turns")


def _turn_text(turn: Any, where: str) -> str:
    if isinstance(turn, str):
        return turn
    if isinstance(turn, dict):
        for key in ("value", "content", "text"):
            if key in turn:
                return _content(turn[key], f"{where}.{key}")
        raise SchemaError(f"{where} has none of 'value', 'content', 'text'")
    raise SchemaError(f"{where} holds {type(turn).__name__}, not a turn")


def _sharegpt(record: dict) -> list[Message]:
    turns = _list_field(record, "conversations", "turns")
    out = []
    for k, turn in enumerate(turns):
        where = f"conversations[{k}]"
        if isinstance(turn, str):  # LIMA: alternating user and assistant strings
            out.append(Message("user" if k % 2 == 0 else "assistant", turn))
        elif isinstance(turn, dict) and "value" in turn:
            out.append(Message(str(turn.get("from", "")).lower(), _content(turn["value"], where)))
        else:
            raise SchemaError(
                f"turn {where} has no 'value' (ShareGPT turns are "
                f"{{'from': ..., 'value': ...}}, LIMA turns are strings)"
            )
    return out


def _messages(record: dict) -> list[Message]:
    listed = _list_field(record, "messages", "messages")
    out = []
    for k, message in enumerate(listed):
        if not isinstance(message, dict) or "content" not in message:
            raise SchemaError(
                f"message messages[{k}] has no 'content' (OpenAI messages are {{'role': ..., 'content': ...}})"
            )
        out.append(
            Message(str(message.get("role", "user")), _content(message["content"] or "", f"messages[{k}].content"))
        )
    return out


def _alpaca(record: dict) -> list[Message]:
    out = [Message("instruction", _content(_field(record, "instruction"), "instruction"))]
    extra = record.get("input") or ""
    if extra:
        out.append(Message("input", _content(extra, "input")))
    out.append(Message("output", _content(_field(record, "output"), "output")))
    return out


def _preference(record: dict) -> list[Message]:
    out = [Message("user", _content(record["prompt"], "prompt"))] if record.get("prompt") else []
    chosen = _field(record, "chosen")
    if isinstance(chosen, list):  # a conversation in its own roles (user turns, then the answer)
        for k, turn in enumerate(chosen):
            role = turn.get("role", turn.get("from", "assistant")) if isinstance(turn, dict) else "assistant"
            out.append(Message(str(role).lower(), _turn_text(turn, f"chosen[{k}]")))
    else:
        out.append(Message("assistant", _content(chosen, "chosen")))
    out.append(Message("rejected", _content(_field(record, "rejected"), "rejected")))
    return out


def _text(record: dict) -> list[Message]:
    return [Message("text", _content(_field(record, "text"), "text"))]


_PARSERS = {"sharegpt": _sharegpt, "messages": _messages, "alpaca": _alpaca, "preference": _preference, "text": _text}


def alpaca_as_sharegpt(record: dict, id: Any, source: str = "alpaca") -> dict:
    """An Alpaca record in ShareGPT form, as ZIP's authors feed Alpaca to their script:
    the human turn is the instruction, then a newline and the input when there is one."""
    human = record["instruction"] + ("\n" + record["input"] if record.get("input") else "")
    return {
        "id": id,
        "conversations": [{"from": "human", "value": human}, {"from": "gpt", "value": record["output"]}],
        "source": source,
    }
