"""Shared pieces of the test_where_* helper scripts (run as subprocesses).

Each script prints exactly one JSON line on stdout, its result; TensorFlow's
chatter goes to stderr. Data and initial weights come from NumPy with fixed
seeds, so every process (saver, loader, worker, reference) starts from the
same bits whatever Keras version or distribution strategy it runs.
"""

import json
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

FEATURES = 8
CLASSES = 4
HIDDEN = 16


def data(samples=128, seed=0):
    """Long-tailed multi-label data: x [samples, FEATURES], y [samples, CLASSES]
    (0/1, every class seen), and the per-class counts."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, FEATURES)).astype(np.float32)
    prior = 0.5 * 0.5 ** np.arange(CLASSES)
    logits = 0.8 * x @ rng.normal(size=(FEATURES, CLASSES)) + np.log(prior / (1 - prior))
    y = (rng.random((samples, CLASSES)) < 1 / (1 + np.exp(-logits))).astype(np.float32)
    y[np.arange(CLASSES), np.arange(CLASSES)] = 1
    return x, y, y.sum(axis=0).tolist()


def build_model(keras, output_activation="sigmoid"):
    """A small MLP with sigmoid outputs, built (weights exist)."""
    return keras.Sequential([
        keras.Input((FEATURES,)),
        keras.layers.Dense(HIDDEN, activation="tanh"),
        keras.layers.Dense(CLASSES, activation=output_activation),
    ])


def initial_weights(model, seed=1):
    """Fixed initial weights for model (Glorot-like scale, zero biases)."""
    rng = np.random.default_rng(seed)
    weights = []
    for w in model.get_weights():
        if w.ndim == 2:
            scale = math.sqrt(2.0 / (w.shape[0] + w.shape[1]))
            weights.append(rng.normal(scale=scale, size=w.shape).astype(w.dtype))
        else:
            weights.append(np.zeros_like(w))
    return weights


def deterministic(tf):
    tf.keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()


def floats(values):
    return [float(v) for v in np.ravel(np.asarray(values, dtype=np.float64))]


def emit(result):
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
