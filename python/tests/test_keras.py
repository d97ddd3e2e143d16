"""The Keras face: the seed's drop-in focal_loss and the FocalLoss class."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import gofocal
from gofocal import composite
from spec_reference import assert_close, spec_loss_and_grad

COUNTS = [500, 120, 40, 7]


def _batch(seed=3, rows=6):
    rng = np.random.default_rng(seed)
    y = (rng.random((rows, len(COUNTS))) < 0.4).astype(np.float32)
    p = rng.uniform(0.02, 0.98, (rows, len(COUNTS))).astype(np.float32)
    return y, p


def _spec_per_sample(y, p, gamma=2.0, e=0.1, weights=None):
    weights = gofocal.class_weights(COUNTS) if weights is None else weights
    loss, _, _ = spec_loss_and_grad(y, p, np.array(weights), gamma, e, "float32")
    return loss


# --- focal_loss, the seed's drop-in ------------------------------------------


def test_focal_loss_returns_the_per_sample_loss():
    y, p = _batch()
    value = gofocal.focal_loss(COUNTS, gamma=1.5, e=0.3)(y, p)
    assert value.shape == (6,) and value.dtype == tf.float32
    assert_close(value.numpy(), _spec_per_sample(y, p, 1.5, 0.3), "float32", what="focal_loss")


def test_focal_loss_default_alpha_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gofocal.focal_loss(COUNTS)
        gofocal.focal_loss(COUNTS, alpha=.25)


@pytest.mark.parametrize("alpha", [0.5, 0.0, 1.0, 0.75])
def test_focal_loss_non_default_alpha_warns_and_is_unused(alpha):
    y, p = _batch()
    with pytest.warns(UserWarning, match=r"alpha is unused"):
        loss = gofocal.focal_loss(COUNTS, alpha=alpha)
    np.testing.assert_array_equal(loss(y, p).numpy(), gofocal.focal_loss(COUNTS)(y, p).numpy())


# --- FocalLoss: construction ---------------------------------------------------


def test_class_weights_instead_of_classes_num():
    y, p = _batch()
    weights = gofocal.class_weights(COUNTS)
    by_weights = gofocal.FocalLoss(class_weights=weights, reduction="none")(y, p).numpy()
    by_counts = gofocal.FocalLoss(classes_num=COUNTS, reduction="none")(y, p).numpy()
    np.testing.assert_array_equal(by_weights, by_counts)


def test_class_weights_are_used_as_given():
    """Unlike counts, weights are not normalised: doubling them doubles the
    focal term (e = 0 leaves only that term)."""
    y, p = _batch()
    weights = [0.1, 0.2, 0.3, 0.4]
    once = gofocal.FocalLoss(class_weights=weights, e=0.0, reduction="none")(y, p).numpy()
    twice = gofocal.FocalLoss(class_weights=[2 * w for w in weights], e=0.0, reduction="none")(y, p).numpy()
    assert_close(twice, 2 * once, "float32", what="doubled weights")
    assert_close(once, _spec_per_sample(y, p, e=0.0, weights=weights), "float32", what="given weights")


@pytest.mark.parametrize("kwargs", [{}, {"classes_num": COUNTS, "class_weights": [.25] * 4}],
                         ids=["neither", "both"])
def test_exactly_one_of_classes_num_and_class_weights(kwargs):
    with pytest.raises(ValueError, match=r"exactly one of classes_num and class_weights"):
        gofocal.FocalLoss(**kwargs)


def test_empty_class_weights_are_rejected():
    with pytest.raises(ValueError, match=r"class_weights is empty"):
        gofocal.FocalLoss(class_weights=[])


def test_loss_dtype_follows_keras():
    y, p = _batch()
    assert gofocal.FocalLoss(classes_num=COUNTS)(y, p).dtype == tf.float32
    assert gofocal.FocalLoss(classes_num=COUNTS, dtype="float64")(y, p).dtype == tf.float64


# --- FocalLoss: reductions and sample weights ----------------------------------

REDUCTIONS = ["sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight"]


def _keras_reduction(per_sample, sample_weight, reduction):
    values = per_sample if sample_weight is None else per_sample * sample_weight
    if reduction in (None, "none"):
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return values.sum() / sample_weight.sum()
    return values.sum() / values.size


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
def test_reductions_match_keras_reductions_of_the_per_sample_loss(reduction, weighted):
    y, p = _batch(rows=8)
    sample_weight = np.linspace(0.0, 2.0, 8).astype(np.float32) if weighted else None
    value = gofocal.FocalLoss(classes_num=COUNTS, reduction=reduction)(y, p, sample_weight=sample_weight)
    expected = _keras_reduction(_spec_per_sample(y, p), sample_weight, reduction)
    assert value.shape == np.shape(expected)
    assert_close(value.numpy(), expected, "float32", what=f"reduction {reduction}")


# --- FocalLoss: serialization ----------------------------------------------------

LOSSES = {
    "classes_num": lambda: gofocal.FocalLoss(classes_num=COUNTS, gamma=1.5, e=0.2, validate=False,
                                             reduction="sum", name="my_focal"),
    "class_weights": lambda: gofocal.FocalLoss(class_weights=[0.1, 0.2, 0.3, 0.4], gamma=3.0, e=0.0,
                                               reduction="none"),
}


def _same_loss(a, b):
    assert type(b) is gofocal.FocalLoss
    assert b.get_config() == a.get_config()
    y, p = _batch()
    np.testing.assert_array_equal(b(y, p).numpy(), a(y, p).numpy())


@pytest.mark.parametrize("kind", list(LOSSES))
def test_get_config_from_config_round_trip(kind):
    loss = LOSSES[kind]()
    config = loss.get_config()
    assert config["gamma"] == loss.gamma and config["e"] == loss.e
    assert config["reduction"] == loss.reduction and config["name"] == loss.name
    _same_loss(loss, gofocal.FocalLoss.from_config(config))


@pytest.mark.parametrize("kind", list(LOSSES))
def test_keras_serialize_deserialize_round_trip(kind):
    loss = LOSSES[kind]()
    serialized = keras.saving.serialize_keras_object(loss)
    assert serialized["registered_name"] == "gofocal>FocalLoss"
    _same_loss(loss, keras.saving.deserialize_keras_object(serialized))
    _same_loss(loss, tf.keras.losses.deserialize(tf.keras.losses.serialize(loss)))


def test_model_save_and_load_keep_the_loss(tmp_path):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(len(COUNTS), activation="sigmoid")])
    loss = LOSSES["classes_num"]()
    model.compile(optimizer="sgd", loss=loss)
    x = np.random.default_rng(2).normal(size=(16, 5)).astype(np.float32)
    y, _ = _batch(rows=16)
    before = model.evaluate(x, y, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.loss) is gofocal.FocalLoss
    assert loaded.loss.get_config() == loss.get_config()
    assert loaded.evaluate(x, y, verbose=0) == before


# --- model.fit: the drop-in tracks the seed's composite ---------------------------

EPOCHS = 3


@pytest.fixture(scope="module")
def fit_histories():
    """Loss history and final weights of one small model trained from the same
    initial weights with each loss: seeded long-tailed multi-label data, SGD
    with momentum 0.9 as in the seed, no shuffling."""
    keras.utils.set_random_seed(20)
    rng = np.random.default_rng(20)
    samples, features, classes = 512, 16, 6
    x = rng.normal(size=(samples, features)).astype(np.float32)
    prior = 0.6 * 0.45 ** np.arange(classes)  # long tail: 0.6, 0.27, ..., 0.011
    logits = 0.4 * x @ rng.normal(size=(features, classes)) + np.log(prior / (1 - prior))
    y = (rng.random((samples, classes)) < 1 / (1 + np.exp(-logits))).astype(np.float32)
    y[np.arange(classes), np.arange(classes)] = 1  # every class seen at least once
    counts = y.sum(axis=0).tolist()

    model = keras.Sequential([keras.Input((features,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(classes, activation="sigmoid")])
    initial = model.get_weights()
    results = {"counts": counts}
    for name, loss in [("composite", composite.seed_composite_loss(counts)),
                       ("focal_loss", gofocal.focal_loss(counts)),
                       ("FocalLoss", gofocal.FocalLoss(classes_num=counts))]:
        model.set_weights(initial)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9), loss=[loss])
        history = model.fit(x, y, batch_size=32, epochs=EPOCHS, shuffle=False, verbose=0)
        results[name] = (np.array(history.history["loss"]), model.get_weights())
    results["initial"] = initial
    return results


def test_fit_data_is_long_tailed(fit_histories):
    counts = fit_histories["counts"]
    assert counts == sorted(counts, reverse=True) and counts[0] > 5 * counts[-1]


def test_fit_with_focal_loss_tracks_the_seed_composite(fit_histories):
    expected, _ = fit_histories["composite"]
    history, _ = fit_histories["focal_loss"]
    assert len(history) == EPOCHS and np.isfinite(history).all()
    assert expected[-1] < expected[0] * 0.99, "the model did not train"
    np.testing.assert_allclose(history, expected, rtol=1e-4)


def test_fit_ends_at_the_same_weights(fit_histories):
    _, expected = fit_histories["composite"]
    _, weights = fit_histories["focal_loss"]
    moved = max(np.abs(w - w0).max() for w, w0 in zip(expected, fit_histories["initial"]))
    assert moved > 1e-2, "the weights did not move"
    for got, want in zip(weights, expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * moved)


def test_fit_with_focal_loss_class_matches_the_drop_in(fit_histories):
    expected, _ = fit_histories["focal_loss"]
    history, _ = fit_histories["FocalLoss"]
    np.testing.assert_allclose(history, expected, rtol=1e-6)
