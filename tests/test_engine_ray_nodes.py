"""The Ray engine on a two-node local cluster (``ray.cluster_utils.Cluster``): when one node
dies in the middle of a ZIP-FIT pass, the job finishes with the same scores."""

import threading
import time

import numpy as np
import pytest
from helpers import alpaca, write_shards

import zipkit
from zipkit.executors import RayExecutor

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")


def test_a_node_lost_mid_pass_changes_no_score(tmp_path):
    folder = write_shards(tmp_path / "shards", alpaca(1200, seed=5), 100)
    target = [r["output"] for r in alpaca(40, seed=6)]
    expected = zipkit.score(zipkit.read_records(folder), method="zipfit", target=target)

    if ray.is_initialized():
        ray.shutdown()
    cluster = cluster_utils.Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    try:
        scores_dir = tmp_path / "scores"
        result = {}
        job = threading.Thread(
            target=lambda: result.update(
                done=zipkit.score(
                    str(folder), method="zipfit", target=target, engine=RayExecutor(scores_dir=scores_dir)
                )
            )
        )
        job.start()
        deadline = time.time() + 120
        while len(list(scores_dir.glob("*/shard-*.parquet"))) < 2 and time.time() < deadline:
            time.sleep(0.05)
        finished_before = len(list(scores_dir.glob("*/shard-*.parquet")))
        cluster.remove_node(worker)  # kills that node's worker processes mid-pass
        job.join(timeout=300)
        assert not job.is_alive() and 0 < finished_before < 12
        assert np.array_equal(result["done"].values, expected.values)
    finally:
        ray.shutdown()
        cluster.shutdown()
