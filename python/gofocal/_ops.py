"""Python wrappers of the op and its gradient registration."""

import tensorflow as tf

from gofocal import _native

SEED_OP = "GoFocal>SeedFocalLoss"


@tf.RegisterGradient(SEED_OP)
def _seed_focal_loss_grad(op, dloss, unused_dgrad):
    """d/dpredictions = dloss[..., None] * grad, the op's own second output.

    The ``grad`` output is treated as a constant: second derivatives are not
    provided. Labels, weights, gamma and e get no gradient.
    """
    dpredictions = tf.expand_dims(dloss, -1) * op.outputs[1]
    return [None, dpredictions, None, None, None]


def seed_focal_loss(labels, predictions, class_weights, gamma=2.0, e=0.1, validate=True, name=None):
    """The per-sample loss of the ``seed`` variant (SPEC.md), differentiable.

    Args:
      labels: ``[batch, classes]`` (or ``[classes]``); entries > 0 are positives.
        Cast to the predictions' dtype.
      predictions: probabilities of the same shape, float32 or float64.
      class_weights: ``[classes]`` weights, e.g. ``class_weights(counts)``.
      gamma: focusing parameter, >= 0.
      e: weight of the label-smoothing term, in [0, 1].
      validate: reject predictions outside [0, 1] (an InvalidArgumentError
        naming the first offending index).

    Returns:
      The loss per sample, ``[batch]`` (a scalar for rank-1 input).
    """
    with tf.name_scope(name or "seed_focal_loss"):
        predictions = tf.convert_to_tensor(predictions)
        if predictions.dtype not in (tf.float32, tf.float64):
            raise TypeError(
                f"gofocal: predictions must be float32 or float64, got {predictions.dtype.name}")
        labels = tf.cast(labels, predictions.dtype)
        class_weights = tf.cast(class_weights, predictions.dtype)
        loss, _ = _native.ops().go_focal_seed_focal_loss(
            labels, predictions, class_weights,
            tf.constant(gamma, tf.float64), tf.constant(e, tf.float64),
            validate=validate)
        return loss
