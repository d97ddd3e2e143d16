package goloss

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type binaryCase struct {
	name       string
	rows, cols int
	prm        Binary
}

var binaryCases = []binaryCase{
	{"1x1 bce", 1, 1, Binary{}},
	{"3x4 gamma2", 3, 4, Binary{Gamma: 2}},
	{"3x4 gamma0.5 smoothing", 3, 4, Binary{Gamma: 0.5, LabelSmoothing: 0.1}},
	{"4x5 gamma1 alpha", 4, 5, Binary{Gamma: 1, Alpha: []float64{0.25}}},
	{"4x5 gamma3.7 per-class alpha", 4, 5, Binary{Gamma: 3.7, Alpha: []float64{0.1, 0.3, 0.5, 0.7, 0.9}}},
	{"2x6 logits", 2, 6, Binary{Gamma: 2, FromLogits: true}},
	{"5x3 logits smoothing alpha", 5, 3, Binary{Gamma: 2, FromLogits: true, LabelSmoothing: 0.2, Alpha: []float64{0.25}}},
	{"5x3 logits gamma0.5 per-class alpha", 5, 3, Binary{Gamma: 0.5, FromLogits: true, Alpha: []float64{0.2, 0.5, 0.8}}},
}

// random draws labels in {0, 1} with some soft labels, and probabilities in
// (0.01, 0.99) or logits in (-8, 8).
func (c binaryCase) random(seed uint64) (labels, preds []float64) {
	rng := rand.New(rand.NewPCG(seed, 11))
	n := c.rows * c.cols
	labels, preds = make([]float64, n), make([]float64, n)
	for i := range preds {
		switch r := rng.Float64(); {
		case r < 0.2:
			labels[i] = rng.Float64()
		case r < 0.6:
			labels[i] = 1
		}
		if c.prm.FromLogits {
			preds[i] = -8 + 16*rng.Float64()
		} else {
			preds[i] = 0.01 + 0.98*rng.Float64()
		}
	}
	return labels, preds
}

func TestBinaryGradientFiniteDifferences(t *testing.T) {
	for i, c := range binaryCases {
		t.Run(c.name, func(t *testing.T) {
			labels, preds := c.random(uint64(i))
			loss, grad := make([]float64, c.rows), make([]float64, c.rows*c.cols)
			require.NoError(t, BinaryLossGrad(loss, grad, labels, preds, c.cols, c.prm))
			for b := 0; b < c.rows; b++ {
				lo, hi := b*c.cols, (b+1)*c.cols
				x := slices.Clone(preds[lo:hi])
				at := func() float64 {
					out := make([]float64, 1)
					require.NoError(t, BinaryLossGrad(out, nil, labels[lo:hi], x, c.cols, c.prm))
					return out[0]
				}
				for k := range x {
					const h = 1e-6
					orig := x[k]
					x[k] = orig + h
					up := at()
					x[k] = orig - h
					down := at()
					x[k] = orig
					numeric := (up - down) / (2 * h)
					assert.InDelta(t, numeric, grad[lo+k], 1e-6*(1+math.Abs(numeric)), "row %d class %d", b, k)
				}
			}
		})
	}
}

func TestBinaryGammaZeroIsCrossEntropy(t *testing.T) {
	labels := []float64{1, 0, 0.3, 1}
	preds := []float64{0.9, 0.2, 0.6, 1e-9}
	loss := make([]float64, 1)
	require.NoError(t, BinaryLossGrad(loss, nil, labels, preds, 4, Binary{}))
	var want float64
	for i, y := range labels {
		p := math.Min(math.Max(preds[i], 1e-7), 1-1e-7)
		want -= y*math.Log(p) + (1-y)*math.Log(1-p)
	}
	assert.InEpsilon(t, want/4, loss[0], 1e-15)
}

// Where Keras's clip is inactive, logits and their probabilities agree.
func TestBinaryLogitsMatchProbabilities(t *testing.T) {
	for i, c := range binaryCases {
		if !c.prm.FromLogits {
			continue
		}
		labels, logits := c.random(uint64(50 + i))
		probs := make([]float64, len(logits))
		for k, z := range logits {
			probs[k] = 1 / (1 + math.Exp(-z))
		}
		fromProbs := c.prm
		fromProbs.FromLogits = false
		lossZ, gradZ := make([]float64, c.rows), make([]float64, len(logits))
		lossP, gradP := make([]float64, c.rows), make([]float64, len(logits))
		require.NoError(t, BinaryLossGrad(lossZ, gradZ, labels, logits, c.cols, c.prm))
		require.NoError(t, BinaryLossGrad(lossP, gradP, labels, probs, c.cols, fromProbs))
		assertClose(t, lossP, lossZ, 1e-9, 0)
		for k := range gradP {
			gradP[k] *= probs[k] * (1 - probs[k]) // chain rule through the sigmoid
		}
		assertClose(t, gradP, gradZ, 1e-8, 1e-15)
	}
}

func TestBinaryExtremeLogits(t *testing.T) {
	labels := []float64{0, 1, 1, 0}
	logits := []float64{1000, -1000, 1000, -1000}
	loss, grad := make([]float64, 1), make([]float64, 4)
	require.NoError(t, BinaryLossGrad(loss, grad, labels, logits, 4, Binary{Gamma: 2, FromLogits: true}))
	// Two wrong logits of 1000 cost 1000 each; the right ones cost nothing.
	assert.Equal(t, 500.0, loss[0])
	assert.Equal(t, []float64{0.25, -0.25, 0, 0}, grad, "wrong logits still teach; right ones rest")

	loss32, grad32 := make([]float32, 1), make([]float32, 4)
	require.NoError(t, BinaryLossGrad(loss32, grad32, []float32{0, 1, 1, 0}, []float32{1000, -1000, 1000, -1000}, 4, Binary{Gamma: 2, FromLogits: true}))
	assert.Equal(t, float32(500), loss32[0])
	assert.Equal(t, []float32{0.25, -0.25, 0, 0}, grad32)
}

func TestBinaryAlpha(t *testing.T) {
	labels, preds := binaryCases[3].random(3)
	one, per := make([]float64, 4), make([]float64, 4)
	require.NoError(t, BinaryLossGrad(one, nil, labels, preds, 5, Binary{Gamma: 1, Alpha: []float64{0.25}}))
	require.NoError(t, BinaryLossGrad(per, nil, labels, preds, 5, Binary{Gamma: 1, Alpha: []float64{0.25, 0.25, 0.25, 0.25, 0.25}}))
	assert.Equal(t, one, per, "one alpha is the same alpha for every class")

	// alpha weighs positives by alpha and negatives by 1 - alpha.
	loss, plain := make([]float64, 1), make([]float64, 1)
	require.NoError(t, BinaryLossGrad(loss, nil, []float64{1, 0}, []float64{0.3, 0.6}, 2, Binary{Alpha: []float64{0.2, 0.9}}))
	require.NoError(t, BinaryLossGrad(plain, nil, []float64{1, 0}, []float64{0.3, 0.6}, 2, Binary{}))
	assert.InEpsilon(t, (0.2*-math.Log(0.3)+0.1*-math.Log(0.4))/2, loss[0], 1e-14)
	assert.InEpsilon(t, (-math.Log(0.3)-math.Log(0.4))/2, plain[0], 1e-14)
}

func TestBinaryFloat32MatchesFloat64(t *testing.T) {
	for i, c := range binaryCases {
		t.Run(c.name, func(t *testing.T) {
			labels, preds := c.random(uint64(200 + i))
			l32, p32 := toF32(labels), toF32(preds)
			labels, preds = toF64(l32), toF64(p32)
			loss64, grad64 := make([]float64, c.rows), make([]float64, len(preds))
			loss32, grad32 := make([]float32, c.rows), make([]float32, len(preds))
			require.NoError(t, BinaryLossGrad(loss64, grad64, labels, preds, c.cols, c.prm))
			require.NoError(t, BinaryLossGrad(loss32, grad32, l32, p32, c.cols, c.prm))
			assertClose(t, loss64, toF64(loss32), 1e-6, 1e-7)
			assertClose(t, grad64, toF64(grad32), 1e-6, 1e-7)
		})
	}
}

func TestBinaryEdges(t *testing.T) {
	t.Run("empty batch", func(t *testing.T) {
		require.NoError(t, BinaryLossGrad([]float64{}, []float64{}, nil, nil, 3, Binary{Gamma: 2}))
	})
	t.Run("u = 0 takes the limit", func(t *testing.T) {
		for _, gamma := range []float64{0, 0.5, 1, 2} {
			loss, grad := make([]float64, 1), make([]float64, 2)
			require.NoError(t, BinaryLossGrad(loss, grad, []float64{1, 0}, []float64{1, 0}, 2, Binary{Gamma: gamma}))
			assert.False(t, math.IsNaN(grad[0]) || math.IsInf(grad[0], 0), "gamma %v: %v", gamma, grad)
			assert.False(t, math.IsNaN(grad[1]) || math.IsInf(grad[1], 0), "gamma %v: %v", gamma, grad)
		}
	})
	t.Run("NaN and Inf propagate", func(t *testing.T) {
		for _, prm := range []Binary{{Gamma: 2}, {}, {FromLogits: true}, {Gamma: 0.5, FromLogits: true, Alpha: []float64{0.3}}} {
			for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
				loss, grad := make([]float64, 2), make([]float64, 4)
				require.NoError(t, BinaryLossGrad(loss, grad, []float64{1, 0, 1, 0}, []float64{bad, 0.5, 0.5, 0.5}, 2, prm))
				assert.True(t, math.IsNaN(loss[0]), "%+v %v: loss %v", prm, bad, loss[0])
				assert.True(t, math.IsNaN(grad[0]), "%+v %v: grad %v", prm, bad, grad[0])
				assert.False(t, math.IsNaN(loss[1]) || math.IsNaN(grad[1]) || math.IsNaN(grad[2]))
			}
		}
	})
	t.Run("logits are not probabilities", func(t *testing.T) {
		loss := make([]float64, 1)
		require.NoError(t, BinaryLossGrad(loss, nil, []float64{1}, []float64{7.5}, 1, Binary{FromLogits: true}))
	})
}

func TestBinaryErrors(t *testing.T) {
	y, p := []float64{1, 0}, []float64{0.5, 0.5}
	for _, tc := range []struct {
		name string
		prm  Binary
		p    []float64
		kind error
		msg  string
	}{
		{"negative gamma", Binary{Gamma: -0.5}, p, ErrParam, "gamma = -0.5"},
		{"smoothing above 1", Binary{LabelSmoothing: 2}, p, ErrParam, "label_smoothing = 2"},
		{"alpha above 1", Binary{Alpha: []float64{1.5}}, p, ErrParam, "alpha[0] = 1.5"},
		{"NaN alpha", Binary{Alpha: []float64{0.5, math.NaN()}}, p, ErrParam, "alpha[1] = NaN"},
		{"alpha length", Binary{Alpha: []float64{0.1, 0.2, 0.3}}, p, ErrShape, "alpha holds 3 values for 2 classes"},
		{"probability", Binary{}, []float64{0.5, 1.5}, ErrValue, "predictions[0, 1] = 1.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loss := []float64{42}
			err := BinaryLossGrad(loss, nil, y, tc.p, 2, tc.prm)
			require.ErrorIs(t, err, tc.kind)
			assert.Contains(t, err.Error(), tc.msg)
			assert.Equal(t, 42.0, loss[0])
		})
	}
	require.ErrorIs(t, BinaryLossGrad(make([]float64, 1), nil, y, []float64{0.5}, 2, Binary{}), ErrShape)
}
