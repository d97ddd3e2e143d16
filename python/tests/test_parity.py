"""The op against the seed's composite (TensorFlow ops) and SPEC's formulas.

Tolerances are SPEC.md's: float64 1e-12 relative, float32 1e-5 relative or
1e-6 absolute. Gradients are compared relative to max(|expected|, magnitude),
where magnitude is the sum of the absolute values of the terms SPEC's gradient
adds up (spec_reference.spec_loss_and_grad). The reason is TensorFlow's float32
evaluation of the composite: it forms terms such as (1-e)/C * w * (y-p)^gamma / p
(~1e8 at p ~ 1e-8) and e/C * (M/S - 1/p), each rounded to float32 (relative
error ~6e-8 of the term), and adds them. Where the terms cancel, e.g. a row of
equal predictions where M/S - 1/p is exactly 0, TensorFlow's result is only good
to ~6e-8 * |terms|: in case uniform_rows_cancel (p = 2e-4, terms ~166 after the
batch mean) TF gives 7.6e-6 for an exact 0, while the Go core, which sums in
float64 and rounds once, is within 1e-7 relative of the result. Relative to the
result itself no tolerance would be honest for TF there (1e-6 absolute fails,
see test_float32_cancellation_needs_the_magnitude_scale); relative to the
terms, the bound is SPEC's 1e-5. Where nothing cancels, magnitude == |expected|
and the bound is exactly SPEC's. float64 uses the same rule with 1e-12.

The entries SPEC excludes are masked: where y - p == 0 at a positive and
0 < gamma < 1 TensorFlow's autodiff gives 0 * inf (the test checks that it
does; for gamma 0 the composite's power is the constant 1, whose autodiff is
SPEC's limit); there the op must give SPEC's limit instead.
"""

import numpy as np
import pytest
import tensorflow as tf

import gofocal
from gofocal import composite
from spec_reference import CASES, TOLERANCES, assert_close, spec_loss_and_grad


def _inputs(case, dtype):
    return (tf.constant(case.labels, dtype), tf.constant(case.predictions, dtype),
            case.weights.astype(dtype))


def _composite_batch(case, dtype):
    y, p, w = _inputs(case, dtype)
    with tf.GradientTape() as tape:
        tape.watch(p)
        loss = tf.reduce_mean(composite.seed_composite(y, p, w, gamma=case.gamma, e=case.e))
    return loss.numpy(), tape.gradient(loss, p).numpy()


def _op_batch(case, dtype):
    y, p, w = _inputs(case, dtype)
    with tf.GradientTape() as tape:
        tape.watch(p)
        loss = tf.reduce_mean(gofocal.seed_focal_loss(y, p, w, gamma=case.gamma, e=case.e))
    return loss.numpy(), tape.gradient(loss, p).numpy()


def test_there_are_enough_cases():
    names = {c.name for c in CASES}
    assert len(CASES) >= 20 and len(names) == len(CASES)
    shapes = [c.predictions.shape for c in CASES]
    assert any(b == 1 for b, _ in shapes) and any(c == 1 for _, c in shapes)
    assert any(((c.labels > 0) & (c.labels < 1)).any() for c in CASES)
    assert any((c.predictions == 0).any() and (c.predictions == 1).any() for c in CASES)
    ratios = [c.predictions / c.predictions.sum(-1, keepdims=True) for c in CASES]
    assert any((r < 1e-7).any() for r in ratios) and any((r > 1 - 1e-7).any() for r in ratios)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_batch_loss_and_gradient_match_seed_composite(case, dtype):
    loss_c, grad_c = _composite_batch(case, dtype)
    loss_o, grad_o = _op_batch(case, dtype)
    assert loss_o.dtype == np.dtype(dtype) and grad_o.dtype == np.dtype(dtype)

    assert_close(loss_o, loss_c, dtype, what="batch loss")
    if case.expect_nan:
        assert np.isnan(loss_c) and np.isnan(grad_c).any()

    rows = case.predictions.shape[0]
    _, grad_spec, magnitude = spec_loss_and_grad(
        case.labels, case.predictions, case.weights, case.gamma, case.e, dtype)
    excluded = case.nan_free_of_autodiff(dtype)
    if excluded.any():
        assert not np.isfinite(grad_c[excluded]).any(), "TF's autodiff was expected to give 0 * inf here"
        assert_close(grad_o[excluded], grad_spec[excluded] / rows, dtype,
                     scale=magnitude[excluded] / rows, what="gradient at y == p (SPEC's limit)")
    keep = ~excluded
    assert_close(grad_o[keep], grad_c[keep], dtype, scale=magnitude[keep] / rows, what="batch gradient")


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_per_sample_loss_and_gradient_match_composite_per_sample(case, dtype):
    y, p, w = _inputs(case, dtype)
    # Random upstream gradients per row check that each row's gradient is
    # scaled by its own dloss[b] (the batch mean would hide a broadcast bug).
    upstream = np.random.default_rng(7).uniform(-2, 2, case.predictions.shape[0]).astype(dtype)
    results = []
    for fn in (composite.seed_composite_per_sample, gofocal.seed_focal_loss):
        with tf.GradientTape() as tape:
            tape.watch(p)
            per_sample = fn(y, p, w, gamma=case.gamma, e=case.e)
            weighted = tf.reduce_sum(per_sample * upstream)
        results.append((per_sample.numpy(), tape.gradient(weighted, p).numpy()))
    (loss_c, grad_c), (loss_o, grad_o) = results

    assert loss_o.shape == (case.predictions.shape[0],)
    assert_close(loss_o, loss_c, dtype, what="per-sample loss")
    _, grad_spec, magnitude = spec_loss_and_grad(
        case.labels, case.predictions, case.weights, case.gamma, case.e, dtype)
    scale = magnitude * np.abs(upstream)[:, None]
    excluded = case.nan_free_of_autodiff(dtype)
    keep = ~excluded
    assert_close(grad_o[keep], grad_c[keep], dtype, scale=scale[keep], what="per-sample gradient")
    assert_close(grad_o[excluded], (grad_spec * upstream[:, None])[excluded], dtype,
                 scale=scale[excluded], what="gradient at y == p (SPEC's limit)")


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_raw_op_matches_spec_formulas(case, dtype, raw_op):
    """Both outputs of the op against SPEC's formulas in float64 NumPy (the
    float64 contract: 1e-12 relative), including the entries TF cannot do."""
    loss, grad = raw_op(case.labels.astype(dtype), case.predictions.astype(dtype),
                        case.weights.astype(dtype), case.gamma, case.e)
    loss_spec, grad_spec, magnitude = spec_loss_and_grad(
        case.labels, case.predictions, case.weights, case.gamma, case.e, dtype)
    if case.expect_nan:
        assert np.isnan(loss_spec).any()
    assert_close(loss.numpy(), loss_spec, dtype, what="loss")
    assert_close(grad.numpy(), grad_spec, dtype, scale=magnitude, what="grad output")


def test_float32_cancellation_needs_the_magnitude_scale():
    """Documents the tolerance choice above: on rows of equal predictions TF's
    float32 gradient is off by more than SPEC's bound relative to the result,
    yet within it relative to the terms."""
    case = next(c for c in CASES if c.name == "uniform_rows_cancel")
    _, grad_c = _composite_batch(case, "float32")
    _, grad_o = _op_batch(case, "float32")
    _, grad_spec, magnitude = spec_loss_and_grad(
        case.labels, case.predictions, case.weights, case.gamma, case.e, "float32")
    rows = case.predictions.shape[0]
    rtol, atol = TOLERANCES["float32"]
    err_tf = np.abs(grad_c - grad_spec / rows)
    assert (err_tf > np.maximum(atol, rtol * np.abs(grad_spec / rows))).any()
    # The op itself is accurate relative to the result, not only to the terms.
    assert_close(grad_o, grad_spec / rows, "float32", what="op gradient, no magnitude scale")
    assert_close(grad_c, grad_spec / rows, "float32", scale=magnitude / rows, what="TF gradient")


def test_labels_get_no_gradient(dtype):
    case = CASES[0]
    y, p, w = _inputs(case, dtype)
    with tf.GradientTape() as tape:
        tape.watch([y, p])
        loss = tf.reduce_sum(gofocal.seed_focal_loss(y, p, w))
    dy, dp = tape.gradient(loss, [y, p])
    assert dy is None
    assert dp is not None and np.isfinite(dp.numpy()).all()
