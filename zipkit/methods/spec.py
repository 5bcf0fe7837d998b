"""A method, declared once: its name, its parameters (defaults, types, help, which ones
change its result), its score column and direction, a scoring step and a selection step.

Everything else is generated from the declaration: the ``zipkit select``/``score`` options
and their help (:mod:`zipkit.cli.options`), the parameters a run resolves and records in its
manifest, and the key its checkpoints and scores are filed under (:mod:`zipkit.identity`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

# The largest count a parameter takes unless it says otherwise: past it an array index or a
# compiled kernel's integer would overflow, and no pool or window is that large.
COUNT_MAX = 2**31 - 1

# Which commands a parameter belongs to.
SELECT, SCORE = "select", "score"
BOTH = (SELECT, SCORE)


@dataclass(frozen=True)
class Param:
    """One parameter of a method (of several methods, where they share it: then it is one
    object, so its default is written once).

    Parameters
    ----------
    name : str
        The keyword of :func:`zipkit.select`/:func:`zipkit.score` (``--name`` on the command line).
    default : object, optional
        Its value when not given.
    type : callable or None, optional
        What a command-line value is turned into (``str`` by default); None: taken as given,
        e.g. a target set read from a file.
    help : str, default ''
        The line of ``--help`` and of the manifest's documentation.
    choices : tuple, optional
        The values it takes, where it is one of a few.
    changes_result : bool, default True
        False for parameters that only say how a run is carried out (cores, progress bars,
        checkpoints): they do not key checkpoints and cached scores.
    action : str, optional
        How the command line takes it: None (``--name VALUE``), ``"switch"`` (a flag that sets
        ``const``), ``"bool"`` (``--name/--no-name``), ``"append"`` (repeated, a list).
    const : object, default True
        The value a ``"switch"`` sets.
    flag : str, optional
        The option's name when it is not ``--name``.
    group : str, optional
        The heading it is listed under in ``--help``.
    metavar : str, optional
        The value's name in ``--help``.
    cli : bool, default True
        False for parameters only the Python API takes.
    commands : tuple of str, default ('select', 'score')
        The commands it applies to.
    minimum : int, optional
        For a count: the least whole number it takes.
    maximum : int, optional
        For a count: the most it takes (``COUNT_MAX`` when not given).
    """

    name: str
    default: Any = None
    type: Callable[[str], Any] | None = str
    help: str = ""
    choices: tuple | None = None
    changes_result: bool = True
    action: str | None = None
    const: Any = True
    flag: str | None = None
    group: str | None = None
    metavar: str | None = None
    cli: bool = True
    commands: tuple[str, ...] = BOTH
    minimum: int | None = None
    maximum: int | None = None  # for a count (one with a minimum): default COUNT_MAX

    @property
    def option(self) -> str:
        """The command-line option: ``flag``, or ``--name`` with dashes."""
        return self.flag or "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> None:
        """Refuse a value outside ``choices`` or below ``minimum``, naming the parameter and
        what it takes.

        Parameters
        ----------
        value : object
            The value given (None passes: the parameter is unset).
        """
        if value is None:
            return
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{self.name} must be one of {self.choices}, got {value!r}")
        if self.minimum is not None and (
            isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < self.minimum
        ):
            raise ValueError(f"{self.name}={value!r} is not a whole number >= {self.minimum}")
        most = COUNT_MAX if self.maximum is None else self.maximum
        if self.minimum is not None and value > most:
            raise ValueError(
                f"{self.name}={value!r} is more than {most:,}, the most zipkit takes for it; "
                f"give a whole number from {self.minimum} to {most:,}"
            )

    def but(self, **changes: Any) -> "Param":
        """This parameter with some fields changed (a method's own default or help).

        Parameters
        ----------
        **changes : object
            Fields and their new values (``default=``, ``help=``, ...).
        """
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Method:
    """A selection method (and, where ``score`` is set, a per-record scorer).

    Parameters
    ----------
    name : str
        The name ``method=`` and ``--method`` take (a plugin's entry point has the same name).
    summary : str
        One line for ``--help``.
    params : tuple of Param
        Every parameter it takes (selection methods include ``zipkit.methods.params.BUDGETS``).
    column : str
        The name of its per-record score.
    direction : str
        ``"lower"`` or ``"higher"``: the end of the score it prefers.
    select : callable, optional
        ``select(pool, params, timings) -> Selection``: the selection, from the scores it
        computes through the pool it is given (``pool.map(step)``).
    score : callable, optional
        ``score(pool, params) -> (columns, info)``: the per-record scoring, run through
        ``pool.map(step)`` (columns by name, ``column`` among them; ``info``: what the
        manifest should say of how it ran, or None).
    scores : bool, default False
        Whether ``zipkit score`` offers the method.
    score_summary : str, default ''
        Its line in ``zipkit score --help``.
    writes_all_columns : bool, default False
        Whether ``zipkit score`` writes every column the scoring produced (the LM methods'
        losses beside their score) or the score alone.
    filters_min_tokens : bool, default False
        The method applies ``min_tokens`` itself (DSIR counts as its package does); for the
        others :func:`zipkit.select` leaves the short records out before the method runs.
    """

    name: str
    summary: str
    params: tuple[Param, ...]
    column: str
    direction: str
    select: Callable[..., Any] | None = None
    score: Callable[..., Any] | None = None
    scores: bool = False
    score_summary: str = ""
    writes_all_columns: bool = False
    filters_min_tokens: bool = False

    def __post_init__(self) -> None:
        if self.direction not in ("lower", "higher"):
            raise ValueError(f"method {self.name}: direction must be 'lower' or 'higher', got {self.direction!r}")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"method {self.name} declares a parameter twice: {names}")

    def parameters(self, command: str = SELECT) -> dict[str, Param]:
        """The parameters of one command, by name.

        Parameters
        ----------
        command : str, default 'select'
            ``"select"`` or ``"score"``.
        """
        return {p.name: p for p in self.params if command in p.commands}

    def resolve(self, given: dict, command: str = SELECT) -> dict:
        """Every parameter of ``command`` with the value given or its default; an unknown
        name is refused with the names the method takes.

        Parameters
        ----------
        given : dict
            The keywords the caller gave.
        command : str, default 'select'
            ``"select"`` or ``"score"``.
        """
        known = self.parameters(command)
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise TypeError(
                f"method {self.name!r} ({command}) takes no parameter {', '.join(unknown)}; it takes {', '.join(known)}"
            )
        resolved = {name: given.get(name, p.default) for name, p in known.items()}
        for name, p in known.items():
            p.check(resolved[name])
        if resolved.get("target") is not None:  # read once, and refused if empty, before any work
            from .target import read_target

            resolved["target"] = read_target(resolved["target"], self.name)
        return resolved

    def result_params(self, resolved: dict) -> dict:
        """The resolved parameters that change the result (what keys it).

        Parameters
        ----------
        resolved : dict
            What :meth:`resolve` returned.
        """
        declared = {p.name: p for p in self.params}
        return {name: value for name, value in resolved.items() if declared[name].changes_result}
