"""Generated reports inside hand-written pages: ``python -m zipkit.experiments.include FILE...``.

A page (the README, a docs page) marks where a generated file goes::

    <!-- include: experiments/results/methods/findings.md -->
    ...replaced by the file's text...
    <!-- end include -->

and this fills every such block with the file's text as it is now (paths relative to the
repository root, the current folder). With ``--check`` it changes nothing and exits 1 where
a page differs from its files: a test runs that, so no number in a page drifts from the
results it came from.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ..io import atomic_output

BLOCK = re.compile(r"(<!-- include: (?P<path>[^ ]+) -->\n)(?P<body>.*?)(<!-- end include -->)", re.S)
HEAD = re.compile(r"\A<!-- generated from results\.json .*? -->\n\n?")


def filled(text: str, root: Path) -> str:
    """``text`` with every include block holding its file's text (less the generated-by line)."""

    def fill(match: re.Match) -> str:
        path = root / match["path"]
        if not path.is_file():
            raise FileNotFoundError(f"include of {match['path']}: no such file under {root}")
        body = HEAD.sub("", path.read_text())
        return match[1] + body.rstrip("\n") + "\n" + match[4]

    return BLOCK.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    """Fill (or with ``--check`` check) the include blocks of the pages named; the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    stale = []
    for name in (a for a in args if a != "--check"):
        page = Path(name)
        text = page.read_text()
        new = filled(text, Path.cwd())
        if new != text:
            stale.append(name)
            if not check:
                with atomic_output(page) as out:
                    out.write(new.encode())
    if check and stale:
        print(
            f"out of date with their results: {', '.join(stale)}; run python -m zipkit.experiments.include {' '.join(stale)}"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
