// Registration and shape function of the focal-loss ops. The kernels live in
// kernels/, the gradients in gradients/ (C++) and python/gofocal (Python).
#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "library/library.h"

namespace gofocal {

using ::tensorflow::Status;
using ::tensorflow::shape_inference::DimensionHandle;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

namespace {

// Labels and predictions are [classes] or [batch, classes] of one shape;
// sets *merged to it.
Status LabelsAndPredictions(InferenceContext* c, ShapeHandle* merged) {
  ShapeHandle labels = c->input(0);
  ShapeHandle predictions = c->input(1);
  if (c->RankKnown(predictions) && (c->Rank(predictions) < 1 || c->Rank(predictions) > 2)) {
    return tensorflow::errors::InvalidArgument(
        "predictions must have shape [classes] or [batch, classes], got ", c->DebugString(predictions));
  }
  if (!c->Merge(labels, predictions, merged).ok()) {
    return tensorflow::errors::InvalidArgument(
        "labels and predictions must have the same shape, got labels ", c->DebugString(labels),
        " and predictions ", c->DebugString(predictions));
  }
  return absl::OkStatus();
}

// Input i must be a scalar.
Status Scalar(InferenceContext* c, int i, const char* name) {
  ShapeHandle scalar;
  if (!c->WithRank(c->input(i), 0, &scalar).ok()) {
    return tensorflow::errors::InvalidArgument(name, " must be a scalar, got shape ",
                                               c->DebugString(c->input(i)));
  }
  return absl::OkStatus();
}

// The loss drops the class dimension; the gradient has the predictions' shape.
Status SetOutputs(InferenceContext* c, ShapeHandle merged) {
  if (c->RankKnown(merged)) {
    ShapeHandle loss;
    TF_RETURN_IF_ERROR(c->Subshape(merged, 0, -1, &loss));
    c->set_output(0, loss);
  } else {
    c->set_output(0, c->UnknownShape());
  }
  c->set_output(1, merged);
  return absl::OkStatus();
}

// Class weights [classes], gamma and e scalars.
Status SeedFocalLossShape(InferenceContext* c) {
  ShapeHandle merged;
  TF_RETURN_IF_ERROR(LabelsAndPredictions(c, &merged));
  ShapeHandle weights = c->input(2);
  if (!c->WithRank(weights, 1, &weights).ok()) {
    return tensorflow::errors::InvalidArgument("class_weights must have shape [classes], got ",
                                               c->DebugString(c->input(2)));
  }
  if (c->RankKnown(merged)) {
    DimensionHandle unused;
    if (!c->Merge(c->Dim(merged, -1), c->Dim(weights, 0), &unused).ok()) {
      return tensorflow::errors::InvalidArgument(
          "class_weights must have one value per class: got shape ", c->DebugString(weights),
          " for predictions of shape ", c->DebugString(merged));
    }
  }
  TF_RETURN_IF_ERROR(Scalar(c, 3, "gamma"));
  TF_RETURN_IF_ERROR(Scalar(c, 4, "e"));
  return SetOutputs(c, merged);
}

// alpha [0] (no class balancing), [1] or [classes]; gamma and
// label_smoothing scalars.
Status BinaryFocalLossShape(InferenceContext* c) {
  ShapeHandle merged;
  TF_RETURN_IF_ERROR(LabelsAndPredictions(c, &merged));
  ShapeHandle alpha = c->input(2);
  if (!c->WithRank(alpha, 1, &alpha).ok()) {
    return tensorflow::errors::InvalidArgument("alpha must have shape [0], [1] or [classes], got ",
                                               c->DebugString(c->input(2)));
  }
  if (c->RankKnown(merged) && c->ValueKnown(c->Dim(alpha, 0)) && c->ValueKnown(c->Dim(merged, -1))) {
    const int64_t n = c->Value(c->Dim(alpha, 0));
    const int64_t classes = c->Value(c->Dim(merged, -1));
    if (n > 1 && n != classes) {
      return tensorflow::errors::InvalidArgument("alpha must have shape [0], [1] or [", classes,
                                                 "] for predictions of shape ", c->DebugString(merged),
                                                 ", got ", c->DebugString(alpha));
    }
  }
  TF_RETURN_IF_ERROR(Scalar(c, 3, "gamma"));
  TF_RETURN_IF_ERROR(Scalar(c, 4, "label_smoothing"));
  return SetOutputs(c, merged);
}

// class_weights [0] (none) or [classes]; gamma_neg, gamma_pos, clip and eps
// scalars.
Status AsymmetricLossShape(InferenceContext* c) {
  ShapeHandle merged;
  TF_RETURN_IF_ERROR(LabelsAndPredictions(c, &merged));
  ShapeHandle weights = c->input(2);
  if (!c->WithRank(weights, 1, &weights).ok()) {
    return tensorflow::errors::InvalidArgument("class_weights must have shape [0] or [classes], got ",
                                               c->DebugString(c->input(2)));
  }
  if (c->RankKnown(merged) && c->ValueKnown(c->Dim(weights, 0)) && c->ValueKnown(c->Dim(merged, -1))) {
    const int64_t n = c->Value(c->Dim(weights, 0));
    const int64_t classes = c->Value(c->Dim(merged, -1));
    if (n != 0 && n != classes) {
      return tensorflow::errors::InvalidArgument("class_weights must have shape [0] (none) or [", classes,
                                                 "] for predictions of shape ", c->DebugString(merged),
                                                 ", got ", c->DebugString(weights));
    }
  }
  TF_RETURN_IF_ERROR(Scalar(c, 3, "gamma_neg"));
  TF_RETURN_IF_ERROR(Scalar(c, 4, "gamma_pos"));
  TF_RETURN_IF_ERROR(Scalar(c, 5, "clip"));
  TF_RETURN_IF_ERROR(Scalar(c, 6, "eps"));
  return SetOutputs(c, merged);
}

// grad [classes] or [batch, classes]; scale its shape without the last
// dimension; the output has grad's shape.
Status ScaleRowsShape(InferenceContext* c) {
  ShapeHandle grad = c->input(0);
  if (c->RankKnown(grad) && (c->Rank(grad) < 1 || c->Rank(grad) > 2)) {
    return tensorflow::errors::InvalidArgument("grad must have shape [classes] or [batch, classes], got ",
                                               c->DebugString(grad));
  }
  if (c->RankKnown(grad)) {
    ShapeHandle rows;
    TF_RETURN_IF_ERROR(c->Subshape(grad, 0, -1, &rows));
    ShapeHandle unused;
    if (!c->Merge(rows, c->input(1), &unused).ok()) {
      return tensorflow::errors::InvalidArgument("scale must have shape ", c->DebugString(rows),
                                                 " for grad of shape ", c->DebugString(grad), ", got ",
                                                 c->DebugString(c->input(1)));
    }
  }
  c->set_output(0, grad);
  return absl::OkStatus();
}

}  // namespace

GOFOCAL_REGISTER_OP("GoFocal>SeedFocalLoss")
    .Input("labels: T")
    .Input("predictions: T")
    .Input("class_weights: T")
    .Input("gamma: double")
    .Input("e: double")
    .Output("loss: T")
    .Output("grad: T")
    .Attr("T: {float, double}")
    .Attr("validate: bool = true")
    .Attr("sharding: {'go', 'tensorflow'} = 'go'")
    .Attr("has_ignore: bool = false")
    .Attr("ignore_value: float = 0")
    .Attr("grad_scale: {'one', 'inverse_batch'} = 'one'")
    .SetShapeFn(SeedFocalLossShape)
    .Doc(R"doc(
The multi-label focal loss of the `seed` variant (see SPEC.md), per sample,
with its gradient with respect to the predictions, computed in one pass.

labels: [batch, classes] or [classes]; an entry > 0 marks a positive.
predictions: probabilities, the same shape as labels.
class_weights: [classes], e.g. normalised inverse class frequencies.
gamma: focusing parameter, a scalar >= 0.
e: weight of the label-smoothing term, a scalar in [0, 1].
loss: [batch] (a scalar for rank-1 input): (1 - e) * focal + e * smoothing.
grad: d loss[b] / d predictions[b, c], the shape of predictions.
validate: reject finite predictions outside [0, 1] and negative weights.
sharding: who splits the rows over as many threads as TensorFlow's intra-op
  pool has: one Go call whose goroutines share them (the default, measured
  faster), or the pool itself, one Go call per shard. Same bits either way.
has_ignore: labels equal to ignore_value are unknown (partial labels): not
  positives; the label-smoothing term is unchanged.
ignore_value: the sentinel of unknown labels, e.g. -1 (a float32 attribute).
grad_scale: 'inverse_batch': grad is the gradient above times c = 1/batch
  when batch (1 for rank-1 input) is a power of two, else times 1: for a
  batch mean, the gradient written while each row is in cache. ScaleRows
  with the same grad_scale then makes no pass over it when the gradient
  flowing into the loss is c in every row, and otherwise scales it back
  exactly (a power of two) before its product.
)doc");

GOFOCAL_REGISTER_OP("GoFocal>BinaryFocalLoss")
    .Input("labels: T")
    .Input("predictions: T")
    .Input("alpha: double")
    .Input("gamma: double")
    .Input("label_smoothing: double")
    .Output("loss: T")
    .Output("grad: T")
    .Attr("T: {float, double}")
    .Attr("from_logits: bool = false")
    .Attr("validate: bool = true")
    .Attr("sharding: {'go', 'tensorflow'} = 'go'")
    .Attr("has_ignore: bool = false")
    .Attr("ignore_value: float = 0")
    .Attr("grad_scale: {'one', 'inverse_batch'} = 'one'")
    .SetShapeFn(BinaryFocalLossShape)
    .Doc(R"doc(
The focal loss of the paper, `binary` variant (see SPEC.md): as Keras's
BinaryFocalCrossentropy computes it, per sample, with per-class alpha, and its
gradient with respect to the predictions (the logits when from_logits).

labels: [batch, classes] or [classes], in [0, 1].
predictions: probabilities, or logits when from_logits; the shape of labels.
alpha: [0] for no class balancing, [1] for one alpha, or [classes].
gamma: focusing parameter, a scalar >= 0; 0 gives binary cross-entropy.
label_smoothing: a scalar in [0, 1].
loss: [batch] (a scalar for rank-1 input).
grad: d loss[b] / d predictions[b, c], the shape of predictions.
from_logits: predictions are logits, computed in the numerically stable form.
validate: reject finite probabilities outside [0, 1] and finite labels
  outside [0, 1] (the ignore value aside).
sharding: who splits the rows over as many threads as TensorFlow's intra-op
  pool has: one Go call whose goroutines share them (the default, measured
  faster), or the pool itself, one Go call per shard. Same bits either way.
has_ignore: labels equal to ignore_value are unknown (partial labels): no
  loss, a zero gradient; the loss of a row is the mean over its known classes.
ignore_value: the sentinel of unknown labels, e.g. -1 (a float32 attribute).
grad_scale: as for SeedFocalLoss.
)doc");

GOFOCAL_REGISTER_OP("GoFocal>AsymmetricLoss")
    .Input("labels: T")
    .Input("predictions: T")
    .Input("class_weights: T")
    .Input("gamma_neg: double")
    .Input("gamma_pos: double")
    .Input("clip: double")
    .Input("eps: double")
    .Output("loss: T")
    .Output("grad: T")
    .Attr("T: {float, double}")
    .Attr("focal_grad: bool = false")
    .Attr("from_logits: bool = false")
    .Attr("validate: bool = true")
    .Attr("sharding: {'go', 'tensorflow'} = 'go'")
    .Attr("has_ignore: bool = false")
    .Attr("ignore_value: float = 0")
    .Attr("grad_scale: {'one', 'inverse_batch'} = 'one'")
    .SetShapeFn(AsymmetricLossShape)
    .Doc(R"doc(
The asymmetric loss (ASL) of Ridnik et al., ICCV 2021 (see SPEC.md), as its
reference code computes it: per sample, the sum over classes, with its
gradient with respect to the predictions (the logits when from_logits).

labels: [batch, classes] or [classes], in [0, 1].
predictions: probabilities, or logits when from_logits; the shape of labels.
class_weights: [0] for none (all 1) or [classes].
gamma_neg: focusing parameter of the negatives, a scalar >= 0.
gamma_pos: focusing parameter of the positives, a scalar >= 0.
clip: probability shifting of the negatives, a scalar in [0, 1]; 0 for none.
eps: the clamp of the logs, log(max(x, eps)), a scalar in (0, 1); the
  reference's is 1e-8.
loss: [batch] (a scalar for rank-1 input).
grad: d loss[b] / d predictions[b, c], the shape of predictions.
focal_grad: differentiate the focal weight too (the reference's
  disable_torch_grad_focal_loss=False); false treats it as a constant.
from_logits: predictions are logits.
validate: reject finite probabilities and labels outside [0, 1] (the ignore
  value aside) and negative or non-finite class weights.
sharding: as for the other loss ops.
has_ignore: labels equal to ignore_value are unknown (partial labels): no
  loss, a zero gradient; the loss of a row is the sum over its known classes.
ignore_value: the sentinel of unknown labels, e.g. -1 (a float32 attribute).
grad_scale: as for SeedFocalLoss.
)doc");

GOFOCAL_REGISTER_OP("GoFocal>ScaleRows")
    .Input("grad: T")
    .Input("scale: T")
    .Output("scaled: T")
    .Attr("T: {float, double}")
    .Attr("grad_scale: {'one', 'inverse_batch'} = 'one'")
    .SetShapeFn(ScaleRowsShape)
    .Doc(R"doc(
The backward pass of the focal-loss ops: scaled[..., c] = scale[...] * grad[..., c],
the same values as tf.expand_dims(scale, -1) * grad, written into grad's buffer
where TensorFlow lets the op reuse it (grad has no other consumer).

grad: the loss op's gradient output, [classes] or [batch, classes].
scale: the gradient flowing into the loss, grad's shape without the last dimension.
grad_scale: the loss op's grad_scale. 'inverse_batch': grad holds the gradient
  times c (1/batch for a power-of-two batch, else 1), so scaled =
  (scale / c)[..., None] * grad; where every scale is c, scaled is grad itself
  (no pass over it). Either way the bits of scale times the unscaled gradient
  (unless c times it is below the smallest normal number).
)doc");

}  // namespace gofocal
