"""The backward product dloss[..., None] * grad, which the gradients of the
focal-loss ops compute with the ScaleRows op, in grad's buffer when
TensorFlow lets it: the same bits as TensorFlow's multiply, the original
tensor intact when something else still reads it, its own gradient, and
clear errors on bad shapes."""

import numpy as np
import pytest
import tensorflow as tf

import gofocal
from gofocal import _native


def _scale_rows(grad, scale):
    return _native.ops().go_focal_scale_rows(grad, scale)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
@pytest.mark.parametrize("shape", [(7, 33), (1, 1), (0, 5), (5, 0), (17,)])
def test_same_bits_as_multiply(dtype, shape):
    rng = np.random.default_rng(len(shape) + shape[0])
    grad = tf.constant(rng.normal(size=shape), dtype)
    scale = tf.constant(rng.normal(size=shape[:-1]), dtype)
    want = tf.expand_dims(scale, -1) * grad
    got = _scale_rows(grad, scale)
    assert got.shape == want.shape and got.dtype == dtype
    np.testing.assert_array_equal(got.numpy().view(np.uint8), want.numpy().view(np.uint8))


def test_special_values_as_multiply():
    grad = tf.constant([[np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-45], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]], tf.float32)
    scale = tf.constant([0.0, np.nan], tf.float32)
    want = tf.expand_dims(scale, -1) * grad
    got = _scale_rows(grad, scale)
    np.testing.assert_array_equal(got.numpy().view(np.uint32), want.numpy().view(np.uint32))


def test_graph_keeps_an_input_another_op_reads():
    """In a graph the op may write into grad's buffer; it must not when grad
    is also returned."""
    @tf.function(autograph=False)
    def both(g, s):
        grad = g * 2.0
        return grad, _scale_rows(grad, s)

    g = tf.constant(np.arange(12, dtype=np.float32).reshape(3, 4))
    s = tf.constant([1.0, -1.0, 0.5])
    grad, scaled = both(g, s)
    np.testing.assert_array_equal(grad.numpy(), g.numpy() * 2)
    np.testing.assert_array_equal(scaled.numpy(), s.numpy()[:, None] * g.numpy() * 2)


def test_loss_gradient_with_sample_weights_is_the_product():
    """The focal loss's gradient under per-sample upstream gradients is
    exactly dloss[b] * grad[b, c], with the op's own grad output."""
    rng = np.random.default_rng(3)
    y = tf.constant((rng.random((6, 40)) < 0.2).astype(np.float32))
    p = tf.constant(rng.uniform(0.01, 0.99, (6, 40)).astype(np.float32))
    w = tf.constant(gofocal.class_weights(rng.integers(1, 50, 40).tolist()), tf.float32)
    sw = tf.constant(rng.uniform(0, 3, 6).astype(np.float32))

    @tf.function(autograph=False)
    def run(p):
        with tf.GradientTape() as tape:
            tape.watch(p)
            loss = tf.reduce_sum(sw * gofocal.seed_focal_loss(y, p, w))
        return tape.gradient(loss, p)

    _, grad = _native.ops().go_focal_seed_focal_loss(
        y, p, w, tf.constant(2.0, tf.float64), tf.constant(0.1, tf.float64))
    want = sw[:, None] * grad
    np.testing.assert_array_equal(run(p).numpy(), want.numpy())
    np.testing.assert_array_equal(run(p).numpy(), want.numpy())  # the traced function again


def test_own_gradient_matches_numerical():
    rng = np.random.default_rng(5)
    grad = tf.constant(rng.normal(size=(3, 4)))
    scale = tf.constant(rng.normal(size=(3,)))
    theoretical, numerical = tf.test.compute_gradient(_scale_rows, [grad, scale], delta=1e-6)
    for t, n in zip(theoretical, numerical):
        np.testing.assert_allclose(t, n, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("grad_shape,scale_shape,match", [
    ((3, 4), (4,), r"scale must have shape \[3\] for grad of shape \[3,4\], got \[4\]"),
    ((3, 4), (3, 1), r"scale must have shape \[3\]"),
    ((2, 3, 4), (2, 3), r"grad must have shape \[classes\] or \[batch, classes\], got \[2,3,4\]"),
    ((4,), (1,), r"scale must have shape \[\] for grad of shape \[4\], got \[1\]"),
])
def test_bad_shapes_name_both(grad_shape, scale_shape, match):
    grad, scale = tf.zeros(grad_shape), tf.zeros(scale_shape)
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match=match):
        _scale_rows(grad, scale)

    @tf.function(autograph=False, input_signature=[tf.TensorSpec(None, tf.float32)] * 2)
    def unknown(g, s):
        return _scale_rows(g, s)

    with pytest.raises(tf.errors.InvalidArgumentError, match=match):
        unknown(grad, scale)
