"""The public API's docstrings, numpydoc style: every function and method that takes
parameters lists each one under ``Parameters``, and every default it states (``, default X``)
is the signature's default. Everything public has a docstring."""

import inspect
import re

import pytest

import zipkit

HEADING = re.compile(r"^Parameters\n-+\n(.*?)(?:\n\n[A-Z][A-Za-z ]+\n-+\n|\Z)", re.S | re.M)
ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_][A-Za-z0-9_]*)(?: : (.*))?$", re.M)


def _public() -> dict:
    found = {"compressors.get": zipkit.compressors.get}
    for name in zipkit.__all__:
        obj = getattr(zipkit, name)
        if name in ("__version__", "compressors"):
            continue
        found[name] = obj
        if inspect.isclass(obj):
            for member, fn in vars(obj).items():
                if not member.startswith("_") and inspect.isfunction(fn):
                    found[f"{name}.{member}"] = fn
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


CALLABLES = sorted(n for n, o in PUBLIC.items() if inspect.isfunction(o) and _parameters(o))


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
