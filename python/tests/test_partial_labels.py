"""SPEC's partial labels (``ignore_value``) in every variant and at every
layer: an unknown element adds no loss and gets a zero gradient (seed: it is
no positive, and the label-smoothing term, which has no labels, keeps its
gradient); a binary row is the mean over its known classes, an asymmetric
row the sum, a row with nothing known 0; other labels keep their checks."""

import numpy as np
import pytest
import tensorflow as tf

import gofocal
from gofocal import _keras_ops, composite

UNKNOWN = -1.0


def _data(seed, rows=9, classes=11, dtype=np.float64, logits=False):
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=(rows, classes)) < 0.35).astype(dtype)
    y = np.where(rng.uniform(size=y.shape) < 0.3, rng.uniform(size=y.shape), y).astype(dtype)
    y[rng.uniform(size=y.shape) < 0.25] = UNKNOWN
    y[0] = UNKNOWN  # a row with nothing known
    y[1] = 0.0      # and one with everything known
    p = (rng.normal(0, 3, y.shape) if logits else rng.uniform(0.01, 0.99, y.shape)).astype(dtype)
    return y, p


def _loss_and_grad(fn, y, p, **kwargs):
    p = tf.constant(p)
    with tf.GradientTape() as tape:
        tape.watch(p)
        loss = fn(y, p, **kwargs)
    return loss.numpy(), tape.gradient(loss, p).numpy()


# --- seed -------------------------------------------------------------------------


@pytest.mark.parametrize("ignore", [UNKNOWN, 255.0])
def test_seed_unknown_labels_are_no_positives(ignore):
    y, p = _data(1)
    y = np.where(y == UNKNOWN, ignore, y)
    weights = gofocal.class_weights(np.arange(1, 12))
    loss, grad = _loss_and_grad(gofocal.seed_focal_loss, y, p, class_weights=weights,
                                ignore_value=ignore)
    as_zero = np.where(y == ignore, 0.0, y)
    want_loss, want_grad = _loss_and_grad(gofocal.seed_focal_loss, as_zero, p,
                                          class_weights=weights)
    np.testing.assert_array_equal(loss, want_loss)
    np.testing.assert_array_equal(grad, want_grad)
    c_loss, c_grad = _loss_and_grad(composite.seed_composite_per_sample, y, p,
                                    class_weights=weights, ignore_value=ignore)
    np.testing.assert_allclose(loss, c_loss, rtol=1e-12)
    np.testing.assert_allclose(grad, c_grad, rtol=1e-10, atol=1e-13)
    if ignore > 0:
        # Without the ignore value, 255 is a positive: a different loss.
        assert not np.allclose(gofocal.seed_focal_loss(y, p, weights).numpy(), loss)


def test_seed_keras_losses_take_ignore_value():
    y, p = _data(2, dtype=np.float32)
    counts = list(range(1, 12))
    want = gofocal.seed_focal_loss(y, p, gofocal.class_weights(counts), ignore_value=UNKNOWN)
    got = gofocal.focal_loss(counts, ignore_value=UNKNOWN)(y, p)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    loss = gofocal.FocalLoss(classes_num=counts, ignore_value=UNKNOWN, reduction="none")
    np.testing.assert_array_equal(loss(y, p).numpy(), want.numpy())
    again = gofocal.FocalLoss.from_config(loss.get_config())
    assert again.ignore_value == UNKNOWN
    np.testing.assert_array_equal(again(y, p).numpy(), want.numpy())


# --- binary -----------------------------------------------------------------------


def _known_only(fn, y, p, ignore, **kwargs):
    """Row by row, the loss of the known elements only (no ignore value)."""
    rows = []
    for yb, pb in zip(y, p):
        known = yb != ignore
        rows.append(float(fn(yb[known][None], pb[known][None], **kwargs)[0]) if known.any()
                    else 0.0)
    return np.array(rows)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_rows_are_the_mean_over_known_classes(from_logits, dtype):
    y, p = _data(3, dtype=dtype, logits=from_logits)
    kwargs = dict(alpha=0.3, gamma=2.5, from_logits=from_logits, label_smoothing=0.1)
    loss, grad = _loss_and_grad(gofocal.binary_focal_loss, y, p, ignore_value=UNKNOWN, **kwargs)
    want = _known_only(lambda a, b, **k: gofocal.binary_focal_loss(a, b, **k).numpy(), y, p,
                       UNKNOWN, **kwargs)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(loss, want, rtol=rtol, atol=1e-7 if dtype == np.float32 else 0)
    assert loss[0] == 0 and not grad[0].any()
    assert not grad[y == UNKNOWN].any()
    assert grad[y != UNKNOWN].any()
    c_loss, c_grad = _loss_and_grad(composite.binary_composite, y, p, ignore_value=UNKNOWN,
                                    **kwargs)
    np.testing.assert_allclose(loss, c_loss, rtol=rtol, atol=1e-7 if dtype == np.float32 else 0)
    np.testing.assert_allclose(grad, c_grad, rtol=1e-5 if dtype == np.float32 else 1e-10,
                               atol=1e-7 if dtype == np.float32 else 1e-14)


def test_binary_unknown_predictions_are_unused():
    y, p = _data(4)
    p_nan = np.where(y == UNKNOWN, np.nan, p)
    a = gofocal.binary_focal_loss(y, p, ignore_value=UNKNOWN).numpy()
    b = gofocal.binary_focal_loss(y, p_nan, ignore_value=UNKNOWN, validate=False).numpy()
    np.testing.assert_array_equal(a, b)


def test_binary_other_layouts_skip_the_ignore_value_in_their_checks():
    y, p = _data(5)
    # axis 0, and rank 3: the layouts that are checked in Python.
    for yy, pp, axis in ((y.T, p.T, 0), (y.reshape(3, 3, 11), p.reshape(3, 3, 11), -1)):
        loss = gofocal.binary_focal_loss(yy, pp, axis=axis, ignore_value=UNKNOWN).numpy()
        want = gofocal.binary_focal_loss(y, p, ignore_value=UNKNOWN).numpy()
        np.testing.assert_allclose(np.ravel(loss), want, rtol=1e-15)
    bad = y.T.copy()
    bad[2, 4] = -2.0
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels\[2, 4\] = -2"):
        gofocal.binary_focal_loss(bad, p.T, axis=0, ignore_value=UNKNOWN)


def test_binary_keras_loss_takes_ignore_value():
    y, p = _data(6, dtype=np.float32)
    loss = gofocal.BinaryFocalLoss(ignore_value=UNKNOWN, reduction="none")
    want = gofocal.binary_focal_loss(y, p, ignore_value=UNKNOWN)
    np.testing.assert_array_equal(loss(y, p).numpy(), want.numpy())
    assert gofocal.BinaryFocalLoss.from_config(loss.get_config()).ignore_value == UNKNOWN


# --- asymmetric -------------------------------------------------------------------


@pytest.mark.parametrize("from_logits", [False, True])
def test_asymmetric_rows_are_the_sum_over_known_classes(from_logits):
    y, p = _data(7, logits=from_logits)
    weights = np.linspace(0.5, 2.0, 11)
    kwargs = dict(from_logits=from_logits)
    loss, grad = _loss_and_grad(gofocal.asymmetric_loss, y, p, ignore_value=UNKNOWN,
                                class_weights=weights, **kwargs)
    rows = []
    for yb, pb in zip(y, p):
        known = yb != UNKNOWN
        rows.append(float(gofocal.asymmetric_loss(yb[known][None], pb[known][None],
                                                  class_weights=weights[known], **kwargs)[0])
                    if known.any() else 0.0)
    np.testing.assert_allclose(loss, rows, rtol=1e-13)
    assert loss[0] == 0 and not grad[0].any()
    assert not grad[y == UNKNOWN].any()


# --- every variant: the checks, the XLA fallback, keras.ops ----------------------


@pytest.mark.parametrize("make", [
    lambda v: gofocal.FocalLoss(classes_num=[1, 2], ignore_value=v),
    lambda v: gofocal.focal_loss([1, 2], ignore_value=v),
    lambda v: gofocal.BinaryFocalLoss(ignore_value=v),
    lambda v: gofocal.AsymmetricLoss(ignore_value=v),
])
@pytest.mark.parametrize("value, error, message", [
    (float("nan"), ValueError, "ignore_value = NaN"),
    (0.1, ValueError, "not exactly a float32"),
    ("-1", TypeError, "must be None or a number"),
    (True, TypeError, "must be None or a number"),
])
def test_bad_ignore_values_are_errors_when_the_loss_is_built(make, value, error, message):
    with pytest.raises(error, match=message):
        make(value)


@pytest.mark.parametrize("fn", [gofocal.binary_focal_loss, gofocal.asymmetric_loss])
def test_other_labels_keep_their_checks(fn):
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels\[0, 1\] = -2"):
        fn([[UNKNOWN, -2.0]], [[0.5, 0.5]], ignore_value=UNKNOWN)


def test_the_xla_fallback_honours_the_ignore_value(monkeypatch):
    from gofocal import _ops
    y, p = _data(8)
    weights = gofocal.class_weights(range(1, 12))
    cases = [
        (gofocal.seed_focal_loss, dict(class_weights=weights)),
        (gofocal.binary_focal_loss, dict(alpha=0.25)),
        (gofocal.asymmetric_loss, dict()),
    ]
    for fn, kwargs in cases:
        want_loss, want_grad = _loss_and_grad(fn, y, p, ignore_value=UNKNOWN, **kwargs)

        @tf.function(jit_compile=True)
        def run(p):
            with tf.GradientTape() as tape:
                tape.watch(p)
                loss = fn(y, p, ignore_value=UNKNOWN, **kwargs)
            return loss, tape.gradient(loss, p)

        monkeypatch.setattr(_ops, "_warned", set())  # the warning is given once per process
        with pytest.warns(UserWarning, match="XLA"):
            loss, grad = run(tf.constant(p))
        np.testing.assert_allclose(loss.numpy(), want_loss, rtol=1e-10, err_msg=fn.__name__)
        np.testing.assert_allclose(grad.numpy(), want_grad, rtol=1e-8, atol=1e-13,
                                   err_msg=fn.__name__)


def test_the_keras_ops_forms_honour_the_ignore_value():
    # On the TensorFlow backend, against the composites (test_backends runs
    # them on JAX).
    for logits in (False, True):
        y, p = _data(9, logits=logits)
        weights = gofocal.class_weights(range(1, 12))
        pairs = [
            (lambda y, p: _keras_ops.binary_focal_loss(y, p, alpha=0.3, from_logits=logits,
                                                       ignore_value=UNKNOWN),
             lambda y, p: composite.binary_composite(y, p, 0.3, from_logits=logits,
                                                     ignore_value=UNKNOWN)),
            (lambda y, p: _keras_ops.asymmetric_loss(y, p, from_logits=logits,
                                                     class_weights=weights, ignore_value=UNKNOWN),
             lambda y, p: composite.asymmetric_composite(y, p, from_logits=logits,
                                                         class_weights=weights,
                                                         ignore_value=UNKNOWN)),
        ]
        if not logits:
            pairs.append((
                lambda y, p: _keras_ops.seed_focal_loss(y, p, weights, ignore_value=UNKNOWN),
                lambda y, p: composite.seed_composite_per_sample(y, p, weights,
                                                                 ignore_value=UNKNOWN)))
        for keras_form, tf_form in pairs:
            got_loss, got_grad = _loss_and_grad(keras_form, y, p)
            want_loss, want_grad = _loss_and_grad(tf_form, y, p)
            np.testing.assert_allclose(got_loss, want_loss, rtol=1e-12)
            np.testing.assert_allclose(got_grad, want_grad, rtol=1e-10, atol=1e-14)
