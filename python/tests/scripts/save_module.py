"""Write a SavedModel whose functions call gofocal's fused op.

    save_module.py OUTDIR [--variant seed|binary] [--check FILE.npz]

seed (default; the SavedModel the Go test loads through graft): the seed
variant for classes_num [1, 2, 3], gamma 2, e 0.1, with signatures

    "serving_default" and "loss":
        loss(labels: float32[None, 3], predictions: float32[None, 3])
            -> {"loss": float32[None]}
    "loss_and_gradient":
        the same inputs -> {"loss": float32[None],
                            "gradient": float32[None, 3]}  (d sum(loss) / d predictions)

binary: binary_focal_loss with alpha [0.25, 0.5, 0.75] per class, gamma 2,
label smoothing 0.1, the same signatures.

Prints one JSON line: the SavedModel's path, signatures and parameters, and
the expected outputs for the SPEC worked example (labels [[1,0,1],[0,1,0]],
predictions [[.9,.3,.4],[.2,.5,.05]]) as the function computes them in
float32 before saving (for seed, SPEC.md's float64 values are
L = [0.13935285744407913, 0.1620203821512099], mean 0.15068661979764453).

With --check, also writes FILE.npz: random inputs and the outputs of every
signature on them, for a loader to compare against.
"""

import argparse
import os

import where_common as common

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import gofocal  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("outdir")
parser.add_argument("--variant", choices=["seed", "binary"], default="seed")
parser.add_argument("--check")
args = parser.parse_args()

CLASSES_NUM = [1, 2, 3]
GAMMA = 2.0
E = 0.1
ALPHA = [0.25, 0.5, 0.75]
LABEL_SMOOTHING = 0.1
SPEC_LABELS = [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
SPEC_PREDICTIONS = [[0.9, 0.3, 0.4], [0.2, 0.5, 0.05]]
SPEC_LOSS = [0.13935285744407913, 0.1620203821512099]
SPEC_MEAN = 0.15068661979764453

SPEC = [tf.TensorSpec([None, 3], tf.float32, name="labels"),
        tf.TensorSpec([None, 3], tf.float32, name="predictions")]


class FocalLossModule(tf.Module):
    def __init__(self, variant):
        super().__init__(name=f"gofocal_{variant}")
        self.variant = variant
        self.class_weights = gofocal.class_weights(CLASSES_NUM)

    def _loss(self, labels, predictions):
        if self.variant == "seed":
            return gofocal.seed_focal_loss(labels, predictions, self.class_weights,
                                           gamma=GAMMA, e=E)
        return gofocal.binary_focal_loss(labels, predictions, alpha=ALPHA, gamma=GAMMA,
                                         label_smoothing=LABEL_SMOOTHING)

    @tf.function(input_signature=SPEC)
    def loss(self, labels, predictions):
        return {"loss": self._loss(labels, predictions)}

    @tf.function(input_signature=SPEC)
    def loss_and_gradient(self, labels, predictions):
        with tf.GradientTape() as tape:
            tape.watch(predictions)
            loss = self._loss(labels, predictions)
        return {"loss": loss, "gradient": tape.gradient(loss, predictions)}


module = FocalLossModule(args.variant)
signatures = {"serving_default": module.loss, "loss": module.loss,
              "loss_and_gradient": module.loss_and_gradient}
tf.saved_model.save(module, args.outdir, signatures=signatures)

example = module.loss_and_gradient(tf.constant(SPEC_LABELS), tf.constant(SPEC_PREDICTIONS))
result = {
    "path": os.path.abspath(args.outdir),
    "variant": args.variant,
    "signatures": sorted(signatures),
    "inputs": {"labels": "float32[None,3]", "predictions": "float32[None,3]"},
    "outputs": {"loss": "float32[None]", "gradient": "float32[None,3] (loss_and_gradient only)"},
    "params": ({"classes_num": CLASSES_NUM, "class_weights": module.class_weights,
                "gamma": GAMMA, "e": E} if args.variant == "seed" else
               {"alpha": ALPHA, "gamma": GAMMA, "label_smoothing": LABEL_SMOOTHING}),
    "example": {"labels": SPEC_LABELS, "predictions": SPEC_PREDICTIONS,
                "loss": common.floats(example["loss"]),
                "mean": float(np.mean(example["loss"].numpy())),
                "gradient": example["gradient"].numpy().astype(np.float64).tolist()},
}
if args.variant == "seed":
    result["example"].update(spec_loss=SPEC_LOSS, spec_mean=SPEC_MEAN)

if args.check:
    rng = np.random.default_rng(7)
    rows = 37
    labels = (rng.random((rows, 3)) < 0.5).astype(np.float32)
    if args.variant == "binary":
        soft = rng.random((rows, 3)).astype(np.float32)
        labels = np.where(rng.random((rows, 3)) < 0.3, soft, labels)
    predictions = rng.uniform(0.01, 0.99, (rows, 3)).astype(np.float32)
    out = module.loss_and_gradient(tf.constant(labels), tf.constant(predictions))
    np.savez(args.check, labels=labels, predictions=predictions,
             loss=out["loss"].numpy(), gradient=out["gradient"].numpy())
    result["check"] = os.path.abspath(args.check)

common.emit(result)
