"""Under XLA (jit_compile=True) the op has no kernel; seed_focal_loss falls
back to the composite with a warning. It must still be the same loss, and
SPEC's parameter domains still hold ("every layer the same")."""

import pytest
import tensorflow as tf

import gofocal
from gofocal import _ops
from spec_reference import CASES, assert_close, spec_loss_and_grad

CASE = next(c for c in CASES if c.name == "hard_b8_c5")


def _loss_and_grad(jit, dtype, **kwargs):
    weights = CASE.weights.astype(dtype)

    @tf.function(jit_compile=jit, autograph=False)
    def run(y, p):
        with tf.GradientTape() as tape:
            tape.watch(p)
            loss = gofocal.seed_focal_loss(y, p, weights, **kwargs)
            total = tf.reduce_sum(loss)
        return loss, tape.gradient(total, p)

    loss, grad = run(tf.constant(CASE.labels, dtype), tf.constant(CASE.predictions, dtype))
    return loss.numpy(), grad.numpy()


def test_xla_fallback_warns_and_gives_the_same_loss(dtype, monkeypatch):
    monkeypatch.setattr(_ops, "_warned", set())
    with pytest.warns(UserWarning, match=r"XLA"):
        loss, grad = _loss_and_grad(True, dtype, gamma=1.5, e=0.2)
    expected, expected_grad = _loss_and_grad(False, dtype, gamma=1.5, e=0.2)
    assert_close(loss, expected, dtype, what="loss under XLA")
    _, _, magnitude = spec_loss_and_grad(CASE.labels, CASE.predictions, CASE.weights, 1.5, 0.2, dtype)
    assert_close(grad, expected_grad, dtype, scale=magnitude, what="gradient under XLA")


@pytest.mark.filterwarnings("ignore:gofocal.*XLA")
@pytest.mark.parametrize("kwargs,pattern", [({"gamma": -1.0}, r"gamma = -1"), ({"e": 3.0}, r"\be = 3")],
                         ids=["gamma_negative", "e_above_one"])
def test_xla_fallback_still_rejects_bad_parameters(kwargs, pattern):
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match=pattern):
        _loss_and_grad(True, "float64", **kwargs)


@pytest.mark.parametrize("autograph", [False, True])
def test_xla_warning_names_the_users_line(monkeypatch, autograph):
    # Not TensorFlow's tracing code, nor gofocal's: the line that calls the
    # loss, or (autograph running a converted copy of the function, which
    # has no file to show) the line that calls the function.
    monkeypatch.setattr(_ops, "_warned", set())

    @tf.function(jit_compile=True, autograph=autograph)
    def step(y, p):
        return gofocal.seed_focal_loss(y, p, [0.5, 0.5])  # the loss's line

    with pytest.warns(UserWarning, match=r"XLA") as caught:
        step(tf.constant([[1.0, 0.0]]), tf.constant([[0.5, 0.5]]))  # the function's line
    [warning] = [w for w in caught if "XLA" in str(w.message)]
    assert warning.filename == __file__, warning.filename
    line = open(__file__).read().splitlines()[warning.lineno - 1]
    assert ("the function's line" if autograph else "the loss's line") in line, line
