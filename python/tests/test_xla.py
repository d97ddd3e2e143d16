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
