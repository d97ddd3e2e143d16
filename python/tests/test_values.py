"""Odd inputs (issue 12): second derivatives through the op, float64 kept
float64 in the composite (the XLA fallback), labels of unknown rank, binary
labels outside [0, 1] in every layout, clear errors for ragged and sparse
inputs, parameters given as tensors, and the memory a failing call keeps.

Second derivatives: the op's gradient output is differentiated with the
composite's own second derivatives, so an HVP or a Hessian through the op
must equal the composite's (float64, 1e-10 relative to the largest entry,
where the only differences are the op's first-order gradient, SPEC-exact,
against TensorFlow's evaluation of it), and finite differences of the op's
own gradient. First-order training must not pay for it: its graphs have the
same ops as with a gradient that ignores second derivatives, and no mode
(eager, tf.function, tf.gradients, Keras fit) computes the Hessian term.
"""

import os
import subprocess
import sys
import textwrap
import zlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import op_callbacks
from tensorflow.python.framework import ops as tf_ops

import gofocal
from gofocal import _native, _ops, composite
from spec_reference import (WORKED_LABELS, WORKED_PREDICTIONS, WORKED_WEIGHTS, assert_close,
                            spec_loss_and_grad)

HERE = os.path.dirname(os.path.abspath(__file__))


# --- second derivatives ------------------------------------------------------

def _inputs(seed, shape, dtype="float64", from_logits=False, soft=False):
    rng = np.random.default_rng(seed)
    if soft:
        y = rng.uniform(0.0, 1.0, shape)
    else:
        y = (rng.random(shape) < 0.5).astype(np.float64)
    if from_logits:
        x = rng.uniform(-4.0, 4.0, shape)
    else:
        x = rng.uniform(0.05, 0.95, shape)
    return y.astype(dtype), x.astype(dtype)


def _seed_variant(gamma, e, classes=4):
    weights = np.random.default_rng(int(10 * gamma + 100 * e)).uniform(0.1, 1.0, classes)
    weights = weights / weights.sum()

    def make(module):
        fn = gofocal.seed_focal_loss if module == "op" else composite.seed_composite_per_sample
        return lambda y, p: fn(y, p, weights.astype(p.dtype.as_numpy_dtype), gamma=gamma, e=e)

    return make


def _binary_variant(alpha=None, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    def make(module):
        def loss(y, p):
            if module == "op":
                return gofocal.binary_focal_loss(y, p, alpha=alpha, gamma=gamma,
                                                 from_logits=from_logits,
                                                 label_smoothing=label_smoothing, axis=axis)
            # The composite takes the classes last.
            perm = [d for d in range(p.shape.rank) if d != axis % p.shape.rank] + [axis % p.shape.rank]
            return composite.binary_composite(tf.transpose(y, perm), tf.transpose(p, perm), alpha,
                                              gamma, from_logits, label_smoothing)
        return loss

    return make


# (name, variant, shape, from_logits, soft labels)
VARIANTS = [
    ("seed_g2_e0.1", _seed_variant(2.0, 0.1), (3, 4), False, False),
    ("seed_g2.5_e0.3", _seed_variant(2.5, 0.3), (3, 4), False, False),
    ("seed_g1_e0", _seed_variant(1.0, 0.0), (3, 4), False, False),
    ("seed_g0_e0.5", _seed_variant(0.0, 0.5), (3, 4), False, False),
    ("seed_soft_g3", _seed_variant(3.0, 0.2), (3, 4), False, True),
    ("seed_rank1", _seed_variant(2.0, 0.1), (4,), False, False),
    ("binary_probs", _binary_variant(), (3, 4), False, False),
    ("binary_probs_alpha_ls", _binary_variant([0.1, 0.3, 0.6, 0.85], 2.5, False, 0.1), (3, 4), False, True),
    ("binary_probs_g0", _binary_variant(0.25, 0.0), (3, 4), False, False),
    ("binary_logits", _binary_variant(0.25, 2.0, True), (3, 4), True, False),
    ("binary_logits_alpha_ls", _binary_variant([0.2, 0.4, 0.7, 0.9], 1.5, True, 0.2), (3, 4), True, True),
    ("binary_rank3_axis1", _binary_variant([0.2, 0.5, 0.8], 2.0, False, 0.1, axis=1), (2, 3, 2), False, False),
    ("binary_logits_rank1", _binary_variant(None, 2.0, True), (5,), True, False),
]


def _objective(loss_fn, y, p, upstream):
    """A scalar whose second derivative needs both outputs of the op: a
    weighted sum (dloss per row) plus a square (dloss depends on p)."""
    loss = loss_fn(y, p)
    return tf.reduce_sum(upstream * loss + loss * loss)


def _hvp(loss_fn, y, p, upstream, v):
    with tf.GradientTape() as outer:
        outer.watch(p)
        with tf.GradientTape() as inner:
            inner.watch(p)
            value = _objective(loss_fn, y, p, upstream)
        grad = inner.gradient(value, p)
        directional = tf.reduce_sum(grad * v)
    return outer.gradient(directional, p)


def _case(variant_row, dtype="float64"):
    name, make, shape, from_logits, soft = variant_row
    y, x = _inputs(zlib.crc32(name.encode()), shape, dtype, from_logits, soft)
    rng = np.random.default_rng(3)
    loss_shape = tf.shape(make("composite")(tf.constant(y), tf.constant(x))).numpy()
    upstream = rng.uniform(0.5, 1.5, loss_shape).astype(dtype)
    v = rng.normal(size=shape).astype(dtype)
    return make, tf.constant(y), tf.constant(x), tf.constant(upstream), tf.constant(v)


def _assert_rel_to_max(actual, expected, rtol, what):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: {actual.shape} != {expected.shape}"
    assert np.isfinite(actual).all() and np.isfinite(expected).all(), f"{what}: {actual} {expected}"
    scale = max(float(np.abs(expected).max()), 1e-300)
    err = float(np.abs(actual - expected).max()) / scale
    assert err <= rtol, f"{what}: error {err:.3g} of the largest entry > {rtol:g}\n{actual}\n{expected}"
    assert float(np.abs(expected).max()) > 0, f"{what}: the expected values are all 0"


@pytest.mark.parametrize("mode", ["eager", "tf_function"])
@pytest.mark.parametrize("variant", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_hessian_vector_product_matches_the_composite(variant, mode):
    make, y, p, upstream, v = _case(variant)
    results = []
    for module in ("op", "composite"):
        fn = lambda y, p, u, v, loss_fn=make(module): _hvp(loss_fn, y, p, u, v)  # noqa: E731
        if mode == "tf_function":
            fn = tf.function(fn, autograph=False)
        results.append(fn(y, p, upstream, v).numpy())
    _assert_rel_to_max(results[0], results[1], 1e-10, f"HVP of {variant[0]} ({mode})")


@pytest.mark.parametrize("variant", VARIANTS[:1] + VARIANTS[6:8] + VARIANTS[9:11],
                         ids=[v[0] for v in VARIANTS[:1] + VARIANTS[6:8] + VARIANTS[9:11]])
def test_float32_hessian_vector_product_matches_the_composite(variant):
    make, y, p, upstream, v = _case(variant, "float32")
    op = _hvp(make("op"), y, p, upstream, v)
    assert op.dtype == tf.float32
    _assert_rel_to_max(op.numpy(), _hvp(make("composite"), y, p, upstream, v).numpy(), 1e-5,
                       f"float32 HVP of {variant[0]}")


FULL = [VARIANTS[1], VARIANTS[6], VARIANTS[7], VARIANTS[10], VARIANTS[11]]


@pytest.mark.parametrize("variant", FULL, ids=[v[0] for v in FULL])
def test_full_hessian_matches_the_composite(variant):
    """tf.hessians (graph mode, a while loop of gradients) and an eager
    tape.jacobian of the gradient: every second derivative, including the
    ones across classes that the seed's smoothing term couples."""
    make, y, p, upstream, _ = _case(variant)

    @tf.function(autograph=False)
    def hessians(y, p, u):
        return [tf.hessians(_objective(make(m), y, p, u), p)[0] for m in ("op", "composite")]

    op, expected = hessians(y, p, upstream)
    _assert_rel_to_max(op.numpy(), expected.numpy(), 1e-10, f"tf.hessians of {variant[0]}")

    with tf.GradientTape() as outer:
        outer.watch(p)
        with tf.GradientTape() as inner:
            inner.watch(p)
            value = _objective(make("op"), y, p, upstream)
        grad = inner.gradient(value, p)
    jacobian = outer.jacobian(grad, p)
    _assert_rel_to_max(jacobian.numpy(), expected.numpy(), 1e-10, f"eager jacobian of {variant[0]}")


def test_seed_hessian_couples_the_classes_of_a_row_only():
    """The smoothing term normalises a row, so its Hessian is a full block per
    row; rows are independent."""
    make, y, p, upstream, _ = _case(VARIANTS[0])
    with tf.GradientTape() as outer:
        outer.watch(p)
        with tf.GradientTape() as inner:
            inner.watch(p)
            value = tf.reduce_sum(make("op")(y, p))
        grad = inner.gradient(value, p)
    hessian = outer.jacobian(grad, p).numpy()  # [B, C, B, C]
    rows = p.shape[0]
    for b in range(rows):
        for other in range(rows):
            block = hessian[b, :, other, :]
            if b == other:
                assert np.count_nonzero(block - np.diag(np.diag(block))) > 0
            else:
                assert not block.any()


@pytest.mark.parametrize("variant", [VARIANTS[1], VARIANTS[7], VARIANTS[10]],
                         ids=[VARIANTS[1][0], VARIANTS[7][0], VARIANTS[10][0]])
def test_hessian_matches_finite_differences_of_the_ops_gradient(variant):
    """Independent of the composite: the Jacobian of the op's own gradient by
    central differences (tf.test.compute_gradient, float64)."""
    make, y, p, upstream, _ = _case(variant)
    loss_fn = make("op")

    def gradient(p):
        with tf.GradientTape() as tape:
            tape.watch(p)
            value = _objective(loss_fn, y, p, upstream)
        return tape.gradient(value, p)

    theoretical, numerical = tf.test.compute_gradient(gradient, [p], delta=1e-6)
    _assert_rel_to_max(theoretical[0], numerical[0], 1e-6, f"Hessian vs differences, {variant[0]}")


def test_forward_over_back_hessian_vector_product():
    """TensorFlow's recommended HVP (ForwardAccumulator over a tape) builds the
    JVP of the op from its gradient function with symbolic upstreams."""
    for variant in (VARIANTS[1], VARIANTS[10]):
        make, y, p, upstream, v = _case(variant)
        results = []
        for module in ("op", "composite"):
            with tf.autodiff.ForwardAccumulator(p, v) as acc:
                with tf.GradientTape() as tape:
                    tape.watch(p)
                    value = _objective(make(module), y, p, upstream)
                grad = tape.gradient(value, p)
            results.append(acc.jvp(grad).numpy())
        _assert_rel_to_max(results[0], results[1], 1e-10, f"forward-over-back HVP, {variant[0]}")


@pytest.mark.parametrize("mode", ["eager", "tf_function"])
def test_mixed_second_derivative_through_scale_rows(mode):
    """d/du of d(sum u * L)/dp is the op's grad output, row by row: ScaleRows'
    gradient with respect to its scale, with grad's buffer intact (ScaleRows
    may write its result in place only when nothing else reads grad)."""
    y, p = (tf.constant(a) for a in _inputs(5, (4, 3)))
    weights = tf.constant([0.2, 0.3, 0.5], tf.float64)
    u = tf.constant([0.5, 2.0, -1.5, 3.0], tf.float64)

    def jacobian(y, p, u):
        with tf.GradientTape() as outer:
            outer.watch(u)
            with tf.GradientTape() as inner:
                inner.watch(p)
                value = tf.reduce_sum(u * gofocal.seed_focal_loss(y, p, weights))
            grad = inner.gradient(value, p)
        return grad, outer.jacobian(grad, u)

    if mode == "tf_function":
        jacobian = tf.function(jacobian, autograph=False)
    grad, jac = jacobian(y, p, u)
    _, raw_grad = _native.ops().go_focal_seed_focal_loss(y, p, weights, tf.constant(2.0, tf.float64),
                                                        tf.constant(0.1, tf.float64))
    np.testing.assert_allclose(grad.numpy(), u.numpy()[:, None] * raw_grad.numpy(), rtol=1e-15)
    expected = np.zeros((4, 3, 4))
    for b in range(4):
        expected[b, :, b] = raw_grad.numpy()[b]
    np.testing.assert_array_equal(jac.numpy(), expected)


@pytest.mark.parametrize("mode", ["eager", "tf_function"])
def test_raw_ops_grad_output_is_differentiable(mode):
    """A caller of the raw op who uses its grad output directly gets its
    derivative (H v), eagerly too, where TensorFlow's zeros are told apart
    from a real upstream by value."""
    y, p = (tf.constant(a) for a in _inputs(6, (3, 4)))
    weights = tf.constant([0.1, 0.2, 0.3, 0.4], tf.float64)
    v = tf.constant(np.random.default_rng(1).normal(size=(3, 4)))
    op = _native.ops().go_focal_seed_focal_loss

    def both(y, p, v):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(p)
            _, grad = op(y, p, weights, tf.constant(2.0, tf.float64), tf.constant(0.1, tf.float64))
            with tf.GradientTape() as inner:
                inner.watch(p)
                total = tf.reduce_sum(composite.seed_composite_per_sample(y, p, weights))
            reference = inner.gradient(total, p)
            through_op, through_composite = tf.reduce_sum(grad * v), tf.reduce_sum(reference * v)
        return tape.gradient(through_op, p), tape.gradient(through_composite, p)

    if mode == "tf_function":
        both = tf.function(both, autograph=False)
    got, expected = both(y, p, v)
    _assert_rel_to_max(got.numpy(), expected.numpy(), 1e-10, f"d(grad . v)/dp ({mode})")


@pytest.mark.parametrize("alpha", [[], [0.3], [0.1, 0.2, 0.3, 0.4]], ids=["none", "one", "per_class"])
def test_hvp_with_an_alpha_whose_length_is_known_when_run(alpha):
    """The raw binary op with alpha of unknown length while tracing."""
    make, y, p, upstream, v = _case(VARIANTS[6])
    op = _native.ops().go_focal_binary_focal_loss

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float64)], autograph=False)
    def through_op(alpha):
        def loss_fn(y, p):
            return op(y, p, alpha, tf.constant(2.0, tf.float64), tf.constant(0.1, tf.float64))[0]
        return _hvp(loss_fn, y, p, upstream, v)

    def loss_fn(y, p):
        return composite.binary_composite(y, p, alpha or None, 2.0, False, 0.1)

    expected = _hvp(loss_fn, y, p, upstream, v)
    _assert_rel_to_max(through_op(tf.constant(alpha, tf.float64)).numpy(), expected.numpy(), 1e-10,
                       f"HVP with alpha {alpha}")


@pytest.mark.parametrize("mode", ["eager", "tf_function"])
def test_third_derivative_matches_the_composite(mode):
    """The Hessian term is built from differentiable ops: one order more."""
    for variant in (VARIANTS[1], VARIANTS[10]):
        make, y, p, upstream, v = _case(variant)

        def third(y, p, u, v, loss_fn):
            with tf.GradientTape() as outermost:
                outermost.watch(p)
                hvp = _hvp(loss_fn, y, p, u, v)
                directional = tf.reduce_sum(hvp * v)
            return outermost.gradient(directional, p)

        if mode == "tf_function":
            third = tf.function(third, autograph=False)
        got, expected = (third(y, p, upstream, v, make(m)) for m in ("op", "composite"))
        _assert_rel_to_max(got.numpy(), expected.numpy(), 1e-10, f"third derivative, {variant[0]}")


# The seed variant's unknown label is 2 (a positive if it were known: -1
# would be no positive anyway), the binary variant's -1.
UNKNOWN = {"seed": 2.0, "binary": -1.0}


def _partial_labels(seed, variant, from_logits, soft):
    y, x = _inputs(seed, (4, 5), from_logits=from_logits, soft=soft)
    y[np.random.default_rng(seed).random(y.shape) < 0.3] = UNKNOWN[variant]
    y[0] = UNKNOWN[variant]  # a row with no known class
    return tf.constant(y), tf.constant(x)


def _raw_with_ignore(variant, from_logits):
    ops = _native.ops()
    if variant == "seed":
        weights = tf.constant([0.1, 0.3, 0.2, 0.15, 0.25], tf.float64)

        def op_loss(y, p):
            return ops.go_focal_seed_focal_loss(y, p, weights, tf.constant(3.0, tf.float64),
                                                tf.constant(0.2, tf.float64), has_ignore=True,
                                                ignore_value=2.0)[0]

        def composite_loss(y, p):
            return composite.seed_composite_per_sample(y, p, weights, 3.0, 0.2, ignore_value=2.0)
    else:
        alpha = [0.1, 0.3, 0.5, 0.7, 0.9]

        def op_loss(y, p):
            return ops.go_focal_binary_focal_loss(
                y, p, tf.constant(alpha, tf.float64), tf.constant(1.5, tf.float64),
                tf.constant(0.1, tf.float64), from_logits=from_logits, has_ignore=True,
                ignore_value=-1.0)[0]

        def composite_loss(y, p):
            return composite.binary_composite(y, p, alpha, 1.5, from_logits, 0.1, ignore_value=-1.0)
    return op_loss, composite_loss


IGNORE_CASES = [("seed", False), ("binary", False), ("binary", True)]


@pytest.mark.parametrize("variant,from_logits", IGNORE_CASES, ids=["seed", "binary", "binary_logits"])
def test_partial_labels_composite_is_the_op(variant, from_logits):
    """The composite's ignore_value is the op's has_ignore/ignore_value, loss
    and gradient (binary: the mean over the known classes, 0 for none)."""
    y, p = _partial_labels(21, variant, from_logits, soft=True)
    results = []
    for loss_fn in _raw_with_ignore(variant, from_logits):
        with tf.GradientTape() as tape:
            tape.watch(p)
            loss = loss_fn(y, p)
            total = tf.reduce_sum(loss)
        results.append((loss.numpy(), tape.gradient(total, p).numpy()))
    (loss, grad), (want_loss, want_grad) = results
    assert_close(loss, want_loss, "float64", what="loss with unknown labels")
    np.testing.assert_allclose(grad, want_grad, rtol=1e-11, atol=1e-13 * np.abs(want_grad).max())
    if variant == "binary":
        assert loss[0] == 0 and not grad[0].any()


@pytest.mark.parametrize("mode", ["eager", "tf_function"])
@pytest.mark.parametrize("variant,from_logits", IGNORE_CASES, ids=["seed", "binary", "binary_logits"])
def test_partial_labels_hessian_vector_product(variant, from_logits, mode):
    """Second derivatives follow the op's ignore value: against the composite
    with the same ignore_value, and against differences of the op's gradient."""
    y, p = _partial_labels(22, variant, from_logits, soft=False)
    upstream = tf.constant(np.linspace(0.5, 1.5, 4))
    v = tf.constant(np.random.default_rng(2).normal(size=(4, 5)))
    op_loss, composite_loss = _raw_with_ignore(variant, from_logits)
    hvp = lambda y, p, u, v, f: _hvp(f, y, p, u, v)  # noqa: E731
    if mode == "tf_function":
        hvp = tf.function(hvp, autograph=False)
    got, want = (hvp(y, p, upstream, v, f) for f in (op_loss, composite_loss))
    _assert_rel_to_max(got.numpy(), want.numpy(), 1e-10, f"HVP with unknown labels ({mode})")

    def gradient(p):
        with tf.GradientTape() as tape:
            tape.watch(p)
            value = _objective(op_loss, y, p, upstream)
        return tape.gradient(value, p)

    theoretical, numerical = tf.test.compute_gradient(gradient, [p], delta=1e-6)
    _assert_rel_to_max(theoretical[0], numerical[0], 1e-6, "Hessian with unknown labels")


def _asymmetric(y, p):
    return _native.ops().go_focal_asymmetric_loss(
        y, p, tf.zeros([0], p.dtype), tf.constant(4.0, tf.float64), tf.constant(1.0, tf.float64),
        tf.constant(0.05, tf.float64), tf.constant(1e-8, tf.float64))[0]


@pytest.mark.parametrize("mode", ["eager", "tf_function"])
def test_asymmetric_op_first_derivatives_and_a_clear_error_for_second(mode):
    """The raw asymmetric op differentiates once (its own grad output, scaled
    per row); a second derivative is a NotImplementedError, not a zero."""
    y, p = (tf.constant(a) for a in _inputs(23, (3, 4)))
    upstream = tf.constant([0.5, 1.0, 2.0], tf.float64)

    def first(y, p):
        with tf.GradientTape() as tape:
            tape.watch(p)
            total = tf.reduce_sum(upstream * _asymmetric(y, p))
        return tape.gradient(total, p)

    def second(y, p):
        with tf.GradientTape() as outer:
            outer.watch(p)
            grad = first(y, p)
            norm = tf.reduce_sum(grad * grad)
        return outer.gradient(norm, p)

    if mode == "tf_function":
        first, second = (tf.function(f, autograph=False) for f in (first, second))
    _, raw_grad = _native.ops().go_focal_asymmetric_loss(
        y, p, tf.zeros([0], tf.float64), tf.constant(4.0, tf.float64), tf.constant(1.0, tf.float64),
        tf.constant(0.05, tf.float64), tf.constant(1e-8, tf.float64))
    np.testing.assert_array_equal(first(y, p).numpy(), upstream.numpy()[:, None] * raw_grad.numpy())
    with pytest.raises(NotImplementedError, match=r"second derivatives of GoFocal>AsymmetricLoss"):
        second(y, p)


def _first_order_only(op, dloss, unused_dgrad):
    """The gradient before second derivatives: the reference for op counts."""
    return [None, _native.ops().go_focal_scale_rows(op.outputs[1], dloss), None, None, None]


def _op_types(graph):
    ops = graph.get_operations()
    return sorted(o.type for o in ops)


def _first_order_graphs():
    y3, x3 = _inputs(7, (2, 3, 4))
    y, x = _inputs(7, (5, 4))
    weights = np.full(4, 0.25)
    cases = {
        "seed": (lambda y, p: gofocal.seed_focal_loss(y, p, weights), y, x),
        "binary": (lambda y, p: gofocal.binary_focal_loss(y, p, alpha=[0.1, 0.2, 0.3, 0.4]), y, x),
        "binary_logits": (lambda y, p: gofocal.binary_focal_loss(y, p, from_logits=True), y, x),
        "binary_rank3_axis1": (lambda y, p: gofocal.binary_focal_loss(y, p, axis=1), y3, x3),
    }
    graphs = {}
    for name, (loss_fn, y, x) in cases.items():
        for signature in ("static", "unknown_batch"):
            specs = None
            if signature == "unknown_batch":
                specs = [tf.TensorSpec([None, *y.shape[1:]], tf.float64)] * 2

            def tape_step(y, p, loss_fn=loss_fn):
                with tf.GradientTape() as tape:
                    tape.watch(p)
                    value = tf.reduce_mean(loss_fn(y, p))
                return tape.gradient(value, p)

            graphs[f"{name}_tape_{signature}"] = (tape_step, specs, y, x)

        def gradients_step(y, p, loss_fn=loss_fn):
            return tf.gradients(tf.reduce_mean(loss_fn(y, p)), p)[0]

        graphs[f"{name}_tf.gradients"] = (gradients_step, None, y, x)
    return graphs


def _trace(step, specs, y, x):
    fn = tf.function(step, input_signature=specs, autograph=False)
    return fn.get_concrete_function(*(specs or (tf.constant(y), tf.constant(x)))).graph


def test_first_order_graphs_have_the_same_ops_as_without_second_derivatives(monkeypatch):
    """The backward graph of first-order training (a tape in a tf.function,
    as Keras fit uses, and tf.gradients) has exactly the ops it had when the
    gradient ignored second derivatives: TensorFlow's zeros for the unused
    output are recognised while tracing and dropped."""
    graphs = _first_order_graphs()
    now = {name: _op_types(_trace(*args)) for name, args in graphs.items()}
    for op_name in (_ops.SEED_OP, _ops.BINARY_OP):
        monkeypatch.setitem(tf_ops._gradient_registry._registry[op_name], "type", _first_order_only)
    before = {name: _op_types(_trace(*args)) for name, args in graphs.items()}
    for name in graphs:
        assert now[name] == before[name], f"{name}: {len(before[name])} ops became {len(now[name])}"
        assert now[name].count(_ops.SCALE_ROWS_OP) == 1


def _eager_ops_of_a_step(loss_fn, y, p):
    """The ops one eager first-order step executes, by type."""
    executed = []

    def callback(op_type, inputs, attrs, outputs, op_name=None, graph=None):
        executed.append(op_type.decode() if isinstance(op_type, bytes) else op_type)

    def step():
        with tf.GradientTape() as tape:
            tape.watch(p)
            value = tf.reduce_mean(loss_fn(y, p))
        return tape.gradient(value, p)

    step()
    op_callbacks.add_op_callback(callback)
    try:
        step()
    finally:
        op_callbacks.remove_op_callback(callback)
    return sorted(executed)


def test_eager_first_order_steps_run_the_same_ops_as_without_second_derivatives(monkeypatch):
    """Eagerly too, where TensorFlow's zeros are real tensors: nothing looks
    at them (batches of more than 10,000 values get fresh zeros each step)."""
    cases = []
    for shape in ((5, 4), (2600, 4)):
        y, x = (tf.constant(a) for a in _inputs(14, shape))
        cases += [(lambda y, p: gofocal.seed_focal_loss(y, p, np.full(4, 0.25)), y, x),
                  (lambda y, p: gofocal.binary_focal_loss(y, p, from_logits=True), y, x),
                  (lambda y, p: gofocal.binary_focal_loss(y, p, axis=0), y, x)]
    now = [_eager_ops_of_a_step(*case) for case in cases]
    for op_name in (_ops.SEED_OP, _ops.BINARY_OP):
        monkeypatch.setitem(tf_ops._gradient_registry._registry[op_name], "type", _first_order_only)
    before = [_eager_ops_of_a_step(*case) for case in cases]
    assert now == before
    assert all(ops.count(_ops.SCALE_ROWS_OP) == 1 for ops in now)


def test_second_order_graph_does_add_the_hessian_term():
    """The counterpart of the test above: the comparison would see the ops."""
    y, x = _inputs(7, (5, 4))
    weights = np.full(4, 0.25)

    def step(y, p):
        with tf.GradientTape() as outer:
            outer.watch(p)
            with tf.GradientTape() as inner:
                inner.watch(p)
                value = tf.reduce_mean(gofocal.seed_focal_loss(y, p, weights))
            grad = inner.gradient(value, p)
            norm = tf.reduce_sum(grad * grad)
        return outer.gradient(norm, p)

    first = _op_types(_trace(_first_order_graphs()["seed_tape_static"][0], None, y, x))
    second = _op_types(_trace(step, None, y, x))
    assert len(second) > len(first) + 20 and "Log" in second


@pytest.fixture
def no_hessian(monkeypatch):
    """Makes computing the Hessian term, or looking at an eager upstream's
    values, an error."""
    def fail(*args):
        raise AssertionError("first-order gradient computed the Hessian term")

    monkeypatch.setattr(_ops, "_hessian_product", fail)
    monkeypatch.setattr(_ops, "_any_nonzero", fail)


def test_first_order_never_computes_the_hessian_term(no_hessian):
    y, x = _inputs(8, (6, 4))
    y, p = tf.constant(y), tf.constant(x)
    weights = np.full(4, 0.25)
    for loss_fn in (lambda y, p: gofocal.seed_focal_loss(y, p, weights),
                    lambda y, p: gofocal.binary_focal_loss(y, p, alpha=0.25),
                    lambda y, p: gofocal.binary_focal_loss(tf.reshape(y, [2, 3, 4]),
                                                          tf.reshape(p, [2, 3, 4]), axis=0)):
        def step(y, p, loss_fn=loss_fn):
            with tf.GradientTape() as tape:
                tape.watch(p)
                value = tf.reduce_mean(loss_fn(y, p))
            return tape.gradient(value, p)

        step(y, p)
        tf.function(step, autograph=False)(y, p)
        with tf.GradientTape(persistent=True) as tape:  # a persistent tape, used twice
            tape.watch(p)
            value = tf.reduce_mean(loss_fn(y, p))
        tape.gradient(value, p)
        tape.gradient(value, p)
        del tape


@pytest.mark.parametrize("run_eagerly", [False, True], ids=["graph", "eager"])
def test_keras_fit_never_computes_the_hessian_term(no_hessian, run_eagerly):
    rng = np.random.default_rng(9)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    y = (rng.random((64, 3)) < 0.4).astype(np.float32)
    for loss in (gofocal.FocalLoss(classes_num=[5, 10, 20]), gofocal.BinaryFocalLoss(),
                 gofocal.focal_loss([5, 10, 20])):
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="sigmoid")])
        model.compile(optimizer="sgd", loss=loss, run_eagerly=run_eagerly)
        history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"]).all()


# --- float64 stays float64 in the composite (the XLA fallback) ---------------

def _sigmoid(z):
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


def binary_reference(y, x, alpha, gamma, from_logits, label_smoothing):
    """SPEC's binary variant in float64 NumPy, classes last."""
    y = np.asarray(y, np.float64) * (1 - label_smoothing) + 0.5 * label_smoothing
    x = np.asarray(x, np.float64)
    if from_logits:
        bce = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
        one_minus_pt = y * _sigmoid(-x) + (1 - y) * _sigmoid(x)
    else:
        q = np.clip(x, 1e-7, 1 - 1e-7)
        bce = -(y * np.log(q) + (1 - y) * np.log(1 - q))
        one_minus_pt = 1 - (y * x + (1 - y) * (1 - x))
    focal = one_minus_pt ** gamma * bce
    if alpha is not None:
        a = np.asarray(alpha, np.float64)
        focal = (y * a + (1 - y) * (1 - a)) * focal
    return focal.mean(axis=-1)


def _rel(actual, expected):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    return float(np.max(np.abs(actual - expected) / np.abs(expected)))


@pytest.mark.filterwarnings("ignore:gofocal.*XLA")
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@pytest.mark.parametrize("alpha,label_smoothing", [([0.1, 0.3, 0.65, 0.9], 0.0),
                                                   ([0.1, 0.3, 0.65, 0.9], 0.1),
                                                   (0.3, 0.15)],
                         ids=["per_class", "per_class_ls", "scalar_ls"])
def test_xla_float64_binary_matches_the_float64_reference(from_logits, alpha, label_smoothing):
    """Alpha, gamma and label smoothing reach the float64 composite as float64
    (alpha went through float32: 4e-9 off)."""
    y, x = _inputs(11, (6, 4), "float64", from_logits, soft=True)
    expected = binary_reference(y, x, alpha, 2.5, from_logits, label_smoothing)

    def loss(y, p):
        return gofocal.binary_focal_loss(y, p, alpha=alpha, gamma=2.5, from_logits=from_logits,
                                         label_smoothing=label_smoothing)

    xla = tf.function(loss, jit_compile=True, autograph=False)(tf.constant(y), tf.constant(x))
    assert xla.dtype == tf.float64
    assert _rel(xla, expected) <= 1e-12, f"XLA fallback {_rel(xla, expected):.3g} from the reference"
    op = loss(tf.constant(y), tf.constant(x))
    assert _rel(op, expected) <= 1e-12, f"op {_rel(op, expected):.3g} from the reference"


@pytest.mark.filterwarnings("ignore:gofocal.*XLA")
@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_xla_fallback_gradient_at_logits_of_zero(gamma):
    """A zero-initialised head gives logits of exactly 0: the composite's
    stable cross-entropy has the gradient sigmoid(0) - y there, as the op
    (tf.maximum's and tf.abs's own gradients at 0 gave 1 - y)."""
    y = tf.constant([[1.0, 0.0, 1.0, 0.5], [0.0, 1.0, 0.25, 0.0]], tf.float64)
    z = tf.zeros([2, 4], tf.float64)

    def loss_and_grad(y, z):
        with tf.GradientTape() as tape:
            tape.watch(z)
            total = tf.reduce_sum(gofocal.binary_focal_loss(y, z, alpha=[0.1, 0.4, 0.6, 0.9],
                                                            gamma=gamma, from_logits=True,
                                                            label_smoothing=0.1))
        return total, tape.gradient(total, z)

    xla_loss, xla_grad = tf.function(loss_and_grad, jit_compile=True, autograph=False)(y, z)
    op_loss, op_grad = loss_and_grad(y, z)
    assert_close(xla_loss.numpy(), op_loss.numpy(), "float64", what="loss at z = 0")
    assert_close(xla_grad.numpy(), op_grad.numpy(), "float64", what="gradient at z = 0")


def test_composite_keeps_python_lists_in_float64():
    """Soft labels, alpha and class weights given as Python lists are not
    rounded to float32 on their way to a float64 composite."""
    labels = [[0.1, 0.7, 0.33], [0.9, 0.05, 0.6]]
    p = tf.constant([[0.2, 0.6, 0.45], [0.8, 0.15, 0.3]], tf.float64)
    alpha = [0.1, 0.35, 0.7]
    got = composite.binary_composite(labels, p, alpha=alpha, gamma=2.5, label_smoothing=0.1)
    assert _rel(got, binary_reference(labels, p.numpy(), alpha, 2.5, False, 0.1)) <= 1e-14
    weights = [0.1, 0.35, 0.55]
    seed = composite.seed_composite_per_sample(labels, p, weights, gamma=2.0, e=0.3)
    expected, _, _ = spec_loss_and_grad(np.array(labels), p.numpy(), np.array(weights), 2.0, 0.3)
    assert _rel(seed, expected) <= 1e-14


# --- labels of unknown rank ----------------------------------------------------

@pytest.mark.filterwarnings("ignore:gofocal.*XLA")
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
@pytest.mark.parametrize("jit", [False, True], ids=["op", "xla"])
def test_binary_labels_of_unknown_rank(axis, jit):
    """The rank comes from the predictions, which the labels must share."""
    y, x = _inputs(12, (2, 3, 4), "float32")
    specs = [tf.TensorSpec(None, tf.float32), tf.TensorSpec([2, 3, 4], tf.float32)]

    def loss(y, p):
        return gofocal.binary_focal_loss(y, p, alpha=0.25, axis=axis)

    got = tf.function(loss, input_signature=specs, jit_compile=jit, autograph=False)(y, x)
    expected = loss(tf.constant(y), tf.constant(x))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


def test_seed_labels_of_unknown_rank():
    specs = [tf.TensorSpec(None, tf.float64), tf.TensorSpec([2, 3], tf.float64)]
    fn = tf.function(lambda y, p: gofocal.seed_focal_loss(y, p, WORKED_WEIGHTS), input_signature=specs,
                     autograph=False)
    np.testing.assert_array_equal(fn(WORKED_LABELS, WORKED_PREDICTIONS).numpy(),
                                  gofocal.seed_focal_loss(WORKED_LABELS, WORKED_PREDICTIONS,
                                                          WORKED_WEIGHTS).numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"same shape"):
        fn(WORKED_LABELS[:, :2], WORKED_PREDICTIONS)


@pytest.mark.parametrize("labels_shape", [(2, 4, 3), (2, 3), (2, 3, 4, 1), (1, 3, 4)],
                         ids=["transposed", "rank2", "rank4", "broadcastable"])
def test_binary_labels_of_unknown_rank_and_another_shape_name_both(labels_shape):
    specs = [tf.TensorSpec(None, tf.float32), tf.TensorSpec([2, 3, 4], tf.float32)]
    fn = tf.function(lambda y, p: gofocal.binary_focal_loss(y, p, axis=1), input_signature=specs,
                     autograph=False)
    with pytest.raises(tf.errors.InvalidArgumentError) as err:
        fn(np.zeros(labels_shape, np.float32), np.full((2, 3, 4), 0.5, np.float32))
    text = str(err.value)
    assert "must have the same shape" in text
    assert "[" + " ".join(map(str, labels_shape)) + "]" in text and "[2 3 4]" in text


# --- binary labels outside [0, 1] ----------------------------------------------

def _labels_with(shape, index, value):
    y = np.zeros(shape, np.float32)
    y[index] = value
    return y


OTHER_LAYOUTS = [((2, 3, 2), -1, (1, 2, 0)), ((2, 3), 0, (1, 1)), ((3, 2, 4), 1, (0, 1, 3))]


@pytest.mark.parametrize("mode", ["eager", "tf_function", "tf_function_unknown_shapes"])
@pytest.mark.parametrize("shape,axis,index", OTHER_LAYOUTS, ids=["rank3", "axis0", "rank3_axis1"])
@pytest.mark.parametrize("value,spelled", [(-2.0, "-2"), (1.5, "1.5")], ids=["minus2", "1.5"])
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
def test_binary_label_outside_unit_interval_other_layouts(mode, shape, axis, index, value, spelled,
                                                          from_logits):
    y = _labels_with(shape, index, value)
    x = np.full(shape, 0.5, np.float32)

    def loss(y, p):
        return gofocal.binary_focal_loss(y, p, axis=axis, from_logits=from_logits)

    if mode != "eager":
        specs = None
        if mode == "tf_function_unknown_shapes":
            specs = [tf.TensorSpec([None] * len(shape), tf.float32)] * 2
        loss = tf.function(loss, input_signature=specs, autograph=False)
    message = f"goloss: invalid value: labels[{', '.join(map(str, index))}] = {spelled} is not in [0, 1]"
    with pytest.raises(tf.errors.InvalidArgumentError) as err:
        loss(y, x)
    assert message in str(err.value)


def test_binary_label_check_names_the_first_label_in_the_callers_layout():
    y = np.zeros((2, 3), np.float32)
    y[1, 0], y[0, 2] = -1.0, 2.0  # [0, 2] is first in row-major order
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"labels\[0, 2\] = 2 is not in \[0, 1\]"):
        gofocal.binary_focal_loss(y, np.full((2, 3), 0.5, np.float32), axis=0)


def test_binary_label_message_is_the_same_in_every_layout():
    """The op's own layout (checked by the Go core) and the others (checked
    before the op) say the same thing."""
    y = _labels_with((2, 3), (1, 2), -2.0)
    x = np.full((2, 3), 0.5, np.float32)
    messages = []
    for labels, predictions, axis in ((y, x, -1), (y[None], x[None], -1), (y.T, x.T, 0)):
        with pytest.raises(tf.errors.InvalidArgumentError) as err:
            gofocal.binary_focal_loss(labels, predictions, axis=axis)
        messages.append(str(err.value))
    assert "labels[1, 2] = -2 is not in [0, 1]" in messages[0]
    assert "labels[0, 1, 2] = -2 is not in [0, 1]" in messages[1]
    assert "labels[2, 1] = -2 is not in [0, 1]" in messages[2]


def test_binary_label_check_off_and_what_it_lets_through():
    y = np.full((2, 3, 2), 0.25, np.float32)
    x = np.full((2, 3, 2), 0.5, np.float32)
    y[0, 1, 1] = -2.0
    loss = gofocal.binary_focal_loss(y, x, validate=False).numpy()
    assert np.isfinite(loss).all()
    np.testing.assert_allclose(loss[1], gofocal.binary_focal_loss(y[1], x[1]).numpy(), rtol=1e-6)
    # Soft labels in [0, 1], and NaN (which propagates), are not errors.
    y[0, 1, 1] = np.nan
    loss = gofocal.binary_focal_loss(y, x).numpy()
    assert np.isnan(loss[0, 1]) and np.isfinite(np.delete(loss.ravel(), 1)).all()


# --- clear errors: ragged and sparse inputs, tensor parameters -------------------

def _dense_and_odd(kind):
    dense = np.array([[0.5, 0.25, 0.75], [0.1, 0.9, 0.3]], np.float32)
    if kind == "ragged":
        return dense, tf.ragged.constant([[0.5, 0.25, 0.75], [0.1, 0.9]], dtype=tf.float32)
    return dense, tf.sparse.from_dense(dense)


CALLERS = {
    "seed_focal_loss": lambda y, p: gofocal.seed_focal_loss(y, p, [0.2, 0.3, 0.5]),
    "binary_focal_loss": lambda y, p: gofocal.binary_focal_loss(y, p),
    "binary_focal_loss_axis0": lambda y, p: gofocal.binary_focal_loss(y, p, axis=0),
    "focal_loss": lambda y, p: gofocal.focal_loss([1, 2, 3])(y, p),
}
KERAS_CALLERS = {
    "FocalLoss": lambda y, p: gofocal.FocalLoss(classes_num=[1, 2, 3])(y, p),
    "BinaryFocalLoss": lambda y, p: gofocal.BinaryFocalLoss()(y, p),
}


def _assert_dense_error(caller, which, kind):
    dense, odd = _dense_and_odd(kind)
    y, p = (odd, dense) if which == "labels" else (dense, odd)
    hint = ".to_tensor()" if kind == "ragged" else "tf.sparse.to_dense()"
    spelled = "tf.RaggedTensor" if kind == "ragged" else "tf.SparseTensor"
    with pytest.raises(TypeError) as err:
        caller(y, p)
    text = str(err.value)
    assert f"gofocal: {which} must be a dense tensor, got a {spelled}" in text and hint in text


@pytest.mark.parametrize("kind", ["ragged", "sparse"])
@pytest.mark.parametrize("which", ["labels", "predictions"])
@pytest.mark.parametrize("caller", list(CALLERS), ids=list(CALLERS))
def test_ragged_and_sparse_inputs_are_clear_errors(caller, which, kind):
    _assert_dense_error(CALLERS[caller], which, kind)


@pytest.mark.parametrize("kind", ["ragged", "sparse"])
@pytest.mark.parametrize("which", ["labels", "predictions"])
@pytest.mark.parametrize("caller", list(KERAS_CALLERS), ids=list(KERAS_CALLERS))
def test_ragged_and_sparse_inputs_to_keras_losses_are_clear_errors(caller, which, kind):
    _assert_dense_error(KERAS_CALLERS[caller], which, kind)


def test_ragged_inputs_inside_a_tf_function_are_clear_errors():
    dense, ragged = _dense_and_odd("ragged")
    fn = tf.function(lambda y, p: gofocal.binary_focal_loss(y, p), autograph=False)
    with pytest.raises(TypeError, match=r"gofocal: predictions must be a dense tensor"):
        fn(dense, ragged)


SEED_Y, SEED_P = WORKED_LABELS, WORKED_PREDICTIONS
BINARY_Y, BINARY_X = _inputs(13, (2, 3, 4), soft=True)


def _seed_with(p, gamma, e):
    return gofocal.seed_focal_loss(SEED_Y, p, WORKED_WEIGHTS, gamma=gamma, e=e)


def _binary_with(p, gamma, label_smoothing):
    return gofocal.binary_focal_loss(BINARY_Y, p, alpha=0.25, gamma=gamma,
                                     label_smoothing=label_smoothing)


def _binary_axis1_with(p, gamma, label_smoothing):
    return gofocal.binary_focal_loss(BINARY_Y, p, alpha=[0.1, 0.5, 0.9], gamma=gamma,
                                     label_smoothing=label_smoothing, axis=1)


# (name, fn(predictions, *parameters), predictions, parameters)
PARAM_CASES = [("seed", _seed_with, SEED_P, (2.5, 0.3)),
               ("seed_gamma0", _seed_with, SEED_P, (0.0, 0.2)),
               ("seed_gamma1", _seed_with, SEED_P, (1.0, 0.0)),
               ("binary", _binary_with, BINARY_X, (2.5, 0.1)),
               ("binary_gamma0", _binary_with, BINARY_X, (0.0, 0.0)),
               ("binary_gamma1", _binary_with, BINARY_X, (1.0, 1.0)),
               ("binary_axis1", _binary_axis1_with, BINARY_X, (1.5, 0.2))]


# int32 parameters only for the cases whose parameters are integers.
PARAM_DTYPE_CASES = [(case, dtype) for case in PARAM_CASES for dtype in ("float64", "float32", "int32")
                     if dtype != "int32" or all(v == int(v) for v in case[3])]


@pytest.mark.filterwarnings("ignore:gofocal.*XLA")
@pytest.mark.parametrize("jit", [False, True], ids=["op", "xla"])
@pytest.mark.parametrize("case, dtype", PARAM_DTYPE_CASES,
                         ids=[f"{c[0]}-{d}" for c, d in PARAM_DTYPE_CASES])
def test_symbolic_tensor_parameters(case, dtype, jit):
    """gamma, e and label_smoothing as symbolic tensors inside a tf.function
    (any real dtype) give what the same Python floats give, loss and
    gradient; under XLA the composite takes its general form."""
    name, fn, predictions, params = case
    predictions = tf.constant(predictions)

    def run(p, a, b):
        with tf.GradientTape() as tape:
            tape.watch(p)
            loss = fn(p, a, b)
            total = tf.reduce_sum(loss)
        return loss, tape.gradient(total, p)

    specs = [tf.TensorSpec(predictions.shape, tf.float64), tf.TensorSpec([], dtype),
             tf.TensorSpec([], dtype)]
    traced = tf.function(run, input_signature=specs, jit_compile=jit, autograph=False)
    params = [np.asarray(v).astype(dtype) for v in params]
    loss, grad = traced(predictions, *(tf.constant(v) for v in params))
    expected_loss, expected_grad = run(predictions, *(float(v) for v in params))
    assert_close(loss.numpy(), expected_loss.numpy(), "float64", what=f"{name} loss")
    expected_grad = expected_grad.numpy()
    np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-11,
                               atol=1e-12 * np.abs(expected_grad).max())


@pytest.mark.parametrize("which", ["gamma", "e"])
def test_symbolic_tensor_parameter_out_of_domain_fails_when_run(which):
    fn = tf.function(lambda v: gofocal.seed_focal_loss(SEED_Y, SEED_P, WORKED_WEIGHTS, **{which: v}),
                     input_signature=[tf.TensorSpec([], tf.float64)], autograph=False)
    pattern = r"gamma = -1" if which == "gamma" else r"\be = 3"
    with pytest.raises(tf.errors.InvalidArgumentError, match=pattern):
        fn(tf.constant(-1.0 if which == "gamma" else 3.0, tf.float64))


@pytest.mark.parametrize("value", [tf.constant([2.0, 1.0]), [2.0, 1.0], np.array([[2.0]])],
                         ids=["tensor", "list", "array"])
@pytest.mark.parametrize("which", ["gamma", "e", "label_smoothing"])
def test_non_scalar_parameter_is_a_clear_error(which, value):
    if which == "e":
        call = lambda: gofocal.seed_focal_loss(SEED_Y, SEED_P, WORKED_WEIGHTS, e=value)  # noqa: E731
    else:
        call = lambda: gofocal.binary_focal_loss(BINARY_Y, BINARY_X, **{which: value})  # noqa: E731
    with pytest.raises(ValueError, match=rf"gofocal: {which} must be a scalar"):
        call()
    traced = tf.function(call, autograph=False)
    with pytest.raises(ValueError, match=rf"gofocal: {which} must be a scalar"):
        traced()


def test_parameter_of_unknown_rank_is_checked_when_run():
    fn = tf.function(lambda g: gofocal.seed_focal_loss(SEED_Y, SEED_P, WORKED_WEIGHTS, gamma=g),
                     input_signature=[tf.TensorSpec(None, tf.float64)], autograph=False)
    np.testing.assert_array_equal(fn(tf.constant(2.0, tf.float64)).numpy(),
                                  gofocal.seed_focal_loss(SEED_Y, SEED_P, WORKED_WEIGHTS).numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"gamma must be a scalar"):
        fn(tf.constant([2.0, 2.0], tf.float64))


def test_parameter_that_is_not_a_number_is_a_type_error():
    with pytest.raises(TypeError, match=r"gofocal: gamma must be a number"):
        gofocal.seed_focal_loss(SEED_Y, SEED_P, WORKED_WEIGHTS, gamma="2")
    with pytest.raises(TypeError, match=r"gofocal: gamma must be a number"):
        gofocal.seed_focal_loss(SEED_Y, SEED_P, WORKED_WEIGHTS, gamma=tf.constant("2"))


# --- memory kept by failing calls ---------------------------------------------

_MEMORY_SCRIPT = textwrap.dedent("""
    import gc, os, sys
    import numpy as np
    import tensorflow as tf
    sys.path.insert(0, {python!r})
    import gofocal

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    y = tf.constant([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    p = tf.constant([[2.0, 0.3, 0.4], [0.2, 0.5, 0.05]])
    try:
        gofocal.seed_focal_loss(y, p, [0.3, 0.3, 0.4])
    except tf.errors.InvalidArgumentError as err:
        message = err.message
    nan = p / 0 * 0

    def ours():
        gofocal.seed_focal_loss(y, p, [0.3, 0.3, 0.4])

    def tensorflows():  # TensorFlow's own failing op, with a message as long
        tf.raw_ops.CheckNumerics(tensor=nan, message="x" * len(message))

    def per_call(fn, calls):
        for _ in range(2000):
            try:
                fn()
            except tf.errors.InvalidArgumentError:
                pass
        gc.collect()
        before = rss()
        for _ in range(calls):
            try:
                fn()
            except tf.errors.InvalidArgumentError:
                pass
        gc.collect()
        return (rss() - before) / calls

    print(per_call(tensorflows, 10000), per_call(ours, 10000), per_call(tensorflows, 10000))
""")


def test_failing_calls_keep_no_more_memory_than_tensorflows_own():
    """TensorFlow keeps some memory per failing eager op (about 0.6 KiB plus
    the message's length in TF 2.18, for its own ops too): a failing gofocal
    call may keep that, and not much more."""
    script = _MEMORY_SCRIPT.format(python=os.path.dirname(HERE))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    tf_before, ours, tf_after = (float(v) for v in done.stdout.split())
    tensorflows = max(tf_before, tf_after, 256.0)
    print(f"\nbytes kept per failing call: gofocal {ours:.0f}, TensorFlow's CheckNumerics "
          f"{tf_before:.0f} / {tf_after:.0f}")
    assert ours <= 2 * tensorflows + 512, (ours, tf_before, tf_after)
