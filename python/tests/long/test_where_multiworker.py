"""Where users put it: tf.distribute.MultiWorkerMirroredStrategy, 2 worker
processes on localhost (slow: run it on its own, e.g. `make test-long`).

Each worker trains the small model with each gofocal loss on the same fixed
data; tf.data shards every global batch of 16 rows 8 + 8 over the workers
(AutoShardPolicy.DATA); the collectives (RING over loopback gRPC) sum the
gradients of the per-worker means scaled by 1/2. The losses per epoch must
equal single-device training's within 1e-5 relative, on both workers.

Keras 2 (tf_keras, TF_USE_LEGACY_KERAS=1): model.fit and a custom loop.
Keras 3: the custom loop only (Keras 3.15's fit fails under
MultiWorkerMirroredStrategy whatever the loss; see scripts/distributed_train.py).

Ports: two free loopback ports found by binding port 0. Workers are killed if
the cluster has not finished in TIMEOUT seconds; a worker whose peer died
fails its collectives after 60 s.
"""

import json
import socket
import subprocess
import time

import numpy as np
import pytest

from where_helpers import SCRIPTS, assert_rel, command, parse, run_script, script_env

TIMEOUT = 150
WORKERS = 2
LOSSES = ["FocalLoss", "focal_loss", "BinaryFocalLoss"]
FLAVORS = {"keras2": (True, ["fit", "ctl"]), "keras3": (False, ["ctl"])}


def _free_ports(n):
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _run_cluster(tmp_path, legacy, runs):
    """Runs the workers to completion; their JSON results in task order."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(WORKERS)]}
    procs, files = [], []
    try:
        for index in range(WORKERS):
            tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
            out = open(tmp_path / f"worker{index}.out", "w+")
            err = open(tmp_path / f"worker{index}.err", "w+")
            files.append((out, err))
            procs.append(subprocess.Popen(
                command("distributed_train.py", "multiworker", ",".join(runs)),
                env=script_env(legacy, TF_CONFIG=tf_config), stdout=out, stderr=err,
                text=True, cwd=SCRIPTS))
        deadline = time.monotonic() + TIMEOUT
        for proc in procs:
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                break
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    results = []
    for index, (proc, (out, err)) in enumerate(zip(procs, files)):
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())
        out.close()
        err.close()
        results.append(parse(done, f"worker {index} of {cluster} (killed after {TIMEOUT} s "
                                   f"if still running: exit code {proc.returncode})"))
    return results


@pytest.fixture(scope="module", params=sorted(FLAVORS))
def cluster(request, tmp_path_factory):
    legacy, runs = FLAVORS[request.param]
    workers = _run_cluster(tmp_path_factory.mktemp(f"multiworker_{request.param}"), legacy, runs)
    single = run_script("distributed_train.py", "single", ",".join(runs), legacy_keras=legacy,
                        timeout=TIMEOUT)
    return request.param, runs, workers, single


def test_every_worker_trained_with_two_replicas(cluster):
    flavor, runs, workers, single = cluster
    expected_keras = "tf_keras" if FLAVORS[flavor][0] else "keras"
    for index, worker in enumerate(workers):
        assert worker["replicas"] == WORKERS, worker["replicas"]
        assert json.loads(worker["task"])["task"]["index"] == index
        assert worker["keras"].startswith(expected_keras), worker["keras"]
        assert sorted(worker["distributed"]) == sorted(f"{r} {n}" for r in runs for n in LOSSES)
    assert single["keras"].startswith(expected_keras), single["keras"]


def test_multiworker_training_matches_single_device(cluster):
    flavor, runs, workers, single = cluster
    for key, reference in single["single"].items():
        history = np.array(reference["loss"])
        assert history.shape == (4,) and history[-1] < history[0], f"{key}: does not train"
        for index, worker in enumerate(workers):
            got = worker["distributed"][key]
            what = f"{flavor} worker {index} {key}"
            assert_rel(got["loss"], reference["loss"], 1e-5, f"{what}: loss per epoch")
            assert_rel([got["weights_sum"]], [reference["weights_sum"]], 1e-5,
                       f"{what}: final weights")
