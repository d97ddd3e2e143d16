//go:build !noasm

package goloss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gofocal/gofocal/goloss/internal/cpu"
)

// TestBinary64KernelsMatchReference holds the AVX2 float64 binary kernels
// (binaryRowsF64x4: avx2.BinaryProbGradF64, BinaryProbLossF64,
// BinaryLogitsGradF64, BinaryLogitsLossF64), called directly, to the
// reference loops binaryProbRow and binaryLogitsRow: loss and gradient to
// 1e-12 relative, with an absolute floor of 1e-12 times the magnitudes of
// the terms that make up each value (binaryScale), NaN where the reference
// gives NaN and the same infinity where it gives one. Rows of every length
// 1..40 and 1000, 1003, three rows per call, probabilities and logits,
// gamma 0, 1, 2, 3 (integer paths), 2.5 and 0.5 (exp(gamma*log u), with its
// slow path for u = 0, subnormal or huge u, and its underflow branch), label
// smoothing 0 and 0.1, alpha none, one and per class; the edge inputs of
// binaryRowCase plus NaN and infinite inputs, probabilities outside [0, 1],
// logits of ±1000 and ±1e-30, subnormals and soft labels outside [0, 1].
// Guard values around the gradient and the losses must stay, the inputs
// must stay untouched, and the loss without the gradient must have the
// same bits as with it.
func TestBinary64KernelsMatchReference(t *testing.T) {
	if !cpu.X86.AVX2FMA {
		t.Skip("this CPU lacks AVX2 and FMA")
	}
	var lengths []int
	for n := 1; n <= 40; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 1000, 1003)
	probSpecials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), -0.5, 1.5, 1e300, -1e300,
		0, 1, 5e-324, 1e-310, 1e-30, math.Copysign(0, -1), 1e-7, 1 - 1e-7}
	logitSpecials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1000, -1000, 1e-30, -1e-30,
		708.5, -708.5, 745, -745, 5e-324, -5e-324, 0}
	labelSpecials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), -0.5, 1.5, 1e300, 0.3, 1e-300}
	rng := rand.New(rand.NewPCG(64, 64))
	const rows = 3
	var worst float64
	checked := 0
	for _, n := range lengths {
		for _, logits := range []bool{false, true} {
			for _, gamma := range []float64{0, 1, 2, 3, 2.5, 0.5, 7, 40.5} {
				for _, ls := range []float64{0, 0.1} {
					for alphaKind := range 3 {
						for _, special := range []bool{false, true} {
							y := make([]float64, 0, rows*n)
							x := make([]float64, 0, rows*n)
							var alpha []float64
							for b := range rows {
								ry, rx, ra := binaryRowCase(rng, n, b != 0, logits)
								y, x = append(y, ry...), append(x, rx...)
								alpha = ra
							}
							if special {
								specials := probSpecials
								if logits {
									specials = logitSpecials
								}
								for range 1 + rows*n/8 {
									if i := rng.IntN(rows * n); rng.IntN(3) == 0 {
										y[i] = labelSpecials[rng.IntN(len(labelSpecials))]
									} else {
										x[i] = specials[rng.IntN(len(specials))]
									}
								}
							}
							prm := Binary{Gamma: gamma, LabelSmoothing: ls, FromLogits: logits}
							switch alphaKind {
							case 1:
								prm.Alpha = []float64{0.25}
							case 2:
								prm.Alpha = alpha
							}
							name := fmt.Sprintf("%s special=%v", binaryName(n, prm), special)
							worst = max(worst, checkBinary64(t, name, y, x, n, prm))
							checked++
						}
					}
				}
			}
		}
	}
	t.Logf("%d cases: worst error %.3g of the terms' magnitude", checked, worst)
}

// checkBinary64 runs binaryRowsF64x4 over the rows of y and x (cols
// classes) with and without the gradient and compares them with the
// reference rows, returning the worst error relative to the terms'
// magnitude (beyond the subnormal floor of binary64Close).
func checkBinary64(t *testing.T, name string, y, x []float64, cols int, prm Binary) float64 {
	t.Helper()
	rows := len(x) / cols
	k := binaryConstants{
		gamma: prm.Gamma, keep: 1 - prm.LabelSmoothing, half: 0.5 * prm.LabelSmoothing,
		eps: 1e-7, epsHi: 1 - 1e-7, alpha: prm.Alpha, scale: 1 / float64(cols),
	}
	const guard = 1234.5
	y0, x0 := slices.Clone(y), slices.Clone(x)
	loss, grad := make([]float64, rows+2), make([]float64, rows*cols+2)
	loss[0], loss[rows+1], grad[0], grad[rows*cols+1] = guard, guard, guard, guard
	if !binaryRowsF64x4(loss[1:rows+1], grad[1:rows*cols+1], y, x, cols, &k, prm.FromLogits) {
		t.Fatalf("%s: binaryRowsF64x4 declined the rows", name)
	}
	lossOnly := make([]float64, rows)
	binaryRowsF64x4(lossOnly, nil, y, x, cols, &k, prm.FromLogits)
	if loss[0] != guard || loss[rows+1] != guard || grad[0] != guard || grad[rows*cols+1] != guard {
		t.Fatalf("%s: guard values overwritten", name)
	}
	if !slices.Equal(toBits(y0), toBits(y)) || !slices.Equal(toBits(x0), toBits(x)) {
		t.Fatalf("%s: inputs modified", name)
	}

	worst := 0.0
	for b := range rows {
		ry, rx := y[b*cols:(b+1)*cols], x[b*cols:(b+1)*cols]
		wantG := make([]float64, cols)
		var wantL float64
		if prm.FromLogits {
			wantL = binaryLogitsRow(wantG, ry, rx, &k)
		} else {
			wantL = binaryProbRow(wantG, ry, rx, &k)
		}
		scaleL, scaleG := binaryScale(ry, rx, &k, prm.FromLogits)
		gotL, gotG := loss[1+b], grad[1+b*cols:1+(b+1)*cols]
		if math.Float64bits(gotL) != math.Float64bits(lossOnly[b]) {
			t.Errorf("%s row %d: loss %v with the gradient, %v without", name, b, gotL, lossOnly[b])
		}
		if !binary64Close(wantL, gotL, binary64Rtol*scaleL) {
			t.Errorf("%s row %d: loss %v, want %v", name, b, gotL, wantL)
		} else if d := math.Abs(gotL - wantL); d > 4*0x1p-1074 && !math.IsInf(d, 0) {
			worst = max(worst, d/(math.Abs(wantL)+scaleL))
		}
		for c := range wantG {
			if !binary64Close(wantG[c], gotG[c], binary64Rtol*scaleG[c]) {
				t.Errorf("%s row %d: grad[%d] = %v, want %v (y %v, x %v)", name, b, c, gotG[c], wantG[c], ry[c], rx[c])
				return worst
			}
			if d := math.Abs(gotG[c] - wantG[c]); d > 4*0x1p-1074 && !math.IsInf(d, 0) {
				worst = max(worst, d/(math.Abs(wantG[c])+scaleG[c]))
			}
		}
	}
	return worst
}

// binary64Rtol is the SPEC's float64 tolerance.
const binary64Rtol = 1e-12

// binary64Close is closeTo with binary64Rtol and the absolute floor atol
// plus 4 subnormal units (a result below 2^-1022 carries fewer digits than
// 1e-12 of itself: its last rounding is absolute), taking equal values as
// close even where the floor is not a number (the magnitudes of terms such
// as 0 * Inf).
func binary64Close(want, got, atol float64) bool {
	return got == want || closeTo(want, got, binary64Rtol, atol+4*0x1p-1074)
}

// TestBinary64SubnormalBase checks u^gamma and its derivative for
// subnormal u and small non-integer gamma, where u^gamma and
// gamma*u^(gamma-1) are normal numbers: probabilities x below the clip
// bound with label 0, so that u = x, bce = -log(1 - eps) and the gradient is
// dpow*bce. The reference loops cannot be the judge there: math.Pow's
// fractional part takes math.Log of the unnormalised number, which the
// amd64 assembly of math.Log gets wrong for subnormals (golang/go#56600:
// math.Log(1e-310) = -709.09 instead of -713.80). The expected values come
// from math.Pow of the number scaled into the normal range instead.
func TestBinary64SubnormalBase(t *testing.T) {
	if !cpu.X86.AVX2FMA {
		t.Skip("this CPU lacks AVX2 and FMA")
	}
	pow := func(u, g float64) float64 { return math.Pow(u*0x1p54, g) * math.Exp2(-54*g) }
	for _, gamma := range []float64{0.01, 0.3, 0.7, 0.99} {
		for _, x := range []float64{1e-310, 1e-320, 5e-324, 3e-308} {
			k := binaryConstants{gamma: gamma, keep: 1, eps: 1e-7, epsHi: 1 - 1e-7, scale: 1}
			bce := -math.Log(1 - 1e-7)
			p := pow(x, gamma)
			dp := gamma * p / x
			if p < 0x1p-1022 {
				dp = gamma * pow(x, gamma-1)
			}
			wantL, wantG := p*bce, dp*bce
			loss, grad := make([]float64, 1), make([]float64, 1)
			binaryRowsF64x4(loss, grad, []float64{0}, []float64{x}, 1, &k, false)
			name := fmt.Sprintf("gamma=%v x=%v", gamma, x)
			if !binary64Close(wantL, loss[0], 0) {
				t.Errorf("%s: loss %v, want %v", name, loss[0], wantL)
			}
			if !binary64Close(wantG, grad[0], 0) {
				t.Errorf("%s: grad %v, want %v", name, grad[0], wantG)
			}
			refG := make([]float64, 1)
			if refL := binaryProbRow(refG, []float64{0}, []float64{x}, &k); !binary64Close(refL, loss[0], 0) || !binary64Close(refG[0], grad[0], 0) {
				t.Logf("%s: the reference loop gives loss %v, grad %v (math.Pow on a subnormal)", name, refL, refG[0])
			}
		}
	}
}
