"""MkDocs hooks: the command-line reference is generated from zipkit's argparse parser at
build time, so every command and flag on the page is the one the CLI has."""

from __future__ import annotations

import argparse

MARKER = "<!-- cli-reference -->"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, cli_reference())


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
