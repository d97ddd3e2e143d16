"""Save compiled, partly trained models, or load them in a fresh process and
keep training them.

    keras_save_load.py save DIR         (Keras 3: DIR/<loss>.keras;
                                         with TF_USE_LEGACY_KERAS=1, tf_keras:
                                         DIR/<loss>_savedmodel and DIR/<loss>.h5)
    keras_save_load.py load FORMAT DIR  (FORMAT keras, tf or h5)

Two models, one per loss: "focal" is FocalLoss(classes_num=...), "binary" is
BinaryFocalLoss with per-class alpha.

save: compiles with SGD(momentum=0.9) and the loss, trains one epoch (so the
optimizer holds momentum), saves, then evaluates and trains one more epoch.
load: imports gofocal only (its registration brings the losses back; no
custom_objects), loads, evaluates and trains one epoch on the same data.
The two must agree.
"""

import os
import sys

import where_common as common

MODE = sys.argv[1]
FORMAT, DIR = (sys.argv[2], sys.argv[3]) if MODE == "load" else (None, sys.argv[2])

import tensorflow as tf  # noqa: E402

import gofocal  # noqa: E402  (the only import the loader needs)

common.deterministic(tf)
keras = tf.keras
LEGACY = keras.__name__.startswith("tf_keras")
if MODE == "load" and LEGACY != (FORMAT in ("tf", "h5")):
    sys.exit(f"format {FORMAT} with tf.keras = {keras.__name__}: "
             "tf and h5 need TF_USE_LEGACY_KERAS=1, keras needs it unset")

x, y, classes_num = common.data()
BATCH = 16
ALPHA = [0.6, 0.5, 0.4, 0.3]
LOSSES = {
    "focal": lambda: gofocal.FocalLoss(classes_num=classes_num, gamma=2.0, e=0.1),
    "binary": lambda: gofocal.BinaryFocalLoss(apply_class_balancing=True, alpha=ALPHA, gamma=1.5,
                                              label_smoothing=0.05),
}


def path(name, fmt):
    return os.path.join(DIR, {"keras": f"{name}.keras", "tf": f"{name}_savedmodel",
                              "h5": f"{name}.h5"}[fmt])


def describe(model):
    loss = model.loss
    if isinstance(loss, (list, tuple)):
        (loss,) = loss
    optimizer = model.optimizer
    return {
        "loss_class": f"{type(loss).__module__}.{type(loss).__qualname__}",
        "loss_config": loss.get_config() if hasattr(loss, "get_config") else None,
        "optimizer": type(optimizer).__name__,
        "optimizer_iterations": int(optimizer.iterations.numpy()),
        "momentum": float(keras.backend.get_value(optimizer.momentum)),
        "weights_sum": float(sum(abs(w).sum() for w in model.get_weights())),
    }


def evaluate(model):
    return float(model.evaluate(x, y, batch_size=BATCH, verbose=0))


def one_epoch(model):
    history = model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    return common.floats(history.history["loss"])


def save(name):
    model = common.build_model(keras)
    model.set_weights(common.initial_weights(model))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
                  loss=LOSSES[name]())
    first_epoch = one_epoch(model)
    if LEGACY:
        model.save(path(name, "tf"), save_format="tf")
        model.save(path(name, "h5"))
    else:
        model.save(path(name, "keras"))
    return model, {"first_epoch": first_epoch}


def load(name):
    model = keras.models.load_model(path(name, FORMAT))
    if FORMAT == "tf":
        # tf_keras restores a SavedModel's optimizer state only through
        # load_weights (then lazily, when the optimizer builds):
        # keras-team/tf-keras#70, keras-team/keras#16983. Not gofocal's doing.
        model.load_weights(path(name, "tf")).expect_partial()
        model.optimizer.build(model.trainable_variables)
    return model, {}


result = {"keras": keras.__name__}
for name in LOSSES:
    model, out = save(name) if MODE == "save" else load(name)
    out.update(describe(model))
    out["evaluate"] = evaluate(model)
    out["next_epoch"] = one_epoch(model)
    out["evaluate_after"] = evaluate(model)
    result[name] = out
common.emit(result)
