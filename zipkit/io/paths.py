"""Where a run writes, checked before it works: never over an input, never into a place it
cannot write, and never leaving a killed write's temporary file behind for long.

Paths are compared as files, not strings: ``./a/../pool.jsonl``, a symlink and a hard link
to the pool are all the pool. An output may be a character device or FIFO, written through
(:mod:`zipkit.io.atomic` says what each kind of path gets); two outputs may share a character
device (``/dev/null``), never a file.

A sharded pool's link that leads to no file (a dangling symlink, a symlink loop) is an error
naming it, never a shard left out without a word.
"""

from __future__ import annotations

import glob
import os
import re
import stat
from pathlib import Path
from typing import Mapping

from . import remote
from .atomic import broken_link, make_temp, output_target
from .formats import EXTENSIONS, GLOB_CHARACTERS, base_suffix


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file (following symlinks); a missing path is compared by
    its resolved name, since it may be about to be written."""
    a, b = (remote.local_path(str(x)) or x if remote.is_url(x) else x for x in (a, b))
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def check_outputs(
    outputs: Mapping[str, str | os.PathLike | None], inputs: Mapping[str, str | os.PathLike | None]
) -> None:
    """Refuse, before any work, an output that is an input (or would be read as a shard of a
    sharded input), another output, a directory, or in a directory that is missing or cannot
    be written.

    Parameters
    ----------
    outputs : mapping of str to path or None
        The outputs by the option that names them (``{"-o": "out.jsonl"}``); None for one not given.
    inputs : mapping of str to path or None
        The inputs, likewise (``{"POOL": "pool.jsonl"}``).
    """
    given_inputs = {name: path for name, path in inputs.items() if _is_file_path(path)}
    seen: dict[str, str | os.PathLike] = {}
    for name, path in outputs.items():
        if path is None:
            continue
        for other, source in given_inputs.items():
            if same_file(path, source):
                raise ValueError(
                    f"{name} {path} is the same file as {other} {source}: zipkit never "
                    f"writes over its input; choose another output path"
                )
            if is_shard_of(path, source):
                raise ValueError(
                    f"{name} {path} would be a shard of {other} {source} (it is in its "
                    f"folder or matches its pattern): a later run would read it as part "
                    f"of the pool; write it elsewhere"
                )
        for other, written in seen.items():
            if same_file(path, written) and not _is_char_device(path):
                raise ValueError(f"{name} and {other} are both {path}: give each output its own path")
        seen[name] = path
        check_writable(path, name)


def check_writable(path: str | os.PathLike, name: str = "output") -> None:
    """The output's directory exists and takes a new file, or the output is a character
    device or FIFO that may be written; anything else it is (a directory) is refused. A URL:
    its filesystem takes writes (:func:`zipkit.io.remote.check_writable`)."""
    if remote.is_url(path):
        if remote.local_path(str(path)) is None:
            return remote.check_writable(str(path), name)
        path = remote.local_path(str(path))  # type: ignore[assignment]
    target, through = output_target(path, name)
    if through:  # written through, never opened here: a FIFO's open would wait for its reader
        if not os.access(path, os.W_OK):
            raise PermissionError(f"cannot write {name} {path}: permission denied (check its mode and owner)")
        return
    fd, probe = make_temp(target, ".probe", name)
    os.close(fd)
    os.unlink(probe)


# --- sharded pools: a directory of record files, or a glob pattern ------------------------

# A directory's record files: every suffix a reader knows.
SHARD_SUFFIXES = tuple(EXTENSIONS)


def is_sharded(source: object) -> bool:
    """Whether a pool source names shards: a directory, or a glob pattern that is not itself
    the name of a file (at a URL too: a folder or a pattern of objects).

    Parameters
    ----------
    source : object
        A pool as :func:`zipkit.read_records` takes it; only paths and URLs can name shards.
    """
    if remote.is_url(source):
        local = remote.local_path(source)  # type: ignore[arg-type]
        if local is None:
            return remote.is_folder_or_pattern(source)  # type: ignore[arg-type]
        source = local
    if not _is_file_path(source):
        return False
    path = Path(source)  # type: ignore[arg-type]
    if path.is_dir():
        from .hf import saved

        return saved(path) is None  # a save_to_disk folder is one dataset, not shards
    return any(c in str(source) for c in GLOB_CHARACTERS) and not path.exists()


def shard_paths(source: str | os.PathLike) -> list[Path]:
    """The shards of a sharded pool in their order (the order of record positions): the
    record files of a directory (``.jsonl``, ``.json``, ``.parquet``, each optionally
    ``.gz``/``.zst``; hidden files left out), or the files a glob pattern matches, sorted by
    name with numbers compared as numbers (``shard-2`` before ``shard-10``). At a URL: the
    objects' URLs.

    Parameters
    ----------
    source : str or os.PathLike
        A directory, a glob pattern, or a URL of either.
    """
    if remote.is_url(source) and remote.local_path(str(source)) is None:
        found = [u for u in remote.listing(str(source)) if base_suffix(u) in SHARD_SUFFIXES]
        found = [u for u in found if not u.rsplit("/", 1)[-1].startswith(".")]
        if not found:
            raise FileNotFoundError(f"no record files in pool {source} (looked for {', '.join(SHARD_SUFFIXES)})")
        return sorted(found, key=_natural)  # type: ignore[return-value]
    if remote.is_url(source):
        source = remote.local_path(str(source))  # type: ignore[assignment]
    path = Path(source)
    if path.is_dir():
        named = [p for p in path.iterdir() if not p.name.startswith(".") and base_suffix(p) in SHARD_SUFFIXES]
        _refuse_broken_links(named, source)
        found = [p for p in named if p.is_file()]
        if not found:
            raise FileNotFoundError(
                f"pool {source} is a directory with no record files (looked for "
                f"{', '.join(SHARD_SUFFIXES)}, optionally .gz or .zst)"
            )
    else:
        matches = [Path(p) for p in glob.glob(str(source), recursive=True)]
        _refuse_broken_links(matches, source)
        found = [p for p in matches if p.is_file()]
        if not found:
            raise FileNotFoundError(f"no file matches the pool pattern {source}")
    return sorted(found, key=_natural)


def is_shard_of(output: str | os.PathLike, source: str | os.PathLike) -> bool:
    """Whether a file written at ``output`` would be read as a shard of ``source``."""
    if remote.is_url(output) or remote.is_url(source):
        if not (remote.is_url(output) and remote.is_url(source)) or not is_sharded(source):
            return False  # one local, one not: never the same place
        folder = str(source).rstrip("/")
        named = base_suffix(output) in SHARD_SUFFIXES and str(output).startswith(folder + "/")
        return named or str(output) in remote.listing(str(source))
    if not is_sharded(source):
        return False
    out = Path(output).resolve()
    if Path(source).is_dir():
        return (
            out.parent == Path(source).resolve() and base_suffix(out) in SHARD_SUFFIXES and not out.name.startswith(".")
        )
    return any(same_file(output, match) for match in glob.glob(str(source), recursive=True)) or Path(
        os.path.abspath(output)
    ).match(os.path.abspath(str(source)))


def _refuse_broken_links(paths: list[Path], source: str | os.PathLike) -> None:
    """A shard that is a link to nothing would be left out of the pool without a word."""
    for path in sorted(paths, key=_natural):
        broken = broken_link(path)
        if broken:
            raise FileNotFoundError(
                f"{path} {broken}; it is a shard of pool {source}: point the link at the shard's "
                f"file, or remove it to read the pool without it"
            )


def _is_char_device(path: str | os.PathLike) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def _natural(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def _is_file_path(path: object) -> bool:
    return (
        isinstance(path, (str, os.PathLike))
        and str(path) not in ("", "-")
        and not str(path).startswith(("<", "packaged:"))
    )
