"""Functions named by "module:function", imported on first call, so that `import zipkit`
does not import every method's dependencies (numba, torch, transformers ...)."""
from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any, Callable, Mapping


def lazy(target: str) -> Callable[..., Any]:
    """A function that imports ``zipkit.<module>`` when called and calls its ``function``."""
    module, name = target.split(":")

    def resolve() -> Callable[..., Any]:
        return getattr(importlib.import_module(f"zipkit.{module}"), name)

    def call(*args: Any, **kwargs: Any) -> Any:
        return resolve()(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.resolve = resolve  # type: ignore[attr-defined]  # the function itself, for its signature
    return call


@functools.lru_cache(maxsize=None)
def parameters(function: Callable[..., Any]) -> Mapping[str, inspect.Parameter]:
    """The parameters of a function, or of the function behind a :func:`lazy` one."""
    return inspect.signature(getattr(function, "resolve", lambda: function)()).parameters
