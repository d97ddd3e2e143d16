package goloss

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The worked example of SPEC.md.
var (
	exampleCounts = []float64{1, 2, 3}
	exampleLabels = []float64{1, 0, 1, 0, 1, 0}
	examplePreds  = []float64{.9, .3, .4, .2, .5, .05}
	exampleLoss   = []float64{0.13935285744407913, 0.1620203821512099}
	exampleMean   = 0.15068661979764453
)

func exampleWeights(t *testing.T) []float64 {
	w := make([]float64, 3)
	require.NoError(t, ClassWeights(w, exampleCounts))
	return w
}

func TestSeedWorkedExample(t *testing.T) {
	w := exampleWeights(t)
	loss := make([]float64, 2)
	require.NoError(t, SeedLossGrad(loss, nil, exampleLabels, examplePreds, w, 3, Seed{Gamma: 2, E: 0.1}))
	for b := range loss {
		assert.InEpsilon(t, exampleLoss[b], loss[b], 1e-13, "row %d", b)
	}
	assert.InEpsilon(t, exampleMean, (loss[0]+loss[1])/2, 1e-13)

	// The gradient does not change the loss.
	withGrad := make([]float64, 2)
	grad := make([]float64, 6)
	require.NoError(t, SeedLossGrad(withGrad, grad, exampleLabels, examplePreds, w, 3, Seed{Gamma: 2, E: 0.1}))
	assert.Equal(t, loss, withGrad)
}

// seedCase is one random input of the table-driven tests.
type seedCase struct {
	name       string
	rows, cols int
	gamma, e   float64
	soft       bool // soft labels in (0, 1) as well as 0 and 1
	extremes   bool // predictions exactly 0 and 1 and tiny values that hit the clips
}

var seedCases = []seedCase{
	{"1x1", 1, 1, 2, 0.1, false, false},
	{"1x5", 1, 5, 2, 0.1, false, false},
	{"4x3 gamma0", 4, 3, 0, 0.1, false, false},
	{"8x7 gamma0.5 soft", 8, 7, 0.5, 0.3, true, false},
	{"8x7 gamma1", 8, 7, 1, 0.1, false, false},
	{"16x10 gamma3.7 soft", 16, 10, 3.7, 0.1, true, false},
	{"5x9 e0", 5, 9, 2, 0, false, false},
	{"5x9 e1", 5, 9, 2, 1, false, false},
	{"6x12 extremes", 6, 12, 2, 0.1, false, true},
	{"32x100", 32, 100, 2, 0.1, true, false},
}

// random fills a case's inputs from a seeded generator. Soft labels are drawn
// above their predictions so that non-integer gammas stay real.
func (c seedCase) random(seed uint64) (labels, preds, weights []float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	n := c.rows * c.cols
	labels, preds, weights = make([]float64, n), make([]float64, n), make([]float64, c.cols)
	for i := range preds {
		preds[i] = 0.02 + 0.96*rng.Float64()
		switch r := rng.Float64(); {
		case c.soft && r < 0.3:
			labels[i] = preds[i] + (1-preds[i])*rng.Float64()
		case r < 0.6:
			labels[i] = 1
		}
		if c.extremes {
			switch rng.IntN(5) {
			case 0:
				preds[i] = 0
			case 1:
				preds[i] = 1
			case 2:
				preds[i] = 1e-9 // below both clip bounds
			}
		}
	}
	for k := range weights {
		weights[k] = 0.1 + rng.Float64()
	}
	return labels, preds, weights
}

func TestSeedGradientFiniteDifferences(t *testing.T) {
	for i, c := range seedCases {
		if c.extremes {
			continue // the clips make the loss non-differentiable there
		}
		t.Run(c.name, func(t *testing.T) {
			labels, preds, weights := c.random(uint64(i))
			prm := Seed{Gamma: c.gamma, E: c.e, NoValidate: true}
			loss := make([]float64, c.rows)
			grad := make([]float64, c.rows*c.cols)
			require.NoError(t, SeedLossGrad(loss, grad, labels, preds, weights, c.cols, prm))

			lossAt := func(row int, x []float64) float64 {
				out := make([]float64, 1)
				lo, hi := row*c.cols, (row+1)*c.cols
				require.NoError(t, SeedLossGrad(out, nil, labels[lo:hi], x, weights, c.cols, prm))
				return out[0]
			}
			for b := 0; b < c.rows; b++ {
				x := slices.Clone(preds[b*c.cols : (b+1)*c.cols])
				for k := range x {
					if labels[b*c.cols+k]-x[k] == 0 {
						continue
					}
					const h = 1e-6
					orig := x[k]
					x[k] = orig + h
					up := lossAt(b, x)
					x[k] = orig - h
					down := lossAt(b, x)
					x[k] = orig
					numeric := (up - down) / (2 * h)
					analytic := grad[b*c.cols+k]
					assert.InDelta(t, numeric, analytic, 1e-6*(1+math.Abs(numeric)), "row %d class %d", b, k)
				}
			}
		})
	}
}

func TestSeedFloat32MatchesFloat64(t *testing.T) {
	for i, c := range seedCases {
		t.Run(c.name, func(t *testing.T) {
			labels, preds, weights := c.random(uint64(100 + i))
			// Round the inputs to float32 first so that both runs see the same values.
			l32, p32, w32 := toF32(labels), toF32(preds), toF32(weights)
			labels, preds, weights = toF64(l32), toF64(p32), toF64(w32)
			prm := Seed{Gamma: c.gamma, E: c.e}

			loss64, grad64 := make([]float64, c.rows), make([]float64, c.rows*c.cols)
			require.NoError(t, SeedLossGrad(loss64, grad64, labels, preds, weights, c.cols, prm))
			loss32, grad32 := make([]float32, c.rows), make([]float32, c.rows*c.cols)
			require.NoError(t, SeedLossGrad(loss32, grad32, l32, p32, w32, c.cols, prm))

			if c.extremes {
				// The float32 clip bounds differ from the float64 ones by an ulp of each.
				assertClose(t, loss64, toF64(loss32), 1e-5, 1e-6)
				return
			}
			assertClose(t, loss64, toF64(loss32), 1e-6, 1e-7)
			assertClose(t, grad64, toF64(grad32), 1e-6, 1e-7)
		})
	}
}

// TestSeedEdgeSemantics covers the rows of SPEC's edge semantics one by one.
func TestSeedEdgeSemantics(t *testing.T) {
	w := []float64{1, 1}
	run := func(labels, preds []float64, prm Seed) (loss, grad []float64) {
		t.Helper()
		rows := len(preds) / 2
		loss, grad = make([]float64, rows), make([]float64, len(preds))
		require.NoError(t, SeedLossGrad(loss, grad, labels, preds, w, 2, prm))
		return loss, grad
	}

	t.Run("empty batch", func(t *testing.T) {
		loss, grad := run(nil, nil, Seed{Gamma: 2, E: 0.1})
		assert.Empty(t, loss)
		assert.Empty(t, grad)
	})
	t.Run("row summing to zero gives NaN", func(t *testing.T) {
		loss, grad := run([]float64{1, 0, 1, 0}, []float64{0, 0, 0.5, 0.5}, Seed{Gamma: 2, E: 0.1})
		assert.True(t, math.IsNaN(loss[0]))
		assert.True(t, math.IsNaN(grad[0]) && math.IsNaN(grad[1]))
		assert.False(t, math.IsNaN(loss[1]), "the other row is untouched")
	})
	t.Run("soft label below its prediction with non-integer gamma gives NaN", func(t *testing.T) {
		loss, _ := run([]float64{0.2, 0}, []float64{0.6, 0.4}, Seed{Gamma: 0.5, E: 0.1})
		assert.True(t, math.IsNaN(loss[0]))
		loss, _ = run([]float64{0.2, 0}, []float64{0.6, 0.4}, Seed{Gamma: 2, E: 0.1})
		assert.False(t, math.IsNaN(loss[0]), "integer gamma has a real power")
	})
	t.Run("y equal to p gives the limit of the focal gradient", func(t *testing.T) {
		for _, gamma := range []float64{0, 0.5, 1, 2, 3.7} {
			_, grad := run([]float64{1, 0}, []float64{1, 0.25}, Seed{Gamma: gamma, E: 0})
			want1 := 0.0 // log(1) = 0 and (y-p)^gamma = 0
			if gamma == 0 {
				want1 = -0.5 // the focal term is -log p: (1-e)/C * w * -(1/p)
			}
			assert.Equal(t, want1, grad[0], "gamma %v at y = p = 1", gamma)
			_, grad = run([]float64{0.5, 0}, []float64{0.5, 0.25}, Seed{Gamma: gamma, E: 0})
			want := -0.0 // the (y-p)^gamma / p term is 0 for gamma > 0
			switch gamma {
			case 0:
				want = -0.5 * 1 / 0.5 // (1-e)/C * w * -(1/p)
			case 1:
				want = 0.5 * math.Log(0.5)
			}
			assert.InDelta(t, want, grad[0], 1e-15, "gamma %v at y = p = 0.5", gamma)
		}
	})
	t.Run("NaN and Inf propagate to the whole row", func(t *testing.T) {
		for _, e := range []float64{0, 0.1} {
			loss, grad := run([]float64{1, 0, 1, 0, 0, 1}, []float64{math.NaN(), 0.5, math.Inf(1), 0.5, math.Inf(-1), 0.5}, Seed{Gamma: 2, E: e})
			for i, v := range append(loss, grad...) {
				assert.True(t, math.IsNaN(v), "e %v: output %d = %v", e, i, v)
			}
		}
	})
	t.Run("negatives add nothing to the focal term", func(t *testing.T) {
		loss, grad := run([]float64{0, 0}, []float64{0.3, 0.7}, Seed{Gamma: 2, E: 0})
		assert.Equal(t, []float64{0}, loss)
		assert.Equal(t, []float64{0, 0}, grad)
	})
	t.Run("clip bounds", func(t *testing.T) {
		// p = 0 with a positive label: log clips at 1e-8 and passes no gradient;
		// only the power's gradient, gamma * (y-p)^(gamma-1) * log(1e-8), remains.
		loss, grad := run([]float64{1, 0}, []float64{0, 1}, Seed{Gamma: 2, E: 0})
		assert.InDelta(t, 0.5*-math.Log(1e-8), loss[0], 1e-12)
		assert.InDelta(t, 0.5*2*math.Log(1e-8), grad[0], 1e-12)
		// p exactly at the lower bound still passes the gradient (inclusive bounds).
		_, grad = run([]float64{1, 0}, []float64{1e-8, 1}, Seed{Gamma: 0, E: 0})
		assert.InEpsilon(t, -0.5/1e-8, grad[0], 1e-12)
	})
}

func TestSeedErrors(t *testing.T) {
	w := []float64{1, 1}
	y, p := []float64{1, 0}, []float64{0.5, 0.5}
	for _, tc := range []struct {
		name          string
		loss, grad    []float64
		labels, preds []float64
		weights       []float64
		cols          int
		prm           Seed
		kind          error
		msg           string
	}{
		{"zero classes", []float64{}, nil, nil, nil, nil, 0, Seed{}, ErrShape, "number of classes is 0"},
		{"labels vs predictions", make([]float64, 1), nil, []float64{1, 0, 0}, p, w, 2, Seed{}, ErrShape, "labels hold 3 values but predictions hold 2"},
		{"not a multiple", make([]float64, 1), nil, []float64{1, 0, 0}, []float64{.1, .2, .3}, w, 2, Seed{}, ErrShape, "not a multiple of 2 classes"},
		{"loss size", make([]float64, 2), nil, y, p, w, 2, Seed{}, ErrShape, "loss holds 2 values, want one per row: 1 rows of 2 classes"},
		{"grad size", make([]float64, 1), make([]float64, 3), y, p, w, 2, Seed{}, ErrShape, "grad holds 3 values, want 2"},
		{"weights size", make([]float64, 1), nil, y, p, []float64{1}, 2, Seed{}, ErrShape, "class weights hold 1 values for 2 classes"},
		{"negative gamma", make([]float64, 1), nil, y, p, w, 2, Seed{Gamma: -1}, ErrParam, "gamma = -1"},
		{"NaN gamma", make([]float64, 1), nil, y, p, w, 2, Seed{Gamma: math.NaN()}, ErrParam, "gamma = NaN"},
		{"infinite gamma", make([]float64, 1), nil, y, p, w, 2, Seed{Gamma: math.Inf(1)}, ErrParam, "gamma = +Inf"},
		{"e above 1", make([]float64, 1), nil, y, p, w, 2, Seed{E: 1.5}, ErrParam, "e = 1.5, want 0 <= e <= 1"},
		{"e below 0", make([]float64, 1), nil, y, p, w, 2, Seed{E: -0.1}, ErrParam, "e = -0.1"},
		{"probability above 1", make([]float64, 2), nil, []float64{1, 0, 1, 0}, []float64{.5, .5, .2, 1.5}, w, 2, Seed{}, ErrValue, "predictions[1, 1] = 1.5 is not a probability in [0, 1]"},
		{"negative probability", make([]float64, 1), nil, y, []float64{-0.5, .5}, w, 2, Seed{}, ErrValue, "predictions[0, 0] = -0.5"},
		{"negative weight", make([]float64, 1), nil, y, p, []float64{1, -2}, 2, Seed{}, ErrValue, "class_weights[1] = -2"},
		{"NaN weight", make([]float64, 1), nil, y, p, []float64{math.NaN(), 1}, 2, Seed{}, ErrValue, "class_weights[0] = NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loss := slices.Clone(tc.loss)
			for i := range loss {
				loss[i] = 42
			}
			err := SeedLossGrad(loss, tc.grad, tc.labels, tc.preds, tc.weights, tc.cols, tc.prm)
			require.ErrorIs(t, err, tc.kind)
			assert.Contains(t, err.Error(), tc.msg)
			for _, v := range loss {
				assert.Equal(t, 42.0, v, "nothing is written on error")
			}
		})
	}

	t.Run("validation can be switched off", func(t *testing.T) {
		loss := make([]float64, 1)
		assert.NoError(t, SeedLossGrad(loss, nil, y, []float64{1.5, .5}, w, 2, Seed{NoValidate: true}))
	})
}

func TestClassWeights(t *testing.T) {
	w := exampleWeights(t)
	assert.InDeltaSlice(t, []float64{6.0 / 11, 3.0 / 11, 2.0 / 11}, w, 1e-15)
	// The seed's own spelling, with N = sum(n), gives the same weights.
	n := 6.0
	s := n/1 + n/2 + n/3
	assert.InDeltaSlice(t, []float64{(n / 1) / s, (n / 2) / s, (n / 3) / s}, w, 1e-15)

	for _, tc := range []struct {
		counts []float64
		msg    string
	}{
		{[]float64{1, 0, 3}, "class count 1 is 0"},
		{[]float64{-2}, "class count 0 is -2"},
		{[]float64{1, math.NaN()}, "class count 1 is NaN"},
		{[]float64{1, math.Inf(1)}, "class count 1 is +Inf"},
	} {
		err := ClassWeights(make([]float64, len(tc.counts)), tc.counts)
		require.ErrorIs(t, err, ErrValue)
		assert.Contains(t, err.Error(), tc.msg)
	}
	require.ErrorIs(t, ClassWeights(nil, nil), ErrShape)
	require.ErrorIs(t, ClassWeights(make([]float64, 2), []float64{1, 2, 3}), ErrShape)
}

// TestClassWeightsAnySize holds counts of any finite positive size to
// SPEC's weights, which sum to 1: normalised by the smallest count, 1/n
// neither overflows (1e-308) nor underflows (1e308) nor goes subnormal.
func TestClassWeightsAnySize(t *testing.T) {
	for _, tc := range []struct {
		counts, want []float64
	}{
		{[]float64{1e-308, 1e-308}, []float64{0.5, 0.5}},
		{[]float64{1e308, 1e308, 1e308, 1e308}, []float64{0.25, 0.25, 0.25, 0.25}},
		{[]float64{5e-324, 1}, []float64{1, 5e-324}},
		{[]float64{math.MaxFloat64, 1}, []float64{1 / math.MaxFloat64, 1}},
		{[]float64{2e-308, 1e-308}, []float64{1.0 / 3, 2.0 / 3}},
		{[]float64{3e300, 1e300, 2e300}, []float64{2.0 / 11, 6.0 / 11, 3.0 / 11}},
	} {
		got := make([]float64, len(tc.counts))
		require.NoError(t, ClassWeights(got, tc.counts))
		var sum float64
		for c, w := range got {
			assert.False(t, math.IsNaN(w) || math.IsInf(w, 0), "counts %v: weight %d = %v", tc.counts, c, w)
			assert.InEpsilon(t, tc.want[c], w, 1e-15, "counts %v: weight %d", tc.counts, c)
			sum += w
		}
		assert.InDelta(t, 1, sum, 1e-15, "counts %v: weights %v", tc.counts, got)
	}
}

// TestSeedInputsUnchanged checks that inputs are not written and that the
// kernel writes inside its outputs only (guard values around them).
func TestSeedInputsUnchanged(t *testing.T) {
	c := seedCases[5]
	labels, preds, weights := c.random(9)
	l0, p0, w0 := slices.Clone(labels), slices.Clone(preds), slices.Clone(weights)

	const guard = 1234.5
	n := c.rows * c.cols
	lossBuf := make([]float64, c.rows+2)
	gradBuf := make([]float64, n+2)
	lossBuf[0], lossBuf[c.rows+1], gradBuf[0], gradBuf[n+1] = guard, guard, guard, guard
	require.NoError(t, SeedLossGrad(lossBuf[1:c.rows+1], gradBuf[1:n+1], labels, preds, weights, c.cols, Seed{Gamma: c.gamma, E: c.e}))

	assert.Equal(t, l0, labels)
	assert.Equal(t, p0, preds)
	assert.Equal(t, w0, weights)
	assert.Equal(t, guard, lossBuf[0])
	assert.Equal(t, guard, lossBuf[c.rows+1])
	assert.Equal(t, guard, gradBuf[0])
	assert.Equal(t, guard, gradBuf[n+1])
}

func assertClose(t *testing.T, want, got []float64, rtol, atol float64) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		if math.IsNaN(want[i]) {
			assert.True(t, math.IsNaN(got[i]), "index %d: want NaN, got %v", i, got[i])
			continue
		}
		assert.InDelta(t, want[i], got[i], atol+rtol*math.Abs(want[i]), "index %d", i)
	}
}

func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
