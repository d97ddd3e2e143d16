"""Where users put it: a SavedModel. A tf.Module whose tf.function calls
gofocal.seed_focal_loss (or binary_focal_loss) is saved with
tf.saved_model.save (scripts/save_module.py, which also writes the SavedModel
the Go test loads through graft) and loaded with tf.saved_model.load in a
fresh process after `import gofocal`: same outputs, same gradients.
"""

import numpy as np
import pytest

import gofocal
from gofocal import composite
from spec_reference import (WORKED_COUNTS, WORKED_LABELS, WORKED_LOSS, WORKED_MEAN,
                            WORKED_PREDICTIONS, assert_close, spec_loss_and_grad)
from where_helpers import run_script

VARIANTS = ["seed", "binary"]
# What each loader output must equal, from the saver's own outputs.
OUTPUTS = {"loss_signature": "loss", "serving_default": "loss", "loss_and_gradient_loss": "loss",
           "function_loss": "loss", "loss_and_gradient_gradient": "gradient",
           "tape_gradient": "gradient"}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """variant -> (SavedModel dir, check file, save_module.py's JSON)."""
    out = {}
    for variant in VARIANTS:
        folder = tmp_path_factory.mktemp(f"savedmodel_{variant}")
        path, check = folder / "model", folder / "check.npz"
        out[variant] = path, check, run_script("save_module.py", path, "--variant", variant,
                                               "--check", check)
    return out


def _load_all(saved, *flags):
    """Loads every variant's SavedModel in one fresh process (load_module.py):
    variant -> (its report: signatures or error, saver's check data, loaded outputs)."""
    args = [str(a) for variant in VARIANTS for a in saved[variant][:2]]
    report = run_script("load_module.py", *flags, *args)
    out = {}
    for variant in VARIANTS:
        path, check, _ = saved[variant]
        entry = report[str(path)]
        loaded = None if "error" in entry else np.load(f"{check}.loaded.npz")
        out[variant] = entry, np.load(check), loaded
    return out


@pytest.fixture(scope="module")
def after_import(saved):
    return _load_all(saved)


@pytest.fixture(scope="module")
def with_ops(saved):
    return _load_all(saved, "--load-ops")


@pytest.fixture(scope="module")
def without_gofocal(saved):
    return _load_all(saved, "--no-import")


def test_save_module_prints_the_spec_worked_example(saved):
    example = saved["seed"][2]["example"]
    assert example["labels"] == WORKED_LABELS.tolist()
    assert example["predictions"] == WORKED_PREDICTIONS.tolist()
    np.testing.assert_array_equal(example["spec_loss"], WORKED_LOSS)
    assert example["spec_mean"] == WORKED_MEAN
    assert_close(example["loss"], WORKED_LOSS, "float32", what="worked example loss")
    assert_close([example["mean"]], [WORKED_MEAN], "float32", what="worked example mean")
    loss, grad, magnitude = spec_loss_and_grad(WORKED_LABELS, WORKED_PREDICTIONS,
                                               gofocal.class_weights(WORKED_COUNTS), 2.0, 0.1,
                                               "float32")
    assert_close(example["loss"], loss, "float32", what="worked example vs spec_reference")
    assert_close(example["gradient"], grad, "float32", scale=magnitude,
                 what="worked example gradient")
    params = saved["seed"][2]["params"]
    assert params["classes_num"] == WORKED_COUNTS and params["gamma"] == 2.0 and params["e"] == 0.1


def test_binary_module_prints_its_example(saved):
    result = saved["binary"][2]
    params = result["params"]
    expected = composite.binary_composite(
        WORKED_LABELS, WORKED_PREDICTIONS, alpha=params["alpha"], gamma=params["gamma"],
        label_smoothing=params["label_smoothing"]).numpy()
    assert_close(result["example"]["loss"], expected, "float32", what="binary example")


def _assert_equal_outputs(loads, variant, what):
    entry, check, loaded = loads[variant]
    assert "error" not in entry, f"{what}: {entry.get('error')}\n{entry.get('traceback')}"
    assert check["loss"].shape == (37,) and check["gradient"].shape == (37, 3)
    assert np.all(np.isfinite(check["loss"])) and np.all(np.isfinite(check["gradient"]))
    for key, source in OUTPUTS.items():
        np.testing.assert_array_equal(loaded[key], check[source], err_msg=f"{what}: {key}")


@pytest.mark.parametrize("variant", VARIANTS)
def test_savedmodel_loads_after_import_gofocal(after_import, variant):
    """`import gofocal` alone must make the op known to tf.saved_model.load."""
    _assert_equal_outputs(after_import, variant, f"{variant} after import gofocal")


@pytest.mark.parametrize("variant", VARIANTS)
def test_savedmodel_gives_equal_outputs_and_gradients(with_ops, variant):
    """With the op library loaded explicitly (what the first loss call does),
    every signature, the restored tf.function and a GradientTape through it
    give the saver's bits."""
    _assert_equal_outputs(with_ops, variant, f"{variant} with the op library loaded")
    assert sorted(with_ops[variant][0]["signatures"]) == ["loss", "loss_and_gradient",
                                                          "serving_default"]


def test_serving_signature_is_the_go_contract(with_ops):
    """What the Go test relies on: loss(labels float32[None,3],
    predictions float32[None,3]) -> {"loss": float32[None]}."""
    signatures = with_ops["seed"][0]["signatures"]
    inputs = {"labels": {"dtype": "float32", "shape": [None, 3]},
              "predictions": {"dtype": "float32", "shape": [None, 3]}}
    for key in ("loss", "serving_default"):
        assert signatures[key] == {
            "inputs": inputs, "outputs": {"loss": {"dtype": "float32", "shape": [None]}}}, key
    assert signatures["loss_and_gradient"] == {
        "inputs": inputs, "outputs": {"loss": {"dtype": "float32", "shape": [None]},
                                      "gradient": {"dtype": "float32", "shape": [None, 3]}}}


@pytest.mark.parametrize("variant, op", [("seed", "SeedFocalLoss"), ("binary", "BinaryFocalLoss")])
def test_without_gofocal_the_op_is_unknown(without_gofocal, variant, op):
    """The SavedModel holds the op by name only: a process that never imports
    gofocal cannot load it, and TensorFlow's error names the op."""
    entry = without_gofocal[variant][0]
    assert f"Op type not registered 'GoFocal>{op}'" in entry.get("error", ""), entry
