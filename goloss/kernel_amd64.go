//go:build goexperiment.simd && !noasm

package goloss

import (
	"math"
	"simd/archsimd"
)

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

	// The logs of the clip bounds, rounded to float32, for the float32
	// kernel: of the focal bound (logLo), and of the bounds of p/S as
	// float64 values.
	logPLo32                   float32
	logRatioLo32, logRatioHi32 float64

	// The constants of the assembly passes (seedAsmConsts).
	asmMasks [14]uint32
	asmMain  [12]uint32
}

const (
	powZero = iota // gamma = 0: (y-p)^0 = 1
	powInt         // integer gamma >= 1: repeated multiplication, exact sign for y < p
	powReal        // any other gamma: exp(gamma * log(y-p))
)

// powClass classifies gamma for the vector kernels.
func powClass(g float64) (kind int, n uint64) {
	switch {
	case g == 0:
		return powZero, 0
	case g == float64(uint64(g)) && g < 1<<53:
		return powInt, uint64(g)
	}
	return powReal, 0
}

func newSeedVector(k *seedConstants) seedVector {
	v := seedVector{seedConstants: *k}
	v.powKind, v.powInt = powClass(k.gamma)
	v.logPLo32 = float32(math.Log(k.logLo))
	v.logRatioLo32 = float64(float32(math.Log(k.ratioLo)))
	v.logRatioHi32 = float64(float32(math.Log(k.ratioHi)))
	seedAsmConsts(&v)
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

// seedRowsF32 runs float32 rows: with AVX-512 on 16 float32 lanes
// (seedRow512F32x16); with AVX2 on 8 float32 lanes for integer gamma
// (seedRowFast256F32x8), else on 4 float64 lanes (seedRow256F32, the
// float64 kernel with float32 loads and stores).
func seedRowsF32(kernel string, loss, grad, labels, preds, weights []float32, cols int, k *seedConstants) bool {
	switch kernel {
	case KernelAVX512:
		v := newSeedVector(k)
		masks := make([]uint16, (cols+lanes512x16-1)/lanes512x16)
		for b := range loss {
			lo, hi := b*cols, (b+1)*cols
			var g []float32
			if len(grad) != 0 {
				g = grad[lo:hi]
			}
			loss[b] = float32(seedRow512F32x16(g, labels[lo:hi], preds[lo:hi], weights, masks, &v))
		}
		return true
	case KernelAVX2:
	default:
		return false
	}
	// AVX2: rows with a finite, not tiny sum and integer gamma take the
	// 8-lane float32 kernel (seedRowFast256F32x8); the others the float64
	// lanes of seedRow256F32.
	v := newSeedVector(k)
	var part []float64
	if len(grad) != 0 {
		part = make([]float64, cols)
	}
	masks := make([]uint8, (cols+7)/8)
	for b := range loss {
		lo, hi := b*cols, (b+1)*cols
		var g []float32
		if len(grad) != 0 {
			g = grad[lo:hi]
		}
		if v.powKind != powReal {
			if sum := seedSumF32AVX2(preds[lo:hi]); fastRow(sum) {
				loss[b] = float32(seedRowFast256F32x8(g, labels[lo:hi], preds[lo:hi], weights, masks, &v, sum))
				continue
			}
		}
		loss[b] = float32(seedRow256F32(g, labels[lo:hi], preds[lo:hi], weights, part, &v))
	}
	return true
}

// binaryVector holds the constants of binaryConstants that the vector
// kernels use, with gamma and alpha classified once per call.
type binaryVector struct {
	binaryConstants
	logits    bool
	powKind   int     // powZero, powInt or powReal
	powInt    uint64  // gamma when powKind is powInt
	alphaKind int     // alphaNone, alphaOne or alphaPerClass
	alpha1    float64 // the one alpha when alphaKind is alphaOne

	asmConsts [18]uint32 // the constants of the assembly loops (binaryAsmConsts)
}

const (
	alphaNone     = iota // no class balancing: a = 1
	alphaOne             // one alpha for every class
	alphaPerClass        // one alpha per class
)

func newBinaryVector(k *binaryConstants, logits bool) binaryVector {
	v := binaryVector{binaryConstants: *k, logits: logits}
	v.powKind, v.powInt = powClass(k.gamma)
	switch len(k.alpha) {
	case 0:
		v.alphaKind = alphaNone
	case 1:
		v.alphaKind, v.alpha1 = alphaOne, k.alpha[0]
	default:
		v.alphaKind = alphaPerClass
	}
	binaryAsmConsts(&v)
	return v
}

func binaryRowsF64(kernel string, loss, grad, labels, preds []float64, cols int, k *binaryConstants, logits bool) bool {
	row := binaryRow256F64
	switch kernel {
	case KernelAVX512:
		row = binaryRow512F64
	case KernelAVX2:
	default:
		return false
	}
	v := newBinaryVector(k, logits)
	for b := range loss {
		lo, hi := b*cols, (b+1)*cols
		var g []float64
		if len(grad) != 0 {
			g = grad[lo:hi]
		}
		loss[b] = row(g, labels[lo:hi], preds[lo:hi], &v)
	}
	return true
}

// binaryRowsF32 runs float32 rows: with AVX-512, probabilities on 16
// float32 lanes (binaryRow512F32x16), and logits too for integer gamma
// (binaryLogitsRow512F32x16); with AVX2, probabilities on 8 float32 lanes
// for integer gamma (binaryRowsF32x8); everything else on float64 lanes
// (binaryRow512F32 and binaryRow256F32, the float64 kernels with float32
// loads and stores).
func binaryRowsF32(kernel string, loss, grad, labels, preds []float32, cols int, k *binaryConstants, logits bool) bool {
	row := binaryRow256F32
	v := newBinaryVector(k, logits)
	switch kernel {
	case KernelAVX512:
		if !logits || v.powKind != powReal {
			alpha, alphaNegs := binaryAlphas32(&v, k, cols)
			for b := range loss {
				lo, hi := b*cols, (b+1)*cols
				var g []float32
				if len(grad) != 0 {
					g = grad[lo:hi]
				}
				if logits {
					loss[b] = float32(binaryLogitsRow512F32x16(g, labels[lo:hi], preds[lo:hi], alpha, alphaNegs, &v))
				} else {
					loss[b] = float32(binaryRow512F32x16(g, labels[lo:hi], preds[lo:hi], alpha, alphaNegs, &v))
				}
			}
			return true
		}
		row = binaryRow512F32
	case KernelAVX2:
	default:
		return false
	}
	if kernel == KernelAVX2 && !logits && v.powKind != powReal {
		binaryRowsF32x8(loss, grad, labels, preds, cols, k, &v)
		return true
	}
	for b := range loss {
		lo, hi := b*cols, (b+1)*cols
		var g []float32
		if len(grad) != 0 {
			g = grad[lo:hi]
		}
		loss[b] = float32(row(g, labels[lo:hi], preds[lo:hi], &v))
	}
	return true
}

// binaryRowsF32x8 runs float32 probabilities with AVX2 and integer gamma in
// 8 float32 lanes, in assembly (binaryProbGradF32AVX2); a row where u^gamma
// overflows in float64 lanes (binaryRow256F32).
func binaryRowsF32x8(loss, grad, labels, preds []float32, cols int, k *binaryConstants, v *binaryVector) {
	alpha, alphaNegs := binaryAlphas32(v, k, cols)
	for b := range loss {
		lo, hi := b*cols, (b+1)*cols
		var g []float32
		if len(grad) != 0 {
			g = grad[lo:hi]
		}
		var acc [8]float64
		var bail bool
		if g != nil {
			bail = binaryProbGradF32AVX2(g, labels[lo:hi], preds[lo:hi], alpha, alphaNegs, &v.asmConsts, &acc)
		} else {
			bail = binaryProbLossF32AVX2(labels[lo:hi], preds[lo:hi], alpha, alphaNegs, &v.asmConsts, &acc)
		}
		if bail {
			loss[b] = float32(binaryRow256F32(g, labels[lo:hi], preds[lo:hi], v))
			continue
		}
		loss[b] = float32(v.scale * pairSum(acc[0:4], acc[4:8]))
	}
}

// binaryAlphas32 returns the per-class alpha[c] and 1 - alpha[c] of the
// float32-lane kernels, each rounded to float32 from float64 (so that
// 1 - alpha keeps its digits for alpha near 1), or nil without per-class
// alpha.
func binaryAlphas32(v *binaryVector, k *binaryConstants, cols int) (alpha, alphaNegs []float32) {
	if v.alphaKind != alphaPerClass {
		return nil, nil
	}
	alpha, alphaNegs = make([]float32, cols), make([]float32, cols)
	for c, a := range k.alpha {
		alpha[c], alphaNegs[c] = float32(a), float32(1-a)
	}
	return alpha, alphaNegs
}
