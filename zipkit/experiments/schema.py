"""What an experiment config may hold: per experiment and per table, each key's type and
default (the one place an experiment's defaults are written), and :func:`validate`, which every
experiment runs before any work.

A key no table takes (a misspelling: ``budget_token``), a required table or key left out, or a
value of the wrong type (``compressors = "zlib:9"``, a string for a list) is refused with a
ValueError that names the file, the table and the key, and the closest allowed name. The
parameters in ``[methods.params.NAME]`` and ``[zipfit.params.NAME]`` are checked against the
method's own declaration (``zipkit.methods``). What :func:`validate` returns is the config with
every default filled in, so the experiments read ``spec["key"]``, never ``.get(key, default)``.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Iterable

from .. import methods
from ..methods.params import TOKENIZER
from . import heldout, pools, training

# --- value types -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Type:
    """What a value must be: ``name`` for messages (``an integer``), and the test."""

    name: str
    test: Callable[[Any], bool]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)  # TOML's true is no count


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _list_of(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, list) and all(test(x) for x in v)


INT = Type("an integer", _is_int)
FLOAT = Type("a number", _is_number)
STR = Type("a string", lambda v: isinstance(v, str))
BOOL = Type("true or false", lambda v: isinstance(v, bool))
STRS = Type("a list of strings", _list_of(lambda v: isinstance(v, str)))
INTS = Type("a list of integers", _list_of(_is_int))
STAGES = Type("a list of [K1, K2, K3] lists", _list_of(lambda v: isinstance(v, list) and len(v) == 3 and INTS.test(v)))
FRACTIONS = Type("a list of fractions (numbers above 0, at most 1)", _list_of(lambda v: _is_number(v) and 0 < v <= 1))
LOSSES = Type("a number or a list of numbers", lambda v: _is_number(v) or _list_of(_is_number)(v))
TABLES = Type("a table of tables", lambda v: isinstance(v, dict) and all(isinstance(x, dict) for x in v.values()))
ANY = Type("any value", lambda v: True)


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # the default of a key the config must give


@dataclass(frozen=True)
class Key:
    """One key of a table. ``default``: its value when the config leaves it out (``REQUIRED``:
    it must be given; None: no value, the experiment does without). ``example``: a value for
    messages (and for tests), needed where the default is not one. ``minimum``: the least
    integer (of every integer in a list too); ``nonempty``: a list must hold something.
    ``choices``: the names a string (or each string of a list) may be; ``files``: a path to a
    records file is accepted as well."""

    name: str
    type: Type
    default: Any = REQUIRED
    example: Any = None
    minimum: int | None = None
    nonempty: bool = False
    choices: Callable[[], Iterable[str]] | None = None
    files: bool = False

    def __post_init__(self) -> None:
        if self.example is None and (self.default is None or self.default is REQUIRED or self.default in ([], {})):
            raise ValueError(f"schema key {self.name}: give an example (its default is no example)")

    @property
    def sample(self) -> Any:
        """A valid value: the example, else the default."""
        return self.default if self.example is None else self.example


@dataclass(frozen=True)
class Table:
    """A table of a config (``name`` is its key in the parent: ``settings`` in ``[train]``).
    ``required``: the config must hold it; otherwise ``implied``: left out, it is there with
    every default (False: left out, that part of the experiment does not run). ``many``: an
    array of tables (``[[zipfit.task]]``). ``check(filled, given, file, name)``: the rules
    across keys, on the table with its defaults filled (returns the table to keep, or None).
    ``elsewhere``: (key, where it is set instead) for keys another table of this experiment
    sets, so that the message says so."""

    name: str
    keys: tuple[Key, ...] = ()
    tables: tuple["Table", ...] = ()
    required: bool = False
    implied: bool = True
    many: bool = False
    check: Callable[[dict, dict, str, str], dict | None] | None = None
    elsewhere: tuple[tuple[str, str], ...] = ()


# --- the schemas -------------------------------------------------------------------------------

# The methods experiment's default rows: label -> the method and the parameters it runs with
# there (beyond the budget and the tokenizer). ``baselines`` may also name any other method, a
# plugin's included, by its name.
BASELINES = {
    "random": ("random", {"seed": 0}),
    "length": ("length", {}),
    "dsir": ("dsir", {}),
    "cluster": ("cluster", {}),
    "perplexity": ("perplexity", {}),
    "ifd superfiltering": ("ifd", {"ifd_variant": "superfiltering"}),
    "ifd cherry": ("ifd", {"ifd_variant": "cherry"}),
    "zipfit": ("zipfit", {}),
}
DEFAULT_EVAL = ["mt_bench", "lima_test", "vicuna", "pool_holdout"]
ZIPFIT_METHODS = ["zipfit", "dsir", "random"]
SMOLLM2 = "packaged:smollm2"


def _pool_mode(filled: dict, given: dict, file: str, name: str) -> dict:
    """A pool is a ``path``, or ``from`` an earlier experiment, or built from ``sources``: a key
    of another way is refused (it would be ignored), and only the chosen way's keys are kept."""
    ways = [k for k in ("path", "from") if k in given]
    # Decontamination applies to a pool of either kind (a `from` pool carries its own).
    others = [k for k in given if k not in ("path", "from") and not (ways == ["path"] and k in _POOL_FILTERS)]
    if len(ways) > 1 or (ways and others):
        clash = (ways[1:] + others)[0]
        raise ValueError(
            f"{file}: [{name}] {ways[0]} and {clash} cannot go together: the pool is a path, or from = DIR "
            f"(an earlier experiment's output), or sources with data_dir, limit, seed and max_chars"
        )
    if ways == ["from"]:
        return {"from": filled["from"]}
    if ways:
        return {"path": filled["path"], **{k: filled[k] for k in _POOL_FILTERS}}
    return {k: v for k, v in filled.items() if k not in ("path", "from")}


_POOL_FILTERS = ("decontaminate", "decontaminate_ngram")


def _settings(filled: dict, given: dict, file: str, name: str) -> None:
    """The ranges ``training.Settings`` checks (lr in (0, 1), counts >= 1 ...)."""
    try:
        training.Settings(**filled)
    except ValueError as err:
        raise ValueError(f"{file}: [{name}] {err}") from None


def _method_of(label: str) -> str:
    return BASELINES.get(label, (label,))[0]


def _params(filled: dict, file: str, name: str, labels: list[str], reserved: Callable[[str], set[str]]) -> None:
    """Each ``[NAME.params.LABEL]`` table: LABEL one of ``labels``, its keys parameters of that
    label's method (and not ones the experiment sets itself), their values of the type the
    method declares."""
    for label, values in filled["params"].items():
        header = f"[{name}.params.{_toml_key(label)}]"
        if label not in labels:
            raise ValueError(
                f"{file}: {header} names no method this experiment runs{_did_you_mean(label, labels)}; "
                f"it runs: {', '.join(labels)}"
            )
        method = methods.get(_method_of(label))
        takes = {k: p for k, p in method.parameters().items() if k not in reserved(method.name)}
        for key, value in values.items():
            if key not in takes:
                why = " (the experiment sets it)" if key in method.parameters() else ""
                raise ValueError(
                    f"{file}: {header} {key} is not a parameter of method {method.name}{why}"
                    f"{_did_you_mean(key, takes)}; allowed: {', '.join(takes)}"
                )
            param = takes[key]
            kind = BOOL if param.action in ("switch", "bool") else _PARAM_TYPES.get(param.type, ANY)
            if value is not None and not kind.test(value):
                raise ValueError(f"{file}: {header} {key} must be {kind.name}, got {_describe(value)}")
            try:
                param.check(value)
            except ValueError as err:
                raise ValueError(f"{file}: {header} {err}") from None


_PARAM_TYPES = {int: INT, float: FLOAT, str: STR, bool: BOOL}


def _methods(filled: dict, given: dict, file: str, name: str) -> None:
    takers = [b for b in filled["baselines"] if "target" in methods.get(_method_of(b)).parameters()]
    if takers and filled["target"] is None:
        raise ValueError(
            f"{file}: [{name}] target is missing: {', '.join(takers)} select towards it (a records file, "
            f"data:PATH under ../shared/data, or humaneval)"
        )
    _params(filled, file, name, filled["baselines"], lambda method: _SET_BY_METHODS)


# What the methods experiment passes every method itself (target and device to those that take them).
_SET_BY_METHODS = {"budget", "budget_tokens", "tokenizer", "target", "device"}


def _zipfit(filled: dict, given: dict, file: str, name: str) -> None:
    # Each method ranks the pool towards a task's target, or at random.
    aimless = [m for m in filled["methods"] if m != "random" and "target" not in methods.get(m).parameters()]
    if aimless:
        raise ValueError(
            f"{file}: [{name}] methods: {aimless[0]} takes no target; the methods here rank the pool towards "
            f"each task's target (zipfit, dsir) or at random"
        )
    unmatched = [m for m in filled["matched"] if m not in filled["methods"] or m == "random"]
    if unmatched:
        raise ValueError(
            f"{file}: [{name}] matched: {unmatched[0]} is not a ranking method of methods "
            f"({', '.join(m for m in filled['methods'] if m != 'random')}); its controls are drawn against its selection"
        )
    stray = [b for b in filled["matched_budgets"] or [] if b not in filled["budgets"]]
    if stray:
        raise ValueError(f"{file}: [{name}] matched_budgets: {stray[0]} is not one of budgets {filled['budgets']}")
    names = [t["name"] for t in filled["task"]]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{file}: [[{name}.task]] name {json.dumps(twice[0])} is given to two tasks")
    # The ranking passes every method its budget and target, and random its seed (a train seed).
    _params(filled, file, name, filled["methods"], lambda m: _SET_BY_ZIPFIT | ({"seed"} if m == "random" else set()))
    if "generate" in filled:
        if not any(t["eval"] == "humaneval_eval" for t in filled["task"]):
            raise ValueError(
                f"{file}: [{name}.generate] applies to a task evaluated on humaneval_eval, and no [[{name}.task]] is"
            )


_SET_BY_ZIPFIT = {"budget", "budget_tokens", "target"}
_DIRECTIONS = ("as_given", "informal_to_formal", "formal_to_informal")


def _zipfit_task(filled: dict, given: dict, file: str, name: str) -> None:
    """A direction orders ProofNet's fields: it needs ProofNet as the target and the evaluation."""
    if filled["direction"] != "as_given":
        other = [k for k in ("target", "eval") if filled[k] not in ("proofnet_valid", "proofnet_test")]
        if other:
            raise ValueError(
                f"{file}: [[{name}]] {filled['name']}: direction orders ProofNet's informal and Lean statements, "
                f"but its {other[0]} is {json.dumps(filled[other[0]])}, not proofnet_valid or proofnet_test"
            )


def _zipfit_generate(filled: dict, given: dict, file: str, name: str) -> None:
    """The rules across the sampling keys (``generation.Sampling``)."""
    from .generation import Sampling

    try:
        Sampling.from_config({k: v for k, v in filled.items() if k != "every_budget"})
    except ValueError as err:
        raise ValueError(f"{file}: [{name}] {err}") from None


def _benchmark_names() -> list[str]:
    from ..benchmarks import BENCHMARKS

    return list(BENCHMARKS)


def _heldout_names() -> list[str]:
    return [*heldout.FILES, *heldout.BUILT]


def _ks(default: Any, examples: tuple[int, int, int]) -> tuple[Key, ...]:
    """K1, K2, K3 of ZIP (None: ZIP's own defaults)."""
    return tuple(Key(f"k{i + 1}", INT, default, examples[i], minimum=1) for i in range(3))


POOL = Table(
    "pool",
    (
        Key("path", STR, None, "pool.jsonl"),
        Key("from", STR, None, "experiments/results/methods"),
        Key("sources", STRS, ["sharegpt"], nonempty=True, choices=lambda: pools.NAMES),
        Key("data_dir", STR, None, "../shared/data"),
        Key("limit", INT, None, 6000, minimum=1),
        Key("seed", INT, 0),
        Key("max_chars", INT, None, 4000, minimum=1),
        # Benchmarks whose text the pool's records must not share (zipkit decontaminate).
        Key("decontaminate", STRS, None, ["humaneval", "mbpp"]),
        Key("decontaminate_ngram", INT, 13, minimum=1),
    ),
    check=_pool_mode,
)
_SETTING_TYPES = {"int": INT, "float": FLOAT, "str": STR, "bool": BOOL}
# [train.settings]: the fields of training.Settings, whose defaults are the defaults here.
SETTINGS = Table(
    "settings",
    tuple(Key(f.name, _SETTING_TYPES[str(f.type)], f.default) for f in fields(training.Settings)),
    check=_settings,
)
# [train] as the Trainer reads it (train, entropy-law and zipfit experiments).
TRAINER = (
    Key("seeds", INTS, [0], nonempty=True, minimum=0),
    Key("tokens", INT, None, 2560, minimum=1),
    Key("reuse", STRS, [], ["experiments/results/train"]),
    Key("eval", STRS, DEFAULT_EVAL, nonempty=True, choices=_heldout_names, files=True),
    Key("eval_limit", INT, 50, minimum=1),
    Key("eval_seed", INT, 0),
)


def _train(first: tuple[Key, ...] = (), required: bool = False, check: Any = None, **elsewhere: str) -> Table:
    """[train]: the Trainer's keys, less those set ``elsewhere`` (key=where), after ``first``."""
    keys = first + tuple(k for k in TRAINER if k.name not in elsewhere)
    return Table("train", keys, (SETTINGS,), required=required, check=check, elsewhere=tuple(elsewhere.items()))


# [train] of the train and entropy-law experiments: the study the Trainer's runs make up.
STUDY = (
    # The methods experiment (its output folder) whose methods, with their parameters and
    # target, select at each budget ([pool] from = the same folder: its pool and cached scores).
    Key("methods", STR, REQUIRED, "experiments/results/methods"),
    Key("only", STRS, None, ["zip", "length"]),  # these of its labels only
    # Token budgets (the trained model's tokenizer), and/or fractions of the pool's tokens.
    Key("budget_tokens", INTS, None, [10000], minimum=1, nonempty=True),
    Key("budgets", FRACTIONS, None, [0.01, 0.1], nonempty=True),
    Key("random_seeds", INTS, [0, 1, 2, 3, 4], minimum=0),  # draws of the random control
    Key("matched", STRS, ["zip"], ["zip", "length"]),  # methods with a length-matched and a null control
    Key("matched_seeds", INTS, [0, 1, 2], minimum=0),  # draws of each of those
    Key("measure", STR, "zlib:9"),  # the compressor of the ratio of each run's trained records
    Key("min_held_out", INT, 0, minimum=0),  # held-out texts (all sets together) a run must be scored on
    Key("min_steps", INT, 0, minimum=0),  # optimizer steps a run must take
)


def _study(filled: dict, given: dict, file: str, name: str) -> None:
    if filled["budget_tokens"] is None and filled["budgets"] is None:
        raise ValueError(
            f"{file}: [{name}] needs budget_tokens (token budgets, such as [10000]) or budgets (fractions of "
            f"the pool's tokens, such as [0.01, 0.1]): every method and control fills each"
        )


SCHEMAS: dict[str, tuple[Table, ...]] = {
    "compressors": (
        POOL,
        Table(
            "zip",
            (
                # Token budgets as fractions of the pool's tokens (so a smaller pool keeps them).
                Key("budgets", FRACTIONS, REQUIRED, [0.05, 0.1], nonempty=True),
                *_ks(REQUIRED, (10000, 200, 100)),
                Key("compressors", STRS, REQUIRED, ["zlib:9"], nonempty=True),
                Key("measure", STRS, ["zlib:9"], nonempty=True),
                Key("tokenizer", STR, TOKENIZER.default),
                Key("seeds", INT, 5, minimum=1),  # draws of each control
                Key("resamples", INT, 100, minimum=2),  # half-samples behind each interval
            ),
            required=True,
        ),
        Table(  # optional: each compressor at its default and at an exact context
            "exact",
            (
                # Exact contexts of zstd, lz4, brotli and isal recompress the whole selected set per
                # query: a sample of the pool of this many records keeps them affordable.
                Key("records", INT, 2000, minimum=1),
                *_ks(REQUIRED, (1000, 100, 50)),
                Key("compressors", STRS, REQUIRED, ["zstd:3"], nonempty=True),
            ),
            implied=False,
        ),
        Table(  # optional: without it, no ZIP-FIT part
            "zipfit",
            (
                Key("target", STR, REQUIRED, "humaneval"),
                Key("target_fields", STRS, None, ["prompt", "canonical_solution"]),
                Key("sources", INT, None, 2000, minimum=1),
                Key("reference", STR, "gzip:6"),  # ZIP-FIT's own compressor
                Key("compressors", STRS, REQUIRED, ["gzip:6"], nonempty=True),
            ),
            implied=False,
        ),
    ),
    "methods": (
        POOL,
        Table(
            "methods",
            (
                # Token budgets as fractions of the pool's tokens; every method fills each.
                Key("budgets", FRACTIONS, REQUIRED, [0.1, 0.2], nonempty=True),
                *_ks(None, (2000, 200, 50)),
                Key("tokenizer", STR, SMOLLM2),
                Key("measure", STRS, ["zlib:9"], nonempty=True),
                Key("device", STR, "auto"),
                Key("target", STR, None, "data:mt_bench/question.jsonl"),
                Key("target_fields", STRS, None, ["turns"]),
                Key("baselines", STRS, list(BASELINES), choices=lambda: dict.fromkeys([*BASELINES, *methods.names()])),
                Key("params", TABLES, {}, {"dsir": {"min_tokens": 0}}),
                Key("seeds", INT, 5, minimum=1),  # draws of each control (random is the first)
                Key("resamples", INT, 200, minimum=2),  # half-samples behind each interval
            ),
            required=True,
            check=_methods,
        ),
    ),
    "train": (POOL, _train(first=STUDY, required=True, check=_study)),
    "entropy_law": (
        POOL,
        Table(  # the selections added to the train study's, at each of its budgets
            "entropy_law",
            (
                *_ks(None, (800, 100, 20)),  # of the added ZIP sets (None: the methods experiment's)
                Key("compressors", STRS, [], ["zstd:19", "lz4:1"]),
                Key("stages", STAGES, [], [[400, 50, 10]], minimum=1),
                Key("zip_multiples", INTS, [], [3, 10], minimum=2),  # larger ZIP sets, each run cut to the budget
                Key("seeds", INTS, None, [0, 1], minimum=0, nonempty=True),  # their training seeds (None: [train]'s)
                Key("exclude_from_fit", STRS, [], ["length"]),
                Key("resamples", INT, 2000, minimum=100),  # bootstrap draws behind each interval
            ),
            required=True,
        ),
        _train(first=STUDY, required=True, check=_study),
    ),
    "zipfit": (
        POOL,
        Table(
            "zipfit",
            (
                Key("budgets", INTS, REQUIRED, [1024, 2048], minimum=1, nonempty=True),
                Key("methods", STRS, ZIPFIT_METHODS, nonempty=True, choices=methods.names),
                Key("params", TABLES, {}, {"dsir": {"min_tokens": 0}}),
                # random's selection (and training) seeds; None: [train] seeds
                Key("random_seeds", INTS, None, [0, 1, 2, 3, 4], minimum=0, nonempty=True),
                # methods with a length-matched and a null control, each drawn once per matched seed,
                # at matched_budgets (None: every budget)
                Key("matched", STRS, [], ["zipfit"]),
                Key("matched_seeds", INTS, [0, 1, 2], minimum=0, nonempty=True),
                Key("matched_budgets", INTS, None, [2048], minimum=1, nonempty=True),
            ),
            (
                Table(
                    "task",
                    (
                        Key("name", STR, REQUIRED, "code"),
                        Key("target", STR, REQUIRED, "humaneval_target", choices=_heldout_names, files=True),
                        Key("eval", STR, REQUIRED, "humaneval_eval", choices=_heldout_names, files=True),
                        Key("reach_loss", LOSSES, None, [1.5, 1.2]),
                        # ProofNet's fields informal first or Lean first, or the texts as heldout gives them
                        Key("direction", STR, "as_given", choices=lambda: _DIRECTIONS),
                        # also run on the pool less the records sharing text with these benchmarks
                        Key(
                            "decontaminate",
                            STRS,
                            None,
                            ["proofnet"],
                            nonempty=True,
                            choices=_benchmark_names,
                            files=True,
                        ),
                        Key("decontaminate_ngram", INT, 13, minimum=1),
                    ),
                    required=True,
                    many=True,
                    check=_zipfit_task,
                ),
                Table(  # optional: HumanEval completions of each run's model, run in the sandbox
                    "generate",
                    (
                        Key("problems", INT, None, 5, minimum=1),  # None: the whole evaluation half
                        Key("greedy", BOOL, True),
                        Key("samples", INT, 0, minimum=0),
                        Key("temperature", FLOAT, 0.8),
                        Key("top_p", FLOAT, 0.95),
                        Key("ks", INTS, [1], minimum=1, nonempty=True),
                        Key("max_new_tokens", INT, 256, minimum=1),
                        Key("batch", INT, 16, minimum=1),
                        Key("timeout", FLOAT, 10.0),
                        Key("memory_mb", INT, 1024, minimum=64),
                        Key("workers", INT, None, 8, minimum=1),
                        Key("seed", INT, 0),
                        Key("every_budget", BOOL, True),  # false: at the largest budget only
                    ),
                    implied=False,
                    check=_zipfit_generate,
                ),
            ),
            required=True,
            check=_zipfit,
        ),
        _train(eval="each [[zipfit.task]] names its eval set", tokens="each of [zipfit] budgets sets the tokens"),
    ),
}


# --- validation --------------------------------------------------------------------------------


class Config(dict):
    """A validated config: every table with each of its keys, defaults filled in; ``kind`` is
    the experiment it was validated for and ``path`` the file it was read from."""

    def __init__(self, values: dict, path: str, kind: str) -> None:
        super().__init__(values)
        self.path, self.kind = path, kind


def validate(config: dict, path: str | Path, kind: str) -> Config:
    """``config`` (read from ``path``) checked against the schema of experiment ``kind``, with
    every default filled in; a ValueError naming the file, the table and the key otherwise.
    A config already validated for ``kind`` is returned as it is."""
    kind = kind.replace("-", "_")
    if isinstance(config, Config) and config.kind == kind:
        return config
    if kind not in SCHEMAS:
        raise ValueError(f"unknown experiment {kind!r}; known: {', '.join(SCHEMAS)}")
    root = Table("", tables=SCHEMAS[kind])
    return Config(_fill(config, root, str(path), "", kind), str(path), kind)


def table(values: dict, path: str | Path, schema: Table = POOL) -> dict:
    """One table (the ``[pool]`` of an earlier experiment's results.json) checked and filled."""
    return _fill(values, schema, str(path), schema.name, "")


def _fill(values: dict, schema: Table, file: str, name: str, kind: str, label: str = "") -> dict:
    """``values``, the table ``name`` (dotted; "" for the whole config) checked against
    ``schema``, with the defaults filled in."""
    label = label or f"[{name}]"
    keys = {k.name: k for k in schema.keys}
    subs = {t.name: t for t in schema.tables}
    for given in values:  # unknown names first: a misspelled required key is named as such
        if given not in keys and given not in subs:
            raise ValueError(_unknown(given, values[given], file, name, kind, label, schema))
    out: dict[str, Any] = {}
    for key in schema.keys:
        if key.name in values:
            out[key.name] = _value(values[key.name], key, f"{file}: {label}")
        elif key.default is REQUIRED:
            raise ValueError(
                f"{file}: {label} {key.name} is missing: it is required ({key.type.name} such as {_toml(key.sample)})"
            )
        else:
            out[key.name] = copy.deepcopy(key.default)
    for sub in schema.tables:
        dotted = f"{name}.{sub.name}" if name else sub.name
        given = values.get(sub.name)
        if given is None or (sub.many and given == []):
            if sub.required:
                whose = f"the {kind.replace('_', '-')} experiment" if not name else f"[{name}]"
                brackets = f"[[{dotted}]]" if sub.many else f"[{dotted}]"
                raise ValueError(f"{file}: {brackets} is missing: {whose} needs it{_needing(sub)}")
            if sub.implied:
                out[sub.name] = [] if sub.many else _fill({}, sub, file, dotted, kind)
        elif sub.many:
            if not isinstance(given, list) or not all(isinstance(item, dict) for item in given):
                raise ValueError(
                    f"{file}: {label} {sub.name} must be an array of tables ([[{dotted}]]), got {_describe(given)}"
                )
            out[sub.name] = [
                _fill(item, sub, file, dotted, kind, f"[[{dotted}]] #{i + 1}") for i, item in enumerate(given)
            ]
        else:
            if not isinstance(given, dict):
                where = f"{file}: {label} {sub.name}" if name else f"{file}: [{sub.name}]"
                raise ValueError(f"{where} must be a table ([{dotted}]), got {_describe(given)}")
            out[sub.name] = _fill(given, sub, file, dotted, kind)
    if schema.check is not None:
        out = schema.check(out, values, file, name) or out
    return out


def _value(value: Any, key: Key, at: str) -> Any:
    if value is None and key.default is None:  # a None read back from a results.json
        return None
    if not key.type.test(value):
        raise ValueError(f"{at} {key.name} must be {key.type.name} such as {_toml(key.sample)}, got {_describe(value)}")
    if key.nonempty and not value:
        raise ValueError(f"{at} {key.name} is empty: give {key.type.name} such as {_toml(key.sample)}")
    if key.minimum is not None:
        low = [v for v in _numbers(value) if v < key.minimum]
        if low:
            raise ValueError(f"{at} {key.name} must be at least {key.minimum}, got {_describe(value)}")
    if key.choices is not None:
        known = list(key.choices())
        for item in value if isinstance(value, list) else [value]:
            if item not in known and not (key.files and Path(item).suffix in heldout.SUFFIXES):
                files = f", or a path to a {'/'.join(heldout.SUFFIXES)} file" if key.files else ""
                raise ValueError(
                    f"{at} {key.name}: {json.dumps(item)} is unknown{_did_you_mean(item, known)}; "
                    f"known: {', '.join(known)}{files}"
                )
    return value


def _numbers(value: Any) -> list:
    return [n for v in value for n in _numbers(v)] if isinstance(value, list) else [value]


def _unknown(given: str, value: Any, file: str, name: str, kind: str, label: str, schema: Table) -> str:
    if not name:  # the top level: tables only
        tables = [t.name for t in schema.tables]
        listed = ", ".join(f"[{t}]" for t in tables)
        if not isinstance(value, dict):  # a key above every table header
            owners = [f"[{t.name}]" for t in schema.tables if given in {k.name for k in t.keys}]
            hint = f" (it belongs in {' or '.join(owners)})" if owners else ""
            return f"{file}: {given} is outside any table{hint}; a {kind.replace('_', '-')} config holds {listed}"
        return (
            f"{file}: [{given}] is not a table of a {kind.replace('_', '-')} config"
            f"{_did_you_mean(given, tables, '[{}]')}; its tables: {listed}"
        )
    allowed = [k.name for k in schema.keys] + [f"[{name}.{t.name}]" for t in schema.tables]
    brackets = f"[[{name}]]" if schema.many else f"[{name}]"
    elsewhere = dict(schema.elsewhere)
    if given in elsewhere:
        return f"{file}: {label} {given} is not a key of {brackets} in a {kind.replace('_', '-')} config: {elsewhere[given]}"
    return (
        f"{file}: {label} {given} is not a key of {brackets}"
        f"{_did_you_mean(given, [k.name for k in schema.keys] + [t.name for t in schema.tables])}; "
        f"allowed: {', '.join(allowed)}"
    )


def _needing(schema: Table) -> str:
    required = [k.name for k in schema.keys if k.default is REQUIRED]
    return f", with {', '.join(required)}" if required else ""


def _did_you_mean(word: str, candidates: Iterable[str], form: str = "{}") -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f" (did you mean {form.format(close[0])}?)" if close else ""


def _describe(value: Any) -> str:
    """A value as a message names it: the string "zlib:9", the integer 5, a table."""
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        text = json.dumps(value, default=str)
        return f"the list {text if len(text) <= 60 else text[:57] + '...'}"
    return f"{value!r} (a {type(value).__name__})"


def _toml(value: Any) -> str:
    """A value as TOML writes it (JSON's form, for the types a config holds)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def _toml_key(name: str) -> str:
    return name if name.replace("_", "").replace("-", "").isalnum() else json.dumps(name)
