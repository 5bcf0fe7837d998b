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
serializers keep them.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

SCHEMAS = ("sharegpt", "messages", "alpaca", "preference", "text")


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
    raise SchemaError(f"matches no known schema ({', '.join(SCHEMAS)}); its keys are {keys}. "
                      f"Name the field(s) holding the text with text_fields=[...] "
                      f"(--text-field on the command line)")


def extractor(schema: str | None, text_fields: Sequence[str] | None) -> Callable[[dict], str]:
    """A function from a record to its text for the given schema or explicit fields."""
    if text_fields:
        fields = list(text_fields)
        return lambda record: _join(_content(_field(record, f), f) for f in fields)
    try:
        return _EXTRACTORS[schema]
    except KeyError:
        raise ValueError(f"unknown schema {schema!r}; known: {', '.join(SCHEMAS)}") from None


def _field(record: dict, name: str) -> Any:
    try:
        return record[name]
    except KeyError:
        raise SchemaError(f"has no {name!r} field") from None


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


def _sharegpt(record: dict) -> str:
    turns = _field(record, "conversations")
    if not isinstance(turns, list):
        raise SchemaError("field 'conversations' is not a list of turns")
    for k, turn in enumerate(turns):
        # LIMA ships its conversations as plain strings; ShareGPT as {'from', 'value'} dicts.
        if not isinstance(turn, str) and (not isinstance(turn, dict) or "value" not in turn):
            raise SchemaError(f"turn conversations[{k}] has no 'value' (ShareGPT turns are "
                              f"{{'from': ..., 'value': ...}}, LIMA turns are strings)")
    return _content(turns, "conversations")


def _messages(record: dict) -> str:
    messages = _field(record, "messages")
    if not isinstance(messages, list):
        raise SchemaError("field 'messages' is not a list of messages")
    for k, message in enumerate(messages):
        if not isinstance(message, dict) or "content" not in message:
            raise SchemaError(f"message messages[{k}] has no 'content' (OpenAI messages are "
                              f"{{'role': ..., 'content': ...}})")
    return _join(_content(m["content"] or "", f"messages[{k}].content")
                 for k, m in enumerate(messages))


def _alpaca(record: dict) -> str:
    parts = [_content(_field(record, "instruction"), "instruction")]
    extra = record.get("input") or ""
    if extra:
        parts.append(_content(extra, "input"))
    parts.append(_content(_field(record, "output"), "output"))
    return _join(parts)


def _preference(record: dict) -> str:
    parts = [_content(record["prompt"], "prompt")] if record.get("prompt") else []
    parts += [_content(_field(record, key), key) for key in ("chosen", "rejected")]
    return _join(parts)


def _text(record: dict) -> str:
    return _content(_field(record, "text"), "text")


_EXTRACTORS = {"sharegpt": _sharegpt, "messages": _messages, "alpaca": _alpaca,
               "preference": _preference, "text": _text}


def alpaca_as_sharegpt(record: dict, id: Any, source: str = "alpaca") -> dict:
    """An Alpaca record in ShareGPT form, as ZIP's authors feed Alpaca to their script:
    the human turn is the instruction, then a newline and the input when there is one."""
    human = record["instruction"] + ("\n" + record["input"] if record.get("input") else "")
    return {"id": id, "conversations": [{"from": "human", "value": human},
                                        {"from": "gpt", "value": record["output"]}], "source": source}
