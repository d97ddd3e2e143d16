// The header's const-correct functions over the //export-ed Go functions,
// whose cgo prototypes cannot say const. Nothing else happens here.
#include "goloss.h"
#include "_cgo_export.h"

// The kernels run with the CPU's default floating-point mode whatever the
// calling thread's: TensorFlow's threads set flush-to-zero and
// denormals-are-zero, Go's own threads (where goroutines share the rows) do
// not, and results must not depend on which thread computes a row.
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define GOLOSS_FTZ_DAZ 0x8040u
#define FP_ENTER() const unsigned int saved_csr = _mm_getcsr(); _mm_setcsr(saved_csr & ~GOLOSS_FTZ_DAZ)
#define FP_LEAVE() _mm_setcsr(saved_csr)
#else
#define FP_ENTER() do {} while (0)
#define FP_LEAVE() do {} while (0)
#endif

int goloss_abi_version(void) { return golossGoABIVersion(); }

goloss_status goloss_version(char *buf, size_t len) {
  return (goloss_status)golossGoVersion(buf, len);
}

goloss_status goloss_kernel(char *buf, size_t len) {
  return (goloss_status)golossGoKernel(buf, len);
}

goloss_status goloss_class_weights(double *weights, const double *counts, int64_t classes,
                                   char *err, size_t err_len) {
  return (goloss_status)golossGoClassWeights(weights, (double *)counts, classes, err, err_len);
}

goloss_status goloss_seed_check(const goloss_seed_params *params, char *err, size_t err_len) {
  return (goloss_status)golossGoSeedCheck((goloss_seed_params *)params, err, err_len);
}

goloss_status goloss_seed_f32(float *loss, float *grad, const float *labels,
                              const float *predictions, const float *weights, int64_t rows,
                              int64_t cols, const goloss_seed_params *params, char *err,
                              size_t err_len) {
  FP_ENTER();
  const goloss_status status = (goloss_status)golossGoSeedF32(loss, grad, (float *)labels, (float *)predictions,
                                        (float *)weights, rows, cols,
                                        (goloss_seed_params *)params, err, err_len);
  FP_LEAVE();
  return status;
}

goloss_status goloss_seed_f64(double *loss, double *grad, const double *labels,
                              const double *predictions, const double *weights, int64_t rows,
                              int64_t cols, const goloss_seed_params *params, char *err,
                              size_t err_len) {
  FP_ENTER();
  const goloss_status status = (goloss_status)golossGoSeedF64(loss, grad, (double *)labels, (double *)predictions,
                                        (double *)weights, rows, cols,
                                        (goloss_seed_params *)params, err, err_len);
  FP_LEAVE();
  return status;
}

goloss_status goloss_binary_f32(float *loss, float *grad, const float *labels,
                                const float *predictions, int64_t rows, int64_t cols,
                                const goloss_binary_params *params, char *err, size_t err_len) {
  FP_ENTER();
  const goloss_status status = (goloss_status)golossGoBinaryF32(loss, grad, (float *)labels, (float *)predictions, rows,
                                          cols, (goloss_binary_params *)params, err, err_len);
  FP_LEAVE();
  return status;
}

goloss_status goloss_binary_f64(double *loss, double *grad, const double *labels,
                                const double *predictions, int64_t rows, int64_t cols,
                                const goloss_binary_params *params, char *err, size_t err_len) {
  FP_ENTER();
  const goloss_status status = (goloss_status)golossGoBinaryF64(loss, grad, (double *)labels, (double *)predictions,
                                          rows, cols, (goloss_binary_params *)params, err,
                                          err_len);
  FP_LEAVE();
  return status;
}

goloss_status goloss_binary_check(const goloss_binary_params *params, int64_t cols, char *err,
                                  size_t err_len) {
  return (goloss_status)golossGoBinaryCheck((goloss_binary_params *)params, cols, err, err_len);
}
