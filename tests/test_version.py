"""The version is written once (zipkit/_version.py); the package metadata and the CLI read it."""

import importlib.metadata
import re
import sys
from pathlib import Path

import zipkit

if sys.version_info >= (3, 11):
    import tomllib
else:  # the dev extra's tomli on Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_written_once_and_read_everywhere():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "zipkit._version.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", zipkit.__version__)
    assert importlib.metadata.version("zipkit") == zipkit.__version__  # the installed metadata agrees


def test_the_changelog_has_the_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{zipkit.__version__}] - " in changelog
    assert f"[{zipkit.__version__}]: " in changelog
