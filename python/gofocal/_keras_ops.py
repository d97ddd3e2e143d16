"""The losses written with ``keras.ops``, for Keras 3 on a backend other than
TensorFlow (JAX, torch), where the fused op, a TensorFlow op, cannot run.

The same math as ``gofocal.composite`` (SPEC.md's ``seed`` and ``binary``
variants, which composite writes with TensorFlow ops), operation for
operation, so that a model trains to the same numbers on every backend; the
gradients come from the backend's autodiff. Every constant is converted
straight to the predictions' dtype, from float64.

Two places differ from a literal transcription, on purpose: a clip is
spelled with ``where`` (``keras.ops.clip`` on JAX splits the gradient at a
bound, where TensorFlow's ``clip_by_value`` and SPEC pass it whole; a
prediction of exactly 1 is common), and no value is checked (a check of
values needs their concrete numbers, which a traced function has not got;
the same as the op's XLA fallback).

Nothing here touches TensorFlow: under JAX the loss sees tracers, which
TensorFlow would try to turn into NumPy arrays. ``gofocal.losses`` imports
this module only off TensorFlow, after ``warn_once``.
"""

import warnings

import keras
import numpy as np
from keras import ops

from gofocal import _warnings

_HALF = ("float16", "bfloat16")

_warned = False


def warn_once(backend, what):
    """Warns, the first time in the process, that Keras runs on ``backend``
    and ``what`` (the loss being built) computes the keras.ops form. The
    warning names the user's line: the first frame outside gofocal and Keras."""
    global _warned
    if _warned:
        return
    _warned = True
    warnings.warn(
        f"gofocal: Keras runs on the {backend} backend, and gofocal's fused op is a TensorFlow "
        f"op: {what}, like every gofocal loss in this process, computes the same loss written "
        f"in keras.ops, its gradient by {backend}'s autodiff (and predictions are not checked "
        "to be probabilities). Set KERAS_BACKEND=tensorflow for the fused op.",
        stacklevel=_warnings.user_stacklevel())


def same_rank(y_true, y_pred):
    """``gofocal.losses._same_rank`` in keras.ops: labels [B] with predictions
    [B, 1] become [B, 1]; otherwise a trailing dimension of 1 is squeezed."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    true_rank, pred_rank = len(y_true.shape), len(y_pred.shape)
    if true_rank == pred_rank:
        return y_true, y_pred
    if pred_rank == true_rank + 1 and y_pred.shape[-1] == 1:
        if true_rank == 1:
            return ops.expand_dims(y_true, -1), y_pred
        return y_true, ops.squeeze(y_pred, -1)
    if true_rank == pred_rank + 1 and y_true.shape[-1] == 1:
        if pred_rank == 1:
            return y_true, ops.expand_dims(y_pred, -1)
        return ops.squeeze(y_true, -1), y_pred
    return y_true, y_pred


def _float_predictions(predictions):
    """As ``gofocal._ops._float_predictions``: float32 and float64 as they
    are, float16 and bfloat16 in float32; and the dtype to give back."""
    predictions = ops.convert_to_tensor(predictions)
    dtype = keras.backend.standardize_dtype(predictions.dtype)
    if dtype in _HALF:
        return ops.cast(predictions, "float32"), dtype
    if dtype not in ("float32", "float64"):
        raise TypeError(f"gofocal: predictions must be float16, bfloat16, float32 or float64, "
                        f"got {dtype}")
    return predictions, dtype


def _dtype(x):
    return keras.backend.standardize_dtype(x.dtype)


def _as(values, dtype):
    """values as a tensor of dtype: a tensor is cast; Python and NumPy values
    go through float64, never through float32."""
    if ops.is_tensor(values):
        return ops.cast(values, dtype)
    return ops.convert_to_tensor(np.asarray(values, np.float64).astype(dtype))


def _constant(value, dtype):
    """A scalar tensor of dtype (a Python value rounded straight to it, as
    TensorFlow rounds a clip bound)."""
    return ops.convert_to_tensor(np.asarray(value, np.float64).astype(dtype))


def _clip(x, low, high):
    """``tf.clip_by_value``: the gradient passes where ``low <= x <= high``,
    bounds included (``keras.ops.clip`` on JAX halves it at a bound)."""
    return ops.where(x < low, low, ops.where(x > high, high, x))


def _mean(x):
    """The mean over the last axis, as ``tf.reduce_mean`` (the sum divided by
    the count) in x's dtype: ``keras.ops.mean`` on JAX computes float64 in
    float32 (Keras 3.15)."""
    return ops.sum(x, axis=-1) / _constant(x.shape[-1], _dtype(x))


def _power(x, gamma):
    """``x ** gamma`` for a Python float gamma, with the polynomial's
    derivatives for gamma 0 and 1, as ``gofocal.composite._power``."""
    if gamma == 0:
        return ops.ones_like(x)
    if gamma == 1:
        return x
    return x ** gamma


def _check_shapes(labels, predictions):
    """The op's shape checks, made on the static shapes: labels and
    predictions of one shape, with at least one class. Returns the classes."""
    if tuple(labels.shape) != tuple(predictions.shape):
        raise ValueError(f"gofocal: labels and predictions must have the same shape, got labels "
                         f"{tuple(labels.shape)} and predictions {tuple(predictions.shape)}")
    if len(predictions.shape) == 0:
        raise ValueError("gofocal: predictions must have at least one dimension (the classes)")
    classes = predictions.shape[-1]
    if classes == 0:
        raise ValueError(f"gofocal: predictions of shape {tuple(predictions.shape)} have no "
                         "classes, want at least 1")
    return classes


def _known(labels, predictions, ignore_value, stand_in):
    """SPEC's partial labels: the mask of known elements (None without an
    ignore value), and labels and predictions with harmless stand-ins (0,
    and ``stand_in``) where unknown, so that nothing of them reaches the loss
    or its derivatives (not even a NaN prediction)."""
    if ignore_value is None:
        return None, labels, predictions
    known = ops.not_equal(labels, _constant(ignore_value, _dtype(labels)))
    labels = ops.where(known, labels, ops.zeros_like(labels))
    predictions = ops.where(known, predictions, ops.full_like(predictions, stand_in))
    return known, labels, predictions


def seed_focal_loss(labels, predictions, class_weights, gamma=2.0, e=0.1, ignore_value=None):
    """SPEC's ``seed`` variant per sample, ``L[b] = (1-e) F[b] + e R[b]``,
    as ``gofocal.composite.seed_composite_per_sample`` computes it.

    Args:
      labels: ``[batch, classes]`` (or ``[classes]``); entries > 0 are positives.
      predictions: probabilities of the same shape.
      class_weights: a list of ``classes`` weights.
      gamma: a Python float, >= 0 (checked by the caller).
      e: a Python float in [0, 1] (checked by the caller).
      ignore_value: None, or the label of unknown elements: no positives.

    Returns:
      The loss per sample, ``[batch]``, in the predictions' dtype.
    """
    predictions, dtype = _float_predictions(predictions)
    compute = _dtype(predictions)
    labels = ops.cast(labels, compute)
    weights = np.ravel(np.asarray(class_weights, np.float64))
    classes = _check_shapes(labels, predictions)
    if len(weights) != classes:
        raise ValueError(f"gofocal: class_weights must have one value per class: got "
                         f"{len(weights)} for predictions of shape {tuple(predictions.shape)}")
    gamma, e = float(gamma), float(e)
    if ignore_value is not None:
        unknown = ops.equal(labels, _constant(ignore_value, compute))
        labels = ops.where(unknown, ops.zeros_like(labels), labels)

    zeros = ops.zeros_like(predictions)
    positive = labels > zeros
    one_minus_p = ops.where(positive, labels - predictions, zeros)
    log_p = ops.log(_clip(predictions, _constant(1e-8, compute), _constant(1, compute)))
    ft = -1 * _power(one_minus_p, gamma) * log_p
    alpha = ops.where(positive, zeros + _as(weights, compute), zeros)
    focal = _mean(alpha * ft)

    # K.categorical_crossentropy(ones / C, predictions), as composite spells it.
    output = predictions / ops.sum(predictions, axis=-1, keepdims=True)
    epsilon = _constant(1e-7, compute)
    output = _clip(output, epsilon, _constant(1 - 1e-7, compute))
    target = ops.ones_like(predictions) / _constant(classes, compute)
    smoothing = -ops.sum(target * ops.log(output), axis=-1)
    return ops.cast((1 - e) * focal + e * smoothing, dtype)


def binary_focal_loss(labels, predictions, alpha=None, gamma=2.0, from_logits=False,
                      label_smoothing=0.0, axis=-1, ignore_value=None):
    """SPEC's ``binary`` variant, as ``gofocal.composite.binary_composite``:
    element by element Keras's BinaryFocalCrossentropy, with per-class alpha,
    and from logits the stable form; averaged over ``axis``.

    Args:
      labels: targets in [0, 1], the shape of predictions.
      predictions: probabilities, or logits with ``from_logits``; any rank >= 1.
      alpha: None (no class balancing), a float, or a list of one per class.
      gamma: a Python float, >= 0 (parameters are checked by the caller).
      from_logits: predictions are logits.
      label_smoothing: a Python float in [0, 1].
      axis: the class axis, averaged over.
      ignore_value: None, or the label of unknown elements: no loss, and the
        mean is over the known classes.

    Returns:
      The loss with ``axis`` removed, in the predictions' dtype.
    """
    predictions, dtype = _float_predictions(predictions)
    compute = _dtype(predictions)
    labels = ops.cast(labels, compute)
    rank = len(predictions.shape)
    if rank == 0:
        raise ValueError("gofocal: predictions must have at least one dimension (the classes)")
    if not -rank <= axis < rank:
        raise ValueError(f"gofocal: axis {axis} is out of range for predictions of rank {rank}")
    axis %= rank
    _check_shapes(labels, predictions)
    if axis != rank - 1:
        labels = ops.moveaxis(labels, axis, -1)
        predictions = ops.moveaxis(predictions, axis, -1)
    classes = predictions.shape[-1]
    alphas = None if alpha is None else np.ravel(np.asarray(alpha, np.float64))
    if alphas is not None and len(alphas) not in (1, classes):
        raise ValueError(f"gofocal: alpha holds {len(alphas)} values for {classes} classes")
    gamma, label_smoothing = float(gamma), float(label_smoothing)
    known, labels, predictions = _known(labels, predictions, ignore_value,
                                        0.0 if from_logits else 0.5)

    t = labels
    if label_smoothing:
        t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        z = predictions
        bce = ops.maximum(z, ops.zeros_like(z)) - z * t + ops.log1p(ops.exp(-ops.abs(z)))
        one_minus_pt = t * ops.sigmoid(-z) + (1 - t) * ops.sigmoid(z)
    else:
        p = predictions
        epsilon = _constant(1e-7, compute)
        q = _clip(p, epsilon, _constant(1 - 1e-7, compute))
        bce = -(t * ops.log(q) + (1 - t) * ops.log(1 - q))
        one_minus_pt = 1 - (t * p + (1 - t) * (1 - p))
    focal = _power(one_minus_pt, gamma) * bce
    if alphas is not None:
        a = _as(alphas, compute)
        focal = (t * a + (1 - t) * (1 - a)) * focal
    if known is None:
        return ops.cast(_mean(focal), dtype)
    count = ops.sum(ops.cast(known, compute), axis=-1)
    total = ops.sum(ops.where(known, focal, ops.zeros_like(focal)), axis=-1)
    return ops.cast(total / ops.maximum(count, _constant(1, compute)), dtype)


def asymmetric_loss(labels, predictions, gamma_neg=4.0, gamma_pos=1.0, clip=0.05, eps=1e-8,
                    focal_grad=False, from_logits=False, class_weights=None, ignore_value=None):
    """SPEC's ``asymmetric`` variant (ASL) per sample, a sum over the last
    axis, as ``gofocal.composite.asymmetric_composite`` computes it.

    Args: as ``gofocal.asymmetric_loss``, every parameter a Python number
    (checked by the caller), class_weights None or a list.

    Returns:
      The loss with the class axis removed, in the predictions' dtype.
    """
    predictions, dtype = _float_predictions(predictions)
    compute = _dtype(predictions)
    labels = ops.cast(labels, compute)
    classes = _check_shapes(labels, predictions)
    weights = None
    if class_weights is not None:
        weights = np.ravel(np.asarray(class_weights, np.float64))
        if len(weights) != classes:
            raise ValueError(f"gofocal: class_weights must have one value per class: got "
                             f"{len(weights)} for predictions of shape {tuple(predictions.shape)}")
    gamma_neg, gamma_pos, clip = float(gamma_neg), float(gamma_pos), float(clip)
    known, y, x = _known(labels, predictions, ignore_value, 0.0 if from_logits else 0.5)

    p = ops.sigmoid(x) if from_logits else x
    one = ops.ones_like(p)
    if clip > 0:
        shifted = 1 - p + _constant(clip, compute)
        neg = ops.where(shifted <= one, shifted, one)
    else:
        neg = 1 - p
    epsilon = _constant(eps, compute)
    # max(x, eps) with the gradient passing at the bound, as tf.maximum's.
    ce = (y * ops.log(ops.where(p >= epsilon, p, epsilon))
          + (1 - y) * ops.log(ops.where(neg >= epsilon, neg, epsilon)))
    if gamma_neg > 0 or gamma_pos > 0:
        u = 1 - (y * p + (1 - y) * neg)
        g = gamma_pos * y + gamma_neg * (1 - y)
        positive = u > ops.zeros_like(u)
        # u^g, its gradient 0 where u = 0 (SPEC's limit), 0^0 = 1.
        w = ops.where(positive, ops.power(ops.where(positive, u, one), g),
                      ops.power(ops.zeros_like(u), g))
        if not focal_grad:
            w = ops.stop_gradient(w)
        ce = w * ce
    if weights is not None:
        ce = _as(weights, compute) * ce
    if known is not None:
        ce = ops.where(known, ce, ops.zeros_like(ce))
    return ops.cast(-ops.sum(ce, axis=-1), dtype)
