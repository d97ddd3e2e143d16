"""The ``binary`` variant (SPEC.md) against Keras's BinaryFocalCrossentropy.

Covers: parity with ``keras.losses.BinaryFocalCrossentropy`` (loss and gradient,
every reduction, float32 and float64), per-class alpha, gamma = 0 as Keras's
BinaryCrossentropy, the saturation of large logits, serialization and
``model.fit``, and bad input.

Tolerances (SPEC "Accuracy"): float32 within 1e-5 relative or 1e-6 absolute;
float64 within 1e-12 relative (Keras computes in float64 too; the inputs keep
Keras's clip inactive: logits in [-8, 8], probabilities in [1e-3, 1 - 1e-3]).
"""

import json
import math
import os
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import gofocal  # noqa: E402

# Prefer the package's top-level exports; fall back to the defining modules.
BinaryFocalLoss = getattr(gofocal, "BinaryFocalLoss", None)
if BinaryFocalLoss is None:
    from gofocal.losses import BinaryFocalLoss
binary_focal_loss = getattr(gofocal, "binary_focal_loss", None)
if binary_focal_loss is None:
    from gofocal._ops import binary_focal_loss

# InvalidArgumentError or ValueError: both are "bad input" for this suite.
BAD_INPUT = (ValueError, tf.errors.InvalidArgumentError)


def _keras_reductions():
    reductions = ["sum_over_batch_size", "sum", "none", None]
    for extra in ("mean", "mean_with_sample_weight"):
        try:
            keras.losses.BinaryFocalCrossentropy(reduction=extra)
        except ValueError:
            continue
        reductions.append(extra)
    return reductions


REDUCTIONS = _keras_reductions()

# Largest errors seen against Keras, per dtype, printed at the end of the module
# (visible with ``pytest -s``).
MAX_ERRORS = {dtype: {"abs": 0.0, "rel": 0.0, "of_tol": 0.0} for dtype in ("float32", "float64")}


@pytest.fixture(scope="module", autouse=True)
def _print_max_errors():
    yield
    print("\nmax errors vs Keras (loss and gradient elements):")
    for dtype, err in MAX_ERRORS.items():
        print(f"  {dtype}: max abs {err['abs']:.3e}, max rel {err['rel']:.3e} "
              f"(where |keras| >= the relative bound's floor), "
              f"max error / tolerance {err['of_tol']:.3f}")


def _seed(*parts):
    return zlib.crc32(repr(parts).encode())


def assert_close(actual, expected, dtype, what=""):
    """SPEC tolerances: float32 1e-5 rel or 1e-6 abs; float64 1e-12 rel.

    float64 elements are compared relative to themselves, with a floor of
    1e-3 times the largest element (so 1e-15 of it absolutely) for values
    that are themselves a cancellation of larger terms (a gradient component
    near 0).
    """
    a = np.asarray(actual, np.float64)
    e = np.asarray(expected, np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    assert np.all(np.isfinite(a)), f"{what}: non-finite values {a}"
    diff = np.abs(a - e)
    if dtype == "float32":
        floor = 1e-6 / 1e-5  # below |e| = 0.1 the 1e-6 absolute bound is the looser one
        tol = np.maximum(1e-5 * np.abs(e), 1e-6)
    else:
        scale = float(np.abs(e).max()) if e.size else 0.0
        floor = 1e-3 * scale
        tol = 1e-12 * np.maximum(np.abs(e), floor)
    ok = diff <= tol
    if diff.size:
        err = MAX_ERRORS[dtype]
        err["abs"] = max(err["abs"], float(diff.max()))
        big = np.abs(e) >= floor
        if big.any():
            err["rel"] = max(err["rel"], float((diff[big] / np.abs(e[big])).max()))
        err["of_tol"] = max(err["of_tol"], float((diff / tol).max()))
    assert ok.all(), (f"{what}: {dtype} mismatch, max abs diff {diff.max():.3e}\n"
                      f"ours  {a.ravel()[~ok.ravel()][:6]}\nkeras {e.ravel()[~ok.ravel()][:6]}")


def make_inputs(rng, shape, dtype, from_logits, soft_labels=False):
    """Labels and predictions with Keras's clip inactive."""
    if soft_labels:
        y = rng.uniform(0.0, 1.0, shape)
    else:
        y = rng.integers(0, 2, shape).astype(np.float64)
    if from_logits:
        x = rng.uniform(-8.0, 8.0, shape)
    else:
        x = rng.uniform(1e-3, 1.0 - 1e-3, shape)
    return y.astype(dtype), x.astype(dtype)


def loss_and_grad(fn, y, x, sample_weight=None, upstream_seed=0):
    """fn's value and the gradient of <upstream, value> w.r.t. the predictions.

    upstream is seeded uniform in [0.5, 1.5] (all ones for upstream_seed=None).
    """
    y = tf.constant(y)
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        if sample_weight is None:
            value = fn(y, x)
        else:
            value = fn(y, x, sample_weight=tf.constant(sample_weight))
        if upstream_seed is None:
            upstream = np.ones(value.shape)
        else:
            upstream = np.random.default_rng(upstream_seed).uniform(0.5, 1.5, value.shape)
        target = tf.reduce_sum(value * tf.constant(upstream, value.dtype))
    grad = tape.gradient(target, x)
    assert grad is not None, "no gradient reaches the predictions"
    return value.numpy(), grad.numpy()


# --------------------------------------------------------------------------
# Parity with keras.losses.BinaryFocalCrossentropy
# --------------------------------------------------------------------------

# Each configuration runs for both dtypes, both from_logits values and every
# reduction: 7 configurations x 2 x 2 x len(REDUCTIONS) seeded random cases.
CONFIGS = {
    "1x1": dict(shape=(1, 1), axis=-1, ls=0.0, balance=False, alpha=0.25, gamma=2.0, sw=False),
    "1x1-bal-ls-sw": dict(shape=(1, 1), axis=-1, ls=0.3, balance=True, alpha=0.4, gamma=2.0,
                          sw=True),
    "8x5-ls-bal-sw": dict(shape=(8, 5), axis=-1, ls=0.1, balance=True, alpha=0.3, gamma=1.5,
                          sw=True),
    "16x3-soft": dict(shape=(16, 3), axis=-1, ls=0.0, balance=False, alpha=0.25, gamma=2.0,
                      sw=False, soft=True),
    "rank3-bal-sw": dict(shape=(4, 3, 6), axis=-1, ls=0.0, balance=True, alpha=0.6, gamma=0.5,
                         sw=True),
    "rank3-axis1-ls-sw": dict(shape=(3, 5, 2), axis=1, ls=0.2, balance=False, alpha=0.25,
                              gamma=3.0, sw=True),
    "6x4-axis0-bal-ls": dict(shape=(6, 4), axis=0, ls=0.05, balance=True, alpha=0.8, gamma=2.0,
                             sw=False),
    "rank1": dict(shape=(7,), axis=-1, ls=0.0, balance=True, alpha=0.1, gamma=1.0, sw=False),
}


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_matches_keras(config, dtype, from_logits, reduction):
    cfg = CONFIGS[config]
    rng = np.random.default_rng(_seed(config, dtype, from_logits, reduction))
    y, x = make_inputs(rng, cfg["shape"], dtype, from_logits, cfg.get("soft", False))
    loss_shape = tuple(d for i, d in enumerate(cfg["shape"]) if i != cfg["axis"] % len(cfg["shape"]))
    sw = rng.uniform(0.0, 2.0, loss_shape).astype(dtype) if cfg["sw"] else None
    kwargs = dict(apply_class_balancing=cfg["balance"], alpha=cfg["alpha"], gamma=cfg["gamma"],
                  from_logits=from_logits, label_smoothing=cfg["ls"], axis=cfg["axis"],
                  reduction=reduction, dtype=dtype)
    ours = BinaryFocalLoss(**kwargs)
    keras_loss = keras.losses.BinaryFocalCrossentropy(**kwargs)

    value, grad = loss_and_grad(ours, y, x, sw, upstream_seed=_seed(config))
    ref_value, ref_grad = loss_and_grad(keras_loss, y, x, sw, upstream_seed=_seed(config))

    assert value.dtype == ref_value.dtype == np.dtype(dtype)
    assert grad.dtype == np.dtype(dtype)
    assert_close(value, ref_value, dtype, "loss")
    assert_close(grad, ref_grad, dtype, "gradient")
    # Sanity of the comparison itself: the loss is not trivially zero.
    assert np.any(np.abs(ref_value) > 0)


@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,axis", [((1, 1), -1), ((9, 4), -1), ((3, 4, 5), -1),
                                        ((3, 4, 5), 0), ((4, 6), 0)])
def test_functional_matches_keras_function(shape, axis, dtype, from_logits):
    """binary_focal_loss gives Keras's per-sample loss (axis removed)."""
    rng = np.random.default_rng(_seed("functional", shape, axis, dtype, from_logits))
    y, x = make_inputs(rng, shape, dtype, from_logits)
    kwargs = dict(gamma=2.5, from_logits=from_logits, label_smoothing=0.15, axis=axis)

    def ours(y, x):
        return binary_focal_loss(y, x, alpha=0.35, **kwargs)

    def ref(y, x):
        return keras.losses.binary_focal_crossentropy(
            y, x, apply_class_balancing=True, alpha=0.35, **kwargs)

    value, grad = loss_and_grad(ours, y, x, upstream_seed=1)
    ref_value, ref_grad = loss_and_grad(ref, y, x, upstream_seed=1)
    expected_shape = tuple(d for i, d in enumerate(shape) if i != axis % len(shape))
    assert value.shape == expected_shape
    assert_close(value, ref_value, dtype, "loss")
    assert_close(grad, ref_grad, dtype, "gradient")


def test_defaults_match_keras():
    """The constructor defaults are Keras's."""
    ours = BinaryFocalLoss()
    ref = keras.losses.BinaryFocalCrossentropy()
    ref_config = ref.get_config()
    config = ours.get_config()
    for key in ("apply_class_balancing", "alpha", "gamma", "from_logits", "label_smoothing",
                "axis", "reduction", "name"):
        assert config[key] == ref_config[key], key
    rng = np.random.default_rng(7)
    y, x = make_inputs(rng, (10, 3), "float32", False)
    assert_close(ours(y, x).numpy(), ref(y, x).numpy(), "float32", "default loss")


# --------------------------------------------------------------------------
# Per-class alpha
# --------------------------------------------------------------------------

@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,axis", [((5, 4), -1), ((3, 4, 6), -1), ((6, 3), 0),
                                        ((2, 5, 3), 1), ((1, 1), -1)])
def test_per_class_alpha_is_keras_class_by_class(shape, axis, dtype, from_logits):
    rng = np.random.default_rng(_seed("alpha", shape, axis, dtype, from_logits))
    y, x = make_inputs(rng, shape, dtype, from_logits)
    axis_ = axis % len(shape)
    classes = shape[axis_]
    alphas = [float(a) for a in rng.uniform(0.0, 1.0, classes)]
    common = dict(gamma=2.0, from_logits=from_logits, label_smoothing=0.1, axis=axis)

    def ours(y, x):
        loss = BinaryFocalLoss(apply_class_balancing=True, alpha=alphas, reduction="none",
                               dtype=dtype, **common)
        return loss(y, x)

    def column(t, c):
        index = [slice(None)] * len(shape)
        index[axis_] = slice(c, c + 1)
        return t[tuple(index)]

    def ref(y, x):
        # Keras with reduction "none" on each class column alone, scalar alpha.
        per_class = [
            keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=alphas[c],
                                                 reduction="none", dtype=dtype, **common)(
                column(y, c), column(x, c))
            for c in range(classes)]
        return tf.add_n(per_class) / classes

    value, grad = loss_and_grad(ours, y, x, upstream_seed=2)
    ref_value, ref_grad = loss_and_grad(ref, y, x, upstream_seed=2)
    assert_close(value, ref_value, dtype, "loss")
    assert_close(grad, ref_grad, dtype, "gradient")

    # The functional form agrees with the Loss.
    fn_value = binary_focal_loss(y, x, alpha=alphas, **common).numpy()
    assert_close(fn_value, ref_value, dtype, "functional loss")

    # Per-class alpha really is per class (unless there is only one class).
    if classes > 1:
        scalar = binary_focal_loss(y, x, alpha=float(np.mean(alphas)), **common).numpy()
        assert not np.allclose(scalar, fn_value, rtol=1e-6, atol=0)


@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_identical_alpha_list_equals_scalar(dtype, from_logits):
    rng = np.random.default_rng(_seed("same-alpha", dtype, from_logits))
    y, x = make_inputs(rng, (6, 5), dtype, from_logits)
    common = dict(apply_class_balancing=True, gamma=1.5, from_logits=from_logits,
                  label_smoothing=0.05, reduction="none", dtype=dtype)
    scalar_value, scalar_grad = loss_and_grad(BinaryFocalLoss(alpha=0.3, **common), y, x)
    list_value, list_grad = loss_and_grad(BinaryFocalLoss(alpha=[0.3] * 5, **common), y, x)
    np.testing.assert_allclose(list_value, scalar_value, rtol=1e-15, atol=0)
    np.testing.assert_allclose(list_grad, scalar_grad, rtol=1e-15, atol=0)
    one_value = binary_focal_loss(y, x, alpha=[0.3], gamma=1.5, from_logits=from_logits,
                                  label_smoothing=0.05).numpy()
    np.testing.assert_allclose(one_value, scalar_value, rtol=1e-15, atol=0)


def test_alpha_ignored_without_class_balancing():
    """Keras's rule: alpha only matters with apply_class_balancing."""
    rng = np.random.default_rng(3)
    y, x = make_inputs(rng, (5, 3), "float64", True)
    plain = BinaryFocalLoss(from_logits=True, dtype="float64")(y, x).numpy()
    listed = BinaryFocalLoss(from_logits=True, alpha=[0.9, 0.1, 0.5], dtype="float64")(y, x).numpy()
    balanced = BinaryFocalLoss(from_logits=True, alpha=[0.9, 0.1, 0.5], apply_class_balancing=True,
                               dtype="float64")(y, x).numpy()
    assert plain == listed
    assert plain != balanced


# --------------------------------------------------------------------------
# gamma = 0 is binary cross-entropy
# --------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gamma_zero_is_binary_crossentropy(dtype, from_logits, label_smoothing, reduction):
    rng = np.random.default_rng(_seed("gamma0", dtype, from_logits, label_smoothing, reduction))
    y, x = make_inputs(rng, (12, 4), dtype, from_logits)
    common = dict(from_logits=from_logits, label_smoothing=label_smoothing, reduction=reduction,
                  dtype=dtype)
    value, grad = loss_and_grad(BinaryFocalLoss(gamma=0.0, **common), y, x, upstream_seed=4)
    ref_value, ref_grad = loss_and_grad(keras.losses.BinaryCrossentropy(**common), y, x,
                                        upstream_seed=4)
    assert_close(value, ref_value, dtype, "loss")
    assert_close(grad, ref_grad, dtype, "gradient")


def test_gamma_zero_from_large_logits_is_binary_crossentropy():
    """Keras's BinaryCrossentropy from logits is exact too, so they agree far out."""
    z = np.array([[-40.0, -20.0, -9.0, 0.0, 9.0, 20.0, 40.0]] * 2)
    y = np.array([[0.0] * 7, [1.0] * 7])
    value, grad = loss_and_grad(
        BinaryFocalLoss(gamma=0.0, from_logits=True, reduction="none", dtype="float64"), y, z)
    ref_value, ref_grad = loss_and_grad(
        keras.losses.BinaryCrossentropy(from_logits=True, reduction="none", dtype="float64"), y, z)
    assert_close(value, ref_value, "float64", "loss")
    assert_close(grad, ref_grad, "float64", "gradient")


# --------------------------------------------------------------------------
# Saturation of large logits
# --------------------------------------------------------------------------

def _stable_reference(z, y, gamma):
    """The exact stable formula in float64: loss and d loss / dz of one element.

    The gradient is SPEC's formula with sigmoid(z) - y written as
    (1 - y) * sigmoid(z) - y * sigmoid(-z), which does not cancel for a right
    logit (y = 1, z >> 0, where the difference is -sigmoid(-z)).
    """
    e = math.exp(-abs(z))
    sig, sig_neg = (1 / (1 + e), e / (1 + e)) if z >= 0 else (e / (1 + e), 1 / (1 + e))
    bce = max(z, 0.0) - z * y + math.log1p(e)
    u = y * sig_neg + (1 - y) * sig  # 1 - pt, without cancellation
    du = (1 - 2 * y) * sig * sig_neg
    loss = u ** gamma * bce
    grad = gamma * u ** (gamma - 1) * du * bce + u ** gamma * ((1 - y) * sig - y * sig_neg)
    return loss, grad


def _scalar_loss_and_grad(fn, z, y, dtype="float64"):
    value, grad = loss_and_grad(fn, np.array([[y]], dtype), np.array([[z]], dtype),
                                upstream_seed=None)
    return float(value.reshape(-1)[0]), float(grad.reshape(-1)[0])


SATURATION_LOGITS = [10.0, 20.0, 50.0, 100.0, 1000.0]


def test_saturation_table(capsys):
    gamma = 2.0
    ours_fn = BinaryFocalLoss(gamma=gamma, from_logits=True, reduction="none", dtype="float64")
    keras_logits = keras.losses.BinaryFocalCrossentropy(
        gamma=gamma, from_logits=True, reduction="none", dtype="float64")
    keras_probs_loss = keras.losses.BinaryFocalCrossentropy(
        gamma=gamma, from_logits=False, reduction="none", dtype="float64")

    def keras_clipped(y, z):
        # Keras on probabilities sigmoid(z): its clip to [1e-7, 1 - 1e-7] applies.
        return keras_probs_loss(y, tf.math.sigmoid(z))

    rows = []
    for magnitude in SATURATION_LOGITS:
        for z in (magnitude, -magnitude):
            for y in (0.0, 1.0):
                wrong = (z > 0) != (y > 0.5)
                ours = _scalar_loss_and_grad(ours_fn, z, y)
                exact = _stable_reference(z, y, gamma)
                k_logits = _scalar_loss_and_grad(keras_logits, z, y)
                k_clipped = _scalar_loss_and_grad(keras_clipped, z, y)
                rows.append((z, y, wrong, ours, exact, k_logits, k_clipped))

    with capsys.disabled():
        print("\nbinary focal loss, gamma 2, one element, float64; wrong = the logit's sign "
              "disagrees with the label")
        print(f"{'z':>7} {'y':>3} {'wrong':>5} | {'ours loss':>12} {'ours grad':>12} | "
              f"{'exact loss':>12} | {'keras(logits)':>13} {'grad':>10} | "
              f"{'keras(sigmoid p)':>16} {'grad':>10}")
        for z, y, wrong, ours, exact, k_logits, k_clipped in rows:
            print(f"{z:7g} {y:3g} {str(wrong):>5} | {ours[0]:12.6g} {ours[1]:12.6g} | "
                  f"{exact[0]:12.6g} | {k_logits[0]:13.6g} {k_logits[1]:10.3g} | "
                  f"{k_clipped[0]:16.6g} {k_clipped[1]:10.3g}")

    cap = -math.log(1e-7)  # Keras's clip: -log(epsilon) = 16.118...
    for z, y, wrong, ours, exact, k_logits, k_clipped in rows:
        where = f"z={z}, y={y}"
        # Ours: the exact stable formula, finite, loss and gradient.
        assert math.isfinite(ours[0]) and math.isfinite(ours[1]), where
        assert ours[0] == pytest.approx(exact[0], rel=1e-12, abs=1e-300), where
        assert ours[1] == pytest.approx(exact[1], rel=1e-12, abs=1e-300), where
        if wrong:
            # A wrong logit keeps teaching: a gradient of the logit's sign.
            assert ours[1] != 0.0 and math.copysign(1.0, ours[1]) == math.copysign(1.0, z), where
            if abs(z) >= 20:
                # It costs |z| (the focal factor is 1 to double precision from
                # |z| = 20 on), and d loss / dz = +-1.
                assert ours[0] == pytest.approx(abs(z), rel=1e-8), where
                assert abs(ours[1]) == pytest.approx(1.0, rel=1e-6), where
                # Keras's clip caps the loss near 16.1 and kills its gradient.
                assert k_clipped[0] == pytest.approx(cap, rel=1e-6), where
                assert abs(k_clipped[1]) < 1e-6, where
                assert ours[0] > k_clipped[0] + 3.0, where
        else:
            # A right logit: tiny, and still positive where exp(-|z|) is a
            # double (Keras's 1 - pt by subtraction gives 0 from |z| ~ 37 on).
            assert 0.0 <= ours[0] < 1e-3, where
            if abs(z) <= 100:
                assert ours[0] > 0.0, where

    # Keras's clipped value stops growing: 20, 50, 100 and 1000 all cost the same.
    capped = [k[0] for z, y, wrong, _, _, _, k in rows if wrong and abs(z) >= 20]
    assert max(capped) - min(capped) < 1e-6
    # For the record (SPEC says Keras saturates from logits too): Keras 3's
    # TensorFlow backend routes from_logits through
    # sigmoid_cross_entropy_with_logits (ops.sigmoid tags its output with the
    # logits), so its from-logits loss of a wrong logit is exact as well.
    for z, y, wrong, ours, exact, k_logits, _ in rows:
        if wrong:
            assert k_logits[0] == pytest.approx(ours[0], rel=1e-12), (z, y)
            assert k_logits[1] == pytest.approx(ours[1], rel=1e-9), (z, y)


def test_wrong_logit_of_1000_costs_1000_over_classes():
    classes = 4
    z = np.array([[1000.0, -1000.0, -1000.0, -1000.0],
                  [-1000.0, 1000.0, 1000.0, 1000.0]])
    y = np.array([[0.0, 0.0, 0.0, 0.0],
                  [1.0, 1.0, 1.0, 1.0]])
    for dtype in ("float64", "float32"):
        value, grad = loss_and_grad(
            BinaryFocalLoss(from_logits=True, reduction="none", dtype=dtype),
            y.astype(dtype), z.astype(dtype), upstream_seed=0)
        upstream = np.random.default_rng(0).uniform(0.5, 1.5, 2)  # as loss_and_grad draws it
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad)), dtype
        np.testing.assert_array_equal(value, np.array([1000.0, 1000.0], dtype) / classes)
        # Only the wrong element has a gradient, and it is the full +-1/C.
        np.testing.assert_allclose(grad[:, 0], np.array([1.0, -1.0]) * upstream / classes,
                                   rtol=1e-6)
        assert np.all(grad[0, 1:] == 0) and np.all(grad[1, 1:] == 0), dtype


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("balance", [False, True])
def test_float32_logits_of_1000_are_finite(balance, label_smoothing):
    z = np.array([[1000.0, -1000.0, 1000.0, -1000.0]], np.float32)
    y = np.array([[0.0, 1.0, 1.0, 0.0]], np.float32)
    fn = BinaryFocalLoss(from_logits=True, apply_class_balancing=balance, alpha=[0.2, 0.4, 0.6, 0.8],
                         label_smoothing=label_smoothing, reduction="none", dtype="float32")
    value, grad = loss_and_grad(fn, y, z)
    assert value.dtype == np.float32
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    # float64 reference from the exact formula, per element.
    t = y.astype(np.float64) * (1 - label_smoothing) + 0.5 * label_smoothing
    expected = 0.0
    for c in range(4):
        loss_c, _ = _stable_reference(float(z[0, c]), float(t[0, c]), 2.0)
        a = (t[0, c] * fn.alpha[c] + (1 - t[0, c]) * (1 - fn.alpha[c])) if balance else 1.0
        expected += a * loss_c / 4
    assert value[0] == pytest.approx(expected, rel=1e-6)
    # The two wrong logits still teach.
    assert grad[0, 0] > 0 and grad[0, 1] < 0


# --------------------------------------------------------------------------
# Serialization and training
# --------------------------------------------------------------------------

ALPHAS = [0.25, [0.1, 0.5, 0.9]]


def _data(seed=5, rows=8, classes=3, from_logits=True):
    rng = np.random.default_rng(seed)
    return make_inputs(rng, (rows, classes), "float32", from_logits)


@pytest.mark.parametrize("alpha", ALPHAS, ids=["scalar", "list"])
def test_get_config_from_config_round_trip(alpha):
    loss = BinaryFocalLoss(apply_class_balancing=True, alpha=alpha, gamma=1.5, from_logits=True,
                           label_smoothing=0.1, axis=-1, reduction="sum", name="my_focal")
    config = loss.get_config()
    json.dumps(config)  # plain data
    restored = BinaryFocalLoss.from_config(config)
    assert isinstance(restored, BinaryFocalLoss)
    assert restored.get_config() == config
    assert config["alpha"] == alpha and config["gamma"] == 1.5 and config["reduction"] == "sum"
    y, x = _data()
    np.testing.assert_array_equal(restored(y, x).numpy(), loss(y, x).numpy())


@pytest.mark.parametrize("alpha", ALPHAS, ids=["scalar", "list"])
def test_keras_serialize_deserialize_round_trip(alpha):
    loss = BinaryFocalLoss(apply_class_balancing=True, alpha=alpha, gamma=3.0, from_logits=True,
                           label_smoothing=0.2, reduction="sum_over_batch_size")
    serialized = keras.saving.serialize_keras_object(loss)
    text = json.dumps(serialized)
    restored = keras.saving.deserialize_keras_object(json.loads(text))
    assert type(restored) is BinaryFocalLoss
    assert restored.get_config() == loss.get_config()
    y, x = _data(seed=6)
    np.testing.assert_array_equal(restored(y, x).numpy(), loss(y, x).numpy())
    # keras.losses.get/deserialize find it too.
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(again) is BinaryFocalLoss and again.get_config() == loss.get_config()


def _model(classes, activation):
    model = keras.Sequential([keras.Input((6,)),
                              keras.layers.Dense(classes, activation=activation)])
    return model


@pytest.mark.parametrize("alpha", ALPHAS, ids=["scalar", "list"])
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
def test_model_fit_one_epoch_and_save_load(tmp_path, from_logits, alpha):
    keras.utils.set_random_seed(11)
    rng = np.random.default_rng(11)
    features = rng.normal(size=(64, 6)).astype("float32")
    labels = (features[:, :3] + 0.3 * rng.normal(size=(64, 3)) > 0).astype("float32")
    model = _model(3, None if from_logits else "sigmoid")
    loss = BinaryFocalLoss(apply_class_balancing=True, alpha=alpha, from_logits=from_logits,
                           label_smoothing=0.05)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(features, labels, batch_size=16, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
    assert math.isfinite(history.history["loss"][0])
    after = model.get_weights()
    assert any(not np.array_equal(b, a) for b, a in zip(before, after))

    # evaluate gives what the loss computes on the model's outputs.
    evaluated = model.evaluate(features, labels, batch_size=64, verbose=0)
    direct = loss(labels, model(features)).numpy()
    assert evaluated == pytest.approx(float(direct), rel=1e-5)

    # The saved model brings its loss back.
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored.loss) is BinaryFocalLoss
    assert restored.loss.get_config() == loss.get_config()
    assert restored.evaluate(features, labels, batch_size=64, verbose=0) == pytest.approx(
        evaluated, rel=1e-6)


def test_model_fit_with_1d_labels_like_keras():
    """A Dense(1) binary classifier with labels of shape [batch].

    keras.losses.BinaryFocalCrossentropy squeezes/expands y_true to y_pred's
    rank (LossFunctionWrapper.call); a drop-in replacement must accept the
    same input.
    """
    rng = np.random.default_rng(12)
    features = rng.normal(size=(32, 6)).astype("float32")
    labels = (features[:, 0] > 0).astype("float32")  # shape [32]
    results = {}
    for name, loss in (("keras", keras.losses.BinaryFocalCrossentropy()),
                       ("ours", BinaryFocalLoss())):
        keras.utils.set_random_seed(12)
        model = _model(1, "sigmoid")
        model.compile(optimizer="sgd", loss=loss)
        results[name] = model.evaluate(features, labels, verbose=0)
    assert results["ours"] == pytest.approx(results["keras"], rel=1e-5)


def test_loss_call_with_1d_labels_like_keras():
    y = np.array([0.0, 1.0, 1.0], np.float32)
    p = np.array([[0.2], [0.7], [0.4]], np.float32)
    expected = keras.losses.BinaryFocalCrossentropy()(y, p).numpy()
    assert BinaryFocalLoss()(y, p).numpy() == pytest.approx(float(expected), rel=1e-5)


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,pattern", [
    (dict(alpha=1.5), r"alpha.*1\.5"),
    (dict(alpha=-0.1), r"alpha.*-0\.1"),
    (dict(alpha=[0.2, 1.5, 0.3]), r"alpha\[1\].*1\.5"),
    (dict(alpha="abc"), r"alpha"),
    (dict(gamma=-1.0), r"gamma.*-1"),
    (dict(gamma=float("nan")), r"gamma"),
    (dict(label_smoothing=1.5), r"label_smoothing.*1\.5"),
    (dict(label_smoothing=-0.5), r"label_smoothing.*-0\.5"),
], ids=["alpha>1", "alpha<0", "alpha-list", "alpha-str", "gamma<0", "gamma-nan", "ls>1", "ls<0"])
def test_bad_parameters_rejected_at_construction(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        BinaryFocalLoss(**kwargs)


@pytest.mark.parametrize("kwargs,pattern", [
    (dict(alpha=1.5), r"alpha.*1\.5"),
    (dict(gamma=-1.0), r"gamma.*-1"),
    (dict(label_smoothing=1.5), r"label_smoothing.*1\.5"),
], ids=["alpha>1", "gamma<0", "ls>1"])
def test_bad_parameters_rejected_by_function(kwargs, pattern):
    y, x = _data(from_logits=False)
    with pytest.raises(BAD_INPUT, match=pattern):
        binary_focal_loss(y, x, **kwargs)


def test_alpha_list_of_wrong_length_rejected_at_call_time():
    y, x = _data(classes=4, from_logits=False)
    loss = BinaryFocalLoss(apply_class_balancing=True, alpha=[0.1, 0.2, 0.3])  # fine so far
    with pytest.raises(BAD_INPUT, match=r"alpha.*\b4\b.*\b3\b|alpha.*\b3\b.*\b4\b"):
        loss(y, x)
    with pytest.raises(BAD_INPUT, match=r"alpha"):
        binary_focal_loss(y, x, alpha=[0.1, 0.2, 0.3])


@pytest.mark.parametrize("where", [(0, 0), (2, 1), (7, 2)])
def test_probability_out_of_range_names_the_index(where):
    y, x = _data(from_logits=False)
    x = x.copy()
    x[where] = 1.5
    pattern = rf"\[{where[0]}, ?{where[1]}\].*1\.5"
    with pytest.raises(BAD_INPUT, match=pattern):
        BinaryFocalLoss()(y, x)
    with pytest.raises(BAD_INPUT, match=pattern):
        binary_focal_loss(y, x)
    x[where] = -0.25
    with pytest.raises(BAD_INPUT, match=rf"\[{where[0]}, ?{where[1]}\].*-0\.25"):
        binary_focal_loss(y, x)


def test_probability_out_of_range_names_the_first_index():
    y, x = _data(from_logits=False)
    x = x.copy()
    x[5, 0] = 2.0
    x[3, 2] = 1.5  # first in row-major order
    with pytest.raises(BAD_INPUT, match=r"\[3, ?2\]"):
        binary_focal_loss(y, x)


def test_probability_out_of_range_rank3_names_the_original_index():
    """For rank > 2 the index must be the caller's, not the folded [B*D, C] one."""
    y = np.zeros((2, 3, 2), np.float32)
    x = np.full((2, 3, 2), 0.5, np.float32)
    x[1, 2, 0] = 1.5
    with pytest.raises(BAD_INPUT, match=r"\[1, ?2, ?0\]"):
        binary_focal_loss(y, x)


def test_probability_out_of_range_with_axis_0_names_the_callers_index():
    """With axis=0 the named index must still point at the named value."""
    y = np.zeros((2, 3), np.float32)
    x = np.full((2, 3), 0.5, np.float32)
    x[0, 2] = 1.5  # first in row-major order
    x[1, 0] = 1.75
    with pytest.raises(BAD_INPUT, match=r"\[0, ?2\]\D*1\.5|\[1, ?0\]\D*1\.75"):
        binary_focal_loss(y, x, axis=0)


def test_validate_false_accepts_out_of_range_probabilities():
    y, x = _data(from_logits=False)
    x = x.copy()
    x[0, 0] = 1.5
    value = BinaryFocalLoss(validate=False, reduction="none")(y, x).numpy()
    assert value.shape == (8,)
    np.testing.assert_array_equal(value[1:], BinaryFocalLoss(reduction="none")(y[1:], x[1:]).numpy())


def _spelled(shape):
    """A regex for a shape as TensorFlow or Python prints it: [2,3] or (2, 3)."""
    return r"[\[(]" + r",\s?".join(str(d) for d in shape) + r"[\])]"


@pytest.mark.parametrize("labels_shape,predictions_shape,keras_rejects", [
    ((2, 4), (2, 3), True),
    ((3, 3), (2, 3), True),
    ((2, 3, 2), (2, 3), True),
    # Keras's Loss squeezes a trailing 1 (see the 1-D label tests); the function doesn't.
    ((2, 3, 1), (2, 3), False),
], ids=["classes", "batch", "rank", "rank-trailing-1"])
def test_shape_mismatch_names_both_shapes(labels_shape, predictions_shape, keras_rejects):
    y = np.zeros(labels_shape, np.float32)
    x = np.full(predictions_shape, 0.5, np.float32)
    pattern = rf"{_spelled(labels_shape)}.*{_spelled(predictions_shape)}"
    with pytest.raises(BAD_INPUT, match=pattern):
        binary_focal_loss(y, x)
    if keras_rejects:
        with pytest.raises(BAD_INPUT):
            keras.losses.BinaryFocalCrossentropy(reduction="none")(y, x)
        with pytest.raises(BAD_INPUT, match=pattern):
            BinaryFocalLoss(reduction="none")(y, x)


@pytest.mark.parametrize("labels_shape,predictions_shape", [
    ((3, 2, 4), (2, 3, 4)),   # same size, transposed outer dimensions
    ((6, 4), (2, 3, 4)),      # same size, different rank
    ((2, 3, 4), (2, 3, 5)),   # different classes
], ids=["transposed", "rank", "classes"])
def test_shape_mismatch_rank3_names_both_shapes(labels_shape, predictions_shape):
    """Rank > 2 is folded to [B*D, C] inside binary_focal_loss; a mismatch must
    still be an error naming both shapes, never a silently wrong pairing."""
    y = np.zeros(labels_shape, np.float32)
    x = np.full(predictions_shape, 0.5, np.float32)
    with pytest.raises(BAD_INPUT, match=rf"{_spelled(labels_shape)}.*{_spelled(predictions_shape)}"):
        binary_focal_loss(y, x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logits_outside_unit_interval_are_fine(dtype):
    rng = np.random.default_rng(_seed("logits", dtype))
    y = rng.integers(0, 2, (5, 3)).astype(dtype)
    z = np.array([[-7.5, 3.0, 1.5], [2.5, -1.25, 6.0], [0.0, 1.0, -3.0],
                  [5.5, -4.0, 1.01], [-0.01, 7.9, -2.2]], dtype)
    value, grad = loss_and_grad(BinaryFocalLoss(from_logits=True, reduction="none", dtype=dtype), y, z)
    ref_value, ref_grad = loss_and_grad(
        keras.losses.BinaryFocalCrossentropy(from_logits=True, reduction="none", dtype=dtype), y, z)
    assert_close(value, ref_value, dtype, "loss")
    assert_close(grad, ref_grad, dtype, "gradient")


def test_axis_out_of_range_is_an_error():
    y, x = _data(from_logits=False)
    with pytest.raises(ValueError, match=r"axis"):
        binary_focal_loss(y, x, axis=2)
