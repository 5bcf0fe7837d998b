"""The ``zipkit`` command: one module per subcommand, each with ``parser(sub)`` and
``run(args)``; the method options of ``select`` and ``score`` are generated from the method
specs (:mod:`zipkit.cli.options`)."""

from __future__ import annotations

import argparse
import functools
import os
import re
import signal
import sys
import warnings
from typing import Callable

from .. import __version__
from ..errors import BadRecordError
from . import compressors, decontaminate, dedup, experiment, inspect, ratio, score, select

COMMANDS: dict[str, tuple[Callable, Callable]] = {
    "select": (select.parser, select.run),
    "score": (score.parser, score.run),
    "ratio": (ratio.parser, ratio.run),
    "compressors": (compressors.parser, compressors.run),
    "inspect": (inspect.parser, inspect.run),
    "compare": (functools.partial(inspect.parser, name="compare"), inspect.run),
    "decontaminate": (decontaminate.parser, decontaminate.run),
    "dedup": (dedup.parser, dedup.run),
    "experiment": (experiment.parser, experiment.run),
}


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (not the whole usage of a command with fifty
    options before it) and the closest valid name for a value that is not a choice."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {_with_suggestion(message)} (see {self.prog} --help)\n")


def _with_suggestion(message: str) -> str:
    """argparse's "argument --method: invalid choice: 'zipfitt' (choose from 'zip', ...)" as
    "--method zipfitt is not one of ...: did you mean zipfit?"."""
    import difflib

    found = re.match(r"argument (\S+): invalid choice: '(.*)' \(choose from (.*)\)$", message)
    if not found:
        return message
    option, value, listed = found.groups()
    choices = [c.strip().strip("'") for c in listed.split(",")]
    lowered = {c.lower(): c for c in choices}
    close = [lowered[value.lower()]] if value.lower() in lowered else []
    close = close or difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    guess = f": did you mean {close[0]}?" if close else ""
    given = f"{option.split('/')[0]} {value}" if option.startswith("-") else value  # an option, or the command
    return f"{given} is not one of {', '.join(choices)}{guess}"


def build_parser() -> argparse.ArgumentParser:
    """The ``zipkit`` parser with every subcommand."""
    parser = Parser(prog="zipkit", description="Choose LLM training data by compression.")
    parser.add_argument("--version", action="version", version=f"zipkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for make_parser, run in COMMANDS.values():
        make_parser(sub).set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``zipkit`` with ``argv`` (the process's arguments when None); the exit status."""
    args = build_parser().parse_args(argv)
    warnings.formatwarning = _one_line_warning
    try:
        return args.run(args)
    except KeyboardInterrupt as stop:
        print(f"zipkit: interrupted{_resume_hint(args)}", file=sys.stderr)
        return 128 + getattr(stop, "signum", signal.SIGINT)
    except BrokenPipeError:  # `zipkit ... | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 0
    except (BadRecordError, ValueError, TypeError, OSError, ImportError, IndexError, RuntimeError) as err:
        print(f"zipkit: error: {cli_words(_describe(err), args)}", file=sys.stderr)
        return 2


# API phrases whose command-line form is not --name VALUE.
_CLI_PHRASES = {
    "the target's text_fields=[...]": "--target-field FIELD",
    "on_error='skip'": "--skip-bad",
    "text_fields=[...]": "--text-field FIELD",
    "resume=True": "--resume",
    "variant='paper'": "--variant paper",
}


def cli_words(message: str, args: argparse.Namespace) -> str:
    """An error of the Python API in the words of the command line: ``budget=N`` becomes
    ``--budget N``, ``device='cpu'`` ``--device cpu``, for every option the command has
    (the API's messages are written once, in its own words)."""
    for phrase, flag in _CLI_PHRASES.items():
        message = message.replace(phrase, flag)
    flags = {name: "--" + name.replace("_", "-") for name in vars(args)}
    flags.update(_RENAMED_FLAGS)

    def flag(match: re.Match) -> str:
        name, value = match.group(1), match.group(2)
        if name not in flags:
            return match.group(0)
        value = value.strip("'\"")
        return flags[name] if value == "True" else f"{flags[name]} {value}"

    return re.sub(r"(?<![\w-])([a-z][a-z0-9_]*)=('[^']*'|\"[^\"]*\"|[^\s,;)]+)", flag, message)


_RENAMED_FLAGS = {"longest": "--shortest", "target_fields": "--target-field", "text_fields": "--text-field"}


def _describe(err: Exception) -> str:
    """An OS error as its reason and file ("No space left on device: out.jsonl"); others as
    their message."""
    if isinstance(err, OSError) and err.strerror and len(err.args) > 1:
        return f"{err.strerror}: {err.filename}" if err.filename else err.strerror
    return str(err)


def _resume_hint(args: argparse.Namespace) -> str:
    if args.command == "experiment":
        return (
            "; the selections and training runs it finished are kept in the output folder, and a "
            "training run it was in the middle of in its checkpoint: run the same command to go on"
        )
    if getattr(args, "scores_dir", None):
        return f"; the shards it scored are kept in {args.scores_dir}: run the same command to score the rest"
    checkpoint = getattr(args, "checkpoint", None)
    if checkpoint and os.path.exists(checkpoint):
        return f"; the state is saved in {checkpoint}: run the same command with --resume to go on"
    return "; nothing was written"


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"zipkit: warning: {message}\n"


if __name__ == "__main__":
    sys.exit(main())
