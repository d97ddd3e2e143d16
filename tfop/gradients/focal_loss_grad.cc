// The C++ gradients of the focal-loss ops, for graphs built through the C and
// C++ APIs (TF_AddGradients, graft's op.Gradients). Python registers its own
// (python/gofocal/_ops.py); both use the gradient the forward op returns.
#include <vector>

#include "tensorflow/cc/framework/grad_op_registry.h"
#include "tensorflow/cc/framework/gradients.h"
#include "tensorflow/cc/ops/array_ops.h"
#include "tensorflow/cc/ops/math_ops.h"

namespace gofocal {
namespace {

using ::tensorflow::Operation;
using ::tensorflow::Output;
using ::tensorflow::Scope;
namespace ops = ::tensorflow::ops;

// Both ops: d/dpredictions = dloss[..., None] * grad, where grad is the op's
// second output. Labels and the parameter inputs get none. The `grad` output is treated
// as a constant: second derivatives are not provided.
tensorflow::Status FocalLossGrad(const Scope& scope, const Operation& op,
                                 const std::vector<Output>& grad_inputs,
                                 std::vector<Output>* grad_outputs) {
  auto dloss = ops::ExpandDims(scope, grad_inputs[0], -1);
  auto dpredictions = ops::Multiply(scope, dloss, op.output(1));
  grad_outputs->push_back(tensorflow::NoGradient());
  grad_outputs->push_back(dpredictions);
  grad_outputs->push_back(tensorflow::NoGradient());
  grad_outputs->push_back(tensorflow::NoGradient());
  grad_outputs->push_back(tensorflow::NoGradient());
  return scope.status();
}

REGISTER_GRADIENT_OP("GoFocal>SeedFocalLoss", FocalLossGrad);
REGISTER_GRADIENT_OP("GoFocal>BinaryFocalLoss", FocalLossGrad);

}  // namespace
}  // namespace gofocal
