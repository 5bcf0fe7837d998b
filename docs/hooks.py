"""MkDocs hooks.

- The command-line reference is generated from zipkit's argparse parser at build time, so
  every command and flag on the page is the one the CLI has; the experiment config reference
  from the schema the experiments validate their configs with; the method parameters from the
  methods' declarations.
- Sphinx roles in the rendered docstrings (``:func:`x```) show as the code alone.
- The experiments' plots (``experiments/results/**.png``) join the site where the report
  pages link them, and links written from the repository's root (the habit of pages that
  began in the README) are made relative to each page, or point at the repository.
"""

from __future__ import annotations

import argparse
import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)\s]+)\)")
# The docstrings name objects with Sphinx roles (:func:`x`), which mkdocstrings renders as
# the role's text followed by the code; the page shows the code alone.
# A leading "~" (:class:`~a.b.C`) shows the last name alone, as Sphinx does.
ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj):<code>(~[\w.]*\.)?")


def on_files(files, config):
    for png in sorted((ROOT / "experiments" / "results").rglob("*.png")):
        files.append(File.generated(config, png.relative_to(ROOT).as_posix(), abs_src_path=str(png)))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    for marker, generate in GENERATED.items():
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    here = posixpath.dirname(page.file.src_uri) or "."
    return LINK.sub(lambda match: _link(match, here, config), markdown)


def on_page_content(html: str, page, config, files) -> str:
    return ROLE.sub("<code>", html)


def _link(match: re.Match, here: str, config) -> str:
    path, _, anchor = match.group(1).partition("#")
    if (ROOT / "docs" / here / path).exists():
        return match.group(0)  # already relative to the page
    if path.startswith("docs/"):
        target = posixpath.relpath(path[len("docs/") :], here)
    elif path.startswith("experiments/results/") and path.endswith(".png"):
        target = posixpath.relpath(path, here)
    elif (ROOT / path).exists():
        target = f"{config.extra['repository'].rstrip('/')}/blob/main/{path}"
    else:
        return match.group(0)
    return f"]({target}{'#' + anchor if anchor else ''})"


def cli_reference() -> str:
    from zipkit.cli import build_parser

    parser = build_parser()
    parser.prog = "zipkit"
    sections = ["## zipkit", "", "```text", parser.format_help().rstrip(), "```", ""]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        command.prog = f"zipkit {name}"
        sections += [f"## zipkit {name}", "", "```text", command.format_help().rstrip(), "```", ""]
    return "\n".join(sections)


def config_reference() -> str:
    from zipkit.experiments.schema import REQUIRED, SCHEMAS

    def value(key) -> str:
        if key.default is REQUIRED:
            return "required"
        if key.default is None:
            return "none"
        return f"`{key.default!r}`"

    def table(t, path: str) -> list[str]:
        name = f"{path}.{t.name}" if path else t.name
        heading = f"[[{name}]]" if t.many else f"[{name}]"
        state = (
            "required" if t.required else ("optional" if t.implied else "optional; left out, that part does not run")
        )
        lines = [f"### `{heading}` ({state})", ""]
        if t.keys:
            lines += ["| key | type | default |", "|---|---|---|"]
            lines += [f"| `{k.name}` | {k.type.name} | {value(k)} |" for k in t.keys]
            lines.append("")
        for sub in t.tables:
            lines += table(sub, name)
        return lines

    out = []
    for experiment, tables in SCHEMAS.items():
        out += [f"## {experiment}", ""]
        for t in tables:
            out += table(t, "")
    return "\n".join(out)


def methods_reference() -> str:
    """Every built-in method's parameters, from its declaration: the keyword of
    ``zipkit.select``/``zipkit.score``, the command-line option, the default and the help."""
    from zipkit import methods

    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    out = []
    for name in methods.BUILTIN:
        method = methods.get(name)
        out += [f"## {name}", "", cell(method.summary) + ".", ""]
        offered = {"select": method.select is not None, "score": method.scores}
        runs = [f"`zipkit.{command}`" for command, yes in offered.items() if yes]
        out += [
            f"Score column `{method.column}`, {method.direction} preferred; "
            + (" and ".join(runs) if len(runs) > 1 else f"{runs[0]} only")
            + ".",
            "",
            "| keyword | option | default | for | what it does |",
            "|---|---|---|---|---|",
        ]
        for param in method.params:
            if not any(offered[c] for c in param.commands):
                continue
            option = f"`{param.option}`" if param.cli else "(Python only)"
            out.append(
                f"| `{param.name}` | {option} | `{param.default!r}` | {', '.join(c for c in param.commands if offered[c])} | {cell(param.help)} |"
            )
        out.append("")
    return "\n".join(out)


def extras_reference() -> str:
    """The optional extras of pyproject.toml, each with the first line of the comment above it
    (what it is for) and what it installs."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    text = (ROOT / "pyproject.toml").read_text()
    extras = tomllib.loads(text)["project"]["optional-dependencies"]
    purpose = {name: line for line, name in re.findall(r"^# (.+)\n(?:#.*\n)*(\w+) = \[", text, re.M)}
    rows = ["| extra | for | installs |", "|---|---|---|"]
    for name, requirements in extras.items():
        installs = ", ".join(f"`{r.split(';')[0].strip()}`" for r in requirements)
        rows.append(f"| `{name}` | {purpose.get(name, '')} | {installs} |")
    return "\n".join(rows)


# A page's marker, and the text generated in its place at build time.
GENERATED = {
    "<!-- cli-reference -->": cli_reference,
    "<!-- config-reference -->": config_reference,
    "<!-- methods-reference -->": methods_reference,
    "<!-- extras-reference -->": extras_reference,
}
