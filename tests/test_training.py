"""Proxy training on a tiny random model over generated pools: the loop learns, equal tokens
mean equal steps, a killed run resumes to the same losses, and the train experiment runs end
to end from a config (the entropy-law experiment: test_entropy_law.py)."""

import json
import signal

import numpy as np
import pytest
from helpers import alpaca, write_jsonl

import zipkit
from zipkit import cli
from zipkit.experiments import training
from zipkit.interrupts import Interrupted

torch = pytest.importorskip("torch")


def settings(tiny_model, **kw):
    return training.Settings(
        model=tiny_model,
        seq_len=16,
        batch_size=2,
        lr=kw.pop("lr", 3e-3),
        warmup=0.0,
        device="cpu",
        eval_max_tokens=32,
        checkpoint_every=kw.pop("checkpoint_every", 3),
        **kw,
    )


def texts(n, seed=0):
    return [r["instruction"] + "\n" + r["output"] for r in alpaca(n, seed)]


def test_loss_decreases_on_a_repeated_batch(tiny_model):
    s = settings(tiny_model, lr=1e-2)
    ids = training.encode(texts(1), tiny_model)
    blocks = training.pack(ids, training.end_token(tiny_model), s.tokens_per_step, s, seed=0)
    repeated = np.repeat(blocks, 30, axis=0)  # the same batch, 30 steps
    run = training.train(repeated, s, 0, {})
    assert run.steps == 30 and len(run.losses) == 30
    assert run.losses[-1] < 0.5 * run.losses[0]  # it memorizes the batch


def test_equal_tokens_give_equal_steps_whatever_the_texts(tiny_model):
    s = settings(tiny_model)
    end = training.end_token(tiny_model)
    short = training.encode(["a b"] * 200, tiny_model)  # many short texts
    long = training.encode([" ".join(texts(60))], tiny_model)  # one long one
    for tokens in (32, 100, 320):
        a, b = (training.pack(ids, end, tokens, s, seed=1) for ids in (short, long))
        assert a.shape == b.shape == (tokens // 32, 2, 16)
    packed = training.pack(short, end, 320, s, seed=1).ravel()
    assert (packed == end).sum() == 320 // 3  # "a b" is two tokens, then the end token
    with pytest.raises(ValueError, match="fewer than the"):
        training.pack(short[:2], end, 320, s, seed=0)
    with pytest.raises(ValueError, match="less than one step"):
        training.pack(short, end, 10, s, seed=0)


def test_the_learning_rate_warms_up_then_follows_the_cosine_down_to_its_floor(tiny_model):
    s = settings(tiny_model, min_lr=0.2)
    s = training.Settings(**{**s.__dict__, "warmup": 0.25})
    multipliers = [training.learning_rate(k, 20, s) for k in range(20)]
    assert multipliers[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert all(a >= b for a, b in zip(multipliers[4:], multipliers[5:]))
    expected_last = 0.2 + 0.8 * 0.5 * (1 + np.cos(np.pi * 14 / 15))
    assert multipliers[-1] == pytest.approx(expected_last)


def killed_and_resumed(blocks, s, held, checkpoint, monkeypatch, at_step=5):
    """Train with SIGINT arriving in the middle of step ``at_step``, then train again."""
    clip = torch.nn.utils.clip_grad_norm_
    calls = []

    def killed(*args, **kwargs):
        calls.append(1)
        if len(calls) == at_step:
            signal.raise_signal(signal.SIGINT)
        return clip(*args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", killed)
    with pytest.raises(Interrupted):
        training.train(blocks, s, 7, held, checkpoint=checkpoint)
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", clip)
    saved = torch.load(checkpoint, weights_only=True)
    assert len(saved["losses"]) == at_step  # the step it was in finished and was saved
    return saved, training.train(blocks, s, 7, held, checkpoint=checkpoint)


def test_a_killed_run_resumes_to_the_same_losses(tiny_model, tmp_path, monkeypatch):
    s = settings(tiny_model, lr=1e-3)
    ids = training.encode(texts(40), tiny_model)
    blocks = training.pack(ids, training.end_token(tiny_model), 320, s, seed=2)
    held = {"h": training.encode(texts(5, seed=9), tiny_model)}
    whole = training.train(blocks, s, 7, held)
    _, resumed = killed_and_resumed(blocks, s, held, tmp_path / "run.ckpt", monkeypatch)
    assert resumed.losses == pytest.approx(whole.losses, rel=1e-5)
    assert resumed.held_out["h"] == pytest.approx(whole.held_out["h"], rel=1e-5)


def test_held_out_loss_is_the_mean_cross_entropy_of_each_text_scored_alone(tiny_model):
    s = settings(tiny_model)
    ids = training.encode(texts(7, seed=4), tiny_model)
    lm = training.load_model(s, "cpu")
    total = count = 0
    with torch.no_grad():
        for i in ids:
            x = torch.from_numpy(i[: s.eval_max_tokens])[None]
            n = x.shape[1] - 1
            total += lm(input_ids=x, labels=x).loss.item() * n  # transformers' mean over n predictions
            count += n
    assert training.held_out_loss(lm, ids, s, "cpu") == pytest.approx(total / count, rel=1e-5)


def test_bad_settings_name_the_setting():
    with pytest.raises(ValueError, match="seq_len"):
        training.Settings(seq_len=0)
    with pytest.raises(ValueError, match="unknown train setting.*lrate"):
        training.Settings.from_config({"lrate": 1e-4})


def make_study(d, model) -> str:
    """A pool, a held-out file, a target, and the output folder of a methods experiment over
    the pool (its results.json's config is all that the train experiment reads there: the
    pool, and ZIP, length, DSIR towards the target, random); the text of a train config."""
    pool = write_jsonl(d / "pool.jsonl", alpaca(80))
    write_jsonl(d / "held.jsonl", alpaca(8, seed=5))
    write_jsonl(d / "target.jsonl", alpaca(5, seed=6))
    methods = {
        "k1": 60,
        "k2": 20,
        "k3": 5,
        "baselines": ["random", "length", "dsir"],
        "target": str(d / "target.jsonl"),
        "params": {"dsir": {"min_tokens": 0}},
    }
    (d / "methods").mkdir()
    config = {"pool": {"path": str(pool)}, "methods": methods}
    (d / "methods" / "results.json").write_text(json.dumps({"experiment": "methods", "config": config}))
    return f"""
[pool]
from = "{d / "methods"}"
[train]
methods = "{d / "methods"}"
budget_tokens = [400]
seeds = [0, 1]
random_seeds = [0, 1, 2]
matched_seeds = [0]
eval = ["{d / "held.jsonl"}"]
min_held_out = 8
""" + SETTINGS.format(model=model)


SETTINGS = """
[train.settings]
model = "{model}"
seq_len = 16
batch_size = 2
lr = 1e-3
device = "cpu"
"""


def experiment(name: str, config, out) -> int:
    return cli.main(["experiment", name, "--config", str(config), "--out", str(out), "--no-progress"])


def selection_of(run: dict, folder, tokens) -> np.ndarray:
    """The pool positions a run trained on: a method's saved selection (a plain pool: its
    indices are positions), or the control's draw made again."""
    from zipkit.experiments import stats
    from zipkit.experiments.runner import _safe

    def saved(label):
        (path,) = (folder / "selections").glob(f"{_safe(label)}-*.json")
        return np.array(json.loads(path.read_text())["indices"])

    if run["group"] == "random":
        return stats.random_control(tokens, run["budget"], run["draw"])
    if run["group"] in ("length-matched", "null"):
        return stats.control(run["group"], tokens, saved(run["row"].split()[-1]), run["budget"], run["draw"])
    return saved(run["selection"])


def test_train_experiment_trains_each_method_and_control_whole_at_its_own_budget(tmp_path, tiny_model):
    from zipkit.budget import token_counts
    from zipkit.experiments import stats
    from zipkit.experiments import train as train_experiment
    from zipkit.ratio import framed_ratio

    d = tmp_path
    (d / "t.toml").write_text(make_study(d, tiny_model))
    assert experiment("train", d / "t.toml", d / "t") == 0
    results = json.loads((d / "t" / "results.json").read_text())
    runs = results["runs"]
    # 3 methods x 2 seeds; random 3 draws; length-matched to zip and null of zip, 1 draw each
    assert len(runs) == 3 * 2 + 3 + 1 + 1
    assert {r["row"] for r in runs} == {"zip", "length", "dsir", "random", "length-matched to zip", "null of zip"}
    assert results["held_out_texts"] == 8 >= 8  # min_held_out
    pool = zipkit.read_records(d / "pool.jsonl")
    tokens = token_counts(pool, tiny_model)
    payloads = pool.payloads("text")
    for r in runs:
        indices = selection_of(r, d / "t", tokens)
        # Every method and control fills the budget to within one record, and trains all of it.
        assert r["selected_tokens"] == tokens[indices].sum()
        assert 400 - tokens.max() <= r["selected_tokens"] <= 400, r["selection"]
        stream = training.stream_length(training.encode_records(pool, indices, tiny_model)[0])
        assert 0 <= r["steps"] * 32 - stream < 32 and r["cut"] is None and r["epochs"] == 1, r["selection"]
        assert 0 < r["trained_tokens"] < stream  # the prompts are not targets
        # The ratio of exactly the records trained on.
        assert r["ratio"] == pytest.approx(framed_ratio([payloads[int(i)] for i in indices], "text", "zlib:9"))
    # The report, from results.json alone: intervals over seeds, a finding per comparison.
    tables, findings = train_experiment.report(results, d / "t")
    (title, rows), *_ = tables.items()
    assert title.startswith("Proxy training at 400 ") and "every method and control filling it" in title
    zip_row = next(row for row in rows if row["selection"] == "zip")
    values = [r["held_out_mean"] for r in runs if r["row"] == "zip"]
    assert zip_row["held-out loss"] == pytest.approx(np.mean(values), abs=1e-4)
    assert zip_row["95% CI"] == pytest.approx(stats.over_seeds(values)[1], abs=1e-4)
    random_row = next(row for row in rows if row["selection"] == "random")
    assert random_row["runs"] == 3 and random_row["95% CI"][0] <= random_row["held-out loss"] <= random_row["95% CI"][1]
    assert any(f.startswith("zip ") and "random" in f and "mean held-out loss at 400 tokens" in f for f in findings)
    # the scale, then each method vs random, zip vs its two controls, zip vs each other
    assert len(findings) == 1 + 3 + 2 + 2
    minutes = sum(r["train_seconds"] + r["eval_seconds"] for r in runs) / 60
    assert findings[0].startswith(f"Scale: {len(runs)} runs of ") and f"{minutes:.0f} min of training" in findings[0]
    # A single draw (the matched controls here) has no spread: no interval, no verdict.
    single = [f for f in findings if "zip vs length-matched to zip" in f or "zip vs null of zip" in f]
    assert len(single) == 2 and all("no interval" in f for f in single)
    assert all("95% CI" in f for f in findings[1:] if f not in single)
    # `zipkit experiment report` makes the same files again from results.json alone.
    made = (d / "t" / "results.md").read_text()
    for path in [d / "t" / "results.md", *(d / "t").glob("*.png")]:
        path.unlink()
    assert cli.main(["experiment", "report", str(d / "t")]) == 0
    assert (d / "t" / "results.md").read_text() == made
    assert (d / "t" / "held_out_400.png").stat().st_size > 0 and (d / "t" / "loss_curves_400.png").stat().st_size > 0
    assert not list((d / "t" / "runs").glob("*.ckpt"))
    # A rerun trains nothing: the same figures come from the cached runs.
    before = sorted(p.stat().st_mtime_ns for p in (d / "t" / "runs").glob("*.json"))
    assert experiment("train", d / "t.toml", d / "t") == 0
    assert sorted(p.stat().st_mtime_ns for p in (d / "t" / "runs").glob("*.json")) == before
    assert json.loads((d / "t" / "results.json").read_text())["runs"] == runs


def test_too_few_held_out_texts_or_steps_are_refused_before_any_training(tmp_path, tiny_model, capsys):
    d = tmp_path
    text = make_study(d, tiny_model)
    (d / "a.toml").write_text(text.replace("min_held_out = 8", "min_held_out = 9"))
    assert experiment("train", d / "a.toml", d / "a") == 2
    assert "min_held_out = 9: the held-out sets" in capsys.readouterr().err
    (d / "b.toml").write_text(text.replace("min_held_out = 8", "min_steps = 40"))
    assert experiment("train", d / "b.toml", d / "b") == 2
    assert "[train] min_steps = 40: zip at 400 tokens trains 1" in capsys.readouterr().err
    assert not list((d / "b" / "runs").glob("*-seed*.json"))  # no run trained


def test_a_cut_keeps_what_pack_trains_of_each_text(tiny_model):
    """kept_tokens (whose records a cut run's ratio takes) counts, per text, the tokens of
    the blocks pack makes for it, in any epoch."""
    s = training.Settings(model=tiny_model, seq_len=8, batch_size=2, epochs=2, device="cpu")
    rng = np.random.default_rng(0)
    ids = [np.arange(1, n + 1) + 100 * k for k, n in enumerate(rng.integers(1, 12, 15))]
    for tokens in (16, 50, 90):
        blocks = training.pack(ids, 0, tokens, s, seed=3)
        kept = training.kept_tokens([len(i) for i in ids], tokens, s, seed=3)
        per_epoch = len(blocks) // 2
        seen = np.zeros(len(ids), dtype=np.int64)
        for epoch in range(2):
            flat = blocks[epoch * per_epoch : (epoch + 1) * per_epoch].ravel()
            counts = np.array([np.isin(flat, i).sum() for i in ids])
            seen = np.maximum(seen, counts)
            assert kept.sum() >= counts.sum() + (flat == 0).sum()
        assert ((kept == seen) | (kept == seen + 1)).all()  # the end token, when the cut holds it
        assert (kept[seen < [len(i) for i in ids]] == seen[seen < [len(i) for i in ids]]).all()
        assert training.steps_of([len(i) for i in ids], s, tokens) == len(blocks)
    whole, _ = training.pack_whole(ids, ids, 0, s, seed=3)
    assert training.steps_of([len(i) for i in ids], s) == len(whole)


@pytest.mark.parametrize("method", ["zipfit", "dsir", "random"])
def test_a_prefix_of_the_whole_ranking_is_what_the_method_selects_at_that_count(method):
    pool = zipkit.read_records(alpaca(150))
    params = {"target": texts(5, seed=8)} if method != "random" else {"seed": 3}
    if method == "dsir":
        params["min_tokens"] = 0
    ranking = zipkit.select(pool, method=method, budget=len(pool), **params).indices
    assert sorted(ranking.tolist()) == list(range(len(pool)))
    for count in (10, 40, 90):  # the experiment ranks the pool once and takes from that ranking
        top = zipkit.select(pool, method=method, budget=count, **params)
        assert top.indices.tolist() == ranking[:count].tolist()


def test_tokens_to_reach_interpolates_in_log_tokens():
    from zipkit.experiments.zipfit import tokens_to_reach

    points = [(1024, 3.0), (2048, 2.5), (4096, 2.0)]
    assert tokens_to_reach(points, 3.2) == {"tokens": 1024, "at_most": True}
    assert tokens_to_reach(points, 2.25) == {"tokens": pytest.approx(2**11.5), "at_most": False}
    assert tokens_to_reach(points, 2.0)["tokens"] == pytest.approx(4096)
    assert tokens_to_reach(points, 1.9) is None


def test_lora_trains_only_the_adapters_and_resumes(tiny_model, tmp_path, monkeypatch):
    s = settings(tiny_model, lora_r=4, lr=1e-2)
    ids = training.encode(texts(30), tiny_model)
    blocks = training.pack(ids, training.end_token(tiny_model), 160, s, seed=0)
    lm = training.load_model(s, "cpu")
    trained = [name for name, p in lm.named_parameters() if p.requires_grad]
    assert trained and all("lora_" in name for name in trained)
    repeated = training.train(np.repeat(blocks[:1], 20, axis=0), s, 0, {})
    assert repeated.losses[-1] < repeated.losses[0] - 0.2  # the adapters alone learn the batch
    whole = training.train(blocks, s, 7, {})
    saved, resumed = killed_and_resumed(blocks, s, {}, tmp_path / "lora.ckpt", monkeypatch, at_step=3)
    assert saved["model"] and all("lora_" in k for k in saved["model"])  # the adapters only
    assert resumed.losses == pytest.approx(whole.losses, rel=1e-5)


def test_every_committed_experiment_config_parses():
    """The presets in experiments/ name known settings and the keys their experiment reads."""
    from pathlib import Path

    from zipkit.experiments.runner import load_config

    needs = {
        "train": ("train", ["methods"]),
        "entropy_law": ("train", ["methods"]),
        "zipfit": ("zipfit", ["budgets", "task"]),
    }
    for path in sorted((Path(__file__).parents[1] / "experiments").glob("*.toml")):
        config = load_config(path)
        if "train" in config:
            training.Settings.from_config(config["train"].get("settings", {}))
        for prefix, (table, keys) in needs.items():
            if path.name.startswith(prefix):  # train*.toml, entropy_law*.toml, zipfit*.toml
                assert all(k in config[table] for k in keys), path


def test_the_loss_is_taken_over_the_responses_only(tiny_model):
    """Prompt tokens are context but never targets: the masked loss equals the mean cross
    entropy computed by hand over the response tokens (and the end token) alone."""
    import torch

    from zipkit.baselines.models import load_tokenizer

    records = zipkit.read_records(
        [{"instruction": "name a colour of the sky", "input": "", "output": "blue on a clear day"}]
    )
    ids, trained = training.encode_records(records, [0], tiny_model)
    tokenizer = load_tokenizer(tiny_model)
    response = tokenizer("blue on a clear day", add_special_tokens=False)["input_ids"]
    assert ids[0][trained[0] == 1].tolist() == response and (trained[0] == 0).sum() > 0
    s = training.Settings(model=tiny_model, seq_len=len(ids[0]) + 1, batch_size=1, device="cpu")
    end = training.end_token(tiny_model)
    blocks = training.pack(ids, end, s.tokens_per_step, s, seed=0)
    mask = training.pack(trained, 1, s.tokens_per_step, s, seed=0)
    assert blocks[0, 0, -1] == end and mask[0, 0, -1] == 1  # the end token is trained
    lm = training.load_model(s, "cpu")
    x = torch.from_numpy(blocks[0])
    with torch.no_grad():
        loss = lm(input_ids=x, labels=training.labels_of(x, mask[0])).loss.item()
        logits = lm(input_ids=x).logits[0, :-1]
    targets = x[0, 1:]
    chosen = torch.from_numpy(mask[0, 0, 1:] == 1)
    by_hand = torch.nn.functional.cross_entropy(logits[chosen], targets[chosen]).item()
    assert loss == pytest.approx(by_hand, rel=1e-5)
    everything = torch.nn.functional.cross_entropy(logits, targets).item()
    assert loss != pytest.approx(everything, rel=1e-3)


def test_a_plain_text_record_is_all_response_and_a_conversation_trains_its_replies(tiny_model):
    from zipkit.baselines.models import load_tokenizer

    records = zipkit.read_records([{"text": "a plain document with no prompt at all"}])
    ids, trained = training.encode_records(records, [0], tiny_model)
    assert len(ids[0]) > 3 and trained[0].all()
    turns = [("say hello", "hello there"), ("and goodbye", "goodbye then")]
    talk = [{"from": who, "value": v} for q, a in turns for who, v in (("human", q), ("gpt", a))]
    ids, trained = training.encode_records(zipkit.read_records([{"conversations": talk}]), [0], tiny_model)
    tokenizer = load_tokenizer(tiny_model)
    replies = [t for _, a in turns for t in tokenizer(a, add_special_tokens=False)["input_ids"]]
    assert ids[0][trained[0] == 1].tolist() == replies


def test_a_whole_selection_is_every_text_once_per_epoch_with_its_padding_untrained(tiny_model):
    s = training.Settings(model=tiny_model, seq_len=8, batch_size=2, epochs=2, device="cpu")
    ids = [np.arange(10, 10 + n) for n in (3, 7, 5)]
    trained = [np.r_[np.zeros(1, np.int64), np.ones(n - 1, np.int64)] for n in (3, 7, 5)]
    blocks, mask = training.pack_whole(ids, trained, 0, s, seed=4)
    stream = (3 + 1) + (7 + 1) + (5 + 1)  # each text and its end token
    per_epoch = -(-stream // 16)
    assert blocks.shape == mask.shape == (2 * per_epoch, 2, 8)
    for epoch in range(2):
        tokens = blocks[epoch * per_epoch : (epoch + 1) * per_epoch].ravel()
        marks = mask[epoch * per_epoch : (epoch + 1) * per_epoch].ravel()
        real = tokens[:stream]
        assert sorted(real[real != 0].tolist()) == sorted(np.concatenate(ids).tolist())
        assert (tokens[stream:] == 0).all() and (marks[stream:] == 0).all()  # padding: never a target
        assert marks[:stream].sum() == sum(len(i) - 1 for i in ids) + 3  # responses and the end tokens


def test_a_record_without_a_reply_is_trained_whole_and_trailing_prompts_are_kept(tiny_model):
    """The mixed pool holds code, Lean and web text as a single human message: trained as
    plain text, never as nothing; a question after the last reply is kept as context."""
    from zipkit.baselines.models import load_tokenizer

    tokenizer = load_tokenizer(tiny_model)
    alone = {"conversations": [{"from": "human", "value": "theorem foo : 1 + 1 = 2 := by norm_num"}]}
    ids, trained = training.encode_records(zipkit.read_records([alone]), [0], tiny_model)
    assert ids[0].tolist() == tokenizer(alone["conversations"][0]["value"], add_special_tokens=False)["input_ids"]
    assert trained[0].all()
    talk = [("human", "say hello"), ("gpt", "hello there"), ("human", "and one more thing")]
    record = {"conversations": [{"from": who, "value": v} for who, v in talk]}
    ids, trained = training.encode_records(zipkit.read_records([record]), [0], tiny_model)
    last = tokenizer("and one more thing", add_special_tokens=False)["input_ids"]
    assert ids[0][-len(last) :].tolist() == last and not trained[0][-len(last) :].any()
    assert ids[0][trained[0] == 1].tolist() == tokenizer("hello there", add_special_tokens=False)["input_ids"]
