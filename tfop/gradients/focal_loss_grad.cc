// The C++ gradients of the focal-loss ops, for graphs built through the C and
// C++ APIs (TF_AddGradients, graft's op.Gradients). Python registers its own
// (python/gofocal/_ops.py); both use the gradient the forward op returns.
#include <string>
#include <vector>

#include "tensorflow/cc/framework/grad_op_registry.h"
#include "tensorflow/cc/framework/gradients.h"
#include "tensorflow/cc/ops/array_ops.h"
#include "tensorflow/cc/ops/const_op.h"
#include "tensorflow/cc/ops/math_ops.h"
#include "tensorflow/core/framework/node_def_util.h"
#include "tensorflow/core/graph/node_builder.h"
#include "library/library.h"

namespace gofocal {
namespace {

using ::tensorflow::Operation;
using ::tensorflow::Output;
using ::tensorflow::Scope;
namespace ops = ::tensorflow::ops;

// The grad_scale attribute of op ('one' for a graph from before it).
std::string GradScale(const Operation& op) {
  std::string grad_scale = "one";  // left as it is when the attribute is absent
  tensorflow::TryGetNodeAttr(op.node()->attrs(), "grad_scale", &grad_scale);
  return grad_scale;
}

// A ScaleRows node of x and scale with grad_scale.
Output ScaleRows(const Scope& scope, Output x, Output scale, const std::string& grad_scale) {
  tensorflow::Node* node = nullptr;
  auto builder = tensorflow::NodeBuilder(scope.GetUniqueNameForOp("ScaleRows"), "GoFocal>ScaleRows")
                     .Input(tensorflow::ops::AsNodeOut(scope, x))
                     .Input(tensorflow::ops::AsNodeOut(scope, scale))
                     .Attr("grad_scale", grad_scale);
  scope.UpdateBuilder(&builder);
  scope.UpdateStatus(builder.Finalize(scope.graph(), &node));
  if (!scope.ok()) return Output();
  scope.UpdateStatus(scope.DoShapeInference(node));
  return Output(node, 0);
}

// Every loss op: d/dpredictions = dloss[..., None] * grad, where grad is the op's
// second output, computed by the ScaleRows op in grad's buffer. Labels and
// the parameter inputs get none. Second derivatives (a gradient flowing into
// `grad`) are an Unimplemented error here.
tensorflow::Status FocalLossGrad(const Scope& scope, const Operation& op,
                                 const std::vector<Output>& grad_inputs,
                                 std::vector<Output>* grad_outputs) {
  if (!scope.ok()) return scope.status();
  // The gradient builder hands an output nothing differentiates a ZerosLike
  // of it; anything else flowing into `grad` asks for a second derivative,
  // which this gradient does not provide: an error, never a silent zero.
  const Output& dgrad = grad_inputs[1];
  if (dgrad.node() != nullptr && dgrad.node()->type_string() != "ZerosLike") {
    return tensorflow::errors::Unimplemented(
        "gofocal: ", op.node()->type_string(), " (", op.node()->name(),
        "): second derivatives are not provided by the C++ gradient: something differentiates "
        "its grad output (", dgrad.node()->type_string(), " ", dgrad.node()->name(),
        "). Python's gradient (tf.GradientTape) provides them.");
  }
  Output dpredictions = ScaleRows(scope, op.output(1), grad_inputs[0], GradScale(op));
  if (!scope.ok()) return scope.status();
  // Input 1 is the predictions; labels and the parameters get none.
  for (int i = 0; i < op.num_inputs(); ++i) {
    grad_outputs->push_back(i == 1 ? dpredictions : tensorflow::NoGradient());
  }
  return scope.status();
}

// ScaleRows: scaled = (scale / c)[..., None] * grad, with c = 1 for
// grad_scale 'one' (see ScaleRowsOp), differentiated as a multiply; each
// product by 1/c is a ScaleRows of the same grad_scale (with a scale of
// ones for dscale), which knows c.
tensorflow::Status ScaleRowsGrad(const Scope& scope, const Operation& op,
                                 const std::vector<Output>& grad_inputs,
                                 std::vector<Output>* grad_outputs) {
  const std::string grad_scale = GradScale(op);
  const Output& dscaled = grad_inputs[0];
  if (grad_scale == "one") {
    auto scale = ops::ExpandDims(scope, op.input(1), -1);
    grad_outputs->push_back(ops::Multiply(scope, scale, dscaled));
    grad_outputs->push_back(ops::Sum(scope, ops::Multiply(scope, dscaled, op.input(0)), -1));
    return scope.status();
  }
  grad_outputs->push_back(ScaleRows(scope, dscaled, op.input(1), grad_scale));
  Output unscaled = ScaleRows(scope, ops::Multiply(scope, dscaled, op.input(0)), ops::OnesLike(scope, op.input(1)),
                              grad_scale);
  grad_outputs->push_back(ops::Sum(scope, unscaled, -1));
  return scope.status();
}

GOFOCAL_REGISTER_GRADIENT("GoFocal>SeedFocalLoss", FocalLossGrad);
GOFOCAL_REGISTER_GRADIENT("GoFocal>ScaleRows", ScaleRowsGrad);
GOFOCAL_REGISTER_GRADIENT("GoFocal>BinaryFocalLoss", FocalLossGrad);
GOFOCAL_REGISTER_GRADIENT("GoFocal>AsymmetricLoss", FocalLossGrad);

}  // namespace
}  // namespace gofocal
