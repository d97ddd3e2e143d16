"""Where users put it: tf.distribute.MirroredStrategy over 2 logical CPU
devices. A small model trained with each gofocal loss, by model.fit and by a
custom training loop (strategy.run, the per-sample loss,
tf.nn.compute_average_loss), gives the single-device losses per epoch.

Why the comparison is exact in principle: the global batch of 16 rows is
split 8 + 8 over the replicas (64 samples, no partial batch, no shuffling);
each replica's loss is its rows' mean scaled by 1/2 and the gradients are
summed over replicas, which is the gradient of the global batch's mean; the
epoch loss is tracked per sample. Only float rounding differs (1e-5 relative).

The devices must be configured before TensorFlow initializes, so everything
runs in a fresh process (scripts/distributed_train.py). The multi-worker
counterpart is test_where_multiworker.py (slower, run separately).
"""

import numpy as np
import pytest

from where_helpers import assert_rel, run_script

LOSSES = ["FocalLoss", "focal_loss", "BinaryFocalLoss"]
RUNS = ["fit", "ctl"]


@pytest.fixture(scope="module")
def mirrored():
    return run_script("distributed_train.py", "mirrored", ",".join(RUNS), timeout=180)


def test_two_replicas_on_two_cpu_devices(mirrored):
    assert mirrored["replicas"] == 2
    assert [d.rsplit("/", 1)[-1] for d in mirrored["devices"]] == ["device:CPU:0", "device:CPU:1"]


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("run", RUNS)
def test_mirrored_training_matches_single_device(mirrored, run, loss):
    key = f"{run} {loss}"
    distributed, single = mirrored["distributed"][key], mirrored["single"][key]
    assert_rel(distributed["loss"], single["loss"], 1e-5, f"{key}: loss per epoch")
    assert_rel([distributed["weights_sum"]], [single["weights_sum"]], 1e-5, f"{key}: final weights")
    history = np.array(single["loss"])
    assert history.shape == (4,) and history[-1] < history[0], f"{key}: does not train: {history}"


@pytest.mark.parametrize("loss", LOSSES)
def test_custom_loop_and_fit_agree(mirrored, loss):
    """The custom loop's global-batch average is the loss Keras's fit reports."""
    assert_rel(mirrored["single"][f"ctl {loss}"]["loss"], mirrored["single"][f"fit {loss}"]["loss"],
               1e-5, f"{loss}: custom loop vs fit")
