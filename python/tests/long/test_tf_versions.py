"""A smoke test of gofocal under whichever TensorFlow runs it.

`make test-tf-versions` runs it in a venv per TensorFlow (2.16, 2.20, 2.21:
build/tf-2.20/venv and so on) after `pip install ./python` into it; `make
test-long` runs it once more in .venv (2.18). The op was built for the
running TensorFlow, loads, and agrees with gofocal.composite, loss and
gradient, for both variants; and Keras trains a step with it.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

import gofocal
from gofocal import _native, composite

LABELS = np.array([[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 0, 1]], np.float32)
PROBABILITIES = np.array([[0.7, 0.2, 0.05, 0.6], [0.3, 0.5, 0.1, 0.2], [0.1, 0.2, 0.3, 0.9]],
                         np.float32)
WEIGHTS = gofocal.class_weights([5, 3, 2, 1])


def test_built_for_the_running_tensorflow():
    built = _native.built_against()
    assert built is not None
    assert built.split(".")[:2] == tf.__version__.split(".")[:2], (built, tf.__version__)
    if os.environ.get("GOFOCAL_EXPECT_INSTALLED"):  # make test-tf-versions: not a source tree
        assert "site-packages" in gofocal.__file__, gofocal.__file__


def _loss_and_gradient(loss_fn, predictions):
    predictions = tf.constant(predictions)
    with tf.GradientTape() as tape:
        tape.watch(predictions)
        loss = loss_fn(predictions)
    return loss.numpy(), tape.gradient(loss, predictions).numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_seed_loss_and_gradient_match_the_composite(dtype):
    predictions = PROBABILITIES.astype(dtype)
    labels = LABELS.astype(dtype)
    weights = np.asarray(WEIGHTS, dtype)
    got = _loss_and_gradient(lambda p: gofocal.seed_focal_loss(labels, p, weights), predictions)
    want = _loss_and_gradient(lambda p: composite.seed_composite_per_sample(labels, p, weights),
                              predictions)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got[0], want[0], rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(got[1], want[1], rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_loss_and_gradient_match_the_composite(from_logits):
    predictions = (np.log(PROBABILITIES / (1 - PROBABILITIES)) if from_logits
                   else PROBABILITIES).astype(np.float64)
    alpha = [0.9, 0.75, 0.5, 0.25]
    got = _loss_and_gradient(lambda p: gofocal.binary_focal_loss(
        LABELS, p, alpha=alpha, from_logits=from_logits, label_smoothing=0.05), predictions)
    want = _loss_and_gradient(lambda p: composite.binary_composite(
        LABELS, p, alpha=alpha, from_logits=from_logits, label_smoothing=0.05), predictions)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("from_logits", [False, True])
def test_asymmetric_loss_and_gradient_match_the_composite(from_logits):
    predictions = (np.log(PROBABILITIES / (1 - PROBABILITIES)) if from_logits
                   else PROBABILITIES).astype(np.float64)
    labels = LABELS.copy()
    labels[0, 1] = -1.0  # one unknown label
    kwargs = dict(from_logits=from_logits, class_weights=[2.0, 1.0, 0.5, 0.5], ignore_value=-1)
    got = _loss_and_gradient(lambda p: gofocal.asymmetric_loss(labels, p, **kwargs), predictions)
    want = _loss_and_gradient(lambda p: composite.asymmetric_composite(labels, p, **kwargs),
                              predictions)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("loss", ["seed", "binary", "asymmetric"])
def test_keras_fit_steps(loss):
    import keras

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 8)).astype(np.float32)
    y = (x[:, :4] > 0).astype(np.float32)
    if loss == "seed":
        head, fn = "softmax", gofocal.focal_loss([10, 6, 3, 1])
    elif loss == "binary":
        head, fn = "sigmoid", gofocal.BinaryFocalLoss(alpha=[0.9, 0.75, 0.5, 0.25])
    else:
        head, fn = "sigmoid", gofocal.AsymmetricLoss(classes_num=[10, 6, 3, 1], beta=0.9)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation=head)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=fn)
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)), history
    assert history[-1] < history[0], history
