// CPU kernels of the focal-loss ops: check shapes, allocate the outputs and
// hand raw pointers to the goloss C ABI, where all the math lives.
#include <cstdint>

#include "goloss_loader.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/tensor_shape.h"

namespace gofocal {

using ::tensorflow::DEVICE_CPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;
using ::tensorflow::TensorShapeUtils;
namespace errors = ::tensorflow::errors;

namespace {

// The goloss entry point for each element type.
template <typename T>
struct SeedFn;
template <>
struct SeedFn<float> {
  static decltype(&goloss_seed_f32) Get(const GolossApi& api) { return api.seed_f32; }
};
template <>
struct SeedFn<double> {
  static decltype(&goloss_seed_f64) Get(const GolossApi& api) { return api.seed_f64; }
};

// A goloss failure as a TensorFlow status: bad input is InvalidArgument, a
// fault inside the library Internal.
tensorflow::Status FromGoloss(goloss_status status, const char* message) {
  if (status == GOLOSS_ERR_INTERNAL) return errors::Internal(message);
  return errors::InvalidArgument(message);
}

// Checks labels [B, C] or [C], predictions of the same shape and class
// weights [C], and sets rows and cols.
tensorflow::Status CheckShapes(const Tensor& labels, const Tensor& predictions, const Tensor& weights,
                               int64_t* rows, int64_t* cols) {
  const TensorShape& shape = predictions.shape();
  if (shape.dims() < 1 || shape.dims() > 2) {
    return errors::InvalidArgument("predictions must have shape [classes] or [batch, classes], got ",
                                   shape.DebugString());
  }
  if (labels.shape() != shape) {
    return errors::InvalidArgument("labels and predictions must have the same shape, got labels ",
                                   labels.shape().DebugString(), " and predictions ", shape.DebugString());
  }
  *cols = shape.dim_size(shape.dims() - 1);
  *rows = shape.dims() == 2 ? shape.dim_size(0) : 1;
  if (*cols < 1) {
    return errors::InvalidArgument("predictions must have at least one class, got shape ", shape.DebugString());
  }
  if (!TensorShapeUtils::IsVector(weights.shape()) || weights.dim_size(0) != *cols) {
    return errors::InvalidArgument("class_weights must have shape [", *cols, "] for predictions of shape ",
                                   shape.DebugString(), ", got ", weights.shape().DebugString());
  }
  return absl::OkStatus();
}

tensorflow::Status ScalarInput(OpKernelContext* ctx, int index, const char* name, double* value) {
  const Tensor& t = ctx->input(index);
  if (!TensorShapeUtils::IsScalar(t.shape())) {
    return errors::InvalidArgument(name, " must be a scalar, got shape ", t.shape().DebugString());
  }
  *value = t.scalar<double>()();
  return absl::OkStatus();
}

template <typename T>
class SeedFocalLossOp : public OpKernel {
 public:
  explicit SeedFocalLossOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("validate", &validate_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& labels = ctx->input(0);
    const Tensor& predictions = ctx->input(1);
    const Tensor& weights = ctx->input(2);
    int64_t rows = 0, cols = 0;
    OP_REQUIRES_OK(ctx, CheckShapes(labels, predictions, weights, &rows, &cols));
    goloss_seed_params params{};
    OP_REQUIRES_OK(ctx, ScalarInput(ctx, 3, "gamma", &params.gamma));
    OP_REQUIRES_OK(ctx, ScalarInput(ctx, 4, "e", &params.e));
    params.validate = validate_ ? 1 : 0;

    TensorShape loss_shape = predictions.shape();
    loss_shape.RemoveLastDims(1);
    Tensor* loss = nullptr;
    Tensor* grad = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, loss_shape, &loss));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, predictions.shape(), &grad));

    const GolossApi* api = nullptr;
    OP_REQUIRES_OK(ctx, GetGolossApi(&api));
    // An empty batch still goes through goloss, which checks the parameters.
    char message[512] = {0};
    goloss_status status = SeedFn<T>::Get(*api)(
        loss->flat<T>().data(), grad->flat<T>().data(), labels.flat<T>().data(),
        predictions.flat<T>().data(), weights.flat<T>().data(), rows, cols, &params, message,
        sizeof message);
    OP_REQUIRES(ctx, status == GOLOSS_OK, FromGoloss(status, message));
  }

 private:
  bool validate_ = true;
};

#define REGISTER(T)                                                                       \
  REGISTER_KERNEL_BUILDER(                                                                \
      Name("GoFocal>SeedFocalLoss").Device(DEVICE_CPU).TypeConstraint<T>("T").HostMemory("gamma").HostMemory("e"), \
      SeedFocalLossOp<T>)

REGISTER(float);
REGISTER(double);
#undef REGISTER

}  // namespace
}  // namespace gofocal
