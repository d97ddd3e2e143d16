"""Keras 2 (run with TF_USE_LEGACY_KERAS=1): the seed's usage, unchanged but
for the import, trains; so do FocalLoss, BinaryFocalLoss and AsymmetricLoss
(on partial labels). Every run starts
from the same weights on the same data; prints the loss histories of the
gofocal losses and of the same losses written with TensorFlow ops.

    keras2_train.py [EPOCHS]
"""

import sys

import where_common as common

import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from tf_keras.optimizers import SGD  # noqa: E402

from gofocal import AsymmetricLoss, BinaryFocalLoss, FocalLoss, composite, focal_loss  # noqa: E402

EPOCHS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
learning_rate = 0.05
ALPHA = [0.6, 0.5, 0.4, 0.3]

common.deterministic(tf)
x, y, classes_num = common.data()
model = common.build_model(tf.keras)
initial = common.initial_weights(model)


def train(loss, metrics=("accuracy",)):
    model.set_weights(initial)
    # The seed's line, with learning_rate for lr: tf_keras 2.18 accepts lr but ignores it
    # (a warning, and the default 0.01).
    model.compile(optimizer=SGD(learning_rate=learning_rate, momentum=0.9), loss=[loss],
                  metrics=list(metrics))
    history = model.fit(x, y, batch_size=16, epochs=EPOCHS, shuffle=False, verbose=0)
    return {k: common.floats(v) for k, v in history.history.items()}


def binary_composite(y_true, y_pred):
    return composite.binary_composite(y_true, y_pred, alpha=ALPHA, gamma=2.0)


# Partial labels: every fifth label unknown (-1), for the asymmetric loss.
partial = y.copy()
partial.flat[::5] = -1.0


def train_partial(loss):
    model.set_weights(initial)
    model.compile(optimizer=SGD(learning_rate=learning_rate, momentum=0.9), loss=loss)
    history = model.fit(x, partial, batch_size=16, epochs=EPOCHS, shuffle=False, verbose=0)
    return {k: common.floats(v) for k, v in history.history.items()}


def asymmetric_composite(y_true, y_pred):
    return composite.asymmetric_composite(y_true, y_pred, ignore_value=-1)


result = {
    "tf_keras_name": tf.keras.__name__,
    "tf_keras_version": tf_keras.__version__,
    "keras_module": type(model).__module__,
    "optimizer_module": SGD.__module__,
    "classes_num": classes_num,
    "focal_loss": train(focal_loss(classes_num)),
    "seed_composite": train(composite.seed_composite_loss(classes_num)),
    "FocalLoss": train(FocalLoss(classes_num=classes_num)),
    "BinaryFocalLoss": train(BinaryFocalLoss(apply_class_balancing=True, alpha=ALPHA, gamma=2.0)),
    "binary_composite": train(binary_composite),
    "AsymmetricLoss": train_partial(AsymmetricLoss(ignore_value=-1)),
    "asymmetric_composite": train_partial(asymmetric_composite),
}
common.emit(result)
