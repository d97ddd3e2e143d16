package goloss

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gradScaleCall runs one variant into fresh loss and grad with the given
// GradScale.
type gradScaleCall[T Float] func(loss, grad []T, scale float64, threads int) error

// gradScaleCalls returns every variant's call on one set of inputs (seed
// with ignore values -1 and 0.5 too, binary from probabilities and logits,
// asymmetric from probabilities and logits).
func gradScaleCalls[T Float](labels, preds, weights []T, cols int) map[string]gradScaleCall[T] {
	logits := make([]T, len(preds))
	for i, p := range preds {
		logits[i] = T(math.Log(float64(p) / (1 - float64(p))))
	}
	ignored, halves := append([]T(nil), labels...), append([]T(nil), labels...)
	for i := 0; i < len(ignored); i += 7 {
		ignored[i], halves[i] = -1, 0.5
	}
	return map[string]gradScaleCall[T]{
		"seed": func(loss, grad []T, s float64, th int) error {
			return SeedLossGrad(loss, grad, labels, preds, weights, cols, Seed{Gamma: 2, E: 0.1, GradScale: s, Threads: th})
		},
		"seed gamma 2.5 ignore": func(loss, grad []T, s float64, th int) error {
			return SeedLossGrad(loss, grad, ignored, preds, weights, cols, Seed{Gamma: 2.5, E: 0.1, HasIgnore: true, IgnoreValue: -1, GradScale: s, Threads: th})
		},
		// An ignore value > 0: the rows run on copies of the labels,
		// block by block (seedRowsUnknown), each block scaled there.
		"seed ignore 0.5": func(loss, grad []T, s float64, th int) error {
			return SeedLossGrad(loss, grad, halves, preds, weights, cols, Seed{Gamma: 2, E: 0.1, HasIgnore: true, IgnoreValue: 0.5, GradScale: s, Threads: th})
		},
		"binary": func(loss, grad []T, s float64, th int) error {
			return BinaryLossGrad(loss, grad, labels, preds, cols, Binary{Gamma: 2, Alpha: []float64{0.25}, GradScale: s, Threads: th})
		},
		"binary logits": func(loss, grad []T, s float64, th int) error {
			return BinaryLossGrad(loss, grad, labels, logits, cols, Binary{Gamma: 2.5, FromLogits: true, GradScale: s, Threads: th})
		},
		"asymmetric": func(loss, grad []T, s float64, th int) error {
			return AsymmetricLossGrad(loss, grad, labels, preds, weights, cols, Asymmetric{GammaNeg: 4, GammaPos: 1, Clip: 0.05, GradScale: s, Threads: th})
		},
		"asymmetric logits": func(loss, grad []T, s float64, th int) error {
			return AsymmetricLossGrad(loss, grad, labels, logits, nil, cols, Asymmetric{GammaNeg: 4, GammaPos: 1, FromLogits: true, GradScale: s, Threads: th})
		},
	}
}

// TestGradScale holds GradScale to its promise on every kernel and variant:
// the loss has the bits of an unscaled call, and each gradient value the
// bits of the unscaled gradient times T(GradScale), for batches of one
// block of scaledRows and of several (2000 columns: 8 rows a block), on
// one thread and on three.
func TestGradScale(t *testing.T) {
	for _, kernel := range Kernels() {
		for _, shape := range [][2]int{{3, 7}, {37, 2000}} {
			rows, cols := shape[0], shape[1]
			labels, preds, weights := seedCase{rows: rows, cols: cols, soft: true}.random(uint64(rows))
			for _, scale := range []float64{1.0 / float64(rows), 1.0 / 1024, 3} {
				name := fmt.Sprintf("%s/%dx%d/scale=%g", kernel, rows, cols, scale)
				t.Run(name+"/float32", func(t *testing.T) {
					useKernel(t, kernel)
					expectGradScale(t, gradScaleCalls(toF32(labels), toF32(preds), toF32(weights), cols), rows, cols, scale)
				})
				t.Run(name+"/float64", func(t *testing.T) {
					useKernel(t, kernel)
					expectGradScale(t, gradScaleCalls(labels, preds, weights, cols), rows, cols, scale)
				})
			}
		}
	}
}

func expectGradScale[T Float](t *testing.T, calls map[string]gradScaleCall[T], rows, cols int, scale float64) {
	c := T(scale)
	for name, call := range calls {
		loss, grad := make([]T, rows), make([]T, rows*cols)
		require.NoError(t, call(loss, grad, 0, 1), name)
		for _, threads := range []int{1, 3} {
			sloss, sgrad := make([]T, rows), make([]T, rows*cols)
			require.NoError(t, call(sloss, sgrad, scale, threads), name)
			require.Equal(t, bitsOf(loss), bitsOf(sloss), "%s, %d threads: the loss is not scaled", name, threads)
			want := make([]T, len(grad))
			nonzero := 0
			for i, g := range grad {
				want[i] = c * g
				if g != 0 {
					nonzero++
				}
			}
			require.Greater(t, nonzero, len(grad)/2, name)
			require.Equal(t, bitsOf(want), bitsOf(sgrad), "%s, %d threads: grad = T(GradScale) * the unscaled grad", name, threads)
		}
	}
}

// bitsOf returns the bits of each value, so that a comparison tells -0
// from 0 and compares NaNs.
func bitsOf[T Float](v []T) []uint64 {
	bits := make([]uint64, len(v))
	for i, x := range v {
		bits[i] = floatBits(x)
	}
	return bits
}

// TestGradScaleErrors: a scale that is negative, NaN or infinite, or whose
// rounding to the element type is 0 or Inf, is an ErrParam naming
// grad_scale, and nothing is written.
func TestGradScaleErrors(t *testing.T) {
	labels, preds, weights := seedCase{rows: 2, cols: 3}.random(5)
	for _, tc := range []struct {
		scale float64
		f32   bool // an error in float32 only
		want  string
	}{
		{-1, false, "grad_scale = -1, want a finite grad_scale > 0 (0 for none)"},
		{math.NaN(), false, "grad_scale = NaN"},
		{math.Inf(1), false, "grad_scale = +Inf"},
		{-0.0, false, ""}, // -0 == 0: none
		{1e-60, true, "grad_scale = 1e-60 is 0 in float32, want a finite value > 0"},
		{1e300, true, "grad_scale = 1e+300 is +Inf in float32"},
	} {
		t.Run(fmt.Sprint(tc.scale), func(t *testing.T) {
			check := func(err error, loss []float64, f32 bool) {
				t.Helper()
				if tc.want == "" || (tc.f32 && !f32) {
					assert.NoError(t, err)
					return
				}
				assert.ErrorIs(t, err, ErrParam)
				assert.ErrorContains(t, err, tc.want)
				assert.Equal(t, []float64{42, 42}, loss, "nothing written")
			}
			for _, call := range gradScaleCalls(toF32(labels), toF32(preds), toF32(weights), 3) {
				loss := []float32{42, 42}
				err := call(loss, make([]float32, 6), tc.scale, 1)
				check(err, []float64{float64(loss[0]), float64(loss[1])}, true)
			}
			for _, call := range gradScaleCalls(labels, preds, weights, 3) {
				loss := []float64{42, 42}
				check(call(loss, make([]float64, 6), tc.scale, 1), loss, false)
			}
		})
	}
	assert.ErrorContains(t, Seed{Gamma: 2, GradScale: -2}.Check(), "grad_scale = -2")
	assert.ErrorContains(t, Binary{Gamma: 2, GradScale: math.NaN()}.Check(1), "grad_scale = NaN")
	assert.ErrorContains(t, Asymmetric{GradScale: math.Inf(1)}.Check(), "grad_scale = +Inf")
}
