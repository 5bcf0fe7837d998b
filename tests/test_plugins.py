"""Third-party methods and compressors plug in through entry points (``zipkit.methods``,
``zipkit.compressors``): a tiny plugin package, installed only by its .dist-info folder on
PYTHONPATH (what pip would leave), is run through the command line in a fresh process.
Adding the method touches one new file and nothing of the CLI or the experiments."""

import bz2
import json
import os
import subprocess
import sys
import textwrap

from helpers import alpaca, write_jsonl

PLUGIN = textwrap.dedent('''
    """A plugin: the method `bytes_first` (shortest texts first) and the compressor `bz2`."""
    import bz2
    from dataclasses import dataclass

    from zipkit.compressors import Compressor
    from zipkit.methods.params import BUDGETS
    from zipkit.methods.spec import Method
    from zipkit.ranking import ranked_selection
    from zipkit.steps import Step


    @dataclass(frozen=True)
    class TextBytes(Step):
        name = "text_bytes"

        def build(self, workers):
            return lambda records: ({"bytes": records.payloads("text").lengths.astype(float)}, None)


    def score(pool, p):
        return pool.map(TextBytes())


    def select(pool, p, timings):
        keys = score(pool, p)[0]["bytes"]
        return ranked_selection(pool, p, keys=keys, descending=False, timings=timings, score="bytes of the text")


    METHOD = Method(name="bytes_first", summary="the shortest texts first", params=BUDGETS, column="bytes",
                    direction="lower", select=select, score=score, scores=True, score_summary="bytes of the text")


    class Bz2(Compressor):
        name = "bz2"
        library = "bz2"
        levels = range(1, 10)
        default_level = 9

        def compress(self, data):
            return bz2.compress(bytes(data), self.level)

        def decompress(self, data):
            return bz2.decompress(data)

        def _stream(self):
            return bz2.BZ2Compressor(self.level)
''')


def _install(root):
    (root / "zipkit_demo_plugin.py").write_text(PLUGIN)
    info = root / "zipkit_demo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zipkit-demo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[zipkit.methods]\nbytes_first = zipkit_demo_plugin:METHOD\n\n"
        "[zipkit.compressors]\nbz2 = zipkit_demo_plugin:Bz2\n"
    )
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}


def _zipkit(env, *argv):
    done = subprocess.run([sys.executable, "-m", "zipkit.cli", *argv], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_plugin_method_and_compressor_run_through_the_cli(tmp_path):
    (tmp_path / "site").mkdir()
    env = _install(tmp_path / "site")
    records = alpaca(40, seed=5)
    pool = write_jsonl(tmp_path / "pool.jsonl", records)
    assert "bytes_first: the shortest texts first" in " ".join(_zipkit(env, "select", "--help").split())
    out = tmp_path / "out.jsonl"
    _zipkit(env, "select", str(pool), "--method", "bytes_first", "--budget", "5", "-o", str(out), "--no-progress")
    texts = [zipkit_text(r) for r in records]
    expected = sorted(range(len(records)), key=lambda i: (len(texts[i].encode()), i))[:5]
    assert [json.loads(line) for line in out.read_text().splitlines()] == [records[i] for i in expected]

    per_record = tmp_path / "ratios.jsonl"
    _zipkit(
        env, "ratio", str(pool), "--compressor", "bz2:9", "--per-record", str(per_record), "--json", "--no-progress"
    )
    ratios = [json.loads(line)["ratio"] for line in per_record.read_text().splitlines()]
    assert ratios == [len(t.encode()) / len(bz2.compress(t.encode(), 9)) for t in texts]


def zipkit_text(record):
    """The text the alpaca schema reads (instruction, input, output joined by newlines)."""
    import zipkit

    return zipkit.read_records([record], progress=False).text(0)


def test_a_plugin_compressor_is_listed_with_its_library_and_context(tmp_path):
    """``zipkit compressors`` lists a plugin backend whose library is a module of the standard
    library (no distribution to ask for a version), and says that its exact context
    recompresses: the plugin has no cheaper one."""
    import platform

    (tmp_path / "site").mkdir()
    env = _install(tmp_path / "site")
    rows = {row["name"]: row for row in json.loads(_zipkit(env, "compressors", "--json"))}
    assert rows["bz2"]["version"] == f"python {platform.python_version()}"
    assert rows["bz2"]["exact_context"] == "recompress"
    assert rows["zlib"]["exact_context"] == "stream copy" and rows["zstd"]["exact_context"] == "recompress"
