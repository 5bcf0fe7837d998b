"""Errors that name the file, the record and the fix."""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

_PACKAGE = str(Path(__file__).resolve().parent)


@dataclass(frozen=True)
class BadRecord:
    """One unreadable record: where it is and what is wrong with it.

    Parameters
    ----------
    path : str
        The file (or shard) that holds it.
    record : int
        Its 0-based number in that file (JSON array index, or JSONL record count).
    line : int or None
        The 1-based line where it starts, where the format has lines.
    problem : str
        What is wrong with it, and the fix.
    """

    path: str
    record: int  # 0-based number of the record in its file (JSON array index, or JSONL record count)
    line: int | None  # 1-based line where the record starts, where the format has lines
    problem: str

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line is not None else ""
        return f"{self.path}: {where}record {self.record}: {self.problem}"


class BadRecordError(ValueError):
    """A record cannot be read. ``on_error="skip"`` skips such records and lists them instead.

    Parameters
    ----------
    bad : BadRecord
        The record, and its problem.
    unskippable : str, optional
        Why it cannot be skipped, when it cannot: ``"cut"`` (the records after it cannot be
        found) or ``"every"`` (skipping would leave nothing).
    """

    # Why a record cannot be skipped, when it cannot.
    UNSKIPPABLE = {
        "cut": "the records after this point cannot be found, so it cannot be skipped (not even "
        "with on_error='skip'): repair the file",
        "every": "on_error='skip' would skip every record like it, leaving nothing",
    }

    def __init__(self, bad: BadRecord, unskippable: str | None = None) -> None:
        self.bad = bad
        hint = (
            self.UNSKIPPABLE[unskippable] if unskippable else "pass on_error='skip' to skip bad records and list them"
        )
        super().__init__(f"{bad} ({hint})")


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn at the first frame outside zipkit: the user's line, however deep the call
    (``zipkit.select`` -> the lazy method table -> the method)."""
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is the frame that called us
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, category, stacklevel=level)
