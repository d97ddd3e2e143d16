"""Class-balanced weights (SPEC, Cui et al. CVPR 2019): gofocal.class_weights
with beta against the formula evaluated in 60-digit decimal arithmetic, for
betas up to 0.9999 and counts up to 1e6, huge and tiny counts; its limits
(beta 0 uniform, beta -> 1 the seed's weights); and its errors."""

import decimal
import math

import numpy as np
import pytest

import gofocal


def _expm1(x, ctx):
    """exp(x) - 1 in ctx's precision, by its series where |x| is small (where
    1 - exp(x) would cancel to nothing)."""
    if abs(x) > decimal.Decimal("0.01"):
        return ctx.subtract(ctx.exp(x), 1)
    term, total = x, x
    for k in range(2, 40):
        term = ctx.divide(ctx.multiply(term, x), k)
        total = ctx.add(total, term)
    return total


def _exact(counts, beta):
    """((1 - beta) / (1 - beta^n)) normalised, in 60 digits (1 - beta^n as
    -expm1(n ln beta), right for any real n)."""
    ctx = decimal.Context(prec=60, Emin=-99999, Emax=99999)
    b = decimal.Decimal(beta)
    ln_b = b.ln(ctx) if beta > 0 else None
    inverse = []
    for n in counts:
        n = decimal.Decimal(n)
        effective = -_expm1(ctx.multiply(n, ln_b), ctx) if ln_b is not None else decimal.Decimal(1)
        inverse.append(ctx.divide(1 - b, effective))
    total = sum(inverse, decimal.Decimal(0))
    return [float(ctx.divide(v, total)) for v in inverse]


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999])
@pytest.mark.parametrize("counts", [
    [1, 2, 3],
    [1000000, 100000, 10000, 1000, 100, 10, 1],
    [7, 7, 7],
    [1e6, 1],
    list(range(1, 200)),
])
def test_the_formula_in_high_precision(beta, counts):
    got = gofocal.class_weights(counts, beta=beta)
    want = _exact(counts, beta)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
    assert math.isclose(sum(got), 1.0, rel_tol=1e-13)


@pytest.mark.parametrize("counts", [[1e-308, 3e-308], [1e300, 1e308], [5e-324, 1.0], [1e-200, 1e200]])
@pytest.mark.parametrize("beta", [0.5, 0.999, 0.9999])
def test_huge_and_tiny_counts_stay_finite_and_sum_to_one(counts, beta):
    got = gofocal.class_weights(counts, beta=beta)
    assert all(math.isfinite(w) and w >= 0 for w in got)
    assert math.isclose(sum(got), 1.0, rel_tol=1e-13)
    np.testing.assert_allclose(got, _exact(counts, beta), rtol=1e-12, atol=1e-300)


def test_the_limits():
    counts = [500, 50, 5]
    assert gofocal.class_weights(counts, beta=0.0) == [1 / 3] * 3
    seed = gofocal.class_weights(counts)
    near_one = gofocal.class_weights(counts, beta=1 - 1e-12)
    np.testing.assert_allclose(near_one, seed, rtol=1e-8)
    # Between: monotone in beta for the rarest class's share.
    shares = [gofocal.class_weights(counts, beta=b)[-1] for b in (0, 0.9, 0.99, 0.999, 0.9999)]
    assert shares == sorted(shares) and shares[0] < shares[-1] < seed[-1]


@pytest.mark.parametrize("beta, error, message", [
    (1.0, ValueError, r"beta = 1, want 0 <= beta < 1"),
    (-0.1, ValueError, r"beta = -0.1"),
    (float("nan"), ValueError, r"beta = NaN"),
    ("0.9", TypeError, r"beta must be a number"),
])
def test_bad_betas_are_errors_naming_beta(beta, error, message):
    with pytest.raises(error, match=message):
        gofocal.class_weights([1, 2], beta=beta)
    with pytest.raises(error, match=message):
        gofocal.focal_loss([1, 2], beta=beta)
    with pytest.raises(error, match=message):
        gofocal.FocalLoss(classes_num=[1, 2], beta=beta)


def test_bad_counts_are_named_before_beta():
    with pytest.raises(ValueError, match="class count 1 is 0"):
        gofocal.class_weights([1, 0], beta=2.0)


def test_focal_loss_with_beta_uses_the_class_balanced_weights():
    rng = np.random.default_rng(1)
    y = (rng.uniform(size=(5, 3)) < 0.5).astype(np.float32)
    p = rng.uniform(0.05, 0.95, (5, 3)).astype(np.float32)
    counts = [900, 90, 9]
    weights = gofocal.class_weights(counts, beta=0.99)
    want = gofocal.seed_focal_loss(y, p, weights).numpy()
    np.testing.assert_array_equal(gofocal.focal_loss(counts, beta=0.99)(y, p).numpy(), want)
    loss = gofocal.FocalLoss(classes_num=counts, beta=0.99, reduction="none")
    np.testing.assert_array_equal(loss(y, p).numpy(), want)
    again = gofocal.FocalLoss.from_config(loss.get_config())
    np.testing.assert_array_equal(again(y, p).numpy(), want)
