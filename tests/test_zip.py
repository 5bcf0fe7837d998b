import json

import numpy as np
import pytest

import zipkit
from zipkit.io.schemas import alpaca_as_sharegpt
from zipkit.methods import zip as zipmod
from zipkit.naive import naive_zip


def make_pool(n=240, seed=0, duplicates=0):
    """Instruction-like records with shared vocabulary, so that redundancy varies."""
    rng = np.random.default_rng(seed)
    words = (
        "data model train loss token compress select entropy law greedy window pool record "
        "python code list sort return value error question answer explain why how"
    ).split()
    pool = []
    for i in range(n):
        q = " ".join(rng.choice(words, rng.integers(3, 12)))
        a = " ".join(rng.choice(words[: rng.integers(4, len(words))], rng.integers(5, 60)))
        pool.append({"id": i, "conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]})
    for k in range(duplicates):
        copy = dict(pool[k % 7])
        copy["id"] = n + k
        pool.insert(int(rng.integers(0, len(pool))), copy)
    return pool


CASES = [
    dict(variant="paper", serializer="text", compressor="zlib:9", fine_context="batch"),
    dict(variant="paper", serializer="repr", compressor="zlib:6", fine_context="selected"),
    dict(variant="paper", serializer="json", compressor="gzip:1", fine_context="batch"),
    dict(variant="official", serializer="repr", compressor="zlib:9", fine_context="batch"),
]


@pytest.mark.parametrize("case", CASES)
def test_same_selection_as_the_naive_exact_loop(case):
    recs = zipkit.read_records(make_pool())
    budget, k1, k2, k3 = 37, 60, 20, 8
    got = zipkit.select(recs, method="zip", budget=budget, k1=k1, k2=k2, k3=k3, **case)
    want = naive_zip(recs, budget, k1, k2, k3, **case)
    assert got.indices.tolist() == want
    expected_count = 40 if case["variant"] == "official" else budget
    assert len(got.indices) == expected_count == len(set(got.indices.tolist()))
    assert got.indices.dtype == np.int64 and got.scores.dtype == np.float64


def test_scores_are_the_fine_stage_ratios():
    recs = zipkit.read_records(make_pool(60))
    res = zipkit.select(recs, budget=5, k1=20, k2=10, k3=5)
    # Each pick's score is the ratio of the round's picks so far plus itself (text frame).
    texts = [bytes(recs.payloads("text")[int(i)]) for i in res.indices]
    comp = zipkit.compressors.get("zlib:9")
    for j in range(5):
        doc = b"\n".join(texts[: j + 1])
        assert res.scores[j] == pytest.approx(len(doc) / comp.size(doc), rel=1e-12)


def test_golden_parity_with_the_authors_script(shared_data):
    raw = json.loads((shared_data / "alpaca" / "alpaca_5000.json").read_text())
    # Built the way ../shared/golden/README.md says, spelled out here as the independent check.
    pool = [
        {
            "id": i,
            "conversations": [
                {"from": "human", "value": r["instruction"] + ("\n" + r["input"] if r["input"] else "")},
                {"from": "gpt", "value": r["output"]},
            ],
            "source": "alpaca",
        }
        for i, r in enumerate(raw)
    ]
    assert pool == [alpaca_as_sharegpt(r, i) for i, r in enumerate(raw)]
    golden = json.loads((shared_data.parent / "golden" / "alpaca_b200.positions.json").read_text())
    res = zipkit.select(pool, method="zip", budget=200, k1=1000, k2=100, k3=50, variant="official")
    assert res.indices.tolist() == golden


def test_small_pools_do_not_crash():
    recs = zipkit.read_records(make_pool(30))
    res = zipkit.select(recs, budget=30, k1=1000, k2=200, k3=100)  # K1 > N, whole pool
    assert sorted(res.indices.tolist()) == list(range(30))
    with pytest.warns(RuntimeWarning, match="ran out of pool") as caught:
        res = zipkit.select(recs, budget=20, k1=50, k2=10, k3=4, variant="official")
    assert caught[0].filename == __file__  # the warning points at the caller's line
    # Official discards the unpicked K2 each round: 3 rounds of 10 leave, 4 picked each.
    assert len(res.indices) == 12 and res.manifest["exhausted"]
    assert len(set(res.indices.tolist())) == 12


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(budget=5, k1=10, k2=20, k3=5), "k3 <= k2 <= k1"),
        (dict(budget=5, k1=10, k2=5, k3=6), "k3 <= k2 <= k1"),
        (dict(budget=5, k1=0, k2=5, k3=6), "k1=0 is not a whole number >= 1"),
        (dict(budget=500), "larger than the pool"),
        (dict(budget=5, budget_tokens=100), "exactly one of"),
        (dict(), "exactly one of"),
        (dict(budget=0), "positive whole number of records"),
        (dict(budget=5.0), "positive whole number of records"),
        (dict(budget=True), "positive whole number of records"),
        (dict(budget_tokens=99.5), "positive whole number of tokens"),
        (dict(budget_tokens=100, variant="official"), "official variant counts records"),
        (dict(budget=5, variant="fast"), "variant must be one of"),
        (dict(budget=5, fine_context="all"), "fine_context must be one of"),
        (dict(budget=5, compressor="gzip:0"), "rank by length"),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        zipkit.select(make_pool(50), method="zip", **params)


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown selection method"):
        zipkit.select(make_pool(10), method="magic", budget=1)


def test_token_budget_stops_before_exceeding():
    recs = zipkit.read_records(make_pool(120))
    res = zipkit.select(recs, budget_tokens=900, k1=60, k2=20, k3=8)
    counts = np.array([len(recs.text(i).split()) for i in range(len(recs))])
    used = counts[res.indices].sum()
    assert used <= 900 and res.manifest["tokens_selected"] == used
    # The selection is the token-free ranking, cut where the next pick would not fit.
    full = zipkit.select(recs, budget=len(res.indices) + 1, k1=60, k2=20, k3=8)
    assert full.indices[: len(res.indices)].tolist() == res.indices.tolist()
    assert used + counts[full.indices[len(res.indices)]] > 900


def test_dedup_and_the_long_history_context_select_no_copy():
    pool = make_pool(150, duplicates=40)
    recs = zipkit.read_records(pool)
    res = zipkit.select(recs, budget=60, k1=100, k2=30, k3=10, dedup=True)
    texts = [recs.text(int(i)) for i in res.indices]
    assert len(set(texts)) == len(texts)
    assert res.manifest["dedup_removed"] == 40
    res = zipkit.select(recs, budget=60, k1=100, k2=30, k3=10, compressor="zstd:3", fine_context="selected")
    texts = [recs.text(int(i)) for i in res.indices]
    assert len(set(texts)) == len(texts)
    assert res.manifest["context_exactness"] == "conditional"


def test_dedup_selects_as_if_the_copies_were_never_there():
    pool = make_pool(150, duplicates=40)
    recs = zipkit.read_records(pool)
    seen, kept = set(), []
    for i in range(len(recs)):
        if recs.text(i) not in seen:
            kept.append(i)
        seen.add(recs.text(i))
    deduped = zipkit.select(recs, budget=50, k1=100, k2=30, k3=10, dedup=True)
    clean = zipkit.select([pool[i] for i in kept], budget=50, k1=100, k2=30, k3=10)
    assert deduped.indices.tolist() == [kept[i] for i in clean.indices]
    np.testing.assert_array_equal(deduped.scores, clean.scores)


def killed_in_round(n, monkeypatch, run):
    """``run()`` interrupted (as by Ctrl-C) when ZIP starts its ``n``-th round."""
    real_round, calls = zipmod._Run.round, []

    def dying_round(self):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt("killed")
        real_round(self)

    monkeypatch.setattr(zipmod._Run, "round", dying_round)
    with pytest.raises(KeyboardInterrupt, match="killed"):
        run()
    monkeypatch.setattr(zipmod._Run, "round", real_round)


def test_resume_after_a_kill_gives_the_same_result(tmp_path, monkeypatch):
    recs = zipkit.read_records(make_pool(200))
    params = dict(budget=48, k1=60, k2=20, k3=6, checkpoint_every=2)
    whole = zipkit.select(recs, **params)
    ckpt = tmp_path / "run.npz"
    killed_in_round(5, monkeypatch, lambda: zipkit.select(recs, checkpoint=ckpt, **params))
    assert ckpt.exists()
    with pytest.raises(FileExistsError, match="resume"):
        zipkit.select(recs, checkpoint=ckpt, **params)
    resumed = zipkit.select(recs, checkpoint=ckpt, resume=True, **params)
    assert resumed.indices.tolist() == whole.indices.tolist()
    np.testing.assert_array_equal(resumed.scores, whole.scores)
    with pytest.raises(ValueError, match="made by another run"):
        zipkit.select(recs, checkpoint=ckpt, resume=True, **{**params, "k3": 5})


# One change per parameter of zip that can change its result (its spec says which); the test below fails
# when a parameter is added without one (and so without proof the checkpoint covers it).
_CHANGES = {
    "budget": dict(budget=30, budget_tokens=None),
    "budget_tokens": dict(budget_tokens=1500),
    "tokenizer": dict(tokenizer="bytes"),
    "k1": dict(k1=50),
    "k2": dict(k2=18),
    "k3": dict(k3=5),
    "variant": dict(variant="official", budget=30, budget_tokens=None),
    "compressor": dict(compressor="zlib:6"),
    "serializer": dict(serializer="json"),
    "fine_context": dict(fine_context="selected"),
    "dedup": dict(dedup=True),
    "exact": dict(exact=False),
    "min_tokens": dict(min_tokens=5),
    "decontaminate": dict(decontaminate=["humaneval"]),
    "decontaminate_ngram": dict(decontaminate_ngram=5),
}


def test_a_checkpoint_resumes_only_the_run_that_made_it(tmp_path):
    decisive = {p.name for p in zipkit.methods.get("zip").params if p.changes_result}
    assert decisive == set(_CHANGES)
    pool = make_pool(150)
    recs = zipkit.read_records(pool)
    base = dict(budget_tokens=2000, tokenizer="whitespace", k1=60, k2=20, k3=6, checkpoint_every=1)
    ckpt = tmp_path / "run.npz"
    first = zipkit.select(recs, checkpoint=ckpt, **base)
    # The same run, its defaults spelled out, continues (here: is already done).
    again = zipkit.select(recs, checkpoint=ckpt, resume=True, compressor="zlib:9", **base)
    assert again.indices.tolist() == first.indices.tolist()
    for name, change in _CHANGES.items():
        with pytest.raises(ValueError, match=f"made by another run .*{name}"):
            zipkit.select(recs, checkpoint=ckpt, resume=True, **{**base, **change})
    edited = [dict(r) for r in pool]
    edited[77] = {**edited[77], "conversations": [{"from": "human", "value": "another question"}]}
    with pytest.raises(ValueError, match="the pool's records"):
        zipkit.select(edited, checkpoint=ckpt, resume=True, **base)


def test_resume_with_another_tokenizer_is_refused_not_over_budget(tmp_path, monkeypatch):
    """The reported failure: killed under whitespace tokens, resumed with byte tokens, the
    old code accepted the checkpoint and ended over the token budget."""
    recs = zipkit.read_records(make_pool(200))
    params = dict(budget_tokens=1200, k1=60, k2=20, k3=4, checkpoint_every=1)
    ckpt = tmp_path / "run.npz"
    killed_in_round(4, monkeypatch, lambda: zipkit.select(recs, checkpoint=ckpt, **params))
    with pytest.raises(ValueError, match="tokenizer"):
        zipkit.select(recs, checkpoint=ckpt, resume=True, tokenizer="bytes", **params)


def test_manifest_records_every_parameter():
    res = zipkit.select(make_pool(40), budget=6, k1=20, k2=10, k3=3, workers=1)
    m = res.manifest
    assert m["method"] == "zip"
    assert m["parameters"]["compressor"] == "zlib:9" and m["parameters"]["serializer"] == "text"
    assert {"k1", "k2", "k3", "variant", "fine_context", "dedup", "exact", "budget"} <= set(m["parameters"])
    assert m["context_exactness"] == "exact" and "numba" in m["versions"]
    json.dumps(m)


def test_cli_select_writes_records_unchanged_and_a_report(tmp_path, capsys):
    from zipkit import cli

    pool = make_pool(80)
    lines = [json.dumps(r, separators=(",", ":")) for r in pool]  # compact: not json.dumps' default
    src = tmp_path / "pool.jsonl"
    src.write_text("\n".join(lines) + "\n")
    out, report = tmp_path / "sel.jsonl", tmp_path / "report.json"
    args = [
        "select",
        str(src),
        "--method",
        "zip",
        "--budget",
        "12",
        "--k1",
        "40",
        "--k2",
        "12",
        "--k3",
        "4",
        "-o",
        str(out),
        "--report",
        str(report),
        "--no-progress",
    ]
    assert cli.main(args) == 0
    rep = json.loads(report.read_text())
    assert out.read_text().splitlines() == [lines[i] for i in rep["indices"]]
    want = zipkit.select(zipkit.read_records(src), budget=12, k1=40, k2=12, k3=4)
    assert rep["indices"] == want.indices.tolist()
    assert rep["manifest"]["parameters"]["k3"] == 4 and "selected 12 of 80" in capsys.readouterr().out
    # A checkpoint that exists is not silently overwritten.
    ckpt = tmp_path / "c.npz"
    assert cli.main(args + ["--checkpoint", str(ckpt), "--checkpoint-every", "1"]) == 0
    assert cli.main(args + ["--checkpoint", str(ckpt)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert cli.main(args + ["--checkpoint", str(ckpt), "--resume"]) == 0
    assert json.loads(report.read_text())["indices"] == want.indices.tolist()
    assert cli.main(args[:-5] + ["-o", str(tmp_path / "x.txt")]) == 2
    assert not (tmp_path / "x.txt").exists()
