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

// goloss_class_weights_beta: the formula, its errors.
static void check_class_weights_beta(void) {
  char err[256];
  const double counts[3] = {1, 2, 3};
  double w[3];
  const double beta = 0.9;
  goloss_status st = goloss_class_weights_beta(w, counts, 3, beta, err, sizeof err);
  CHECK(st == GOLOSS_OK, "class_weights_beta: %d %s", st, err);
  double sum = 0;
  for (int c = 0; c < 3; c++) sum += (1 - beta) / (1 - pow(beta, counts[c]));
  for (int c = 0; c < 3; c++) {
    const double want = (1 - beta) / (1 - pow(beta, counts[c])) / sum;
    CHECK(close_to(want, w[c], 1e-14), "class_weights_beta[%d] = %.17g, want %.17g", c, w[c], want);
  }
  CHECK(goloss_class_weights_beta(w, counts, 3, 0, err, sizeof err) == GOLOSS_OK && w[0] == 1.0 / 3 && w[2] == 1.0 / 3,
        "beta 0: %g %g %g", w[0], w[1], w[2]);
  w[0] = 42;
  st = goloss_class_weights_beta(w, counts, 3, 1, err, sizeof err);
  CHECK(st == GOLOSS_ERR_PARAM && strstr(err, "goloss: invalid parameter: beta = 1, want 0 <= beta < 1") != NULL,
        "beta 1: %d %s", st, err);
  CHECK(w[0] == 42, "weights written on error");
  st = goloss_class_weights_beta(w, counts, 3, NAN, err, sizeof err);
  CHECK(st == GOLOSS_ERR_PARAM && strstr(err, "beta = NaN") != NULL, "beta NaN: %d %s", st, err);
  const double bad_counts[3] = {1, -1, 3};
  st = goloss_class_weights_beta(w, bad_counts, 3, 0.5, err, sizeof err);
  CHECK(st == GOLOSS_ERR_VALUE && strstr(err, "class count 1 is -1") != NULL, "bad count: %d %s", st, err);
  CHECK(goloss_class_weights_beta(w, counts, 0, 0.5, err, sizeof err) == GOLOSS_ERR_SHAPE, "beta: 0 classes");
  CHECK(goloss_class_weights_beta(NULL, counts, 3, 0.5, err, sizeof err) == GOLOSS_ERR_ARGUMENT, "beta: NULL weights");
  const double tiny[2] = {1e-308, 1e-308};
  st = goloss_class_weights_beta(w, tiny, 2, 0.9999, err, sizeof err);
  CHECK(st == GOLOSS_OK && w[0] == 0.5 && w[1] == 0.5, "tiny counts: %d %g %g", st, w[0], w[1]);
}

// Ignore values of the seed and binary variants.
static void check_ignore_values(const double *w) {
  char err[256];
  const double labels[6] = {1, -1, 1, 0, 1, -1};
  const double preds[6] = {.9, .3, .4, .2, .5, .05};
  double loss[2], grad[6], want[2], want_grad[6];
  // The seed variant: an ignore value <= 0 changes nothing; a label equal
  // to one > 0 is computed as a label of 0.
  goloss_seed_params prm = {.gamma = 2.0, .e = 0.1, .validate = 1, .threads = 1, .has_ignore = 1, .ignore_value = -1};
  const goloss_seed_params plain = {.gamma = 2.0, .e = 0.1, .validate = 1, .threads = 1};
  goloss_status st = goloss_seed_f64(loss, grad, labels, preds, w, 2, 3, &prm, err, sizeof err);
  CHECK(st == GOLOSS_OK, "seed with ignore -1: %d %s", st, err);
  st = goloss_seed_f64(want, want_grad, labels, preds, w, 2, 3, &plain, err, sizeof err);
  CHECK(st == GOLOSS_OK && memcmp(loss, want, sizeof loss) == 0 && memcmp(grad, want_grad, sizeof grad) == 0,
        "seed: ignore -1 changes nothing: %d %s", st, err);
  prm.ignore_value = 1;
  st = goloss_seed_f64(loss, grad, labels, preds, w, 2, 3, &prm, err, sizeof err);
  CHECK(st == GOLOSS_OK, "seed with ignore 1: %d %s", st, err);
  const double ones_zeroed[6] = {0, -1, 0, 0, 0, -1};
  st = goloss_seed_f64(want, want_grad, ones_zeroed, preds, w, 2, 3, &plain, err, sizeof err);
  CHECK(st == GOLOSS_OK && memcmp(loss, want, sizeof loss) == 0 && memcmp(grad, want_grad, sizeof grad) == 0,
        "seed: ignore 1 is a label of 0: %d %s", st, err);
  prm.ignore_value = NAN;
  st = goloss_seed_f64(loss, grad, labels, preds, w, 2, 3, &prm, err, sizeof err);
  CHECK(st == GOLOSS_ERR_PARAM && strstr(err, "ignore_value = NaN") != NULL, "seed NaN ignore: %d %s", st, err);
  CHECK(goloss_seed_check(&prm, err, sizeof err) == GOLOSS_ERR_PARAM, "seed_check NaN ignore");
  prm.has_ignore = 0;
  CHECK(goloss_seed_check(&prm, err, sizeof err) == GOLOSS_OK, "seed_check: NaN ignore_value unused: %s", err);

  // The binary variant: the mean over the known classes; a row with none
  // known has loss 0 and a zero gradient; unknown labels are not checked,
  // others are.
  goloss_binary_params bprm = {.gamma = 2.0, .validate = 1, .threads = 2, .has_ignore = 1, .ignore_value = -1};
  const double blabels[6] = {1, -1, 0, -1, -1, -1};
  const double bpreds[6] = {.8, .5, .3, .5, NAN, .5};
  double bgrad[6];
  st = goloss_binary_f64(loss, bgrad, blabels, bpreds, 2, 3, &bprm, err, sizeof err);
  CHECK(st == GOLOSS_OK, "binary with ignore: %d %s", st, err);
  const double want0 = (0.04 * -log(0.8) + 0.09 * -log(0.7)) / 2;
  CHECK(close_to(want0, loss[0], 1e-14), "binary ignore loss[0] %.17g, want %.17g", loss[0], want0);
  CHECK(loss[1] == 0, "binary: no known class, loss %g", loss[1]);
  CHECK(bgrad[1] == 0 && bgrad[3] == 0 && bgrad[4] == 0 && bgrad[5] == 0 && bgrad[0] != 0, "binary ignore grad %g %g %g",
        bgrad[1], bgrad[4], bgrad[0]);
  const double bad_labels[6] = {1, -1, 0, -1, -2, -1};
  st = goloss_binary_f64(loss, NULL, bad_labels, bpreds, 2, 3, &bprm, err, sizeof err);
  CHECK(st == GOLOSS_ERR_VALUE && strstr(err, "labels[1, 1] = -2 is not in [0, 1]") != NULL, "binary label -2: %d %s",
        st, err);
  bprm.ignore_value = NAN;
  CHECK(goloss_binary_check(&bprm, 3, err, sizeof err) == GOLOSS_ERR_PARAM && strstr(err, "ignore_value = NaN"),
        "binary_check NaN ignore: %s", err);
}

// The asymmetric variant: the worked example of goloss's tests (TensorFlow's
// float64 autodiff of the reference), both gradient modes, float32, class
// weights, threads, ignore values, errors.
static void check_asymmetric(void) {
  char err[256];
  const double labels[8] = {1, 0, 0, 0.3, 0, 1, 0, 0};
  const double logits[8] = {1.5, -2.0, 0.25, 0.5, -3.0, -0.5, 4.0, -6.0};
  const double want_loss[2] = {0.17977079197999307, 2.63489975864148};
  const double want_grad[2][8] = {
      {-0.033279071736023486, 2.5870539485793896e-06, 0.034720632948115254, 0.03449189422804483, 0,
       -0.38745561900025993, 0.1960314566139679, 0},
      {-0.0633191475470067, 1.2568648440321702e-05, 0.12967066765360621, 0.08757639236581809, 0,
       -0.6163673262527187, 0.34980664861170885, 0}};
  goloss_asymmetric_params prm = {.gamma_neg = 4, .gamma_pos = 1, .clip = 0.05, .from_logits = 1, .validate = 1};
  double loss[2], grad[8];
  for (int focal_grad = 0; focal_grad <= 1; focal_grad++) {
    prm.focal_grad = focal_grad;
    goloss_status st = goloss_asymmetric_f64(loss, grad, labels, logits, NULL, 2, 4, &prm, err, sizeof err);
    CHECK(st == GOLOSS_OK, "asymmetric_f64: %d %s", st, err);
    for (int b = 0; b < 2; b++) {
      CHECK(close_to(want_loss[b], loss[b], 1e-13), "asymmetric loss[%d] %.17g", b, loss[b]);
    }
    for (int i = 0; i < 8; i++) {
      CHECK(fabs(want_grad[focal_grad][i] - grad[i]) <= 1e-13 * fabs(want_grad[focal_grad][i]),
            "asymmetric focal_grad %d grad[%d] %.17g, want %.17g", focal_grad, i, grad[i], want_grad[focal_grad][i]);
    }
    // Class weights of 1 are no class weights; goroutines give the same bits.
    const double ones[4] = {1, 1, 1, 1};
    goloss_asymmetric_params prm4 = prm;
    prm4.threads = 4;
    double loss1[2], grad1[8];
    st = goloss_asymmetric_f64(loss1, grad1, labels, logits, ones, 2, 4, &prm4, err, sizeof err);
    CHECK(st == GOLOSS_OK && memcmp(loss, loss1, sizeof loss) == 0 && memcmp(grad, grad1, sizeof grad) == 0,
          "asymmetric: weights of 1, 4 threads: %d %s", st, err);
    float labels32[8], logits32[8], loss32[2], grad32[8];
    for (int i = 0; i < 8; i++) {
      labels32[i] = (float)labels[i];
      logits32[i] = (float)logits[i];
    }
    st = goloss_asymmetric_f32(loss32, grad32, labels32, logits32, NULL, 2, 4, &prm, err, sizeof err);
    CHECK(st == GOLOSS_OK, "asymmetric_f32: %d %s", st, err);
    for (int b = 0; b < 2; b++) CHECK(close_to(want_loss[b], loss32[b], 1e-5), "asymmetric loss32[%d] %.9g", b, loss32[b]);
    for (int i = 0; i < 8; i++) {
      CHECK(fabs(want_grad[focal_grad][i] - grad32[i]) <= 1e-6 + 1e-5 * fabs(want_grad[focal_grad][i]),
            "asymmetric grad32[%d] %.9g", i, grad32[i]);
    }
  }
  prm.focal_grad = 0;
  // Class weights scale each class's term; an unknown label adds nothing.
  {
    const double y[2] = {1, -1}, z[2] = {0.5, 3}, cw[2] = {2, 5};
    goloss_asymmetric_params iprm = prm;
    iprm.has_ignore = 1;
    iprm.ignore_value = -1;
    double l[1], g[2], l1[1];
    goloss_status st = goloss_asymmetric_f64(l, g, y, z, cw, 1, 2, &iprm, err, sizeof err);
    CHECK(st == GOLOSS_OK && g[1] == 0, "asymmetric ignore: %d %s %g", st, err, g[1]);
    st = goloss_asymmetric_f64(l1, NULL, y, z, NULL, 1, 1, &prm, err, sizeof err);
    CHECK(st == GOLOSS_OK && l[0] == 2 * l1[0], "asymmetric ignore and weights: %.17g %.17g", l[0], l1[0]);
    const double all_unknown[2] = {-1, -1};
    st = goloss_asymmetric_f64(l, g, all_unknown, z, cw, 1, 2, &iprm, err, sizeof err);
    CHECK(st == GOLOSS_OK && l[0] == 0 && g[0] == 0 && g[1] == 0, "asymmetric: nothing known: %d %g", st, l[0]);
  }
  {
    // eps (ABI 5): a positive at p = 1e-5 costs -log(max(p, eps)).
    double y[1] = {1}, p[1] = {1e-5}, l[1], l0[1];
    goloss_asymmetric_params eprm = {.eps = 1e-3, .validate = 1};
    goloss_status st = goloss_asymmetric_f64(l, NULL, y, p, NULL, 1, 1, &eprm, err, sizeof err);
    CHECK(st == GOLOSS_OK && close_to(-log(1e-3), l[0], 1e-14), "asymmetric eps 1e-3: %d %.17g", st, l[0]);
    eprm.eps = 0;  /* the default, 1e-8 */
    st = goloss_asymmetric_f64(l0, NULL, y, p, NULL, 1, 1, &eprm, err, sizeof err);
    CHECK(st == GOLOSS_OK && close_to(-log(1e-5), l0[0], 1e-14), "asymmetric eps 0: %d %.17g", st, l0[0]);
  }
  {
    // grad_scale (ABI 6): every variant's gradient times it, each element
    // the unscaled one rounded and then multiplied; the loss unchanged.
    const float y[3] = {1, 0, 1}, p[3] = {0.25f, 0.4f, 0.75f}, w[3] = {1, 2, 3};
    const float c = 1.0f / 3.0f;
    float l[1], g[3], ls[1], gs[3];
    goloss_seed_params sp = {.gamma = 2, .e = 0.1, .validate = 1};
    goloss_binary_params bp = {.gamma = 2, .validate = 1};
    goloss_asymmetric_params ap = {.gamma_neg = 4, .gamma_pos = 1, .clip = 0.05, .validate = 1};
    for (int v = 0; v < 3; v++) {
      goloss_status st0, st1;
      if (v == 0) {
        st0 = goloss_seed_f32(l, g, y, p, w, 1, 3, &sp, err, sizeof err);
        sp.grad_scale = c;
        st1 = goloss_seed_f32(ls, gs, y, p, w, 1, 3, &sp, err, sizeof err);
      } else if (v == 1) {
        st0 = goloss_binary_f32(l, g, y, p, 1, 3, &bp, err, sizeof err);
        bp.grad_scale = c;
        st1 = goloss_binary_f32(ls, gs, y, p, 1, 3, &bp, err, sizeof err);
      } else {
        st0 = goloss_asymmetric_f32(l, g, y, p, w, 1, 3, &ap, err, sizeof err);
        ap.grad_scale = c;
        st1 = goloss_asymmetric_f32(ls, gs, y, p, w, 1, 3, &ap, err, sizeof err);
      }
      CHECK(st0 == GOLOSS_OK && st1 == GOLOSS_OK && l[0] == ls[0], "grad_scale variant %d: %d %d %s", v, st0, st1, err);
      for (int i = 0; i < 3; i++) {
        volatile float want = g[i] * c;
        CHECK(gs[i] == want && g[i] != 0, "grad_scale variant %d grad[%d] %.9g, want %.9g", v, i, gs[i], want);
      }
    }
    const double bad_scales[3] = {-1, INFINITY, NAN};
    for (int i = 0; i < 3; i++) {
      sp.grad_scale = bp.grad_scale = ap.grad_scale = bad_scales[i];
      l[0] = 42;
      goloss_status st = goloss_seed_f32(l, g, y, p, w, 1, 3, &sp, err, sizeof err);
      CHECK(st == GOLOSS_ERR_PARAM && strstr(err, "grad_scale = ") != NULL && l[0] == 42, "seed grad_scale %g: %d %s",
            bad_scales[i], st, err);
      st = goloss_binary_check(&bp, 3, err, sizeof err);
      CHECK(st == GOLOSS_ERR_PARAM && strstr(err, "want a finite grad_scale > 0") != NULL, "binary grad_scale %g: %d %s",
            bad_scales[i], st, err);
      st = goloss_asymmetric_f32(l, g, y, p, w, 1, 3, &ap, err, sizeof err);
      CHECK(st == GOLOSS_ERR_PARAM && l[0] == 42, "asymmetric grad_scale %g: %d %s", bad_scales[i], st, err);
    }
    // Finite as a double, 0 in float32: an error naming both.
    sp.grad_scale = 1e-60;
    goloss_status st = goloss_seed_f32(l, g, y, p, w, 1, 3, &sp, err, sizeof err);
    CHECK(st == GOLOSS_ERR_PARAM && strstr(err, "grad_scale = 1e-60 is 0 in float32") != NULL, "seed grad_scale 1e-60: %d %s",
          st, err);
  }
  // An empty batch needs no buffers; weights may always be NULL.
  CHECK(goloss_asymmetric_f32(NULL, NULL, NULL, NULL, NULL, 0, 4, &prm, err, sizeof err) == GOLOSS_OK,
        "asymmetric empty batch: %s", err);
  CHECK(goloss_asymmetric_check(&prm, err, sizeof err) == GOLOSS_OK, "asymmetric_check: %s", err);
  CHECK(goloss_asymmetric_check(NULL, err, sizeof err) == GOLOSS_ERR_ARGUMENT, "asymmetric_check NULL");
  // Errors: status, message, outputs untouched.
  struct {
    goloss_asymmetric_params prm;
    const char *what;
    goloss_status status;
  } bad[] = {
      {{.gamma_neg = -1, .gamma_pos = 1}, "gamma_neg = -1, want a finite gamma_neg >= 0", GOLOSS_ERR_PARAM},
      {{.gamma_neg = 4, .gamma_pos = INFINITY}, "gamma_pos = +Inf", GOLOSS_ERR_PARAM},
      {{.clip = 2}, "clip = 2, want 0 <= clip <= 1", GOLOSS_ERR_PARAM},
      {{.clip = NAN}, "clip = NaN", GOLOSS_ERR_PARAM},
      {{.has_ignore = 1, .ignore_value = NAN}, "ignore_value = NaN", GOLOSS_ERR_PARAM},
      {{.eps = -1e-8}, "eps = -1e-08, want 0 < eps < 1", GOLOSS_ERR_PARAM},
      {{.eps = 1}, "eps = 1, want 0 < eps < 1", GOLOSS_ERR_PARAM},
      {{.eps = NAN}, "eps = NaN", GOLOSS_ERR_PARAM},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    goloss_status st = goloss_asymmetric_check(&bad[i].prm, err, sizeof err);
    CHECK(st == bad[i].status && strstr(err, bad[i].what) != NULL, "asymmetric_check %s: %d %s", bad[i].what, st, err);
    loss[0] = 42;
    st = goloss_asymmetric_f64(loss, NULL, labels, logits, NULL, 2, 4, &bad[i].prm, err, sizeof err);
    CHECK(st == bad[i].status && strstr(err, bad[i].what) != NULL && loss[0] == 42, "asymmetric %s: %d %s",
          bad[i].what, st, err);
  }
  const double bad_labels[4] = {1, -2, 0, 0}, probs[4] = {.5, .5, .5, .5};
  goloss_asymmetric_params pprm = {.gamma_neg = 4, .gamma_pos = 1, .clip = 0.05, .validate = 1};
  loss[0] = 42;
  goloss_status st = goloss_asymmetric_f64(loss, NULL, bad_labels, probs, NULL, 2, 2, &pprm, err, sizeof err);
  CHECK(st == GOLOSS_ERR_VALUE && strstr(err, "goloss: invalid value: labels[0, 1] = -2 is not in [0, 1]") != NULL &&
            loss[0] == 42,
        "asymmetric label -2: %d %s", st, err);
  st = goloss_asymmetric_f64(loss, NULL, labels, logits, NULL, 2, 4, &pprm, err, sizeof err);
  CHECK(st == GOLOSS_ERR_VALUE && strstr(err, "predictions[0, 0] = 1.5 is not a probability") != NULL,
        "asymmetric probabilities: %d %s", st, err);
  const double neg_w[2] = {1, -1};
  st = goloss_asymmetric_f64(loss, NULL, probs, probs, neg_w, 2, 2, &pprm, err, sizeof err);
  CHECK(st == GOLOSS_ERR_VALUE && strstr(err, "class_weights[1] = -1") != NULL, "asymmetric weight -1: %d %s", st, err);
  CHECK(goloss_asymmetric_f64(loss, NULL, labels, logits, NULL, 2, 4, NULL, err, sizeof err) == GOLOSS_ERR_ARGUMENT &&
            strstr(err, "params is NULL") != NULL,
        "asymmetric NULL params: %s", err);
  CHECK(goloss_asymmetric_f64(loss, NULL, labels, NULL, NULL, 2, 4, &prm, err, sizeof err) == GOLOSS_ERR_ARGUMENT &&
            strstr(err, "predictions is NULL for 8 values") != NULL,
        "asymmetric NULL predictions: %s", err);
  CHECK(goloss_asymmetric_f64(loss, NULL, labels, logits, NULL, 2, 0, &prm, err, sizeof err) == GOLOSS_ERR_SHAPE,
        "asymmetric cols 0");
  const double one[1] = {1};
  st = goloss_asymmetric_f64(NULL, NULL, NULL, NULL, one, 0, (int64_t)1 << 60, &prm, err, sizeof err);
  CHECK(st == GOLOSS_ERR_SHAPE && strstr(err, "class_weights: cols = 1152921504606846976") != NULL,
        "asymmetric huge weights: %d %s", st, err);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "panic") == 0) return check_panic();
  char err[256];
  char version[32];

  CHECK(goloss_abi_version() == GOLOSS_ABI_VERSION, "abi version %d", goloss_abi_version());
  CHECK(GOLOSS_ABI_VERSION == 6, "header ABI version %d", GOLOSS_ABI_VERSION);
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

  check_class_weights_beta();
  check_ignore_values(w);
  check_asymmetric();

  if (failures == 0) {
    printf("PASS\n");
    return 0;
  }
  printf("FAIL: %d checks\n", failures);
  return 1;
}
