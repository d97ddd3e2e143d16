"""float16 and bfloat16 predictions (Keras mixed precision): computed in
float32 inside, loss and gradient in the input dtype."""

import numpy as np
import pytest
import tensorflow as tf

import gofocal

Y = np.array([[1., 0., 1.], [0., 1., 0.]])
P = np.array([[.9, .3, .4], [.2, .5, .05]])
W = gofocal.class_weights([1, 2, 3])


def _loss_and_grad(fn, dtype):
    p = tf.Variable(tf.cast(P, dtype))
    with tf.GradientTape() as tape:
        loss = fn(Y, p)
        total = tf.reduce_sum(loss)
    return loss, tape.gradient(total, p)


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
@pytest.mark.parametrize("variant", ["seed", "binary"])
def test_half_precision_computes_in_float32(dtype, variant):
    if variant == "seed":
        fn = lambda y, p: gofocal.seed_focal_loss(y, p, W)  # noqa: E731
    else:
        fn = lambda y, p: gofocal.binary_focal_loss(y, p, alpha=0.25)  # noqa: E731
    loss, grad = _loss_and_grad(fn, dtype)
    assert loss.dtype == dtype and grad.dtype == dtype
    # The same inputs, rounded to the half type, computed in float32.
    rounded = tf.cast(tf.cast(P, dtype), tf.float32)
    want_loss, want_grad = _loss_and_grad(lambda y, p: fn(y, p), tf.float32)
    p32 = tf.Variable(rounded)
    with tf.GradientTape() as tape:
        want_loss = fn(Y, p32)
        total = tf.reduce_sum(want_loss)
    want_grad = tape.gradient(total, p32)
    # Only the final rounding to the half type separates them.
    np.testing.assert_array_equal(loss.numpy(), tf.cast(want_loss, dtype).numpy())
    np.testing.assert_array_equal(grad.numpy(), tf.cast(want_grad, dtype).numpy())


def test_keras_mixed_float16_policy_trains():
    keras = tf.keras
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="sigmoid")])
        assert model.layers[-1].compute_dtype == "float16"
        model.compile(optimizer="sgd", loss=gofocal.FocalLoss(classes_num=[1, 2, 3]))
        x = np.random.default_rng(0).uniform(size=(32, 4)).astype("float32")
        y = (np.random.default_rng(1).uniform(size=(32, 3)) < 0.4).astype("float32")
        history = model.fit(x, y, epochs=2, batch_size=8, verbose=0).history["loss"]
        assert np.all(np.isfinite(history))
        assert history[1] < history[0]
    finally:
        keras.mixed_precision.set_global_policy("float32")
