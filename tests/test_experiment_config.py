"""Experiment configs are checked against a schema before any work: a misspelled key, a missing
table or key, or a value of the wrong type is refused with one line naming the file, the table
and the key; every committed config validates; every key the schema lists round-trips."""

import json
import re
from pathlib import Path

import pytest

from zipkit import cli
from zipkit.experiments import runner, schema

ROOT = Path(__file__).parents[1]

ZIP = """
[pool]
path = "pool.jsonl"
[zip]
budgets = [0.05, 0.1]
resamples = 10
k1 = 100
k2 = 40
k3 = 10
compressors = ["zlib:6", "lz4:1"]
"""


def refused(tmp_path, text, kind="compressors"):
    """The message a config of ``text`` is refused with (through the file, as the CLI reads it)."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        runner.load_config(path, kind)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message  # the file, first
    return message


def test_a_misspelled_optional_key_is_named_with_the_key_it_resembles(tmp_path):
    message = refused(tmp_path, ZIP.replace("resamples", "resample"))
    assert "[zip] resample is not a key of [zip] (did you mean resamples?); allowed: budgets, " in message


def test_a_missing_required_table_is_named(tmp_path):
    message = refused(tmp_path, '[pool]\npath = "pool.jsonl"\n', kind="methods")
    assert "[methods] is missing: the methods experiment needs it, with budgets" in message


def test_a_misspelled_required_key_is_named_as_a_misspelling_not_as_missing(tmp_path):
    message = refused(tmp_path, ZIP.replace("budgets = [0.05, 0.1]", "budgtes = [0.05, 0.1]"))
    assert "[zip] budgtes is not a key of [zip] (did you mean budgets?)" in message
    message = refused(tmp_path, ZIP.replace("budgets = [0.05, 0.1]", ""))
    assert (
        "[zip] budgets is missing: it is required (a list of fractions (numbers above 0, at most 1) such as [0.05, 0.1])"
        in message
    )
    message = refused(tmp_path, ZIP.replace("[0.05, 0.1]", "[0.05, 5000]"))
    assert "[zip] budgets must be a list of fractions" in message


def test_a_string_where_a_list_is_expected_is_refused(tmp_path):
    message = refused(tmp_path, ZIP.replace('["zlib:6", "lz4:1"]', '"zlib:9"'))
    assert '[zip] compressors must be a list of strings such as ["zlib:9"], got the string "zlib:9"' in message


@pytest.mark.parametrize(
    "line, expected",
    [
        ('k1 = "100"', '[zip] k1 must be an integer such as 10000, got the string "100"'),
        ("k1 = true", "[zip] k1 must be an integer such as 10000, got the boolean true"),
        ("k1 = 0", "[zip] k1 must be at least 1, got the integer 0"),
        ("k1 = 1.5", "[zip] k1 must be an integer such as 10000, got the number 1.5"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(tmp_path, line, expected):
    assert expected in refused(tmp_path, ZIP.replace("k1 = 100", line))


@pytest.mark.parametrize(
    "kind, text, expected",
    [
        (
            "compressors",
            ZIP + "[zpi]\nbudgets = [0.1]\n",
            "[zpi] is not a table of a compressors config (did you mean [zip]?)",
        ),
        ("compressors", "budgets = [0.1]\n" + ZIP, "budgets is outside any table (it belongs in [zip])"),
        ("compressors", ZIP + "[zip.measure]\n", "[zip] measure must be a list of strings such as"),
        ("compressors", ZIP.replace("path =", "limit = 5\npath ="), "[pool] path and limit cannot go together"),
        ("compressors", ZIP.replace('path = "pool.jsonl"', 'sources = ["sharegtp"]'), '"sharegtp" is unknown (did you'),
        ("train", '[train]\nmethods = "s"\n[train.settings]\nlrate = 1e-4\n', "[train.settings] lrate is not a key"),
        ("train", '[train]\nmethods = "s"\n[train.settings]\nlr = 2.0\n', "[train.settings] train setting lr=2.0"),
        ("train", '[train]\nmethods = "s"\neval = ["mt_bnech"]\n', '"mt_bnech" is unknown (did you mean mt_bench?)'),
        (
            "methods",
            "[methods]\nbudgets = [0.1]\ntarget = 't.jsonl'\n[methods.params.dsir]\nmin_token = 0\n",
            "[methods.params.dsir] min_token is not a parameter of method dsir (did you mean min_tokens?)",
        ),
        (
            "methods",
            "[methods]\nbudgets = [0.1]\ntarget = 't.jsonl'\n[methods.params.dsir]\nbudget_tokens = 5\n",
            "[methods.params.dsir] budget_tokens is not a parameter of method dsir (the experiment sets it)",
        ),
        (
            "methods",
            "[methods]\nbudgets = [0.1]\ntarget = 't.jsonl'\n[methods.params.dsri]\nmin_tokens = 0\n",
            "[methods.params.dsri] names no method this experiment runs (did you mean dsir?)",
        ),
        ("methods", "[methods]\nbudgets = [0.1]\n", "[methods] target is missing: dsir, zipfit select towards it"),
        (
            "methods",
            "[methods]\nbudgets = [0.1]\nbaselines = ['lenght']\n",
            '"lenght" is unknown (did you mean length?)',
        ),
        (
            "entropy-law",
            "[entropy_law]\nk1 = 5\n[train]\nmethods = 'm'\n",
            "[train] needs budget_tokens (token budgets",
        ),
        (
            "zipfit",
            "[zipfit]\nbudgets = [8]\n",
            "[[zipfit.task]] is missing: [zipfit] needs it, with name, target, eval",
        ),
        (
            "zipfit",
            "[zipfit]\nbudgets = [8]\n[[zipfit.task]]\nname = 'a'\ntarget = 'humaneval_target'\nevl = 'x.jsonl'\n",
            "[[zipfit.task]] #1 evl is not a key of [[zipfit.task]] (did you mean eval?)",
        ),
        (
            "zipfit",
            "[zipfit]\nbudgets = [8]\n[zipfit.task]\nname = 'a'\n",
            "[zipfit] task must be an array of tables ([[zipfit.task]]), got a table",
        ),
        ("zipfit", "[zipfit]\nbudgets = []\n", "[zipfit] budgets is empty"),
        (
            "zipfit",
            "[zipfit]\nbudgets = [8]\nmethods = ['length']\n[[zipfit.task]]\nname = 'a'\ntarget = 'x.json'\neval = 'koala'\n",
            "[zipfit] methods: length takes no target",
        ),
        (
            "zipfit",
            "[zipfit]\nbudgets = [8]\n[[zipfit.task]]\nname = 'a'\ntarget = 'vicuna'\neval = 'koala'\n"
            "[train]\neval = ['vicuna']\n",
            "[train] eval is not a key of [train] in a zipfit config: each [[zipfit.task]] names its eval set",
        ),
    ],
)
def test_every_table_names_its_file_table_and_key(tmp_path, kind, text, expected):
    assert expected in refused(tmp_path, text, kind)


def _kind(path: Path) -> str:
    """The experiment a committed config is for: its first line is the command that runs it."""
    return re.search(r"zipkit experiment (\S+) --config", path.read_text()).group(1)


def test_every_committed_config_validates():
    paths = sorted((ROOT / "experiments").glob("*.toml"))
    assert len(paths) >= 9
    for path in paths:
        config = runner.load_config(path, _kind(path))
        assert config.kind == _kind(path).replace("-", "_"), path


def _full(tables: tuple) -> dict:
    """A config with every key written out: its default, else its example; the pool as a pool of
    sources (its path and from are the other ways, each on its own: see the next test)."""
    out = {}
    for table in tables:
        values = {k.name: k.sample for k in table.keys if not (table is schema.POOL and k.name in ("path", "from"))}
        values.update(_full(table.tables))
        out[table.name] = [values] if table.many else values
    return out


def _toml(config: dict, prefix: str = "") -> str:
    """A config as TOML (values as JSON writes them, which TOML reads the same)."""
    lines = []
    for name, values in config.items():
        dotted = f"{prefix}{name}"
        for item in values if isinstance(values, list) else [values]:
            lines.append(f"[[{dotted}]]" if isinstance(values, list) else f"[{dotted}]")
            nested = {}
            for key, value in item.items():
                if isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()) and value:
                    nested.update({f"{key}.{json.dumps(k)}": v for k, v in value.items()})
                elif isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)):
                    nested[key] = value
                elif value is not None:
                    lines.append(f"{key} = {json.dumps(value)}")
            lines.append(_toml(nested, f"{dotted}."))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("kind", list(schema.SCHEMAS))
def test_every_key_of_the_schema_round_trips(kind, tmp_path):
    """Written out with every default (or example), a config validates to what was written: no
    key the schema lists is refused, dropped or changed, and TOML reads it back the same."""
    full = _full(schema.SCHEMAS[kind])
    config = schema.validate(full, "full.toml", kind)
    assert json.loads(json.dumps(config)) == full
    path = tmp_path / "full.toml"
    path.write_text(_toml(full))
    assert runner.load_config(path, kind) == full
    # Left out, each key is there again with its default: the tables with only the keys that have none.
    for table in schema.SCHEMAS[kind]:
        if table.many:
            continue
        given = {k.name: k.sample for k in table.keys if k.default is schema.REQUIRED or k.default is None}
        given = {} if table is schema.POOL else {**given, **{t.name: full[table.name][t.name] for t in table.tables}}
        filled = schema.validate({**full, table.name: given}, "x.toml", kind)[table.name]
        defaults = {k.name: k.default for k in table.keys if k.default is not None and k.default is not schema.REQUIRED}
        assert defaults and {k: filled[k] for k in defaults} == defaults, table.name


def test_the_pool_is_a_path_or_from_or_sources_and_keeps_only_its_own_keys():
    unfiltered = {"decontaminate": None, "decontaminate_ngram": 13}
    assert schema.table({"path": "p.jsonl"}, "x.toml") == {"path": "p.jsonl", **unfiltered}
    assert schema.table({"path": "p.jsonl", "decontaminate": ["mbpp"]}, "x.toml")["decontaminate"] == ["mbpp"]
    assert schema.table({"from": "dir"}, "x.toml") == {"from": "dir"}
    assert schema.table({}, "x.toml") == {
        "sources": ["sharegpt"],
        "data_dir": None,
        "limit": None,
        "seed": 0,
        "max_chars": None,
        **unfiltered,
    }
    with pytest.raises(ValueError, match=r"x.toml: \[pool\] path and from cannot go together"):
        schema.table({"path": "p", "from": "d"}, "x.toml")
    with pytest.raises(ValueError, match=r"x.toml: \[pool\] path and limit cannot go together"):
        schema.table({"path": "p", "limit": 5}, "x.toml")
    with pytest.raises(ValueError, match=r"x.toml: \[pool\] from and decontaminate cannot go together"):
        schema.table({"from": "d", "decontaminate": ["mbpp"]}, "x.toml")


def test_the_pool_of_an_earlier_experiment_is_checked_naming_its_results_file(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"config": {"pool": {"sourcs": ["sharegpt"]}}}))
    with pytest.raises(ValueError, match=r"results.json: \[pool\] sourcs is not a key of \[pool\] \(did you mean"):
        runner.build_pool({"pool": {"from": str(tmp_path)}})


def test_the_command_prints_one_line_and_does_no_work(tmp_path, capsys):
    """Refused before the pool is read (it does not exist) or the output folder is made."""
    bad = tmp_path / "bad.toml"
    bad.write_text(ZIP.replace("pool.jsonl", str(tmp_path / "absent.jsonl")).replace("resamples", "resample"))
    out = tmp_path / "out"
    assert cli.main(["experiment", "compressors", "--config", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"zipkit: error: {bad}: [zip] resample is not a key of [zip] (did you mean resamples?); "
        "allowed: budgets, k1, k2, k3, compressors, measure, tokenizer, seeds, resamples"
    ]
    assert not out.exists()


def test_a_validated_config_is_what_the_experiment_reads_and_records(tmp_path):
    """Defaults come from the schema (one place); results.json records the config with them,
    None left out, so that it validates again."""
    path = tmp_path / "c.toml"
    path.write_text(ZIP)
    config = runner.load_config(path, "compressors")
    assert config["zip"]["measure"] == ["zlib:9"] and config["zip"]["tokenizer"] == "unicode"
    assert "zipfit" not in config  # an optional table left out stays out: that part does not run
    assert schema.validate(config, "other.toml", "compressors") is config
    recorded = runner._given(config)
    assert "data_dir" not in recorded["pool"] and schema.validate(recorded, "r.json", "compressors") == config


def test_an_experiment_without_matplotlib_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    """Every experiment ends with its plots: without matplotlib it stops before the first
    selection, naming the extra, and writes no output folder."""
    import sys

    (tmp_path / "pool.jsonl").write_text(
        "".join(json.dumps({"text": f"record {k} " * (k % 5 + 1)}) + "\n" for k in range(60))
    )
    (tmp_path / "zip.toml").write_text(ZIP)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an environment without it imports
    assert cli.main(["experiment", "compressors", "--config", "zip.toml", "--out", "out", "--no-progress"]) == 2
    assert "plots need matplotlib: pip install 'zipkit[plot]'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
