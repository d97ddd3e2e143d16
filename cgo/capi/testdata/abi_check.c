// A C program against the public header only: it checks the worked example
// of SPEC.md, the status codes and messages, and prints PASS. With the
// argument "panic" (and a library built with the goloss_testhooks tag,
// GOLOSS_TEST_PANICS=1) it checks that a panic in Go is a status instead.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "goloss.h"

static int failures = 0;

#define CHECK(cond, ...)                                 \
  do {                                                   \
    if (!(cond)) {                                       \
      failures++;                                        \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                      \
      fprintf(stderr, "\n");                             \
    }                                                    \
  } while (0)

static const float probs_for_labels[2] = {0.5f, 0.5f};

static int close_to(double want, double got, double rtol) {
  return fabs(want - got) <= rtol * fabs(want);
}

// With GOLOSS_TEST_PANICS=1 set, the first call panics inside Go.
static int check_panic(void) {
  char err[256];
  const double labels[2] = {1, 0}, preds[2] = {.5, .5}, w[2] = {1, 1};
  const goloss_seed_params prm = {.gamma = 2.0, .e = 0.1, .validate = 1, .threads = 1};
  double loss[1];
  goloss_status st = goloss_seed_f64(loss, NULL, labels, preds, w, 1, 2, &prm, err, sizeof err);
  CHECK(st == GOLOSS_ERR_INTERNAL, "panic status %d", st);
  CHECK(strstr(err, "internal error") != NULL && strstr(err, "GOLOSS_TEST_PANICS") != NULL,
        "panic message: %s", err);
  st = goloss_seed_f64(loss, NULL, labels, preds, w, 1, 2, &prm, err, sizeof err);
  CHECK(st == GOLOSS_OK, "the call after a panic: %d %s", st, err);
  if (failures == 0) {
    printf("PASS\n");
    return 0;
  }
  printf("FAIL: %d checks\n", failures);
  return 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "panic") == 0) return check_panic();
  char err[256];
  char version[32];

  CHECK(goloss_abi_version() == GOLOSS_ABI_VERSION, "abi version %d", goloss_abi_version());
  CHECK(GOLOSS_ABI_VERSION == 3, "header ABI version %d", GOLOSS_ABI_VERSION);
  // Not a forked child: the process can run the library.
  memset(err, 'x', sizeof err);
  CHECK(goloss_process_check(err, sizeof err) == GOLOSS_OK, "process_check: %s", err);
  CHECK(goloss_process_check(NULL, 0) == GOLOSS_OK, "process_check without a buffer");
  CHECK(goloss_version(version, sizeof version) == GOLOSS_OK, "version");
  CHECK(strchr(version, '.') != NULL, "version string %s", version);
  CHECK(goloss_version(NULL, 4) == GOLOSS_ERR_ARGUMENT, "version NULL");
  char kernel[16];
  CHECK(goloss_kernel(kernel, sizeof kernel) == GOLOSS_OK, "kernel");
  CHECK(strcmp(kernel, "generic") == 0 || strcmp(kernel, "avx2") == 0 || strcmp(kernel, "avx512") == 0,
        "kernel name %s", kernel);

  const double counts[3] = {1, 2, 3};
  double w[3];
  CHECK(goloss_class_weights(w, counts, 3, err, sizeof err) == GOLOSS_OK, "weights: %s", err);
  CHECK(close_to(6.0 / 11, w[0], 1e-15) && close_to(2.0 / 11, w[2], 1e-15), "weights %g %g", w[0], w[2]);

  const double bad_counts[3] = {1, 0, 3};
  goloss_status st = goloss_class_weights(w, bad_counts, 3, err, sizeof err);
  CHECK(st == GOLOSS_ERR_VALUE, "zero count status %d", st);
  CHECK(strstr(err, "class count 1 is 0") != NULL, "zero count message: %s", err);
  CHECK(goloss_class_weights(w, counts, 0, err, sizeof err) == GOLOSS_ERR_SHAPE, "0 classes");
  CHECK(goloss_class_weights(w, NULL, 3, err, sizeof err) == GOLOSS_ERR_ARGUMENT, "NULL counts");

  const double labels[6] = {1, 0, 1, 0, 1, 0};
  const double preds[6] = {.9, .3, .4, .2, .5, .05};
  const goloss_seed_params prm = {.gamma = 2.0, .e = 0.1, .validate = 1, .threads = 1};
  double loss[2], grad[6];
  st = goloss_seed_f64(loss, grad, labels, preds, w, 2, 3, &prm, err, sizeof err);
  CHECK(st == GOLOSS_OK, "seed_f64: %d %s", st, err);
  CHECK(close_to(0.13935285744407913, loss[0], 1e-13), "loss[0] %.17g", loss[0]);
  CHECK(close_to(0.1620203821512099, loss[1], 1e-13), "loss[1] %.17g", loss[1]);

  const float labels32[6] = {1, 0, 1, 0, 1, 0};
  const float preds32[6] = {.9f, .3f, .4f, .2f, .5f, .05f};
  const float w32[3] = {(float)w[0], (float)w[1], (float)w[2]};
  float loss32[2];
  st = goloss_seed_f32(loss32, NULL, labels32, preds32, w32, 2, 3, &prm, err, sizeof err);
  CHECK(st == GOLOSS_OK, "seed_f32: %d %s", st, err);
  CHECK(close_to(0.13935285744407913, loss32[0], 1e-5), "loss32[0] %.9g", loss32[0]);

  // Goroutines sharing the rows give the same bits.
  const goloss_seed_params prm4 = {.gamma = 2.0, .e = 0.1, .validate = 1, .threads = 4};
  double loss4[2], grad4[6];
  st = goloss_seed_f64(loss4, grad4, labels, preds, w, 2, 3, &prm4, err, sizeof err);
  CHECK(st == GOLOSS_OK && memcmp(loss, loss4, sizeof loss) == 0 && memcmp(grad, grad4, sizeof grad) == 0,
        "threads 4: %d %s", st, err);

  // An empty batch needs no data pointers, class weights included; its
  // parameters are still checked, and so are weights that are given.
  CHECK(goloss_seed_f32(NULL, NULL, NULL, NULL, w32, 0, 3, &prm, err, sizeof err) == GOLOSS_OK,
        "empty batch: %s", err);
  CHECK(goloss_seed_f32(NULL, NULL, NULL, NULL, NULL, 0, 3, &prm, err, sizeof err) == GOLOSS_OK,
        "empty batch without weights: %s", err);
  CHECK(goloss_seed_f64(NULL, NULL, NULL, NULL, NULL, 0, 3, &prm, err, sizeof err) == GOLOSS_OK,
        "empty float64 batch without weights: %s", err);
  {
    const goloss_seed_params bad_e = {.gamma = 2.0, .e = 1.5, .validate = 1};
    st = goloss_seed_f32(NULL, NULL, NULL, NULL, NULL, 0, 3, &bad_e, err, sizeof err);
    CHECK(st == GOLOSS_ERR_PARAM && strstr(err, "e = 1.5") != NULL, "empty batch, e 1.5: %d %s", st, err);
    st = goloss_seed_f32(NULL, NULL, NULL, NULL, NULL, 0, 0, &prm, err, sizeof err);
    CHECK(st == GOLOSS_ERR_SHAPE, "empty batch, 0 classes: %d %s", st, err);
    const float bad_w32[3] = {1, -1, 1};
    st = goloss_seed_f32(NULL, NULL, NULL, NULL, bad_w32, 0, 3, &prm, err, sizeof err);
    CHECK(st == GOLOSS_ERR_VALUE && strstr(err, "class_weights[1] = -1") != NULL,
          "empty batch, weight -1: %d %s", st, err);
    st = goloss_seed_f32(NULL, NULL, NULL, NULL, NULL, 1, 3, &prm, err, sizeof err);
    CHECK(st == GOLOSS_ERR_ARGUMENT, "one row without data: %d %s", st, err);
    const goloss_binary_params bempty = {.gamma = 2.0, .validate = 1};
    st = goloss_binary_f32(NULL, NULL, NULL, NULL, 0, 3, &bempty, err, sizeof err);
    CHECK(st == GOLOSS_OK, "empty binary batch: %d %s", st, err);
    const goloss_binary_params bempty_ls = {.gamma = 2.0, .label_smoothing = -1, .validate = 1};
    st = goloss_binary_f64(NULL, NULL, NULL, NULL, 0, 3, &bempty_ls, err, sizeof err);
    CHECK(st == GOLOSS_ERR_PARAM && strstr(err, "label_smoothing = -1") != NULL,
          "empty binary batch, label_smoothing -1: %d %s", st, err);
    // alpha is a parameter: alpha_len values, whatever rows is.
    const goloss_binary_params bempty_alpha = {.gamma = 2.0, .alpha_len = 3, .validate = 1};
    st = goloss_binary_f32(NULL, NULL, NULL, NULL, 0, 3, &bempty_alpha, err, sizeof err);
    CHECK(st == GOLOSS_ERR_ARGUMENT && strstr(err, "alpha is NULL") != NULL,
          "empty binary batch, alpha NULL: %d %s", st, err);
  }

  // Sizes beyond the address space are shapes, named, never a read.
  {
    float one[1] = {0};
    st = goloss_seed_f32(one, one, one, one, one, (int64_t)1 << 40, (int64_t)1 << 20, &prm, err, sizeof err);
    CHECK(st == GOLOSS_ERR_SHAPE && strstr(err, "rows 1099511627776 × cols 1048576") != NULL &&
              strstr(err, "do not fit in memory") != NULL,
          "huge seed: %d %s", st, err);
    const goloss_binary_params bhuge = {.gamma = 2.0, .validate = 1};
    st = goloss_binary_f64((double *)one, NULL, (double *)one, (double *)one, (int64_t)1 << 40, (int64_t)1 << 40,
                           &bhuge, err, sizeof err);
    CHECK(st == GOLOSS_ERR_SHAPE && strstr(err, "rows 1099511627776 × cols 1099511627776") != NULL,
          "huge binary: %d %s", st, err);
    st = goloss_seed_f64(NULL, NULL, NULL, NULL, (double *)one, 0, (int64_t)1 << 60, &prm, err, sizeof err);
    CHECK(st == GOLOSS_ERR_SHAPE && strstr(err, "weights: cols = 1152921504606846976") != NULL,
          "huge weights: %d %s", st, err);
    const double a[1] = {0.25};
    const goloss_binary_params balpha = {.gamma = 2.0, .alpha = a, .alpha_len = (int64_t)1 << 60};
    st = goloss_binary_check(&balpha, 2, err, sizeof err);
    CHECK(st == GOLOSS_ERR_SHAPE && strstr(err, "alpha: alpha_len = 1152921504606846976") != NULL,
          "huge alpha: %d %s", st, err);
    double wone[1];
    st = goloss_class_weights(wone, (double *)one, (int64_t)1 << 61, err, sizeof err);
    CHECK(st == GOLOSS_ERR_SHAPE && strstr(err, "classes = 2305843009213693952") != NULL,
          "huge classes: %d %s", st, err);
  }

  // Errors: status, message, outputs untouched.
  loss[0] = 42;
  const double bad_preds[6] = {.9, .3, .4, .2, 1.5, .05};
  st = goloss_seed_f64(loss, grad, labels, bad_preds, w, 2, 3, &prm, err, sizeof err);
  CHECK(st == GOLOSS_ERR_VALUE, "probability 1.5 status %d", st);
  CHECK(strstr(err, "predictions[1, 1] = 1.5") != NULL, "probability message: %s", err);
  CHECK(loss[0] == 42, "loss written on error");

  const goloss_seed_params bad_gamma = {.gamma = -1, .e = 0.1, .validate = 1};
  st = goloss_seed_f64(loss, grad, labels, preds, w, 2, 3, &bad_gamma, err, sizeof err);
  CHECK(st == GOLOSS_ERR_PARAM && strstr(err, "gamma = -1") != NULL, "gamma: %d %s", st, err);
  CHECK(goloss_seed_check(&prm, err, sizeof err) == GOLOSS_OK, "check: %s", err);
  CHECK(goloss_seed_check(&bad_gamma, err, sizeof err) == GOLOSS_ERR_PARAM, "check gamma");
  CHECK(strstr(err, "gamma = -1") != NULL, "check message: %s", err);
  CHECK(goloss_seed_check(NULL, err, sizeof err) == GOLOSS_ERR_ARGUMENT, "check NULL");
  CHECK(goloss_seed_f64(loss, grad, labels, preds, w, 2, 0, &prm, err, sizeof err) == GOLOSS_ERR_SHAPE,
        "cols 0");
  CHECK(goloss_seed_f64(loss, grad, labels, preds, w, -1, 3, &prm, err, sizeof err) == GOLOSS_ERR_ARGUMENT,
        "negative rows");
  CHECK(goloss_seed_f64(loss, grad, labels, NULL, w, 2, 3, &prm, err, sizeof err) == GOLOSS_ERR_ARGUMENT,
        "NULL predictions");
  CHECK(strstr(err, "predictions is NULL") != NULL, "NULL message: %s", err);
  CHECK(goloss_seed_f64(loss, grad, labels, preds, w, 2, 3, NULL, err, sizeof err) == GOLOSS_ERR_ARGUMENT,
        "NULL params");

  // A short error buffer gets a truncated, terminated message; none is fine too.
  char tiny[8];
  memset(tiny, 'x', sizeof tiny);
  goloss_seed_f64(loss, grad, labels, preds, w, 2, 3, &bad_gamma, tiny, sizeof tiny);
  CHECK(tiny[7] == '\0' && strlen(tiny) == 7, "tiny buffer: %.8s", tiny);
  CHECK(goloss_seed_f64(loss, grad, labels, preds, w, 2, 3, &bad_gamma, NULL, 0) == GOLOSS_ERR_PARAM,
        "no buffer");

  // The binary variant: logits of +-1000 stay exact; per-class alpha.
  const double blabels[4] = {0, 1, 1, 0};
  const double logits[4] = {1000, -1000, 1000, -1000};
  goloss_binary_params bprm = {.gamma = 2.0, .from_logits = 1, .validate = 1, .threads = 2};
  double bloss[1], bgrad[4];
  st = goloss_binary_f64(bloss, bgrad, blabels, logits, 1, 4, &bprm, err, sizeof err);
  CHECK(st == GOLOSS_OK, "binary: %d %s", st, err);
  CHECK(bloss[0] == 500 && bgrad[0] == 0.25 && bgrad[1] == -0.25, "binary logits %g %g", bloss[0], bgrad[0]);
  const double alpha[3] = {0.1, 0.2, 0.3};
  bprm.alpha = alpha;
  bprm.alpha_len = 3;
  st = goloss_binary_f64(bloss, bgrad, blabels, logits, 1, 4, &bprm, err, sizeof err);
  CHECK(st == GOLOSS_ERR_SHAPE && strstr(err, "alpha holds 3 values for 4 classes") != NULL,
        "alpha length: %d %s", st, err);
  CHECK(goloss_binary_check(&bprm, 4, err, sizeof err) == GOLOSS_ERR_SHAPE, "check alpha length");
  CHECK(goloss_binary_check(&bprm, 3, err, sizeof err) == GOLOSS_OK, "check: %s", err);
  bprm.gamma = -2;
  CHECK(goloss_binary_check(&bprm, 3, err, sizeof err) == GOLOSS_ERR_PARAM && strstr(err, "gamma = -2"),
        "check gamma: %s", err);
  bprm.gamma = 2;
  bprm.alpha_len = 1;
  bprm.from_logits = 0;
  st = goloss_binary_f64(bloss, bgrad, blabels, logits, 1, 4, &bprm, err, sizeof err);
  CHECK(st == GOLOSS_ERR_VALUE && strstr(err, "predictions[0, 0] = 1000") != NULL,
        "probabilities: %d %s", st, err);
  // Labels of the binary variant outside [0, 1] are errors with validate,
  // on probabilities and logits alike, named; the seed variant takes them.
  {
    const double ylab[4] = {1, 0, 0.5, -2};
    const double plab[4] = {.5, .5, .5, .5};
    goloss_binary_params lprm = {.gamma = 2.0, .validate = 1};
    double lloss[2];
    for (int logits = 0; logits <= 1; logits++) {
      lprm.from_logits = logits;
      lloss[0] = lloss[1] = 42;
      st = goloss_binary_f64(lloss, NULL, ylab, plab, 2, 2, &lprm, err, sizeof err);
      CHECK(st == GOLOSS_ERR_VALUE && strstr(err, "goloss: invalid value: labels[1, 1] = -2 is not in [0, 1]") != NULL,
            "label -2, logits %d: %d %s", logits, st, err);
      CHECK(lloss[0] == 42 && lloss[1] == 42, "loss written on a bad label");
      const float ylab32[2] = {1.5f, 0};
      float l32[1];
      st = goloss_binary_f32(l32, NULL, ylab32, (const float *)probs_for_labels, 1, 2, &lprm, err, sizeof err);
      CHECK(st == GOLOSS_ERR_VALUE && strstr(err, "labels[0, 0] = 1.5") != NULL, "label 1.5: %d %s", st, err);
    }
    lprm.validate = 0;
    st = goloss_binary_f64(lloss, NULL, ylab, plab, 2, 2, &lprm, err, sizeof err);
    CHECK(st == GOLOSS_OK, "label -2 without validate: %d %s", st, err);
    double sloss[2];
    st = goloss_seed_f64(sloss, NULL, ylab, plab, w, 2, 2, &prm, err, sizeof err);
    CHECK(st == GOLOSS_OK, "seed takes label -2: %d %s", st, err);
  }

  const float blabels32[2] = {1, 0};
  const float probs32[2] = {0.75f, 0.25f};
  float bloss32[1];
  st = goloss_binary_f32(bloss32, NULL, blabels32, probs32, 1, 2, &bprm, err, sizeof err);
  CHECK(st == GOLOSS_OK && close_to((0.1 + 0.9) * 0.0625 * -log(0.75) / 2, bloss32[0], 1e-6),
        "binary f32: %d %.9g", st, bloss32[0]);

  if (failures == 0) {
    printf("PASS\n");
    return 0;
  }
  printf("FAIL: %d checks\n", failures);
  return 1;
}
