"""Test helpers: SPEC.md's formulas in NumPy, the seeded parity cases, and
the tolerance check every parity test uses.

Nothing here imports gofocal: the reference must not share code with what it
checks.
"""

import dataclasses

import numpy as np

# SPEC.md's worked example (float64).
WORKED_COUNTS = [1, 2, 3]
WORKED_LABELS = np.array([[1, 0, 1], [0, 1, 0]], np.float64)
WORKED_PREDICTIONS = np.array([[.9, .3, .4], [.2, .5, .05]], np.float64)
WORKED_WEIGHTS = np.array([6 / 11, 3 / 11, 2 / 11], np.float64)
WORKED_LOSS = np.array([0.13935285744407913, 0.1620203821512099], np.float64)
WORKED_MEAN = 0.15068661979764453

# SPEC.md's accuracy contract: (relative, absolute floor) per dtype. The
# float64 floor only matters where a value is ~0 (a class with C = 1, a
# negative with no smoothing term); every comparison is also relative to the
# magnitude of the terms that were summed (see assert_close).
TOLERANCES = {
    "float64": (1e-12, 1e-14),
    "float32": (1e-5, 1e-6),
}


def clip_bounds(dtype):
    """The clip constants 1e-8, 1e-7 and 1 - 1e-7 rounded to dtype, as
    TensorFlow rounds them (and as the Go core does), widened to float64."""
    t = np.dtype(dtype).type
    return float(t(1e-8)), float(t(1e-7)), float(t(1 - 1e-7))


def spec_loss_and_grad(labels, predictions, weights, gamma, e, dtype="float64"):
    """SPEC.md's `seed` variant, evaluated in float64 on inputs rounded to dtype.

    Returns (L [B], dL[b]/dp[b,c] [B, C], magnitude [B, C]) where magnitude is
    the sum of the absolute values of the gradient's terms: the scale that
    rounding errors of any evaluation of the formula are proportional to.
    Rank-2 input only. Where y - p = 0 the focal term's gradient is its limit
    (SPEC: 0 for every gamma, log(clip p) for gamma = 1 where the power is 1).
    """
    y = np.asarray(labels).astype(dtype).astype(np.float64)
    p = np.asarray(predictions).astype(dtype).astype(np.float64)
    w = np.asarray(weights).astype(dtype).astype(np.float64)
    lo_log, lo_ratio, hi_ratio = clip_bounds(dtype)
    classes = p.shape[-1]
    positive = y > 0
    a = np.where(positive, w, 0.0)
    with np.errstate(all="ignore"):
        diff = np.where(positive, y - p, 0.0)
        power = diff ** gamma
        log_p = np.log(np.clip(p, lo_log, 1.0))
        focal = np.sum(np.where(positive, -a * power * log_p, 0.0), axis=-1) / classes
        total = p.sum(axis=-1, keepdims=True)
        ratio = p / total
        smooth = -np.sum(np.log(np.clip(ratio, lo_ratio, hi_ratio)), axis=-1) / classes
        loss = (1 - e) * focal + e * smooth

        if gamma == 0:
            first = np.zeros_like(p)
        else:
            limit = log_p if gamma == 1 else np.zeros_like(p)
            first = np.where(diff != 0, gamma * diff ** (gamma - 1) * log_p, limit)
        log_passes = (lo_log <= p) & (p <= 1)
        second = np.where(log_passes, power / np.where(log_passes, p, 1.0), 0.0)
        ratio_passes = (lo_ratio <= ratio) & (ratio <= hi_ratio)
        inside = ratio_passes.sum(axis=-1, keepdims=True)
        inv_p = np.where(ratio_passes, 1 / np.where(ratio_passes, p, 1.0), 0.0)
        focal_scale = (1 - e) / classes
        smooth_scale = e / classes
        grad = (np.where(positive, focal_scale * a * (first - second), 0.0)
                + smooth_scale * (inside / total - inv_p))
        magnitude = (np.where(positive, focal_scale * a * (np.abs(first) + np.abs(second)), 0.0)
                     + smooth_scale * (inside / total + inv_p))
    return loss, grad, magnitude


def assert_close(actual, expected, dtype, *, scale=None, what=""):
    """Elementwise |actual - expected| <= max(atol, rtol * max(|expected|, scale)).

    (rtol, atol) come from TOLERANCES[dtype]. scale, when given, is the
    magnitude of the terms summed into each expected value: an evaluation in
    floating point is only accurate relative to that, not to a result that the
    terms cancel down to (see test_parity.py). NaN must match NaN.
    """
    rtol, atol = TOLERANCES[np.dtype(dtype).name]
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    nan_actual, nan_expected = np.isnan(actual), np.isnan(expected)
    assert np.array_equal(nan_actual, nan_expected), (
        f"{what}: NaN at {np.argwhere(nan_actual).tolist()} but expected at "
        f"{np.argwhere(nan_expected).tolist()}")
    reference = np.abs(expected)
    if scale is not None:
        reference = np.maximum(reference, np.broadcast_to(np.asarray(scale, np.float64), reference.shape))
    with np.errstate(invalid="ignore"):
        bound = np.maximum(atol, rtol * reference)
        err = np.abs(actual - expected)
        bad = ~nan_expected & ~(err <= bound)
    if bad.any():
        idx = tuple(np.argwhere(bad)[0])
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.size} values differ beyond rtol={rtol}, atol={atol}; "
            f"first at {list(idx)}: actual {actual[idx]!r}, expected {expected[idx]!r}, "
            f"error {err[idx]:.3g} > bound {bound[idx]:.3g}")


# ---------------------------------------------------------------------------
# The seeded parity cases.


@dataclasses.dataclass(frozen=True, eq=False)
class Case:
    name: str
    labels: np.ndarray
    predictions: np.ndarray
    weights: np.ndarray
    gamma: float
    e: float
    # Soft labels below their prediction with a non-integer gamma: NaN in both.
    expect_nan: bool = False

    def __repr__(self):
        return self.name

    def nan_free_of_autodiff(self, dtype):
        """Entries where TensorFlow's autodiff of the composite is 0 * inf
        (y - p == 0 at a positive with 0 < gamma < 1): SPEC excludes them.
        (The composite spells gamma 0 and 1 as the polynomials they are, so
        there its autodiff gives SPEC's limit.)"""
        y = self.labels.astype(dtype)
        p = self.predictions.astype(dtype)
        return (y > 0) & (y == p) & (0 < self.gamma < 1)


def _weights(rng, classes):
    counts = rng.integers(1, 1000, classes).astype(np.float64)
    inverse = 1 / counts
    return inverse / inverse.sum()


def _hard(rng, rows, classes, rate=0.4):
    return (rng.random((rows, classes)) < rate).astype(np.float64)


def _probs(rng, rows, classes, lo=0.02, hi=0.98):
    return rng.uniform(lo, hi, (rows, classes))


def _plain(rows, classes, gamma, e):
    def build(rng):
        return _hard(rng, rows, classes), _probs(rng, rows, classes), gamma, e
    return build


def _soft_anywhere(rng):
    y = rng.uniform(0, 1, (7, 5)) * (rng.random((7, 5)) < 0.7)
    return y, _probs(rng, 7, 5), 2.0, 0.1


def _soft_above(gamma):
    def build(rng):
        p = _probs(rng, 7, 5)
        positive = rng.random((7, 5)) < 0.6
        y = np.where(positive, p + (1 - p) * rng.uniform(0.05, 1, (7, 5)), 0.0)
        return y, p, gamma, 0.1
    return build


def _soft_below_nan(rng):
    p = _probs(rng, 6, 4, 0.3, 0.9)
    y = rng.uniform(0.05, 1, (6, 4)) * (rng.random((6, 4)) < 0.7)
    y[0, 0], p[0, 0] = 0.1, 0.8  # at least one soft label below its prediction
    return y, p, 1.5, 0.1


def _exact_zero_one(gamma):
    def build(rng):
        y = _hard(rng, 8, 5, 0.5)
        p = _probs(rng, 8, 5)
        p[rng.random((8, 5)) < 0.2] = 0.0
        p[rng.random((8, 5)) < 0.2] = 1.0
        # Pin the interesting combinations: y = p = 1, y = 1 with p = 0,
        # y = 0 with p = 1 and with p = 0.
        y[0, :4], p[0, :4] = [1, 1, 0, 0], [1, 0, 1, 0]
        p[:, -1] = np.where(p[:, :-1].sum(axis=1) == 0, 0.5, p[:, -1])  # no row sums to 0
        return y, p, gamma, 0.1
    return build


def _tiny(rng):
    y, p = _hard(rng, 8, 6, 0.5), _probs(rng, 8, 6)
    tiny = rng.random((8, 6)) < 0.3
    tiny[:, 0] = True
    p[tiny] = 10 ** rng.uniform(-12, -9, tiny.sum())  # p < 1e-8 and p/S < 1e-7
    return y, p, 2.0, 0.1


def _between_clips(rng):
    y, p = _hard(rng, 8, 6, 0.5), _probs(rng, 8, 6, 0.3, 0.98)
    y[:, 0] = 1
    # 1e-8 < p (the focal log passes its gradient, ~1/p) but p/S < 1e-7.
    p[:, 0] = rng.uniform(1.2e-8, 6e-8, 8)
    return y, p, 2.0, 0.1


def _dominant(rng):
    y, p = _hard(rng, 8, 5, 0.5), rng.uniform(1e-12, 1e-9, (8, 5))
    top = rng.integers(0, 5, 8)
    p[np.arange(8), top] = rng.choice([1.0, 0.9999, 0.5], 8)  # p/S > 1 - 1e-7
    return y, p, 2.0, 0.3


def _uniform_rows(rng):
    # Every prediction of a row equal: dR/dp = M/S - 1/p cancels to ~0.
    y = _hard(rng, 6, 5, 0.5)
    p = np.repeat(10 ** rng.uniform(-4, -1, (6, 1)), 5, axis=1)
    y[:3] = 0  # pure cancellation rows: no focal term
    return y, p, 2.0, 0.5


def _wide_mixed(rng):
    rows, classes = 64, 40
    y = _hard(rng, rows, classes, 0.3)
    y[rng.random((rows, classes)) < 0.1] = rng.uniform(0.9, 1.0)
    p = _probs(rng, rows, classes, 0.001, 0.999)
    p[rng.random((rows, classes)) < 0.05] = 0.0
    p[rng.random((rows, classes)) < 0.05] = 1.0
    p[rng.random((rows, classes)) < 0.05] = 1e-10
    return y, p, 2.0, 0.1


_BUILDERS = [
    ("hard_b8_c5", _plain(8, 5, 2.0, 0.1)),
    ("single_row_b1", _plain(1, 7, 2.0, 0.1)),
    ("single_class_c1", _plain(6, 1, 2.0, 0.1)),
    ("b1_c1", _plain(1, 1, 2.0, 0.25)),
    ("gamma0", _plain(6, 4, 0.0, 0.1)),
    ("gamma0.5", _plain(6, 4, 0.5, 0.1)),
    ("gamma1", _plain(6, 4, 1.0, 0.1)),
    ("gamma1.5", _plain(6, 4, 1.5, 0.1)),
    ("gamma3", _plain(6, 4, 3.0, 0.1)),
    ("e0", _plain(6, 4, 2.0, 0.0)),
    ("e1", _plain(6, 4, 2.0, 1.0)),
    ("e0.5", _plain(6, 4, 2.0, 0.5)),
    ("soft_labels_gamma2", _soft_anywhere),
    ("soft_labels_above_gamma1.5", _soft_above(1.5)),
    ("soft_labels_above_gamma0.5", _soft_above(0.5)),
    ("soft_labels_below_gamma1.5_nan", _soft_below_nan),
    ("exact_0_and_1_gamma2", _exact_zero_one(2.0)),
    ("exact_0_and_1_gamma1", _exact_zero_one(1.0)),
    ("exact_0_and_1_gamma0.5", _exact_zero_one(0.5)),
    ("exact_0_and_1_gamma0", _exact_zero_one(0.0)),
    ("tiny_below_both_clips", _tiny),
    ("between_clips", _between_clips),
    ("dominant_above_clip", _dominant),
    ("uniform_rows_cancel", _uniform_rows),
    ("wide_mixed_b64_c40", _wide_mixed),
]


def _check_away_from_bounds(name, p):
    """Test data stays clear of the clip bounds: exactly at a bound, float32
    rounding of p/S (TensorFlow) and float64 p/S (the Go core) may legitimately
    fall on different sides."""
    ratio = p / p.sum(axis=-1, keepdims=True)
    near = ((0.8e-8 < p) & (p < 1.2e-8)) | ((0.5e-7 < ratio) & (ratio < 2e-7)) \
        | ((0.3e-7 < 1 - ratio) & (1 - ratio < 3e-7))
    assert not near.any(), f"case {name}: data too close to a clip bound at {np.argwhere(near).tolist()}"
    assert (p.sum(axis=-1) > 0).all(), f"case {name}: a row sums to 0"


def build_cases():
    cases = []
    for seed, (name, build) in enumerate(_BUILDERS):
        rng = np.random.default_rng(1000 + seed)
        y, p, gamma, e = build(rng)
        _check_away_from_bounds(name, p)
        cases.append(Case(name, y, p, _weights(rng, p.shape[1]), gamma, e,
                          expect_nan=name.endswith("_nan")))
    return cases


CASES = build_cases()


def asl_reference(x, y, gamma_neg=4.0, gamma_pos=1.0, clip=0.05, eps=1e-8):
    """Alibaba-MIIL/ASL's ``AsymmetricLoss.forward`` (src/loss_functions/
    losses.py) line by line in NumPy float64, torch replaced by NumPy: the
    reference's own number, ``-loss.sum()`` over the batch, for logits x."""
    x_sigmoid = 1 / (1 + np.exp(-x))
    xs_pos = x_sigmoid
    xs_neg = 1 - x_sigmoid
    if clip is not None and clip > 0:
        xs_neg = np.minimum(xs_neg + clip, 1)
    los_pos = y * np.log(np.maximum(xs_pos, eps))
    los_neg = (1 - y) * np.log(np.maximum(xs_neg, eps))
    loss = los_pos + los_neg
    if gamma_neg > 0 or gamma_pos > 0:
        pt0 = xs_pos * y
        pt1 = xs_neg * (1 - y)
        pt = pt0 + pt1
        one_sided_gamma = gamma_pos * y + gamma_neg * (1 - y)
        one_sided_w = np.power(1 - pt, one_sided_gamma)
        loss = loss * one_sided_w
    return -loss.sum()
