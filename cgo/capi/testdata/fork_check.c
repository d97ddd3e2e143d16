// A C program that loads libgoloss.so with dlopen, as ctypes and the
// TensorFlow op do, and forks. A Go runtime does not survive fork(): in a
// child forked after the library loaded, every function must fail at once
// with GOLOSS_ERR_PROCESS and a message naming the fix, never enter Go (where
// a call on two threads waits forever); the parent must go on working; and a
// process that loads the library only after its fork must work as any does.
// Prints PASS.
//
//   fork_check LIB before  load, compute on 2 threads, fork: the child fails
//   fork_check LIB after   fork, then load in the child, which computes; a
//                          child it forks in turn fails
//   fork_check LIB raw     load, compute, then a fork system call that runs
//                          no pthread_atfork handler: goloss_process_check's
//                          pid comparison catches it
//
// Every child arms alarm(): a hang kills it with SIGALRM, which the parent
// reports, rather than hanging the test.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "goloss.h"

static int failures = 0;

#define CHECK(cond, ...)                                      \
  do {                                                        \
    if (!(cond)) {                                            \
      failures++;                                             \
      fprintf(stderr, "FAIL %s:%d (pid %ld): ", __FILE__, __LINE__, (long)getpid()); \
      fprintf(stderr, __VA_ARGS__);                           \
      fprintf(stderr, "\n");                                  \
    }                                                         \
  } while (0)

// Seconds a child may take before its hang counts as one.
enum { CHILD_SECONDS = 20 };

// The functions of goloss.h, found with dlsym.
struct api {
  __typeof__(&goloss_abi_version) abi_version;
  __typeof__(&goloss_process_check) process_check;
  __typeof__(&goloss_version) version;
  __typeof__(&goloss_kernel) kernel;
  __typeof__(&goloss_class_weights) class_weights;
  __typeof__(&goloss_seed_check) seed_check;
  __typeof__(&goloss_seed_f32) seed_f32;
  __typeof__(&goloss_seed_f64) seed_f64;
  __typeof__(&goloss_binary_check) binary_check;
  __typeof__(&goloss_binary_f32) binary_f32;
  __typeof__(&goloss_binary_f64) binary_f64;
  __typeof__(&goloss_class_weights_beta) class_weights_beta;
  __typeof__(&goloss_asymmetric_check) asymmetric_check;
  __typeof__(&goloss_asymmetric_f32) asymmetric_f32;
  __typeof__(&goloss_asymmetric_f64) asymmetric_f64;
};

#define RESOLVE(handle, api, name)                                  \
  do {                                                              \
    *(void **)&(api)->name = dlsym((handle), "goloss_" #name);      \
    if ((api)->name == NULL) {                                      \
      fprintf(stderr, "FAIL: no goloss_%s: %s\n", #name, dlerror()); \
      exit(2);                                                      \
    }                                                               \
  } while (0)

static struct api load(const char *path) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL) {
    fprintf(stderr, "FAIL: dlopen %s: %s\n", path, dlerror());
    exit(2);
  }
  struct api api;
  RESOLVE(handle, &api, abi_version);
  RESOLVE(handle, &api, process_check);
  RESOLVE(handle, &api, version);
  RESOLVE(handle, &api, kernel);
  RESOLVE(handle, &api, class_weights);
  RESOLVE(handle, &api, seed_check);
  RESOLVE(handle, &api, seed_f32);
  RESOLVE(handle, &api, seed_f64);
  RESOLVE(handle, &api, binary_check);
  RESOLVE(handle, &api, binary_f32);
  RESOLVE(handle, &api, binary_f64);
  RESOLVE(handle, &api, class_weights_beta);
  RESOLVE(handle, &api, asymmetric_check);
  RESOLVE(handle, &api, asymmetric_f32);
  RESOLVE(handle, &api, asymmetric_f64);
  return api;
}

// A batch big enough for two goroutines: 1024 rows of 32 classes.
enum { ROWS = 1024, COLS = 32, N = ROWS * COLS };
static float labels[N], preds[N], grad[N], loss[ROWS], weights[COLS];

static void fill(void) {
  for (int i = 0; i < N; i++) {
    labels[i] = i % 7 == 0 ? 1.0f : 0.0f;
    preds[i] = 0.05f + 0.9f * (float)((i * 37) % 101) / 101.0f;
  }
  for (int c = 0; c < COLS; c++) weights[c] = 1.0f / COLS;
}

// The seed variant on the whole batch, on two threads.
static goloss_status compute(const struct api *api, char *err, size_t err_len) {
  const goloss_seed_params prm = {.gamma = 2.0, .e = 0.1, .validate = 1, .threads = 2};
  return api->seed_f32(loss, grad, labels, preds, weights, ROWS, COLS, &prm, err, err_len);
}

// Checks a computation that must work.
static void check_works(const struct api *api, const char *what) {
  char err[512] = "";
  CHECK(api->process_check(err, sizeof err) == GOLOSS_OK, "%s: process_check: %s", what, err);
  loss[0] = -1;
  const goloss_status st = compute(api, err, sizeof err);
  CHECK(st == GOLOSS_OK, "%s: seed_f32 on 2 threads: %d %s", what, st, err);
  CHECK(loss[0] >= 0 && loss[ROWS - 1] >= 0, "%s: loss %g %g", what, loss[0], loss[ROWS - 1]);
}

// Checks one GOLOSS_ERR_PROCESS: the status, a message that says why and
// names the fix and both processes, and nothing written.
static void check_refused(const char *what, goloss_status st, const char *err, pid_t loaded_in) {
  CHECK(st == GOLOSS_ERR_PROCESS, "%s: status %d (%.300s), want GOLOSS_ERR_PROCESS", what, st, err);
  CHECK(strstr(err, "fork") != NULL && strstr(err, "spawn") != NULL && strstr(err, "forkserver") != NULL,
        "%s: message: %.300s", what, err);
  char pids[64];
  snprintf(pids, sizeof pids, "process %ld ", (long)loaded_in);
  CHECK(strstr(err, pids) != NULL, "%s: message does not name %s: %.300s", what, pids, err);
  snprintf(pids, sizeof pids, "(pid %ld)", (long)getpid());
  CHECK(strstr(err, pids) != NULL, "%s: message does not name %s: %.300s", what, pids, err);
  CHECK(strchr(err, '\n') == NULL, "%s: message of more than one line", what);
}

// In a child forked after the library loaded in loaded_in: every function
// fails at once, without entering Go, and writes no output.
static void check_child_refuses(const struct api *api, pid_t loaded_in) {
  char err[512];
#define REFUSED(what, call)             \
  do {                                  \
    memset(err, 'x', sizeof err);       \
    err[sizeof err - 1] = '\0';         \
    check_refused(what, call, err, loaded_in); \
  } while (0)

  CHECK(api->abi_version() == GOLOSS_ABI_VERSION, "abi_version %d in the child", api->abi_version());
  REFUSED("process_check", api->process_check(err, sizeof err));

  for (int i = 0; i < ROWS; i++) loss[i] = 42;
  REFUSED("seed_f32", compute(api, err, sizeof err));
  CHECK(loss[0] == 42 && loss[ROWS - 1] == 42, "loss written in the child");

  const double counts[3] = {1, 2, 3};
  double w[3] = {42, 42, 42};
  REFUSED("class_weights", api->class_weights(w, counts, 3, err, sizeof err));
  REFUSED("class_weights_beta", api->class_weights_beta(w, counts, 3, 0.9, err, sizeof err));
  CHECK(w[0] == 42, "class weights written in the child");

  goloss_binary_params bprm = {.gamma = 2.0, .validate = 1, .threads = 2};
  REFUSED("binary_f32", api->binary_f32(loss, grad, labels, preds, ROWS, COLS, &bprm, err, sizeof err));
  CHECK(loss[0] == 42, "binary loss written in the child");
  const double y64[2] = {1, 0}, p64[2] = {.5, .5}, w64[2] = {1, 1};
  double loss64[1] = {42};
  const goloss_seed_params prm = {.gamma = 2.0, .e = 0.1, .validate = 1, .threads = 2};
  REFUSED("seed_f64", api->seed_f64(loss64, NULL, y64, p64, w64, 1, 2, &prm, err, sizeof err));
  REFUSED("binary_f64", api->binary_f64(loss64, NULL, y64, p64, 1, 2, &bprm, err, sizeof err));
  CHECK(loss64[0] == 42, "float64 loss written in the child");
  REFUSED("seed_check", api->seed_check(&prm, err, sizeof err));
  REFUSED("binary_check", api->binary_check(&bprm, 2, err, sizeof err));
  const goloss_asymmetric_params aprm = {.gamma_neg = 4, .gamma_pos = 1, .clip = 0.05, .validate = 1, .threads = 2};
  REFUSED("asymmetric_f32", api->asymmetric_f32(loss, grad, labels, preds, NULL, ROWS, COLS, &aprm, err, sizeof err));
  CHECK(loss[0] == 42, "asymmetric loss written in the child");
  REFUSED("asymmetric_f64", api->asymmetric_f64(loss64, NULL, y64, p64, w64, 1, 2, &aprm, err, sizeof err));
  CHECK(loss64[0] == 42, "float64 asymmetric loss written in the child");
  REFUSED("asymmetric_check", api->asymmetric_check(&aprm, err, sizeof err));
#undef REFUSED

  // No message buffer: the status alone.
  CHECK(api->process_check(NULL, 0) == GOLOSS_ERR_PROCESS, "process_check without a buffer");
  CHECK(compute(api, NULL, 0) == GOLOSS_ERR_PROCESS, "seed_f32 without a buffer");
  // A short buffer: truncated and terminated.
  char tiny[8];
  memset(tiny, 'x', sizeof tiny);
  CHECK(api->process_check(tiny, sizeof tiny) == GOLOSS_ERR_PROCESS && tiny[7] == '\0' && strlen(tiny) == 7,
        "tiny buffer: %.8s", tiny);
  // version and kernel have no message buffer and write nothing.
  char buf[32] = "untouched";
  CHECK(api->version(buf, sizeof buf) == GOLOSS_ERR_PROCESS && strcmp(buf, "untouched") == 0,
        "version in the child: %s", buf);
  CHECK(api->kernel(buf, sizeof buf) == GOLOSS_ERR_PROCESS && strcmp(buf, "untouched") == 0,
        "kernel in the child: %s", buf);
}

// Waits for child and checks that it exited with 0.
static void check_child_passed(pid_t child, const char *what) {
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child, "%s: waitpid", what);
  if (WIFSIGNALED(status)) {
    CHECK(0, "%s: killed by signal %d%s", what, WTERMSIG(status),
          WTERMSIG(status) == SIGALRM ? " (SIGALRM: it hung)" : "");
  } else {
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: exit status %d", what, WEXITSTATUS(status));
  }
}

// A child's end: its checks' verdict as its exit status, without running
// the parent's atexit handlers.
static void child_exit(void) {
  fflush(stderr);
  _exit(failures == 0 ? 0 : 1);
}

static void before(const char *path) {
  const struct api api = load(path);
  check_works(&api, "parent before the fork");
  const pid_t parent = getpid();
  fflush(NULL);
  const pid_t child = fork();
  CHECK(child >= 0, "fork");
  if (child == 0) {
    alarm(CHILD_SECONDS);
    check_child_refuses(&api, parent);
    child_exit();
  }
  check_child_passed(child, "child forked after the load");
  check_works(&api, "parent after the fork");
}

static void after(const char *path) {
  fflush(NULL);
  const pid_t child = fork();
  CHECK(child >= 0, "fork");
  if (child == 0) {
    alarm(CHILD_SECONDS);
    const struct api api = load(path);
    check_works(&api, "child that loads the library after the fork");
    const pid_t self = getpid();
    fflush(NULL);
    const pid_t grandchild = fork();
    CHECK(grandchild >= 0, "fork in the child");
    if (grandchild == 0) {
      alarm(CHILD_SECONDS);
      check_child_refuses(&api, self);
      child_exit();
    }
    check_child_passed(grandchild, "grandchild forked after the child's load");
    check_works(&api, "child after its fork");
    child_exit();
  }
  check_child_passed(child, "child that loads after the fork");
  const struct api api = load(path);
  check_works(&api, "parent loading after its child");
}

static void raw(const char *path) {
  const struct api api = load(path);
  check_works(&api, "parent before the raw fork");
  const pid_t parent = getpid();
  fflush(NULL);
  // fork(2) itself, not glibc's fork(): no pthread_atfork handler runs.
  const pid_t child = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  CHECK(child >= 0, "clone");
  if (child == 0) {
    // Only goloss_process_check compares pids: the other functions trust
    // the atfork flag, which this fork never set, so they are not called.
    alarm(CHILD_SECONDS);
    char err[512] = "";
    check_refused("process_check after a raw fork", api.process_check(err, sizeof err), err, parent);
    child_exit();
  }
  check_child_passed(child, "child of a raw fork");
  check_works(&api, "parent after the raw fork");
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: fork_check LIB before|after|raw\n");
    return 2;
  }
  fill();
  if (strcmp(argv[2], "before") == 0) {
    before(argv[1]);
  } else if (strcmp(argv[2], "after") == 0) {
    after(argv[1]);
  } else if (strcmp(argv[2], "raw") == 0) {
    raw(argv[1]);
  } else {
    fprintf(stderr, "unknown mode %s\n", argv[2]);
    return 2;
  }
  if (failures == 0) {
    printf("PASS\n");
    return 0;
  }
  printf("FAIL: %d checks\n", failures);
  return 1;
}
