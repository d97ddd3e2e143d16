/*
 * goloss.h: the C ABI of the gofocal loss core (libgoloss.so).
 *
 * Every function returns a goloss_status. On failure it writes a
 * NUL-terminated message of at most err_len bytes (truncated if longer) into
 * err, when err is not NULL and err_len > 0, and leaves its outputs
 * unwritten. No function panics, aborts or keeps a pointer after it returns;
 * every buffer belongs to the caller. Functions may be called from any
 * thread, concurrently, on distinct output buffers.
 *
 * Tensors are dense, row-major: labels and predictions hold rows*cols values
 * (rows samples of cols classes), per-class vectors cols values, the
 * per-sample loss rows values. rows may be 0, in which case the data
 * pointers may be NULL; cols must be at least 1.
 *
 * The math is documented in SPEC.md and in the Go package goloss.
 */
#ifndef GOLOSS_H
#define GOLOSS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header's ABI; goloss_abi_version() returns the
 * library's. A caller must refuse a library whose ABI version differs. */
#define GOLOSS_ABI_VERSION 2

typedef enum goloss_status {
  GOLOSS_OK = 0,
  /* A NULL pointer where data is required, or a negative size. */
  GOLOSS_ERR_ARGUMENT = 1,
  /* Sizes that do not fit together (e.g. weights for the wrong number of
   * classes, cols = 0). */
  GOLOSS_ERR_SHAPE = 2,
  /* A loss parameter outside its domain (gamma < 0, e outside [0, 1]). */
  GOLOSS_ERR_PARAM = 3,
  /* An input value outside its domain: a class count that is not finite
   * and > 0, a negative weight, a probability outside [0, 1]. */
  GOLOSS_ERR_VALUE = 4,
  /* A fault inside the library (a recovered Go panic). The process is
   * intact and later calls work. */
  GOLOSS_ERR_INTERNAL = 5
} goloss_status;

/* Parameters of the seed variant. */
typedef struct goloss_seed_params {
  double gamma;  /* focusing parameter, >= 0 */
  double e;      /* weight of the label-smoothing term, in [0, 1] */
  int validate;  /* nonzero: reject finite predictions outside [0, 1] and
                    negative or infinite class weights */
  int threads;   /* goroutines that may share the rows; 0 or 1: the calling
                    thread only. Results have the same bits for any value. */
} goloss_seed_params;

/* Parameters of the binary variant (the paper's focal loss, as Keras's
 * BinaryFocalCrossentropy computes it). */
typedef struct goloss_binary_params {
  double gamma;            /* focusing parameter, >= 0; 0 gives cross-entropy */
  const double *alpha;     /* class balancing: NULL (none), or alpha_len values */
  int64_t alpha_len;       /* 0 (none), 1 (one alpha for all classes) or cols */
  double label_smoothing;  /* in [0, 1] */
  int from_logits;         /* nonzero: predictions are logits */
  int validate;            /* nonzero: reject finite probabilities outside [0, 1] */
  int threads;             /* goroutines that may share the rows; 0 or 1: the
                              calling thread only. Same bits for any value. */
} goloss_binary_params;

/* The ABI version of the loaded library (GOLOSS_ABI_VERSION when it matches
 * this header). Never fails. */
int goloss_abi_version(void);

/* Writes the library version ("0.1.0") into buf, NUL-terminated and
 * truncated to len bytes. Returns GOLOSS_OK, or GOLOSS_ERR_ARGUMENT when buf
 * is NULL or len is 0. */
goloss_status goloss_version(char *buf, size_t len);

/* Checks the parameters of the seed variant without computing anything.
 * Returns GOLOSS_OK; GOLOSS_ERR_ARGUMENT for a NULL params; GOLOSS_ERR_PARAM
 * for gamma or e out of range, with a message naming it. */
goloss_status goloss_seed_check(const goloss_seed_params *params, char *err, size_t err_len);

/* Writes the name of the kernel in use ("generic", "avx2" or "avx512": the
 * fastest this CPU supports, or the one GOLOSS_KERNEL names) into buf,
 * NUL-terminated and truncated to len bytes. Returns GOLOSS_OK, or
 * GOLOSS_ERR_ARGUMENT when buf is NULL or len is 0. */
goloss_status goloss_kernel(char *buf, size_t len);

/* Writes into weights[0..classes) the normalised inverse-frequency class
 * weights of the per-class sample counts:
 *   weights[c] = (1 / counts[c]) / sum_k (1 / counts[k])
 * Returns GOLOSS_OK; GOLOSS_ERR_ARGUMENT for NULL pointers;
 * GOLOSS_ERR_SHAPE for classes < 1; GOLOSS_ERR_VALUE, naming the class index,
 * for a count that is not finite and > 0. */
goloss_status goloss_class_weights(double *weights, const double *counts, int64_t classes,
                                   char *err, size_t err_len);

/* The seed variant: writes the per-sample loss into loss[0..rows) and, when
 * grad is not NULL, dloss[b]/dpredictions[b,c] into grad[0..rows*cols).
 * weights holds cols class weights (see goloss_class_weights).
 * Returns GOLOSS_OK; GOLOSS_ERR_ARGUMENT for a NULL params, a NULL data
 * pointer with rows > 0, or a negative size; GOLOSS_ERR_SHAPE for cols < 1;
 * GOLOSS_ERR_PARAM for gamma or e out of range; GOLOSS_ERR_VALUE (with
 * validate) for a prediction outside [0, 1] or a bad weight, naming its index;
 * GOLOSS_ERR_INTERNAL for a fault inside the library. */
goloss_status goloss_seed_f32(float *loss, float *grad, const float *labels,
                              const float *predictions, const float *weights,
                              int64_t rows, int64_t cols, const goloss_seed_params *params,
                              char *err, size_t err_len);
goloss_status goloss_seed_f64(double *loss, double *grad, const double *labels,
                              const double *predictions, const double *weights,
                              int64_t rows, int64_t cols, const goloss_seed_params *params,
                              char *err, size_t err_len);

/* Checks the parameters of the binary variant for cols classes without
 * computing anything. Returns GOLOSS_OK; GOLOSS_ERR_ARGUMENT for a NULL
 * params or alpha; GOLOSS_ERR_SHAPE for an alpha_len other than 0, 1 or
 * cols; GOLOSS_ERR_PARAM for gamma, label_smoothing or an alpha out of range,
 * with a message naming it. */
goloss_status goloss_binary_check(const goloss_binary_params *params, int64_t cols, char *err,
                                  size_t err_len);

/* The binary variant: writes the per-sample loss into loss[0..rows) and,
 * when grad is not NULL, dloss[b]/dpredictions[b,c] (with respect to the
 * logits when from_logits) into grad[0..rows*cols).
 * Returns GOLOSS_OK; GOLOSS_ERR_ARGUMENT for a NULL params, a NULL data
 * pointer with rows > 0 (or alpha with alpha_len > 0), or a negative size;
 * GOLOSS_ERR_SHAPE for cols < 1 or an alpha_len other than 0, 1 or cols;
 * GOLOSS_ERR_PARAM for gamma, label_smoothing or an alpha out of range;
 * GOLOSS_ERR_VALUE (with validate, on probabilities) for a prediction outside
 * [0, 1], naming its index; GOLOSS_ERR_INTERNAL for a fault inside the
 * library. */
goloss_status goloss_binary_f32(float *loss, float *grad, const float *labels,
                                const float *predictions, int64_t rows, int64_t cols,
                                const goloss_binary_params *params, char *err, size_t err_len);
goloss_status goloss_binary_f64(double *loss, double *grad, const double *labels,
                                const double *predictions, int64_t rows, int64_t cols,
                                const goloss_binary_params *params, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif /* GOLOSS_H */
