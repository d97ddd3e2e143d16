"""Keras-facing losses: the seed's drop-in function and a serializable Loss.

Both work with Keras 3 (``tf.keras`` in TensorFlow 2.18) and Keras 2
(``tf_keras`` with ``TF_USE_LEGACY_KERAS=1``), through ``tf.keras``.

On Keras 3 with another backend (JAX, torch), where the fused op, a
TensorFlow op, cannot run, each loss computes the same math written with
``keras.ops`` (``gofocal._keras_ops``) and warns once that it does.
"""

import numbers
import warnings

import tensorflow as tf

from gofocal import _host
from gofocal._ops import (as_dense, asymmetric_loss, binary_focal_loss, ignore_attrs,
                          seed_focal_loss)


def class_weights(classes_num, beta=None):
    """Class weights from per-class sample counts, summing to 1.

    Without ``beta``, the seed's normalised inverse frequency:
    ``w[c] = (1 / n[c]) / sum_k (1 / n[k])``. With ``beta`` in [0, 1), the
    class-balanced weights of Cui et al. (CVPR 2019), the inverse of each
    class's effective number ``(1 - beta^n) / (1 - beta)``, normalised:
    ``beta = 0`` gives uniform weights, and as ``beta -> 1`` they approach
    the seed's (the paper's usual values: 0.9, 0.99, 0.999, 0.9999). The
    paper scales its weights to sum to the number of classes: multiply by
    ``len(classes_num)`` for those.

    Computed as SPEC says (counts of any finite positive size, ``1 - beta^n``
    as ``-expm1(n log beta)``). Every count must be finite and > 0, or a
    ValueError names the class index; so does a ``beta`` outside [0, 1).
    Computed in Python with the Go core's operations and messages: building
    a loss starts no Go runtime, so a process may fork after it.
    """
    return _weights_of_counts(_as_list("classes_num", classes_num), beta)


def _weights_of_counts(counts, beta):
    if beta is None:
        return _host.class_weights(counts)
    return _host.class_weights_beta(counts, _number("beta", beta))


def _number(name, value):
    """A Python float from a number, or a TypeError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"gofocal: {name} must be a number, got {value!r}")
    return float(value)


def _as_list(name, values):
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError) as err:
        raise ValueError(f"gofocal: {name} must be a list of numbers, got {values!r}") from err


def _off_tensorflow(what):
    """Whether Keras computes off TensorFlow (Keras 3 on JAX or torch), so that
    the loss ``what`` must run gofocal._keras_ops rather than the fused op;
    if so, the process's one warning that it does is given (naming the
    caller's line). Decided when a loss is built: Keras fixes its backend
    when it is imported."""
    backend = tf.keras.backend.backend()
    if backend == "tensorflow":
        return False
    from gofocal import _keras_ops
    _keras_ops.warn_once(backend, what)
    return True


def _same_rank(y_true, y_pred):
    """Labels and predictions brought to one rank as Keras's losses do
    (``squeeze_or_expand_to_same_rank``): labels [B] with predictions [B, 1]
    become [B, 1]; otherwise a trailing dimension of 1 is squeezed."""
    y_pred = as_dense("predictions", y_pred)
    y_true = as_dense("labels", y_true)
    true_rank, pred_rank = y_true.shape.rank, y_pred.shape.rank
    if true_rank is None or pred_rank is None or true_rank == pred_rank:
        return y_true, y_pred
    if pred_rank == true_rank + 1 and y_pred.shape[-1] == 1:
        if true_rank == 1:
            return tf.expand_dims(y_true, -1), y_pred
        return y_true, tf.squeeze(y_pred, -1)
    if true_rank == pred_rank + 1 and y_true.shape[-1] == 1:
        if pred_rank == 1:
            return y_true, tf.expand_dims(y_pred, -1)
        return tf.squeeze(y_true, -1), y_pred
    return y_true, y_pred


def focal_loss(classes_num, gamma=2., alpha=.25, e=0.1, beta=None, ignore_value=None):
    """The seed's ``focal_loss``: a drop-in for ``loss=[focal_loss(classes_num)]``.

    Returns ``focal_loss_fixed(target_tensor, prediction_tensor)``, which gives
    the per-sample loss ``[batch]``; Keras averages it over the batch, which is
    exactly the seed's batch loss.

    Args:
      classes_num: the number of training samples of each class.
      gamma: focusing parameter, >= 0.
      alpha: accepted for compatibility and unused, as in the seed.
      e: weight of the label-smoothing term, in [0, 1].
      beta: None for the seed's inverse-frequency weights, or in [0, 1) for
        class-balanced ones (see ``class_weights``).
      ignore_value: None, or the label of unknown elements (e.g. -1): no
        positives (SPEC's partial labels).
    """
    ignore_attrs(ignore_value)
    weights = class_weights(classes_num, beta)
    _host.check_seed(gamma, e, ignore_value)
    if alpha != .25:
        warnings.warn("gofocal.focal_loss: alpha is unused by the seed variant, as in the seed",
                      stacklevel=2)

    if _off_tensorflow("gofocal.focal_loss"):
        from gofocal import _keras_ops

        def focal_loss_fixed(target_tensor, prediction_tensor):
            return _keras_ops.seed_focal_loss(target_tensor, prediction_tensor, weights,
                                              gamma=gamma, e=e, ignore_value=ignore_value)

        return focal_loss_fixed

    def focal_loss_fixed(target_tensor, prediction_tensor):
        return seed_focal_loss(target_tensor, prediction_tensor, weights, gamma=gamma, e=e,
                               ignore_value=ignore_value)

    return focal_loss_fixed


@tf.keras.utils.register_keras_serializable(package="gofocal")
class FocalLoss(tf.keras.losses.Loss):
    """The seed variant's multi-label focal loss as a Keras ``Loss``.

    Give either ``classes_num`` (per-class sample counts, turned into
    normalised inverse-frequency weights, or class-balanced ones with
    ``beta``) or ``class_weights``.

    Args:
      classes_num: per-class sample counts.
      class_weights: per-class weights, used as they are.
      gamma: focusing parameter, >= 0.
      e: weight of the label-smoothing term, in [0, 1].
      validate: reject predictions outside [0, 1].
      beta: with classes_num, None (the seed's weights) or in [0, 1) for
        class-balanced weights (see ``gofocal.class_weights``).
      ignore_value: None, or the label of unknown elements (e.g. -1): no
        positives (SPEC's partial labels).
      reduction: a Keras reduction ("sum_over_batch_size", "sum", "none", ...).
      name: the loss's name.
    """

    def __init__(self, classes_num=None, class_weights=None, gamma=2.0, e=0.1, validate=True,
                 reduction="sum_over_batch_size", name="focal_loss", beta=None,
                 ignore_value=None, **kwargs):
        super().__init__(reduction=reduction, name=name, **kwargs)
        self.ignore_value = _ignore_value_of(ignore_value)
        self.classes_num, self.class_weights, self._weights = _weights_from(
            "gofocal.FocalLoss", classes_num, class_weights, beta)
        self.beta = None if beta is None else float(beta)
        _host.check_seed(gamma, e, ignore_value)
        self.gamma = float(gamma)
        self.e = float(e)
        self.validate = bool(validate)
        self._off_tensorflow = _off_tensorflow("gofocal.FocalLoss")

    def call(self, y_true, y_pred):
        if self._off_tensorflow:
            from gofocal import _keras_ops
            y_true, y_pred = _keras_ops.same_rank(y_true, y_pred)
            return _keras_ops.seed_focal_loss(y_true, y_pred, self._weights, gamma=self.gamma,
                                              e=self.e, ignore_value=self.ignore_value)
        y_true, y_pred = _same_rank(y_true, y_pred)
        return seed_focal_loss(y_true, y_pred, self._weights, gamma=self.gamma, e=self.e,
                               validate=self.validate, ignore_value=self.ignore_value)

    def get_config(self):
        config = super().get_config()
        config.update(classes_num=self.classes_num, class_weights=self.class_weights,
                      gamma=self.gamma, e=self.e, validate=self.validate, beta=self.beta,
                      ignore_value=self.ignore_value)
        return config


def _weights_from(what, classes_num, class_weights, beta, required=True):
    """(classes_num, class_weights, the weights used) from a Loss's
    arguments: counts (with an optional beta) or weights; with required
    False, neither (no weights: None)."""
    if classes_num is not None and class_weights is not None:
        raise ValueError(f"{what}: give {'exactly' if required else 'at most'} one of "
                         "classes_num and class_weights, not both")
    if classes_num is not None:
        counts = _as_list("classes_num", classes_num)
        return counts, None, _weights_of_counts(counts, beta)
    if beta is not None:
        raise ValueError(f"{what}: beta needs classes_num (the counts it weighs)")
    if class_weights is not None:
        weights = _as_list("class_weights", class_weights)
        if not weights:
            raise ValueError(f"{what}: class_weights is empty")
        return None, weights, weights
    if required:
        raise ValueError(f"{what}: give exactly one of classes_num and class_weights")
    return None, None, None


def _ignore_value_of(ignore_value):
    """A Loss's ignore_value as stored in its config: None or a float,
    checked as the op takes it."""
    ignore_attrs(ignore_value)
    return None if ignore_value is None else float(ignore_value)


@tf.keras.utils.register_keras_serializable(package="gofocal")
class BinaryFocalLoss(tf.keras.losses.Loss):
    """The paper's focal loss, ``binary`` variant, as a Keras ``Loss``.

    The same arguments and defaults as ``keras.losses.BinaryFocalCrossentropy``,
    with ``alpha`` also accepting one value per class. From logits the loss
    stays exact (and its gradient useful) where Keras's clip saturates.

    Args:
      apply_class_balancing: weigh positives by alpha, negatives by 1 - alpha.
      alpha: a float, or a list of one float per class, each in [0, 1].
      gamma: focusing parameter, >= 0.
      from_logits: predictions are logits.
      label_smoothing: in [0, 1].
      axis: the class axis.
      reduction: a Keras reduction.
      name: the loss's name.
      validate: reject probabilities outside [0, 1].
      ignore_value: None, or the label of unknown elements (e.g. -1): no
        loss, a zero gradient, the mean over the known classes (SPEC's
        partial labels).
    """

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", validate=True, ignore_value=None, **kwargs):
        super().__init__(reduction=reduction, name=name, **kwargs)
        self.ignore_value = _ignore_value_of(ignore_value)
        alpha = float(alpha) if isinstance(alpha, numbers.Real) else _as_list("alpha", alpha)
        _host.check_binary(gamma, label_smoothing, alpha if isinstance(alpha, list) else [alpha],
                           ignore_value)
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha = alpha
        self.gamma = float(gamma)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.axis = int(axis)
        self.validate = bool(validate)
        self._off_tensorflow = _off_tensorflow("gofocal.BinaryFocalLoss")

    def call(self, y_true, y_pred):
        if self._off_tensorflow:
            from gofocal import _keras_ops
            y_true, y_pred = _keras_ops.same_rank(y_true, y_pred)
            return _keras_ops.binary_focal_loss(
                y_true, y_pred, alpha=self.alpha if self.apply_class_balancing else None,
                gamma=self.gamma, from_logits=self.from_logits,
                label_smoothing=self.label_smoothing, axis=self.axis,
                ignore_value=self.ignore_value)
        y_true, y_pred = _same_rank(y_true, y_pred)
        return binary_focal_loss(y_true, y_pred,
                                 alpha=self.alpha if self.apply_class_balancing else None,
                                 gamma=self.gamma, from_logits=self.from_logits,
                                 label_smoothing=self.label_smoothing, axis=self.axis,
                                 validate=self.validate, ignore_value=self.ignore_value)

    def get_config(self):
        config = super().get_config()
        config.update(apply_class_balancing=self.apply_class_balancing, alpha=self.alpha,
                      gamma=self.gamma, from_logits=self.from_logits,
                      label_smoothing=self.label_smoothing, axis=self.axis,
                      validate=self.validate, ignore_value=self.ignore_value)
        return config


@tf.keras.utils.register_keras_serializable(package="gofocal")
class AsymmetricLoss(tf.keras.losses.Loss):
    """The asymmetric loss (ASL, Ridnik et al., ICCV 2021) as a Keras
    ``Loss``: ``gofocal.asymmetric_loss`` per sample, a sum over the classes
    as in the reference, so that ``reduction="sum"`` gives the reference's
    ``-loss.sum()`` and the default gives it divided by the batch size.

    Class weights are optional: ``classes_num`` (per-class counts, with an
    optional ``beta`` for class-balanced weights), scaled to mean 1 here (the
    paper's scale for class-balanced weights), or ``class_weights`` used as
    they are.

    Args:
      gamma_neg, gamma_pos: focusing parameters, finite and >= 0 (the
        reference's 4 and 1).
      clip: probability shifting of the negatives, in [0, 1] (0.05).
      eps: the clamp of the logs, in (0, 1) (1e-8).
      focal_grad: differentiate the focal weight too.
      from_logits: predictions are logits (what the reference takes).
      classes_num: per-class counts for class weights, or None.
      beta: with classes_num, None (inverse frequency) or in [0, 1).
      class_weights: per-class weights >= 0, used as they are, or None.
      ignore_value: None, or the label of unknown elements (e.g. -1).
      validate: reject probabilities and labels outside [0, 1].
      reduction: a Keras reduction.
      name: the loss's name.
    """

    def __init__(self, gamma_neg=4.0, gamma_pos=1.0, clip=0.05, eps=1e-8, focal_grad=False,
                 from_logits=False, classes_num=None, beta=None, class_weights=None,
                 ignore_value=None, validate=True, reduction="sum_over_batch_size",
                 name="asymmetric_loss", **kwargs):
        super().__init__(reduction=reduction, name=name, **kwargs)
        self.ignore_value = _ignore_value_of(ignore_value)
        gamma_neg, gamma_pos = _number("gamma_neg", gamma_neg), _number("gamma_pos", gamma_pos)
        clip, eps = _number("clip", clip), _number("eps", eps)
        _host.check_asymmetric(gamma_neg, gamma_pos, clip, eps, ignore_value)
        self.classes_num, self.class_weights, weights = _weights_from(
            "gofocal.AsymmetricLoss", classes_num, class_weights, beta, required=False)
        if self.classes_num is not None:
            weights = [w * len(weights) for w in weights]
        self._weights = weights
        self.beta = None if beta is None else float(beta)
        self.gamma_neg, self.gamma_pos, self.clip, self.eps = gamma_neg, gamma_pos, clip, eps
        self.focal_grad, self.from_logits = bool(focal_grad), bool(from_logits)
        self.validate = bool(validate)
        self._off_tensorflow = _off_tensorflow("gofocal.AsymmetricLoss")

    def call(self, y_true, y_pred):
        kwargs = dict(gamma_neg=self.gamma_neg, gamma_pos=self.gamma_pos, clip=self.clip,
                      eps=self.eps, focal_grad=self.focal_grad, from_logits=self.from_logits,
                      class_weights=self._weights, ignore_value=self.ignore_value)
        if self._off_tensorflow:
            from gofocal import _keras_ops
            y_true, y_pred = _keras_ops.same_rank(y_true, y_pred)
            return _keras_ops.asymmetric_loss(y_true, y_pred, **kwargs)
        y_true, y_pred = _same_rank(y_true, y_pred)
        return asymmetric_loss(y_true, y_pred, validate=self.validate, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(gamma_neg=self.gamma_neg, gamma_pos=self.gamma_pos, clip=self.clip,
                      eps=self.eps, focal_grad=self.focal_grad, from_logits=self.from_logits,
                      classes_num=self.classes_num, beta=self.beta,
                      class_weights=self.class_weights, ignore_value=self.ignore_value,
                      validate=self.validate)
        return config
