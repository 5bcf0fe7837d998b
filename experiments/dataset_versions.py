"""The entropy law's practical use: versions of a dataset compared by their ratio.

    python -m experiments.dataset_versions [--out-dir DIR]

Three versions of Alpaca (../shared/data): v1 its first 2,000 records, v2 the first 3,000, v3
the first 2,500 plus a repeat of the first 1,000 (a merge gone wrong). ``zipkit ratio v1 v2 v3``
under zlib:9 and zstd:19, the table and the plot of each into ``--out-dir``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).parent / "results" / "dataset_versions")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    records = json.loads((DATA / "alpaca" / "alpaca_5000.json").read_text())
    versions = {"v1.jsonl": records[:2000], "v2.jsonl": records[:3000], "v3.jsonl": records[:2500] + records[:1000]}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, rows in versions.items():
            path = Path(tmp) / name
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
            paths.append(name)  # run in the folder: the table names the versions
        for spec in ("zlib:9", "zstd:19"):
            stem = args.out_dir / spec.replace(":", "_")
            stem = stem.resolve()
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "zipkit.cli",
                    "ratio",
                    *paths,
                    "--compressor",
                    spec,
                    "--report",
                    f"{stem}.json",
                    "--plot",
                    f"{stem}.png",
                    "--no-progress",
                ],
                capture_output=True,
                text=True,
                check=True,
                cwd=tmp,
            )
            Path(f"{stem}.txt").write_text(run.stdout)
            print(run.stdout)


if __name__ == "__main__":
    main()
