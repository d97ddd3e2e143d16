package capi

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shared libraries the tests build, once per build tag set, in a folder
// that TestMain removes.
var (
	libDir    string
	libMu     sync.Mutex
	libBuilds = map[string]string{} // tags -> path of libgoloss.so
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "goloss-capi-test-")
	if err != nil {
		panic(err)
	}
	libDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// here is the folder of this file.
func here() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// library builds libgoloss.so as the Makefile does (go build
// -buildmode=c-shared ./cgo), with the given build tags ("" for none: the
// shipped library), and returns its path.
func library(t *testing.T, tags string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the shared library")
	}
	libMu.Lock()
	defer libMu.Unlock()
	if path, ok := libBuilds[tags]; ok {
		return path
	}
	dir := filepath.Join(libDir, "lib-"+tags)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, "libgoloss.so")
	args := []string{"build", "-buildmode=c-shared", "-o", path}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	build := exec.Command("go", append(args, "..")...)
	build.Dir = here()
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go %v: %s", args, out)
	libBuilds[tags] = path
	return path
}

// compileC compiles testdata/src against the public header only, with
// extra gcc arguments, and returns the executable.
func compileC(t *testing.T, src string, extra ...string) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), src[:len(src)-len(filepath.Ext(src))])
	args := append([]string{"-std=c11", "-Wall", "-Wextra", "-Werror", "-o", exe,
		filepath.Join(here(), "testdata", src), "-I" + filepath.Join(here(), "..", "include")}, extra...)
	out, err := exec.Command("gcc", args...).CombinedOutput()
	require.NoError(t, err, "gcc %s: %s", src, out)
	return exe
}

// run runs exe with a deadline, so that a hang fails the test.
func run(t *testing.T, env []string, exe string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v: %s", filepath.Base(exe), args, out)
	return string(out)
}

// TestCProgram builds libgoloss.so, compiles testdata/abi_check.c against the
// public header only and runs it, as Go tests its own c-shared mode.
func TestCProgram(t *testing.T) {
	lib := library(t, "")
	dir := filepath.Dir(lib)
	exe := compileC(t, "abi_check.c", "-L"+dir, "-lgoloss", "-Wl,-rpath,"+dir, "-lm")
	assert.Equal(t, "PASS\n", run(t, nil, exe))
}

// TestPanicReachesC: a panic inside the core reaches C as
// GOLOSS_ERR_INTERNAL with a message, and the process goes on: the next call
// works. The panic is provoked by the test hook, which only a library built
// with the goloss_testhooks tag has.
func TestPanicReachesC(t *testing.T) {
	lib := library(t, "goloss_testhooks")
	dir := filepath.Dir(lib)
	exe := compileC(t, "abi_check.c", "-L"+dir, "-lgoloss", "-Wl,-rpath,"+dir, "-lm")
	assert.Equal(t, "PASS\n", run(t, []string{"GOLOSS_TEST_PANICS=1"}, exe, "panic"))
}

// TestShippedLibraryHasNoTestHooks: no environment can make the calls of
// the shipped library fail, because its hook is not even compiled in; the
// hooked build shows that the scan would find it.
func TestShippedLibraryHasNoTestHooks(t *testing.T) {
	const hook = "GOLOSS_TEST_PANICS"
	shipped, err := os.ReadFile(library(t, ""))
	require.NoError(t, err)
	assert.False(t, bytes.Contains(shipped, []byte(hook)), "the shipped libgoloss.so contains %s", hook)
	hooked, err := os.ReadFile(library(t, "goloss_testhooks"))
	require.NoError(t, err)
	assert.True(t, bytes.Contains(hooked, []byte(hook)), "the hooked build lacks %s: the scan proves nothing", hook)

	// And the shipped library ignores the variable.
	dir := filepath.Dir(library(t, ""))
	exe := compileC(t, "abi_check.c", "-L"+dir, "-lgoloss", "-Wl,-rpath,"+dir, "-lm")
	assert.Equal(t, "PASS\n", run(t, []string{hook + "=1000"}, exe))
}

// TestFork runs testdata/fork_check.c, which loads the library with dlopen:
// a child forked after the load gets GOLOSS_ERR_PROCESS at once from every
// function (glibc's fork, and a raw fork system call that runs no atfork
// handler), the parent goes on, and a process that loads the library after
// its fork works.
func TestFork(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("fork_check.c uses Linux's clone system call")
	}
	lib := library(t, "")
	exe := compileC(t, "fork_check.c", "-ldl")
	for _, mode := range []string{"before", "after", "raw"} {
		t.Run(mode, func(t *testing.T) {
			assert.Equal(t, "PASS\n", run(t, nil, exe, lib, mode))
		})
	}
}
