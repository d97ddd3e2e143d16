"""gofocal.asymmetric_loss and gofocal.AsymmetricLoss (SPEC's variant
`asymmetric`, ASL): held to a float64 evaluation of SPEC's formulas with
TensorFlow ops and their autodiff (test_asymmetric_op._reference), to the ASL
reference code's own numbers, and to the composite; Keras's face
(reductions, serialization, fit); and bad input, at every layer."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import gofocal
from gofocal import composite
from spec_reference import asl_reference
from test_asymmetric_op import _inputs, _reference


def _loss_and_grad(fn, y, x, **kwargs):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = fn(y, x, **kwargs)
    return loss.numpy(), tape.gradient(loss, x).numpy()


CASES = list(itertools.product([(4.0, 1.0), (0.0, 0.0), (3.3, 0.7), (2.0, 2.0)],
                               [0.0, 0.05, 0.2], [False, True], [False, True]))


@pytest.mark.parametrize("gammas, clip, focal_grad, from_logits", CASES)
def test_float64_matches_the_formulas_through_gradient_tape(gammas, clip, focal_grad, from_logits):
    for seed, (soft, weighted, ignore) in enumerate([(False, False, None), (True, True, None),
                                                     (True, True, -1.0)]):
        y, x = _inputs(seed, from_logits, soft, ignore)
        weights = np.random.default_rng(seed).uniform(0.1, 2.0, 13) if weighted else None
        want_loss, want_grad = _reference(y, x, *gammas, clip, focal_grad, from_logits, weights,
                                          ignore)
        kwargs = dict(gamma_neg=gammas[0], gamma_pos=gammas[1], clip=clip, focal_grad=focal_grad,
                      from_logits=from_logits, class_weights=weights, ignore_value=ignore)
        for fn in (gofocal.asymmetric_loss, composite.asymmetric_composite):
            loss, grad = _loss_and_grad(fn, y, x, **kwargs)
            np.testing.assert_allclose(loss, want_loss, rtol=1e-10, atol=1e-300, err_msg=fn.__name__)
            # Autodiff of (1 - pt)^g gives 0 * inf = NaN where 1 - pt = 0 and
            # g < 1; the op and the composite give the limit there (SPEC).
            assert np.isfinite(grad).all(), fn.__name__
            finite = np.isfinite(want_grad)
            scale = np.abs(want_grad[finite]).max()
            np.testing.assert_allclose(grad[finite], want_grad[finite], rtol=1e-10,
                                       atol=1e-12 * scale, err_msg=fn.__name__)
            if ignore is not None:
                assert loss[0] == 0 and not grad[0].any(), "a row with nothing known"
                assert not grad[y == ignore].any(), "unknown labels get no gradient"


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("focal_grad", [False, True])
def test_float32_within_spec_tolerance_of_the_float32_composite(from_logits, focal_grad):
    y, x = _inputs(11, from_logits, True, -1.0)
    y, x = y.astype(np.float32), x.astype(np.float32)
    weights = np.random.default_rng(2).uniform(0.1, 2.0, 13).astype(np.float32)
    kwargs = dict(focal_grad=focal_grad, from_logits=from_logits, class_weights=weights,
                  ignore_value=-1.0)
    loss, grad = _loss_and_grad(gofocal.asymmetric_loss, y, x, **kwargs)
    want_loss, want_grad = _loss_and_grad(composite.asymmetric_composite, y, x, **kwargs)
    assert loss.dtype == np.float32 and grad.dtype == np.float32
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-5, atol=1e-6)


def test_the_reference_defaults_give_the_reference_numbers_with_a_sum_reduction():
    rng = np.random.default_rng(7)
    x = rng.normal(0, 3, (16, 20))
    y = (rng.uniform(size=(16, 20)) < 0.15).astype(np.float64)
    want = asl_reference(x, y)
    # Keras computes a loss in its dtype, float32 by default (Keras 3), or
    # in the inputs' (Keras 2): float32's tolerance, and float64's where
    # the Loss can be given float64.
    float64 = {"dtype": "float64"} if _takes_dtype() else {}
    rtol = 1e-12 if float64 or keras.__version__ < "3" else 1e-5
    got = gofocal.AsymmetricLoss(from_logits=True, reduction="sum", **float64)(y, x)
    np.testing.assert_allclose(float(got), want, rtol=rtol)
    mean = gofocal.AsymmetricLoss(from_logits=True, **float64)(y, x)
    np.testing.assert_allclose(float(mean), want / 16, rtol=rtol)
    # Other parameters of the reference: (0, 0) is BCE summed; no clip.
    for kw in (dict(gamma_neg=0, gamma_pos=0, clip=0), dict(gamma_neg=2, gamma_pos=0, clip=0.2),
               dict(eps=1e-3)):
        got = gofocal.AsymmetricLoss(from_logits=True, reduction="sum", **kw, **float64)(y, x)
        np.testing.assert_allclose(float(got), asl_reference(x, y, **kw), rtol=rtol, err_msg=kw)
    # The per-sample function in float64 itself.
    per_sample = gofocal.asymmetric_loss(y, x, from_logits=True).numpy()
    np.testing.assert_allclose(per_sample.sum(), want, rtol=1e-12)


def _takes_dtype():
    try:
        keras.losses.Loss(dtype="float64")
    except TypeError:
        return False
    return True


def test_eps_is_the_clamp_of_the_logs():
    y = np.array([[1.0, 0.0]])
    p = np.array([[1e-6, 1.0]])  # a positive at 1e-6, a negative at 1 (neg = clip = 0)
    for eps in (1e-8, 1e-4, 0.1):
        loss = gofocal.asymmetric_loss(y, p, gamma_neg=0, gamma_pos=0, clip=0, eps=eps).numpy()
        want = -np.log(max(1e-6, eps)) - np.log(eps)
        np.testing.assert_allclose(loss, [want], rtol=1e-12)


def test_rank_1_and_rank_3_inputs():
    y, x = _inputs(3, False, True, None)
    per_row = gofocal.asymmetric_loss(y, x).numpy()
    assert gofocal.asymmetric_loss(y[0], x[0]).numpy() == pytest.approx(per_row[0], rel=1e-15)
    y3, x3 = y[:6].reshape(2, 3, 13), x[:6].reshape(2, 3, 13)
    loss3 = gofocal.asymmetric_loss(y3, x3, class_weights=np.linspace(0.5, 1.5, 13)).numpy()
    want = gofocal.asymmetric_loss(y[:6], x[:6], class_weights=np.linspace(0.5, 1.5, 13)).numpy()
    np.testing.assert_array_equal(loss3, want.reshape(2, 3))


def test_rank_3_errors_name_the_callers_index():
    y = np.zeros((2, 3, 4))
    x = np.full((2, 3, 4), 0.5)
    y[1, 2, 3] = -2.0
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels\[1, 2, 3\] = -2"):
        gofocal.asymmetric_loss(y, x)
    y[1, 2, 3] = -1.0  # the ignore value is not checked
    gofocal.asymmetric_loss(y, x, ignore_value=-1)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"class_weights\[2\] = -1"):
        gofocal.asymmetric_loss(y, x, class_weights=[1.0, 1.0, -1.0, 1.0], ignore_value=-1)
    x[0, 1, 2] = 1.5
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"predictions\[0, 1, 2\] = 1.5"):
        gofocal.asymmetric_loss(y, x, ignore_value=-1)


def test_mixed_precision_computes_in_float32():
    y, x = _inputs(4, True, False, None)
    loss16 = gofocal.asymmetric_loss(y, tf.constant(x, tf.float16), from_logits=True)
    loss32 = gofocal.asymmetric_loss(y, tf.constant(x.astype(np.float16), tf.float32),
                                     from_logits=True)
    assert loss16.dtype == tf.float16
    np.testing.assert_allclose(loss16.numpy(), loss32.numpy().astype(np.float16), rtol=1e-3)


def test_tensor_parameters_inside_a_tf_function():
    y, x = _inputs(5, False, True, None)
    want = gofocal.asymmetric_loss(y, x, gamma_neg=3.0, gamma_pos=0.5, clip=0.1).numpy()

    @tf.function
    def run(gamma_neg, gamma_pos, clip):
        return gofocal.asymmetric_loss(y, x, gamma_neg=gamma_neg, gamma_pos=gamma_pos, clip=clip)

    got = run(tf.constant(3.0), tf.constant(0.5), tf.constant(0.1)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-7)  # the scalars came in as float32
    with pytest.raises(tf.errors.InvalidArgumentError, match="gamma_neg = -1"):
        run(tf.constant(-1.0), tf.constant(0.5), tf.constant(0.1))


def test_xla_falls_back_to_the_composite(monkeypatch):
    from gofocal import _ops
    monkeypatch.setattr(_ops, "_warned", set())  # the warning is given once per process
    y, x = _inputs(6, True, True, -1.0)
    kwargs = dict(from_logits=True, ignore_value=-1.0, class_weights=np.linspace(1, 2, 13))
    want_loss, want_grad = _loss_and_grad(gofocal.asymmetric_loss, y, x, **kwargs)

    @tf.function(jit_compile=True)
    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = gofocal.asymmetric_loss(y, x, **kwargs)
        return loss, tape.gradient(loss, x)

    with pytest.warns(UserWarning, match="XLA"):
        loss, grad = run(tf.constant(x))
    np.testing.assert_allclose(loss.numpy(), want_loss, rtol=1e-10)
    np.testing.assert_allclose(grad.numpy(), want_grad, rtol=1e-9, atol=1e-14)


def test_a_second_derivative_is_an_error_not_a_zero():
    y, x = _inputs(7, False, False, None)
    x = tf.constant(x)
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            loss = tf.reduce_sum(gofocal.asymmetric_loss(y, x))
        grad = inner.gradient(loss, x)
        penalty = tf.reduce_sum(grad ** 2)
    with pytest.raises(NotImplementedError, match="second derivatives"):
        outer.gradient(penalty, x)


# --- bad input: clear errors, at construction or at the call -------------------


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(gamma_neg=-1.0), ValueError, "gamma_neg = -1, want a finite gamma_neg >= 0"),
    (dict(gamma_neg=float("nan")), ValueError, "gamma_neg = NaN"),
    (dict(gamma_pos=float("inf")), ValueError, "gamma_pos = +Inf"),
    (dict(clip=1.5), ValueError, "clip = 1.5, want 0 <= clip <= 1"),
    (dict(clip=-0.01), ValueError, "clip = -0.01"),
    (dict(eps=0.0), ValueError, "eps = 0, want 0 < eps < 1"),
    (dict(eps=1.0), ValueError, "eps = 1, want 0 < eps < 1"),
    (dict(ignore_value=float("nan")), ValueError, "ignore_value = NaN"),
    (dict(ignore_value=0.1), ValueError, "ignore_value = 0.1 is not exactly a float32"),
    (dict(ignore_value="unknown"), TypeError, "ignore_value must be None or a number"),
    (dict(classes_num=[10, 0, 3]), ValueError, "class count 1 is 0"),
    (dict(classes_num=[10, 2], beta=1.0), ValueError, "beta = 1, want 0 <= beta < 1"),
    (dict(beta=0.9), ValueError, "beta needs classes_num"),
    (dict(classes_num=[1, 2], class_weights=[1, 2]), ValueError, "not both"),
    (dict(gamma_neg="4"), TypeError, "gamma_neg must be a number"),
])
def test_bad_parameters_are_errors_at_construction(kwargs, error, message):
    with pytest.raises(error, match=message.replace("[", r"\[").replace("+", r"\+")):
        gofocal.AsymmetricLoss(**kwargs)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(gamma_neg=-1.0), ValueError, "gamma_neg = -1, want a finite gamma_neg >= 0"),
    (dict(gamma_pos=float("nan")), ValueError, "gamma_pos = NaN"),
    (dict(clip=1.5), ValueError, "clip = 1.5, want 0 <= clip <= 1"),
    (dict(eps=0.0), ValueError, "eps = 0, want 0 < eps < 1"),
    (dict(ignore_value=float("nan")), ValueError, "ignore_value = NaN"),
    (dict(ignore_value=0.1), ValueError, "ignore_value = 0.1 is not exactly a float32"),
    (dict(ignore_value=tf.constant(-1.0)), TypeError, "ignore_value must be None or a number"),
    (dict(focal_grad="yes"), TypeError, "focal_grad must be True or False"),
    (dict(gamma_neg=np.array([1.0, 2.0])), ValueError, "gamma_neg must be a scalar"),
])
def test_bad_parameters_are_errors_at_the_call(kwargs, error, message):
    with pytest.raises(error, match=message):
        gofocal.asymmetric_loss([[1.0, 0.0]], [[0.5, 0.5]], **kwargs)


@pytest.mark.parametrize("labels, predictions, kwargs, message", [
    ([[-2.0, 0.0]], [[0.5, 0.5]], {}, r"labels\[0, 0\] = -2 is not in \[0, 1\]"),
    ([[-2.0, 0.0]], [[0.5, 0.5]], dict(ignore_value=-1), r"labels\[0, 0\] = -2 is not in \[0, 1\]"),
    ([[1.0, 1.5]], [[0.5, 0.5]], {}, r"labels\[0, 1\] = 1.5"),
    ([[1.0, 0.0]], [[0.5, -0.5]], {}, r"predictions\[0, 1\] = -0.5"),
    ([[1.0, 0.0]], [[0.5, 0.5]], dict(class_weights=[1.0, float("nan")]), r"class_weights\[1\]"),
])
def test_bad_values_are_errors_naming_the_index(labels, predictions, kwargs, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        gofocal.asymmetric_loss(labels, predictions, **kwargs)
    # Not validated: no error (the caller asked), and no crash.
    gofocal.asymmetric_loss(labels, predictions, validate=False, **kwargs)


def test_shape_mismatches_name_both_shapes():
    with pytest.raises(ValueError, match=r"labels \(2, 3\) and predictions \(2, 4\)"):
        gofocal.asymmetric_loss(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="class_weights must have one value per class"):
        gofocal.asymmetric_loss(np.zeros((2, 3)), np.zeros((2, 3)), class_weights=[1.0, 2.0])


def test_logits_are_not_checked():
    loss = gofocal.asymmetric_loss([[1.0, 0.0]], [[30.0, -1e4]], from_logits=True).numpy()
    assert np.isfinite(loss).all()


# --- Keras -----------------------------------------------------------------------


def test_class_weights_from_counts_have_mean_one():
    counts = [900, 90, 9]
    loss = gofocal.AsymmetricLoss(classes_num=counts, beta=0.99)
    weights = np.array(gofocal.class_weights(counts, beta=0.99)) * 3
    np.testing.assert_allclose(loss._weights, weights, rtol=1e-15)
    y, x = _inputs(8, False, True, None)
    y, x = y[:, :3], x[:, :3]
    direct = gofocal.AsymmetricLoss(class_weights=weights.tolist(), reduction="none")(y, x)
    by_counts = gofocal.AsymmetricLoss(classes_num=counts, beta=0.99, reduction="none")(y, x)
    np.testing.assert_array_equal(direct.numpy(), by_counts.numpy())


@pytest.mark.parametrize("reduction", ["sum", "sum_over_batch_size", "none"])
def test_reductions_are_keras_reductions_of_the_per_sample_loss(reduction):
    y, x = _inputs(9, True, False, -1.0)
    per_sample = gofocal.asymmetric_loss(y, x, from_logits=True, ignore_value=-1).numpy()
    weights = np.linspace(0.5, 2, len(y))
    float64 = {"dtype": "float64"} if _takes_dtype() else {}
    got = gofocal.AsymmetricLoss(from_logits=True, ignore_value=-1, reduction=reduction,
                                 **float64)(y, x, sample_weight=weights).numpy()
    want = {"sum": (per_sample * weights).sum(), "none": per_sample * weights,
            "sum_over_batch_size": (per_sample * weights).sum() / len(y)}[reduction]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def _configured():
    return gofocal.AsymmetricLoss(gamma_neg=3.0, gamma_pos=0.5, clip=0.1, eps=1e-6,
                                  focal_grad=True, from_logits=True, classes_num=[5, 50, 500],
                                  beta=0.999, ignore_value=-1, reduction="sum", name="asl")


def test_get_config_round_trip():
    loss = _configured()
    again = gofocal.AsymmetricLoss.from_config(loss.get_config())
    assert again.get_config() == loss.get_config()
    y = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.3]])
    x = np.array([[2.0, -1.0, 5.0], [0.5, 0.1, -3.0]])
    assert float(again(y, x)) == float(loss(y, x))
    revived = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(revived, gofocal.AsymmetricLoss)
    assert float(revived(y, x)) == float(loss(y, x))


def test_dtype_argument():
    if not _takes_dtype():
        # Keras 2's Loss: no dtype argument; the loss is the inputs' dtype.
        loss = gofocal.AsymmetricLoss()
        assert loss(np.array([[1.0, 0.0]]), np.array([[0.7, 0.2]])).dtype == tf.float64
        return
    loss = gofocal.AsymmetricLoss(dtype="float64")
    assert loss(np.array([[1.0, 0.0]], np.float32), np.array([[0.7, 0.2]], np.float32)).dtype == \
        tf.float64


def test_model_fit_save_and_load(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = (x[:, :4] > 0.5).astype(np.float32)
    y[rng.uniform(size=y.shape) < 0.2] = -1.0  # partial labels
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=gofocal.AsymmetricLoss(from_logits=True, ignore_value=-1))
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < 0.7 * history[0], history
    path = str(tmp_path / "asl.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.loss, gofocal.AsymmetricLoss)
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0),
                               rtol=1e-6)


def test_xla_fallback_takes_tensor_parameters():
    y, x = _inputs(12, False, True, -1.0)
    want = gofocal.asymmetric_loss(y, x, gamma_neg=3.0, clip=0.1, eps=1e-3, ignore_value=-1)

    @tf.function(jit_compile=True)
    def run(gamma_neg, clip, eps):
        return gofocal.asymmetric_loss(y, x, gamma_neg=gamma_neg, clip=clip, eps=eps,
                                       ignore_value=-1)

    # (XLA's warning is given once per process: not looked for here.)
    got = run(tf.constant(3.0, tf.float64), tf.constant(0.1, tf.float64),
              tf.constant(1e-3, tf.float64))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10)
