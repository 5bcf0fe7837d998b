"""Every method's manifest records every parameter of its signature and what its score is."""

import json

import numpy as np
import pytest

import zipkit
from zipkit import methods

POOL = [
    {
        "instruction": f"Task {k}: " + "explain " * (k % 5 + 1),
        "input": "",
        "output": " ".join(["answer", "data", "model", "loss"][: k % 4 + 1]) * (k % 3 + 1),
    }
    for k in range(24)
]

KEPT_BY_TINY_IFD = [
    {"instruction": "Add the numbers.", "input": "2 and 3", "output": "The sum is 5."},
    {"instruction": "Name a colour.", "input": "", "output": "Blue."},
    {"instruction": "Translate to French.", "input": "good morning", "output": "bonjour"},
    {"instruction": "Say yes.", "input": "", "output": "Yes"},
]


@pytest.mark.parametrize("method", sorted(methods.BUILTIN[m] and m for m in methods.BUILTIN if m != "ratio"))
def test_manifest_has_every_parameter_and_the_score_direction(method, tmp_path, request):
    extra = {
        "zip": dict(k1=20, k2=8, k3=4),
        "zipfit": dict(target=["explain the answer"]),
        "dsir": dict(target=["explain the answer"], min_tokens=0),
        "cluster": dict(device="cpu", cache=tmp_path),
    }.get(method, {})
    if method in ("perplexity", "ifd"):
        extra = dict(model=request.getfixturevalue("tiny_model"), device="cpu", cache=tmp_path)
    if method == "cluster":
        pytest.importorskip("sentence_transformers")
    # A random tiny LM keeps few records under the IFD rule: select fewer, from records it keeps.
    budget = 1 if method == "ifd" else 6
    pool = KEPT_BY_TINY_IFD if method == "ifd" else POOL
    result = zipkit.select(pool, method=method, budget=budget, **extra)
    manifest = json.loads(json.dumps(result.manifest))  # JSON-serializable, as written
    expected = set(methods.get(method).parameters("select"))
    assert expected <= set(manifest["parameters"]), expected - set(manifest["parameters"])
    assert manifest["method"] == method and manifest["selected"] == budget
    score = manifest["score"]
    assert score["order"] in ("ascending", "descending") and score["is"]
    if method != "zip":  # a ranking: the scores come out in the order the manifest names
        step = np.diff(result.scores)
        assert (step >= 0).all() if score["order"] == "ascending" else (step <= 0).all()
