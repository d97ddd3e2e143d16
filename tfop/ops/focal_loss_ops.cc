// Registration and shape function of the focal-loss ops. The kernels live in
// kernels/, the gradients in gradients/ (C++) and python/gofocal (Python).
#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace gofocal {

using ::tensorflow::Status;
using ::tensorflow::shape_inference::DimensionHandle;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

namespace {

// Labels and predictions are [classes] or [batch, classes] of one shape, the
// class weights [classes], gamma and e scalars. The loss drops the class
// dimension; the gradient has the predictions' shape.
Status SeedFocalLossShape(InferenceContext* c) {
  ShapeHandle labels = c->input(0);
  ShapeHandle predictions = c->input(1);
  if (c->RankKnown(predictions) && (c->Rank(predictions) < 1 || c->Rank(predictions) > 2)) {
    return tensorflow::errors::InvalidArgument(
        "predictions must have shape [classes] or [batch, classes], got ", c->DebugString(predictions));
  }
  ShapeHandle merged;
  if (!c->Merge(labels, predictions, &merged).ok()) {
    return tensorflow::errors::InvalidArgument(
        "labels and predictions must have the same shape, got labels ", c->DebugString(labels),
        " and predictions ", c->DebugString(predictions));
  }
  ShapeHandle weights = c->input(2);
  if (!c->WithRank(weights, 1, &weights).ok()) {
    return tensorflow::errors::InvalidArgument("class_weights must have shape [classes], got ",
                                               c->DebugString(c->input(2)));
  }
  if (c->RankKnown(merged)) {
    DimensionHandle classes = c->Dim(merged, -1);
    DimensionHandle unused;
    if (!c->Merge(classes, c->Dim(weights, 0), &unused).ok()) {
      return tensorflow::errors::InvalidArgument(
          "class_weights must have one value per class: got shape ", c->DebugString(weights),
          " for predictions of shape ", c->DebugString(merged));
    }
  }
  for (int i : {3, 4}) {
    ShapeHandle scalar;
    if (!c->WithRank(c->input(i), 0, &scalar).ok()) {
      return tensorflow::errors::InvalidArgument(i == 3 ? "gamma" : "e", " must be a scalar, got shape ",
                                                 c->DebugString(c->input(i)));
    }
  }
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

}  // namespace

REGISTER_OP("GoFocal>SeedFocalLoss")
    .Input("labels: T")
    .Input("predictions: T")
    .Input("class_weights: T")
    .Input("gamma: double")
    .Input("e: double")
    .Output("loss: T")
    .Output("grad: T")
    .Attr("T: {float, double}")
    .Attr("validate: bool = true")
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
)doc");

}  // namespace gofocal
