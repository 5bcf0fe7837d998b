"""The one identity of what was computed: a pool, the method and every parameter that can
change its result. Checkpoints, the embedding and LM caches, scores folders and manifests
all key their files by these functions, so a changed input, tokenizer or result-changing
parameter invalidates every one of them the same way."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np


def fingerprint(*parts: Any, data: bytes | memoryview = b"") -> str:
    """A short digest identifying a computation: its settings and the bytes it ran on."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=12)
    digest.update(data)
    return digest.hexdigest()


def plain(value: Any) -> Any:
    """A parameter as JSON holds it, and as it identifies a result from one run to the next:
    numpy scalars and arrays as numbers and lists, paths as strings, a target set read from a
    file by its description and the digest of its texts (not where it sits in memory)."""
    from .io import Records

    if isinstance(value, Records):
        return {"pool": value.describe(), "texts": value.payloads("text").digest()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


def result_key(method: str, params: dict, pool: Any) -> str:
    """The key of a result: the method, its result-changing ``params`` (as :func:`plain`
    gives them) and the pool (:func:`pool_identity`)."""
    described = json.dumps({"method": method, "params": plain(params), "pool": pool}, sort_keys=True)
    return hashlib.blake2b(described.encode(), digest_size=12).hexdigest()


def records_identity(records: Any, serializer: str = "text") -> dict:
    """A pool in memory: the digest of the bytes a method reads (its serializer's) and of the
    texts, so the same records read from anywhere have the same identity."""
    ids = {"records": len(records), "bytes": records.payloads(serializer).digest()}
    if serializer != "text":
        ids["text"] = records.payloads("text").digest()
    return ids


def files_identity(files: Sequence[str | os.PathLike], read: dict) -> dict:
    """A pool left in its files: each file's path, size and modification time, and how it is
    read (a file rewritten since is another pool)."""
    from .io import remote

    stats = []
    for path in files:
        if remote.is_url(path) and remote.local_path(str(path)) is None:
            stats.append([str(path), *remote.stat(str(path))])
            continue
        st = Path(remote.local_path(str(path)) or path).stat()
        stats.append([str(path), st.st_size, st.st_mtime_ns])
    return {"files": stats, "read": plain(read)}
