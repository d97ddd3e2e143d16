"""The hyperparameter-sweep pattern under multiprocessing's default start
method on Linux (fork): the parent imports gofocal and builds its losses, a
Pool of forked workers each trains a Keras model with one of them. It used to
hang in every worker (the Go runtime started in the parent does not survive
fork); now the workers train, and give what the same training gives in a
fresh process."""

import json
import os
import subprocess
import sys
import textwrap

_SWEEP = """
    import json, multiprocessing, sys
    import numpy as np
    import tensorflow as tf
    import keras
    import gofocal

    COUNTS = [40, 20, 10, 5, 3, 2]
    LOSSES = {
        "focal_loss": gofocal.focal_loss(COUNTS),
        "FocalLoss": gofocal.FocalLoss(classes_num=COUNTS, gamma=2.5),
        "FocalLoss weights": gofocal.FocalLoss(class_weights=gofocal.class_weights(COUNTS)),
        "BinaryFocalLoss": gofocal.BinaryFocalLoss(apply_class_balancing=True),
    }

    def train(name):
        keras.utils.set_random_seed(7)
        rng = np.random.default_rng(7)
        x = rng.normal(size=(128, 8)).astype("float32")
        y = (rng.uniform(size=(128, 6)) < 0.3).astype("float32")
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(6, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=LOSSES[name])
        history = model.fit(x, y, epochs=3, batch_size=32, verbose=0, shuffle=False)
        return name, [float(v) for v in history.history["loss"]]

    if __name__ == "__main__":
        if sys.argv[1] == "fork":
            with open("/proc/self/maps") as f:
                assert "libgoloss.so" not in f.read(), "the parent started a Go runtime"
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(2) as pool:
                results = dict(pool.map_async(train, sorted(LOSSES)).get(timeout=600))
        else:
            results = dict(train(name) for name in sorted(LOSSES))
        print(json.dumps(results))
"""


def _sweep(tmp_path, how):
    script = tmp_path / "sweep.py"
    script.write_text(textwrap.dedent(_SWEEP))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, str(script), how], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_forked_workers_train_with_losses_built_in_the_parent(tmp_path):
    forked = _sweep(tmp_path, "fork")
    serial = _sweep(tmp_path, "serial")
    assert sorted(forked) == ["BinaryFocalLoss", "FocalLoss", "FocalLoss weights", "focal_loss"]
    for name, history in forked.items():
        assert len(history) == 3 and all(v == v and v > 0 for v in history), (name, history)
        assert history[-1] < history[0], (name, history)
        # The same training in one fresh process gives the same numbers.
        assert history == serial[name], (name, history, serial[name])
