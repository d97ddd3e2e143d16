"""Shared setup for the gofocal test suite."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from gofocal import _native  # noqa: E402


@pytest.fixture(scope="session")
def raw_op():
    """The op itself: (labels, predictions, class_weights, gamma, e, validate) -> (loss, grad)."""
    op = _native.ops().go_focal_seed_focal_loss

    def call(labels, predictions, class_weights, gamma=2.0, e=0.1, validate=True):
        return op(labels, predictions, class_weights,
                  tf.constant(gamma, tf.float64), tf.constant(e, tf.float64), validate=validate)

    return call


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    return request.param
