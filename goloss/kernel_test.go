package goloss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
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
	if vectorByDefault {
		assert.Equal(t, KernelAVX2, pickKernel("", have))
	} else {
		assert.Equal(t, KernelGeneric, pickKernel("", have))
	}
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
			if d != 0 && k.gamma != 0 {
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
// (2 ulp of the result, since both round a float64 result once), on rows
// of every length up to 72 and a spread of lengths up to 2100.
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
			var worst64, worst32 float64
			for li, n := range lengths {
				for gi, gamma := range gammas {
					for ei, e := range es {
						if n > 72 && (li+gi+ei)%4 != 0 {
							continue // a quarter of the grid for long rows
						}
						y, p, w := seedRowCase(rng, n, (li+gi)%2 == 0)
						name := fmt.Sprintf("n=%d gamma=%v e=%v", n, gamma, e)
						worst64 = max(worst64, checkSeedRow64(t, name, y, p, w, Seed{Gamma: gamma, E: e}))
						worst32 = max(worst32, checkSeedRow32(t, name, y, p, w, Seed{Gamma: gamma, E: e}))
					}
				}
			}
			t.Logf("%s: worst float64 error %.3g of the terms' magnitude; worst float32 error %.3g ulp-relative", kernel, worst64, worst32)
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

	loss, grad := make([]float32, 1), make([]float32, n)
	require.NoError(t, SeedLossGrad(loss, grad, y, p, w, n, prm))
	lossOnly := make([]float32, 1)
	require.NoError(t, SeedLossGrad(lossOnly, nil, y, p, w, n, prm))
	require.Equal(t, math.Float32bits(loss[0]), math.Float32bits(lossOnly[0]), "%s: the gradient changes the loss", name)

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
