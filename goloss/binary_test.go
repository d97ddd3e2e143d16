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

// TestBinaryLabelsOutsideUnit: with validation, a finite label outside
// [0, 1] is an error naming the first offending index, on probabilities
// and on logits, for both element types, on every kernel and any number of
// threads, and nothing is written. NaN and ±Inf labels propagate instead.
func TestBinaryLabelsOutsideUnit(t *testing.T) {
	const rows, cols = 700, 97 // enough work for several goroutines
	for _, kernel := range Kernels() {
		for _, prm := range []Binary{{Gamma: 2}, {Gamma: 0.5, FromLogits: true, Alpha: []float64{0.25}}} {
			for _, threads := range []int{1, 4} {
				prm.Threads = threads
				name := fmt.Sprintf("%s logits=%v threads=%d", kernel, prm.FromLogits, threads)
				t.Run(name, func(t *testing.T) {
					useKernel(t, kernel)
					for _, tc := range []struct {
						bad  float64
						at   []int // offending flat indices; the first is named
						want string
					}{
						{-2, []int{3*cols + 5}, "labels[3, 5] = -2 is not in [0, 1]"},
						{1.5, []int{650*cols + 96, 2*cols + 1}, "labels[2, 1] = 1.5 is not in [0, 1]"},
						{-1e-30, []int{0}, "labels[0, 0] = -1e-30 is not in [0, 1]"},
						{1.0000001, []int{(rows-1)*cols + cols - 1}, "labels[699, 96] = 1.0000001 is not in [0, 1]"},
					} {
						labels, preds := binaryCase{rows: rows, cols: cols, prm: prm}.random(7)
						for _, i := range tc.at {
							labels[i] = tc.bad
						}
						loss := slices.Repeat([]float64{42}, rows)
						grad := slices.Repeat([]float64{42}, rows*cols)
						err := BinaryLossGrad(loss, grad, labels, preds, cols, prm)
						require.ErrorIs(t, err, ErrValue)
						assert.Equal(t, "invalid value: "+tc.want, err.Error())
						assert.Equal(t, slices.Repeat([]float64{42}, rows), loss, "loss written on error")
						assert.Equal(t, slices.Repeat([]float64{42}, rows*cols), grad, "grad written on error")

						err32 := BinaryLossGrad(make([]float32, rows), nil, toF32(labels), toF32(preds), cols, prm)
						require.ErrorIs(t, err32, ErrValue)
						first := slices.Min(tc.at)
						assert.Contains(t, err32.Error(), fmt.Sprintf("labels[%d, %d] = %v is not in [0, 1]", first/cols, first%cols, float32(tc.bad)))

						// Without validation the same call computes.
						off := prm
						off.NoValidate = true
						require.NoError(t, BinaryLossGrad(loss, grad, labels, preds, cols, off))
					}
				})
			}
		}
	}
}

// A bad label is named before a bad prediction, wherever each is.
func TestBinaryLabelsBeforePredictions(t *testing.T) {
	loss := []float64{42, 42}
	err := BinaryLossGrad(loss, nil, []float64{1, 0, 0, -2}, []float64{1.5, 0.5, 0.5, 0.5}, 2, Binary{})
	require.ErrorIs(t, err, ErrValue)
	assert.Equal(t, "invalid value: labels[1, 1] = -2 is not in [0, 1]", err.Error())
	err = BinaryLossGrad(loss, nil, []float64{1, 0, 0, 1}, []float64{1.5, 0.5, 0.5, 0.5}, 2, Binary{})
	assert.Contains(t, err.Error(), "predictions[0, 0] = 1.5 is not a probability in [0, 1]")
	assert.Equal(t, []float64{42, 42}, loss)
}

// Labels on the edges of [0, 1], soft labels inside it and -0 are fine;
// NaN and ±Inf labels are no error (as ±Inf predictions are none): they
// propagate into the loss of their row, on every kernel, for both element
// types. The loss is NaN except on logits with gamma = 0, where it is ∓Inf
// (bce = max(z, 0) - z*t + ... with t = ±Inf, times u^0 = 1).
func TestBinaryLabelsThatPass(t *testing.T) {
	for _, kernel := range Kernels() {
		useKernel(t, kernel)
		for _, prm := range []Binary{{Gamma: 2}, {}, {Gamma: 0.5, LabelSmoothing: 0.1}, {FromLogits: true}, {Gamma: 2, FromLogits: true, Alpha: []float64{0.3}}} {
			preds := []float64{0.3, 0.6, 0.2, 0.9, 0.5, 0.5, 0.5, 0.5}
			require.NoError(t, BinaryLossGrad(make([]float64, 2), nil, []float64{0, 1, 0.25, math.Copysign(0, -1), 1, 0, 1, 0}, preds, 4, prm))
			for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
				labels := []float64{bad, 1, 0, 1, 1, 0, 1, 0}
				loss, grad := make([]float64, 2), make([]float64, 8)
				require.NoError(t, BinaryLossGrad(loss, grad, labels, preds, 4, prm), "%s %+v label %v", kernel, prm, bad)
				want := math.NaN()
				if prm.FromLogits && prm.Gamma == 0 && !math.IsNaN(bad) {
					want = -bad
				}
				same := func(got float64) bool { return math.IsNaN(want) && math.IsNaN(got) || want == got }
				assert.True(t, same(loss[0]), "%s %+v label %v: loss %v, want %v", kernel, prm, bad, loss[0], want)
				assert.False(t, math.IsNaN(loss[1]) || math.IsInf(loss[1], 0), "%s %+v label %v: row 1 %v", kernel, prm, bad, loss[1])
				loss32 := make([]float32, 2)
				require.NoError(t, BinaryLossGrad(loss32, nil, toF32(labels), toF32(preds), 4, prm))
				assert.True(t, same(float64(loss32[0])), "%s %+v label %v: float32 loss %v, want %v", kernel, prm, bad, loss32[0], want)
			}
		}
	}
}
