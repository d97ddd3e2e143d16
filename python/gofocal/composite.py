"""The seed's loss written with TensorFlow's own ops, in TF 2 spelling.

This is the reference the op is held to (tests, demo, benchmarks), and the
fallback where the op has no kernel. It follows the seed line by line; see
SPEC.md. The op is the fast path: one fused pass instead of dozens of ops.
"""

import tensorflow as tf


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
    zeros = tf.zeros_like(prediction_tensor, dtype=prediction_tensor.dtype)
    one_minus_p = tf.where(tf.greater(target_tensor, zeros), target_tensor - prediction_tensor, zeros)
    ft = -1 * (one_minus_p ** gamma) * tf.math.log(tf.clip_by_value(prediction_tensor, 1e-8, 1.0))
    classes_weight = zeros + tf.convert_to_tensor(class_weights, dtype=prediction_tensor.dtype)
    alpha = tf.where(tf.greater(target_tensor, zeros), classes_weight, zeros)
    return alpha * ft


def seed_composite(target_tensor, prediction_tensor, class_weights, gamma=2.0, e=0.1):
    """Exactly what the seed returns: ``(1-e) * mean_{b,c}(A*FT) + e * R[b]``.

    Its batch mean is the seed's batch loss; per sample it spreads the focal
    term evenly over the batch (use ``seed_composite_per_sample`` for L[b]).
    """
    prediction_tensor = tf.convert_to_tensor(prediction_tensor)
    target_tensor = tf.cast(target_tensor, prediction_tensor.dtype)
    balanced_fl = tf.reduce_mean(
        _balanced_focal_terms(target_tensor, prediction_tensor, class_weights, gamma))
    return (1 - e) * balanced_fl + e * _categorical_crossentropy_uniform(prediction_tensor)


def seed_composite_per_sample(target_tensor, prediction_tensor, class_weights, gamma=2.0, e=0.1):
    """SPEC's per-sample loss L[b] = (1-e) * F[b] + e * R[b] from the same ops."""
    prediction_tensor = tf.convert_to_tensor(prediction_tensor)
    target_tensor = tf.cast(target_tensor, prediction_tensor.dtype)
    focal = tf.reduce_mean(
        _balanced_focal_terms(target_tensor, prediction_tensor, class_weights, gamma), axis=-1)
    return (1 - e) * focal + e * _categorical_crossentropy_uniform(prediction_tensor)


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
                     label_smoothing=0.0):
    """SPEC's ``binary`` variant per sample (mean over the last axis) from
    TensorFlow ops: Keras's BinaryFocalCrossentropy on probabilities, the
    numerically stable form on logits, ``alpha`` None, a float or per class.
    """
    predictions = tf.convert_to_tensor(predictions)
    t = tf.cast(labels, predictions.dtype)
    if label_smoothing:
        t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        z = predictions
        bce = tf.maximum(z, 0) - z * t + tf.math.log1p(tf.exp(-tf.abs(z)))
        one_minus_pt = t * tf.sigmoid(-z) + (1 - t) * tf.sigmoid(z)
    else:
        p = predictions
        epsilon = tf.constant(1e-7, p.dtype)
        q = tf.clip_by_value(p, epsilon, 1.0 - epsilon)
        bce = -(t * tf.math.log(q) + (1 - t) * tf.math.log(1 - q))
        one_minus_pt = 1 - (t * p + (1 - t) * (1 - p))
    focal = tf.pow(one_minus_pt, gamma) * bce
    if alpha is not None:
        a = tf.cast(alpha, predictions.dtype)
        focal = (t * a + (1 - t) * (1 - a)) * focal
    return tf.reduce_mean(focal, axis=-1)
