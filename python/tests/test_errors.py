"""Bad input is an exception that names the problem, never a crash.

Every op-level case runs three ways: eagerly; in a tf.function traced with
static shapes (the shape function may reject it with a ValueError at trace
time); and in a tf.function whose input signature hides every shape, so the
kernel's own checks must catch it. After each error a normal call, made the
same way, still gives SPEC's worked example.
"""

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import gofocal
from spec_reference import (WORKED_COUNTS, WORKED_LABELS, WORKED_LOSS, WORKED_PREDICTIONS,
                            WORKED_WEIGHTS, assert_close)

MODES = ["eager", "tf_function", "tf_function_unknown_shapes"]
OP_ERRORS = (tf.errors.InvalidArgumentError, ValueError)


def _call(mode, labels, predictions, weights, **kwargs):
    labels, predictions, weights = (np.asarray(a) for a in (labels, predictions, weights))

    def loss(y, p, w):
        return gofocal.seed_focal_loss(y, p, w, **kwargs)

    if mode == "eager":
        return loss(labels, predictions, weights).numpy()
    if mode == "tf_function":
        fn = tf.function(loss, autograph=False)
        return fn(tf.constant(labels), tf.constant(predictions), tf.constant(weights)).numpy()
    specs = [tf.TensorSpec(None, tf.as_dtype(a.dtype)) for a in (labels, predictions, weights)]
    fn = tf.function(loss, input_signature=specs, autograph=False)
    return fn(labels, predictions, weights).numpy()


def _assert_still_works(mode):
    loss = _call(mode, WORKED_LABELS, WORKED_PREDICTIONS, WORKED_WEIGHTS)
    assert_close(loss, WORKED_LOSS, "float64", what=f"worked example after an error ({mode})")


def _assert_message(err, patterns):
    text = str(err)
    for pattern in patterns:
        assert re.search(pattern, text), f"{pattern!r} not in message: {text}"


def _with(array, index, value):
    array = np.array(array, np.float64)
    array[index] = value
    return array


Y, P, W = WORKED_LABELS, WORKED_PREDICTIONS, WORKED_WEIGHTS

BAD_INPUTS = [
    pytest.param(np.zeros((2, 3)), np.full((2, 4), .5), np.full(4, .25), {},
                 [r"labels \[2,3\] and predictions \[2,4\]"], id="shape_mismatch"),
    pytest.param(np.zeros((3, 3)), np.full((2, 3), .5), W, {},
                 [r"labels \[3,3\] and predictions \[2,3\]"], id="batch_mismatch"),
    pytest.param(Y, P, W[:2], {}, [r"class_weights", r"\[2\]", r"\[2,3\]"], id="class_weights_length"),
    pytest.param(Y, P, np.ones((1, 3)), {}, [r"class_weights", r"\[1,3\]"], id="class_weights_rank2"),
    pytest.param(Y, P, _with(W, 1, -1.0), {}, [r"class_weights\[1\] = -1"], id="negative_class_weight"),
    pytest.param(Y, P, W, {"gamma": -0.5}, [r"gamma = -0\.5", r"gamma >= 0"], id="gamma_negative"),
    pytest.param(Y, P, W, {"gamma": float("nan")}, [r"gamma = NaN"], id="gamma_nan"),
    pytest.param(Y, P, W, {"e": 1.5}, [r"\be = 1\.5", r"0 <= e <= 1"], id="e_above_one"),
    pytest.param(Y, P, W, {"e": -0.1}, [r"\be = -0\.1"], id="e_negative"),
    pytest.param(Y, _with(P, (1, 2), 1.5), W, {}, [r"predictions\[1, 2\] = 1\.5", r"\[0, 1\]"],
                 id="probability_1.5"),
    pytest.param(Y, _with(P, (0, 1), -0.25), W, {}, [r"predictions\[0, 1\] = -0\.25"],
                 id="probability_negative"),
    pytest.param(np.zeros((2, 2, 3)), np.full((2, 2, 3), .5), W, {},
                 [r"\[classes\] or \[batch, classes\]", r"\[2,2,3\]"], id="rank3"),
    pytest.param(np.zeros(()), np.array(.5), W[:1], {},
                 [r"\[classes\] or \[batch, classes\], got \[\]"], id="rank0"),
    pytest.param(np.zeros((2, 0)), np.zeros((2, 0)), np.zeros(0), {},
                 [r"at least one class", r"\[2,0\]"], id="zero_classes"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("labels,predictions,weights,kwargs,patterns", BAD_INPUTS)
def test_bad_input_raises_a_clear_error(mode, labels, predictions, weights, kwargs, patterns):
    with pytest.raises(OP_ERRORS) as info:
        _call(mode, labels, predictions, weights, **kwargs)
    _assert_message(info.value, patterns)
    _assert_still_works(mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bad_dtype", ["int32", "int64", "uint8"])
def test_unsupported_prediction_dtype_is_a_type_error(mode, bad_dtype):
    predictions = tf.cast(WORKED_PREDICTIONS * 10, bad_dtype).numpy()
    with pytest.raises(TypeError, match=rf"float32 or float64, got {bad_dtype}"):
        _call(mode, WORKED_LABELS, predictions, WORKED_WEIGHTS)
    _assert_still_works(mode)


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf_function"])
@pytest.mark.parametrize("bad_dtype,name", [("int32", "int32"), ("float16", r"half|float16")])
def test_raw_op_rejects_other_dtypes(raw_op, graph, bad_dtype, name):
    def call():
        return raw_op(WORKED_LABELS.astype(bad_dtype), WORKED_PREDICTIONS.astype(bad_dtype),
                      WORKED_WEIGHTS.astype(bad_dtype))

    with pytest.raises((tf.errors.InvalidArgumentError, TypeError)) as info:
        tf.function(call, autograph=False)() if graph else call()
    _assert_message(info.value, [name, r"float"])
    _assert_still_works("eager")


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf_function"])
@pytest.mark.parametrize("argument", ["gamma", "e"])
def test_raw_op_rejects_non_scalar_parameters(graph, argument):
    op = gofocal._native.ops().go_focal_seed_focal_loss
    scalars = {"gamma": tf.constant(2.0, tf.float64), "e": tf.constant(0.1, tf.float64)}
    scalars[argument] = tf.constant([0.5, 0.5], tf.float64)

    def call():
        return op(WORKED_LABELS, WORKED_PREDICTIONS, WORKED_WEIGHTS, scalars["gamma"], scalars["e"])

    with pytest.raises(OP_ERRORS, match=rf"\b{argument} must be a scalar, got shape \[2\]"):
        tf.function(call, autograph=False)() if graph else call()
    _assert_still_works("eager")


def test_error_in_a_late_row_names_its_global_index():
    """The kernel shards rows over threads; the index is still the batch's."""
    rng = np.random.default_rng(5)
    rows, classes = 20000, 8
    y = (rng.random((rows, classes)) < 0.3).astype(np.float64)
    p = rng.uniform(0.01, 0.99, (rows, classes))
    p[17321, 5] = 1.25
    p[19999, 0] = 2.0
    for dtype in ("float32", "float64"):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"predictions\[17321, 5\] = 1\.25"):
            gofocal.seed_focal_loss(y.astype(dtype), p.astype(dtype), np.full(classes, 1 / classes))
    _assert_still_works("eager")


BAD_COUNTS = [
    pytest.param([1, 0, 3], r"class count 1 is 0", id="zero_count"),
    pytest.param([-2, 1], r"class count 0 is -2", id="negative_count"),
    pytest.param([1, 2, float("nan")], r"class count 2 is NaN", id="nan_count"),
    pytest.param([1, float("inf")], r"class count 1 is \+Inf", id="inf_count"),
    pytest.param([], r"0 classes", id="no_classes"),
    pytest.param("abc", r"classes_num must be a list of numbers", id="not_numbers"),
]

CONSTRUCTORS = {
    "class_weights": lambda counts, **kw: gofocal.class_weights(counts),
    "focal_loss": lambda counts, **kw: gofocal.focal_loss(counts, **kw),
    "FocalLoss": lambda counts, **kw: gofocal.FocalLoss(classes_num=counts, **kw),
}


@pytest.mark.parametrize("constructor", list(CONSTRUCTORS))
@pytest.mark.parametrize("counts,pattern", BAD_COUNTS)
def test_bad_class_counts_name_the_class(constructor, counts, pattern):
    with pytest.raises(ValueError, match=pattern):
        CONSTRUCTORS[constructor](counts)
    assert_close(gofocal.class_weights(WORKED_COUNTS), WORKED_WEIGHTS, "float64", what="weights after error")


@pytest.mark.parametrize("constructor", ["focal_loss", "FocalLoss"])
@pytest.mark.parametrize("kwargs,pattern", [
    ({"gamma": -1.0}, r"gamma = -1\b"),
    ({"gamma": float("inf")}, r"gamma = \+Inf"),
    ({"e": 1.5}, r"\be = 1\.5"),
    ({"e": -0.5}, r"\be = -0\.5"),
], ids=["gamma_negative", "gamma_inf", "e_above_one", "e_negative"])
def test_bad_parameters_fail_at_construction(constructor, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        CONSTRUCTORS[constructor](WORKED_COUNTS, **kwargs)


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf_function"])
def test_loss_objects_report_a_class_count_mismatch(graph):
    """classes_num for 3 classes, predictions with 4: both shapes named."""
    y, p = np.zeros((2, 4)), np.full((2, 4), .25)
    for loss in (gofocal.focal_loss(WORKED_COUNTS), gofocal.FocalLoss(classes_num=WORKED_COUNTS)):
        fn = tf.function(loss, autograph=False) if graph else loss
        with pytest.raises(OP_ERRORS) as info:
            fn(tf.constant(y), tf.constant(p))
        _assert_message(info.value, [r"class_weights", r"\[3\]", r"\[2,4\]"])
        value = fn(tf.constant(WORKED_LABELS), tf.constant(WORKED_PREDICTIONS))
        assert np.all(np.isfinite(value.numpy()))


_CRASH_SCRIPT = textwrap.dedent("""
    import numpy as np, tensorflow as tf, gofocal
    y = np.array([[1., 0., 1.], [0., 1., 0.]]); p = np.array([[.9, .3, .4], [.2, .5, .05]])
    w = np.array([6 / 11, 3 / 11, 2 / 11])
    bad = [
        lambda: gofocal.seed_focal_loss(np.zeros((2, 3)), np.zeros((2, 4)), w),
        lambda: gofocal.seed_focal_loss(y, p, w[:2]),
        lambda: gofocal.seed_focal_loss(y, p, w, gamma=-1.0),
        lambda: gofocal.seed_focal_loss(y, p, w, e=2.0),
        lambda: gofocal.seed_focal_loss(y, np.where(p == .5, 1.5, p), w),
        lambda: gofocal.seed_focal_loss(np.zeros((1, 2, 3)), np.zeros((1, 2, 3)), w),
        lambda: gofocal.seed_focal_loss(np.zeros((2, 0)), np.zeros((2, 0)), np.zeros(0)),
        lambda: gofocal.seed_focal_loss(y, p.astype(np.int32), w),
        lambda: gofocal.class_weights([1, 0, 3]),
        lambda: gofocal.FocalLoss(classes_num=[1, 2, 3], e=7.0),
    ]
    caught = 0
    for call in bad:
        try:
            call()
        except (tf.errors.InvalidArgumentError, ValueError, TypeError):
            caught += 1
    loss = gofocal.seed_focal_loss(y, p, w).numpy()
    print("caught", caught, "of", len(bad), "loss", repr(loss.tolist()))
""")


def test_bad_input_never_crashes_the_process():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", _CRASH_SCRIPT], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    words = done.stdout.split()
    assert words[:4] == ["caught", "10", "of", "10"], done.stdout
    loss = np.array(eval(done.stdout.split("loss", 1)[1]))
    assert_close(loss, WORKED_LOSS, "float64", what="worked example in the subprocess")
