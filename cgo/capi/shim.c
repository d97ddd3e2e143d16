// The header's const-correct functions over the //export-ed Go functions,
// whose cgo prototypes cannot say const, and the one guard that must run
// before Go does: a child forked after the library loaded has no Go runtime
// that works.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

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

// Fork safety. fork() copies only the calling thread: in the child the
// threads of the Go runtime (its scheduler, its idle workers, the goroutines
// a call would wait for) are gone, and a call into Go can wait forever. So
// every function below first asks whether this process is a child forked
// after the library loaded, and if so fails at once, in C.
//
// forked is set in the child of every fork() by the pthread_atfork handler,
// before the child's code goes on (and so before any thread it starts can
// read it): one load per call. goloss_process_check also compares getpid()
// with loaded_pid, the process that loaded the library, which catches the
// forks that run no atfork handler (a raw clone or fork system call) and a
// failed registration; it costs a system call (about 0.2 µs), which is why
// only the once-per-batch check pays it. loaded_pid 0 (no constructor ran: a
// Go program linked in a way that skips them) turns that comparison off.
static pid_t loaded_pid;
static volatile int forked;

static void goloss_on_fork_child(void) { forked = 1; }

__attribute__((constructor)) static void goloss_on_load(void) {
  loaded_pid = getpid();
  pthread_atfork(NULL, NULL, goloss_on_fork_child);
}

static int in_forked_child(void) { return forked; }

static int in_forked_child_thorough(void) {
  return forked || (loaded_pid != 0 && getpid() != loaded_pid);
}

// The message of GOLOSS_ERR_PROCESS, written like the Go side's messages:
// truncated and NUL-terminated, nothing when err is NULL or err_len is 0.
static goloss_status process_error(char *err, size_t err_len) {
  if (err != NULL && err_len > 0) {
    snprintf(err, err_len,
             "goloss: libgoloss.so was loaded in process %ld and this is a child it forked "
             "(pid %ld): a Go runtime does not survive fork(). Start worker processes with "
             "multiprocessing's \"spawn\" or \"forkserver\" method, or run no gofocal "
             "computation in the parent before it forks.",
             (long)loaded_pid, (long)getpid());
  }
  return GOLOSS_ERR_PROCESS;
}

// Every function that enters Go starts with this.
#define RETURN_IF_FORKED(err, err_len) \
  do {                                 \
    if (in_forked_child()) return process_error((err), (err_len)); \
  } while (0)

int goloss_abi_version(void) { return GOLOSS_ABI_VERSION; }

goloss_status goloss_process_check(char *err, size_t err_len) {
  if (in_forked_child_thorough()) return process_error(err, err_len);
  return GOLOSS_OK;
}

goloss_status goloss_version(char *buf, size_t len) {
  RETURN_IF_FORKED(NULL, 0);
  return (goloss_status)golossGoVersion(buf, len);
}

goloss_status goloss_kernel(char *buf, size_t len) {
  RETURN_IF_FORKED(NULL, 0);
  return (goloss_status)golossGoKernel(buf, len);
}

goloss_status goloss_class_weights(double *weights, const double *counts, int64_t classes,
                                   char *err, size_t err_len) {
  RETURN_IF_FORKED(err, err_len);
  return (goloss_status)golossGoClassWeights(weights, (double *)counts, classes, err, err_len);
}

goloss_status goloss_class_weights_beta(double *weights, const double *counts, int64_t classes,
                                        double beta, char *err, size_t err_len) {
  RETURN_IF_FORKED(err, err_len);
  return (goloss_status)golossGoClassWeightsBeta(weights, (double *)counts, classes, beta, err, err_len);
}

goloss_status goloss_seed_check(const goloss_seed_params *params, char *err, size_t err_len) {
  RETURN_IF_FORKED(err, err_len);
  return (goloss_status)golossGoSeedCheck((goloss_seed_params *)params, err, err_len);
}

goloss_status goloss_seed_f32(float *loss, float *grad, const float *labels,
                              const float *predictions, const float *weights, int64_t rows,
                              int64_t cols, const goloss_seed_params *params, char *err,
                              size_t err_len) {
  RETURN_IF_FORKED(err, err_len);
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
  RETURN_IF_FORKED(err, err_len);
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
  RETURN_IF_FORKED(err, err_len);
  FP_ENTER();
  const goloss_status status = (goloss_status)golossGoBinaryF32(loss, grad, (float *)labels, (float *)predictions, rows,
                                          cols, (goloss_binary_params *)params, err, err_len);
  FP_LEAVE();
  return status;
}

goloss_status goloss_binary_f64(double *loss, double *grad, const double *labels,
                                const double *predictions, int64_t rows, int64_t cols,
                                const goloss_binary_params *params, char *err, size_t err_len) {
  RETURN_IF_FORKED(err, err_len);
  FP_ENTER();
  const goloss_status status = (goloss_status)golossGoBinaryF64(loss, grad, (double *)labels, (double *)predictions,
                                          rows, cols, (goloss_binary_params *)params, err,
                                          err_len);
  FP_LEAVE();
  return status;
}

goloss_status goloss_binary_check(const goloss_binary_params *params, int64_t cols, char *err,
                                  size_t err_len) {
  RETURN_IF_FORKED(err, err_len);
  return (goloss_status)golossGoBinaryCheck((goloss_binary_params *)params, cols, err, err_len);
}

goloss_status goloss_asymmetric_check(const goloss_asymmetric_params *params, char *err,
                                      size_t err_len) {
  RETURN_IF_FORKED(err, err_len);
  return (goloss_status)golossGoAsymmetricCheck((goloss_asymmetric_params *)params, err, err_len);
}

goloss_status goloss_asymmetric_f32(float *loss, float *grad, const float *labels,
                                    const float *predictions, const float *class_weights,
                                    int64_t rows, int64_t cols,
                                    const goloss_asymmetric_params *params, char *err,
                                    size_t err_len) {
  RETURN_IF_FORKED(err, err_len);
  FP_ENTER();
  const goloss_status status = (goloss_status)golossGoAsymmetricF32(
      loss, grad, (float *)labels, (float *)predictions, (float *)class_weights, rows, cols,
      (goloss_asymmetric_params *)params, err, err_len);
  FP_LEAVE();
  return status;
}

goloss_status goloss_asymmetric_f64(double *loss, double *grad, const double *labels,
                                    const double *predictions, const double *class_weights,
                                    int64_t rows, int64_t cols,
                                    const goloss_asymmetric_params *params, char *err,
                                    size_t err_len) {
  RETURN_IF_FORKED(err, err_len);
  FP_ENTER();
  const goloss_status status = (goloss_status)golossGoAsymmetricF64(
      loss, grad, (double *)labels, (double *)predictions, (double *)class_weights, rows, cols,
      (goloss_asymmetric_params *)params, err, err_len);
  FP_LEAVE();
  return status;
}
