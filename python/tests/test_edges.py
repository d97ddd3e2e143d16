"""SPEC.md's edge semantics: empty batch, rows summing to 0, validation off,
rank-1 input, NaN and Inf, and results that do not depend on threads."""

import hashlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import gofocal
from gofocal import composite
from spec_reference import (WORKED_LABELS, WORKED_PREDICTIONS, WORKED_WEIGHTS, assert_close,
                            spec_loss_and_grad)

MODES = ["eager", "tf_function", "tf_function_unknown_shapes"]


def _loss_and_grad(mode, labels, predictions, weights, dtype, **kwargs):
    """The per-sample loss and d(sum loss)/dpredictions, run the given way."""
    labels, predictions, weights = (np.asarray(a, dtype) for a in (labels, predictions, weights))

    def run(y, p, w):
        with tf.GradientTape() as tape:
            tape.watch(p)
            loss = gofocal.seed_focal_loss(y, p, w, **kwargs)
            total = tf.reduce_sum(loss)
        return loss, tape.gradient(total, p)

    args = [tf.constant(a) for a in (labels, predictions, weights)]
    if mode == "eager":
        loss, grad = run(*args)
    elif mode == "tf_function":
        loss, grad = tf.function(run, autograph=False)(*args)
    else:
        specs = [tf.TensorSpec(None, dtype)] * 3
        loss, grad = tf.function(run, input_signature=specs, autograph=False)(*args)
    return loss.numpy(), grad.numpy()


def _composite_loss_and_grad(labels, predictions, weights, dtype):
    y, p = tf.constant(labels, dtype), tf.constant(predictions, dtype)
    with tf.GradientTape() as tape:
        tape.watch(p)
        loss = composite.seed_composite_per_sample(y, p, np.asarray(weights, dtype))
        total = tf.reduce_sum(loss)
    return loss.numpy(), tape.gradient(total, p).numpy()


@pytest.mark.parametrize("mode", MODES)
def test_empty_batch_gives_empty_loss_and_gradient(mode, dtype):
    loss, grad = _loss_and_grad(mode, np.zeros((0, 3)), np.zeros((0, 3)), WORKED_WEIGHTS, dtype)
    assert loss.shape == (0,) and loss.dtype == np.dtype(dtype)
    assert grad.shape == (0, 3) and grad.dtype == np.dtype(dtype)


def test_empty_batch_raw_op(raw_op, dtype):
    loss, grad = raw_op(np.zeros((0, 5), dtype), np.zeros((0, 5), dtype), np.full(5, .2, dtype))
    assert loss.shape == (0,) and grad.shape == (0, 5)
    assert loss.dtype == tf.as_dtype(dtype) and grad.dtype == tf.as_dtype(dtype)


def test_empty_batch_still_checks_parameters():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"gamma = -1"):
        gofocal.seed_focal_loss(np.zeros((0, 3)), np.zeros((0, 3)), WORKED_WEIGHTS, gamma=-1.0)


@pytest.mark.parametrize("mode", MODES)
def test_row_summing_to_zero_is_nan_like_the_composite(mode, dtype):
    p = WORKED_PREDICTIONS.copy()
    p[0] = 0.0
    loss, grad = _loss_and_grad(mode, WORKED_LABELS, p, WORKED_WEIGHTS, dtype)
    expected, expected_grad = _composite_loss_and_grad(WORKED_LABELS, p, WORKED_WEIGHTS, dtype)
    assert np.isnan(loss[0]) and np.isfinite(loss[1])
    assert_close(loss, expected, dtype, what="loss with a zero row")
    assert np.isnan(grad[0]).all()
    assert_close(grad, expected_grad, dtype, what="gradient with a zero row")


@pytest.mark.parametrize("mode", MODES)
def test_validate_false_accepts_out_of_range_probabilities(mode, dtype):
    p = WORKED_PREDICTIONS.copy()
    p[1, 2], p[0, 0] = 1.5, 1.25  # a negative and a positive above 1
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match=r"predictions\[0, 0\] = 1\.25"):
        _loss_and_grad(mode, WORKED_LABELS, p, WORKED_WEIGHTS, dtype)
    loss, grad = _loss_and_grad(mode, WORKED_LABELS, p, WORKED_WEIGHTS, dtype, validate=False)
    expected, expected_grad, magnitude = spec_loss_and_grad(WORKED_LABELS, p, WORKED_WEIGHTS, 2.0, 0.1, dtype)
    assert np.isfinite(loss).all()
    assert_close(loss, expected, dtype, what="loss, validate=False")
    assert_close(grad, expected_grad, dtype, scale=magnitude, what="gradient, validate=False")
    per_sample = composite.seed_composite_per_sample(WORKED_LABELS.astype(dtype), p.astype(dtype),
                                                     WORKED_WEIGHTS.astype(dtype))
    assert_close(loss, per_sample.numpy(), dtype, what="loss against the composite, validate=False")


def test_focal_loss_class_validate_false():
    p = WORKED_PREDICTIONS.copy()
    p[1, 2] = 1.5
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"predictions\[1, 2\] = 1\.5"):
        gofocal.FocalLoss(classes_num=[1, 2, 3])(WORKED_LABELS, p)
    value = gofocal.FocalLoss(classes_num=[1, 2, 3], validate=False, reduction="none")(WORKED_LABELS, p)
    expected, _, _ = spec_loss_and_grad(WORKED_LABELS, p, WORKED_WEIGHTS, 2.0, 0.1, "float32")
    assert_close(value.numpy(), expected, "float32", what="FocalLoss(validate=False)")


@pytest.mark.parametrize("mode", MODES)
def test_rank1_input_gives_a_scalar_loss(mode, dtype):
    loss_row, grad_row = _loss_and_grad(mode, WORKED_LABELS[1], WORKED_PREDICTIONS[1], WORKED_WEIGHTS, dtype)
    loss, grad = _loss_and_grad("eager", WORKED_LABELS, WORKED_PREDICTIONS, WORKED_WEIGHTS, dtype)
    assert loss_row.shape == () and grad_row.shape == (3,)
    # The same row through the same code: the same bits.
    assert loss_row == loss[1]
    np.testing.assert_array_equal(grad_row, grad[1])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_nan_and_inf_predictions_propagate_to_nan(dtype, bad):
    p = WORKED_PREDICTIONS.copy()
    p[0, 1] = bad
    """A NaN or Inf prediction (here at a negative class) makes its row's loss
    and gradient NaN, as TensorFlow's autodiff of the composite does; other
    rows are untouched. With validate=True this is not an error."""
    loss, grad = _loss_and_grad("eager", WORKED_LABELS, p, WORKED_WEIGHTS, dtype)
    expected, expected_grad = _composite_loss_and_grad(WORKED_LABELS, p, WORKED_WEIGHTS, dtype)
    assert np.isnan(expected[0]) and np.isnan(expected_grad[0]).all()
    assert np.isfinite(loss[1]) and np.isfinite(grad[1]).all()
    assert_close(loss, expected, dtype, what=f"loss with {bad}")
    assert_close(grad, expected_grad, dtype, what=f"gradient with {bad}")


def test_nan_label_is_not_a_positive_as_in_the_seed(dtype):
    """NaN > 0 is false, so the seed's mask drops a NaN label; the op does the
    same (SPEC's "NaN inputs propagate" holds for predictions, not labels)."""
    y = WORKED_LABELS.copy()
    y[0, 1] = np.nan
    loss, _ = _loss_and_grad("eager", y, WORKED_PREDICTIONS, WORKED_WEIGHTS, dtype)
    expected = composite.seed_composite_per_sample(y.astype(dtype), WORKED_PREDICTIONS.astype(dtype),
                                                   WORKED_WEIGHTS.astype(dtype))
    assert np.isfinite(expected.numpy()).all()
    assert_close(loss, expected.numpy(), dtype, what="loss with a NaN label")


def test_integer_labels_are_cast(dtype):
    loss_int, _ = _loss_and_grad("eager", WORKED_LABELS, WORKED_PREDICTIONS, WORKED_WEIGHTS, dtype)
    loss = gofocal.seed_focal_loss(WORKED_LABELS.astype(np.int32), WORKED_PREDICTIONS.astype(dtype),
                                   WORKED_WEIGHTS.astype(dtype))
    np.testing.assert_array_equal(loss.numpy(), loss_int)


def _big_batch(dtype):
    rng = np.random.default_rng(2024)
    rows, classes = 20000, 16
    y = (rng.random((rows, classes)) < 0.2).astype(dtype)
    p = rng.uniform(0, 1, (rows, classes)).astype(dtype)
    p[rng.random((rows, classes)) < 0.02] = 1e-10
    w = (rng.random(classes) + 0.1).astype(dtype)
    return y, p, w


def _digest(dtype):
    y, p, w = _big_batch(dtype)
    loss, grad = gofocal._native.ops().go_focal_seed_focal_loss(
        y, p, w, tf.constant(2.0, tf.float64), tf.constant(0.1, tf.float64))
    return hashlib.sha256(loss.numpy().tobytes() + grad.numpy().tobytes()).hexdigest()


def test_same_inputs_same_bits_whatever_the_batch_split(raw_op, dtype):
    y, p, w = _big_batch(dtype)
    loss, grad = (t.numpy() for t in raw_op(y, p, w))
    again, grad_again = (t.numpy() for t in raw_op(y, p, w))
    np.testing.assert_array_equal(loss, again)
    np.testing.assert_array_equal(grad, grad_again)
    for lo, hi in [(0, 1), (123, 4567), (19000, 20000)]:
        part, grad_part = (t.numpy() for t in raw_op(y[lo:hi], p[lo:hi], w))
        np.testing.assert_array_equal(part, loss[lo:hi])
        np.testing.assert_array_equal(grad_part, grad[lo:hi])


_THREADS_SCRIPT = textwrap.dedent("""
    import sys
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    sys.path.insert(0, {tests!r})
    import test_edges
    print(test_edges._digest("float32"), test_edges._digest("float64"),
          tf.config.threading.get_intra_op_parallelism_threads())
""")


def test_results_do_not_depend_on_the_thread_count():
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT.format(tests=here)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [_digest("float32"), _digest("float64"), "1"]
