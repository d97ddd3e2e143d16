package goloss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of partial labels (SPEC "Partial labels"): an ignore value in the
// seed and binary variants (the asymmetric variant's are in
// asymmetric_test.go).

// withUnknown returns a copy of labels with about one in five set to
// unknown.
func withUnknown(labels []float64, unknown float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 17))
	out := slices.Clone(labels)
	for i := range out {
		if rng.IntN(5) == 0 {
			out[i] = unknown
		}
	}
	return out
}

// TestSeedUnknownLabels: an unknown label of the seed variant is no
// positive and R is unchanged, so the result is that of a label of 0, bit
// for bit on every kernel; an ignore value <= 0 changes nothing at all.
func TestSeedUnknownLabels(t *testing.T) {
	c := seedCase{rows: 300, cols: 257, gamma: 2, e: 0.1, soft: true} // several blocks of seedRowsUnknown
	labels, preds, weights := c.random(31)
	for _, kernel := range Kernels() {
		useKernel(t, kernel)
		for _, unknown := range []float64{-1, 0, 1, 0.75} {
			y := withUnknown(labels, unknown, 5)
			zeroed := slices.Clone(y)
			for i, v := range zeroed {
				if v == unknown {
					zeroed[i] = 0
				}
			}
			for _, threads := range []int{1, 4} {
				name := fmt.Sprintf("%s ignore %v threads %d", kernel, unknown, threads)
				prm := Seed{Gamma: c.gamma, E: c.e, HasIgnore: true, IgnoreValue: unknown, Threads: threads}
				loss, grad := make([]float64, c.rows), make([]float64, len(preds))
				y0 := slices.Clone(y)
				require.NoError(t, SeedLossGrad(loss, grad, y, preds, weights, c.cols, prm), name)
				assert.Equal(t, y0, y, "%s: labels written", name)
				want, wantGrad := make([]float64, c.rows), make([]float64, len(preds))
				require.NoError(t, SeedLossGrad(want, wantGrad, zeroed, preds, weights, c.cols, Seed{Gamma: c.gamma, E: c.e}))
				assert.Equal(t, bits(want), bits(loss), "%s: loss", name)
				assert.Equal(t, bits(wantGrad), bits(grad), "%s: grad", name)
				if unknown <= 0 {
					plain := make([]float64, c.rows)
					require.NoError(t, SeedLossGrad(plain, nil, y, preds, weights, c.cols, Seed{Gamma: c.gamma, E: c.e}))
					assert.Equal(t, bits(plain), bits(loss), "%s: an ignore value <= 0 changes nothing", name)
				}
				loss32 := make([]float32, c.rows)
				want32 := make([]float32, c.rows)
				require.NoError(t, SeedLossGrad(loss32, nil, toF32(y), toF32(preds), toF32(weights), c.cols, prm))
				require.NoError(t, SeedLossGrad(want32, nil, toF32(zeroed), toF32(preds), toF32(weights), c.cols, Seed{Gamma: c.gamma, E: c.e}))
				assert.Equal(t, want32, loss32, "%s: float32 loss", name)
			}
		}
	}
}

// TestSeedUnknownGradient spells out what an unknown element of the seed
// variant gets: no focal term, and the label-smoothing part of the
// gradient, e/C * (M/S - 1/p), since R has no labels and is unchanged.
func TestSeedUnknownGradient(t *testing.T) {
	y := []float64{1, 0.5, 0}
	p := []float64{0.6, 0.3, 0.1}
	w := []float64{1, 2, 3}
	const gamma, e, cols = 2.0, 0.2, 3.0
	loss, grad := make([]float64, 1), make([]float64, 3)
	require.NoError(t, SeedLossGrad(loss, grad, y, p, w, 3, Seed{Gamma: gamma, E: e, HasIgnore: true, IgnoreValue: 0.5}))
	s := p[0] + p[1] + p[2]
	var r float64
	for _, v := range p {
		r -= math.Log(v/s) / cols
	}
	focal := -w[0] * math.Pow(y[0]-p[0], gamma) * math.Log(p[0]) / cols
	assert.InEpsilon(t, (1-e)*focal+e*r, loss[0], 1e-14)
	assert.InEpsilon(t, e/cols*(3/s-1/p[1]), grad[1], 1e-14, "the unknown element keeps its part of R's gradient")
	assert.InEpsilon(t, e/cols*(3/s-1/p[2]), grad[2], 1e-14)

	require.ErrorIs(t, Seed{HasIgnore: true, IgnoreValue: math.NaN()}.Check(), ErrParam)
	err := SeedLossGrad(loss, nil, y, p, w, 3, Seed{HasIgnore: true, IgnoreValue: math.NaN()})
	require.ErrorIs(t, err, ErrParam)
	assert.Equal(t, "invalid parameter: ignore_value = NaN, want a number (no label equals NaN)", err.Error())
	require.NoError(t, Seed{IgnoreValue: math.NaN()}.Check(), "no ignore value: IgnoreValue unused")
}

// binaryKnown computes row b of the binary variant on its known classes
// alone, without an ignore value, and returns the loss and the gradient
// scattered back (0 where unknown); a row with no known class gives 0.
func binaryKnown(t *testing.T, y, x []float64, prm Binary, unknown float64) (float64, []float64) {
	var ys, xs, alpha []float64
	for c := range y {
		if y[c] != unknown {
			ys, xs = append(ys, y[c]), append(xs, x[c])
			if len(prm.Alpha) > 1 {
				alpha = append(alpha, prm.Alpha[c])
			}
		}
	}
	grad := make([]float64, len(y))
	if len(ys) == 0 {
		return 0, grad
	}
	sub := prm
	sub.HasIgnore = false
	if len(prm.Alpha) > 1 {
		sub.Alpha = alpha
	}
	loss, g := make([]float64, 1), make([]float64, len(ys))
	require.NoError(t, BinaryLossGrad(loss, g, ys, xs, len(ys), sub))
	j := 0
	for c := range y {
		if y[c] != unknown {
			grad[c] = g[j]
			j++
		}
	}
	return loss[0], grad
}

// TestBinaryUnknownLabels: with an ignore value a row of the binary variant
// is the mean over its known classes, every unknown element's gradient is
// 0, on every kernel, for both element types and any number of threads
// (the same bits).
func TestBinaryUnknownLabels(t *testing.T) {
	for _, kernel := range Kernels() {
		useKernel(t, kernel)
		for i, c := range binaryCases {
			for _, unknown := range []float64{-1, 0.5, 7} {
				name := fmt.Sprintf("%s %s ignore %v", kernel, c.name, unknown)
				c.rows = 6
				labels, preds := c.random(uint64(300 + i))
				labels = withUnknown(labels, unknown, uint64(i))
				prm := c.prm
				prm.HasIgnore, prm.IgnoreValue = true, unknown
				loss, grad := make([]float64, c.rows), make([]float64, len(preds))
				require.NoError(t, BinaryLossGrad(loss, grad, labels, preds, c.cols, prm), name)
				for b := range c.rows {
					lo, hi := b*c.cols, (b+1)*c.cols
					want, wantGrad := binaryKnown(t, labels[lo:hi], preds[lo:hi], c.prm, unknown)
					assert.InDelta(t, want, loss[b], 1e-14*math.Abs(want), "%s row %d", name, b)
					assertClose(t, wantGrad, grad[lo:hi], 1e-14, 1e-300)
				}
				prm.Threads = 3
				loss3, grad3 := make([]float64, c.rows), make([]float64, len(preds))
				require.NoError(t, BinaryLossGrad(loss3, grad3, labels, preds, c.cols, prm))
				assert.Equal(t, bits(loss), bits(loss3), "%s: threads", name)
				assert.Equal(t, bits(grad), bits(grad3), "%s: threads", name)

				l32, p32 := toF32(labels), toF32(preds)
				loss32, grad32 := make([]float32, c.rows), make([]float32, len(preds))
				require.NoError(t, BinaryLossGrad(loss32, grad32, l32, p32, c.cols, prm))
				loss64, grad64 := make([]float64, c.rows), make([]float64, len(preds))
				require.NoError(t, BinaryLossGrad(loss64, grad64, toF64(l32), toF64(p32), c.cols, prm))
				assertClose(t, loss64, toF64(loss32), 1e-5, 1e-6)
				assertClose(t, grad64, toF64(grad32), 1e-5, 1e-6)
			}
		}
	}
}

func TestBinaryUnknownEdges(t *testing.T) {
	prm := Binary{Gamma: 2, Alpha: []float64{0.25}, HasIgnore: true, IgnoreValue: -1}
	t.Run("a row with no known class", func(t *testing.T) {
		for _, logits := range []bool{false, true} {
			prm := prm
			prm.FromLogits = logits
			loss, grad := make([]float64, 2), make([]float64, 4)
			require.NoError(t, BinaryLossGrad(loss, grad, []float64{-1, -1, 1, -1}, []float64{math.NaN(), 0.3, 0.8, 0.5}, 2, prm))
			assert.Equal(t, 0.0, loss[0], "logits %v", logits)
			assert.Equal(t, []float64{0, 0, grad[2], 0}, grad)
			one, oneGrad := make([]float64, 1), make([]float64, 1)
			plain := prm
			plain.HasIgnore = false
			require.NoError(t, BinaryLossGrad(one, oneGrad, []float64{1}, []float64{0.8}, 1, plain))
			assert.InEpsilon(t, one[0], loss[1], 1e-15, "the mean over the one known class")
			assert.InEpsilon(t, oneGrad[0], grad[2], 1e-15)
		}
	})
	t.Run("validation skips the unknown labels only", func(t *testing.T) {
		loss := []float64{42, 42}
		err := BinaryLossGrad(loss, nil, []float64{-1, 0, 1, -2}, []float64{0.5, 0.5, 0.5, 0.5}, 2, prm)
		require.ErrorIs(t, err, ErrValue)
		assert.Equal(t, "invalid value: labels[1, 1] = -2 is not in [0, 1]", err.Error())
		assert.Equal(t, []float64{42, 42}, loss)
		require.NoError(t, BinaryLossGrad(loss, nil, []float64{-1, 0, 1, -1}, []float64{0.5, 0.5, 0.5, 0.5}, 2, prm))
		err = BinaryLossGrad(loss, nil, []float64{-1, 0, 1, -1}, []float64{1.5, 0.5, 0.5, 0.5}, 2, prm)
		assert.ErrorContains(t, err, "predictions[0, 0] = 1.5", "the prediction of an unknown label is still checked")
		seven := Binary{HasIgnore: true, IgnoreValue: 7}
		require.NoError(t, BinaryLossGrad(loss, nil, []float64{7, 0, 1, 7}, []float64{0.5, 0.5, 0.5, 0.5}, 2, seven))
	})
	t.Run("NaN is no ignore value", func(t *testing.T) {
		nan := Binary{HasIgnore: true, IgnoreValue: math.NaN()}
		err := nan.Check(2)
		require.ErrorIs(t, err, ErrParam)
		assert.Equal(t, "invalid parameter: ignore_value = NaN, want a number (no label equals NaN)", err.Error())
		require.ErrorIs(t, BinaryLossGrad(make([]float64, 1), nil, []float64{1, 0}, []float64{0.5, 0.5}, 2, nan), ErrParam)
		// Without an ignore value, NaN labels propagate as before.
		loss := make([]float64, 1)
		require.NoError(t, BinaryLossGrad(loss, nil, []float64{math.NaN(), 0}, []float64{0.5, 0.5}, 2, Binary{}))
		assert.True(t, math.IsNaN(loss[0]))
	})
	t.Run("the ignore value is rounded to the element type", func(t *testing.T) {
		prm := Binary{HasIgnore: true, IgnoreValue: 0.1}
		loss32 := make([]float32, 1)
		require.NoError(t, BinaryLossGrad(loss32, nil, []float32{0.1, 1}, []float32{0.5, 0.5}, 2, prm))
		assert.InEpsilon(t, -math.Log(0.5), float64(loss32[0]), 1e-7, "float32(0.1) is unknown")
	})
}
