"""The target set of the methods that select towards a task (ZIP-FIT, DSIR): read once, at
the start, and refused there when it could only give a meaningless result."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..errors import BadRecordError
from ..io import Records, formats, read_records


def read_target(
    source: Any, method: str, schema: str | None = None, text_fields: Sequence[str] | None = None
) -> Records:
    """The target set ``source`` (a path, a list of texts or records, a Records), read
    whole: a bad record is an error (the target defines the task, so none is skipped), one
    naming the fields the records do have when a text field is missing; no record at all is
    an error before any work (every score would be NaN)."""
    if isinstance(source, Records):
        records = source
    else:
        try:
            records = read_records(source, schema=schema, text_fields=text_fields, progress=False)
        except BadRecordError as err:
            raise ValueError(_target_problem(source, err)) from None
        except FileNotFoundError:
            # The reader speaks of a pool; this is the target, and a name is not a benchmark here.
            raise FileNotFoundError(
                f"no such target file: {source}; {method}'s target is a records file (or a list) of "
                f"the target task's examples, e.g. HumanEval.jsonl.gz with --target-field prompt"
            ) from None
    if not len(records):
        raise ValueError(
            f"the target set {_name(source)} holds no records: {method} needs at least one example of the target task"
        )
    return records


def _target_problem(source: Any, err: BadRecordError) -> str:
    """A bad target record, with the fields its records have where a field was missing; no
    hint to skip it (bad target records are never skipped)."""
    # The reader's hint names the pool's option; the target has its own.
    bad = str(err.bad).replace("text_fields=[...]", "the target's text_fields=[...]")
    if "no known schema" in bad:
        return f"target set {bad}"
    if "its fields are" in bad:  # the reader listed them
        return f"target set {bad}: name the one with the text with the target's text_fields=[...]"
    fields = _fields_of_first(source) if "field" in err.bad.problem else None
    if fields:
        return (
            f"target set {bad}; its records have the fields {', '.join(fields)}: name the one with "
            f"the text with the target's text_fields=[...]"
        )
    return f"target set {bad} (a target's records are all read, none skipped: repair the record)"


def _fields_of_first(source: Any) -> list[str] | None:
    """The fields of the target's first record (a file's or a list's), or None."""
    if isinstance(source, (list, tuple)):
        return sorted(source[0]) if source and isinstance(source[0], dict) else None
    try:
        path = Path(source)
        if formats.base_suffix(path) in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        with formats.open_binary(path) as stream:
            kind = formats.detect_format(path, stream)
            items = formats.iter_json_array(stream) if kind == "json" else formats.iter_jsonl(stream)
            first = next((item.value for item in items if isinstance(item.value, dict)), None)
    except (OSError, ValueError, TypeError):
        return None
    return list(first) if first else None


def _name(source: Any) -> str:
    return repr(str(source)) if not isinstance(source, (list, tuple)) else f"(a list of {len(source)})"
