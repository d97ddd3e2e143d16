// CPU kernels of the focal-loss ops: check shapes, allocate the outputs and
// hand raw pointers to the goloss C ABI, where all the math lives.
#include <atomic>
#include <cstdint>
#include <string>
#include <type_traits>

#include "goloss_loader.h"
#include "library/library.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/tensor_shape.h"
#include "tensorflow/core/platform/threadpool.h"

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

// The goloss entry points for each element type.
template <typename T>
struct Goloss;
template <>
struct Goloss<float> {
  static decltype(&goloss_seed_f32) Seed(const GolossApi& api) { return api.seed_f32; }
  static decltype(&goloss_binary_f32) Binary(const GolossApi& api) { return api.binary_f32; }
  static decltype(&goloss_asymmetric_f32) Asymmetric(const GolossApi& api) { return api.asymmetric_f32; }
};
template <>
struct Goloss<double> {
  static decltype(&goloss_seed_f64) Seed(const GolossApi& api) { return api.seed_f64; }
  static decltype(&goloss_binary_f64) Binary(const GolossApi& api) { return api.binary_f64; }
  static decltype(&goloss_asymmetric_f64) Asymmetric(const GolossApi& api) { return api.asymmetric_f64; }
};

// The grad_scale attribute of the loss ops and ScaleRows: whether grad is
// the gradient times 1/batch.
tensorflow::Status ReadGradScale(OpKernelConstruction* ctx, bool* inverse_batch) {
  std::string grad_scale;
  TF_RETURN_IF_ERROR(ctx->GetAttr("grad_scale", &grad_scale));
  *inverse_batch = grad_scale == "inverse_batch";
  return absl::OkStatus();
}

// The factor c of grad_scale = 'inverse_batch' for rows rows: 1/rows when
// rows is a power of two (TensorFlow's gradient of a mean over them, exact),
// else 1 (no scaling). Multiplying by a power of two is exact, so a
// gradient scaled by c can be scaled back, bit for bit (unless c * grad is
// below the smallest normal number).
template <typename T>
T BatchScale(int64_t rows) {
  return rows > 0 && (rows & (rows - 1)) == 0 ? T(1) / static_cast<T>(rows) : T(1);
}

// The attributes every variant shares: validate, sharding and the ignore
// value (has_ignore, ignore_value), read when the kernel is built.
struct CommonAttrs {
  bool validate = true;
  bool go_sharding = false;
  bool has_ignore = false;
  double ignore_value = 0;
  bool inverse_batch = false;  // grad_scale = 'inverse_batch'

  tensorflow::Status Read(OpKernelConstruction* ctx) {
    TF_RETURN_IF_ERROR(ctx->GetAttr("validate", &validate));
    std::string sharding;
    TF_RETURN_IF_ERROR(ctx->GetAttr("sharding", &sharding));
    go_sharding = sharding == "go";
    TF_RETURN_IF_ERROR(ctx->GetAttr("has_ignore", &has_ignore));
    float ignore = 0;
    TF_RETURN_IF_ERROR(ctx->GetAttr("ignore_value", &ignore));
    ignore_value = ignore;
    return ReadGradScale(ctx, &inverse_batch);
  }

  // Sets the fields every parameter struct has.
  template <typename Params>
  void Apply(Params* params) const {
    params->validate = validate ? 1 : 0;
    params->has_ignore = has_ignore ? 1 : 0;
    params->ignore_value = ignore_value;
  }
};

// A goloss failure as a TensorFlow status: bad input is InvalidArgument, a
// fault inside the library Internal, a process the library cannot run in
// (a fork) FailedPrecondition.
tensorflow::Status FromGoloss(goloss_status status, const char* message) {
  if (status == GOLOSS_ERR_INTERNAL) return errors::Internal(message);
  if (status == GOLOSS_ERR_PROCESS) return errors::FailedPrecondition(message);
  return errors::InvalidArgument(message);
}

// A double scalar input.
tensorflow::Status ScalarInput(OpKernelContext* ctx, int index, const char* name, double* value) {
  const Tensor& t = ctx->input(index);
  if (!TensorShapeUtils::IsScalar(t.shape())) {
    return errors::InvalidArgument(name, " must be a scalar, got shape ", t.shape().DebugString());
  }
  *value = t.scalar<double>()();
  return absl::OkStatus();
}

// The seed variant's own inputs: class_weights [C], gamma, e.
struct SeedVariant {
  struct Args {
    const Tensor* weights = nullptr;
    goloss_seed_params params{};
  };

  static tensorflow::Status ReadAttrs(OpKernelConstruction*, Args*) { return absl::OkStatus(); }

  static tensorflow::Status Read(OpKernelContext* ctx, int64_t cols, Args* args) {
    args->weights = &ctx->input(2);
    if (!TensorShapeUtils::IsVector(args->weights->shape()) || args->weights->dim_size(0) != cols) {
      return errors::InvalidArgument("class_weights must have shape [", cols, "] for predictions of shape ",
                                     ctx->input(1).shape().DebugString(), ", got ",
                                     args->weights->shape().DebugString());
    }
    TF_RETURN_IF_ERROR(ScalarInput(ctx, 3, "gamma", &args->params.gamma));
    return ScalarInput(ctx, 4, "e", &args->params.e);
  }

  template <typename T>
  static goloss_status Call(const GolossApi& api, const Args& args, T* loss, T* grad, const T* labels,
                            const T* predictions, int64_t rows, int64_t cols, char* message, size_t len) {
    return Goloss<T>::Seed(api)(loss, grad, labels, predictions, args.weights->flat<T>().data(), rows, cols,
                                &args.params, message, len);
  }
};

// The binary variant's own inputs: alpha [0], [1] or [C], gamma,
// label_smoothing; attribute from_logits.
struct BinaryVariant {
  struct Args {
    goloss_binary_params params{};
  };

  static tensorflow::Status ReadAttrs(OpKernelConstruction* ctx, Args* args) {
    bool from_logits = false;
    TF_RETURN_IF_ERROR(ctx->GetAttr("from_logits", &from_logits));
    args->params.from_logits = from_logits ? 1 : 0;
    return absl::OkStatus();
  }

  static tensorflow::Status Read(OpKernelContext* ctx, int64_t cols, Args* args) {
    const Tensor& alpha = ctx->input(2);
    const int64_t n = TensorShapeUtils::IsVector(alpha.shape()) ? alpha.dim_size(0) : -1;
    if (n < 0 || (n > 1 && n != cols)) {
      return errors::InvalidArgument("alpha must have shape [0], [1] or [", cols, "] for predictions of shape ",
                                     ctx->input(1).shape().DebugString(), ", got ", alpha.shape().DebugString());
    }
    args->params.alpha = n > 0 ? alpha.flat<double>().data() : nullptr;
    args->params.alpha_len = n;
    TF_RETURN_IF_ERROR(ScalarInput(ctx, 3, "gamma", &args->params.gamma));
    return ScalarInput(ctx, 4, "label_smoothing", &args->params.label_smoothing);
  }

  template <typename T>
  static goloss_status Call(const GolossApi& api, const Args& args, T* loss, T* grad, const T* labels,
                            const T* predictions, int64_t rows, int64_t cols, char* message, size_t len) {
    return Goloss<T>::Binary(api)(loss, grad, labels, predictions, rows, cols, &args.params, message, len);
  }
};

// The asymmetric variant's own inputs: class_weights [0] (none) or [C],
// gamma_neg, gamma_pos, clip, eps; attributes focal_grad and from_logits.
struct AsymmetricVariant {
  struct Args {
    const Tensor* weights = nullptr;
    goloss_asymmetric_params params{};
  };

  static tensorflow::Status ReadAttrs(OpKernelConstruction* ctx, Args* args) {
    bool focal_grad = false, from_logits = false;
    TF_RETURN_IF_ERROR(ctx->GetAttr("focal_grad", &focal_grad));
    TF_RETURN_IF_ERROR(ctx->GetAttr("from_logits", &from_logits));
    args->params.focal_grad = focal_grad ? 1 : 0;
    args->params.from_logits = from_logits ? 1 : 0;
    return absl::OkStatus();
  }

  static tensorflow::Status Read(OpKernelContext* ctx, int64_t cols, Args* args) {
    args->weights = &ctx->input(2);
    const TensorShape& shape = args->weights->shape();
    if (!TensorShapeUtils::IsVector(shape) || (shape.dim_size(0) != 0 && shape.dim_size(0) != cols)) {
      return errors::InvalidArgument("class_weights must have shape [0] (none) or [", cols,
                                     "] for predictions of shape ", ctx->input(1).shape().DebugString(),
                                     ", got ", shape.DebugString());
    }
    TF_RETURN_IF_ERROR(ScalarInput(ctx, 3, "gamma_neg", &args->params.gamma_neg));
    TF_RETURN_IF_ERROR(ScalarInput(ctx, 4, "gamma_pos", &args->params.gamma_pos));
    TF_RETURN_IF_ERROR(ScalarInput(ctx, 5, "clip", &args->params.clip));
    TF_RETURN_IF_ERROR(ScalarInput(ctx, 6, "eps", &args->params.eps));
    if (!(args->params.eps > 0)) {  // the C ABI's 0 is its default; the op's eps is explicit
      return errors::InvalidArgument("goloss: invalid parameter: eps = ", args->params.eps,
                                     ", want 0 < eps < 1");
    }
    return absl::OkStatus();
  }

  template <typename T>
  static goloss_status Call(const GolossApi& api, const Args& args, T* loss, T* grad, const T* labels,
                            const T* predictions, int64_t rows, int64_t cols, char* message, size_t len) {
    const T* weights = args.weights->NumElements() > 0 ? args.weights->flat<T>().data() : nullptr;
    return Goloss<T>::Asymmetric(api)(loss, grad, labels, predictions, weights, rows, cols, &args.params,
                                      message, len);
  }
};

// What every variant shares: labels and predictions [B, C] or [C] of one
// shape in, the loss [B] and the gradient [B, C] out.
template <typename T, typename Variant>
class FocalLossOp : public OpKernel {
 public:
  explicit FocalLossOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, attrs_.Read(ctx));
    OP_REQUIRES_OK(ctx, Variant::ReadAttrs(ctx, &args_));
    attrs_.Apply(&args_.params);
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& labels = ctx->input(0);
    const Tensor& predictions = ctx->input(1);
    const TensorShape& shape = predictions.shape();
    OP_REQUIRES(ctx, shape.dims() == 1 || shape.dims() == 2,
                errors::InvalidArgument("predictions must have shape [classes] or [batch, classes], got ",
                                        shape.DebugString()));
    OP_REQUIRES(ctx, labels.shape() == shape,
                errors::InvalidArgument("labels and predictions must have the same shape, got labels ",
                                        labels.shape().DebugString(), " and predictions ", shape.DebugString()));
    const int64_t cols = shape.dim_size(shape.dims() - 1);
    const int64_t rows = shape.dims() == 2 ? shape.dim_size(0) : 1;
    OP_REQUIRES(ctx, cols >= 1,
                errors::InvalidArgument("predictions must have at least one class, got shape ", shape.DebugString()));
    typename Variant::Args args = args_;
    OP_REQUIRES_OK(ctx, Variant::Read(ctx, cols, &args));
    // Every shard scales by the whole batch's factor.
    args.params.grad_scale = attrs_.inverse_batch ? static_cast<double>(BatchScale<T>(rows)) : 0;

    TensorShape loss_shape = shape;
    loss_shape.RemoveLastDims(1);
    Tensor* loss = nullptr;
    Tensor* grad = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, loss_shape, &loss));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, shape, &grad));

    const GolossApi* api = nullptr;
    OP_REQUIRES_OK(ctx, GetGolossApi(&api));
    {
      // In a child forked after the Go runtime started, Go cannot run and a
      // split over threads could wait forever: fail first, saying why.
      char message[512] = {0};
      const goloss_status status = api->process_check(message, sizeof message);
      OP_REQUIRES(ctx, status == GOLOSS_OK, FromGoloss(status, message));
    }
    T* loss_data = loss->flat<T>().data();
    // Inside a graph, an output no op consumes is not required: without a
    // gradient to compute (evaluation, inference), the kernel skips its own.
    T* grad_data = ctx->output_required(1) ? grad->flat<T>().data() : nullptr;
    const T* label_data = labels.flat<T>().data();
    const T* prediction_data = predictions.flat<T>().data();
    auto run = [&](int64_t begin, int64_t end, char* message, size_t len) {
      return Variant::template Call<T>(*api, args, loss_data + begin,
                                       grad_data != nullptr ? grad_data + begin * cols : nullptr,
                                       label_data + begin * cols, prediction_data + begin * cols, end - begin,
                                       cols, message, len);
    };

    // Rows are independent, so the results have the same bits however the
    // rows are split. By default Go is called once and its goroutines share
    // the rows among as many threads as TensorFlow's intra-op pool has; with
    // sharding="tensorflow" the pool shards them, one Go call per shard. An
    // empty batch still goes through goloss, which checks the parameters.
    const auto* workers = ctx->device()->tensorflow_cpu_worker_threads();
    char message[512] = {0};
    goloss_status status = GOLOSS_OK;
    if (attrs_.go_sharding || rows == 0) {
      args.params.threads = workers->num_threads;
      status = run(0, rows, message, sizeof message);
    } else {
      std::atomic<bool> failed{false};
      workers->workers->ParallelFor(rows, cols * kCostPerElement, [&](int64_t begin, int64_t end) {
        if (run(begin, end, nullptr, 0) != GOLOSS_OK) failed = true;
      });
      if (failed) {
        // Once more on the whole batch, for a message whose indices count
        // from its first row (validation fails before any output is written).
        status = run(0, rows, message, sizeof message);
        OP_REQUIRES(ctx, status != GOLOSS_OK, errors::Internal("gofocal: a shard failed but the whole batch did not"));
      }
    }
    OP_REQUIRES(ctx, status == GOLOSS_OK, FromGoloss(status, message));
  }

 private:
  // ParallelFor's cost model is in cycles per unit; a row costs this per class.
  static constexpr int64_t kCostPerElement = 40;

  CommonAttrs attrs_;
  // The attributes' part of the parameters, filled in when the kernel is
  // built; each call adds its inputs' part to a copy.
  typename Variant::Args args_;
};

#define REGISTER(NAME, VARIANT, T) \
  GOFOCAL_REGISTER_KERNEL(Name(NAME).Device(DEVICE_CPU).TypeConstraint<T>("T"), FocalLossOp<T, VARIANT>)

REGISTER("GoFocal>SeedFocalLoss", SeedVariant, float);
REGISTER("GoFocal>SeedFocalLoss", SeedVariant, double);
REGISTER("GoFocal>BinaryFocalLoss", BinaryVariant, float);
REGISTER("GoFocal>BinaryFocalLoss", BinaryVariant, double);
REGISTER("GoFocal>AsymmetricLoss", AsymmetricVariant, float);
REGISTER("GoFocal>AsymmetricLoss", AsymmetricVariant, double);
#undef REGISTER

// out[c] = f * in[c] for one row; out may be in (in place). Compiled for
// AVX-512, AVX2 and the baseline, chosen when the library loads (GCC's
// target_clones); TensorFlow's own flags target the baseline only.
#define SCALE_ROW(T)                                                                             \
  __attribute__((target_clones("avx512f", "avx2", "default"))) void ScaleRow(const T* in, T f, \
                                                                             T* out, int64_t n) { \
    _Pragma("GCC ivdep") for (int64_t c = 0; c < n; ++c) out[c] = f * in[c];                   \
  }
SCALE_ROW(float)
SCALE_ROW(double)
#undef SCALE_ROW

// out[c] = (inv * in[c]) * f for one row, inv a power of two: in[c] scaled
// back exactly, then multiplied by f with one rounding.
#define UNSCALE_ROW(T)                                                                            \
  __attribute__((target_clones("avx512f", "avx2", "default"))) void UnscaleRow(const T* in, T inv, \
                                                                               T f, T* out,        \
                                                                               int64_t n) {        \
    _Pragma("GCC ivdep") for (int64_t c = 0; c < n; ++c) out[c] = (inv * in[c]) * f;              \
  }
UNSCALE_ROW(float)
UNSCALE_ROW(double)
#undef UNSCALE_ROW

// scaled = scale[..., None] * grad, in grad's buffer when it can be reused;
// rows are split over the intra-op pool. Multiplication rounds the same way
// in either order, so the result has the bits of TensorFlow's Mul. With
// grad_scale = 'inverse_batch', grad holds the gradient times c (BatchScale):
// where every scale is c (a batch mean), the output is grad itself;
// otherwise each value is scaled back by 1/c, exactly, and multiplied by
// its row's scale. Either way, the bits of scale times the unscaled grad.
template <typename T>
class ScaleRowsOp : public OpKernel {
 public:
  explicit ScaleRowsOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ReadGradScale(ctx, &inverse_batch_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& grad = ctx->input(0);
    const Tensor& scale = ctx->input(1);
    const TensorShape& shape = grad.shape();
    OP_REQUIRES(ctx, shape.dims() == 1 || shape.dims() == 2,
                errors::InvalidArgument("grad must have shape [classes] or [batch, classes], got ",
                                        shape.DebugString()));
    TensorShape rows_shape = shape;
    rows_shape.RemoveLastDims(1);
    OP_REQUIRES(ctx, scale.shape() == rows_shape,
                errors::InvalidArgument("scale must have shape ", rows_shape.DebugString(), " for grad of shape ",
                                        shape.DebugString(), ", got ", scale.shape().DebugString()));
    const int64_t cols = shape.dim_size(shape.dims() - 1);
    const int64_t rows = shape.dims() == 2 ? shape.dim_size(0) : 1;
    const T* s = scale.flat<T>().data();
    const T c = inverse_batch_ ? BatchScale<T>(rows) : T(1);
    if (c != T(1)) {
      bool all = true;
      for (int64_t r = 0; r < rows && all; ++r) all = s[r] == c;
      if (all) {
        ctx->set_output(0, grad);
        return;
      }
    }
    Tensor* out = nullptr;
    OP_REQUIRES_OK(ctx, ctx->forward_input_or_allocate_output({0}, 0, shape, &out));
    if (rows == 0 || cols == 0) return;
    const T* g = grad.flat<T>().data();
    T* o = out->flat<T>().data();
    const T inv = T(1) / c;
    const auto* workers = ctx->device()->tensorflow_cpu_worker_threads();
    workers->workers->ParallelFor(rows, cols * kCostPerElement, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        if (inv != T(1)) {
          UnscaleRow(g + r * cols, inv, s[r], o + r * cols, cols);
        } else {
          ScaleRow(g + r * cols, s[r], o + r * cols, cols);
        }
      }
    });
  }

 private:
  bool inverse_batch_ = false;
  // ParallelFor's cost model, in cycles per element: a load, a multiply and
  // a store.
  static constexpr int64_t kCostPerElement = 3;
};

GOFOCAL_REGISTER_KERNEL(Name("GoFocal>ScaleRows").Device(DEVICE_CPU).TypeConstraint<float>("T"), ScaleRowsOp<float>);
GOFOCAL_REGISTER_KERNEL(Name("GoFocal>ScaleRows").Device(DEVICE_CPU).TypeConstraint<double>("T"), ScaleRowsOp<double>);

}  // namespace
}  // namespace gofocal
