package capi

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCProgram builds libgoloss.so, compiles testdata/abi_check.c against the
// public header only and runs it, as Go tests its own c-shared mode.
func TestCProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the shared library")
	}
	dir := t.TempDir()
	_, file, _, _ := runtime.Caller(0)
	here := filepath.Dir(file)

	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", filepath.Join(dir, "libgoloss.so"), "..")
	build.Dir = here
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build -buildmode=c-shared: %s", out)

	exe := filepath.Join(dir, "abi_check")
	cc := exec.Command("gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", exe,
		filepath.Join(here, "testdata", "abi_check.c"),
		"-I"+filepath.Join(here, "..", "include"),
		"-L"+dir, "-lgoloss", "-Wl,-rpath,"+dir, "-lm")
	out, err = cc.CombinedOutput()
	require.NoError(t, err, "gcc: %s", out)

	out, err = exec.Command(exe).CombinedOutput()
	require.NoError(t, err, "abi_check: %s", out)
	assert.Equal(t, "PASS\n", string(out))

	// A panic inside the core reaches C as GOLOSS_ERR_INTERNAL with a message,
	// and the process goes on: the next call works.
	panics := exec.Command(exe, "panic")
	panics.Env = append(panics.Environ(), "GOLOSS_TEST_PANICS=1")
	out, err = panics.CombinedOutput()
	require.NoError(t, err, "abi_check panic: %s", out)
	assert.Equal(t, "PASS\n", string(out))
}
