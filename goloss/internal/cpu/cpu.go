// Package cpu reports the x86-64 vector features that goloss's kernels
// need, read once with CPUID and XGETBV: a feature counts only when both
// the CPU has it and the operating system saves its registers. It replaces
// simd/archsimd's feature flags so that goloss builds without
// GOEXPERIMENT.
package cpu

// X86 holds the features of this CPU. On other architectures every field
// is false.
var X86 struct {
	// AVX2 with FMA3, and the OS saving the ymm registers.
	AVX2FMA bool
	// AVX-512 F, CD, BW, DQ and VL, and the OS saving the zmm and mask
	// registers: what goloss's 16-lane kernels use.
	AVX512 bool
	// POPCNT, used by the AVX2 and AVX-512 kernels' mask counts.
	POPCNT bool
}
