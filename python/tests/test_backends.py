"""Keras 3 on JAX (issue 13): every gofocal Keras loss trains there, with the
numbers of the fused op on TensorFlow.

Off TensorFlow the losses compute the same math written with keras.ops
(gofocal._keras_ops), their gradients from JAX's autodiff, after one warning
per process. Keras fixes its backend when it is imported, so the JAX side
runs in fresh interpreters with KERAS_BACKEND=jax: this file is also their
script (``python test_backends.py parity|train ...``). The TensorFlow side,
the reference, is computed here, in the test process, by the op
(gofocal.seed_focal_loss / binary_focal_loss and a GradientTape).

Three children run at once: float32 parity (JAX as users run it), float64
parity (JAX_ENABLE_X64=1), and training (model.fit + evaluate of each loss,
the warning, get_config round trips, model.save and load). Each case's loss and gradient are
computed by ``jax.jit(jax.value_and_grad(...))`` of the public loss object
(the traced path that raised TracerArrayConversionError) and also eagerly.

Tolerances (SPEC "Accuracy"), element by element, losses and gradients alike:
float32 1e-5 relative or 1e-6 absolute, float64 1e-12 relative (1e-14
absolute). No element needs SPEC's allowance for cancelling terms (the data
keeps clear of the clip bounds, except the exact 0s and 1s, which are exact).
The largest error / tolerance per dtype is printed at the end (``pytest -s``).
"""

import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

COUNTS = [50, 12, 4, 7, 30]
CLASS_WEIGHTS = [0.1, 0.25, 0.4, 0.15, 0.6]
PER_CLASS_ALPHA = [0.1, 0.3, 0.5, 0.7, 0.9]

# name: (loss, constructor keyword arguments, inputs). loss "focal_loss" is
# the seed's function, called as it is (it returns the per-sample loss); the
# classes are built with reduction="none". inputs: (rows, classes, kind).
CASES = {
    "focal_loss": ("focal_loss", dict(classes_num=COUNTS), "seed"),
    "focal_loss_gamma2.5_e0.3": ("focal_loss", dict(classes_num=COUNTS, gamma=2.5, e=0.3), "seed"),
    "FocalLoss_counts_gamma2": ("FocalLoss", dict(classes_num=COUNTS, gamma=2.0), "seed"),
    "FocalLoss_counts_gamma2.5": ("FocalLoss", dict(classes_num=COUNTS, gamma=2.5), "seed"),
    "FocalLoss_class_weights": ("FocalLoss", dict(class_weights=CLASS_WEIGHTS, e=0.2), "seed"),
    # Predictions of exactly 0 and 1: the clips pass their gradient at the
    # bounds inclusive (gamma 0 makes d(-log p)/dp = -1 at p = 1 count).
    "FocalLoss_exact_0_1_gamma2": ("FocalLoss", dict(classes_num=COUNTS), "seed_exact"),
    "FocalLoss_exact_0_1_gamma0": ("FocalLoss", dict(classes_num=COUNTS, gamma=0.0), "seed_exact"),
    "FocalLoss_soft_labels_gamma1": ("FocalLoss", dict(class_weights=CLASS_WEIGHTS, gamma=1.0),
                                     "seed_soft"),
    "BinaryFocalLoss": ("BinaryFocalLoss", {}, "probs"),
    "BinaryFocalLoss_balanced": ("BinaryFocalLoss", dict(apply_class_balancing=True), "probs"),
    "BinaryFocalLoss_per_class_alpha": (
        "BinaryFocalLoss", dict(apply_class_balancing=True, alpha=PER_CLASS_ALPHA, gamma=2.5),
        "probs"),
    "BinaryFocalLoss_label_smoothing": ("BinaryFocalLoss", dict(label_smoothing=0.1), "probs"),
    "BinaryFocalLoss_from_logits": ("BinaryFocalLoss", dict(from_logits=True), "logits"),
    "BinaryFocalLoss_from_logits_balanced_ls": (
        "BinaryFocalLoss", dict(from_logits=True, apply_class_balancing=True, alpha=0.4,
                                label_smoothing=0.2, gamma=1.5), "logits"),
    "BinaryFocalLoss_from_logits_per_class_alpha_soft": (
        "BinaryFocalLoss", dict(from_logits=True, apply_class_balancing=True,
                                alpha=PER_CLASS_ALPHA), "logits_soft"),
    # The stable form: the exact loss of a logit of 40 (Keras's clip caps it).
    "BinaryFocalLoss_from_logits_large": ("BinaryFocalLoss", dict(from_logits=True, gamma=0.5),
                                          "logits_large"),
    "BinaryFocalLoss_rank3_axis1": ("BinaryFocalLoss", dict(axis=1, apply_class_balancing=True,
                                                            alpha=[0.2, 0.5, 0.8]), "probs_rank3"),
    # Labels [B] with predictions [B, 1], as a Dense(1) classifier gives.
    "BinaryFocalLoss_1d_labels": ("BinaryFocalLoss", dict(label_smoothing=0.05), "probs_1d_labels"),
    # Partial labels (SPEC): -1 marks an unknown label.
    "FocalLoss_partial": ("FocalLoss", dict(classes_num=COUNTS, beta=0.99, ignore_value=-1),
                          "seed_partial"),
    "BinaryFocalLoss_partial": ("BinaryFocalLoss", dict(from_logits=True, ignore_value=-1),
                                "logits_partial"),
    # The asymmetric loss (ASL): the reference's defaults, and the rest.
    "AsymmetricLoss": ("AsymmetricLoss", {}, "probs"),
    "AsymmetricLoss_from_logits_balanced_partial": (
        "AsymmetricLoss", dict(from_logits=True, classes_num=COUNTS, beta=0.999, ignore_value=-1),
        "logits_partial"),
    "AsymmetricLoss_focal_grad_clip0.2": (
        "AsymmetricLoss", dict(focal_grad=True, clip=0.2, gamma_neg=3.5, gamma_pos=0.5,
                               ignore_value=-1),
        "probs_partial_soft"),
}


def make_inputs(kind, seed):
    """Labels, predictions (float64) and the upstream gradient of the
    per-sample loss for one case; away from the clip bounds unless exact."""
    rng = np.random.default_rng(seed)
    rows, classes = 8, len(COUNTS)
    shape = (rows, classes)
    if kind.startswith("seed"):
        y = (rng.random(shape) < 0.4).astype(np.float64)
        p = rng.uniform(0.02, 0.98, shape)
        if kind == "seed_exact":
            p[rng.random(shape) < 0.2] = 0.0
            p[rng.random(shape) < 0.2] = 1.0
            y[0, :4], p[0, :4] = [1, 1, 0, 0], [1, 0, 1, 0]
            p[:, -1] = np.where(p[:, :-1].sum(axis=1) == 0, 0.5, p[:, -1])
        elif kind == "seed_soft":
            y = np.where(y > 0, p + (1 - p) * rng.uniform(0.05, 1, shape), 0.0)
    elif kind == "probs_rank3":
        y = rng.integers(0, 2, (4, 3, 6)).astype(np.float64)
        p = rng.uniform(1e-3, 1 - 1e-3, y.shape)
    elif kind == "probs_1d_labels":
        y = rng.integers(0, 2, rows).astype(np.float64)
        p = rng.uniform(1e-3, 1 - 1e-3, (rows, 1))
    elif kind.startswith("probs"):
        y = rng.integers(0, 2, shape).astype(np.float64)
        p = rng.uniform(1e-3, 1 - 1e-3, shape)
    else:
        y = rng.uniform(0, 1, shape) if kind == "logits_soft" else \
            rng.integers(0, 2, shape).astype(np.float64)
        p = rng.uniform(-40, 40, shape) if kind == "logits_large" else rng.uniform(-8, 8, shape)
    if kind.endswith("_soft") and kind.startswith("probs"):
        y = np.where(rng.random(shape) < 0.5, rng.uniform(0, 1, shape), y)
    if "_partial" in kind:
        y[rng.random(y.shape) < 0.25] = -1.0
        y[0] = -1.0  # a row with nothing known
    outer = p.shape[:1] + p.shape[2:] if kind == "probs_rank3" else p.shape[:-1]
    upstream = rng.uniform(0.5, 1.5, outer)
    return y, p, upstream


def build_loss(gofocal, loss, kwargs, dtype="float32"):
    """A case's loss: the seed's function, or a class giving the per-sample
    loss in dtype."""
    if loss == "focal_loss":
        return gofocal.focal_loss(**kwargs)
    return getattr(gofocal, loss)(reduction="none", dtype=dtype, **kwargs)


# --------------------------------------------------------------------------
# The children (KERAS_BACKEND=jax)
# --------------------------------------------------------------------------

BACKEND_WARNING = "gofocal: Keras runs on the"


def _child_parity(inputs_path, out_path, dtype):
    import warnings
    warnings.simplefilter("always")
    import jax
    import keras

    import gofocal

    assert keras.backend.backend() == "jax", keras.backend.backend()
    inputs = np.load(inputs_path)
    results, timings = {}, {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, (loss, kwargs, _) in CASES.items():
            fn = build_loss(gofocal, loss, kwargs, dtype)
            y = jax.numpy.asarray(inputs[f"{name}/y"].astype(dtype))
            p = jax.numpy.asarray(inputs[f"{name}/p"].astype(dtype))
            u = jax.numpy.asarray(inputs[f"{name}/u"].astype(dtype))

            def weighted(predictions, fn=fn, y=y, u=u):
                value = fn(y, predictions)
                return jax.numpy.sum(value * u), value

            start = time.perf_counter()
            (_, value), grad = jax.jit(jax.value_and_grad(weighted, has_aux=True))(p)
            grad.block_until_ready()
            timings[name] = time.perf_counter() - start
            (_, eager_value), eager_grad = jax.value_and_grad(weighted, has_aux=True)(p)
            results[f"{name}/value"] = np.asarray(value)
            results[f"{name}/grad"] = np.asarray(grad)
            results[f"{name}/eager_value"] = np.asarray(eager_value)
            results[f"{name}/eager_grad"] = np.asarray(eager_grad)
            results[f"{name}/dtype"] = np.asarray(str(value.dtype))
    np.savez(out_path, **results)
    backend_warnings = [str(w.message) for w in caught if BACKEND_WARNING in str(w.message)]
    return {"backend": keras.backend.backend(), "x64": bool(jax.config.jax_enable_x64),
            "backend_warnings": backend_warnings, "compile_and_run_seconds": timings}


TRAIN_SAMPLES, TRAIN_FEATURES, TRAIN_CLASSES = 64, 6, 5
TRAIN_EPOCHS, TRAIN_BATCH = 2, 16

# The losses trained: name -> (loss, constructor keyword arguments, output activation).
TRAINED = {
    "focal_loss": ("focal_loss", dict(classes_num=COUNTS), "sigmoid"),
    "FocalLoss_counts": ("FocalLoss", dict(classes_num=COUNTS, gamma=2.5), "sigmoid"),
    "FocalLoss_class_weights": ("FocalLoss", dict(class_weights=CLASS_WEIGHTS), "sigmoid"),
    "BinaryFocalLoss": ("BinaryFocalLoss", dict(apply_class_balancing=True), "sigmoid"),
    "BinaryFocalLoss_from_logits": (
        "BinaryFocalLoss", dict(from_logits=True, apply_class_balancing=True,
                                alpha=PER_CLASS_ALPHA, label_smoothing=0.1), None),
    "AsymmetricLoss_from_logits": (
        "AsymmetricLoss", dict(from_logits=True, classes_num=COUNTS, beta=0.99), None),
}


def train_data():
    rng = np.random.default_rng(13)
    x = rng.normal(size=(TRAIN_SAMPLES, TRAIN_FEATURES)).astype(np.float32)
    logits = 1.5 * x @ rng.normal(size=(TRAIN_FEATURES, TRAIN_CLASSES)) - 1.0
    y = (rng.random((TRAIN_SAMPLES, TRAIN_CLASSES)) < 1 / (1 + np.exp(-logits))).astype(np.float32)
    y[np.arange(TRAIN_CLASSES), np.arange(TRAIN_CLASSES)] = 1
    return x, y


def train(keras, loss, activation, jit_compile, save_to=None):
    """model.fit for TRAIN_EPOCHS from fixed weights, then evaluate: the
    loss history and the evaluated loss; with save_to, also the evaluated
    loss of the model saved there and loaded back."""
    x, y = train_data()
    model = keras.Sequential([keras.Input((TRAIN_FEATURES,)),
                              keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(TRAIN_CLASSES, activation=activation)])
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype(np.float32)
                       for w in model.get_weights()])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss=loss,
                  jit_compile=jit_compile)
    history = model.fit(x, y, epochs=TRAIN_EPOCHS, batch_size=TRAIN_BATCH, shuffle=False,
                        verbose=0)
    evaluated = model.evaluate(x, y, batch_size=TRAIN_BATCH, verbose=0)
    result = {"loss": [float(v) for v in history.history["loss"]], "evaluate": float(evaluated)}
    if save_to is not None:
        model.save(save_to)
        restored = keras.models.load_model(save_to)
        result["restored_loss_type"] = type(restored.loss).__name__
        result["restored_evaluate"] = float(restored.evaluate(x, y, batch_size=TRAIN_BATCH,
                                                              verbose=0))
    return result


def _child_train(folder):
    import inspect
    import linecache
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import keras

        import gofocal
        first_line = inspect.currentframe().f_lineno + 1
        losses = {"focal_loss": gofocal.focal_loss(COUNTS)}
        assert TRAINED["focal_loss"] == ("focal_loss", dict(classes_num=COUNTS), "sigmoid")
        losses.update({name: getattr(gofocal, loss)(**kwargs)
                       for name, (loss, kwargs, _) in TRAINED.items() if loss != "focal_loss"})
        results = {}
        start = time.perf_counter()
        for name, (_, _, activation) in TRAINED.items():
            save_to = os.path.join(folder, f"{name}.keras") if name != "focal_loss" else None
            results[name] = train(keras, losses[name], activation, "auto", save_to)
        train_seconds = time.perf_counter() - start

        # get_config / from_config and Keras's serialization, under JAX.
        rng = np.random.default_rng(4)
        y = (rng.random((6, len(COUNTS))) < 0.5).astype(np.float32)
        p = rng.uniform(0.05, 0.95, (6, len(COUNTS))).astype(np.float32)
        round_trips = {}
        for name, loss in losses.items():
            if not isinstance(loss, keras.losses.Loss):
                continue
            config = loss.get_config()
            restored = type(loss).from_config(config)
            deserialized = keras.losses.deserialize(keras.losses.serialize(loss))
            round_trips[name] = {
                "config": json.loads(json.dumps(config)),
                "restored_config": json.loads(json.dumps(restored.get_config())),
                "deserialized_type": type(deserialized).__name__,
                "deserialized_config": json.loads(json.dumps(deserialized.get_config())),
                "restored_same_values": bool(np.array_equal(np.asarray(restored(y, p)),
                                                            np.asarray(loss(y, p)))),
                "deserialized_same_values": bool(np.array_equal(
                    np.asarray(deserialized(y, p)), np.asarray(loss(y, p)))),
            }
    backend_warnings = [w for w in caught if BACKEND_WARNING in str(w.message)]
    return {
        "backend": keras.backend.backend(),
        "results": results,
        "train_seconds": train_seconds,
        "round_trips": round_trips,
        "warnings": [{"message": str(w.message), "category": w.category.__name__,
                      "filename": os.path.abspath(w.filename), "lineno": w.lineno,
                      "line": linecache.getline(w.filename, w.lineno).strip()}
                     for w in backend_warnings],
        "script": os.path.abspath(__file__),
        "first_line": first_line,
    }


def _child_main(argv):
    mode = argv[0]
    if mode == "parity":
        result = _child_parity(argv[1], argv[2], argv[3])
    elif mode == "train":
        result = _child_train(argv[1])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    _child_main(sys.argv[1:])
    sys.exit(0)


# --------------------------------------------------------------------------
# The tests (the TensorFlow backend, in the test process)
# --------------------------------------------------------------------------

import warnings  # noqa: E402

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import gofocal  # noqa: E402
from spec_reference import TOLERANCES, assert_close  # noqa: E402
from where_helpers import parse, script_env  # noqa: E402

CHILD_TIMEOUT = 300
# Largest error / tolerance seen per dtype, printed at the end of the module.
WORST = {}


@pytest.fixture(scope="module", autouse=True)
def _print_worst():
    yield
    print("\nJAX vs the fused op, largest error / tolerance:")
    for key, (ratio, where) in sorted(WORST.items()):
        print(f"  {key}: {ratio:.3g} ({where})")


def _inputs():
    arrays = {}
    for seed, (name, (_, _, kind)) in enumerate(CASES.items()):
        y, p, u = make_inputs(kind, 7000 + seed)
        arrays.update({f"{name}/y": y, f"{name}/p": p, f"{name}/u": u})
    return arrays


def _start(args, **env):
    command = [sys.executable, os.path.abspath(__file__), *args]
    process = subprocess.Popen(command, env=script_env(KERAS_BACKEND="jax", **env),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=os.path.dirname(os.path.abspath(__file__)))
    return process, " ".join(args)


def _finish(started):
    process, what = started
    try:
        stdout, stderr = process.communicate(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return parse(done, f"the JAX child {what}")


@pytest.fixture(scope="module")
def children(tmp_path_factory):
    """The three JAX children, run at once: {"float32": (summary, arrays),
    "float64": (summary, arrays), "train": summary}."""
    folder = tmp_path_factory.mktemp("backends")
    inputs = folder / "inputs.npz"
    np.savez(inputs, **_inputs())
    start = time.perf_counter()
    started = {
        "float32": _start(["parity", str(inputs), str(folder / "float32.npz"), "float32"]),
        "float64": _start(["parity", str(inputs), str(folder / "float64.npz"), "float64"],
                          JAX_ENABLE_X64="1"),
        "train": _start(["train", str(folder)]),
    }
    done, failures = {}, []
    for key, value in started.items():  # every child is waited for, even after a failure
        try:
            done[key] = _finish(value)
        except AssertionError as failure:
            failures.append(failure)
    if failures:
        raise failures[0]
    print(f"\nJAX children: {time.perf_counter() - start:.1f} s wall; jit (compile and run) "
          f"of all cases {sum(done['float32']['compile_and_run_seconds'].values()):.1f} s "
          f"(float32), {sum(done['float64']['compile_and_run_seconds'].values()):.1f} s "
          f"(float64); fit + evaluate of {len(TRAINED)} models "
          f"{done['train']['train_seconds']:.1f} s")
    for dtype in ("float32", "float64"):
        done[dtype] = (done[dtype], dict(np.load(folder / f"{dtype}.npz")))
    return done


def _reference(name, dtype):
    """The fused op's per-sample loss and gradient of sum(u * loss) for a case."""
    loss, kwargs, kind = CASES[name]
    arrays = _inputs()
    y, p, u = (arrays[f"{name}/{k}"].astype(dtype) for k in "ypu")
    if kind == "probs_1d_labels":
        y = y[:, None]  # as the loss's own rank handling does
    y, p = tf.constant(y), tf.constant(p)
    with tf.GradientTape() as tape:
        tape.watch(p)
        if loss == "BinaryFocalLoss":
            balance = kwargs.get("apply_class_balancing", False)
            value = gofocal.binary_focal_loss(
                y, p, alpha=kwargs.get("alpha", 0.25) if balance else None,
                gamma=kwargs.get("gamma", 2.0), from_logits=kwargs.get("from_logits", False),
                label_smoothing=kwargs.get("label_smoothing", 0.0), axis=kwargs.get("axis", -1),
                ignore_value=kwargs.get("ignore_value"))
        elif loss == "AsymmetricLoss":
            weights = None
            if "classes_num" in kwargs:  # AsymmetricLoss scales them to mean 1
                weights = np.array(gofocal.class_weights(kwargs["classes_num"], kwargs.get("beta")))
                weights *= len(weights)
            value = gofocal.asymmetric_loss(
                y, p, gamma_neg=kwargs.get("gamma_neg", 4.0),
                gamma_pos=kwargs.get("gamma_pos", 1.0), clip=kwargs.get("clip", 0.05),
                focal_grad=kwargs.get("focal_grad", False),
                from_logits=kwargs.get("from_logits", False), class_weights=weights,
                ignore_value=kwargs.get("ignore_value"))
        else:
            weights = kwargs.get("class_weights") or gofocal.class_weights(
                kwargs["classes_num"], kwargs.get("beta"))
            value = gofocal.seed_focal_loss(y, p, weights, gamma=kwargs.get("gamma", 2.0),
                                            e=kwargs.get("e", 0.1),
                                            ignore_value=kwargs.get("ignore_value"))
        target = tf.reduce_sum(value * tf.constant(u))
    return value.numpy(), tape.gradient(target, p).numpy()


def _record(key, actual, expected, dtype, what):
    rtol, atol = TOLERANCES[dtype]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.abs(np.asarray(actual, np.float64) - expected) / np.maximum(
            atol, rtol * np.abs(expected))
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size and ratio.max() > WORST.get(key, (-1, ""))[0]:
        WORST[key] = (float(ratio.max()), what)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(CASES))
def test_jax_loss_and_gradient_match_the_fused_op(children, name, dtype):
    summary, arrays = children[dtype]
    assert summary["backend"] == "jax" and summary["x64"] == (dtype == "float64"), summary
    expected_value, expected_grad = _reference(name, dtype)
    for prefix in ("", "eager_"):
        value, grad = arrays[f"{name}/{prefix}value"], arrays[f"{name}/{prefix}grad"]
        assert str(arrays[f"{name}/dtype"]) == dtype
        assert value.shape == expected_value.shape and grad.shape == expected_grad.shape
        how = "jit" if not prefix else "eager"
        assert_close(value, expected_value, dtype, what=f"{name} {how} loss")
        assert_close(grad, expected_grad, dtype, what=f"{name} {how} gradient")
        _record(f"{dtype} loss", value, expected_value, dtype, name)
        _record(f"{dtype} gradient", grad, expected_grad, dtype, name)


def test_the_parity_children_warned_once_naming_jax(children):
    for dtype in ("float32", "float64"):
        summary, _ = children[dtype]
        assert len(summary["backend_warnings"]) == 1, summary["backend_warnings"]
        assert "jax" in summary["backend_warnings"][0]


# --- training ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(TRAINED))
def test_fit_and_evaluate_under_jax_lower_the_loss(children, name):
    result = children["train"]["results"][name]
    loss = np.array(result["loss"])
    assert loss.shape == (TRAIN_EPOCHS,) and np.all(np.isfinite(loss)), loss
    assert np.all(np.diff(loss) < 0), f"{name}: the loss did not fall every epoch: {loss}"
    assert np.isfinite(result["evaluate"]) and result["evaluate"] < loss[0], result


@pytest.fixture(scope="module")
def trained_on_tensorflow():
    results = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, (loss, kwargs, activation) in TRAINED.items():
            built = gofocal.focal_loss(**kwargs) if loss == "focal_loss" \
                else getattr(gofocal, loss)(**kwargs)
            results[name] = train(keras, built, activation, False)
    # The fused op ran: no word from gofocal about a backend or XLA.
    assert not [w for w in caught if "gofocal" in str(w.message)], [str(w.message) for w in caught]
    return results


@pytest.mark.parametrize("name", list(TRAINED))
def test_jax_training_tracks_the_fused_op_on_tensorflow(children, trained_on_tensorflow, name):
    """The same model, weights, data and batches on both backends: the loss
    histories agree to float32 training noise (the matmuls' summation
    order differs between TensorFlow and XLA)."""
    jax_result, tf_result = children["train"]["results"][name], trained_on_tensorflow[name]
    np.testing.assert_allclose(jax_result["loss"], tf_result["loss"], rtol=1e-5)
    np.testing.assert_allclose(jax_result["evaluate"], tf_result["evaluate"], rtol=1e-5)


def test_the_warning_is_given_once_names_jax_and_the_users_line(children):
    summary = children["train"]
    assert summary["backend"] == "jax"
    assert len(summary["warnings"]) == 1, summary["warnings"]
    warning = summary["warnings"][0]
    assert warning["category"] == "UserWarning"
    assert "jax backend" in warning["message"] and "keras.ops" in warning["message"], warning
    assert "KERAS_BACKEND=tensorflow" in warning["message"], warning
    # The first loss built (focal_loss) is the line named, in the child script.
    assert warning["filename"] == summary["script"], warning
    assert warning["lineno"] == summary["first_line"], warning
    assert "gofocal.focal_loss" in warning["message"], warning


@pytest.mark.parametrize("name", [n for n, (loss, _, _) in TRAINED.items() if loss != "focal_loss"])
def test_model_save_and_load_under_jax(children, name):
    result = children["train"]["results"][name]
    assert result["restored_loss_type"] == TRAINED[name][0]
    assert result["restored_evaluate"] == result["evaluate"], result


@pytest.mark.parametrize("name", [n for n, (loss, _, _) in TRAINED.items() if loss != "focal_loss"])
def test_get_config_from_config_round_trip_under_jax(children, name):
    trip = children["train"]["round_trips"][name]
    assert trip["restored_config"] == trip["config"]
    assert trip["deserialized_config"] == trip["config"]
    assert trip["deserialized_type"] == TRAINED[name][0]
    assert trip["restored_same_values"] and trip["deserialized_same_values"], trip


# --- the TensorFlow backend: unchanged -----------------------------------------


def test_tensorflow_backend_builds_without_a_warning_and_runs_the_fused_op():
    y, p, _ = make_inputs("seed", 1)
    y, p = y.astype(np.float32), p.astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = {"SeedFocalLoss": [gofocal.focal_loss(COUNTS),
                                   gofocal.FocalLoss(classes_num=COUNTS),
                                   gofocal.FocalLoss(class_weights=CLASS_WEIGHTS)],
                 "BinaryFocalLoss": [gofocal.BinaryFocalLoss(),
                                     gofocal.BinaryFocalLoss(from_logits=True)]}
    assert not caught, [str(w.message) for w in caught]
    for op, losses in built.items():
        for loss in losses:
            graph = tf.function(loss).get_concrete_function(
                tf.TensorSpec(y.shape, tf.float32), tf.TensorSpec(p.shape, tf.float32)).graph
            types = {o.type for o in graph.get_operations()}
            assert f"GoFocal>{op}" in types, (loss, sorted(types))


def test_keras_ops_form_matches_composite_on_tensorflow():
    """gofocal._keras_ops also runs on the TensorFlow backend (keras.ops is
    TensorFlow there): float64 values and gradients equal the composite's,
    the TF-ops version of the same formulas, to SPEC's float64 tolerance."""
    from gofocal import _keras_ops, composite

    for name, (loss, kwargs, kind) in CASES.items():
        y, p, u = make_inputs(kind, 99)
        if kind == "probs_1d_labels":
            y = y[:, None]
        axis = kwargs.get("axis", -1)
        y, p = tf.constant(y), tf.constant(p)

        def both(fn):
            with tf.GradientTape() as tape:
                tape.watch(p)
                value = fn(y, p)
                target = tf.reduce_sum(value * tf.constant(u))
            return value.numpy(), tape.gradient(target, p).numpy()

        if loss == "BinaryFocalLoss":
            alpha = kwargs.get("alpha", 0.25) if kwargs.get("apply_class_balancing") else None
            args = dict(alpha=alpha, gamma=kwargs.get("gamma", 2.0),
                        from_logits=kwargs.get("from_logits", False),
                        label_smoothing=kwargs.get("label_smoothing", 0.0),
                        ignore_value=kwargs.get("ignore_value"))
            ours = both(lambda a, b: _keras_ops.binary_focal_loss(a, b, axis=axis, **args))
            theirs = both(lambda a, b: composite.binary_composite(
                tf.experimental.numpy.moveaxis(a, axis, -1),
                tf.experimental.numpy.moveaxis(b, axis, -1), **args))
        elif loss == "AsymmetricLoss":
            args = {k: v for k, v in kwargs.items() if k not in ("classes_num", "beta")}
            if "classes_num" in kwargs:
                args["class_weights"] = gofocal.class_weights(kwargs["classes_num"],
                                                              kwargs.get("beta"))
            ours = both(lambda a, b: _keras_ops.asymmetric_loss(a, b, **args))
            theirs = both(lambda a, b: composite.asymmetric_composite(a, b, **args))
        else:
            weights = kwargs.get("class_weights") or gofocal.class_weights(
                kwargs["classes_num"], kwargs.get("beta"))
            gamma, e = kwargs.get("gamma", 2.0), kwargs.get("e", 0.1)
            ignore = kwargs.get("ignore_value")
            ours = both(lambda a, b: _keras_ops.seed_focal_loss(a, b, weights, gamma, e, ignore))
            theirs = both(lambda a, b: composite.seed_composite_per_sample(a, b, weights, gamma, e,
                                                                           ignore))
        assert_close(ours[0], theirs[0], "float64", what=f"{name} loss")
        assert_close(ours[1], theirs[1], "float64", what=f"{name} gradient")


# --- shapes and dtypes off TensorFlow, checked without tracing ------------------


def test_keras_ops_form_rejects_mismatched_shapes_naming_both():
    from gofocal import _keras_ops

    y = np.zeros((2, 4), np.float32)
    p = np.full((2, 3), 0.5, np.float32)
    for fn in (lambda: _keras_ops.seed_focal_loss(y, p, [0.25] * 3),
               lambda: _keras_ops.binary_focal_loss(y, p)):
        with pytest.raises(ValueError, match=r"\(2, 4\).*\(2, 3\)"):
            fn()
    with pytest.raises(ValueError, match=r"one value per class"):
        _keras_ops.seed_focal_loss(p, p, [0.5, 0.5])
    with pytest.raises(ValueError, match=r"alpha holds 2 values for 3 classes"):
        _keras_ops.binary_focal_loss(p, p, alpha=[0.5, 0.5])
    with pytest.raises(ValueError, match=r"axis"):
        _keras_ops.binary_focal_loss(p, p, axis=2)
    with pytest.raises(TypeError, match=r"int32"):
        _keras_ops.seed_focal_loss(p, p.astype(np.int32), [0.25] * 3)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_keras_ops_form_computes_half_precision_in_float32(dtype):
    from gofocal import _keras_ops

    y, p, _ = make_inputs("seed", 3)
    half = keras.ops.cast(p, dtype)
    value = _keras_ops.seed_focal_loss(y, half, gofocal.class_weights(COUNTS))
    assert keras.backend.standardize_dtype(value.dtype) == dtype
    expected = _keras_ops.seed_focal_loss(y, keras.ops.cast(half, "float32"),
                                          gofocal.class_weights(COUNTS))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(value),
                                  keras.ops.convert_to_numpy(keras.ops.cast(expected, dtype)))
