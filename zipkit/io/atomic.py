"""Outputs that appear whole or not at all (a temporary file beside the target, then a
rename), and the clean-up of a killed writer's temporary files."""

from __future__ import annotations

import contextlib
import glob
import gzip
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """A binary stream to ``path`` that appears there whole or not at all (temp file + rename).

    ``.gz`` and ``.zst`` suffixes compress what is written.
    """
    path = Path(path)
    remove_stale_temps(path)
    fd, tmp = make_temp(path)
    try:
        with open(fd, "wb") as raw:
            if path.suffix.lower() == ".gz":
                with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
                    yield out
            elif path.suffix.lower() == ".zst":
                import zstandard

                with zstandard.ZstdCompressor().stream_writer(raw, closefd=False) as out:
                    yield out
            else:
                yield raw
            raw.flush()
            os.fsync(raw.fileno())
        # mkstemp makes the file private; give it the permissions of a normally created file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.errno is not None and err.filename is None:
            # A failed write (a full disk) names no file: name the output, which is untouched.
            raise type(err)(err.errno, f"{err.strerror} while writing {path} (nothing was written there)") from err
        raise


def make_temp(path: str | os.PathLike, suffix: str = ".tmp", name: str = "output") -> tuple[int, str]:
    """A new private file beside ``path``, named for this process (:func:`temp_prefix`), or
    an error that says why ``path`` cannot be written there."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{name} {path} is a directory: give the path of a file")
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(
            f"the directory of {name} {path} does not exist: create {parent} first, or write elsewhere"
        )
    try:  # os.access says yes to root on a read-only file system: try a real file
        return tempfile.mkstemp(prefix=temp_prefix(path), suffix=suffix, dir=parent)
    except OSError as err:
        raise PermissionError(f"cannot write {name} {path}: {err.strerror} in {parent}") from None


def temp_prefix(path: Path) -> str:
    """``.NAME.PID.``: a temporary file names its writer, so a later run can tell a dead
    writer's leftover from a live one's work in progress."""
    return f".{path.name}.{os.getpid()}."


def remove_stale_temps(path: Path) -> None:
    """Delete temporary files beside ``path`` whose writing process is gone (a killed run)."""
    for temp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = temp.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                temp.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
