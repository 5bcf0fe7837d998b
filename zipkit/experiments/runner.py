"""The experiment runner: configs, the pool, selections cached by their parameters, outputs.

A selection is saved in ``OUT/selections/`` as the report ``zipkit select`` writes (indices,
scores, manifest), named by a hash of the pool's bytes, the method and its parameters: a
rerun, or a new table over the same runs, reuses it, and a killed run loses only the
selection it was making. Only positions are saved, never copies of the records.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import methods
from ..api import select
from ..io import Records, atomic_output, read_records
from ..manifest import versions
from ..results import Selection
from ..summary import Chosen, describe
from . import pools, schema

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def load_config(path: str | Path, kind: str | None = None) -> dict:
    """The TOML config at ``path``; with ``kind`` (an experiment's name), validated against its
    schema and with every default filled in (``schema.validate``)."""
    try:
        with open(path, "rb") as stream:
            config = tomllib.load(stream)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"config {path} is not valid TOML: {err}") from None
    return config if kind is None else schema.validate(config, path, kind)


def build_pool(config: dict) -> Records:
    """The pool a config's ``[pool]`` table names: a ``path``, or ``sources`` (see
    ``pools.SOURCES``), ``max_chars`` per record, ``limit`` records sampled with ``seed``,
    ``data_dir`` (default ../shared/data); or ``from``, the output folder of an earlier
    experiment, whose pool it rebuilds (the config is updated to that pool's table). With
    ``decontaminate`` (benchmarks), less the records that share text with them."""
    spec = schema.table(config.get("pool", {}), getattr(config, "path", "the config"))
    if "from" in spec:
        spec = pool_of(spec["from"])
    config["pool"] = spec
    if "path" in spec:  # a pool file of the user's own
        records = read_records(spec["path"], progress=False)
    else:
        built = pools.build(spec["sources"], spec["data_dir"], spec["limit"], spec["seed"], spec["max_chars"])
        records = read_records(built, progress=False)
    if spec.get("decontaminate"):
        # The records left keep their indices in the pool as built (the selections' reports).
        from ..decontaminate import index_of, split

        index = index_of(spec["decontaminate"], spec["decontaminate_ngram"], spec.get("data_dir"))
        records = records.take(split(records, index)[0])
    return records


def pool_of(folder: str | Path) -> dict:
    """The ``[pool]`` table of the experiment whose output is in ``folder``, checked and with
    its defaults filled in."""
    path = Path(folder) / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"[pool] from = {str(folder)!r}: no {path}; run that experiment first")
    pool = schema.table(json.loads(path.read_text())["config"].get("pool", {}), path)
    return pool_of(pool["from"]) if "from" in pool else pool


@dataclass
class Runner:
    out: Path
    pool: Records
    progress: bool | None = None

    def __post_init__(self) -> None:
        (self.out / "selections").mkdir(parents=True, exist_ok=True)
        self.started = time.perf_counter()
        self.made = self.reused = 0

    def select(self, label: str, method: str, **params: Any) -> Chosen:
        """The selection, from the cache when this pool, method and parameters ran before."""
        from ..identity import fingerprint, records_identity

        key = fingerprint(
            method, sorted((k, repr(v)) for k, v in params.items()), data=records_identity(self.pool)["bytes"].encode()
        )
        if self.progress is False and "progress" in methods.get(method).parameters():  # not in the key
            params = {**params, "progress": False}
        path = self.out / "selections" / f"{_safe(label)}-{key}.json"
        if path.is_file():
            self.reused += 1
            report = json.loads(path.read_text())
        else:
            self.say(f"selecting: {label}")
            sel: Selection = select(self.pool, method=method, **params)
            report = sel.report()
            with atomic_output(path) as out:
                out.write(json.dumps(report).encode())
            self.made += 1
        # A report's indices are the pool's input rows; the analyses index the records read.
        positions = self.pool.positions_of(report["indices"], str(path))
        return Chosen(label, positions, np.asarray(report["scores"], np.float64), report["manifest"])

    def say(self, message: str) -> None:
        """A progress line with the time since the start (silent without progress)."""
        if self.progress is not False:
            print(f"[{time.perf_counter() - self.started:7.1f} s] {message}", file=sys.stderr, flush=True)

    def write(self, name: str, config: dict, results: dict) -> None:
        """results.json (every figure, the config, the pool, versions, the time taken),
        atomically; then the report made from it alone (``report.write``)."""
        from . import report

        results = {
            "experiment": name,
            "config": _given(config),
            "pool": self.pool.describe(),
            **results,
            "selections_made": self.made,
            "selections_reused": self.reused,
            "seconds": round(time.perf_counter() - self.started, 1),
            "versions": versions(),
        }
        with atomic_output(self.out / "results.json") as out:
            out.write(json.dumps(results, indent=1, default=_plain).encode() + b"\n")
        report.write(self.out)


def set_facts(pool: Records, chosen: Chosen, tokens: np.ndarray, budget: int) -> dict:
    """What a selection holds, for an experiment's row: its input rows, records, tokens and how
    much of ``budget`` they fill, lengths, duplicates and source mix (``zipkit.summary.describe``,
    the figures of ``zipkit compare``)."""
    facts = describe(chosen, pool, tokens, [], by="source")
    keep = ("records", "tokens", "tokens_mean", "tokens_median", "duplicate_texts", "near_duplicates", "mix")
    return {"indices": chosen.indices.tolist(), **{k: facts[k] for k in keep}, "fill": facts["tokens"] / budget}


def _given(value: Any) -> Any:
    """A config as TOML could write it: keys whose value is None left out (TOML has no null;
    read back, a key left out is None again), so that a results.json's config is one again."""
    if isinstance(value, dict):
        return {k: _given(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_given(v) for v in value]
    return value


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON: {type(value).__name__}")
