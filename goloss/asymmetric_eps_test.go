package goloss

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Eps, the clamp of the logs: 0 is the reference's 1e-8, other values in
// (0, 1) clamp there (rounded to the element type), anything else is an
// error naming eps.
func TestAsymmetricEps(t *testing.T) {
	for _, bad := range []float64{-1e-8, 1, 2, math.NaN(), math.Inf(1)} {
		prm := DefaultAsymmetric()
		prm.Eps = bad
		err := prm.Check()
		require.ErrorIs(t, err, ErrParam, "eps %v", bad)
		assert.Contains(t, err.Error(), "eps = ")
	}
	assert.Equal(t, DefaultEps, DefaultAsymmetric().Eps)

	// A positive with p below eps: its loss is -cw * w * log(eps), its
	// gradient 0 (the clamp passes nothing below eps).
	labels, preds := []float64{1, 0}, []float64{1e-5, 0.01}
	for _, eps := range []float64{1e-3, 1e-6, 0.5} {
		prm := Asymmetric{GammaNeg: 0, GammaPos: 0, Eps: eps}
		loss, grad := make([]float64, 1), make([]float64, 2)
		require.NoError(t, AsymmetricLossGrad(loss, grad, labels, preds, nil, 2, prm))
		want := -math.Log(max(1e-5, eps)) - math.Log(max(1-0.01, eps))
		assert.InDelta(t, want, loss[0], 1e-12*want, "eps %v", eps)
		if eps > 1e-5 {
			assert.Zero(t, grad[0], "eps %v: no gradient below the clamp", eps)
		} else {
			assert.InDelta(t, -1/1e-5, grad[0], 1e-6, "eps %v", eps)
		}
	}

	// 0 gives the same bits as DefaultEps, in both element types.
	zero, def := Asymmetric{GammaNeg: 4, GammaPos: 1, Clip: 0.05}, DefaultAsymmetric()
	y := []float64{1, 0, 1, 0, 0.3}
	p := []float64{1e-9, 1 - 1e-10, 0.5, 0.2, 1e-12}
	l0, l1 := make([]float64, 1), make([]float64, 1)
	g0, g1 := make([]float64, 5), make([]float64, 5)
	require.NoError(t, AsymmetricLossGrad(l0, g0, y, p, nil, 5, zero))
	require.NoError(t, AsymmetricLossGrad(l1, g1, y, p, nil, 5, def))
	assert.Equal(t, l1, l0)
	assert.Equal(t, g1, g0)
	y32, p32 := make([]float32, 5), make([]float32, 5)
	for i := range y {
		y32[i], p32[i] = float32(y[i]), float32(p[i])
	}
	m0, m1 := make([]float32, 1), make([]float32, 1)
	require.NoError(t, AsymmetricLossGrad(m0, nil, y32, p32, nil, 5, zero))
	require.NoError(t, AsymmetricLossGrad(m1, nil, y32, p32, nil, 5, def))
	assert.Equal(t, m1, m0)
	// The clamp of float32 is float32(1e-8): a positive at 0 costs -log of it.
	assert.InDelta(t, -math.Log(float64(float32(1e-8))), float64(m0[0])-float64(asymOthers(y32, p32, def)), 1e-4)
}

// asymOthers is the loss of the row without its first element.
func asymOthers(y, p []float32, prm Asymmetric) float32 {
	loss := make([]float32, 1)
	if err := AsymmetricLossGrad(loss, nil, y[1:], p[1:], nil, len(y)-1, prm); err != nil {
		panic(err)
	}
	return loss[0]
}
