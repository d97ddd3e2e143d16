"""The seed's loss written with TensorFlow's own ops, in TF 2 spelling.

This is the reference the op is held to (tests, demo, benchmarks), and the
fallback where the op has no kernel. It follows the seed line by line; see
SPEC.md. The op is the fast path: one fused pass instead of dozens of ops.

Every constant is converted straight to the predictions' dtype (float64 stays
float64: a list of weights or alphas is never rounded through float32 on the
way), and ``gamma``, ``e`` and ``label_smoothing`` may be Python numbers or
scalar tensors (a symbolic one inside a ``tf.function`` too).
"""

import numpy as np
import tensorflow as tf


def _as(values, dtype):
    """values as a tensor of dtype: a tensor is cast; Python and NumPy values
    go through float64, never through float32 (as ``tf.cast`` of a list does)."""
    if tf.is_tensor(values):
        return tf.cast(values, dtype)
    return tf.cast(np.asarray(values, dtype=np.float64), dtype)


def _param(value, dtype):
    """A scalar parameter: a Python float when its value is known while
    tracing (so arithmetic on it stays in float64 until it meets a tensor,
    and gamma 0 or 1 can be specialised), else a scalar tensor of dtype."""
    if tf.is_tensor(value):
        static = tf.get_static_value(value)
        if static is None or np.ndim(static) != 0:
            return tf.cast(value, dtype)
        value = static
    return float(value)


def _power(x, gamma):
    """``x ** gamma`` as the seed computes it (``tf.pow``, the same bits),
    with the derivatives of the polynomial where gamma is 0 or 1: ``tf.pow``'s
    gradient at ``x = 0`` is ``gamma * 0 ** (gamma - 1)``, ``0 * inf = NaN``
    for gamma 0, and its second derivative is NaN there for gamma 1, where
    the true ones (SPEC's limits) are finite."""
    if not tf.is_tensor(gamma):
        if gamma == 0:
            return tf.ones_like(x)
        if gamma == 1:
            return tf.identity(x)
        return x ** gamma
    general = tf.logical_and(tf.not_equal(gamma, 0), tf.not_equal(gamma, 1))
    # tf.pow never sees x = 0 when gamma is 0 or 1, so its gradient there is
    # finite and the where below zeroes it instead of making 0 * inf.
    powered = tf.pow(tf.where(general, x, tf.ones_like(x)), gamma)
    return tf.where(general, powered, tf.where(tf.equal(gamma, 0), tf.ones_like(x), x))


def _categorical_crossentropy_uniform(predictions):
    """The seed's K.categorical_crossentropy(ones/C, predictions), as SPEC.md
    defines it: normalise the predictions, clip to [1e-7, 1 - 1e-7], log.

    Spelled with plain TensorFlow ops on purpose: Keras's own function, given
    the output of a sigmoid layer, finds the logits Keras tagged on it and
    uses softmax(logits) instead of p / sum(p), which is another loss.
    """
    classes = tf.cast(tf.shape(predictions)[-1], predictions.dtype)
    output = predictions / tf.reduce_sum(predictions, axis=-1, keepdims=True)
    epsilon = tf.constant(1e-7, predictions.dtype)
    output = tf.clip_by_value(output, epsilon, 1.0 - epsilon)
    target = tf.ones_like(predictions) / classes
    return -tf.reduce_sum(target * tf.math.log(output), axis=-1)


def _balanced_focal_terms(target_tensor, prediction_tensor, class_weights, gamma):
    """alpha * FT of the seed, elementwise."""
    dtype = prediction_tensor.dtype
    gamma = _param(gamma, dtype)
    zeros = tf.zeros_like(prediction_tensor, dtype=dtype)
    one_minus_p = tf.where(tf.greater(target_tensor, zeros), target_tensor - prediction_tensor, zeros)
    ft = -1 * _power(one_minus_p, gamma) * tf.math.log(tf.clip_by_value(prediction_tensor, 1e-8, 1.0))
    classes_weight = zeros + _as(class_weights, dtype)
    alpha = tf.where(tf.greater(target_tensor, zeros), classes_weight, zeros)
    return alpha * ft


def _smoothed(focal, smoothing, e):
    """(1 - e) * focal + e * smoothing, with e a Python float or a tensor."""
    e = _param(e, focal.dtype)
    return (1 - e) * focal + e * smoothing


def _without_unknown(target_tensor, ignore_value):
    """SPEC's partial labels in the seed variant: a label equal to
    ignore_value is no positive, as a label of 0 is not."""
    if ignore_value is None:
        return target_tensor
    unknown = tf.equal(target_tensor, _as(ignore_value, target_tensor.dtype))
    return tf.where(unknown, tf.zeros_like(target_tensor), target_tensor)


def seed_composite(target_tensor, prediction_tensor, class_weights, gamma=2.0, e=0.1,
                   ignore_value=None):
    """Exactly what the seed returns: ``(1-e) * mean_{b,c}(A*FT) + e * R[b]``.

    Its batch mean is the seed's batch loss; per sample it spreads the focal
    term evenly over the batch (use ``seed_composite_per_sample`` for L[b]).
    A label equal to ``ignore_value`` (SPEC's partial labels) is no positive.
    """
    prediction_tensor = tf.convert_to_tensor(prediction_tensor)
    target_tensor = _without_unknown(_as(target_tensor, prediction_tensor.dtype), ignore_value)
    balanced_fl = tf.reduce_mean(
        _balanced_focal_terms(target_tensor, prediction_tensor, class_weights, gamma))
    return _smoothed(balanced_fl, _categorical_crossentropy_uniform(prediction_tensor), e)


def seed_composite_per_sample(target_tensor, prediction_tensor, class_weights, gamma=2.0, e=0.1,
                              ignore_value=None):
    """SPEC's per-sample loss L[b] = (1-e) * F[b] + e * R[b] from the same ops.
    A label equal to ``ignore_value`` (SPEC's partial labels) is no positive."""
    prediction_tensor = tf.convert_to_tensor(prediction_tensor)
    target_tensor = _without_unknown(_as(target_tensor, prediction_tensor.dtype), ignore_value)
    focal = tf.reduce_mean(
        _balanced_focal_terms(target_tensor, prediction_tensor, class_weights, gamma), axis=-1)
    return _smoothed(focal, _categorical_crossentropy_uniform(prediction_tensor), e)


def seed_composite_loss(classes_num, gamma=2., alpha=.25, e=0.1):
    """The seed's ``focal_loss(classes_num, ...)`` itself, for comparisons."""
    total_num = float(sum(classes_num))
    classes_w_t1 = [total_num / ff for ff in classes_num]
    sum_ = sum(classes_w_t1)
    weights = [ff / sum_ for ff in classes_w_t1]

    def focal_loss_fixed(target_tensor, prediction_tensor):
        return seed_composite(target_tensor, prediction_tensor, weights, gamma=gamma, e=e)

    return focal_loss_fixed


def binary_composite(labels, predictions, alpha=None, gamma=2.0, from_logits=False,
                     label_smoothing=0.0, ignore_value=None):
    """SPEC's ``binary`` variant per sample (mean over the last axis) from
    TensorFlow ops: Keras's BinaryFocalCrossentropy on probabilities, the
    numerically stable form on logits, ``alpha`` None, a float or per class.

    With ``ignore_value`` (SPEC's partial labels) an element whose label
    equals it adds nothing, its prediction unused, and the mean is over the
    known classes of the row (0 for a row with none).
    """
    predictions = tf.convert_to_tensor(predictions)
    dtype = predictions.dtype
    t = _as(labels, dtype)
    known = None
    if ignore_value is not None:
        known = tf.not_equal(t, _as(ignore_value, dtype))
        # Harmless stand-ins where unknown, so that neither the loss nor any
        # derivative of it sees the element (not even a NaN prediction).
        t = tf.where(known, t, tf.zeros_like(t))
        stand_in = tf.zeros_like(predictions) if from_logits else 0.5 * tf.ones_like(predictions)
        predictions = tf.where(known, predictions, stand_in)
    label_smoothing = _param(label_smoothing, dtype)
    if tf.is_tensor(label_smoothing) or label_smoothing:
        t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        z = predictions
        # max(z, 0) and -|z| spelled with one where, as
        # tf.nn.sigmoid_cross_entropy_with_logits does: the same values, and
        # at z = 0 the gradient sigmoid(0) - t (tf.maximum's and tf.abs's
        # own gradients there make it 1 - t).
        nonnegative = z >= 0
        relu = tf.where(nonnegative, z, tf.zeros_like(z))
        negative_abs = tf.where(nonnegative, -z, z)
        bce = relu - z * t + tf.math.log1p(tf.exp(negative_abs))
        one_minus_pt = t * tf.sigmoid(-z) + (1 - t) * tf.sigmoid(z)
    else:
        p = predictions
        epsilon = tf.constant(1e-7, dtype)
        q = tf.clip_by_value(p, epsilon, 1.0 - epsilon)
        bce = -(t * tf.math.log(q) + (1 - t) * tf.math.log(1 - q))
        one_minus_pt = 1 - (t * p + (1 - t) * (1 - p))
    focal = _power(one_minus_pt, _param(gamma, dtype)) * bce
    if alpha is not None:
        a = _as(alpha, dtype)
        focal = (t * a + (1 - t) * (1 - a)) * focal
    if known is None:
        return tf.reduce_mean(focal, axis=-1)
    count = tf.reduce_sum(tf.cast(known, dtype), axis=-1)
    total = tf.reduce_sum(tf.where(known, focal, tf.zeros_like(focal)), axis=-1)
    return total / tf.maximum(count, 1)


def _safe_power(u, g):
    """``u ** g`` for u >= 0 and an elementwise g >= 0, whose gradient where
    u = 0 is 0 (SPEC's limit: the focal term's ce is 0 there) rather than
    ``g * 0 ** (g - 1) = inf`` times 0 for g < 1; 0^0 = 1."""
    positive = u > 0
    powered = tf.pow(tf.where(positive, u, tf.ones_like(u)), g)
    return tf.where(positive, powered, tf.pow(tf.zeros_like(u), g))


def asymmetric_composite(labels, predictions, gamma_neg=4.0, gamma_pos=1.0, clip=0.05, eps=1e-8,
                         focal_grad=False, from_logits=False, class_weights=None,
                         ignore_value=None):
    """SPEC's ``asymmetric`` variant (ASL, Ridnik et al.) per sample from
    TensorFlow ops, as its reference code writes it: the loss of a row is the
    sum over its classes. ``focal_grad=False`` (the reference's default)
    stops the gradient at the focal weight ``w = (1 - pt)^g``.

    With ``ignore_value`` (SPEC's partial labels) an element whose label
    equals it adds nothing, its prediction unused: the sum is over the known
    classes (0 for a row with none).
    """
    predictions = tf.convert_to_tensor(predictions)
    dtype = predictions.dtype
    y = _as(labels, dtype)
    known = None
    if ignore_value is not None:
        known = tf.not_equal(y, _as(ignore_value, dtype))
        y = tf.where(known, y, tf.zeros_like(y))
        stand_in = tf.zeros_like(predictions) if from_logits else 0.5 * tf.ones_like(predictions)
        predictions = tf.where(known, predictions, stand_in)
    gamma_neg, gamma_pos = _param(gamma_neg, dtype), _param(gamma_pos, dtype)
    clip = _param(clip, dtype)
    p = tf.sigmoid(predictions) if from_logits else predictions
    one = tf.ones_like(p)
    if tf.is_tensor(clip) or clip > 0:
        # min(1 - p + m, 1), its gradient passing at the bound inclusive.
        shifted = 1 - p + clip
        neg = tf.where(shifted <= 1, shifted, one)
    else:
        neg = 1 - p
    epsilon = _param(eps, dtype)
    ce = y * tf.math.log(tf.maximum(p, epsilon)) + (1 - y) * tf.math.log(tf.maximum(neg, epsilon))
    if (tf.is_tensor(gamma_neg) or tf.is_tensor(gamma_pos) or gamma_neg > 0 or gamma_pos > 0):
        pt = y * p + (1 - y) * neg
        g = gamma_pos * y + gamma_neg * (1 - y)
        w = _safe_power(1 - pt, g)
        if not focal_grad:
            w = tf.stop_gradient(w)
        ce = w * ce
    if class_weights is not None:
        ce = _as(class_weights, dtype) * ce
    if known is not None:
        ce = tf.where(known, ce, tf.zeros_like(ce))
    return -tf.reduce_sum(ce, axis=-1)
