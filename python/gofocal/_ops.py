"""Python wrappers of the op and its gradient registration."""

import numbers
import warnings

import numpy as np
import tensorflow as tf
from tensorflow.python.eager import record
from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.ops import control_flow_util
from tensorflow.python.ops.ragged import ragged_tensor_value

from gofocal import _host, _native, _warnings, composite

SEED_OP = "GoFocal>SeedFocalLoss"
BINARY_OP = "GoFocal>BinaryFocalLoss"
ASYMMETRIC_OP = "GoFocal>AsymmetricLoss"
SCALE_ROWS_OP = "GoFocal>ScaleRows"

# Set on the op's `grad` output in eager mode: False where nothing but the
# gradient function can consume it (the wrappers drop it), True once that
# function has made a ScaleRows of it that a tape may record. Absent (the
# raw op, whose caller may use `grad`): treated as True.
_MAY_HAVE_CONSUMER = "_gofocal_may_have_consumer"

# The wrappers' grad_scale: their `grad` output, which only the gradient
# functions see, is the gradient times 1/rows when rows is a power of two,
# so that the backward of a batch mean (Keras's default reduction) makes no
# pass over it.
_GRAD_SCALE = "inverse_batch"


@tf.RegisterGradient(SEED_OP)
@tf.RegisterGradient(BINARY_OP)
def _focal_loss_grad(op, dloss, dgrad):
    """d/dpredictions = dloss[..., None] * grad + H dgrad.

    The first term uses the op's own second output ``grad``, scaled by the
    ScaleRows op in grad's buffer (the values of
    ``tf.expand_dims(dloss, -1) * grad``, without a new tensor).

    The second is there for second derivatives (a gradient of the gradient,
    a Hessian-vector product): ``dgrad`` is what flows back into ``grad``,
    and ``H[b] = d grad[b, :] / d predictions[b, :]`` (rows are independent;
    within a row the seed's smoothing term couples the classes, the binary
    variant is elementwise). It is computed, with TensorFlow ops in the op's
    dtype, by differentiating the composite twice (see _hessian_product);
    only when ``dgrad`` can be nonzero: TensorFlow hands a gradient function
    zeros for an output nothing differentiated through (eager, tf.function,
    Keras fit alike), and first-order training must not pay for H.

    Labels and the parameter inputs get no gradient.
    """
    second_order = _has_upstream(op.outputs[1], dgrad)
    dpredictions = _first_order(op, dloss)
    if second_order:
        hessian = _hessian_product(op, dgrad)
        if _grad_scale(op) == "inverse_batch":  # grad is c * the gradient
            hessian = hessian * _batch_scale(op.outputs[0])
        dpredictions = dpredictions + hessian
    return [None, dpredictions, None, None, None]


@tf.RegisterGradient(ASYMMETRIC_OP)
def _asymmetric_loss_grad(op, dloss, dgrad):
    """d/dpredictions = dloss[..., None] * grad, as for the other ops. Its
    second derivatives are not provided (there is no composite of the
    asymmetric variant to take them from): a gradient flowing into ``grad``
    is an error, never a silent zero."""
    if _has_upstream(op.outputs[1], dgrad):
        raise NotImplementedError(
            f"gofocal: second derivatives of {ASYMMETRIC_OP} are not provided: "
            "something differentiates its gradient (a Hessian, a Hessian-vector product, a "
            "gradient penalty). First derivatives are.")
    return [None, _first_order(op, dloss)] + [None] * (len(op.inputs) - 2)


def _grad_scale(op):
    """The op's grad_scale attribute ('one' for a graph from before it)."""
    try:
        value = op.get_attr("grad_scale")
    except (KeyError, ValueError):
        return "one"
    return value.decode() if isinstance(value, bytes) else value


def _batch_scale(loss):
    """The factor c of grad_scale 'inverse_batch', in the loss's dtype, as
    the op computes it: 1/rows when rows, the size of the loss ([rows], a
    scalar for rank-1 input), is a power of two, else 1."""
    rows = tf.size(loss, out_type=tf.int64)
    power_of_two = tf.logical_and(rows > 0, tf.equal(tf.bitwise.bitwise_and(rows, rows - 1), 0))
    one = tf.constant(1, loss.dtype)
    return tf.where(power_of_two, one / tf.cast(tf.maximum(rows, 1), loss.dtype), one)


def _first_order(op, dloss):
    """dloss[..., None] * grad by the ScaleRows op. With grad_scale
    'inverse_batch', grad is already the gradient times c (1/rows for a
    power of two rows, see _batch_scale); ScaleRows returns it as it is
    where dloss is c in every row (the gradient of a batch mean), and
    otherwise scales it back exactly before the product."""
    grad = op.outputs[1]
    dpredictions = _native.ops().go_focal_scale_rows(grad, dloss, grad_scale=_grad_scale(op))
    if isinstance(grad, tf_ops.EagerTensor) and record.could_possibly_record():
        # A tape may record that ScaleRows, and so later send `grad` a gradient.
        setattr(grad, _MAY_HAVE_CONSUMER, True)
    return dpredictions


@tf.RegisterGradient(SCALE_ROWS_OP)
def _scale_rows_grad(op, dscaled):
    """The gradient of scaled = (scale / c)[..., None] * grad, as for a
    multiply, with c = 1 for grad_scale 'one' (see _batch_scale). Each
    product by 1/c is a ScaleRows of the same grad_scale, which knows c
    (with a scale of ones for dscale)."""
    grad, scale = op.inputs
    grad_scale = _grad_scale(op)
    if grad_scale == "one":
        return [tf.expand_dims(scale, -1) * dscaled, tf.reduce_sum(dscaled * grad, axis=-1)]
    scale_rows = _native.ops().go_focal_scale_rows
    return [scale_rows(dscaled, scale, grad_scale=grad_scale),
            tf.reduce_sum(scale_rows(dscaled * grad, tf.ones_like(scale), grad_scale=grad_scale),
                          axis=-1)]


def _has_upstream(grad, dgrad):
    """Whether dgrad, the gradient flowing into the op's `grad` output, may be
    other than zeros.

    Graph mode (tf.function, Keras fit, tf.gradients): TensorFlow's zeros for
    an unused output are a ZerosLike, a Fill of 0 or a Const of zeros; they
    are recognised while tracing, at no cost when the graph runs. Eager: a
    `grad` no tape could have seen consumed (the wrappers' own, until a tape
    records a ScaleRows of it) has TensorFlow's zeros and is not looked at;
    otherwise the values are (one reduction, only on that path).
    """
    if dgrad is None:
        return False
    if isinstance(dgrad, tf_ops.EagerTensor):
        if not getattr(grad, _MAY_HAVE_CONSUMER, True):
            return False
        return _any_nonzero(dgrad)
    return not _known_zeros(dgrad)


def _any_nonzero(tensor):
    return bool(tf.reduce_any(tf.not_equal(tensor, 0)))


def _known_zeros(tensor):
    """Whether a graph tensor is zeros by construction."""
    op = tensor.op
    if op.type == "ZerosLike":
        return True
    if op.type == "Fill":
        value = op.inputs[1]
    elif op.type == "Const":
        value = tensor
    else:
        return False
    static = tf.get_static_value(value)
    return static is not None and not np.any(static)


_ZERO = tf.UnconnectedGradients.ZERO


def _hessian_product(op, vector):
    """sum_c' d grad[b, c'] / d predictions[b, c] * vector[b, c'] (H is
    symmetric) for the op's own inputs, from the composite's second
    derivatives in the op's dtype: grad is what TensorFlow's autodiff of the
    composite gives (SPEC), so its derivative is that autodiff's derivative."""
    labels, predictions, parameters = op.inputs[0], op.inputs[1], op.inputs[2:]
    dtype = predictions.dtype
    ignore_value = _ignore_value(op)
    if op.type == SEED_OP:
        weights, gamma, e = parameters

        def loss(p):
            return composite.seed_composite_per_sample(labels, p, weights, gamma, e, ignore_value)
    else:
        alpha, gamma, label_smoothing = parameters
        from_logits = op.get_attr("from_logits")

        def loss(p):
            return _binary_composite_of_op(labels, p, alpha, gamma, from_logits, label_smoothing,
                                           ignore_value)
    with tf.GradientTape() as outer:
        outer.watch(predictions)
        with tf.GradientTape() as inner:
            inner.watch(predictions)
            total = tf.reduce_sum(loss(predictions))
        grad = inner.gradient(total, predictions, unconnected_gradients=_ZERO)
        directional = tf.reduce_sum(grad * tf.cast(vector, dtype))
    return outer.gradient(directional, predictions, unconnected_gradients=_ZERO)


def _ignore_value(op):
    """The op's ignore value (SPEC's partial labels) as a float, or None."""
    try:
        if op.get_attr("has_ignore"):
            return op.get_attr("ignore_value")
    except (KeyError, ValueError):  # a graph from before the attribute
        pass
    return None


def _binary_composite_of_op(labels, predictions, alpha, gamma, from_logits, label_smoothing,
                            ignore_value):
    """The binary composite for the op's inputs, alpha as the op takes it:
    [0] (none), [1] or [classes]."""
    def binary(alpha):
        return composite.binary_composite(labels, predictions, alpha, gamma, from_logits,
                                          label_smoothing, ignore_value)

    n = alpha.shape[0] if alpha.shape.rank == 1 else None
    if n is not None:
        return binary(alpha if n else None)
    # Length known only when the graph runs: both forms, the unused one with
    # a harmless alpha of 0.
    size = tf.size(alpha)
    padded = tf.concat([tf.reshape(alpha, [-1]), tf.zeros([1], alpha.dtype)], 0)
    return tf.where(size > 0, binary(padded[:tf.maximum(size, 1)]), binary(None))


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
            "without checks of values: that predictions are probabilities, that binary labels "
            "are in [0, 1], and of parameters given as symbolic tensors). Compile without XLA "
            "for the fused op.", stacklevel=_warnings.user_stacklevel())


_HALF = (tf.float16, tf.bfloat16)


def as_dense(name, value):
    """value as a dense tensor, or a TypeError that says how to get one: the
    op, and the checks before it, take dense tensors only. For the Keras
    losses, which convert their inputs before calling the functions here."""
    if isinstance(value, (tf.RaggedTensor, ragged_tensor_value.RaggedTensorValue)):
        raise TypeError(
            f"gofocal: {name} must be a dense tensor, got a tf.RaggedTensor; convert it with "
            f".to_tensor() (which pads short rows with 0, or with the default_value you give), "
            f"so that every row has one value per class")
    if isinstance(value, (tf.SparseTensor, tf.compat.v1.SparseTensorValue)):
        raise TypeError(
            f"gofocal: {name} must be a dense tensor, got a tf.SparseTensor; convert it with "
            f"tf.sparse.to_dense()")
    return tf.convert_to_tensor(value)


def _as_dtype(name, values, dtype):
    """values as a tensor of dtype. Python and NumPy values are converted
    from float64, so that a list of weights is not rounded to float32 on its
    way to a float64 tensor (as tf.cast of a list would)."""
    if tf.is_tensor(values):
        return tf.cast(as_dense(name, values), dtype)
    as_dense(name, values)  # the same TypeError for a RaggedTensorValue or SparseTensorValue
    return tf.cast(np.asarray(values, dtype=np.float64), dtype)


def _float_predictions(predictions):
    """The predictions in a dtype the op computes in: float32 and float64 as
    they are, float16 and bfloat16 (mixed precision) in float32. Returns them
    and the dtype to give the loss back in."""
    predictions = as_dense("predictions", predictions)
    dtype = predictions.dtype
    if dtype in _HALF:
        return tf.cast(predictions, tf.float32), dtype
    if dtype not in (tf.float32, tf.float64):
        raise TypeError(f"gofocal: predictions must be float16, bfloat16, float32 or float64, "
                        f"got {dtype.name}")
    return predictions, dtype


def _scalar(name, value):
    """A loss parameter as given: a Python or NumPy number, or a scalar
    tensor (a symbolic one inside a tf.function too, whose value the op
    checks when it runs). A non-scalar is a ValueError now."""
    if tf.is_tensor(value):
        value = as_dense(name, value)
        if value.shape.rank not in (None, 0):
            raise ValueError(
                f"gofocal: {name} must be a scalar, got a tensor of shape {value.shape}")
        if not (value.dtype.is_floating or value.dtype.is_integer):
            raise TypeError(
                f"gofocal: {name} must be a number, got a tensor of dtype {value.dtype.name}")
        return value
    if np.ndim(value) != 0:
        raise ValueError(f"gofocal: {name} must be a scalar, got {value!r}")
    if isinstance(value, np.ndarray):
        value = value.item()
    if not isinstance(value, numbers.Real):
        raise TypeError(f"gofocal: {name} must be a number or a scalar tensor, got {value!r}")
    return value


def _float64(value):
    """A parameter from _scalar as the op's float64 scalar input."""
    if tf.is_tensor(value):
        return tf.cast(value, tf.float64)
    return tf.constant(float(value), tf.float64)


def _known(value):
    """A parameter's value as a Python float if it is known while tracing."""
    if tf.is_tensor(value):
        value = tf.get_static_value(value)
        if value is None:
            return None
    return float(value)


@tf.autograph.experimental.do_not_convert
def seed_focal_loss(labels, predictions, class_weights, gamma=2.0, e=0.1, validate=True,
                    sharding="go", ignore_value=None, name=None):
    """The per-sample loss of the ``seed`` variant (SPEC.md), differentiable
    (to any order: second derivatives come from the composite's).

    Args:
      labels: ``[batch, classes]`` (or ``[classes]``); entries > 0 are positives.
        Cast to the predictions' dtype.
      predictions: probabilities of the same shape, float32 or float64.
      class_weights: ``[classes]`` weights, e.g. ``class_weights(counts)``.
      gamma: focusing parameter, >= 0: a number or a scalar tensor.
      e: weight of the label-smoothing term, in [0, 1]: a number or a
        scalar tensor.
      validate: reject predictions outside [0, 1] (an InvalidArgumentError
        naming the first offending index).
      sharding: who splits the rows over as many threads as TensorFlow's
        intra-op pool has: "go" (one Go call whose goroutines share them; the
        default, measured faster) or "tensorflow" (the pool itself, one Go
        call per shard). The results have the same bits either way.
      ignore_value: None, or the label of an unknown element (SPEC's
        partial labels, e.g. -1): it is no positive, so its focal term is 0;
        the label-smoothing term, which uses no labels, is unchanged. A
        number exactly representable in float32, not NaN.

    Returns:
      The loss per sample, ``[batch]`` (a scalar for rank-1 input).
    """
    ignore = ignore_attrs(ignore_value)
    with tf.name_scope(name or "seed_focal_loss"):
        predictions, dtype = _float_predictions(predictions)
        labels = _as_dtype("labels", labels, predictions.dtype)
        class_weights = _as_dtype("class_weights", class_weights, predictions.dtype)
        gamma, e = _scalar("gamma", gamma), _scalar("e", e)
        if _in_xla():
            _warn_xla_once("seed_focal_loss")
            # The op's checks, where they can be made while tracing.
            known_gamma, known_e = _known(gamma), _known(e)
            _host.check_seed(2.0 if known_gamma is None else known_gamma,
                             0.0 if known_e is None else known_e)
            if not class_weights.shape[-1:].is_compatible_with(predictions.shape[-1:]):
                raise ValueError(
                    f"gofocal: class_weights must have one value per class: got shape "
                    f"{class_weights.shape} for predictions of shape {predictions.shape}")
            _same_static_shape(labels, predictions)
            loss = composite.seed_composite_per_sample(labels, predictions, class_weights, gamma, e,
                                                       ignore_value)
        else:
            loss, grad = _native.ops().go_focal_seed_focal_loss(
                labels, predictions, class_weights, _float64(gamma), _float64(e),
                validate=validate, sharding=sharding, grad_scale=_GRAD_SCALE, **ignore)
            _dropped(grad)
        return tf.cast(loss, dtype)


def _dropped(grad):
    """Marks the op's `grad` output, which the wrappers do not return, as
    having no consumer yet (see _has_upstream)."""
    if isinstance(grad, tf_ops.EagerTensor):
        setattr(grad, _MAY_HAVE_CONSUMER, False)


@tf.autograph.experimental.do_not_convert
def binary_focal_loss(labels, predictions, alpha=None, gamma=2.0, from_logits=False,
                      label_smoothing=0.0, axis=-1, validate=True, sharding="go",
                      ignore_value=None, name=None):
    """The per-sample loss of the ``binary`` variant (SPEC.md), differentiable
    (to any order: second derivatives come from the composite's).

    Element by element what ``keras.losses.BinaryFocalCrossentropy`` computes,
    averaged over ``axis``; from logits in the numerically stable form.

    Args:
      labels: targets in [0, 1], the shape of predictions; cast to its dtype.
      predictions: probabilities, or logits with ``from_logits``; float32 or
        float64, any rank >= 1.
      alpha: None for no class balancing, one float, or one float per class.
      gamma: focusing parameter, >= 0; 0 gives binary cross-entropy. A number
        or a scalar tensor.
      from_logits: predictions are logits.
      label_smoothing: in [0, 1]; labels become ``y * (1 - ls) + 0.5 * ls``.
        A number or a scalar tensor.
      axis: the class axis, averaged over.
      validate: reject probabilities outside [0, 1] and labels outside
        [0, 1] (an InvalidArgumentError naming the first offending index).
      sharding: "tensorflow" or "go", as for ``seed_focal_loss``.
      ignore_value: None, or the label of an unknown element (SPEC's
        partial labels, e.g. -1): it adds no loss and gets a zero gradient,
        and the loss is the mean over the known classes (0 for a row with
        none). A number exactly representable in float32, not NaN.

    Returns:
      The loss with ``axis`` removed.
    """
    ignore = ignore_attrs(ignore_value)
    with tf.name_scope(name or "binary_focal_loss"):
        predictions, dtype = _float_predictions(predictions)
        return tf.cast(_binary_focal_loss(labels, predictions, alpha, gamma, from_logits,
                                          label_smoothing, axis, validate, sharding, ignore),
                       dtype)


def _binary_focal_loss(labels, predictions, alpha, gamma, from_logits, label_smoothing, axis,
                       validate, sharding, ignore):
    labels = _as_dtype("labels", labels, predictions.dtype)
    gamma, label_smoothing = _scalar("gamma", gamma), _scalar("label_smoothing", label_smoothing)
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
        alphas = _known_alphas(alpha)
        known_gamma, known_ls = _known(gamma), _known(label_smoothing)
        _host.check_binary(2.0 if known_gamma is None else known_gamma,
                           0.0 if known_ls is None else known_ls, alphas or [])
        classes = predictions.shape[axis]
        if alphas and len(alphas) > 1 and classes is not None and len(alphas) != classes:
            raise ValueError(f"gofocal: alpha holds {len(alphas)} values for {classes} classes")
        _same_static_shape(labels, predictions)
        if alpha is not None and not tf.is_tensor(alpha):
            alpha = np.ravel(np.asarray(alpha, np.float64))
        return composite.binary_composite(
            _move_to_last(labels, axis, rank), _move_to_last(predictions, axis, rank), alpha, gamma,
            from_logits, label_smoothing, _ignored(ignore))
    if axis == rank - 1 and rank <= 2:
        # The op's own layout: it checks shapes and values itself.
        return _binary_op(labels, predictions, alpha, gamma, from_logits, label_smoothing,
                          validate, sharding, ignore)
    # Any other layout is brought to [rows, classes] for the op, after the
    # checks that need the caller's layout to name shapes and indices.
    checks = [_same_shape(labels, predictions)]
    if validate:
        if not from_logits:
            checks.append(_probabilities(predictions))
        checks.append(_unit_interval_labels(labels, _ignored(ignore)))
    with tf.control_dependencies(checks):
        labels = _move_to_last(labels, axis, rank)
        predictions = _move_to_last(predictions, axis, rank)
    outer = tf.shape(predictions)[:-1]
    classes = tf.shape(predictions)[-1]
    loss = _binary_op(tf.reshape(labels, [-1, classes]), tf.reshape(predictions, [-1, classes]),
                      alpha, gamma, from_logits, label_smoothing, False, sharding, ignore)
    return tf.reshape(loss, outer)


def _known_alphas(alpha):
    """alpha as a list of floats for the checks made while tracing; None for
    a tensor whose value is known only when the graph runs."""
    if alpha is None:
        return []
    if tf.is_tensor(alpha):
        alpha = tf.get_static_value(alpha)
        if alpha is None:
            return None
    return np.ravel(np.asarray(alpha, np.float64)).tolist()


def _binary_op(labels, predictions, alpha, gamma, from_logits, label_smoothing, validate,
               sharding, ignore):
    if alpha is None:
        alpha = tf.zeros([0], tf.float64)
    elif tf.is_tensor(alpha):
        alpha = tf.reshape(tf.cast(as_dense("alpha", alpha), tf.float64), [-1])
    else:
        alpha = tf.constant(np.ravel(np.asarray(alpha, np.float64)), tf.float64)
    loss, grad = _native.ops().go_focal_binary_focal_loss(
        labels, predictions, alpha, _float64(gamma), _float64(label_smoothing),
        from_logits=from_logits, validate=validate, sharding=sharding, grad_scale=_GRAD_SCALE,
        **ignore)
    _dropped(grad)
    return loss


def _move_to_last(x, axis, rank):
    """x with axis moved last; rank is the predictions', which x must share
    (labels of unknown rank included: a mismatch fails when the graph runs)."""
    if axis == rank - 1:
        return x
    return tf.transpose(x, [d for d in range(rank) if d != axis] + [axis])


def _same_static_shape(labels, predictions):
    if not labels.shape.is_compatible_with(predictions.shape):
        raise ValueError(f"gofocal: labels and predictions must have the same shape, got labels "
                         f"{labels.shape} and predictions {predictions.shape}")


def _same_shape(labels, predictions):
    """A check (raising now where shapes are static) that labels and
    predictions have one shape, naming both; labels of unknown rank too."""
    _same_static_shape(labels, predictions)
    labels_shape, predictions_shape = tf.shape(labels), tf.shape(predictions)
    # Equal lengths, and then [l, p] == [p, l] exactly when l == p.
    same = tf.logical_and(
        tf.equal(tf.size(labels_shape), tf.size(predictions_shape)),
        tf.reduce_all(tf.equal(tf.concat([labels_shape, predictions_shape], 0),
                               tf.concat([predictions_shape, labels_shape], 0))))
    return tf.debugging.Assert(
        same, ["gofocal: labels and predictions must have the same shape, got labels",
               labels_shape, "and predictions", predictions_shape], summarize=64)


def _first_bad(values, bad):
    """The first index where bad holds, "i, j, ..." in values' layout, and
    the value there, as string tensors."""
    first = tf.where(bad)[:1]
    index = tf.strings.reduce_join(tf.strings.as_string(tf.reshape(first, [-1])), separator=", ")
    value = tf.strings.reduce_join(tf.strings.as_string(tf.gather_nd(values, first), shortest=True))
    return index, value


def _outside_unit_interval(values):
    return tf.logical_and(tf.math.is_finite(values), tf.logical_or(values < 0, values > 1))


def _probabilities(predictions):
    """A check that every finite prediction lies in [0, 1], naming the first
    one that does not by its index in the caller's layout, as the op does."""
    bad = _outside_unit_interval(predictions)
    index, value = _first_bad(predictions, bad)
    message = tf.strings.join(["goloss: invalid value: predictions[", index, "] = ", value,
                               " is not a probability in [0, 1]"])
    return tf.debugging.Assert(tf.logical_not(tf.reduce_any(bad)), [message])


def _unit_interval_labels(labels, ignore_value=None):
    """A check that every finite label of the binary and asymmetric variants
    lies in [0, 1] or equals ignore_value, naming the first one that does not
    by its index in the caller's layout, as the op does (NaN and Inf
    propagate, as for predictions)."""
    bad = _outside_unit_interval(labels)
    if ignore_value is not None:
        bad = tf.logical_and(bad, tf.not_equal(labels, tf.cast(ignore_value, labels.dtype)))
    index, value = _first_bad(labels, bad)
    message = tf.strings.join(["goloss: invalid value: labels[", index, "] = ", value,
                               " is not in [0, 1]"])
    return tf.debugging.Assert(tf.logical_not(tf.reduce_any(bad)), [message])


def ignore_attrs(ignore_value):
    """The op's has_ignore and ignore_value attributes for SPEC's partial
    labels (None: none), or a clear error: the value must be a number, not
    NaN (no label equals NaN), and exactly a float32, the attribute's type,
    so that float64 labels equal to it are those the op takes for unknown."""
    if ignore_value is None:
        return {}
    if tf.is_tensor(ignore_value) or isinstance(ignore_value, bool) or not isinstance(
            np.asarray(ignore_value).item() if np.ndim(ignore_value) == 0 else None,
            numbers.Real):
        raise TypeError(f"gofocal: ignore_value must be None or a number (the label of unknown "
                        f"elements, e.g. -1), got {ignore_value!r}")
    value = float(np.asarray(ignore_value).item())
    _host.check_ignore(value)
    if float(np.float32(value)) != value:
        raise ValueError(
            f"gofocal: ignore_value = {value!r} is not exactly a float32 (the op compares "
            f"labels with it as one): use a value such as -1 or 255")
    return {"has_ignore": True, "ignore_value": value}


def _ignored(ignore):
    """The ignore value of ignore_attrs' result, or None."""
    return ignore.get("ignore_value")


@tf.autograph.experimental.do_not_convert
def asymmetric_loss(labels, predictions, gamma_neg=4.0, gamma_pos=1.0, clip=0.05, eps=1e-8,
                    focal_grad=False, from_logits=False, class_weights=None, ignore_value=None,
                    validate=True, sharding="go", name=None):
    """The per-sample asymmetric loss (ASL, Ridnik et al., ICCV 2021; SPEC's
    ``asymmetric`` variant) as its reference code computes it, differentiable
    (first derivatives; a second derivative is an error).

    ``L[b] = -sum_c cw[c] * (1 - pt)^g * ce`` with the negatives' probability
    shifted by ``clip`` and ``g = gamma_pos`` on positives, ``gamma_neg`` on
    negatives: a **sum** over the classes, as in the reference, so Keras's
    ``"sum"`` reduction gives the reference's ``-loss.sum()``.

    Args:
      labels: targets in [0, 1] (soft labels follow the formulas), the shape
        of predictions; cast to its dtype.
      predictions: probabilities, or logits with ``from_logits`` (what the
        reference takes); float16, bfloat16, float32 or float64, any rank
        >= 1, the classes last.
      gamma_neg, gamma_pos: focusing parameters of the negatives and the
        positives, finite and >= 0: numbers or scalar tensors.
      clip: probability shifting of the negatives, in [0, 1]; 0 for none.
      eps: the clamp of the logs, ``log(max(x, eps))``, in (0, 1).
      focal_grad: differentiate the focal weight ``(1 - pt)^g`` too (the
        reference's ``disable_torch_grad_focal_loss=False``); by default it
        is a constant, as in the reference.
      from_logits: predictions are logits.
      class_weights: None, or one weight >= 0 per class (e.g.
        ``gofocal.class_weights(counts, beta=0.999)`` times the number of
        classes, for weights of mean 1).
      ignore_value: None, or the label of an unknown element (SPEC's partial
        labels, e.g. -1): it adds no loss and gets a zero gradient, and the
        loss is the sum over the known classes. A number exactly
        representable in float32, not NaN.
      validate: reject finite probabilities and labels outside [0, 1] (the
        ignore value aside) and negative or non-finite class weights.
      sharding: "go" or "tensorflow", as for ``seed_focal_loss``.

    Returns:
      The loss with the class axis removed.
    """
    ignore = ignore_attrs(ignore_value)
    for flag, value in (("focal_grad", focal_grad), ("from_logits", from_logits)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"gofocal: {flag} must be True or False, got {value!r}")
    with tf.name_scope(name or "asymmetric_loss"):
        predictions, dtype = _float_predictions(predictions)
        labels = _as_dtype("labels", labels, predictions.dtype)
        gamma_neg, gamma_pos = _scalar("gamma_neg", gamma_neg), _scalar("gamma_pos", gamma_pos)
        clip, eps = _scalar("clip", clip), _scalar("eps", eps)
        known = [_known(v) for v in (gamma_neg, gamma_pos, clip, eps)]
        # The checks that can be made now (all of them for numbers).
        _host.check_asymmetric(*(default if v is None else v
                                 for v, default in zip(known, (4.0, 1.0, 0.05, 1e-8))),
                               ignore_value=_ignored(ignore))
        weights = None
        if class_weights is not None:
            weights = tf.reshape(_as_dtype("class_weights", class_weights, predictions.dtype), [-1])
        rank = predictions.shape.rank
        if rank is None:
            raise ValueError("gofocal: predictions must have a known rank")
        if rank == 0:
            raise ValueError("gofocal: predictions must have at least one dimension (the classes)")
        _same_static_shape(labels, predictions)
        if weights is not None and not weights.shape.is_compatible_with(predictions.shape[-1:]):
            raise ValueError(
                f"gofocal: class_weights must have one value per class: got shape "
                f"{weights.shape} for predictions of shape {predictions.shape}")
        if _in_xla():
            _warn_xla_once("asymmetric_loss")
            loss = composite.asymmetric_composite(
                labels, predictions, gamma_neg, gamma_pos, clip, eps, focal_grad, from_logits,
                weights, _ignored(ignore))
            return tf.cast(loss, dtype)
        if rank <= 2:
            # The op's own layout: it checks shapes and values itself.
            return tf.cast(_asymmetric_op(labels, predictions, weights, gamma_neg, gamma_pos, clip,
                                          eps, focal_grad, from_logits, validate, sharding, ignore),
                           dtype)
        # Rank > 2 is brought to [rows, classes], after the checks that need
        # the caller's layout to name shapes and indices.
        checks = [_same_shape(labels, predictions)]
        if validate:
            if not from_logits:
                checks.append(_probabilities(predictions))
            checks.append(_unit_interval_labels(labels, _ignored(ignore)))
            if weights is not None:
                checks.append(_class_weights_check(weights))
        with tf.control_dependencies(checks):
            classes = tf.shape(predictions)[-1]
            outer = tf.shape(predictions)[:-1]
            flat_labels = tf.reshape(labels, [-1, classes])
            flat_predictions = tf.reshape(predictions, [-1, classes])
        loss = _asymmetric_op(flat_labels, flat_predictions, weights, gamma_neg, gamma_pos, clip,
                              eps, focal_grad, from_logits, False, sharding, ignore)
        return tf.cast(tf.reshape(loss, outer), dtype)


def _asymmetric_op(labels, predictions, weights, gamma_neg, gamma_pos, clip, eps, focal_grad,
                   from_logits, validate, sharding, ignore):
    if weights is None:
        weights = tf.zeros([0], predictions.dtype)
    loss, grad = _native.ops().go_focal_asymmetric_loss(
        labels, predictions, weights, _float64(gamma_neg), _float64(gamma_pos), _float64(clip),
        _float64(eps), focal_grad=bool(focal_grad), from_logits=bool(from_logits),
        validate=validate, sharding=sharding, grad_scale=_GRAD_SCALE, **ignore)
    _dropped(grad)
    return loss


def _class_weights_check(weights):
    """A check, as the op makes it, that every class weight is finite and >= 0."""
    bad = tf.logical_not(tf.logical_and(tf.math.is_finite(weights), weights >= 0))
    index, value = _first_bad(weights, bad)
    message = tf.strings.join(["goloss: invalid value: class_weights[", index, "] = ", value,
                               ", want a finite weight >= 0"])
    return tf.debugging.Assert(tf.logical_not(tf.reduce_any(bad)), [message])
