//go:build goexperiment.simd && !noasm

package goloss

import "simd/archsimd"

//go:generate go run gen_simd.go

// cpuKernels lists the vector kernels this CPU supports, slowest first.
func cpuKernels() []string {
	var ks []string
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		ks = append(ks, KernelAVX2)
	}
	if archsimd.X86.AVX512() {
		ks = append(ks, KernelAVX512)
	}
	return ks
}

// seedVector holds the constants of seedConstants that the vector kernels
// use, with gamma classified once per call.
type seedVector struct {
	seedConstants
	powKind int    // powZero, powInt or powReal
	powInt  uint64 // gamma when powKind is powInt
}

const (
	powZero = iota // gamma = 0: (y-p)^0 = 1
	powInt         // integer gamma >= 1: repeated multiplication, exact sign for y < p
	powReal        // any other gamma: exp(gamma * log(y-p))
)

func newSeedVector(k *seedConstants) seedVector {
	v := seedVector{seedConstants: *k, powKind: powReal}
	switch g := k.gamma; {
	case g == 0:
		v.powKind = powZero
	case g == float64(uint64(g)) && g < 1<<53:
		v.powKind, v.powInt = powInt, uint64(g)
	}
	return v
}

func seedRowsF64(kernel string, loss, grad, labels, preds, weights []float64, cols int, k *seedConstants) bool {
	row := seedRow256F64
	switch kernel {
	case KernelAVX512:
		row = seedRow512F64
	case KernelAVX2:
	default:
		return false
	}
	v := newSeedVector(k)
	for b := range loss {
		lo, hi := b*cols, (b+1)*cols
		var g []float64
		if len(grad) != 0 {
			g = grad[lo:hi]
		}
		loss[b] = row(g, labels[lo:hi], preds[lo:hi], weights, g, &v)
	}
	return true
}

func seedRowsF32(kernel string, loss, grad, labels, preds, weights []float32, cols int, k *seedConstants) bool {
	row := seedRow256F32
	switch kernel {
	case KernelAVX512:
		row = seedRow512F32
	case KernelAVX2:
	default:
		return false
	}
	v := newSeedVector(k)
	var part []float64
	if len(grad) != 0 {
		part = make([]float64, cols)
	}
	for b := range loss {
		lo, hi := b*cols, (b+1)*cols
		var g []float32
		if len(grad) != 0 {
			g = grad[lo:hi]
		}
		loss[b] = float32(row(g, labels[lo:hi], preds[lo:hi], weights, part, &v))
	}
	return true
}
