"""The op's registered gradient against tf.test.compute_gradient's central
differences, in float64, away from the clip bounds and from y == p."""

import numpy as np
import pytest
import tensorflow as tf

import gofocal

# Central differences with delta = 1e-6 on predictions in [0.05, 0.95]: the
# truncation error is ~delta^2 * |f'''| <= 1e-12 * 2/0.05^3 ~ 2e-8 and the
# rounding error ~1e-16 / delta = 1e-10, so 1e-6 relative with a 1e-7 floor
# is loose enough to pass and tight enough to catch any wrong term (the
# smallest term in play is ~1e-2).
DELTA = 1e-6
RTOL, ATOL = 1e-6, 1e-7


def _data(seed, rows, classes, soft):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, (rows, classes))
    positive = rng.random((rows, classes)) < 0.5
    positive[0, 0] = True
    if soft:  # soft labels strictly above their predictions
        y = np.where(positive, p + (1 - p) * rng.uniform(0.2, 0.8, (rows, classes)), 0.0)
    else:
        y = positive.astype(np.float64)
    counts = rng.integers(1, 100, classes)
    return y, p, gofocal.class_weights(counts.tolist())


@pytest.mark.parametrize("gamma,e,soft", [
    (2.0, 0.1, False), (0.0, 0.1, False), (0.5, 0.2, True), (1.0, 0.1, False),
    (1.5, 0.1, True), (3.0, 0.0, False), (2.0, 1.0, False), (2.0, 0.5, True),
])
def test_gradient_matches_numerical(gamma, e, soft):
    y, p, w = _data(int(gamma * 10 + e * 100), 4, 5, soft)
    w = np.array(w)

    def loss(predictions):
        return gofocal.seed_focal_loss(y, predictions, w, gamma=gamma, e=e)

    (theoretical,), (numerical,) = tf.test.compute_gradient(loss, [tf.constant(p)], delta=DELTA)
    assert theoretical.shape == (4, 20)
    # Row b's loss depends on row b only.
    off_block = np.ones((4, 4, 5), bool)
    off_block[np.arange(4), np.arange(4)] = False
    assert (theoretical.reshape(4, 4, 5)[off_block] == 0).all()
    np.testing.assert_allclose(theoretical, numerical, rtol=RTOL, atol=ATOL)


def test_gradient_matches_numerical_rank1():
    y, p, w = _data(3, 1, 6, False)

    def loss(predictions):
        return gofocal.seed_focal_loss(y[0], predictions, np.array(w))

    (theoretical,), (numerical,) = tf.test.compute_gradient(loss, [tf.constant(p[0])], delta=DELTA)
    assert theoretical.shape == (1, 6)
    np.testing.assert_allclose(theoretical, numerical, rtol=RTOL, atol=ATOL)


def test_gradient_of_weighted_sum_matches_numerical():
    """Upstream gradients that differ per row reach the right rows."""
    y, p, w = _data(11, 5, 3, False)
    v = np.linspace(-2, 3, 5)

    def loss(predictions):
        return tf.reduce_sum(v * gofocal.seed_focal_loss(y, predictions, np.array(w)))

    (theoretical,), (numerical,) = tf.test.compute_gradient(loss, [tf.constant(p)], delta=DELTA)
    np.testing.assert_allclose(theoretical, numerical, rtol=RTOL, atol=ATOL)
