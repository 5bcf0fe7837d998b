"""Proxy training on a tiny random model over generated pools: the loop learns, equal tokens
mean equal steps, a killed run resumes to the same losses, and the train and entropy-law
experiments run end to end from a config."""

import json
import signal

import numpy as np
import pytest
from helpers import alpaca, write_jsonl

import zipkit
from zipkit import cli
from zipkit.experiments import training
from zipkit.interrupts import Interrupted
from zipkit.ratio import dataset_ratio

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


@pytest.fixture
def experiment(tmp_path, tiny_model):
    """A pool file, a compressors experiment over it (its selections), and a held-out file."""
    pool = write_jsonl(tmp_path / "pool.jsonl", alpaca(80))
    write_jsonl(tmp_path / "held.jsonl", alpaca(6, seed=5))
    (tmp_path / "c.toml").write_text(f"""
[pool]
path = "{pool}"
[zip]
budget = 10
budget_tokens = 300
k1 = 60
k2 = 20
k3 = 5
compressors = ["zlib:6", "lz4:1"]
""")
    assert (
        cli.main(
            [
                "experiment",
                "compressors",
                "--config",
                str(tmp_path / "c.toml"),
                "--out",
                str(tmp_path / "sel"),
                "--no-progress",
            ]
        )
        == 0
    )
    return tmp_path


SETTINGS = """
[train.settings]
model = "{model}"
seq_len = 16
batch_size = 2
lr = 1e-3
device = "cpu"
"""
TRAIN = (
    """
[train]
selections = "{sel}"
seeds = [0, 1]
eval = ["{held}"]
"""
    + SETTINGS
)


def _safe(label: str) -> str:
    from zipkit.experiments.runner import _safe as safe

    return safe(label)


def _stream_of_each_selection(folder, pool, model) -> dict:
    """Tokens of each saved selection's packed stream (each record and its end token)."""
    out = {}
    for p in (folder / "selections").glob("*.json"):
        report = json.loads(p.read_text())
        ids, _ = training.encode_records(pool, report["indices"], model)
        out[p.stem.rsplit("-", 1)[0]] = training.stream_length(ids)  # by the file's (safe) label
    return out


def test_train_experiment_trains_every_selection_whole(experiment, tiny_model):
    d = experiment
    (d / "t.toml").write_text(
        '[pool]\nfrom = "'
        + str(d / "sel")
        + '"\n'
        + TRAIN.format(sel=d / "sel", held=d / "held.jsonl", model=tiny_model)
    )
    assert cli.main(["experiment", "train", "--config", str(d / "t.toml"), "--out", str(d / "t"), "--no-progress"]) == 0
    results = json.loads((d / "t" / "results.json").read_text())
    assert len(results["runs"]) == 4 * 2  # 4 selections, 2 seeds
    pool = zipkit.read_records(d / "pool.jsonl")
    streams = _stream_of_each_selection(d / "sel", pool, tiny_model)
    assert results["tokens"] is None  # no cut: each run trains its whole selection
    for r in results["runs"]:  # every token of it, the last step filled with padding
        assert 0 <= r["steps"] * 32 - streams[_safe(r["selection"])] < 32, r["selection"]
        assert 0 < r["trained_tokens"] < streams[_safe(r["selection"])]  # the prompts are not targets
    for r in results["runs"]:
        assert r["first_epoch_loss"] == pytest.approx(np.nanmean(r["losses"]))  # a block of prompt only has no loss
    assert (d / "t" / "loss_curves.png").stat().st_size > 0 and not list((d / "t" / "runs").glob("*.ckpt"))
    # A rerun trains nothing: the same figures come from the cached runs.
    before = sorted(p.stat().st_mtime_ns for p in (d / "t" / "runs").glob("*.json"))
    assert cli.main(["experiment", "train", "--config", str(d / "t.toml"), "--out", str(d / "t"), "--no-progress"]) == 0
    assert sorted(p.stat().st_mtime_ns for p in (d / "t" / "runs").glob("*.json")) == before
    assert json.loads((d / "t" / "results.json").read_text())["runs"] == results["runs"]


def test_entropy_law_fits_and_correlations_come_from_the_runs(experiment, tiny_model):
    from scipy import stats

    d = experiment
    (d / "e.toml").write_text(
        f"""
[pool]
path = "{d / "pool.jsonl"}"
[entropy_law]
budget_tokens = 300
tokenizer = "whitespace"
k1 = 60
k2 = 20
k3 = 5
compressors = ["zlib:6", "lz4:1"]
random_seeds = [0, 1, 2]
zip_budgets = [600]
exclude_from_fit = ["random seed 0"]
[train]
seeds = [0, 1]
eval = ["{d / "held.jsonl"}"]
"""
        + SETTINGS.format(model=tiny_model)
    )
    assert (
        cli.main(["experiment", "entropy-law", "--config", str(d / "e.toml"), "--out", str(d / "e"), "--no-progress"])
        == 0
    )
    results = json.loads((d / "e" / "results.json").read_text())
    points = results["points"]
    assert len(points) == 6
    streams = _stream_of_each_selection(d / "e", zipkit.read_records(d / "pool.jsonl"), tiny_model)
    for r in results["runs"]:  # each whole selection, the larger ZIP set too
        assert 0 <= r["steps"] * 32 - streams[_safe(r["selection"])] < 32, r["selection"]
    pool = zipkit.read_records(d / "pool.jsonl")
    for seed in (0, 1):
        runs = {r["selection"]: r for r in results["runs"] if r["seed"] == seed}
        loss = [runs[p["selection"]]["held_out_mean"] for p in points]
        r = stats.pearsonr([p["ratio"] for p in points], loss)[0]
        assert results["fits"]["ratio"]["pearson"]["values"][seed] == pytest.approx(r)
        rho = stats.spearmanr([runs[p["selection"]]["first_epoch_loss"] for p in points], loss)[0]
        assert results["fits"]["first_epoch_loss"]["spearman"]["values"][seed] == pytest.approx(rho)
        kept = [k for k, p in enumerate(points) if p["selection"] != "random seed 0"]
        r = stats.pearsonr([points[k]["ratio"] for k in kept], [loss[k] for k in kept])[0]
        assert results["fits"]["ratio without random seed 0"]["pearson"]["values"][seed] == pytest.approx(r)
    ratio = dataset_ratio(
        zipkit.read_records(
            [
                pool[i]
                for i in json.loads(next((d / "e" / "selections").glob("random_seed_1-*.json")).read_text())["indices"]
            ]
        ),
        "zlib:9",
    )["ratio"]
    assert [p["ratio"] for p in points if p["selection"] == "random seed 1"][0] == pytest.approx(ratio, rel=0.02)


@pytest.mark.parametrize("method", ["zipfit", "dsir", "random"])
def test_a_prefix_of_the_whole_ranking_is_what_the_method_selects_at_that_count(method):
    from zipkit.experiments.zipfit import prefix_holding

    pool = zipkit.read_records(alpaca(150))
    params = {"target": texts(5, seed=8)} if method != "random" else {"seed": 3}
    if method == "dsir":
        params["min_tokens"] = 0
    ranking = zipkit.select(pool, method=method, budget=len(pool), **params).indices
    assert sorted(ranking.tolist()) == list(range(len(pool)))
    tokens = np.array([len(pool.text(i).split()) + 1 for i in range(len(pool))])
    for budget in (200, 700, 1500):
        prefix = prefix_holding(ranking, tokens, budget)
        assert tokens[prefix].sum() >= budget > tokens[prefix[:-1]].sum()  # the shortest that holds it
        top = zipkit.select(pool, method=method, budget=len(prefix), **params)
        assert top.indices.tolist() == prefix.tolist()


def test_tokens_to_reach_interpolates_in_log_tokens():
    from zipkit.experiments.zipfit import tokens_to_reach

    points = [(1024, 3.0), (2048, 2.5), (4096, 2.0)]
    assert tokens_to_reach(points, 3.2) == {"tokens": 1024, "at_most": True}
    assert tokens_to_reach(points, 2.25) == {"tokens": pytest.approx(2**11.5), "at_most": False}
    assert tokens_to_reach(points, 2.0)["tokens"] == pytest.approx(4096)
    assert tokens_to_reach(points, 1.9) is None


def test_zipfit_experiment_trains_each_method_at_each_budget(tmp_path, tiny_model):
    pool = write_jsonl(tmp_path / "pool.jsonl", alpaca(100))
    write_jsonl(tmp_path / "target.jsonl", alpaca(5, seed=6))
    write_jsonl(tmp_path / "eval.jsonl", alpaca(5, seed=7))
    (tmp_path / "z.toml").write_text(
        f"""
[pool]
path = "{pool}"
[zipfit]
budgets = [150, 300]
[zipfit.params.dsir]
min_tokens = 0
[[zipfit.task]]
name = "toy"
target = "{tmp_path / "target.jsonl"}"
eval = "{tmp_path / "eval.jsonl"}"
[train]
seeds = [0]
"""
        + SETTINGS.format(model=tiny_model)
    )
    assert (
        cli.main(
            [
                "experiment",
                "zipfit",
                "--config",
                str(tmp_path / "z.toml"),
                "--out",
                str(tmp_path / "z"),
                "--no-progress",
            ]
        )
        == 0
    )
    task = json.loads((tmp_path / "z" / "results.json").read_text())["tasks"]["toy"]
    assert sorted((r["method"], r["budget"]) for r in task["runs"]) == sorted(
        (m, b) for m in ("zipfit", "dsir", "random") for b in (150, 300)
    )
    for budget in (150, 300):  # every method trains on the budget's tokens, in whole steps of 32
        assert {r["tokens"] for r in task["runs"] if r["budget"] == budget} == {budget // 32 * 32}
    random_last = [r["loss"] for r in task["runs"] if r["method"] == "random" and r["budget"] == 300][0]
    label = "random at 288"
    assert task["reach"][label] == random_last and task["tokens_to_reach"][label]["random"] is not None
    assert set(task["reach"]) == {"dsir at 288", "random at 288"}
    for r in task["runs"]:
        assert sum(r["mix"].values()) == r["records"]
    assert (tmp_path / "z" / "toy_loss_vs_tokens.png").stat().st_size > 0


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

    needs = {"train": ["selections"], "entropy_law": ["methods"], "zipfit": ["budgets", "task"]}
    for path in sorted((Path(__file__).parents[1] / "experiments").glob("*.toml")):
        config = load_config(path)
        if "train" in config:
            training.Settings.from_config(config["train"].get("settings", {}))
        for table, keys in needs.items():
            if path.name.startswith(table):  # train*.toml, entropy_law*.toml, zipfit*.toml
                assert all(k in config[table] for k in keys), path


def test_selections_from_another_pool_are_refused(experiment, tiny_model, capsys):
    d = experiment
    other = write_jsonl(d / "other.jsonl", alpaca(50, seed=1))
    (d / "t.toml").write_text(
        f'[pool]\npath = "{other}"\n' + TRAIN.format(sel=d / "sel", held=d / "held.jsonl", model=tiny_model)
    )
    assert cli.main(["experiment", "train", "--config", str(d / "t.toml"), "--out", str(d / "t")]) == 2
    assert "was made from a pool of 80 records, not this one (this pool has 50)" in capsys.readouterr().err


def test_saved_selections_name_rows_of_the_pool_which_check_pool_turns_into_positions():
    """A decontaminated pool holds fewer records than rows: a report's input indices are
    mapped to the records read, never used as positions."""
    from zipkit.experiments.train import check_pool
    from zipkit.summary import Chosen

    records = zipkit.read_records(alpaca(30, seed=2))
    pool = records.take([k for k in range(30) if not 5 <= k < 15])  # rows 5-14 dropped
    report = Chosen("zip", np.array([15, 29, 22]), np.zeros(3), {"pool": {"records": 20}})
    (mapped,) = check_pool([report], pool, "sel")
    assert [pool[int(i)] for i in mapped.indices] == [records[15], records[29], records[22]]
    with pytest.raises(ValueError, match="index 7 is not among the records read"):
        check_pool([Chosen("x", np.array([7]), np.zeros(1), {"pool": {"records": 20}})], pool, "sel")


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
