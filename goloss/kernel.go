package goloss

import (
	"os"
	"slices"
)

// Kernel names. The generic kernel is the reference loop of each variant in
// portable Go; the others are vector kernels for amd64 built with
// GOEXPERIMENT=simd (and without the noasm build tag).
const (
	KernelGeneric = "generic"
	KernelAVX2    = "avx2"   // 4 float64 lanes, AVX2 + FMA
	KernelAVX512  = "avx512" // 8 float64 lanes, AVX-512 F/CD/BW/DQ/VL
)

// kernelEnv names the environment variable that picks a kernel, read once at
// start-up: "generic", "avx2" or "avx512". A kernel this build or this CPU
// lacks falls back to the best one available below it; empty or unknown
// values give the default.
const kernelEnv = "GOLOSS_KERNEL"

// vectorByDefault says whether the default kernel is the fastest available
// one rather than generic.
const vectorByDefault = true

// activeKernel is the kernel every call uses. Tests switch it with
// useKernel; nothing else writes it after start-up.
var activeKernel = pickKernel(os.Getenv(kernelEnv), availableKernels())

// Kernel reports the kernel in use: "generic", "avx2" or "avx512".
func Kernel() string { return activeKernel }

// Kernels reports every kernel this build can run on this CPU, generic first.
func Kernels() []string { return availableKernels() }

// availableKernels lists generic and the vector kernels of this build that
// this CPU supports, slowest first.
func availableKernels() []string {
	return append([]string{KernelGeneric}, cpuKernels()...)
}

// pickKernel returns the kernel named by want, or the best available one
// ranked below it, or the default when want is empty or unknown. The vector
// kernels agree with the generic one to the SPEC tolerances, not to the
// bit: their sums run in 8 or 4 lanes, so the last bits of a result can
// differ between generic, avx2 and avx512. For one kernel, a row always
// gives the same bits, whatever the number of threads.
func pickKernel(want string, have []string) string {
	order := []string{KernelGeneric, KernelAVX2, KernelAVX512}
	rank := slices.Index(order, want)
	if rank < 0 {
		if !vectorByDefault {
			return KernelGeneric
		}
		return have[len(have)-1] // the default: the fastest kernel available
	}
	for ; rank > 0; rank-- {
		if slices.Contains(have, order[rank]) {
			break
		}
	}
	return order[rank]
}

// seedRowsFast runs the seed variant over every row with the active vector
// kernel and reports whether it did; false leaves the work to the
// reference loop (generic kernel, no vector kernel in this build, or an
// element type that is not exactly float32 or float64).
func seedRowsFast[T Float](loss, grad, labels, preds, weights []T, cols int, k *seedConstants) bool {
	if activeKernel == KernelGeneric {
		return false
	}
	switch l := any(loss).(type) {
	case []float64:
		return seedRowsF64(activeKernel, l, any(grad).([]float64), any(labels).([]float64), any(preds).([]float64), any(weights).([]float64), cols, k)
	case []float32:
		return seedRowsF32(activeKernel, l, any(grad).([]float32), any(labels).([]float32), any(preds).([]float32), any(weights).([]float32), cols, k)
	}
	return false
}

// binaryRowsFast runs the binary variant over every row with the active
// vector kernel and reports whether it did, as seedRowsFast does.
func binaryRowsFast[T Float](loss, grad, labels, preds []T, cols int, k *binaryConstants, logits bool) bool {
	if activeKernel == KernelGeneric {
		return false
	}
	switch l := any(loss).(type) {
	case []float64:
		return binaryRowsF64(activeKernel, l, any(grad).([]float64), any(labels).([]float64), any(preds).([]float64), cols, k, logits)
	case []float32:
		return binaryRowsF32(activeKernel, l, any(grad).([]float32), any(labels).([]float32), any(preds).([]float32), cols, k, logits)
	}
	return false
}

// passesInGo makes the AVX-512 float32 kernels (seed, and binary on
// probabilities) run their loops written with archsimd rather than their
// assembly (seedasm512_amd64.s), which otherwise runs them for integer
// gamma; tests and benchmarks set it to hold both to the same bits and to
// compare their speed. Builds without those kernels ignore it.
var passesInGo = false
