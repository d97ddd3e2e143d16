"""Where users put it: Keras 2. Under TF_USE_LEGACY_KERAS=1 (tf.keras is
tf_keras 2.18) the seed's own usage, changed only in its import, compiles and
trains, and so do FocalLoss, BinaryFocalLoss and AsymmetricLoss (on
partial labels), each tracking the same loss
written with TensorFlow ops (gofocal.composite) from the same weights.

The training runs in a fresh process (scripts/keras2_train.py): the Keras
version is fixed when TensorFlow is imported.
"""

import numpy as np
import pytest

from where_helpers import assert_rel, run_script

EPOCHS = 5


@pytest.fixture(scope="module")
def keras2():
    return run_script("keras2_train.py", EPOCHS, legacy_keras=True, timeout=180)


def test_the_script_ran_under_keras_2(keras2):
    assert keras2["tf_keras_name"].startswith("tf_keras"), keras2["tf_keras_name"]
    assert keras2["tf_keras_version"].startswith("2."), keras2["tf_keras_version"]
    assert keras2["keras_module"].startswith("tf_keras."), keras2["keras_module"]
    assert keras2["optimizer_module"].startswith("tf_keras."), keras2["optimizer_module"]


@pytest.mark.parametrize("run", ["focal_loss", "FocalLoss", "BinaryFocalLoss", "AsymmetricLoss"])
def test_training_lowers_the_loss_every_epoch(keras2, run):
    loss = np.array(keras2[run]["loss"])
    assert loss.shape == (EPOCHS,) and np.all(np.isfinite(loss)), loss
    assert np.all(np.diff(loss) < 0), f"{run}: the loss did not fall every epoch: {loss}"


def test_seed_usage_reports_accuracy(keras2):
    accuracy = np.array(keras2["focal_loss"]["accuracy"])
    assert accuracy.shape == (EPOCHS,) and np.all((accuracy >= 0) & (accuracy <= 1)), accuracy


@pytest.mark.parametrize("run, reference", [("focal_loss", "seed_composite"),
                                            ("FocalLoss", "seed_composite"),
                                            ("BinaryFocalLoss", "binary_composite"),
                                            ("AsymmetricLoss", "asymmetric_composite")])
def test_loss_history_matches_the_composite(keras2, run, reference):
    assert_rel(keras2[run]["loss"], keras2[reference]["loss"], 1e-4, f"{run} vs {reference}")
    if "accuracy" in keras2[reference]:
        assert_rel(keras2[run]["accuracy"], keras2[reference]["accuracy"], 1e-4,
                   f"{run} vs {reference} accuracy")


def test_focal_loss_and_its_class_train_alike(keras2):
    assert_rel(keras2["FocalLoss"]["loss"], keras2["focal_loss"]["loss"], 1e-6,
               "FocalLoss vs focal_loss")


def test_training_logs_no_autograph_warning(keras2):
    """The loss is called inside Keras's tf.function train step: nothing the
    package runs there (loading its op library on the first call) may make
    AutoGraph warn that it cannot convert it."""
    assert "AutoGraph could not transform" not in keras2["_stderr"], \
        [line for line in keras2["_stderr"].splitlines() if "AutoGraph" in line][:3]
