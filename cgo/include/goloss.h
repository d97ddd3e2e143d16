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
 * per-sample loss rows values. cols must be at least 1. rows may be 0: then
 * loss, grad, labels and predictions may be NULL, and so may the seed
 * variant's class weights (when they are not NULL they are still checked;
 * the asymmetric variant's may be NULL for any rows, meaning weights of 1);
 * the parameters are checked as for any batch, and binary_params.alpha must
 * still hold alpha_len values, as goloss_binary_check requires. A size
 * whose buffer could not fit in memory (more than 2^47 bytes on a 64-bit
 * system) is GOLOSS_ERR_SHAPE, never a read.
 *
 * Fork: a Go runtime does not survive fork(), which copies only the calling
 * thread. In a child forked after the library was loaded, every function
 * but goloss_abi_version fails at once with GOLOSS_ERR_PROCESS and a message
 * that names the fix, without entering Go (where it could wait forever for
 * threads that are gone). A child that loads the library after the fork
 * works as any process does. goloss_process_check asks without computing;
 * it alone also catches a fork that bypassed fork() (a raw clone or fork
 * system call, which runs no pthread_atfork handler).
 *
 * Partial labels: every variant's parameters have has_ignore and
 * ignore_value. With has_ignore nonzero, a label equal to ignore_value
 * (rounded to the element type) is unknown; each variant's function says
 * what that means for it. ignore_value must not be NaN. A zero-initialised
 * struct (has_ignore 0) has no ignore value, as before ABI version 4.
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
#define GOLOSS_ABI_VERSION 6

typedef enum goloss_status {
  GOLOSS_OK = 0,
  /* A NULL pointer where data is required, or a negative size. */
  GOLOSS_ERR_ARGUMENT = 1,
  /* Sizes that do not fit together (e.g. weights for the wrong number of
   * classes, cols = 0), or a buffer too large for memory (rows * cols
   * values beyond 2^47 bytes). */
  GOLOSS_ERR_SHAPE = 2,
  /* A loss parameter outside its domain (gamma < 0, e outside [0, 1],
   * beta outside [0, 1), a NaN ignore_value). */
  GOLOSS_ERR_PARAM = 3,
  /* An input value outside its domain: a class count that is not finite
   * and > 0, a negative weight, a probability outside [0, 1], a label of
   * the binary or asymmetric variant outside [0, 1]. */
  GOLOSS_ERR_VALUE = 4,
  /* A fault inside the library (a recovered Go panic). The process is
   * intact and later calls work. */
  GOLOSS_ERR_INTERNAL = 5,
  /* This process is a child forked after the library was loaded: its Go
   * runtime cannot run, and no call in this process ever will. Start
   * worker processes fresh (fork + exec: multiprocessing's "spawn" or
   * "forkserver"), or load the library only after the fork. Nothing is
   * computed and no output is written. */
  GOLOSS_ERR_PROCESS = 6
} goloss_status;

/* Parameters of the seed variant. */
typedef struct goloss_seed_params {
  double gamma;  /* focusing parameter, >= 0 */
  double e;      /* weight of the label-smoothing term, in [0, 1] */
  int validate;  /* nonzero: reject finite predictions outside [0, 1] and
                    negative or infinite class weights */
  int threads;   /* goroutines that may share the rows; 0 or 1: the calling
                    thread only. Results have the same bits for any value. */
  int has_ignore;      /* nonzero: a label equal to ignore_value is unknown:
                          no positive (its focal term is 0), while the
                          label-smoothing term, which has no labels, is
                          unchanged (see goloss_seed_f32). 0: no ignore value. */
  double ignore_value; /* not NaN; used only with has_ignore */
  double grad_scale;   /* 0: none; else finite and > 0 (and so rounded to the
                          element type): grad holds grad_scale times the
                          gradient, each element the gradient rounded to the
                          element type times grad_scale rounded to it (ABI 6).
                          1/rows gives the gradient of the batch mean. */
} goloss_seed_params;

/* Parameters of the binary variant (the paper's focal loss, as Keras's
 * BinaryFocalCrossentropy computes it). */
typedef struct goloss_binary_params {
  double gamma;            /* focusing parameter, >= 0; 0 gives cross-entropy */
  const double *alpha;     /* class balancing: NULL (none), or alpha_len values */
  int64_t alpha_len;       /* 0 (none), 1 (one alpha for all classes) or cols */
  double label_smoothing;  /* in [0, 1] */
  int from_logits;         /* nonzero: predictions are logits */
  int validate;            /* nonzero: reject finite labels outside [0, 1] and
                              finite probabilities outside [0, 1] */
  int threads;             /* goroutines that may share the rows; 0 or 1: the
                              calling thread only. Same bits for any value. */
  int has_ignore;          /* nonzero: a label equal to ignore_value is unknown:
                              no loss, a zero gradient, not checked; the loss of
                              a row is the mean over its known classes (0 when
                              none is). 0: no ignore value. */
  double ignore_value;     /* not NaN; used only with has_ignore */
  double grad_scale;   /* 0: none; else finite and > 0 (and so rounded to the
                          element type): grad holds grad_scale times the
                          gradient, each element the gradient rounded to the
                          element type times grad_scale rounded to it (ABI 6).
                          1/rows gives the gradient of the batch mean. */
} goloss_binary_params;

/* Parameters of the asymmetric variant (ASL, Ridnik et al., as the reference
 * code Alibaba-MIIL/ASL AsymmetricLoss computes it). The reference's
 * defaults are gamma_neg 4, gamma_pos 1, clip 0.05, focal_grad 0, on logits
 * (from_logits 1); a zero-initialised struct has gammas 0 and clip 0:
 * binary cross-entropy summed over the classes. */
typedef struct goloss_asymmetric_params {
  double gamma_neg;    /* focusing parameter of the negatives, finite, >= 0 */
  double gamma_pos;    /* focusing parameter of the positives, finite, >= 0 */
  double clip;         /* probability shifting of the negatives, in [0, 1]; 0: none */
  int focal_grad;      /* nonzero: differentiate the focal weight (1-pt)^g too
                          (the reference's disable_torch_grad_focal_loss=False);
                          0: it is a constant (the reference's default) */
  int from_logits;     /* nonzero: predictions are logits */
  int validate;        /* nonzero: reject finite labels outside [0, 1] (the
                          ignore value aside), finite probabilities outside
                          [0, 1] and class weights that are negative, NaN or
                          infinite */
  int threads;         /* goroutines that may share the rows; 0 or 1: the
                          calling thread only. Same bits for any value. */
  int has_ignore;      /* nonzero: a label equal to ignore_value is unknown: no
                          loss, a zero gradient, not checked; the loss of a row
                          is the sum over its known classes. 0: none. */
  double ignore_value; /* not NaN; used only with has_ignore */
  double eps;          /* the clamp of the logs, log(max(x, eps)), in (0, 1);
                          0: the reference's 1e-8 (ABI 5) */
  double grad_scale;   /* 0: none; else finite and > 0 (and so rounded to the
                          element type): grad holds grad_scale times the
                          gradient, each element the gradient rounded to the
                          element type times grad_scale rounded to it (ABI 6).
                          1/rows gives the gradient of the batch mean. */
} goloss_asymmetric_params;

/* The ABI version of the loaded library (GOLOSS_ABI_VERSION when it matches
 * this header). Never fails, not even in a forked child: it is answered in C,
 * without entering Go. */
int goloss_abi_version(void);

/* Whether this process can run the library: GOLOSS_OK, or GOLOSS_ERR_PROCESS
 * with its message (see "Fork" above) in a child forked after the library
 * was loaded, by fork() or by a system call (it compares getpid() with the
 * process that loaded the library). Answered in C, without entering Go, for
 * the price of one system call: what a caller asks once per batch, before
 * it splits the batch over threads, so that a forked child fails with one
 * message rather than one per thread. */
goloss_status goloss_process_check(char *err, size_t err_len);

/* Writes the library version ("0.1.0") into buf, NUL-terminated and
 * truncated to len bytes. Returns GOLOSS_OK; GOLOSS_ERR_ARGUMENT when buf is
 * NULL or len is 0; GOLOSS_ERR_PROCESS in a forked child, writing nothing
 * (goloss_process_check gives the message). */
goloss_status goloss_version(char *buf, size_t len);

/* Checks the parameters of the seed variant without computing anything.
 * Returns GOLOSS_OK; GOLOSS_ERR_ARGUMENT for a NULL params; GOLOSS_ERR_PARAM
 * for gamma or e out of range or a NaN ignore_value (with has_ignore), with
 * a message naming it; GOLOSS_ERR_PROCESS in a forked child. */
goloss_status goloss_seed_check(const goloss_seed_params *params, char *err, size_t err_len);

/* Writes the name of the kernel in use ("generic", "avx2" or "avx512": the
 * fastest this CPU supports, or the one GOLOSS_KERNEL names) into buf,
 * NUL-terminated and truncated to len bytes. Returns GOLOSS_OK;
 * GOLOSS_ERR_ARGUMENT when buf is NULL or len is 0; GOLOSS_ERR_PROCESS in a
 * forked child, writing nothing. */
goloss_status goloss_kernel(char *buf, size_t len);

/* Writes into weights[0..classes) the normalised inverse-frequency class
 * weights of the per-class sample counts:
 *   weights[c] = (1 / counts[c]) / sum_k (1 / counts[k])
 * weights and counts are never NULL (classes is at least 1).
 * Returns GOLOSS_OK; GOLOSS_ERR_ARGUMENT for NULL pointers;
 * GOLOSS_ERR_SHAPE for classes < 1 or more classes than fit in memory;
 * GOLOSS_ERR_VALUE, naming the class index, for a count that is not finite
 * and > 0; GOLOSS_ERR_PROCESS in a forked child. */
goloss_status goloss_class_weights(double *weights, const double *counts, int64_t classes,
                                   char *err, size_t err_len);

/* Writes into weights[0..classes) the class-balanced weights (Cui et al.,
 * effective number of samples) of the per-class sample counts, normalised
 * to sum to 1 (multiply by classes for the paper's):
 *   weights[c] = ((1 - beta) / (1 - beta^counts[c])) / sum_k ((1 - beta) / (1 - beta^counts[k]))
 * for 0 <= beta < 1: beta = 0 gives 1/classes each; as beta -> 1 they
 * approach goloss_class_weights. 1 - beta^n is computed as
 * -expm1(n * log(beta)), and counts of any finite positive size give finite
 * weights. weights and counts are never NULL (classes is at least 1).
 * Returns GOLOSS_OK; GOLOSS_ERR_ARGUMENT for NULL pointers;
 * GOLOSS_ERR_SHAPE for classes < 1 or more classes than fit in memory;
 * GOLOSS_ERR_VALUE, naming the class index, for a count that is not finite
 * and > 0; GOLOSS_ERR_PARAM for beta outside [0, 1) or NaN, naming beta
 * (counts are checked first); GOLOSS_ERR_PROCESS in a forked child. */
goloss_status goloss_class_weights_beta(double *weights, const double *counts, int64_t classes,
                                        double beta, char *err, size_t err_len);

/* The seed variant: writes the per-sample loss into loss[0..rows) and, when
 * grad is not NULL, dloss[b]/dpredictions[b,c] into grad[0..rows*cols).
 * weights holds cols class weights (see goloss_class_weights); with rows = 0
 * it may be NULL. Labels may be any finite value (positive means y > 0).
 * With has_ignore, a label equal to ignore_value is no positive (no focal
 * term, no focal gradient), and the label-smoothing term is unchanged: the
 * element's prediction still enters it, and its gradient keeps the
 * label-smoothing part. It is computed as a label of 0, so an ignore_value
 * <= 0 changes nothing.
 * Returns GOLOSS_OK; GOLOSS_ERR_ARGUMENT for a NULL params, a NULL data
 * pointer with rows > 0, or a negative size; GOLOSS_ERR_SHAPE for cols < 1
 * or rows * cols values that do not fit in memory, naming rows and cols;
 * GOLOSS_ERR_PARAM for gamma or e out of range or a NaN ignore_value;
 * GOLOSS_ERR_VALUE (with
 * validate) for a prediction outside [0, 1] or a bad weight, naming its
 * index; GOLOSS_ERR_INTERNAL for a fault inside the library;
 * GOLOSS_ERR_PROCESS in a forked child. */
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
 * params, a NULL alpha with alpha_len > 0 or a negative alpha_len;
 * GOLOSS_ERR_SHAPE for an alpha_len other than 0, 1 or cols (or too large
 * for memory); GOLOSS_ERR_PARAM for gamma, label_smoothing or an alpha out
 * of range or a NaN ignore_value (with has_ignore), with a message naming
 * it; GOLOSS_ERR_PROCESS in a forked child. */
goloss_status goloss_binary_check(const goloss_binary_params *params, int64_t cols, char *err,
                                  size_t err_len);

/* The binary variant: writes the per-sample loss into loss[0..rows) and,
 * when grad is not NULL, dloss[b]/dpredictions[b,c] (with respect to the
 * logits when from_logits) into grad[0..rows*cols). With validate, labels
 * must lie in [0, 1] (soft labels inside it are fine), on probabilities and
 * on logits alike. NaN and infinite labels and predictions are no errors:
 * they propagate into the loss of their row (NaN; an infinite label on
 * logits with gamma = 0 gives an infinite loss). With has_ignore, a label
 * equal to ignore_value is unknown: no loss, a zero gradient, not checked
 * (its prediction is, but is not used), and the loss of a row is the mean
 * over its known classes (0, with a zero gradient, when none is).
 * Returns GOLOSS_OK; GOLOSS_ERR_ARGUMENT for a NULL params, a NULL data
 * pointer with rows > 0, a NULL alpha with alpha_len > 0 (rows = 0
 * included), or a negative size; GOLOSS_ERR_SHAPE for cols < 1, an
 * alpha_len other than 0, 1 or cols, or rows * cols values that do not fit
 * in memory, naming rows and cols; GOLOSS_ERR_PARAM for gamma,
 * label_smoothing or an alpha out of range or a NaN ignore_value;
 * GOLOSS_ERR_VALUE (with
 * validate) for a label outside [0, 1] or (on probabilities) a prediction
 * outside [0, 1], naming the first offending index, labels before
 * predictions; GOLOSS_ERR_INTERNAL for a fault inside the library;
 * GOLOSS_ERR_PROCESS in a forked child. */
goloss_status goloss_binary_f32(float *loss, float *grad, const float *labels,
                                const float *predictions, int64_t rows, int64_t cols,
                                const goloss_binary_params *params, char *err, size_t err_len);
goloss_status goloss_binary_f64(double *loss, double *grad, const double *labels,
                                const double *predictions, int64_t rows, int64_t cols,
                                const goloss_binary_params *params, char *err, size_t err_len);

/* Checks the parameters of the asymmetric variant without computing
 * anything. Returns GOLOSS_OK; GOLOSS_ERR_ARGUMENT for a NULL params;
 * GOLOSS_ERR_PARAM for gamma_neg or gamma_pos negative or not finite, clip
 * outside [0, 1] or NaN, eps outside [0, 1) or NaN, or a NaN ignore_value (with has_ignore), with a
 * message naming it; GOLOSS_ERR_PROCESS in a forked child. */
goloss_status goloss_asymmetric_check(const goloss_asymmetric_params *params, char *err,
                                      size_t err_len);

/* The asymmetric variant: writes the per-sample loss, a sum over the
 * classes as in the reference, into loss[0..rows) and, when grad is not
 * NULL, dloss[b]/dpredictions[b,c] (with respect to the logits when
 * from_logits) into grad[0..rows*cols). class_weights holds cols per-class
 * weights, or is NULL for weights of 1. With validate, labels must lie in
 * [0, 1] (soft labels inside it are fine), on probabilities and on logits
 * alike. NaN and infinite labels and predictions are no errors: they give
 * NaN in the loss of their row and in their gradient. With has_ignore, a
 * label equal to ignore_value is unknown: no loss, a zero gradient, not
 * checked (its prediction is, but is not used), and the loss of a row is
 * the sum over its known classes (0 when none is).
 * Returns GOLOSS_OK; GOLOSS_ERR_ARGUMENT for a NULL params, a NULL data
 * pointer with rows > 0, or a negative size; GOLOSS_ERR_SHAPE for cols < 1,
 * rows * cols values that do not fit in memory, naming rows and cols, or
 * class weights too large for memory; GOLOSS_ERR_PARAM for a parameter out
 * of range (see goloss_asymmetric_check); GOLOSS_ERR_VALUE (with validate)
 * for a class weight that is negative, NaN or infinite, a label outside
 * [0, 1] or (on probabilities) a prediction outside [0, 1], naming the
 * first offending index, weights before labels before predictions;
 * GOLOSS_ERR_INTERNAL for a fault inside the library; GOLOSS_ERR_PROCESS in
 * a forked child. */
goloss_status goloss_asymmetric_f32(float *loss, float *grad, const float *labels,
                                    const float *predictions, const float *class_weights,
                                    int64_t rows, int64_t cols,
                                    const goloss_asymmetric_params *params, char *err,
                                    size_t err_len);
goloss_status goloss_asymmetric_f64(double *loss, double *grad, const double *labels,
                                    const double *predictions, const double *class_weights,
                                    int64_t rows, int64_t cols,
                                    const goloss_asymmetric_params *params, char *err,
                                    size_t err_len);

#ifdef __cplusplus
}
#endif

#endif /* GOLOSS_H */
