"""grad_scale='inverse_batch', which the wrappers set: the loss ops write
their gradient times c (1/rows for a power-of-two batch, else 1) while each
row is in cache, and ScaleRows of the same grad_scale returns that tensor
as it is where dloss is c in every row (the backward of a batch mean), or
scales it back exactly. Every path keeps the bits of dloss * the unscaled
gradient."""

import numpy as np
import pytest
import tensorflow as tf

import gofocal
from gofocal import _native

F64 = tf.float64


def _inputs(rows, cols, dtype, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random((rows, cols)) < 0.3).astype(dtype)
    p = rng.uniform(0.02, 0.98, (rows, cols)).astype(dtype)
    w = rng.uniform(0.1, 2, cols).astype(dtype)
    return tf.constant(y), tf.constant(p), tf.constant(w)


def _raw(variant, y, p, w, **attrs):
    ops = _native.ops()
    if variant == "seed":
        return ops.go_focal_seed_focal_loss(y, p, w, tf.constant(2.0, F64), tf.constant(0.1, F64), **attrs)
    if variant == "binary":
        return ops.go_focal_binary_focal_loss(y, p, tf.constant([0.25], F64), tf.constant(2.0, F64),
                                              tf.constant(0.0, F64), **attrs)
    return ops.go_focal_asymmetric_loss(y, p, w, tf.constant(4.0, F64), tf.constant(1.0, F64),
                                        tf.constant(0.05, F64), tf.constant(1e-8, F64), **attrs)


def _scale(rows, dtype):
    return dtype(1) / dtype(rows) if rows & (rows - 1) == 0 else dtype(1)


def _same_buffer(a, b):
    return np.shares_memory(np.asarray(a), np.asarray(b))


VARIANTS = ["seed", "binary", "asymmetric"]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [8, 6, 1])
def test_op_grad_is_scaled_by_c(variant, dtype, rows):
    y, p, w = _inputs(rows, 37, dtype)
    loss, grad = _raw(variant, y, p, w)
    sloss, sgrad = _raw(variant, y, p, w, grad_scale="inverse_batch")
    np.testing.assert_array_equal(sloss.numpy(), loss.numpy())
    want = _scale(rows, dtype) * grad.numpy()
    assert want.dtype == dtype
    np.testing.assert_array_equal(sgrad.numpy(), want)
    if rows == 8:
        assert not np.array_equal(sgrad.numpy(), grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [8, 6])
def test_scale_rows_of_a_scaled_grad(dtype, rows):
    """dloss = c in every row: the output is the input tensor itself (no
    pass over it); any other dloss: the bits of dloss * the unscaled grad."""
    y, p, w = _inputs(rows, 37, dtype, seed=1)
    _, grad = _raw("seed", y, p, w)
    _, sgrad = _raw("seed", y, p, w, grad_scale="inverse_batch")
    c = _scale(rows, dtype)
    scale_rows = _native.ops().go_focal_scale_rows
    mean = tf.fill([rows], c)
    out = scale_rows(sgrad, mean, grad_scale="inverse_batch")
    np.testing.assert_array_equal(out.numpy(), (mean[:, None] * grad).numpy())
    if c != 1:
        assert _same_buffer(out, sgrad), "the batch mean's backward makes no pass"
    rng = np.random.default_rng(2)
    for dloss in [rng.uniform(-3, 3, rows), np.full(rows, 1.0), np.full(rows, 0.5 * c),
                  np.array([c] * (rows - 1) + [2 * c])]:
        dloss = tf.constant(dloss.astype(dtype))
        out = scale_rows(sgrad, dloss, grad_scale="inverse_batch")
        np.testing.assert_array_equal(out.numpy(), (dloss[:, None] * grad).numpy())
        assert not _same_buffer(out, sgrad)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("rows", [8, 6])
@pytest.mark.parametrize("reduction", ["mean", "sum", "weighted"])
def test_wrapper_gradient_is_the_product(variant, rows, reduction):
    """Through the wrappers (which set grad_scale), tf.function and eager:
    the gradient of a mean, a sum and a sample-weighted sum is exactly
    dloss[b] * the raw op's grad."""
    y, p, w = _inputs(rows, 50, np.float32, seed=3)
    sw = tf.constant(np.random.default_rng(4).uniform(0, 3, rows).astype(np.float32))
    fn = {"seed": lambda p: gofocal.seed_focal_loss(y, p, w),
          "binary": lambda p: gofocal.binary_focal_loss(y, p, alpha=0.25),
          "asymmetric": lambda p: gofocal.asymmetric_loss(y, p, class_weights=w, from_logits=False)}[variant]
    reduce = {"mean": tf.reduce_mean, "sum": tf.reduce_sum,
              "weighted": lambda l: tf.reduce_sum(sw * l)}[reduction]

    def grad_of(p):
        with tf.GradientTape() as tape:
            tape.watch(p)
            total = reduce(fn(p))
        return tape.gradient(total, p)

    _, grad = _raw(variant, y, p, w)
    dloss = {"mean": tf.fill([rows], np.float32(1) / np.float32(rows)), "sum": tf.ones([rows]),
             "weighted": sw}[reduction]
    want = (dloss[:, None] * grad).numpy()
    np.testing.assert_array_equal(grad_of(p).numpy(), want)
    np.testing.assert_array_equal(tf.function(grad_of, autograph=False)(p).numpy(), want)


@pytest.mark.parametrize("rows", [4, 3])
def test_scale_rows_gradient_with_grad_scale(rows):
    """ScaleRows' own gradient with grad_scale: against numerical
    differences of scaled = (scale / c) * grad."""
    rng = np.random.default_rng(5)
    grad = tf.constant(rng.normal(size=(rows, 5)))

    def f(g, s):
        return _native.ops().go_focal_scale_rows(g, s, grad_scale="inverse_batch")

    for scale in [rng.normal(size=rows), np.full(rows, _scale(rows, np.float64))]:
        theoretical, numerical = tf.test.compute_gradient(f, [grad, tf.constant(scale)], delta=1e-6)
        for t, n in zip(theoretical, numerical):
            np.testing.assert_allclose(t, n, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("rows", [8, 6])
def test_second_derivative_through_a_scaled_grad(rows):
    """A Hessian-vector product of a batch mean through the wrapper (grad
    scaled by c inside) equals the composite's, float64."""
    y, p, w = _inputs(rows, 11, np.float64, seed=6)
    v = tf.constant(np.random.default_rng(7).normal(size=(rows, 11)))

    def hvp(loss_fn):
        with tf.GradientTape() as outer:
            outer.watch(p)
            with tf.GradientTape() as inner:
                inner.watch(p)
                total = tf.reduce_mean(loss_fn(p))
            g = inner.gradient(total, p)
            directional = tf.reduce_sum(g * v)
        return outer.gradient(directional, p).numpy()

    got = hvp(lambda p: gofocal.seed_focal_loss(y, p, w))
    want = hvp(lambda p: gofocal.composite.seed_composite_per_sample(y, p, w, 2.0, 0.1))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("sharding", ["go", "tensorflow"])
def test_every_shard_scales_by_the_whole_batch(variant, sharding):
    """With sharding='tensorflow' the intra-op pool calls the core once per
    shard of rows (64 rows of 1000 classes are several shards): each scales
    by 1/64, the whole batch's c, not by one over its own rows."""
    y, p, w = _inputs(64, 1000, np.float32, seed=8)
    _, grad = _raw(variant, y, p, w, sharding=sharding)
    _, sgrad = _raw(variant, y, p, w, sharding=sharding, grad_scale="inverse_batch")
    np.testing.assert_array_equal(sgrad.numpy(), np.float32(1 / 64) * grad.numpy())
