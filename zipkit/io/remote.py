"""Pools and outputs at URLs (``s3://``, ``gs://``, ``hf://``, ``memory://``, ``file://`` ...),
through fsspec, whose protocol packages (s3fs, gcsfs, huggingface_hub) are optional extras.

A ``file://`` URL is a local path and gets everything a local path gets (atomic rename,
devices and FIFOs written through). Elsewhere an output is written to a temporary object
beside it and moved into place when complete, so a failed or killed run leaves no partial
output at the name (on object stores a move is a copy that appears whole, then a delete); a
temporary object a killed run leaves has the output's name, ``.zipkit-tmp``, the writer's
process id and a random part. A filesystem that cannot write (``http://``) is refused before
any work.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
from pathlib import PurePosixPath
from typing import IO, Any, Iterator

from .formats import GLOB_CHARACTERS, compressing

_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*)://")
# Where fsspec can read but not write.
READ_ONLY = ("http", "https", "ftp+ro", "github", "zip", "tar", "libarchive")


def is_url(source: Any) -> bool:
    """Whether ``source`` is a URL with a protocol (``s3://...``), not a local path."""
    return isinstance(source, str) and _URL.match(source) is not None


def protocol(url: str) -> str:
    """The protocol of a URL, lower-cased (``s3``, ``memory``, ...)."""
    return _URL.match(url).group(1).lower()  # type: ignore[union-attr]


def local_path(url: str) -> str | None:
    """The local path of a ``file://`` URL (None for any other protocol or a plain path)."""
    if not is_url(url) or protocol(url) not in ("file", "local"):
        return None
    return url.split("://", 1)[1] or "/"


def filesystem(url: str) -> tuple[Any, str]:
    """fsspec's filesystem for ``url`` and the path within it; a missing protocol package is
    an error saying what to install."""
    try:
        import fsspec
    except ImportError:
        raise ImportError(f"{url}: a URL is read through fsspec: pip install 'zipkit[remote]'") from None
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as err:
        raise ImportError(
            f"{url}: fsspec cannot open {protocol(url)}:// here ({err}); install the protocol's package "
            f"(s3fs for s3://: pip install 'zipkit[s3]'; gcsfs for gs://: 'zipkit[gcs]'; huggingface_hub for "
            f"hf://: 'zipkit[hf]')"
        ) from None
    except ValueError as err:
        raise ValueError(f"{url}: {err}") from None


def unstrip(fs: Any, path: str) -> str:
    """``path`` of ``fs`` as a URL again."""
    return fs.unstrip_protocol(path)


def open_read(url: str) -> IO[bytes]:
    """A buffered binary stream of the object at ``url``."""
    fs, path = filesystem(url)
    if not fs.isfile(path):
        what = "a folder" if fs.isdir(path) else "nothing"
        raise FileNotFoundError(f"no such pool file: {url} (there is {what} there)")
    return io.BufferedReader(fs.open(path, "rb"))


def stat(url: str) -> tuple[int, str]:
    """The size of the object at ``url`` and what changes when it is rewritten (its
    modification time, ETag or generation, whichever the store gives)."""
    fs, path = filesystem(url)
    info = fs.info(path)
    for key in ("mtime", "LastModified", "last_modified", "updated", "ETag", "etag", "generation", "created"):
        if info.get(key) is not None:
            return int(info.get("size") or 0), str(info[key])
    return int(info.get("size") or 0), ""


def is_folder_or_pattern(url: str) -> bool:
    """Whether a URL names shards: a folder, or a glob pattern that is not itself an object."""
    fs, path = filesystem(url)
    if any(c in path for c in GLOB_CHARACTERS):
        return not fs.exists(path)
    return fs.isdir(path)


def listing(url: str) -> list[str]:
    """The objects of a folder URL, or those a glob URL matches, as URLs."""
    fs, path = filesystem(url)
    found = fs.glob(path) if any(c in path for c in GLOB_CHARACTERS) else fs.ls(path, detail=False)
    return [unstrip(fs, p) for p in found if fs.isfile(p)]


def check_writable(url: str, name: str = "output") -> None:
    """Refuse, before any work, an output on a filesystem fsspec cannot write."""
    if protocol(url) in READ_ONLY:
        raise ValueError(
            f"{name} {url}: {protocol(url)}:// can be read but not written; write the output to a local path "
            f"or to a store that takes writes (s3://, gs://, hf://, file://)"
        )
    fs, path = filesystem(url)
    if fs.isdir(path):
        raise IsADirectoryError(f"{name} {url} is a folder; name a file in it")


@contextlib.contextmanager
def atomic_remote(url: str) -> Iterator[IO[bytes]]:
    """A binary stream whose bytes appear at ``url`` only when the block ends without error:
    written to a temporary object beside it, then moved over it; removed on failure."""
    check_writable(url)
    fs, path = filesystem(url)
    tmp = f"{path}.zipkit-tmp.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        with fs.open(tmp, "wb") as raw:
            with compressing(raw, PurePosixPath(path)) as out:
                yield out
        fs.mv(tmp, path)
    except BaseException:
        with contextlib.suppress(Exception):
            if fs.exists(tmp):
                fs.rm(tmp)
        raise
