//go:build !noasm

package goloss

import (
	"math"

	"github.com/gofocal/gofocal/goloss/internal/avx2"
)

// asymmetric64Consts returns the constants of the AVX2 float64 asymmetric
// kernels (internal/avx2, Asym*F64), laid out as _asmgen's avx2_asym64.go
// reads them: eleven 4-lane float64 vectors (eps, log(eps), m, the ignore
// value or NaN, gamma_neg, gamma_pos - gamma_neg, the bounds of z that
// decide p >= eps, 1 - p >= eps and p >= m from logits
// (asymLogitBounds64), an all-ones mask when m = 0, gamma_pos), then int64
// scalars: m > 0, FocalGrad, the kind of the gammas (0: w = 1, 1: both
// integers, 2: any other) and the integer gammas.
func asymmetric64Consts(k *asymmetricConstants) [49]uint64 {
	var kc [49]uint64
	ignore := math.NaN()
	if k.unknown.set {
		ignore = k.unknown.value
	}
	zEps, zNegEps, zClip := asymLogitBounds64(k)
	clipOff := 0.0
	if k.clip == 0 {
		clipOff = math.Float64frombits(1<<64 - 1)
	}
	for i, v := range []float64{k.eps, k.logEps, k.clip, ignore, k.gammaNeg, k.gammaPos - k.gammaNeg,
		zEps, zNegEps, zClip, clipOff, k.gammaPos} {
		for j := range 4 {
			kc[4*i+j] = math.Float64bits(v)
		}
	}
	if k.clip > 0 {
		kc[44] = 1
	}
	if k.focalGrad {
		kc[45] = 1
	}
	negKind, nNeg := powClass(k.gammaNeg)
	posKind, nPos := powClass(k.gammaPos)
	switch {
	case !k.focal:
	case negKind != powReal && posKind != powReal:
		kc[46] = 1
	default:
		kc[46] = 2
	}
	kc[47], kc[48] = nNeg, nPos
	return kc
}

func asymmetricRowsF64(kernel string, loss, grad, labels, preds, weights []float64, cols int, k *asymmetricConstants) bool {
	if kernel == KernelGeneric {
		return false
	}
	asymmetricRowsF64x4(loss, grad, labels, preds, weights, cols, k) // AVX2 code, on avx512 too
	return true
}

// asymmetricRowsF64x4 runs float64 rows of the asymmetric variant with AVX2
// in 4 float64 lanes, every row and parameter, as asymmetricRowsF32Vec does
// for float32: avx2.AsymProbGradF64, AsymProbLossF64, AsymLogitsGradF64 or
// AsymLogitsLossF64, which follow the reference's steps (see _asmgen's
// avx2_asym64.go for where they depart from them); the lane sums are added
// in lane order here. A row the assembly stops on (a u outside [0, 1] or an
// infinite u^g: inputs outside [0, 1], unchecked) runs the reference loop
// asymmetricRow. Tested against asymmetricRow to the SPEC's float64
// tolerance (TestAsymmetric64KernelsMatchReference).
func asymmetricRowsF64x4(loss, grad, labels, preds, weights []float64, cols int, k *asymmetricConstants) {
	kc := asymmetric64Consts(k)
	cw := weights
	if len(cw) == 0 {
		cw = make([]float64, cols)
		for c := range cw {
			cw[c] = 1
		}
	}
	for b := range loss {
		g, y, x := rowSlice(grad, b, cols), rowSlice(labels, b, cols), rowSlice(preds, b, cols)
		var acc [4]float64
		var bail bool
		switch {
		case k.logits && g != nil:
			bail = avx2.AsymLogitsGradF64(g, y, x, cw, &kc, &acc)
		case k.logits:
			bail = avx2.AsymLogitsLossF64(y, x, cw, &kc, &acc)
		case g != nil:
			bail = avx2.AsymProbGradF64(g, y, x, cw, &kc, &acc)
		default:
			bail = avx2.AsymProbLossF64(y, x, cw, &kc, &acc)
		}
		if bail {
			loss[b] = asymmetricRow(g, y, x, weights, k)
			continue
		}
		loss[b] = -(acc[0] + acc[1] + acc[2] + acc[3])
	}
}
