"""What every run records: parameters, library versions and timings."""

from __future__ import annotations

import platform
import sys
import time
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Iterator

_LIBRARIES = (
    "zipkit",
    "numpy",
    "numba",
    "zstandard",
    "lz4",
    "brotli",
    "isal",
    "pyarrow",
    "torch",
    "transformers",
    "sentence-transformers",
    "scikit-learn",
    "gguf",
)


def versions() -> dict[str, str]:
    """The versions of Python, zlib and every library that can change a result."""
    import zlib

    found = {"python": platform.python_version(), "zlib": zlib.ZLIB_RUNTIME_VERSION}
    for name in _LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


class Timings(dict):
    """Seconds per named stage, in the order the stages ran: the manifest's ``timings``.
    A method's ``select`` is given one and times its stages with :meth:`stage`."""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block under ``name`` (added to the stage's earlier time, if any).

        Parameters
        ----------
        name : str
            The stage's name in the manifest.
        """
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = round(self.get(name, 0.0) + time.perf_counter() - start, 6)


def command_line() -> list[str]:
    """The process's command line, for a manifest."""
    return list(sys.argv)
