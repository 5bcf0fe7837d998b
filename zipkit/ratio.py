"""The entropy-law measurement: compression ratios of a pool and of its records.

ratio = uncompressed bytes / compressed bytes, so higher means more redundant. The
dataset's ratio compresses all records as one document framed by the serializer
(``repr`` frames exactly as ZIP's authors' ``str(list_of_records)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from . import compressors
from .io import Payloads, Records, Serializer, get_serializer
from .parallel import sizes_in_blocks
from .progress import bar

DEFAULT_COMPRESSOR = "zlib:9"  # what ZIP's authors measure
DEFAULT_SERIALIZER = "text"


def record_ratios(
    records: Records,
    compressor: str = DEFAULT_COMPRESSOR,
    serializer: str = DEFAULT_SERIALIZER,
    workers: int | None = None,
    progress: bool | None = False,
) -> np.ndarray:
    """Each record's own compression ratio (float64, aligned with ``records``)."""
    payloads = records.payloads(serializer)
    compressor = compressors.get(compressor)
    sizes = sizes_in_blocks(
        lambda i: compressor.size(payloads[int(i)]),
        np.arange(len(payloads)),
        workers,
        f"compressing records ({compressor.spec})",
        progress,
    )
    return payloads.lengths / sizes


def framed_record_ratios(
    payloads: Payloads,
    compressor: compressors.Compressor,
    frame: Serializer,
    positions: np.ndarray,
    workers: int | None = None,
    progress: bool | None = False,
) -> np.ndarray:
    """The ratio of each record at ``positions`` framed alone (``frame.head + record +
    frame.tail``): ZIP's initial score, a one-record selected set."""
    head, tail = frame.head, frame.tail
    sizes = sizes_in_blocks(
        lambda i: compressor.size(head + bytes(payloads[int(i)]) + tail),
        positions,
        workers,
        "zip: each record's ratio",
        progress,
    )
    return (payloads.lengths[positions] + len(head) + len(tail)) / sizes


def dataset_ratio(
    records: Records,
    compressor: str = DEFAULT_COMPRESSOR,
    serializer: str = DEFAULT_SERIALIZER,
    progress: bool | None = False,
) -> dict:
    """Raw and compressed size of the whole pool as one document, and their ratio."""
    payloads = records.payloads(serializer)
    frame = get_serializer(serializer)
    compressor = compressors.get(compressor)
    raw = _framed_length(payloads.lengths, frame)
    with bar(raw, f"compressing the pool ({compressor.spec})", "B", progress) as pbar:
        compressed = compressor.stream_size(_counted(frame.join(payloads), pbar))
    return {"bytes": raw, "compressed_bytes": compressed, "ratio": raw / compressed}


def shards_ratio(
    files: Sequence[str],
    read: dict,
    lengths: np.ndarray,
    compressor: str = DEFAULT_COMPRESSOR,
    serializer: str = DEFAULT_SERIALIZER,
    progress: bool | None = False,
) -> dict:
    """:func:`dataset_ratio` of a pool read one shard at a time (``read``: the options of
    :func:`zipkit.read_records`; ``lengths``: every record's bytes, known from a pass over
    the shards): one compression stream over all of them, one shard in memory."""
    from .io import read_records

    frame = get_serializer(serializer)
    compressor = compressors.get(compressor)
    raw = _framed_length(lengths, frame)
    payloads = (item for path in files for item in read_records(path, progress=False, **read).payloads(serializer))
    with bar(raw, f"compressing the pool ({compressor.spec})", "B", progress) as pbar:
        compressed = compressor.stream_size(_counted(frame.join(payloads), pbar))
    return {"bytes": raw, "compressed_bytes": compressed, "ratio": raw / compressed}


def framed_ratio(
    items: Sequence[bytes | memoryview], serializer: str = DEFAULT_SERIALIZER, compressor: str = DEFAULT_COMPRESSOR
) -> float:
    """The ratio of ``items`` framed as one document (:func:`dataset_ratio` for a subset)."""
    frame = get_serializer(serializer)
    raw = _framed_length(np.fromiter(map(len, items), np.int64, len(items)), frame)
    return raw / compressors.get(compressor).stream_size(frame.join(items))


def _framed_length(lengths: np.ndarray, frame) -> int:
    return int(lengths.sum()) + len(frame.head) + len(frame.tail) + len(frame.sep) * max(len(lengths) - 1, 0)


def _counted(chunks, pbar):
    for chunk in chunks:
        pbar.update(len(chunk))
        yield chunk


def summarize(values: np.ndarray) -> dict:
    """Mean, spread and percentiles of per-record values; NaNs are counted as ``unscored``."""
    if values.size == 0:
        raise ValueError("no records to summarize")
    missing = int(np.isnan(values).sum())
    values = values[~np.isnan(values)]
    if values.size == 0:
        return {"unscored": missing}
    q = np.percentile(values, [0, 5, 25, 50, 75, 95, 100])
    stats = {
        "mean": float(values.mean()),
        "std": float(values.std()),
        **{name: float(v) for name, v in zip(("min", "p5", "p25", "median", "p75", "p95", "max"), q)},
    }
    # NaN marks a record a method could not score (an LM scorer on a record without a response).
    return {**stats, "unscored": missing} if missing else stats


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.arange(len(x), dtype=np.float64)
    # Average the ranks of tied values.
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def histogram(values: np.ndarray, bins: int = 12, width: int = 40) -> list[str]:
    """A text histogram of the 1st-99th percentile range, one line per bin, tails counted apart
    (a few huge ratios, such as a pasted repeated line, would otherwise flatten every bar)."""
    lo, hi = np.percentile(values, [1, 99])
    if hi <= lo:
        lo, hi = float(values.min()), float(values.max()) + 1e-9
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    top = counts.max() or 1
    lines = [
        f"{a:9.3f} - {b:9.3f} {n:>9,d} {'#' * int(round(width * n / top))}"
        for a, b, n in zip(edges[:-1], edges[1:], counts)
    ]
    below, above = int((values < lo).sum()), int((values > hi).sum())
    return [f"{'below':>9}   {lo:9.3f} {below:>9,d}", *lines, f"{'above':>9}   {hi:9.3f} {above:>9,d}"]


def changes(summaries: list[dict]) -> list[float | None]:
    """Each pool's dataset ratio relative to the previous one's (None for the first)."""
    ratios = [s["dataset"]["ratio"] for s in summaries]
    return [None] + [b / a - 1 for a, b in zip(ratios, ratios[1:])]


def plot_versions(summaries: list[dict], per_record: list[np.ndarray], path) -> None:
    """Each pool's ratio (a point per pool, joined in order) over its per-record ratios (box
    plots): a version whose redundancy jumps stands out."""
    from .results.plots import pyplot, save, set_title

    plt = pyplot()
    names = [Path(s["pool"]["path"]).name for s in summaries]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(names) + 2), 4.5))
    positions = np.arange(1, len(names) + 1)
    ax.boxplot([v[np.isfinite(v)] for v in per_record], positions=positions, widths=0.5, showfliers=False)
    ax.plot(positions, [s["dataset"]["ratio"] for s in summaries], "o-", color="C3", label="whole pool as one document")
    ax.set_xticks(positions, names, rotation=20, ha="right", fontsize=8)
    spec = summaries[0]["manifest"]["compressor"]["spec"]
    ax.set_ylabel(f"compression ratio ({spec}, raw / compressed)")
    set_title(
        ax,
        "Compression ratio of each pool as one document (line) and of its records "
        "alone (boxes: quartiles and 1.5 IQR whiskers)",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    save(fig, path)
