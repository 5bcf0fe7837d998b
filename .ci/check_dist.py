"""What the built distributions hold: the wheel only the package (no tests, no data, no
numba caches), the sdist the package, its tests and the licence."""

import sys
import tarfile
import zipfile
from pathlib import Path

dist = Path(sys.argv[1])
wheel = zipfile.ZipFile(next(dist.glob("*.whl"))).namelist()
sdist = tarfile.open(next(dist.glob("*.tar.gz"))).getnames()
problems = []
stray = [n for n in wheel if not n.startswith("zipkit/") and ".dist-info/" not in n]
if stray:
    problems.append(f"the wheel holds files outside the package: {stray[:5]}")
unwanted = [n for n in wheel if "/tests/" in n or n.endswith((".nbi", ".nbc", ".pyc", ".json", ".jsonl", ".npz"))]
if unwanted:
    problems.append(f"the wheel holds tests, data or caches: {unwanted[:5]}")
if not any(n.endswith("/LICENSE") for n in wheel):
    problems.append("the wheel has no licence")
root = sdist[0].split("/")[0]
for needed in (
    "LICENSE",
    "CHANGELOG.md",
    "README.md",
    "pyproject.toml",
    "tests/conftest.py",
    "tests/test_compressors.py",
):
    if f"{root}/{needed}" not in sdist:
        problems.append(f"the sdist lacks {needed}")
if any("/experiments/results/" in n or n.endswith((".nbi", ".nbc")) for n in sdist):
    problems.append("the sdist holds results or numba caches")
if problems:
    sys.exit("\n".join(problems))
size = sum(f.stat().st_size for f in dist.iterdir()) / 1024
print(f"distributions: {len(wheel)} files in the wheel, {len(sdist)} in the sdist, {size:.0f} KiB in all")
