"""The op GoFocal>AsymmetricLoss (ASL, SPEC's variant `asymmetric`) against a
float64 evaluation of SPEC's formulas with TensorFlow ops and their autodiff
(tf.stop_gradient on the focal weight for focal_grad=False), loss and
gradient, to 1e-10; float32 to SPEC's tolerance."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from gofocal import _native

EPS = 1e-8


def _reference(y, x, gamma_neg, gamma_pos, clip, focal_grad, from_logits, weights, ignore):
    """SPEC's formulas, float64, with the gradient by autodiff."""
    y = tf.constant(y, tf.float64)
    x = tf.constant(x, tf.float64)
    known = tf.ones_like(y) if ignore is None else tf.cast(tf.not_equal(y, ignore), tf.float64)
    y = y * known  # an unknown label's terms are dropped below
    with tf.GradientTape() as tape:
        tape.watch(x)
        p = tf.sigmoid(x) if from_logits else x
        pos = p
        neg = tf.minimum(1 - p + clip, 1.0) if clip > 0 else 1 - p
        ce = y * tf.math.log(tf.maximum(pos, EPS)) + (1 - y) * tf.math.log(tf.maximum(neg, EPS))
        pt = y * pos + (1 - y) * neg
        g = gamma_pos * y + gamma_neg * (1 - y)
        w = tf.pow(1 - pt, g) if (gamma_neg or gamma_pos) else tf.ones_like(pt)
        if not focal_grad:
            w = tf.stop_gradient(w)
        cw = tf.ones_like(y) if weights is None else tf.constant(weights, tf.float64)[None, :]
        loss = -tf.reduce_sum(known * cw * w * ce, axis=-1)
    return loss.numpy(), tape.gradient(loss, x).numpy()


def _op(y, x, dtype, gamma_neg, gamma_pos, clip, focal_grad, from_logits, weights, ignore,
        validate=True):
    weights = tf.zeros([0], dtype) if weights is None else tf.constant(weights, dtype)
    loss, grad = _native.ops().go_focal_asymmetric_loss(
        tf.constant(y, dtype), tf.constant(x, dtype), weights, tf.constant(gamma_neg, tf.float64),
        tf.constant(gamma_pos, tf.float64), tf.constant(clip, tf.float64),
        tf.constant(EPS, tf.float64), focal_grad=focal_grad,
        from_logits=from_logits, validate=validate, has_ignore=ignore is not None,
        ignore_value=0.0 if ignore is None else ignore)
    return loss.numpy(), grad.numpy()


def _inputs(seed, from_logits, soft, ignore):
    rng = np.random.default_rng(seed)
    shape = (7, 13)
    y = (rng.uniform(size=shape) < 0.3).astype(np.float64)
    if soft:
        y = np.where(rng.uniform(size=shape) < 0.5, rng.uniform(size=shape), y)
    if ignore is not None:
        y = np.where(rng.uniform(size=shape) < 0.2, ignore, y)
        y[0] = ignore  # a row with nothing known
    x = rng.normal(0, 3, size=shape) if from_logits else rng.uniform(0.001, 0.999, size=shape)
    if not from_logits:
        x[1, :4] = [0.05, 0.95, 1.0, 0.0]  # at the clip bound, and the ends
    return y, x


CASES = list(itertools.product([(4.0, 1.0), (0.0, 0.0), (2.5, 0.5), (1.0, 3.0)], [0.0, 0.05, 0.2],
                               [False, True], [False, True]))


@pytest.mark.parametrize("gammas, clip, focal_grad, from_logits", CASES)
def test_float64_matches_the_formulas(gammas, clip, focal_grad, from_logits):
    for seed, (soft, weighted, ignore) in enumerate([(False, False, None), (True, True, None),
                                                     (False, True, -1.0)]):
        y, x = _inputs(seed, from_logits, soft, ignore)
        weights = np.random.default_rng(seed).uniform(0.1, 2.0, 13) if weighted else None
        args = (*gammas, clip, focal_grad, from_logits, weights, ignore)
        want_loss, want_grad = _reference(y, x, *args)
        loss, grad = _op(y, x, tf.float64, *args)
        np.testing.assert_allclose(loss, want_loss, rtol=1e-10, atol=1e-300)
        # Autodiff of (1 - pt)^g gives 0 * inf = NaN where 1 - pt = 0 and
        # g < 1 (p at 0 or 1); the op gives the limit there (SPEC): finite.
        assert np.isfinite(grad).all()
        finite = np.isfinite(want_grad)
        assert finite.mean() > 0.95
        scale = np.abs(want_grad[finite]).max()
        np.testing.assert_allclose(grad[finite], want_grad[finite], rtol=1e-10, atol=1e-12 * scale)
        if ignore is not None:
            assert loss[0] == 0 and not grad[0].any(), "a row with nothing known"
            assert not grad[y == ignore].any(), "unknown labels get no gradient"


@pytest.mark.parametrize("from_logits", [False, True])
def test_float32_within_spec_tolerance(from_logits):
    y, x = _inputs(5, from_logits, True, None)
    want_loss, want_grad = _reference(y, x, 4.0, 1.0, 0.05, False, from_logits, None, None)
    loss, grad = _op(y.astype(np.float32), x.astype(np.float32), tf.float32, 4.0, 1.0, 0.05, False,
                     from_logits, None, None)
    # float32 inputs are the rounded float64 ones: compare with them.
    want_loss, want_grad = _reference(y.astype(np.float32), x.astype(np.float32), 4.0, 1.0, 0.05,
                                      False, from_logits, None, None)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-5, atol=1e-6)


def test_the_reference_defaults_give_its_numbers():
    # Worked by hand from SPEC: y = [1, 0, 0], p = [0.7, 0.2, 0.04], gamma_neg 4, gamma_pos 1,
    # clip 0.05: -(0.3 * log 0.7) - (0.15^4 * log 0.85) - 0 (neg clamps to 1).
    loss, _ = _op([[1.0, 0.0, 0.0]], [[0.7, 0.2, 0.04]], tf.float64, 4.0, 1.0, 0.05, False, False,
                  None, None)
    want = -(0.3 * np.log(0.7)) - (0.15 ** 4 * np.log(0.85))
    np.testing.assert_allclose(loss, [want], rtol=1e-12)


@pytest.mark.parametrize("labels, predictions, gammas, clip, weights, message", [
    ([[-2.0, 0.0]], [[0.5, 0.5]], (4, 1), 0.05, None, "labels[0, 0] = -2 is not in [0, 1]"),
    ([[1.0, 0.0]], [[1.5, 0.5]], (4, 1), 0.05, None, "predictions[0, 0] = 1.5"),
    ([[1.0, 0.0]], [[0.5, 0.5]], (-1, 1), 0.05, None, "gamma_neg"),
    ([[1.0, 0.0]], [[0.5, 0.5]], (4, 1), 1.5, None, "clip"),
    ([[1.0, 0.0]], [[0.5, 0.5]], (4, 1), 0.05, [1.0, -1.0], "weight"),
])
def test_bad_input_is_an_error_naming_it(labels, predictions, gammas, clip, weights, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message.replace("[", r"\[")):
        _op(labels, predictions, tf.float64, *gammas, clip, False, False, weights, None)


def test_class_weights_of_the_wrong_length_are_a_shape_error():
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="class_weights must have shape"):
        _op([[1.0, 0.0]], [[0.5, 0.5]], tf.float64, 4, 1, 0.05, False, False, [1.0, 2.0, 3.0], None)
