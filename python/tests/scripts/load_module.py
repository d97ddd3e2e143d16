"""Load SavedModels written by save_module.py in a fresh process and run them.

    load_module.py [--no-import | --load-ops] SAVEDMODEL CHECK.npz [SAVEDMODEL CHECK.npz ...]

Imports gofocal first (which should load the op library; it registers the
op's gradient) unless --no-import; with --load-ops, also loads the op library
explicitly (gofocal._native.ops()), as the first loss call does.

For each SavedModel: runs the "loss", "serving_default" and
"loss_and_gradient" signatures, the restored tf.function and a GradientTape
through it on the inputs in CHECK.npz, and writes the outputs to
CHECK.npz + ".loaded.npz". Prints one JSON line: per SavedModel, either its
signatures (input and output specs) or the error that loading or running it
raised.
"""

import sys
import traceback

import where_common as common

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

flags = [a for a in sys.argv[1:] if a.startswith("--")]
pairs = [a for a in sys.argv[1:] if not a.startswith("--")]
if "--no-import" not in flags:
    import gofocal  # noqa: F401
if "--load-ops" in flags:
    gofocal._native.ops()


def spec(t):
    return {"dtype": t.dtype.name, "shape": t.shape.as_list()}


def run(path, check):
    data = np.load(check)
    labels, predictions = tf.constant(data["labels"]), tf.constant(data["predictions"])
    loaded = tf.saved_model.load(path)
    out = {}
    out["loss_signature"] = loaded.signatures["loss"](
        labels=labels, predictions=predictions)["loss"]
    out["serving_default"] = loaded.signatures["serving_default"](
        labels=labels, predictions=predictions)["loss"]
    both = loaded.signatures["loss_and_gradient"](labels=labels, predictions=predictions)
    out["loss_and_gradient_loss"] = both["loss"]
    out["loss_and_gradient_gradient"] = both["gradient"]
    out["function_loss"] = loaded.loss(labels, predictions)["loss"]
    with tf.GradientTape() as tape:
        tape.watch(predictions)
        loss = loaded.loss(labels, predictions)["loss"]
    out["tape_gradient"] = tape.gradient(loss, predictions)
    np.savez(check + ".loaded.npz", **{k: v.numpy() for k, v in out.items()})
    contract = {}
    for key, fn in loaded.signatures.items():
        _, kwargs = fn.structured_input_signature
        contract[key] = {"inputs": {k: spec(v) for k, v in kwargs.items()},
                         "outputs": {k: spec(v) for k, v in fn.structured_outputs.items()}}
    return {"signatures": contract}


result = {}
for path, check in zip(pairs[::2], pairs[1::2]):
    try:
        result[path] = run(path, check)
    except Exception as err:  # reported to the test, which names it
        result[path] = {"error": f"{type(err).__name__}: {err}",
                        "traceback": traceback.format_exc()[-3000:]}
common.emit(result)
