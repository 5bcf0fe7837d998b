"""Compressor specs: ``"name[:level][,option=value...]"``, e.g. ``"zlib:9"``, ``"zstd:19,history=4194304"``."""

from __future__ import annotations

import difflib

from .base import Compressor
from .brotli import Brotli
from .deflate import Deflate, Gzip, Zlib
from .isal import Isal
from .lz4 import Lz4, Lz4HC
from .zstd import Zstd

BACKENDS: dict[str, type[Compressor]] = {cls.name: cls for cls in (Zlib, Gzip, Deflate, Isal, Zstd, Lz4, Lz4HC, Brotli)}

_STORED = ("zlib", "gzip", "deflate")
# Third-party backends: a Compressor subclass under this entry point group, named as the
# class's ``name`` (``mybackend = "pkg.module:MyCompressor"``).
ENTRY_POINTS = "zipkit.compressors"


def backends() -> dict[str, type[Compressor]]:
    """Every backend: the built-in ones, then the plugins' (loaded on first use)."""
    from importlib.metadata import entry_points

    found = dict(BACKENDS)
    for entry in entry_points(group=ENTRY_POINTS):
        if entry.name in found:
            continue
        try:
            cls = entry.load()
        except Exception as error:  # noqa: BLE001 - a broken plugin names itself
            raise ImportError(
                f"the zipkit.compressors plugin {entry.name!r} ({entry.value}) cannot be loaded: {error}"
            ) from error
        if not (isinstance(cls, type) and issubclass(cls, Compressor)) or cls.name != entry.name:
            raise TypeError(
                f"the zipkit.compressors plugin {entry.name!r} ({entry.value}) must be a "
                f"zipkit.compressors.Compressor subclass whose name is {entry.name!r}"
            )
        found[entry.name] = cls
    return found


def get(spec: "str | Compressor", *, allow_stored: bool = False) -> Compressor:
    """Build a compressor from a spec string (an instance is returned as is).

    DEFLATE level 0 (zlib/gzip/deflate) stores the data uncompressed: every size becomes
    ``len(data) + constant`` and every compression score a function of length alone. It is
    refused unless ``allow_stored=True`` (for measuring, never for scoring).

    Parameters
    ----------
    spec : str or Compressor
        ``"NAME[:LEVEL][,OPTION=VALUE...]"``, e.g. ``"zlib:9"``, ``"zstd:3,history=65536"``.
    allow_stored : bool, default False
        Accept stored DEFLATE (level 0).
    """
    if isinstance(spec, Compressor):
        compressor = spec
    else:
        compressor = _parse(spec)
    if compressor.name in _STORED and compressor.level == 0 and not allow_stored:
        raise ValueError(
            f"{compressor.spec!r}: level 0 of DEFLATE stores the data without compressing it, so "
            f"every size is the input length plus a constant and a compression score would only "
            f"rank by length. Use a level from 1 to 9 (e.g. '{compressor.name}:6')."
        )
    return compressor


def _parse(spec: str) -> Compressor:
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"compressor spec must be a string like 'zlib:9', got {spec!r}")
    head, *option_parts = spec.strip().split(",")
    name, _, level_text = head.partition(":")
    name = name.strip().lower()
    known = BACKENDS if name in BACKENDS else backends()
    cls = known.get(name)
    if cls is None:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown compressor {name!r} in spec {spec!r}; known: {', '.join(known)}.{hint}")
    level = _int(level_text, spec, "level") if level_text.strip() else cls.default_level
    if level not in cls.levels:
        raise ValueError(
            f"{name} level {level} is out of range in {spec!r}: levels are {cls.levels.start} to {cls.levels.stop - 1}."
        )
    options = {}
    for part in option_parts:
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or key not in cls.option_specs:
            known = ", ".join(cls.option_specs) or "none"
            raise ValueError(f"bad option {part!r} in {spec!r}: {name} takes key=value options from: {known}.")
        option = cls.option_specs[key]
        options[key] = _int(value, spec, key)
        if not option.low <= options[key] <= option.high:
            raise ValueError(
                f"{name} option {key}={options[key]} is out of range in {spec!r}: "
                f"{option.low} to {option.high} ({option.help})."
            )
    return cls(level, **options)


def _int(text: str, spec: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{what} {text.strip()!r} in compressor spec {spec!r} is not an integer") from None


def available() -> list[dict]:
    """One row per backend: name, library version, levels, default level, options, contexts."""
    rows = []
    for name, cls in backends().items():
        rows.append(
            {
                "name": name,
                "library": cls.library,
                "version": _library_version(cls.library),
                "levels": f"{cls.levels.start}..{cls.levels.stop - 1}",
                "default_level": cls.default_level,
                "options": {k: o.default for k, o in cls.option_specs.items()},
                "default_context": cls.default_exactness,
                # Only a backend that overrides context() has an exact context cheaper than
                # recompressing the prefix per query (DEFLATE's engine or stream copies).
                "exact_context": "recompress" if cls.context is Compressor.context else "stream copy",
            }
        )
    return rows


def _library_version(library: str) -> str:
    """The version of a backend's library: zlib's runtime version, the distribution's, or for
    a module of the standard library (a plugin's ``bz2``) Python's; "unknown" otherwise."""
    import platform
    import sys
    import zlib
    from importlib.metadata import PackageNotFoundError, version

    if library == "zlib":
        return zlib.ZLIB_RUNTIME_VERSION
    try:
        return version(library)
    except PackageNotFoundError:
        return f"python {platform.python_version()}" if library in sys.stdlib_module_names else "unknown"
