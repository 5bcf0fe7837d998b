"""Docstrings, numpydoc style. The public modules (MODULES: what users and plugin authors
import): every function, class and method that takes parameters lists each one under
``Parameters``, every default it states (``, default X``) is the signature's default, and
each is rendered by docs/reference/api/. Every other function and class of the package has a
docstring too."""

import inspect
import re

import pytest

import zipkit

HEADING = re.compile(r"^Parameters\n-+\n(.*?)(?:\n\n[A-Z][A-Za-z ]+\n-+\n|\Z)", re.S | re.M)
ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_][A-Za-z0-9_]*)(?: : (.*))?$", re.M)


# The public surface: what users and plugin authors import. Every other module is internal
# (its names may change); docs/reference/api.md documents these modules.
MODULES = (
    "zipkit",
    "zipkit.compressors",
    "zipkit.methods",
    "zipkit.executors",
    "zipkit.io",
    "zipkit.results",
    "zipkit.summary",
    "zipkit.decontaminate",
    "zipkit.naive",
    "zipkit.adapters.datatrove",
)
# What a method plugin builds on (docs/guides/plugins.md), from modules otherwise internal.
PLUGIN_API = ("zipkit.steps.Step", "zipkit.ranking.ranked_selection", "zipkit.manifest.Timings")


def _resolve(name: str):
    """The object a dotted name renders (the longest importable module, then attributes)."""
    import importlib

    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(name)


def _with_methods(name: str, obj) -> dict:
    """``obj`` under ``name``, and for a class its own public methods, as ``name.method``."""
    found = {name: obj}
    if inspect.isclass(obj):
        found.update(
            {f"{name}.{m}": fn for m, fn in vars(obj).items() if not m.startswith("_") and inspect.isfunction(fn)}
        )
    return found


def _public() -> dict:
    import importlib

    found = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):  # not constants and submodules
                found.update(_with_methods(f"{module_name}.{name}", obj))
    for name in PLUGIN_API:
        found.update(_with_methods(name, _resolve(name)))
    return found


PUBLIC = _public()


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_objects_have_docstrings(name):
    assert (inspect.getdoc(PUBLIC[name]) or "").strip(), f"{name} has no docstring"


def _parameters(fn) -> dict:
    return {
        (("**" if p.kind is p.VAR_KEYWORD else "*" if p.kind is p.VAR_POSITIONAL else "") + n): p
        for n, p in inspect.signature(fn).parameters.items()
        if n not in ("self", "cls")
    }


def _takes_parameters(obj) -> bool:
    """A function, or a class whose constructor (its own ``__init__`` or a dataclass's) takes
    parameters: numpydoc documents a constructor's parameters in the class docstring."""
    if getattr(obj, "_is_protocol", False):
        return False  # a Protocol is never built: its methods are what it declares
    try:
        return bool(_parameters(obj))
    except (TypeError, ValueError):
        return False


CALLABLES = sorted(
    n for n, o in PUBLIC.items() if (inspect.isfunction(o) or inspect.isclass(o)) and _takes_parameters(o)
)


@pytest.mark.parametrize("name", CALLABLES)
def test_every_parameter_is_documented_with_its_default(name):
    fn = PUBLIC[name]
    section = HEADING.search(inspect.getdoc(fn) or "")
    assert section, f"{name}: no numpydoc 'Parameters' section"
    documented = {m.group(1): m.group(2) or "" for m in ENTRY.finditer(section.group(1))}
    params = _parameters(fn)
    assert set(params) <= set(documented), f"{name}: undocumented {sorted(set(params) - set(documented))}"
    assert set(documented) <= set(params), f"{name}: documents what it does not take {set(documented) - set(params)}"
    for pname, typeline in documented.items():
        stated = re.search(r"default (.+)$", typeline)
        default = params[pname].default
        if stated is None:
            assert default is inspect.Parameter.empty or "optional" in typeline, (
                f"{name}: {pname} defaults to {default!r} but its entry does not say so"
            )
            continue
        assert default is not inspect.Parameter.empty, f"{name}: {pname} has no default, its entry states one"
        value = stated.group(1).strip()
        assert value in (repr(default), f'"{default}"', str(default)), (
            f"{name}: {pname} documented as default {value}, the signature says {default!r}"
        )


def _everything_public() -> list:
    """Every function and class of every zipkit module whose name has no underscore, with
    their methods: internal ones too have a docstring that says what they are for."""
    import importlib
    import pkgutil

    found = []
    for info in pkgutil.walk_packages(zipkit.__path__, "zipkit."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra (Ray, datatrove) that is not installed
            continue
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                found.append((f"{module.__name__}.{name}", obj))
                if inspect.isclass(obj):
                    found += [
                        (f"{module.__name__}.{name}.{member}", getattr(obj, member))
                        for member, fn in vars(obj).items()
                        if not member.startswith("_") and inspect.isfunction(fn)
                    ]
    return found


def test_every_function_and_class_of_the_package_has_a_docstring():
    missing = [name for name, obj in _everything_public() if not (inspect.getdoc(obj) or "").strip()]
    assert not missing, f"no docstring: {missing}"


def _documented() -> set:
    """What the API reference pages render: each ``::: NAME`` directive, and for a module
    directive every name of its ``members:`` list, as ``module.name``."""
    from pathlib import Path

    found = set()
    for page in (Path(__file__).resolve().parents[1] / "docs" / "reference" / "api").glob("*.md"):
        for directive, options in re.findall(r"^::: (\S+)\n((?:    .*\n)*)", page.read_text(), re.M):
            found.add(directive)
            listed = re.search(r"members:\n((?:\s+- .*\n)+)", options)
            for member in re.findall(r"- (\S+)", listed.group(1)) if listed else []:
                found.add(f"{directive}.{member}")
    return found


def test_the_api_reference_renders_every_public_object():
    """Every function and class of the public modules has its entry in docs/reference/api/,
    under one of the names it is exported by (methods are rendered with their class)."""
    rendered = {id(_resolve(name)) for name in _documented()}
    missing = sorted(name for name, obj in PUBLIC.items() if not _is_method(name) and id(obj) not in rendered)
    assert not missing, f"not in docs/reference/api/: {missing}"


def _is_method(name: str) -> bool:
    """``module.Class.method``: rendered with its class."""
    parent = name.rsplit(".", 1)[0]
    return parent in PUBLIC and inspect.isclass(PUBLIC[parent])
