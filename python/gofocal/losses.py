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
from gofocal._ops import as_dense, binary_focal_loss, seed_focal_loss


def class_weights(classes_num):
    """Normalised inverse-frequency class weights from per-class sample counts.

    ``w[c] = (1 / n[c]) / sum_k (1 / n[k])``, computed as SPEC says (each
    count divided into the smallest first, so that no count overflows); the
    weights sum to 1. Every count must be finite and > 0, or a ValueError
    names the class index. Computed in Python with the Go core's operations
    and messages: building a loss starts no Go runtime, so a process may
    fork after it.
    """
    return _host.class_weights(_as_list("classes_num", classes_num))


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


def focal_loss(classes_num, gamma=2., alpha=.25, e=0.1):
    """The seed's ``focal_loss``: a drop-in for ``loss=[focal_loss(classes_num)]``.

    Returns ``focal_loss_fixed(target_tensor, prediction_tensor)``, which gives
    the per-sample loss ``[batch]``; Keras averages it over the batch, which is
    exactly the seed's batch loss.

    Args:
      classes_num: the number of training samples of each class.
      gamma: focusing parameter, >= 0.
      alpha: accepted for compatibility and unused, as in the seed.
      e: weight of the label-smoothing term, in [0, 1].
    """
    weights = class_weights(classes_num)
    _host.check_seed(gamma, e)
    if alpha != .25:
        warnings.warn("gofocal.focal_loss: alpha is unused by the seed variant, as in the seed",
                      stacklevel=2)

    if _off_tensorflow("gofocal.focal_loss"):
        from gofocal import _keras_ops

        def focal_loss_fixed(target_tensor, prediction_tensor):
            return _keras_ops.seed_focal_loss(target_tensor, prediction_tensor, weights,
                                              gamma=gamma, e=e)

        return focal_loss_fixed

    def focal_loss_fixed(target_tensor, prediction_tensor):
        return seed_focal_loss(target_tensor, prediction_tensor, weights, gamma=gamma, e=e)

    return focal_loss_fixed


@tf.keras.utils.register_keras_serializable(package="gofocal")
class FocalLoss(tf.keras.losses.Loss):
    """The seed variant's multi-label focal loss as a Keras ``Loss``.

    Give either ``classes_num`` (per-class sample counts, turned into
    normalised inverse-frequency weights) or ``class_weights``.

    Args:
      classes_num: per-class sample counts.
      class_weights: per-class weights, used as they are.
      gamma: focusing parameter, >= 0.
      e: weight of the label-smoothing term, in [0, 1].
      validate: reject predictions outside [0, 1].
      reduction: a Keras reduction ("sum_over_batch_size", "sum", "none", ...).
      name: the loss's name.
    """

    def __init__(self, classes_num=None, class_weights=None, gamma=2.0, e=0.1, validate=True,
                 reduction="sum_over_batch_size", name="focal_loss", **kwargs):
        super().__init__(reduction=reduction, name=name, **kwargs)
        if (classes_num is None) == (class_weights is None):
            raise ValueError("gofocal.FocalLoss: give exactly one of classes_num and class_weights")
        if classes_num is not None:
            self.classes_num = _as_list("classes_num", classes_num)
            self._weights = _host.class_weights(self.classes_num)
            self.class_weights = None
        else:
            self.classes_num = None
            self.class_weights = _as_list("class_weights", class_weights)
            if not self.class_weights:
                raise ValueError("gofocal.FocalLoss: class_weights is empty")
            self._weights = self.class_weights
        _host.check_seed(gamma, e)
        self.gamma = float(gamma)
        self.e = float(e)
        self.validate = bool(validate)
        self._off_tensorflow = _off_tensorflow("gofocal.FocalLoss")

    def call(self, y_true, y_pred):
        if self._off_tensorflow:
            from gofocal import _keras_ops
            y_true, y_pred = _keras_ops.same_rank(y_true, y_pred)
            return _keras_ops.seed_focal_loss(y_true, y_pred, self._weights, gamma=self.gamma,
                                              e=self.e)
        y_true, y_pred = _same_rank(y_true, y_pred)
        return seed_focal_loss(y_true, y_pred, self._weights, gamma=self.gamma, e=self.e,
                               validate=self.validate)

    def get_config(self):
        config = super().get_config()
        config.update(classes_num=self.classes_num, class_weights=self.class_weights,
                      gamma=self.gamma, e=self.e, validate=self.validate)
        return config


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
    """

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", validate=True, **kwargs):
        super().__init__(reduction=reduction, name=name, **kwargs)
        alpha = float(alpha) if isinstance(alpha, numbers.Real) else _as_list("alpha", alpha)
        _host.check_binary(gamma, label_smoothing, alpha if isinstance(alpha, list) else [alpha])
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
                label_smoothing=self.label_smoothing, axis=self.axis)
        y_true, y_pred = _same_rank(y_true, y_pred)
        return binary_focal_loss(y_true, y_pred,
                                 alpha=self.alpha if self.apply_class_balancing else None,
                                 gamma=self.gamma, from_logits=self.from_logits,
                                 label_smoothing=self.label_smoothing, axis=self.axis,
                                 validate=self.validate)

    def get_config(self):
        config = super().get_config()
        config.update(apply_class_balancing=self.apply_class_balancing, alpha=self.alpha,
                      gamma=self.gamma, from_logits=self.from_logits,
                      label_smoothing=self.label_smoothing, axis=self.axis,
                      validate=self.validate)
        return config
