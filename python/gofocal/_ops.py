"""Python wrappers of the op and its gradient registration."""

import warnings

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.ops import control_flow_util

from gofocal import _native, composite

SEED_OP = "GoFocal>SeedFocalLoss"
BINARY_OP = "GoFocal>BinaryFocalLoss"
SCALE_ROWS_OP = "GoFocal>ScaleRows"


@tf.RegisterGradient(SEED_OP)
@tf.RegisterGradient(BINARY_OP)
def _focal_loss_grad(op, dloss, unused_dgrad):
    """d/dpredictions = dloss[..., None] * grad, the op's own second output,
    computed by the ScaleRows op in grad's buffer (the values of
    ``tf.expand_dims(dloss, -1) * grad``, without a new tensor).

    The ``grad`` output is treated as a constant: second derivatives are not
    provided. Labels and the parameter inputs get no gradient.
    """
    dpredictions = _native.ops().go_focal_scale_rows(op.outputs[1], dloss)
    return [None, dpredictions, None, None, None]


@tf.RegisterGradient(SCALE_ROWS_OP)
def _scale_rows_grad(op, dscaled):
    """The gradient of scaled = scale[..., None] * grad, as for a multiply."""
    grad, scale = op.inputs
    return [tf.expand_dims(scale, -1) * dscaled, tf.reduce_sum(dscaled * grad, axis=-1)]


_warned = set()


def _in_xla():
    """Whether ops built now are compiled by XLA (``jit_compile=True``),
    where the op, which has no XLA kernel, cannot run."""
    return control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())


def _warn_xla_once(what):
    if what not in _warned:
        _warned.add(what)
        warnings.warn(
            f"gofocal: {what} is compiled with XLA (jit_compile=True), where the fused op has no "
            "kernel; it falls back to the same loss written with TensorFlow ops (slower, and "
            "without the check that predictions are probabilities). Compile without XLA for "
            "the fused op.", stacklevel=3)


_HALF = (tf.float16, tf.bfloat16)


def _as_dtype(values, dtype):
    """values as a tensor of dtype. Python and NumPy values are converted
    from float64, so that a list of weights is not rounded to float32 on its
    way to a float64 tensor (as tf.cast of a list would)."""
    if tf.is_tensor(values):
        return tf.cast(values, dtype)
    return tf.cast(np.asarray(values, dtype=np.float64), dtype)


def _float_predictions(predictions):
    """The predictions in a dtype the op computes in: float32 and float64 as
    they are, float16 and bfloat16 (mixed precision) in float32. Returns them
    and the dtype to give the loss back in."""
    predictions = tf.convert_to_tensor(predictions)
    dtype = predictions.dtype
    if dtype in _HALF:
        return tf.cast(predictions, tf.float32), dtype
    if dtype not in (tf.float32, tf.float64):
        raise TypeError(f"gofocal: predictions must be float16, bfloat16, float32 or float64, "
                        f"got {dtype.name}")
    return predictions, dtype


@tf.autograph.experimental.do_not_convert
def seed_focal_loss(labels, predictions, class_weights, gamma=2.0, e=0.1, validate=True,
                    sharding="go", name=None):
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
      sharding: who splits the rows over as many threads as TensorFlow's
        intra-op pool has: "go" (one Go call whose goroutines share them; the
        default, measured faster) or "tensorflow" (the pool itself, one Go
        call per shard). The results have the same bits either way.

    Returns:
      The loss per sample, ``[batch]`` (a scalar for rank-1 input).
    """
    with tf.name_scope(name or "seed_focal_loss"):
        predictions, dtype = _float_predictions(predictions)
        labels = _as_dtype(labels, predictions.dtype)
        class_weights = _as_dtype(class_weights, predictions.dtype)
        if _in_xla():
            _warn_xla_once("seed_focal_loss")
            # The op's checks, where they can be made while tracing.
            _native.check_seed(gamma, e)
            if not class_weights.shape[-1:].is_compatible_with(predictions.shape[-1:]):
                raise ValueError(
                    f"gofocal: class_weights must have one value per class: got shape "
                    f"{class_weights.shape} for predictions of shape {predictions.shape}")
            loss = composite.seed_composite_per_sample(labels, predictions, class_weights, gamma, e)
        else:
            loss, _ = _native.ops().go_focal_seed_focal_loss(
                labels, predictions, class_weights,
                tf.constant(gamma, tf.float64), tf.constant(e, tf.float64),
                validate=validate, sharding=sharding)
        return tf.cast(loss, dtype)


@tf.autograph.experimental.do_not_convert
def binary_focal_loss(labels, predictions, alpha=None, gamma=2.0, from_logits=False,
                      label_smoothing=0.0, axis=-1, validate=True, sharding="go",
                      name=None):
    """The per-sample loss of the ``binary`` variant (SPEC.md), differentiable.

    Element by element what ``keras.losses.BinaryFocalCrossentropy`` computes,
    averaged over ``axis``; from logits in the numerically stable form.

    Args:
      labels: targets in [0, 1], the shape of predictions; cast to its dtype.
      predictions: probabilities, or logits with ``from_logits``; float32 or
        float64, any rank >= 1.
      alpha: None for no class balancing, one float, or one float per class.
      gamma: focusing parameter, >= 0; 0 gives binary cross-entropy.
      from_logits: predictions are logits.
      label_smoothing: in [0, 1]; labels become ``y * (1 - ls) + 0.5 * ls``.
      axis: the class axis, averaged over.
      validate: reject probabilities outside [0, 1].
      sharding: "tensorflow" or "go", as for ``seed_focal_loss``.

    Returns:
      The loss with ``axis`` removed.
    """
    with tf.name_scope(name or "binary_focal_loss"):
        predictions, dtype = _float_predictions(predictions)
        return tf.cast(_binary_focal_loss(labels, predictions, alpha, gamma, from_logits,
                                          label_smoothing, axis, validate, sharding), dtype)


def _binary_focal_loss(labels, predictions, alpha, gamma, from_logits, label_smoothing, axis,
                       validate, sharding):
    labels = _as_dtype(labels, predictions.dtype)
    rank = predictions.shape.rank
    if rank is None:
        raise ValueError("gofocal: predictions must have a known rank")
    if rank == 0:
        raise ValueError("gofocal: predictions must have at least one dimension (the classes)")
    if not -rank <= axis < rank:
        raise ValueError(f"gofocal: axis {axis} is out of range for predictions of rank {rank}")
    axis %= rank
    if _in_xla():
        _warn_xla_once("binary_focal_loss")
        alphas = [] if alpha is None else np.ravel(np.asarray(alpha, np.float64)).tolist()
        _native.check_binary(gamma, label_smoothing, alphas)
        classes = predictions.shape[axis]
        if len(alphas) > 1 and classes is not None and len(alphas) != classes:
            raise ValueError(f"gofocal: alpha holds {len(alphas)} values for {classes} classes")
        return composite.binary_composite(
            _move_to_last(labels, axis), _move_to_last(predictions, axis), alpha, gamma,
            from_logits, label_smoothing)
    if axis == rank - 1 and rank <= 2:
        # The op's own layout: it checks shapes and values itself.
        return _binary_op(labels, predictions, alpha, gamma, from_logits, label_smoothing,
                          validate, sharding)
    # Any other layout is brought to [rows, classes] for the op, after the
    # checks that need the caller's layout to name shapes and indices.
    checks = [_same_shape(labels, predictions)]
    if validate and not from_logits:
        checks.append(_probabilities(predictions))
    with tf.control_dependencies(checks):
        labels = _move_to_last(labels, axis)
        predictions = _move_to_last(predictions, axis)
    outer = tf.shape(predictions)[:-1]
    classes = tf.shape(predictions)[-1]
    loss = _binary_op(tf.reshape(labels, [-1, classes]), tf.reshape(predictions, [-1, classes]),
                      alpha, gamma, from_logits, label_smoothing, False, sharding)
    return tf.reshape(loss, outer)


def _binary_op(labels, predictions, alpha, gamma, from_logits, label_smoothing, validate,
               sharding):
    alpha = tf.reshape(tf.constant([] if alpha is None else alpha, tf.float64), [-1])
    loss, _ = _native.ops().go_focal_binary_focal_loss(
        labels, predictions, alpha,
        tf.constant(gamma, tf.float64), tf.constant(label_smoothing, tf.float64),
        from_logits=from_logits, validate=validate, sharding=sharding)
    return loss


def _move_to_last(x, axis):
    rank = x.shape.rank
    return x if axis == rank - 1 else tf.experimental.numpy.moveaxis(x, axis, -1)


def _same_shape(labels, predictions):
    """A check (raising now where shapes are static) that labels and
    predictions have one shape, naming both."""
    if not labels.shape.is_compatible_with(predictions.shape):
        raise ValueError(f"gofocal: labels and predictions must have the same shape, got labels "
                         f"{labels.shape} and predictions {predictions.shape}")
    return tf.debugging.assert_equal(
        tf.shape(labels), tf.shape(predictions),
        message="gofocal: labels and predictions must have the same shape")


def _probabilities(predictions):
    """A check that every finite prediction lies in [0, 1], naming the first
    one that does not by its index in the caller's layout, as the op does."""
    bad = tf.logical_and(tf.math.is_finite(predictions),
                         tf.logical_or(predictions < 0, predictions > 1))
    first = tf.where(bad)[:1]
    index = tf.strings.reduce_join(tf.strings.as_string(tf.reshape(first, [-1])), separator=", ")
    value = tf.strings.reduce_join(tf.strings.as_string(tf.gather_nd(predictions, first), shortest=True))
    message = tf.strings.join(["goloss: invalid value: predictions[", index, "] = ", value,
                               " is not a probability in [0, 1]"])
    return tf.debugging.Assert(tf.logical_not(tf.reduce_any(bad)), [message])
