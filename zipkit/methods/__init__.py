"""Methods: one module per method, each declaring a :class:`~zipkit.methods.spec.Method`
(``METHOD``). The built-in ones are listed here; third-party packages add theirs through
the ``zipkit.methods`` entry point group (``name = "package.module:METHOD"``), which the
command line, :func:`zipkit.select`/:func:`zipkit.score` and the experiments all read.

Methods never import an executor: they hand their steps to the pool they are given.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from .spec import Method, Param

# Built-in methods by name: the module that declares each (imported on first use, so that
# `import zipkit` stays light).
BUILTIN = {
    name: f"zipkit.methods.{name}"
    for name in ("zip", "zipfit", "random", "length", "dsir", "cluster", "perplexity", "ifd", "ratio")
}
ENTRY_POINTS = "zipkit.methods"

_loaded: dict[str, Method] = {}


def names() -> list[str]:
    """Every method's name: the built-in ones, then the plugins'."""
    return list(BUILTIN) + [ep.name for ep in _plugins() if ep.name not in BUILTIN]


def selectors() -> list[str]:
    """The methods ``select`` runs: built in, then the plugins'."""
    return [name for name in names() if get(name).select is not None]


def scorers() -> list[str]:
    """The methods ``score`` offers."""
    return [name for name in names() if get(name).scores]


def get(name: str) -> Method:
    """The method declared under ``name`` (built in, or by a plugin).

    Parameters
    ----------
    name : str
        A name of :func:`names`.
    """
    if name not in _loaded:
        if name in BUILTIN:
            method = importlib.import_module(BUILTIN[name]).METHOD
        else:
            found = [ep for ep in _plugins() if ep.name == name]
            if not found:
                raise ValueError(f"unknown method {name!r}; known: {', '.join(names())}")
            method = _load_plugin(found[0])
        _loaded[name] = method
    return _loaded[name]


def _plugins() -> list[Any]:
    return list(entry_points(group=ENTRY_POINTS))


def _load_plugin(entry: Any) -> Method:
    try:
        method = entry.load()
    except Exception as error:  # noqa: BLE001 - a broken plugin names itself
        raise ImportError(
            f"the zipkit.methods plugin {entry.name!r} ({entry.value}) cannot be loaded: {error}"
        ) from error
    if not isinstance(method, Method):
        raise TypeError(
            f"the zipkit.methods plugin {entry.name!r} ({entry.value}) is a "
            f"{type(method).__name__}, not a zipkit.methods.Method"
        )
    if method.name != entry.name:
        raise ValueError(
            f"the zipkit.methods plugin {entry.name!r} declares a method named {method.name!r}: "
            f"the entry point's name and the method's must agree"
        )
    return method


__all__ = ["BUILTIN", "Method", "Param", "get", "names", "scorers", "selectors"]
