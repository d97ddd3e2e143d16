"""The reference itself: gofocal.composite against SPEC's formulas.

The parity tests trust the composite, so it is held to SPEC first, including
on the tensors Keras hands a loss during model.fit.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gofocal import composite
from spec_reference import (CASES, WORKED_LABELS, WORKED_LOSS, WORKED_WEIGHTS, assert_close,
                            spec_loss_and_grad)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_composite_per_sample_matches_spec_formulas(case):
    loss = composite.seed_composite_per_sample(case.labels, case.predictions, case.weights,
                                               gamma=case.gamma, e=case.e)
    expected, _, _ = spec_loss_and_grad(case.labels, case.predictions, case.weights,
                                        case.gamma, case.e)
    assert_close(loss.numpy(), expected, "float64", what="composite per-sample loss")


def test_seed_composite_batch_mean_is_per_sample_mean():
    case = CASES[0]
    seed = composite.seed_composite(case.labels, case.predictions, case.weights)
    per_sample = composite.seed_composite_per_sample(case.labels, case.predictions, case.weights)
    assert_close(np.mean(seed.numpy()), np.mean(per_sample.numpy()), "float64", what="batch mean")


# Keras 3's sigmoid activation (what Dense(..., activation="sigmoid") calls)
# caches its logits on the output tensor as `_keras_logits`.
_LOGITS = np.array([[2.197224577, -0.847297860, -0.405465108],
                    [-1.386294361, 0.0, -2.944438979]])  # sigmoid -> ~WORKED_PREDICTIONS


def test_keras_sigmoid_output_is_what_model_fit_passes():
    output = keras.activations.sigmoid(tf.constant(_LOGITS))
    assert hasattr(output, "_keras_logits")
    assert_close(output.numpy(), tf.sigmoid(_LOGITS).numpy(), "float64", what="sigmoid")


def test_seeds_own_categorical_crossentropy_normalises_sigmoid_outputs():
    """The seed calls K.categorical_crossentropy (tf.keras.backend): it
    normalises, clips and logs whatever tensor it gets, as SPEC says."""
    output = keras.activations.sigmoid(tf.constant(_LOGITS))
    uniform = tf.ones_like(output) / 3
    from_keras_output = tf.keras.backend.categorical_crossentropy(uniform, output)
    from_plain_tensor = tf.keras.backend.categorical_crossentropy(uniform, tf.sigmoid(_LOGITS))
    assert_close(from_keras_output.numpy(), from_plain_tensor.numpy(), "float64", what="K.cce")


def test_composite_on_keras_sigmoid_output_matches_spec():
    """The composite must compute SPEC's L[b] on a Keras sigmoid output too.

    Keras 3's tf.keras.losses.categorical_crossentropy, given such a tensor,
    takes the softmax cross-entropy of the cached logits instead of
    normalising the probabilities (R[b] ~2.00 instead of ~1.21 here); a
    composite built on it would make model.fit parity meaningless.
    """
    output = keras.activations.sigmoid(tf.constant(_LOGITS))
    plain = tf.sigmoid(tf.constant(_LOGITS))
    expected, _, _ = spec_loss_and_grad(WORKED_LABELS, plain.numpy(), WORKED_WEIGHTS, 2.0, 0.1)
    assert_close(expected, WORKED_LOSS, "float32", what="inputs ~ the worked example")
    loss = composite.seed_composite_per_sample(WORKED_LABELS, output, WORKED_WEIGHTS)
    assert_close(loss.numpy(), expected, "float64", what="composite on a Keras sigmoid output")
