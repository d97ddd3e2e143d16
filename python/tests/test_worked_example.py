"""SPEC.md's worked example through every entry point.

float64 results must agree with SPEC's numbers to 1e-12 relative; float32
results to 1e-5 relative (SPEC's float32 contract).
"""

import numpy as np
import pytest
import tensorflow as tf

import gofocal
from gofocal import composite
from spec_reference import (WORKED_COUNTS, WORKED_LABELS, WORKED_LOSS, WORKED_MEAN,
                            WORKED_PREDICTIONS, WORKED_WEIGHTS, assert_close)


def test_class_weights_from_counts():
    weights = gofocal.class_weights(WORKED_COUNTS)
    assert_close(weights, WORKED_WEIGHTS, "float64", what="class weights")
    assert sum(weights) == pytest.approx(1.0, rel=1e-15)


def test_raw_op(raw_op):
    loss, grad = raw_op(WORKED_LABELS, WORKED_PREDICTIONS, WORKED_WEIGHTS)
    assert loss.dtype == tf.float64 and grad.shape == WORKED_PREDICTIONS.shape
    assert_close(loss.numpy(), WORKED_LOSS, "float64", what="raw op loss")
    assert_close(np.mean(loss.numpy()), WORKED_MEAN, "float64", what="raw op mean")


def test_seed_focal_loss_with_weight_array():
    loss = gofocal.seed_focal_loss(WORKED_LABELS, WORKED_PREDICTIONS, WORKED_WEIGHTS)
    assert_close(loss.numpy(), WORKED_LOSS, "float64", what="seed_focal_loss")


def test_seed_focal_loss_with_weight_list():
    # gofocal.class_weights returns a list, and focal_loss/FocalLoss pass one on.
    weights = gofocal.class_weights(WORKED_COUNTS)
    loss = gofocal.seed_focal_loss(WORKED_LABELS, WORKED_PREDICTIONS, weights)
    assert_close(loss.numpy(), WORKED_LOSS, "float64", what="seed_focal_loss, weights as a list")


def test_list_class_weights_are_not_rounded_to_float32():
    """A Python list of float64 weights must reach a float64 op as float64:
    tf.cast(list, float64) converts the list to float32 first."""
    weights = gofocal.class_weights(WORKED_COUNTS)
    from_list = gofocal.seed_focal_loss(WORKED_LABELS, WORKED_PREDICTIONS, weights).numpy()
    from_array = gofocal.seed_focal_loss(WORKED_LABELS, WORKED_PREDICTIONS, np.array(weights)).numpy()
    np.testing.assert_array_equal(from_list, from_array)


def test_focal_loss_float64():
    loss = gofocal.focal_loss(WORKED_COUNTS, gamma=2., e=0.1)(WORKED_LABELS, WORKED_PREDICTIONS)
    assert loss.dtype == tf.float64
    assert_close(loss.numpy(), WORKED_LOSS, "float64", what="focal_loss")


def test_focal_loss_float32():
    loss = gofocal.focal_loss(WORKED_COUNTS)(WORKED_LABELS.astype("float32"),
                                             WORKED_PREDICTIONS.astype("float32"))
    assert loss.dtype == tf.float32
    assert_close(loss.numpy(), WORKED_LOSS, "float32", what="focal_loss float32")


@pytest.mark.parametrize("reduction,expected", [("none", WORKED_LOSS),
                                                ("sum_over_batch_size", WORKED_MEAN)])
def test_focal_loss_class_float64(reduction, expected):
    loss = gofocal.FocalLoss(classes_num=WORKED_COUNTS, reduction=reduction, dtype="float64")
    value = loss(WORKED_LABELS, WORKED_PREDICTIONS)
    assert value.dtype == tf.float64
    assert_close(value.numpy(), expected, "float64", what=f"FocalLoss {reduction}")


@pytest.mark.parametrize("reduction,expected", [("none", WORKED_LOSS),
                                                ("sum_over_batch_size", WORKED_MEAN)])
def test_focal_loss_class_float32(reduction, expected):
    # Keras losses compute in the loss's dtype, floatx (float32) by default.
    value = gofocal.FocalLoss(classes_num=WORKED_COUNTS, reduction=reduction)(
        WORKED_LABELS, WORKED_PREDICTIONS)
    assert value.dtype == tf.float32
    assert_close(value.numpy(), expected, "float32", what=f"FocalLoss {reduction}")


def test_seed_composite_gives_the_same_batch_mean():
    loss = composite.seed_composite_loss(WORKED_COUNTS)(WORKED_LABELS, WORKED_PREDICTIONS)
    assert_close(np.mean(loss.numpy()), WORKED_MEAN, "float64", what="seed composite")
    per_sample = composite.seed_composite_per_sample(WORKED_LABELS, WORKED_PREDICTIONS, WORKED_WEIGHTS)
    assert_close(per_sample.numpy(), WORKED_LOSS, "float64", what="seed composite per sample")
