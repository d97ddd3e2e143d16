package goloss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBinaryKernelsUnknownLabels holds every kernel's float32 binary rows
// with an ignore value to the reference loops binaryProbRow and
// binaryLogitsRow, which know unknown labels: the vector kernels compute in
// float32 lanes, so to SPEC's float32 tolerance (checkSeedLanes32, with
// the terms' magnitudes of the known classes and the row's 1/K), and every
// unknown element's gradient exactly 0, its prediction (NaN for some)
// unused. Rows of every length up to 37 and a few long ones, probabilities
// and logits, zero, integer and real gamma, label smoothing, every kind of
// alpha, ignore values -1, 0, 0.5 and 1 (a tenth of the labels, and rows
// with none known).
func TestBinaryKernelsUnknownLabels(t *testing.T) {
	var lengths []int
	for n := 1; n <= 37; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 100, 1003)
	for _, kernel := range Kernels() {
		t.Run(kernel, func(t *testing.T) {
			useKernel(t, kernel)
			rng := rand.New(rand.NewPCG(31, 31))
			combo := 0
			for _, n := range lengths {
				for _, logits := range []bool{false, true} {
					for _, gamma := range []float64{0, 1, 2, 3, 2.5} {
						for _, ls := range []float64{0, 0.1} {
							for alphaKind := range 3 {
								combo++
								unknown := []float64{-1, 0, 0.5, 1}[combo%4]
								y, x, alpha := binaryRowCase(rng, n, combo%2 == 0, logits)
								for c := range y {
									if combo%7 == 0 || rng.IntN(10) == 0 { // every 7th row: nothing known
										y[c] = unknown
										if rng.IntN(3) == 0 {
											x[c] = math.NaN()
										}
									}
								}
								prm := Binary{Gamma: gamma, LabelSmoothing: ls, FromLogits: logits, NoValidate: true,
									HasIgnore: true, IgnoreValue: unknown}
								switch alphaKind {
								case 1:
									prm.Alpha = []float64{0.25}
								case 2:
									prm.Alpha = alpha
								}
								name := fmt.Sprintf("%s %s ignore=%v", kernel, binaryName(n, prm), unknown)
								checkBinaryUnknownRow32(t, name, y, x, prm)
							}
						}
					}
				}
			}
		})
	}
}

// checkBinaryUnknownRow32 compares one float32 row with an ignore value
// with the float32 reference, as checkBinaryRow32 does (guard values, the
// loss unchanged by the gradient).
func checkBinaryUnknownRow32(t *testing.T, name string, y64, x64 []float64, prm Binary) {
	t.Helper()
	y, x := toF32(y64), toF32(x64)
	n := len(x)
	k := newBinaryConstants[float32](prm, n)
	wantG := make([]float32, n)
	var wantL float32
	if prm.FromLogits {
		wantL = float32(binaryLogitsRow(wantG, y, x, &k))
	} else {
		wantL = float32(binaryProbRow(wantG, y, x, &k))
	}
	// The terms' magnitudes of the known classes alone, with the row's 1/K.
	var ys, xs, alpha []float64
	var at []int
	for c := range y {
		if !k.unknown.is(float64(y[c])) {
			ys, xs, at = append(ys, float64(y[c])), append(xs, float64(x[c])), append(at, c)
			if len(prm.Alpha) > 1 {
				alpha = append(alpha, prm.Alpha[c])
			}
		}
	}
	known := k
	known.scale = binaryRowScale(&k, y)
	if len(prm.Alpha) > 1 {
		known.alpha = alpha
	}
	scaleL, knownScaleG := binaryScale(ys, xs, &known, prm.FromLogits)
	scaleG := make([]float64, n) // 0 where unknown: the gradient must be 0
	for j, c := range at {
		scaleG[c] = knownScaleG[j]
	}

	loss, guarded := make([]float32, 1), make([]float32, n+2)
	guarded[0], guarded[n+1] = 1234.5, 1234.5
	require.NoError(t, BinaryLossGrad(loss, guarded[1:n+1], y, x, n, prm))
	require.Equal(t, float32(1234.5), guarded[0], name)
	require.Equal(t, float32(1234.5), guarded[n+1], name)
	lossOnly := make([]float32, 1)
	require.NoError(t, BinaryLossGrad(lossOnly, nil, y, x, n, prm))
	require.Equal(t, math.Float32bits(loss[0]), math.Float32bits(lossOnly[0]), "%s: the gradient changes the loss", name)
	for c := range y {
		if k.unknown.is(float64(y[c])) && math.Float32bits(guarded[c+1]) != 0 {
			t.Errorf("%s: grad[%d] = %v of an unknown label, want 0", name, c, guarded[c+1])
		}
	}
	checkSeedLanes32(t, name, y, x, wantL, wantG, loss[0], guarded[1:n+1], scaleL, scaleG)
}

// TestBinaryUnknownRowsTheAssemblyStopsOn holds rows with an ignore value
// and a known element whose u^gamma overflows float32 (a label of 1e30,
// validation off), on which the float32 vector rows stop, to the
// reference loops on every kernel: those rows go to binaryRowPortableAny;
// and, alike, rows with a NaN or infinite input of a known element.
func TestBinaryUnknownRowsTheAssemblyStopsOn(t *testing.T) {
	for _, kernel := range Kernels() {
		useKernel(t, kernel)
		rng := rand.New(rand.NewPCG(41, 41))
		for _, n := range []int{5, 16, 37} {
			for _, logits := range []bool{false, true} {
				for _, special := range []float64{1e30, -1e30, math.NaN(), math.Inf(1), math.Inf(-1)} {
					for _, gamma := range []float64{2, 2.5} {
						y, x, _ := binaryRowCase(rng, n, false, logits)
						for c := range y {
							if c%4 == 1 {
								y[c] = -1
							}
						}
						at := 2 + rng.IntN(n-2)/4*4 // a known element
						if math.Abs(special) == 1e30 {
							y[at] = special
						} else {
							x[at] = special
						}
						prm := Binary{Gamma: gamma, Alpha: []float64{0.25}, FromLogits: logits, NoValidate: true,
							HasIgnore: true, IgnoreValue: -1}
						checkBinaryUnknownRow32(t, fmt.Sprintf("%s %s, %v at %d", kernel, binaryName(n, prm), special, at), y, x, prm)
					}
				}
			}
		}
	}
}
