"""The one writer of every output (:func:`atomic_output`), and the clean-up of a killed
writer's temporary files.

What it does goes by what the output path is, as a careful Unix tool does (``sort -o``,
``cp``):

- a new path, or a regular file: written to a temporary file beside it, flushed to disk,
  then renamed over it, so that the output appears whole or not at all (a killed run
  leaves the old file, and a temporary file the next write removes). The temporary name
  is the output's name, cut short where needed to fit the file system's limit on a name
  (NAME_MAX), then the writer's process id and a random part (:func:`temp_prefix`);
- a symlink to a regular file: the same, at the file it points to; the link stays a link;
- an existing character device (``/dev/null``, a terminal) or FIFO (named pipe): opened
  and written through, with no temporary file and no rename (a FIFO's open waits for its
  reader). Such a file cannot be replaced whole, and must not be replaced at all: as root,
  a rename would put a regular file where a system device was. A failed write is an error
  naming the path (``/dev/full``: "No space left on device while writing /dev/full");
- anything else that is not a regular file (a directory, a block device, a socket, a
  symlink to nothing or a symlink loop) is refused, with an error saying what it is.

Nothing is ever renamed over a file that is not a regular file.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

from . import remote
from .formats import compressing

# Bytes of a temporary name besides the output's name: two dots, the process id (at most 10
# digits), a dot, mkstemp's random part (8) and the longest suffix (.probe).
_TEMP_PARTS = 1 + 1 + 10 + 1 + 8 + len(".probe")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """A binary stream to ``path``: a regular file appears there whole or not at all (temp
    file + rename); a character device or FIFO is written through, and a symbolic link is
    written at its target.

    ``.gz`` and ``.zst`` suffixes compress what is written. A URL (``s3://``, ``memory://``)
    is written through fsspec (:mod:`zipkit.io.remote`); ``file://`` is a local path.

    Parameters
    ----------
    path : str or os.PathLike
        The output's path or URL.
    """
    if remote.is_url(path):
        local = remote.local_path(path)
        if local is None:
            with remote.atomic_remote(path) as out:
                yield out
            return
        path = local
    path = Path(path)
    target, through = output_target(path)
    if through:
        with _written_through(path) as out:
            yield out
        return
    remove_stale_temps(target)
    fd, tmp = make_temp(target)
    try:
        with open(fd, "wb") as raw:
            with compressing(raw, path) as out:
                yield out
            raw.flush()
            os.fsync(raw.fileno())
        # mkstemp makes the file private; give it the permissions of a normally created file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if _unnamed(err):
            # A failed write (a full disk) names no file: name the output, which is untouched.
            raise type(err)(err.errno, f"{err.strerror} while writing {path} (nothing was written there)") from err
        raise


@contextlib.contextmanager
def _written_through(path: Path) -> Iterator[IO[bytes]]:
    """A character device or FIFO opened for writing as it is: no temporary file, no rename,
    nothing created or truncated."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):  # replaced since it was looked at
            os.close(fd)
            raise OSError(f"output {path} changed while it was opened: it is no longer a device or FIFO; run again")
        with open(fd, "wb") as raw:
            with compressing(raw, path) as out:
                yield out
    except BaseException as err:
        if isinstance(err, BrokenPipeError):  # not the command's own standard output: an error
            # (an OSError with errno EPIPE would be a BrokenPipeError again, which the CLI takes
            # for `zipkit ... | head` and ends quietly)
            raise OSError(f"{err.strerror} while writing {path}: its reader closed it before the end") from err
        if _unnamed(err):
            raise type(err)(err.errno, f"{err.strerror} while writing {path}") from err
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """``text`` as UTF-8 at ``path``, atomically: the form of every Markdown table and report
    page zipkit and its experiments write.

    Parameters
    ----------
    path : str or os.PathLike
        The output's path or URL.
    text : str
        The whole content.
    """
    with atomic_output(path) as out:
        out.write(text.encode())


def write_json(path: str | os.PathLike, value: Any) -> None:
    """``value`` as indented JSON (one trailing newline) at ``path``, atomically: the form of
    every report and results file zipkit and its experiments write.

    Parameters
    ----------
    path : str or os.PathLike
        The output's path or URL.
    value : object
        Anything ``json.dumps`` takes.
    """
    write_text(path, json.dumps(value, indent=1) + "\n")


def _unnamed(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno is not None and err.filename is None


def output_target(path: str | os.PathLike, name: str = "output") -> tuple[Path, bool]:
    """How an output at ``path`` is written: ``(file, False)``, the regular file (or new
    path) a temporary file is renamed onto (a symlink's target), or ``(path, True)``, a
    character device or FIFO written through. Anything else is refused with an error that
    says what the path is (module docstring); ``name`` names the output (``-o``)."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        broken = broken_link(path)
        if broken:
            raise FileNotFoundError(
                f"{name} {path} {broken}: point the link at a file, remove it, or write elsewhere"
            ) from None
        if err.errno in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG):
            return path, False  # a new file; make_temp says what is wrong with its name or directory
        raise
    if stat.S_ISREG(mode):
        return (Path(os.path.realpath(path)) if path.is_symlink() else path), False
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return path, True
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{name} {path} is a directory: give the path of a file")
    kind = "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file"
    raise OSError(
        f"{name} {path} is {kind}: zipkit writes its outputs to a regular file (replaced whole), "
        f"a character device such as /dev/null, or a FIFO; give the path of a file"
    )


def broken_link(path: str | os.PathLike) -> str | None:
    """What is wrong with a symlink that leads to no file (``is a symlink to X, which does not
    exist``, ``is a symlink loop (a -> b -> a)``), or None for anything else."""
    path = Path(path)
    try:
        if not stat.S_ISLNK(os.lstat(path).st_mode):
            return None
    except OSError:  # no such path (or a name too long): not a link
        return None
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return f"is a symlink loop ({_link_chain(path)}): the links lead to each other, never to a file"
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return f"is a symlink to {os.readlink(path)}, which does not exist"
    return None


def _link_chain(path: Path, most: int = 8) -> str:
    """``a -> b -> a``: the links followed from ``path`` until one repeats."""
    chain, seen, at = [str(path)], {os.path.abspath(path)}, str(path)
    for _ in range(most):
        try:
            target = os.readlink(at)
        except OSError:
            break
        chain.append(target)
        at = os.path.normpath(os.path.join(os.path.dirname(at), target))
        if os.path.abspath(at) in seen:
            return " -> ".join(chain)
        seen.add(os.path.abspath(at))
    return " -> ".join(chain + ["..."])


def make_temp(path: str | os.PathLike, suffix: str = ".tmp", name: str = "output") -> tuple[int, str]:
    """A new private file beside ``path``, named for this process (:func:`temp_prefix`), or
    an error that says why ``path`` cannot be written there."""
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(
            f"the directory of {name} {path} does not exist: create {parent} first, or write elsewhere"
        )
    size, most = len(os.fsencode(path.name)), _name_max(parent)
    if size > most:
        raise OSError(
            f"the name of {name} {path} is {size} bytes long; the file system takes names of at most "
            f"{most} bytes: choose a shorter name"
        )
    if path.is_dir():
        raise IsADirectoryError(f"{name} {path} is a directory: give the path of a file")
    try:  # os.access says yes to root on a read-only file system: try a real file
        return tempfile.mkstemp(prefix=temp_prefix(path), suffix=suffix, dir=parent)
    except OSError as err:
        raise PermissionError(f"cannot write {name} {path}: {err.strerror} in {parent}") from None


def temp_prefix(path: Path) -> str:
    """``.NAME.PID.``: a temporary file names its writer, so a later run can tell a dead
    writer's leftover from a live one's work in progress. A long NAME is cut short so that
    the temporary name fits the file system's limit on a name."""
    return f".{_temp_stem(path)}.{os.getpid()}."


def _temp_stem(path: Path) -> str:
    """The output's name, cut to leave room for the rest of a temporary name."""
    room = _name_max(path.parent) - _TEMP_PARTS
    name = os.fsencode(path.name)
    return path.name if len(name) <= room else os.fsdecode(name[: max(room, 1)])


def _name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def remove_stale_temps(path: Path) -> None:
    """Delete temporary files beside ``path`` whose writing process is gone (a killed run)."""
    stem = _temp_stem(path)
    for temp in path.parent.glob(f".{glob.escape(stem)}.*.tmp"):
        pid = temp.name[len(stem) + 2 :].split(".", 1)[0]
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
