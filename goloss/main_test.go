package goloss

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestMain runs the tests, then says which kernels they ran and which this
// build or CPU lacks, so that a kernel not run is reported, never silently
// counted. GOLOSS_WANT_KERNELS (a comma-separated list, set by make
// test-cpus) makes the run fail unless this process has exactly those
// kernels: under qemu -cpu Haswell, generic and avx2, never avx512.
func TestMain(m *testing.M) {
	// The rows go to at most GOMAXPROCS goroutines: at least 2 Ps, so that
	// the tests of several threads run several on a 1-CPU machine too (the
	// Bochs guest of make test-cpu-avx512). Machines with more CPUs keep
	// their default, and so do the benchmarks' figures.
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	code := m.Run()
	have := Kernels()
	var lacking []string
	for _, k := range []string{KernelGeneric, KernelAVX2, KernelAVX512} {
		if !slices.Contains(have, k) {
			lacking = append(lacking, k)
		}
	}
	why := "this CPU lacks them"
	switch {
	case runtime.GOARCH != "amd64":
		why = "no vector kernels on " + runtime.GOARCH
	case !hasAsm:
		why = "built with the noasm tag"
	}
	fmt.Printf("goloss kernels: ran %s (default %s, %s=%q)", strings.Join(have, ", "), Kernel(), kernelEnv, os.Getenv(kernelEnv))
	if len(lacking) > 0 {
		fmt.Printf("; not run: %s (%s)", strings.Join(lacking, ", "), why)
	}
	fmt.Println()
	if want := os.Getenv("GOLOSS_WANT_KERNELS"); want != "" && want != strings.Join(have, ",") {
		fmt.Printf("FAIL: GOLOSS_WANT_KERNELS=%s, but this process has %v\n", want, have)
		code = 1
	}
	os.Exit(code)
}
