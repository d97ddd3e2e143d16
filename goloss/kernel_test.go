package goloss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// useKernel switches every call to the named kernel until the test ends.
func useKernel(t testing.TB, name string) {
	old := activeKernel
	activeKernel = name
	t.Cleanup(func() { activeKernel = old })
}

// vectorKernels lists the vector kernels this build and CPU can run.
func vectorKernels() []string { return Kernels()[1:] }

func TestKernelSelection(t *testing.T) {
	t.Logf("active kernel %q of %v (%s=%q)", Kernel(), Kernels(), kernelEnv, os.Getenv(kernelEnv))
	have := []string{KernelGeneric, KernelAVX2}
	assert.Equal(t, KernelGeneric, pickKernel("generic", have))
	assert.Equal(t, KernelAVX2, pickKernel("avx2", have))
	assert.Equal(t, KernelAVX2, pickKernel("avx512", have), "falls back to the best below")
	assert.Equal(t, KernelGeneric, pickKernel("avx512", []string{KernelGeneric}))
	assert.Equal(t, KernelAVX2, pickKernel("", have), "the default: the fastest")
}

// seedRowCase draws one row of n classes with the hard values mixed in:
// exact 0 and 1, values at and just around both clip bounds, y = p, soft
// labels above and (rarely) below their predictions.
func seedRowCase(rng *rand.Rand, n int, hard bool) (y, p, w []float64) {
	y, p, w = make([]float64, n), make([]float64, n), make([]float64, n)
	for c := range p {
		p[c] = rng.Float64()
		w[c] = 0.1 + rng.Float64()
		if hard {
			switch rng.IntN(16) {
			case 0:
				p[c] = 0
			case 1:
				p[c] = 1
			case 2:
				p[c] = 1e-8
			case 3:
				p[c] = float64(float32(1e-8))
			case 4:
				p[c] = 1e-9
			case 5:
				p[c] = math.Nextafter(1e-8, 0)
			case 6:
				p[c] = 1e-7 * rng.Float64()
			}
		}
		switch r := rng.Float64(); {
		case r < 0.15:
			y[c] = p[c] + (1-p[c])*rng.Float64()
		case r < 0.2 && hard:
			y[c] = p[c]
		case r < 0.6:
			y[c] = 1
		}
	}
	return y, p, w
}

// seedScale returns, per gradient element and for the loss, the sum of the
// magnitudes of the terms that make it up: a float64 evaluation is accurate
// to a few ulp of these, not of a result that cancels.
func seedScale(y, p, w []float64, k *seedConstants) (loss float64, grad []float64) {
	var sum float64
	for _, v := range p {
		sum += math.Abs(v)
	}
	grad = make([]float64, len(p))
	for c := range p {
		lp := math.Abs(math.Log(clip(p[c], k.logLo, 1)))
		q := math.Abs(math.Log(clip(p[c]/sum, k.ratioLo, k.ratioHi)))
		loss += k.smoothW * q
		grad[c] = k.smoothW * float64(len(p)) / sum
		if p[c] > 0 {
			grad[c] += k.smoothW / p[c]
		}
		if y[c] > 0 {
			d := math.Abs(y[c] - p[c])
			pw := math.Pow(d, k.gamma)
			loss += k.focalScale * w[c] * pw * lp
			// gamma * d^(gamma-1) * log: at d = 0 its limit, 0, except
			// for gamma = 1, where it is log(clip p).
			if d != 0 && k.gamma != 0 || k.gamma == 1 {
				grad[c] += k.focalScale * w[c] * k.gamma * math.Pow(d, k.gamma-1) * lp
			}
			if p[c] >= k.logLo {
				grad[c] += k.focalScale * w[c] * pw / p[c]
			}
		}
	}
	return loss, grad
}

// closeTo reports whether got agrees with want: the same NaN and Inf, else
// within rtol of |want| plus atol.
func closeTo(want, got, rtol, atol float64) bool {
	switch {
	case math.IsNaN(want):
		return math.IsNaN(got)
	case math.IsInf(want, 0):
		return got == want
	}
	return math.Abs(got-want) <= rtol*math.Abs(want)+atol
}

// TestSeedKernelsMatchReference holds every vector kernel to the reference
// loop seedRow, for float64 (1e-12 of the terms' magnitudes) and float32
// (2 ulp of the result, since both round a float64 result once; for the
// AVX-512 kernel, which computes in float32 lanes, the SPEC's float32
// tolerance: see checkSeedLanes32), on rows of every length up to 72 and a
// spread of lengths up to 2100.
func TestSeedKernelsMatchReference(t *testing.T) {
	if len(vectorKernels()) == 0 {
		t.Skip("no vector kernel in this build or on this CPU")
	}
	var lengths []int
	for n := 1; n <= 72; n++ {
		lengths = append(lengths, n)
	}
	for n := 73; n <= 2100; n += 61 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 1000, 1024, 2000, 2047, 2048, 2049, 2100)
	gammas := []float64{0, 0.5, 1, 2, 3, 3.7}
	es := []float64{0, 0.1, 1}
	for _, kernel := range vectorKernels() {
		t.Run(kernel, func(t *testing.T) {
			useKernel(t, kernel)
			rng := rand.New(rand.NewPCG(5, 5))
			var worst64, worst32, worstLanes float64
			for li, n := range lengths {
				for gi, gamma := range gammas {
					for ei, e := range es {
						if n > 72 && (li+gi+ei)%4 != 0 {
							continue // a quarter of the grid for long rows
						}
						y, p, w := seedRowCase(rng, n, (li+gi)%2 == 0)
						name := fmt.Sprintf("n=%d gamma=%v e=%v", n, gamma, e)
						prm := Seed{Gamma: gamma, E: e}
						worst64 = max(worst64, checkSeedRow64(t, name, y, p, w, prm))
						if seedLanes32(prm) {
							worstLanes = max(worstLanes, checkSeedRow32(t, name, y, p, w, prm))
						} else {
							worst32 = max(worst32, checkSeedRow32(t, name, y, p, w, prm))
						}
					}
				}
			}
			// Rows where one p holds nearly all of S, so that its p/S lies
			// above the upper clip bound 1 - 1e-7 (or within its band),
			// the others below the lower one or not: the masks pass decides
			// them, never the shortcut for rows lying wholly inside.
			for _, n := range []int{1, 2, 7, 8, 9, 16, 17, 33, 100, 1000} {
				for at := range min(n, 9) {
					y, p, w := seedRowCase(rng, n, false)
					for c := range p {
						p[c] = [...]float64{1e-12, 1e-9, 2e-8, 1e-6}[(c+at)%4] * rng.Float64()
					}
					p[at*(n-1)/8] = [...]float64{1, 0.5, 0.999}[at%3]
					for _, prm := range []Seed{{Gamma: 2, E: 0.1}, {Gamma: 3.7, E: 1}} {
						name := fmt.Sprintf("dominated n=%d at=%d gamma=%v", n, at, prm.Gamma)
						worst64 = max(worst64, checkSeedRow64(t, name, y, p, w, prm))
						if seedLanes32(prm) {
							worstLanes = max(worstLanes, checkSeedRow32(t, name, y, p, w, prm))
						} else {
							worst32 = max(worst32, checkSeedRow32(t, name, y, p, w, prm))
						}
					}
				}
			}
			t.Logf("%s: worst float64 error %.3g of the terms' magnitude; worst float32 error %.3g ulp-relative (float64 lanes), %.3g of the terms' magnitude (float32 lanes)", kernel, worst64, worst32, worstLanes)
		})
	}
}

// checkSeedRow64 compares one float64 row with the reference and returns the
// largest error relative to the terms' magnitude.
func checkSeedRow64(t *testing.T, name string, y, p, w []float64, prm Seed) float64 {
	t.Helper()
	n := len(p)
	prm.NoValidate = true
	k := seedConsts[float64](prm, n)
	wantG := make([]float64, n)
	wantL := seedRow(wantG, y, p, w, &k)
	scaleL, scaleG := seedScale(y, p, w, &k)

	loss, grad := make([]float64, 1), make([]float64, n+2)
	grad[0], grad[n+1] = 1234.5, 1234.5
	require.NoError(t, SeedLossGrad(loss, grad[1:n+1], y, p, w, n, prm))
	require.Equal(t, 1234.5, grad[0], name)
	require.Equal(t, 1234.5, grad[n+1], name)
	lossOnly := make([]float64, 1)
	require.NoError(t, SeedLossGrad(lossOnly, nil, y, p, w, n, prm))
	require.Equal(t, math.Float64bits(loss[0]), math.Float64bits(lossOnly[0]), "%s: the gradient changes the loss", name)

	const rtol = 1e-12
	worst := 0.0
	if !closeTo(wantL, loss[0], rtol, rtol*scaleL) {
		t.Errorf("%s: loss %v, want %v", name, loss[0], wantL)
	} else if d := math.Abs(loss[0] - wantL); d > 0 {
		worst = d / (math.Abs(wantL) + scaleL)
	}
	for c := range wantG {
		got := grad[c+1]
		if !closeTo(wantG[c], got, rtol, rtol*scaleG[c]) {
			t.Errorf("%s: grad[%d] = %v, want %v (y %v, p %v)", name, c, got, wantG[c], y[c], p[c])
			return worst
		}
		if d := math.Abs(got - wantG[c]); d > 0 && !math.IsInf(d, 0) {
			worst = max(worst, d/(math.Abs(wantG[c])+scaleG[c]))
		}
	}
	return worst
}

// checkSeedRow32 compares one float32 row with the reference.
func checkSeedRow32(t *testing.T, name string, y64, p64, w64 []float64, prm Seed) float64 {
	t.Helper()
	y, p, w := toF32(y64), toF32(p64), toF32(w64)
	n := len(p)
	prm.NoValidate = true
	k := seedConsts[float32](prm, n)
	wantG := make([]float32, n)
	wantL := float32(seedRow(wantG, y, p, w, &k))
	k64 := k
	scaleL, scaleG := seedScale(toF64(y), toF64(p), toF64(w), &k64)

	// Guard values on both sides of the gradient: no kernel writes outside it.
	loss, guarded := make([]float32, 1), make([]float32, n+2)
	guarded[0], guarded[n+1] = 1234.5, 1234.5
	grad := guarded[1 : n+1]
	require.NoError(t, SeedLossGrad(loss, grad, y, p, w, n, prm))
	require.Equal(t, float32(1234.5), guarded[0], name)
	require.Equal(t, float32(1234.5), guarded[n+1], name)
	lossOnly := make([]float32, 1)
	require.NoError(t, SeedLossGrad(lossOnly, nil, y, p, w, n, prm))
	require.Equal(t, math.Float32bits(loss[0]), math.Float32bits(lossOnly[0]), "%s: the gradient changes the loss", name)

	if seedLanes32(prm) {
		return checkSeedLanes32(t, name, y, p, wantL, wantG, loss[0], grad, scaleL, scaleG)
	}
	const rtol = 2.5e-7 // 2 ulp
	worst := 0.0
	if !closeTo(float64(wantL), float64(loss[0]), rtol, 1e-12*scaleL) {
		t.Errorf("%s: float32 loss %v, want %v", name, loss[0], wantL)
	}
	for c := range wantG {
		if !closeTo(float64(wantG[c]), float64(grad[c]), rtol, 1e-12*scaleG[c]) {
			t.Errorf("%s: float32 grad[%d] = %v, want %v (y %v, p %v)", name, c, grad[c], wantG[c], y[c], p[c])
			return worst
		}
		if d := math.Abs(float64(grad[c]) - float64(wantG[c])); d > 0 && !math.IsInf(d, 0) {
			worst = max(worst, d/math.Abs(float64(wantG[c]))/0x1p-23)
		}
	}
	return worst
}

// checkSeedLanes32 holds the float32 vector kernels, which compute in
// float32 lanes as TensorFlow's float32 composite does (seedRowFast8,
// seedRowFast16), to the SPEC's float32 tolerance rather than to 2 ulp of the float64
// reference: the loss within 1e-5 relative or 1e-6 absolute, each gradient
// element within 1e-5 of the sum of the magnitudes of its terms (seedScale),
// NaN and Inf where the reference has them. It returns the largest gradient
// error relative to those magnitudes.
func checkSeedLanes32(t *testing.T, name string, y, p []float32, wantL float32, wantG []float32, gotL float32, grad []float32, scaleL float64, scaleG []float64) float64 {
	t.Helper()
	const rtol, atol = 1e-5, 1e-6
	if !closeTo(float64(wantL), float64(gotL), rtol, atol) {
		t.Errorf("%s: float32 loss %v, want %v (terms' magnitude %v)", name, gotL, wantL, scaleL)
	}
	worst := 0.0
	for c := range wantG {
		want, got := float64(wantG[c]), float64(grad[c])
		// Plus 8 steps of float32's subnormals: a gradient below 2^-126
		// has fewer digits than the relative tolerance asks for (SPEC
		// allows 1e-6 absolute).
		if !closeTo(want, got, 0, rtol*scaleG[c]+0x1p-146) {
			t.Errorf("%s: float32 grad[%d] = %v, want %v, terms' magnitude %v (y %v, p %v)", name, c, got, want, scaleG[c], y[c], p[c])
			return worst
		}
		if d := math.Abs(got - want); d > 0 && !math.IsInf(d, 0) {
			worst = max(worst, d/scaleG[c])
		}
	}
	return worst
}

// TestSeedKernelsClipBound checks rows whose p/S lies at a clip bound of
// the smoothing term only in float32: for [1e-8, 0.5, 5e-9, 0, ...] the
// float64 S is 0.50000005, which rounds to 0.50000006 in float32, and the
// float32 0.5/S is then exactly float32(1 - 1e-7), inside the clip, while
// the float64 p/S is above it. Every kernel must decide as the reference.
func TestSeedKernelsClipBound(t *testing.T) {
	rows := [][]float64{
		{1e-8, 0.5, 5e-9, 0, 1.8489914266070626e-08, 1.0499832203456976e-08, 9.99999993922529e-09},
		{1, 5e-8, 5e-8},
		{1e-7, 0.9999999, 0},
	}
	for _, kernel := range Kernels() {
		t.Run(kernel, func(t *testing.T) {
			useKernel(t, kernel)
			for i, p := range rows {
				y := make([]float64, len(p))
				w := make([]float64, len(p))
				for c := range y {
					y[c], w[c] = float64(c%2), 1
				}
				for _, e := range []float64{0.1, 1} {
					name := fmt.Sprintf("row %d e=%v", i, e)
					checkSeedRow32(t, name, y, p, w, Seed{Gamma: 2, E: e})
				}
			}
		})
	}
}

// TestSeedKernelsNonFinite checks that NaN and Inf inputs and rows summing to
// 0 give NaN and Inf exactly where the reference gives them.
func TestSeedKernelsNonFinite(t *testing.T) {
	if len(vectorKernels()) == 0 {
		t.Skip("no vector kernel in this build or on this CPU")
	}
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
	for _, kernel := range vectorKernels() {
		t.Run(kernel, func(t *testing.T) {
			useKernel(t, kernel)
			rng := rand.New(rand.NewPCG(6, 6))
			for _, n := range []int{1, 3, 8, 13, 40} {
				for _, gamma := range []float64{0, 0.5, 1, 2, 3.7} {
					for _, s := range specials {
						y, p, w := seedRowCase(rng, n, false)
						at := rng.IntN(n)
						if rng.IntN(2) == 0 {
							p[at] = s
						} else {
							y[at] = s
						}
						name := fmt.Sprintf("n=%d gamma=%v %v at %d", n, gamma, s, at)
						checkSeedRow64(t, name, y, p, w, Seed{Gamma: gamma, E: 0.1})
						checkSeedRow32(t, name, y, p, w, Seed{Gamma: gamma, E: 0.1})
					}
					y, p, w := seedRowCase(rng, n, false)
					clear(p)
					checkSeedRow64(t, fmt.Sprintf("n=%d gamma=%v zero row", n, gamma), y, p, w, Seed{Gamma: gamma, E: 0.1})
				}
			}
		})
	}
}

// binaryRowCase draws one row of n classes for the binary variant: labels
// 0, 1 or soft, probabilities in [0, 1] or logits in (-20, 20), per-class
// alphas in [0, 1]. hard mixes in the edge values: exact 0 and 1, the clip
// bounds of both element types and their neighbours, tiny and subnormal
// probabilities, logits of ±1000 and the overflow bounds of exp, labels
// equal to their predictions (u = 0 without smoothing).
func binaryRowCase(rng *rand.Rand, n int, hard, logits bool) (y, x, alpha []float64) {
	y, x, alpha = make([]float64, n), make([]float64, n), make([]float64, n)
	probEdges := []float64{0, 1, 1e-7, float64(float32(1e-7)), 1 - 1e-7, float64(float32(1 - 1e-7)),
		math.Nextafter(1e-7, 0), math.Nextafter(1e-7, 1), math.Nextafter(1-1e-7, 0), math.Nextafter(1-1e-7, 2),
		1e-9, 1e-90, 1e-160, 1e-300, 5e-324, math.Nextafter(1, 0), 0.5}
	logitEdges := []float64{1000, -1000, 0, math.Copysign(0, -1), 30, -30, 40, -40, 745, -745, 720, -720,
		1e-20, -1e-20, 16, -16, 36.7, -36.7}
	for c := range x {
		if logits {
			x[c] = 40 * (rng.Float64() - 0.5)
			if hard && rng.IntN(3) == 0 {
				x[c] = logitEdges[rng.IntN(len(logitEdges))]
			}
		} else {
			x[c] = rng.Float64()
			if hard && rng.IntN(3) == 0 {
				x[c] = probEdges[rng.IntN(len(probEdges))]
			}
		}
		switch r := rng.Float64(); {
		case r < 0.2:
			y[c] = rng.Float64()
		case r < 0.3 && hard && !logits:
			y[c] = x[c]
		case r < 0.65:
			y[c] = 1
		}
		alpha[c] = rng.Float64()
		if hard && rng.IntN(8) == 0 {
			alpha[c] = float64(rng.IntN(2))
		}
	}
	return y, x, alpha
}

// binaryScale returns, for the loss and per gradient element, the sum of
// the magnitudes of the terms that make it up (see seedScale).
func binaryScale(y, x []float64, k *binaryConstants, logits bool) (loss float64, grad []float64) {
	grad = make([]float64, len(x))
	for c := range x {
		t := y[c]*k.keep + k.half
		a := math.Abs(k.balance(c, t))
		var bce, u, du, dbce float64
		if logits {
			sig, sigNeg := sigmoids(x[c])
			bce = math.Abs(math.Max(x[c], 0)) + math.Abs(x[c]*t) + math.Log1p(math.Exp(-math.Abs(x[c])))
			u = math.Abs(t*sigNeg) + math.Abs((1-t)*sig)
			du = math.Abs((1 - 2*t) * sig * sigNeg)
			dbce = math.Abs((1-t)*sig) + math.Abs(t*sigNeg)
		} else {
			q := clip(x[c], k.eps, k.epsHi)
			bce = math.Abs(t*math.Log(q)) + math.Abs((1-t)*math.Log(1-q))
			u = math.Abs(t*(1-x[c])) + math.Abs((1-t)*x[c])
			du = math.Abs(1 - 2*t)
			dbce = math.Abs((1-t)/(1-q)) + math.Abs(t/q)
		}
		pow, dpow := k.focal(u)
		loss += k.scale * a * pow * bce
		grad[c] = k.scale * a * (math.Abs(dpow)*du*bce + pow*dbce)
	}
	return loss, grad
}

func binaryName(n int, prm Binary) string {
	alpha := "none"
	switch len(prm.Alpha) {
	case 0:
	case 1:
		alpha = fmt.Sprint(prm.Alpha[0])
	default:
		alpha = "per-class"
	}
	return fmt.Sprintf("n=%d logits=%v gamma=%v ls=%v alpha=%s", n, prm.FromLogits, prm.Gamma, prm.LabelSmoothing, alpha)
}

// TestBinaryKernelsMatchReference holds every vector kernel to the
// reference loops binaryProbRow and binaryLogitsRow, float64 and float32,
// probabilities and logits, with every combination of gamma (zero,
// integer, real), label smoothing and class balancing (none, one alpha,
// per-class alpha), on rows of every length up to 72 and a spread of
// lengths up to 2100.
func TestBinaryKernelsMatchReference(t *testing.T) {
	if len(vectorKernels()) == 0 {
		t.Skip("no vector kernel in this build or on this CPU")
	}
	var lengths []int
	for n := 1; n <= 72; n++ {
		lengths = append(lengths, n)
	}
	stride := 61
	if testing.Short() {
		stride = 203
	}
	for n := 73; n <= 2100; n += stride {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 1000, 1024, 2047, 2049, 2100)
	gammas := []float64{0, 0.5, 1, 2, 3, 3.7}
	smoothings := []float64{0, 0.1}
	for _, kernel := range vectorKernels() {
		t.Run(kernel, func(t *testing.T) {
			useKernel(t, kernel)
			rng := rand.New(rand.NewPCG(7, 7))
			var worst64, worst32, worstLanes float64
			combo := 0
			for _, n := range lengths {
				for _, logits := range []bool{false, true} {
					for _, gamma := range gammas {
						for _, ls := range smoothings {
							for alphaKind := range 3 {
								combo++
								if n > 72 && combo%5 != 0 {
									continue // a fifth of the grid for long rows
								}
								y, x, alpha := binaryRowCase(rng, n, combo%2 == 0, logits)
								prm := Binary{Gamma: gamma, LabelSmoothing: ls, FromLogits: logits, NoValidate: true}
								switch alphaKind {
								case 1:
									prm.Alpha = []float64{0.25}
								case 2:
									prm.Alpha = alpha
								}
								name := binaryName(n, prm)
								worst64 = max(worst64, checkBinaryRow64(t, name, y, x, prm))
								if binaryLanes32(prm) {
									worstLanes = max(worstLanes, checkBinaryRow32(t, name, y, x, prm))
								} else {
									worst32 = max(worst32, checkBinaryRow32(t, name, y, x, prm))
								}
							}
						}
					}
				}
			}
			t.Logf("%s: worst float64 error %.3g of the terms' magnitude; worst float32 error %.3g ulp-relative (float64 lanes), %.3g of the terms' magnitude (float32 lanes)", kernel, worst64, worst32, worstLanes)
		})
	}
}

// binaryReference computes one row with the reference loop for T.
func binaryReference[T Float](g, y, x []T, prm Binary) (float64, binaryConstants) {
	k := binaryConstants{
		gamma: prm.Gamma, keep: 1 - prm.LabelSmoothing, half: 0.5 * prm.LabelSmoothing,
		eps: float64(T(1e-7)), epsHi: float64(T(1 - 1e-7)), alpha: prm.Alpha, scale: 1 / float64(len(x)),
	}
	if prm.FromLogits {
		return binaryLogitsRow(g, y, x, &k), k
	}
	return binaryProbRow(g, y, x, &k), k
}

// checkBinaryRow64 compares one float64 row of BinaryLossGrad with the
// reference and returns the largest error relative to the terms'
// magnitude. It also checks that the inputs stay untouched, that nothing
// is written around grad, and that the gradient does not change the loss.
func checkBinaryRow64(t *testing.T, name string, y, x []float64, prm Binary) float64 {
	t.Helper()
	n := len(x)
	wantG := make([]float64, n)
	wantL, k := binaryReference(wantG, y, x, prm)
	scaleL, scaleG := binaryScale(y, x, &k, prm.FromLogits)

	y0, x0 := slices.Clone(y), slices.Clone(x)
	loss, grad := make([]float64, 1), make([]float64, n+2)
	grad[0], grad[n+1] = 1234.5, 1234.5
	require.NoError(t, BinaryLossGrad(loss, grad[1:n+1], y, x, n, prm))
	require.Equal(t, 1234.5, grad[0], name)
	require.Equal(t, 1234.5, grad[n+1], name)
	require.True(t, slices.Equal(toBits(y0), toBits(y)) && slices.Equal(toBits(x0), toBits(x)), "%s: inputs modified", name)
	lossOnly := make([]float64, 1)
	require.NoError(t, BinaryLossGrad(lossOnly, nil, y, x, n, prm))
	require.Equal(t, math.Float64bits(loss[0]), math.Float64bits(lossOnly[0]), "%s: the gradient changes the loss", name)

	const rtol = 1e-12
	worst := 0.0
	if !closeTo(wantL, loss[0], rtol, rtol*scaleL) {
		t.Errorf("%s: loss %v, want %v", name, loss[0], wantL)
	} else if d := math.Abs(loss[0] - wantL); d > 0 && !math.IsInf(d, 0) {
		worst = d / (math.Abs(wantL) + scaleL)
	}
	for c := range wantG {
		got := grad[c+1]
		if !closeTo(wantG[c], got, rtol, rtol*scaleG[c]) {
			t.Errorf("%s: grad[%d] = %v, want %v (y %v, x %v)", name, c, got, wantG[c], y[c], x[c])
			return worst
		}
		if d := math.Abs(got - wantG[c]); d > 0 && !math.IsInf(d, 0) {
			worst = max(worst, d/(math.Abs(wantG[c])+scaleG[c]))
		}
	}
	return worst
}

// checkBinaryRow32 compares one float32 row with the float32 reference: 2
// ulp of the result, since both round a float64 result once (the SPEC's
// float32 tolerance for the AVX-512 kernel's float32 lanes).
func checkBinaryRow32(t *testing.T, name string, y64, x64 []float64, prm Binary) float64 {
	t.Helper()
	y, x := toF32(y64), toF32(x64)
	n := len(x)
	wantG := make([]float32, n)
	wantL64, k := binaryReference(wantG, y, x, prm)
	wantL := float32(wantL64)
	scaleL, scaleG := binaryScale(toF64(y), toF64(x), &k, prm.FromLogits)

	loss, grad := make([]float32, 1), make([]float32, n+2)
	grad[0], grad[n+1] = 1234.5, 1234.5
	require.NoError(t, BinaryLossGrad(loss, grad[1:n+1], y, x, n, prm))
	require.Equal(t, float32(1234.5), grad[0], name)
	require.Equal(t, float32(1234.5), grad[n+1], name)
	lossOnly := make([]float32, 1)
	require.NoError(t, BinaryLossGrad(lossOnly, nil, y, x, n, prm))
	require.Equal(t, math.Float32bits(loss[0]), math.Float32bits(lossOnly[0]), "%s: the gradient changes the loss", name)

	if binaryLanes32(prm) {
		// The vector kernels compute float32 probabilities and logits in
		// float32 lanes (binaryRowsF32Vec), as Keras's
		// float32 loss does: held to the SPEC's float32 tolerance, as the
		// seed's (checkSeedLanes32).
		return checkSeedLanes32(t, name, y, x, wantL, wantG, loss[0], grad[1:n+1], scaleL, scaleG)
	}
	const rtol = 2.5e-7 // 2 ulp
	worst := 0.0
	if !closeTo(float64(wantL), float64(loss[0]), rtol, 1e-12*scaleL) {
		t.Errorf("%s: float32 loss %v, want %v", name, loss[0], wantL)
	}
	for c := range wantG {
		got := grad[c+1]
		if !closeTo(float64(wantG[c]), float64(got), rtol, 1e-12*scaleG[c]) {
			t.Errorf("%s: float32 grad[%d] = %v, want %v (y %v, x %v)", name, c, got, wantG[c], y[c], x[c])
			return worst
		}
		if d := math.Abs(float64(got) - float64(wantG[c])); d > 0 && !math.IsInf(d, 0) {
			worst = max(worst, d/math.Abs(float64(wantG[c]))/0x1p-23)
		}
	}
	return worst
}

// seedLanes32 reports whether the float32 seed kernel in use computes in
// float32 lanes (held to the SPEC's float32 tolerance) rather than running
// the portable rows (held to 2 ulp): every vector kernel, every gamma (the
// dispatch table of kernel_amd64.go).
func seedLanes32(prm Seed) bool {
	return activeKernel != KernelGeneric
}

// binaryLanes32 reports whether the float32 binary kernel in use computes
// in float32 lanes: every vector kernel, every gamma, probabilities and
// logits.
func binaryLanes32(prm Binary) bool {
	return activeKernel != KernelGeneric
}

// integerGamma reports whether the AVX-512 float32 kernels take gamma in
// their integer-gamma loops (and logits in float32 lanes).
func integerGamma(g float64) bool { return g == math.Trunc(g) && g >= 0 && g < 1<<53 }

func toBits(v []float64) []uint64 {
	b := make([]uint64, len(v))
	for i, f := range v {
		b[i] = math.Float64bits(f)
	}
	return b
}

// TestBinaryKernelsNonFinite checks that NaN and ±Inf labels and
// predictions, and finite predictions outside [0, 1] (validation off), give
// NaN and Inf exactly where the reference gives them.
func TestBinaryKernelsNonFinite(t *testing.T) {
	if len(vectorKernels()) == 0 {
		t.Skip("no vector kernel in this build or on this CPU")
	}
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), -0.5, 1.5, 1e300, -1e300}
	for _, kernel := range vectorKernels() {
		t.Run(kernel, func(t *testing.T) {
			useKernel(t, kernel)
			rng := rand.New(rand.NewPCG(8, 8))
			for _, n := range []int{1, 3, 8, 13, 40} {
				for _, logits := range []bool{false, true} {
					for _, gamma := range []float64{0, 0.5, 1, 2, 3.7} {
						for _, ls := range []float64{0, 0.1} {
							for _, s := range specials {
								y, x, alpha := binaryRowCase(rng, n, true, logits)
								at := rng.IntN(n)
								if rng.IntN(2) == 0 {
									x[at] = s
								} else {
									y[at] = s
								}
								prm := Binary{Gamma: gamma, LabelSmoothing: ls, FromLogits: logits, NoValidate: true}
								if rng.IntN(2) == 0 {
									prm.Alpha = alpha
								}
								name := fmt.Sprintf("%s, %v at %d", binaryName(n, prm), s, at)
								checkBinaryRow64(t, name, y, x, prm)
								checkBinaryRow32(t, name, y, x, prm)
							}
						}
					}
				}
			}
		})
	}
}
