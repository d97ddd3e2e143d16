"""Running the test_where_* helper scripts (python/tests/scripts) in fresh
processes: a copy of the environment, a timeout, one JSON line back."""

import json
import os
import subprocess
import sys

import numpy as np

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")


def script_env(legacy_keras=False, **extra):
    """os.environ copied, quiet and deterministic; tf.keras is tf_keras
    (Keras 2) with legacy_keras, Keras 3 otherwise."""
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["TF_ENABLE_ONEDNN_OPTS"] = "0"
    env["PYTHONHASHSEED"] = "0"
    env["CUDA_VISIBLE_DEVICES"] = ""
    env.pop("TF_CONFIG", None)
    if legacy_keras:
        env["TF_USE_LEGACY_KERAS"] = "1"
    else:
        env.pop("TF_USE_LEGACY_KERAS", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def command(script, *args):
    return [sys.executable, os.path.join(SCRIPTS, script), *[str(a) for a in args]]


def parse(done, what):
    """The JSON result of a finished script, or an AssertionError with its output."""
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        raise AssertionError(
            f"{what} failed with exit code {done.returncode}\n"
            f"--- stdout ---\n{done.stdout[-4000:]}\n--- stderr ---\n{done.stderr[-8000:]}")
    result = json.loads(lines[-1])
    result["_stderr"] = done.stderr
    return result


def run_script(script, *args, legacy_keras=False, timeout=120, env=None, **extra):
    """Runs scripts/<script> with args in a fresh interpreter; its JSON result."""
    env = script_env(legacy_keras, **extra) if env is None else env
    done = subprocess.run(command(script, *args), env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=SCRIPTS)
    return parse(done, f"{script} {' '.join(map(str, args))}")


def assert_rel(actual, expected, rtol, what):
    """Elementwise |actual - expected| <= rtol * |expected|, same lengths, all finite."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shapes {actual.shape} != {expected.shape}"
    assert np.all(np.isfinite(actual)) and np.all(np.isfinite(expected)), \
        f"{what}: not finite: {actual} vs {expected}"
    err = np.abs(actual - expected) / np.maximum(np.abs(expected), 1e-30)
    assert np.all(err <= rtol), \
        f"{what}: relative error {err.max():.3g} > {rtol:g}\n  got      {actual.tolist()}\n" \
        f"  expected {expected.tolist()}"
