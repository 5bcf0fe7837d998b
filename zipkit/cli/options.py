"""The options of ``select`` and ``score``, generated from the method specs: every
parameter of every method that takes it, named as the Python API names it, its help and
default from its declaration (:class:`zipkit.methods.spec.Param`)."""

from __future__ import annotations

import argparse

from .. import methods
from ..io import SCHEMAS
from ..methods.spec import Param
from ..methods.target import read_target


def _default(taking: dict[str, Param]) -> str:
    """The default of a parameter for --help: " (default: 10000)" when every method that
    takes it agrees, else per method; None ("decided by the method") is left out."""
    given = {
        m: "off" if p.default is False else p.default
        for m, p in taking.items()
        if p.default is not None and (p.action != "switch" or p.default is False)
    }
    if not given:
        return ""
    if len(given) == len(taking) and len(set(map(repr, given.values()))) == 1:
        return f" (default: {next(iter(given.values()))})"
    return " (default " + "; ".join(f"{m}: {v}" for m, v in given.items()) + ")"


def add_method_options(parser: argparse.ArgumentParser, command: str) -> list[str]:
    """Add ``--method`` and every method's options to ``parser``; the method names."""
    names = methods.selectors() if command == "select" else methods.scorers()
    specs = {name: methods.get(name) for name in names}
    summaries = {name: (spec.summary if command == "select" else spec.score_summary) for name, spec in specs.items()}
    parser.add_argument(
        "--method",
        default="zip" if command == "select" else "ratio",
        choices=names,
        help="; ".join(f"{n}: {s}" for n, s in summaries.items()) + " (default: %(default)s)",
    )
    taking: dict[str, dict[str, Param]] = {}
    for name, spec in specs.items():
        for p in spec.parameters(command).values():
            if p.cli:
                taking.setdefault(p.name, {})[name] = p
    groups: dict[str, argparse._ArgumentGroup] = {}
    for pname, by_method in taking.items():
        p = next(iter(by_method.values()))
        title = p.group or "method options"
        if title not in groups:
            groups[title] = parser.add_argument_group(title)
        # Which methods take it, unless its heading says so already.
        named = len(by_method) == len(specs) or len(by_method) > 3 or title == ", ".join(by_method)
        users = "" if named else f"{', '.join(by_method)}: "
        if pname == "target":
            _target_options(groups[title], p)
            continue
        kwargs: dict = {"dest": p.name, "help": users + p.help + _default(by_method)}
        if p.action == "switch":
            kwargs.update(action="store_const", const=p.const)
        elif p.action == "bool":
            kwargs.update(action=argparse.BooleanOptionalAction)
        elif p.action == "append":  # repeated: a list
            kwargs.update(action="append", metavar=p.metavar)
        else:
            kwargs.update(type=p.type)
            if p.choices is not None:
                kwargs["choices"] = p.choices
            if p.metavar:
                kwargs["metavar"] = p.metavar
        groups[title].add_argument(p.option, **kwargs)
    return names


def _target_options(group: argparse._ArgumentGroup, p: Param) -> None:
    group.add_argument("--target", metavar=p.metavar, help=p.help)
    group.add_argument("--target-schema", choices=SCHEMAS, help="default: detected")
    group.add_argument(
        "--target-field",
        dest="target_fields",
        action="append",
        metavar="FIELD",
        help="a field of the target holding the text (repeat for several)",
    )


def method_params(args: argparse.Namespace, command: str) -> dict:
    """The options the chosen method takes; unset ones (None) are left to its defaults. An
    option given that the method does not take is an error, not silently ignored."""
    spec = methods.get(args.method)
    own = {name for name, p in spec.parameters(command).items() if p.cli and hasattr(args, name)}
    every = {
        p.name
        for name in (methods.selectors() if command == "select" else methods.scorers())
        for p in methods.get(name).parameters(command).values()
        if p.cli
    }
    extra = {"target_schema", "target_fields"}
    taken = own | (extra if "target" in own else set())
    foreign = sorted(
        name
        for name in (every | (extra if "target" in every else set())) - taken
        if getattr(args, name, None) is not None
    )
    if foreign:
        options = {p.name: p.option for name in methods.names() for p in methods.get(name).params}
        options.update(target_fields="--target-field", target_schema="--target-schema")
        given = ", ".join(options.get(name, "--" + name.replace("_", "-")) for name in foreign)
        verb = "does" if len(foreign) == 1 else "do"
        raise ValueError(
            f"{given} {verb} not apply to --method {args.method}; drop it or pick the "
            f"method it belongs to (see zipkit {args.command} --help)"
        )
    params = {name: getattr(args, name) for name in own if getattr(args, name) is not None}
    if "target" in own:
        if args.target is None:
            raise ValueError(f"--method {args.method} needs --target FILE (the target task's examples)")
        params["target"] = read_target(args.target, args.method, args.target_schema, args.target_fields)
    if "progress" in spec.parameters(command):
        params["progress"] = False if args.no_progress else None
    return params
