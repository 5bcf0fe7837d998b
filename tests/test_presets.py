"""Every experiment preset (experiments/*.toml) runs end to end at the smoke scale (item 8
of issue 23): the CPU presets and the GPU presets, these on the CPU, so that a config error
cannot wait for a GPU to show. A preset whose pool or selections come from another preset's
results runs after that one, pointed at its smoke output. The figures mean nothing here;
that every table, plot and finding is made does."""

import json
import re
from pathlib import Path

import pytest
from conftest import SHARED_DATA

from zipkit.cli import main

ROOT = Path(__file__).resolve().parent.parent
PRESETS = sorted((ROOT / "experiments").glob("*.toml"))
COMMAND = re.compile(r"zipkit experiment (?P<name>[\w-]+) --config \S+ --out experiments/results/(?P<out>\w+)")


def _command(path: Path) -> tuple[str, str]:
    match = COMMAND.search(path.read_text().splitlines()[0])
    assert match, (
        f"{path.name}: its first line is the command that runs it (zipkit experiment NAME --config ... --out ...)"
    )
    return match["name"], match["out"]


def _needs(path: Path) -> set[str]:
    """The presets' results folders this one reads (its pool, selections or runs)."""
    return set(re.findall(r'"experiments/results/(\w+)"', path.read_text()))


def _order() -> list[Path]:
    done, order, left = set(), [], list(PRESETS)
    while left:
        ready = [p for p in left if _needs(p) <= done | {_command(p)[1]}]
        assert ready, f"presets that read each other's results in a circle: {[p.name for p in left]}"
        for p in ready:
            order.append(p)
            done.add(_command(p)[1])
            left.remove(p)
    return order


def _with_tiny_model(text: str, model: str) -> str:
    """The preset with a two-layer random model in place of SmolLM2 (loading and running the
    real one costs minutes of a test's time; its own loading is tested elsewhere)."""
    text = text.replace('"packaged:smollm2"', f'"{model}"')
    if "\n[methods]" in text:  # the model baselines name their model as a parameter
        for label in ("perplexity", '"ifd superfiltering"', '"ifd cherry"'):
            text += f'\n[methods.params.{label}]\nmodel = "{model}"\n'
    return text


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory, tiny_model):
    """Every preset at the smoke scale, in the order their results feed each other (they read
    ../shared/data: skipped only where it is absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("needs ../shared/data beside the checkout")
    root = tmp_path_factory.mktemp("presets")
    outcome = {}
    for path in _order():
        name, out = _command(path)
        text = path.read_text().replace('"experiments/results/', f'"{root.as_posix()}/')
        text = _with_tiny_model(text, tiny_model)
        config = root / path.name
        config.write_text(text)
        code = main(["experiment", name, "--config", str(config), "--out", str(root / out), "--smoke", "--no-progress"])
        outcome[path.name] = (code, root / out)
    return outcome


def test_every_preset_is_found():
    names = {_command(p)[0] for p in PRESETS}
    assert {"compressors", "methods", "train", "entropy-law", "zipfit"} <= names
    assert any("gpu" in p.name for p in PRESETS)


@pytest.mark.parametrize("preset", [p.name for p in PRESETS])
def test_preset_runs_end_to_end_at_smoke_scale(preset, smoke_runs):
    code, out = smoke_runs[preset]
    assert code == 0, f"{preset} failed at the smoke scale"
    results = json.loads((out / "results.json").read_text())
    assert results["experiment"] == _command(ROOT / "experiments" / preset)[0]
    for name in ("results.md", "findings.md"):
        assert (out / name).stat().st_size > 0
    assert list(out.glob("*.png")), f"{preset}: no plot"
    # Every device is the CPU at this scale, whatever the preset asks for.
    assert "cuda" not in json.dumps(results["config"])
