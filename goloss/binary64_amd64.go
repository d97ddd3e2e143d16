//go:build !noasm

package goloss

import (
	"math"

	"github.com/gofocal/gofocal/goloss/internal/avx2"
)

// binary64Consts holds the constants of the AVX2 float64 binary kernels
// (internal/avx2, Binary*F64): nine 4-lane float64 vectors (keep, half,
// eps, epsHi, gamma, gamma - 1, 1/C, the one alpha and 1 - alpha), then
// int64 scalars: the kind of alpha (alphaNone, alphaOne, alphaPerClass), the
// kind of gamma (powZero, powInt, powReal), and the integer gamma.
type binary64Consts = [40]uint64

func newBinary64Consts(k *binaryConstants) [40]uint64 {
	var kc [40]uint64
	var alpha1 float64
	alphaKind := alphaNone
	switch len(k.alpha) {
	case 0:
	case 1:
		alphaKind, alpha1 = alphaOne, k.alpha[0]
	default:
		alphaKind = alphaPerClass
	}
	for i, v := range []float64{k.keep, k.half, k.eps, k.epsHi, k.gamma, k.gamma - 1, k.scale, alpha1, 1 - alpha1} {
		for j := range 4 {
			kc[4*i+j] = math.Float64bits(v)
		}
	}
	powKind, powN := powClass(k.gamma)
	kc[36], kc[37], kc[38] = uint64(alphaKind), uint64(powKind), powN
	return kc
}

// binaryRowsF64x4 runs float64 binary rows with AVX2 in 4 float64 lanes,
// every row, and reports true: probabilities with avx2.BinaryProbGradF64 or
// BinaryProbLossF64, logits with avx2.BinaryLogitsGradF64 or
// BinaryLogitsLossF64, every gamma, alpha and label smoothing. The
// assembly follows the reference's steps and order (see _asmgen's
// avx2_binary64.go for where it departs from them: its own log, log1p and
// exp, u^gamma by squaring for integer gamma); its lane sums are added in
// lane order here, so a row gives the same bits on every call, with or
// without the gradient. Tested against binaryProbRow and binaryLogitsRow
// to the SPEC's float64 tolerance (TestBinary64KernelsMatchReference,
// TestBinaryKernelsMatchReference, TestBinaryKernelsNonFinite).
func binaryRowsF64x4(loss, grad, labels, preds []float64, cols int, k *binaryConstants, logits bool) bool {
	kc := newBinary64Consts(k)
	var alpha []float64
	if len(k.alpha) > 1 {
		alpha = k.alpha[:cols]
	}
	for b := range loss {
		g, y, x := rowSlice(grad, b, cols), rowSlice(labels, b, cols), rowSlice(preds, b, cols)
		var acc [4]float64
		switch {
		case logits && g != nil:
			avx2.BinaryLogitsGradF64(g, y, x, alpha, &kc, &acc)
		case logits:
			avx2.BinaryLogitsLossF64(y, x, alpha, &kc, &acc)
		case g != nil:
			avx2.BinaryProbGradF64(g, y, x, alpha, &kc, &acc)
		default:
			avx2.BinaryProbLossF64(y, x, alpha, &kc, &acc)
		}
		loss[b] = k.scale * (acc[0] + acc[1] + acc[2] + acc[3])
	}
	return true
}
