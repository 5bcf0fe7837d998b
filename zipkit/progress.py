"""Progress bars on standard error; ``enabled=None`` shows them only on a terminal."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

# Items per progress update of a per-record pass: large enough that a thread pool stays busy.
BLOCK = 16384


def bar(total: float | None, desc: str, unit: str = "it", enabled: bool | None = None) -> tqdm:
    """A tqdm bar on stderr; off when ``enabled`` is False, on at a terminal when None."""
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=True,
        leave=False,
        file=sys.stderr,
        mininterval=0.5,
        disable=None if enabled is None else not enabled,
    )
