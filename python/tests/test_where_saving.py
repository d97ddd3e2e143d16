"""Where users put it: saved models. A model compiled with FocalLoss, and one
with BinaryFocalLoss (per-class alpha), saved after an epoch of training and
loaded in a fresh process that only imports gofocal (the losses come back
through their Keras registration, no custom_objects), keeps its loss and its
optimizer state: the next epoch gives the saver's loss values.

Keras 3: model.save("m.keras"). Keras 2 (tf_keras 2.18, TF_USE_LEGACY_KERAS=1):
SavedModel (save_format="tf") and h5.
"""

import pytest

from where_helpers import assert_rel, run_script

LOSS_CLASSES = {"focal": "gofocal.losses.FocalLoss", "binary": "gofocal.losses.BinaryFocalLoss"}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """{"keras3": (dir, saver result), "tf_keras": (dir, saver result)}."""
    out = {}
    for flavor, legacy in [("keras3", False), ("tf_keras", True)]:
        folder = tmp_path_factory.mktemp(flavor)
        out[flavor] = folder, run_script("keras_save_load.py", "save", folder, legacy_keras=legacy)
    return out


@pytest.mark.parametrize("fmt, flavor",
                         [("keras", "keras3"), ("tf", "tf_keras"), ("h5", "tf_keras")])
def test_loaded_model_trains_on_with_the_same_loss_values(saved, fmt, flavor):
    folder, saver = saved[flavor]
    legacy = flavor == "tf_keras"
    loader = run_script("keras_save_load.py", "load", fmt, folder, legacy_keras=legacy)
    expected_keras = "tf_keras" if legacy else "keras"
    assert saver["keras"].startswith(expected_keras), saver["keras"]
    assert loader["keras"].startswith(expected_keras), loader["keras"]
    for name, cls in LOSS_CLASSES.items():
        want, got = saver[name], loader[name]
        what = f"{fmt} {name}"
        assert want["loss_class"] == cls, f"{what}: the saver used {want['loss_class']}"
        assert got["loss_class"] == cls, f"{what}: loaded with loss {got['loss_class']}"
        assert got["loss_config"] == want["loss_config"], what
        assert got["optimizer"] == want["optimizer"] == "SGD", what
        assert got["momentum"] == want["momentum"] == 0.9, what
        assert got["optimizer_iterations"] == want["optimizer_iterations"] > 0, \
            f"{what}: optimizer state not restored ({got['optimizer_iterations']} iterations, " \
            f"saved {want['optimizer_iterations']})"
        assert got["weights_sum"] == want["weights_sum"], f"{what}: weights differ"
        assert_rel([got["evaluate"]], [want["evaluate"]], 1e-6, f"{what}: evaluate after loading")
        assert_rel(got["next_epoch"], want["next_epoch"], 1e-6, f"{what}: the epoch after saving")
        assert_rel([got["evaluate_after"]], [want["evaluate_after"]], 1e-6,
                   f"{what}: evaluate after that epoch")
        assert want["next_epoch"][0] < want["first_epoch"][0], f"{what}: training does not train"
