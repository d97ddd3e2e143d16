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

// The asymmetric variant's worked example: two rows of logits with the
// reference's defaults (gamma_neg 4, gamma_pos 1, clip 0.05), one soft
// label, and two logits whose probability lies below the clip (z = -3 and
// -6: the shifted negative is clamped at 1 and passes no gradient). The
// values are TensorFlow's float64 autodiff of the reference's formulas
// (tf.sigmoid, tf.minimum, tf.maximum, tf.math.log, tf.pow, with
// tf.stop_gradient on w for the default gradient mode).
var (
	asymExampleLabels = []float64{1, 0, 0, 0.3, 0, 1, 0, 0}
	asymExampleLogits = []float64{1.5, -2.0, 0.25, 0.5, -3.0, -0.5, 4.0, -6.0}
	asymExampleLoss   = []float64{0.17977079197999307, 2.63489975864148}
	asymExampleGrad   = map[bool][]float64{
		false: {-0.033279071736023486, 2.5870539485793896e-06, 0.034720632948115254, 0.03449189422804483,
			0, -0.38745561900025993, 0.1960314566139679, 0},
		true: {-0.0633191475470067, 1.2568648440321702e-05, 0.12967066765360621, 0.08757639236581809,
			0, -0.6163673262527187, 0.34980664861170885, 0},
	}
)

func TestAsymmetricWorkedExample(t *testing.T) {
	for _, focalGrad := range []bool{false, true} {
		prm := DefaultAsymmetric()
		prm.FromLogits, prm.FocalGrad = true, focalGrad
		loss, grad := make([]float64, 2), make([]float64, 8)
		require.NoError(t, AsymmetricLossGrad(loss, grad, asymExampleLabels, asymExampleLogits, nil, 4, prm))
		assertClose(t, asymExampleLoss, loss, 1e-14, 0)
		assertClose(t, asymExampleGrad[focalGrad], grad, 1e-13, 1e-18)

		// The same probabilities give the same loss; the gradient is the
		// one with respect to p, which the chain rule turns into the one
		// above.
		probs := make([]float64, 8)
		for i, z := range asymExampleLogits {
			probs[i] = 1 / (1 + math.Exp(-z))
		}
		prm.FromLogits = false
		lossP, gradP := make([]float64, 2), make([]float64, 8)
		require.NoError(t, AsymmetricLossGrad(lossP, gradP, asymExampleLabels, probs, nil, 4, prm))
		assertClose(t, asymExampleLoss, lossP, 1e-14, 0)
		for i, p := range probs {
			gradP[i] *= p * (1 - p)
		}
		assertClose(t, asymExampleGrad[focalGrad], gradP, 1e-13, 1e-18)
	}
}

func TestAsymmetricDefaults(t *testing.T) {
	// The reference: AsymmetricLoss(gamma_neg=4, gamma_pos=1, clip=0.05,
	// eps=1e-8, disable_torch_grad_focal_loss=True).
	assert.Equal(t, Asymmetric{GammaNeg: 4, GammaPos: 1, Clip: 0.05, Eps: DefaultEps}, DefaultAsymmetric())
	assert.NoError(t, DefaultAsymmetric().Check())
	k := asymmetricConsts[float64](DefaultAsymmetric())
	assert.Equal(t, 1e-8, k.eps)
	assert.Equal(t, float64(float32(1e-8)), asymmetricConsts[float32](DefaultAsymmetric()).eps, "eps rounded to float32")
	assert.Equal(t, float64(float32(0.05)), asymmetricConsts[float32](DefaultAsymmetric()).clip, "clip rounded to float32")
	assert.True(t, k.focal)
	assert.False(t, k.focalGrad)
	assert.False(t, asymmetricConsts[float64](Asymmetric{}).focal, "gamma_pos = gamma_neg = 0: w = 1")
}

// asymSpec evaluates the asymmetric variant's formulas for one row as SPEC
// writes them, in plain float64, independently of asymmetric.go: p =
// 1/(1+exp(-z)), 1 - p by subtraction, neg = min(1 - p + m, 1), logs of
// the clamped values, w = (1-pt)^g. frozen, when not nil, holds the focal
// weights to use instead of computing them (the surrogate whose gradient
// FocalGrad = false is); it returns the loss, the gradient from the
// formulas, the weights w and the sum of the loss terms' magnitudes.
func asymSpec(y, x, cw []float64, prm Asymmetric, frozen []float64) (loss float64, grad, w []float64, mag float64) {
	const eps = 1e-8
	m := prm.Clip
	grad, w = make([]float64, len(x)), make([]float64, len(x))
	for c := range x {
		if prm.HasIgnore && y[c] == prm.IgnoreValue {
			continue
		}
		p, dpdx := x[c], 1.0
		if prm.FromLogits {
			p = 1 / (1 + math.Exp(-x[c]))
			dpdx = p * (1 - p)
		}
		pos, neg, dneg := p, 1-p, -1.0
		if m > 0 {
			neg = 1 - p + m
			if neg > 1 {
				neg, dneg = 1, 0
			}
		}
		ind := func(b bool) float64 {
			if b {
				return 1
			}
			return 0
		}
		ce := y[c]*math.Log(math.Max(pos, eps)) + (1-y[c])*math.Log(math.Max(neg, eps))
		dce := y[c]*ind(pos >= eps)/pos + (1-y[c])*ind(neg >= eps)/neg*dneg
		pt := y[c]*pos + (1-y[c])*neg
		g := prm.GammaPos*y[c] + prm.GammaNeg*(1-y[c])
		w[c] = 1
		var dw float64
		if prm.GammaPos > 0 || prm.GammaNeg > 0 {
			w[c] = math.Pow(1-pt, g)
			if 1-pt > 0 {
				dw = g * math.Pow(1-pt, g-1) * -(y[c] + (1-y[c])*dneg)
			}
		}
		if frozen != nil {
			w[c] = frozen[c]
		}
		a := 1.0
		if cw != nil {
			a = cw[c]
		}
		loss -= a * w[c] * ce
		mag += math.Abs(a * w[c] * ce)
		d := w[c] * dce
		if prm.FocalGrad {
			d += dw * ce
		}
		grad[c] = -a * d * dpdx
	}
	return loss, grad, w, mag
}

type asymCase struct {
	rows, cols int
	prm        Asymmetric
	weights    bool // random class weights, else none
}

func (c asymCase) String() string {
	return fmt.Sprintf("%dx%d gamma_neg=%v gamma_pos=%v clip=%v focal_grad=%v logits=%v weights=%v ignore=%v",
		c.rows, c.cols, c.prm.GammaNeg, c.prm.GammaPos, c.prm.Clip, c.prm.FocalGrad, c.prm.FromLogits, c.weights, c.prm.HasIgnore)
}

// asymCases is every combination the tests run: both gradient modes,
// logits and probabilities, clip 0, 0.05 and 0.2, the gamma pairs
// (gamma_neg, gamma_pos) (4, 1), (0, 0), (2.5, 0.5), (1, 3), with and
// without class weights and an ignore value.
func asymCases(rows, cols int) []asymCase {
	var cases []asymCase
	for _, logits := range []bool{false, true} {
		for _, clip := range []float64{0, 0.05, 0.2} {
			for _, gammas := range [][2]float64{{4, 1}, {0, 0}, {2.5, 0.5}, {1, 3}} {
				for _, focalGrad := range []bool{false, true} {
					for variation := range 3 { // none; class weights; weights and ignore value -1
						c := asymCase{rows: rows, cols: cols, prm: Asymmetric{GammaNeg: gammas[0], GammaPos: gammas[1], Clip: clip,
							FocalGrad: focalGrad, FromLogits: logits}}
						c.weights = variation > 0
						if variation == 2 {
							c.prm.HasIgnore, c.prm.IgnoreValue = true, -1
						}
						cases = append(cases, c)
					}
				}
			}
		}
	}
	return cases
}

// random draws labels 1 (40%), soft labels (20%) and 0, with a tenth of
// them unknown (-1) when the case has an ignore value, probabilities in
// (0.001, 0.999) or logits in (-8, 8), and class weights in (0.1, 2).
func (c asymCase) random(seed uint64) (labels, preds, weights []float64) {
	rng := rand.New(rand.NewPCG(seed, 13))
	n := c.rows * c.cols
	labels, preds = make([]float64, n), make([]float64, n)
	for i := range preds {
		switch r := rng.Float64(); {
		case r < 0.4:
			labels[i] = 1
		case r < 0.6:
			labels[i] = rng.Float64()
		}
		if c.prm.HasIgnore && rng.IntN(10) == 0 {
			labels[i] = c.prm.IgnoreValue
		}
		if c.prm.FromLogits {
			preds[i] = -8 + 16*rng.Float64()
		} else {
			preds[i] = 0.001 + 0.998*rng.Float64()
		}
	}
	if c.weights {
		weights = make([]float64, c.cols)
		for k := range weights {
			weights[k] = 0.1 + 1.9*rng.Float64()
		}
	}
	return labels, preds, weights
}

// TestAsymmetricMatchesSpec holds the reference loop, through
// AsymmetricLossGrad, to asymSpec: SPEC's 1e-12 relative, relative to the
// sum of the magnitudes of a row's terms for the loss (a soft label's
// terms can cancel) and to each gradient's own size.
func TestAsymmetricMatchesSpec(t *testing.T) {
	for i, c := range asymCases(6, 9) {
		t.Run(c.String(), func(t *testing.T) {
			labels, preds, weights := c.random(uint64(i))
			loss, grad := make([]float64, c.rows), make([]float64, c.rows*c.cols)
			require.NoError(t, AsymmetricLossGrad(loss, grad, labels, preds, weights, c.cols, c.prm))
			for b := range c.rows {
				lo, hi := b*c.cols, (b+1)*c.cols
				want, wantGrad, _, mag := asymSpec(labels[lo:hi], preds[lo:hi], weights, c.prm, nil)
				assert.InDelta(t, want, loss[b], 1e-12*mag+1e-300, "row %d", b)
				for k := range wantGrad {
					assert.InDelta(t, wantGrad[k], grad[lo+k], 1e-12*math.Abs(wantGrad[k])+1e-15, "row %d class %d", b, k)
				}
			}
		})
	}
}

// TestAsymmetricGradientFiniteDifferences checks the gradient against
// central differences in float64: of the loss itself with FocalGrad, and of
// the surrogate with w frozen at the point (asymSpec) without, where the
// reference's gradient treats w as a constant. Elements within 1e-4 of a
// kink (p = clip, where min(1 - p + m, 1) starts to pass) are left out.
func TestAsymmetricGradientFiniteDifferences(t *testing.T) {
	for i, c := range asymCases(3, 8) {
		t.Run(c.String(), func(t *testing.T) {
			labels, preds, weights := c.random(uint64(100 + i))
			loss, grad := make([]float64, c.rows), make([]float64, c.rows*c.cols)
			require.NoError(t, AsymmetricLossGrad(loss, grad, labels, preds, weights, c.cols, c.prm))
			for b := range c.rows {
				lo, hi := b*c.cols, (b+1)*c.cols
				y := labels[lo:hi]
				x := slices.Clone(preds[lo:hi])
				_, _, frozen, _ := asymSpec(y, x, weights, c.prm, nil)
				at := func() float64 {
					if !c.prm.FocalGrad {
						l, _, _, _ := asymSpec(y, x, weights, c.prm, frozen)
						return l
					}
					out := make([]float64, 1)
					require.NoError(t, AsymmetricLossGrad(out, nil, y, x, weights, c.cols, c.prm))
					return out[0]
				}
				for k := range x {
					p := x[k]
					if c.prm.FromLogits {
						p = 1 / (1 + math.Exp(-p))
					}
					if math.Abs(p-c.prm.Clip) < 1e-4 {
						continue
					}
					const h = 1e-6
					orig := x[k]
					x[k] = orig + h
					up := at()
					x[k] = orig - h
					down := at()
					x[k] = orig
					numeric := (up - down) / (2 * h)
					assert.InDelta(t, numeric, grad[lo+k], 1e-6*(1+math.Abs(numeric)), "row %d class %d (label %v)", b, k, y[k])
				}
			}
		})
	}
}

func TestAsymmetricFloat32MatchesFloat64(t *testing.T) {
	for i, c := range asymCases(5, 11) {
		t.Run(c.String(), func(t *testing.T) {
			labels, preds, weights := c.random(uint64(200 + i))
			l32, p32, w32 := toF32(labels), toF32(preds), toF32(weights)
			labels, preds, weights = toF64(l32), toF64(p32), toF64(w32)
			if !c.weights {
				weights, w32 = nil, nil
			}
			loss64, grad64 := make([]float64, c.rows), make([]float64, len(preds))
			loss32, grad32 := make([]float32, c.rows), make([]float32, len(preds))
			require.NoError(t, AsymmetricLossGrad(loss64, grad64, labels, preds, weights, c.cols, c.prm))
			require.NoError(t, AsymmetricLossGrad(loss32, grad32, l32, p32, w32, c.cols, c.prm))
			// SPEC's float32 tolerance: 1e-5 relative or 1e-6 absolute.
			assertClose(t, loss64, toF64(loss32), 1e-5, 1e-6)
			assertClose(t, grad64, toF64(grad32), 1e-5, 1e-6)
		})
	}
}

// TestAsymmetricThreadsGiveTheSameBits: rows are independent, so any number
// of goroutines gives bit-identical losses and gradients, on every kernel
// (whose quick validation pass runs before the rows).
func TestAsymmetricThreadsGiveTheSameBits(t *testing.T) {
	c := asymCase{rows: 400, cols: 203, weights: true,
		prm: Asymmetric{GammaNeg: 2.5, GammaPos: 0.5, Clip: 0.05, FocalGrad: true, HasIgnore: true, IgnoreValue: -1}}
	labels, preds, weights := c.random(19)
	for _, kernel := range Kernels() {
		useKernel(t, kernel)
		run := func(threads int) (loss, grad []float64, loss32 []float32) {
			prm := c.prm
			prm.Threads = threads
			loss, grad = make([]float64, c.rows), make([]float64, c.rows*c.cols)
			require.NoError(t, AsymmetricLossGrad(loss, grad, labels, preds, weights, c.cols, prm))
			loss32 = make([]float32, c.rows)
			require.NoError(t, AsymmetricLossGrad(loss32, nil, toF32(labels), toF32(preds), toF32(weights), c.cols, prm))
			return
		}
		l1, g1, f1 := run(1)
		for _, threads := range []int{0, 2, 3, 8, 1000} {
			l, g, f := run(threads)
			assert.Equal(t, bits(l1), bits(l), "%s loss, %d threads", kernel, threads)
			assert.Equal(t, bits(g1), bits(g), "%s grad, %d threads", kernel, threads)
			assert.Equal(t, f1, f, "%s float32 loss, %d threads", kernel, threads)
		}
	}
}

func TestAsymmetricErrors(t *testing.T) {
	y, p := []float64{1, 0}, []float64{0.5, 0.5}
	for _, tc := range []struct {
		name    string
		prm     Asymmetric
		y, p, w []float64
		kind    error
		msg     string
	}{
		{"negative gamma_neg", Asymmetric{GammaNeg: -1}, y, p, nil, ErrParam, "invalid parameter: gamma_neg = -1, want a finite gamma_neg >= 0"},
		{"NaN gamma_neg", Asymmetric{GammaNeg: math.NaN()}, y, p, nil, ErrParam, "gamma_neg = NaN"},
		{"infinite gamma_pos", Asymmetric{GammaPos: math.Inf(1)}, y, p, nil, ErrParam, "gamma_pos = +Inf, want a finite gamma_pos >= 0"},
		{"negative gamma_pos", Asymmetric{GammaNeg: 4, GammaPos: -0.5}, y, p, nil, ErrParam, "gamma_pos = -0.5"},
		{"clip above 1", Asymmetric{Clip: 1.5}, y, p, nil, ErrParam, "clip = 1.5, want 0 <= clip <= 1"},
		{"negative clip", Asymmetric{Clip: -0.05}, y, p, nil, ErrParam, "clip = -0.05"},
		{"NaN clip", Asymmetric{Clip: math.NaN()}, y, p, nil, ErrParam, "clip = NaN"},
		{"NaN ignore value", Asymmetric{HasIgnore: true, IgnoreValue: math.NaN()}, y, p, nil, ErrParam, "ignore_value = NaN, want a number (no label equals NaN)"},
		{"weights size", Asymmetric{}, y, p, []float64{1}, ErrShape, "class weights hold 1 values for 2 classes, want 2 or none"},
		{"negative weight", Asymmetric{}, y, p, []float64{1, -2}, ErrValue, "invalid value: class_weights[1] = -2, want a finite weight >= 0"},
		{"NaN weight", Asymmetric{}, y, p, []float64{math.NaN(), 1}, ErrValue, "class_weights[0] = NaN"},
		{"infinite weight", Asymmetric{}, y, p, []float64{1, math.Inf(1)}, ErrValue, "class_weights[1] = +Inf"},
		{"label -2", Asymmetric{}, []float64{1, -2}, p, nil, ErrValue, "invalid value: labels[0, 1] = -2 is not in [0, 1]"},
		{"label 1.5 from logits", Asymmetric{FromLogits: true}, []float64{1.5, 0}, []float64{7, -7}, nil, ErrValue, "labels[0, 0] = 1.5 is not in [0, 1]"},
		{"label -2 beside the ignore value -1", Asymmetric{HasIgnore: true, IgnoreValue: -1}, []float64{-1, -2}, p, nil, ErrValue, "labels[0, 1] = -2 is not in [0, 1]"},
		{"probability", Asymmetric{}, y, []float64{0.5, 1.5}, nil, ErrValue, "invalid value: predictions[0, 1] = 1.5 is not a probability in [0, 1]"},
		{"probability of an unknown label", Asymmetric{HasIgnore: true, IgnoreValue: -1}, []float64{-1, 0}, []float64{-0.5, 0.5}, nil, ErrValue, "predictions[0, 0] = -0.5"},
		{"label before probability", Asymmetric{}, []float64{1, 2}, []float64{1.5, 0.5}, nil, ErrValue, "labels[0, 1] = 2"},
		{"weight before label", Asymmetric{}, []float64{1, 2}, p, []float64{-1, 1}, ErrValue, "class_weights[0] = -1"},
	} {
		for _, kernel := range Kernels() {
			t.Run(tc.name+" "+kernel, func(t *testing.T) {
				useKernel(t, kernel)
				loss, grad := []float64{42}, []float64{42, 42}
				err := AsymmetricLossGrad(loss, grad, tc.y, tc.p, tc.w, 2, tc.prm)
				require.ErrorIs(t, err, tc.kind)
				assert.Contains(t, err.Error(), tc.msg)
				assert.Equal(t, []float64{42}, loss, "loss written on error")
				assert.Equal(t, []float64{42, 42}, grad, "grad written on error")
				err32 := AsymmetricLossGrad(make([]float32, 1), nil, toF32(tc.y), toF32(tc.p), toF32(tc.w), 2, tc.prm)
				require.ErrorIs(t, err32, tc.kind)
			})
		}
	}
	require.ErrorIs(t, AsymmetricLossGrad(make([]float64, 1), nil, y, []float64{0.5}, nil, 2, Asymmetric{}), ErrShape)
	require.ErrorIs(t, AsymmetricLossGrad([]float64{}, nil, nil, nil, nil, 0, Asymmetric{}), ErrShape, "zero classes")

	t.Run("validation can be switched off", func(t *testing.T) {
		loss := make([]float64, 1)
		require.NoError(t, AsymmetricLossGrad(loss, nil, []float64{-2, 0}, []float64{1.5, 0.5}, []float64{-1, 1}, 2, Asymmetric{NoValidate: true}))
	})
	t.Run("logits are not probabilities", func(t *testing.T) {
		require.NoError(t, AsymmetricLossGrad(make([]float64, 1), nil, y, []float64{7.5, -3}, nil, 2, Asymmetric{FromLogits: true}))
	})
}

func TestAsymmetricEdges(t *testing.T) {
	run := func(y, x, w []float64, prm Asymmetric) (loss, grad []float64) {
		t.Helper()
		loss, grad = make([]float64, len(x)/2), make([]float64, len(x))
		require.NoError(t, AsymmetricLossGrad(loss, grad, y, x, w, 2, prm))
		return loss, grad
	}
	t.Run("empty batch", func(t *testing.T) {
		loss, grad := run(nil, nil, nil, DefaultAsymmetric())
		assert.Empty(t, loss)
		assert.Empty(t, grad)
		require.NoError(t, AsymmetricLossGrad([]float32{}, nil, nil, nil, []float32{1, 1}, 2, DefaultAsymmetric()))
	})
	t.Run("gammas 0 and no clip are binary cross-entropy summed", func(t *testing.T) {
		y, p := []float64{1, 0, 0.3, 1}, []float64{0.9, 0.2, 0.6, 1e-9}
		loss, grad := run(y, p, nil, Asymmetric{})
		for b := range 2 {
			var want float64
			for c := 2 * b; c < 2*b+2; c++ {
				want -= y[c]*math.Log(math.Max(p[c], 1e-8)) + (1-y[c])*math.Log(1-p[c])
			}
			assert.InEpsilon(t, want, loss[b], 1e-15, "row %d", b)
		}
		assert.InEpsilon(t, -1/0.9, grad[0], 1e-15)
		assert.InEpsilon(t, 1/0.8, grad[1], 1e-15)
		assert.Equal(t, 0.0, grad[3], "p below eps: the clamp passes no gradient")
	})
	t.Run("the clamp at eps caps the loss at 18.42", func(t *testing.T) {
		for _, prm := range []Asymmetric{{FromLogits: true}, {FromLogits: true, GammaNeg: 4, GammaPos: 1}} {
			loss, grad := run([]float64{1, 0}, []float64{-1000, 1000}, nil, prm)
			assert.InEpsilon(t, -2*math.Log(1e-8), loss[0], 1e-15, "%+v", prm)
			assert.Equal(t, []float64{0, 0}, grad, "%+v", prm)
		}
		// With probability shifting a negative's loss is capped at -log(m).
		loss, _ := run([]float64{0, 0}, []float64{1000, 1}, nil, Asymmetric{FromLogits: true, Clip: 0.05})
		assert.InEpsilon(t, -math.Log(0.05)-math.Log(1-1/(1+math.Exp(-1))+0.05), loss[0], 1e-14)
		// Right logits of ±1000 cost nothing.
		loss, grad := run([]float64{1, 0}, []float64{1000, -1000}, nil, Asymmetric{FromLogits: true, GammaNeg: 4, GammaPos: 1})
		assert.Equal(t, []float64{0}, loss)
		assert.Equal(t, []float64{0, 0}, grad)
	})
	t.Run("below the clip a negative adds nothing", func(t *testing.T) {
		for _, focalGrad := range []bool{false, true} {
			loss, grad := run([]float64{0, 0}, []float64{0.01, 0.05}, nil, Asymmetric{GammaNeg: 4, Clip: 0.05, FocalGrad: focalGrad})
			assert.Equal(t, []float64{0}, loss)
			// p = m is on the bound, where the min passes: -(1-y) * w * -1/neg with w = 0^4 = 0.
			assert.Equal(t, []float64{0, 0}, grad)
			_, grad = run([]float64{0, 0}, []float64{0.01, 0.05}, nil, Asymmetric{Clip: 0.05, FocalGrad: focalGrad})
			assert.Equal(t, 0.0, grad[0], "clamped: no gradient")
			assert.Equal(t, 1.0, grad[1], "on the bound the min passes: d(-log(1 - p + m))/dp = 1/neg = 1")
		}
	})
	t.Run("u = 0 takes the limit of the focal gradient", func(t *testing.T) {
		for _, gamma := range []float64{0.25, 0.5, 1, 2, 4} {
			prm := Asymmetric{GammaNeg: gamma, GammaPos: gamma, Clip: 0.05, FocalGrad: true}
			loss, grad := run([]float64{1, 0}, []float64{1, 0.05}, nil, prm)
			assert.Equal(t, []float64{0}, loss, "gamma %v", gamma)
			// w = 0^gamma = 0, and the focal term's limit is 0 (autodiff:
			// 0 * inf = NaN for gamma < 1).
			assert.Equal(t, []float64{0, 0}, grad, "gamma %v", gamma)
		}
	})
	t.Run("0^0 is 1: a hard positive with gamma_pos 0", func(t *testing.T) {
		loss, _ := run([]float64{1, 0}, []float64{1, 0.5}, nil, Asymmetric{GammaNeg: 4})
		assert.InEpsilon(t, -math.Pow(0.5, 4)*math.Log(0.5), loss[0], 1e-15)
		loss, _ = run([]float64{1, 0}, []float64{0.5, 0.5}, nil, Asymmetric{GammaNeg: 4})
		assert.InEpsilon(t, -math.Log(0.5)-math.Pow(0.5, 4)*math.Log(0.5), loss[0], 1e-15)
	})
	t.Run("tiny u from logits with a small gamma stays finite", func(t *testing.T) {
		for _, z := range []float64{30, 200, 700, 740} {
			loss, grad := run([]float64{1, 0.5}, []float64{z, 0}, nil, Asymmetric{GammaPos: 0.01, GammaNeg: 0.01, FocalGrad: true, FromLogits: true})
			for _, v := range append(loss, grad...) {
				assert.False(t, math.IsNaN(v) || math.IsInf(v, 0), "z %v: %v %v", z, loss, grad)
			}
		}
	})
	t.Run("NaN and Inf propagate", func(t *testing.T) {
		for _, prm := range []Asymmetric{DefaultAsymmetric(), {}, {FromLogits: true}, {GammaNeg: 2.5, GammaPos: 0.5, FromLogits: true, FocalGrad: true}} {
			for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
				loss, grad := run([]float64{1, 0, 1, 0}, []float64{bad, 0.5, 0.5, 0.5}, nil, prm)
				assert.True(t, math.IsNaN(loss[0]), "%+v %v: loss %v", prm, bad, loss[0])
				assert.True(t, math.IsNaN(grad[0]), "%+v %v: grad %v", prm, bad, grad[0])
				assert.False(t, math.IsNaN(loss[1]) || math.IsNaN(grad[1]) || math.IsNaN(grad[2]))
				loss, grad = run([]float64{bad, 0, 1, 0}, []float64{0.5, 0.5, 0.5, 0.5}, nil, prm)
				assert.True(t, math.IsNaN(loss[0]) && math.IsNaN(grad[0]), "%+v label %v: %v %v", prm, bad, loss, grad)
				assert.False(t, math.IsNaN(loss[1]) || math.IsNaN(grad[1]))
			}
		}
	})
	t.Run("a row with no known class", func(t *testing.T) {
		prm := DefaultAsymmetric()
		prm.HasIgnore, prm.IgnoreValue = true, -1
		loss, grad := run([]float64{-1, -1, 1, -1}, []float64{0.3, math.NaN(), 0.6, 0.2}, []float64{2, 3}, prm)
		assert.Equal(t, 0.0, loss[0], "nothing known: loss 0")
		assert.Equal(t, []float64{0, 0, grad[2], 0}, grad, "unknown elements: zero gradient, a NaN prediction there unused")
		one, oneGrad := make([]float64, 1), make([]float64, 1)
		require.NoError(t, AsymmetricLossGrad(one, oneGrad, []float64{1}, []float64{0.6}, []float64{2}, 1, DefaultAsymmetric()))
		assert.Equal(t, one[0], loss[1], "the known class alone")
		assert.Equal(t, oneGrad[0], grad[2])
	})
}

// TestAsymmetricUnknownLabels: with an ignore value, a row's loss and
// gradient are those of its known classes alone (the same bits: the same
// terms; on the vector kernels, whose lane sums add the loss terms in
// another order once the unknown ones are left out, the loss to 1e-14),
// every unknown element's gradient is 0, and the ignore value is rounded
// to the element type.
func TestAsymmetricUnknownLabels(t *testing.T) {
	c := asymCase{rows: 20, cols: 13, weights: true,
		prm: Asymmetric{GammaNeg: 4, GammaPos: 1, Clip: 0.05, FocalGrad: true, FromLogits: true, HasIgnore: true, IgnoreValue: -1}}
	labels, preds, weights := c.random(23)
	loss, grad := make([]float64, c.rows), make([]float64, c.rows*c.cols)
	require.NoError(t, AsymmetricLossGrad(loss, grad, labels, preds, weights, c.cols, c.prm))
	known := c.prm
	known.HasIgnore = false
	for b := range c.rows {
		var y, x, w []float64
		for k := range c.cols {
			if i := b*c.cols + k; labels[i] != -1 {
				y, x, w = append(y, labels[i]), append(x, preds[i]), append(w, weights[k])
			} else {
				assert.Equal(t, 0.0, grad[i], "row %d class %d: unknown", b, k)
			}
		}
		if len(y) == 0 {
			assert.Equal(t, 0.0, loss[b])
			continue
		}
		want, wantGrad := make([]float64, 1), make([]float64, len(y))
		require.NoError(t, AsymmetricLossGrad(want, wantGrad, y, x, w, len(y), known))
		if activeKernel == KernelGeneric {
			assert.Equal(t, want[0], loss[b], "row %d", b)
		} else {
			assert.InDelta(t, want[0], loss[b], 1e-14*math.Abs(want[0]), "row %d", b)
		}
		j := 0
		for k := range c.cols {
			if i := b*c.cols + k; labels[i] != -1 {
				assert.Equal(t, wantGrad[j], grad[i], "row %d class %d", b, k)
				j++
			}
		}
	}

	// The ignore value is rounded to the element type: float32(0.1) labels
	// are unknown for an ignore value of 0.1.
	prm := Asymmetric{HasIgnore: true, IgnoreValue: 0.1}
	loss32 := make([]float32, 1)
	require.NoError(t, AsymmetricLossGrad(loss32, nil, []float32{0.1, 1}, []float32{0.5, 0.5}, nil, 2, prm))
	assert.InEpsilon(t, -math.Log(0.5), float64(loss32[0]), 1e-7)
	loss64 := make([]float64, 1)
	require.NoError(t, AsymmetricLossGrad(loss64, nil, []float64{float64(float32(0.1)), 1}, []float64{0.5, 0.5}, nil, 2, prm))
	assert.InEpsilon(t, -2*math.Log(0.5), loss64[0], 1e-15, "float32(0.1) is not 0.1 in float64")
}

// TestAsymmetricInputsUnchanged checks that inputs are not written and that
// nothing is written around the outputs.
func TestAsymmetricInputsUnchanged(t *testing.T) {
	c := asymCases(7, 10)[len(asymCases(7, 10))-1]
	labels, preds, weights := c.random(9)
	l0, p0, w0 := slices.Clone(labels), slices.Clone(preds), slices.Clone(weights)
	const guard = 1234.5
	n := c.rows * c.cols
	lossBuf, gradBuf := make([]float64, c.rows+2), make([]float64, n+2)
	lossBuf[0], lossBuf[c.rows+1], gradBuf[0], gradBuf[n+1] = guard, guard, guard, guard
	require.NoError(t, AsymmetricLossGrad(lossBuf[1:c.rows+1], gradBuf[1:n+1], labels, preds, weights, c.cols, c.prm))
	assert.Equal(t, l0, labels)
	assert.Equal(t, p0, preds)
	assert.Equal(t, w0, weights)
	assert.Equal(t, []float64{guard, guard}, []float64{lossBuf[0], lossBuf[c.rows+1]})
	assert.Equal(t, []float64{guard, guard}, []float64{gradBuf[0], gradBuf[n+1]})

	// The gradient does not change the loss.
	lossOnly := make([]float64, c.rows)
	require.NoError(t, AsymmetricLossGrad(lossOnly, nil, labels, preds, weights, c.cols, c.prm))
	assert.Equal(t, lossBuf[1:c.rows+1], lossOnly)
}
