package goloss

import (
	"fmt"
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bigClassWeightsBeta evaluates SPEC's class-balanced weights in math/big
// (portBigPrec bits), independently of ClassWeightsBeta: beta^n by repeated
// squaring for integer counts, exp(n * log(beta)) otherwise, then 1 - beta^n
// and (1 - beta) / (1 - beta^n) normalised, rounded to float64 at the end.
func bigClassWeightsBeta(counts []float64, beta float64) []float64 {
	b := portBig(beta)
	one := portBig(1)
	terms := make([]*big.Float, len(counts))
	sum := portBig(0)
	for c, n := range counts {
		pow := portBig(1)
		switch {
		case beta == 0:
			pow = portBig(0)
		case n == math.Trunc(n) && n < 1<<53:
			sq := new(big.Float).SetPrec(portBigPrec).Set(b)
			for e := uint64(n); e != 0; e >>= 1 {
				if e&1 != 0 {
					pow.Mul(pow, sq)
				}
				sq.Mul(sq, sq)
			}
		default:
			pow = portBigExp(new(big.Float).SetPrec(portBigPrec).Mul(portBig(n), portBigLog(b)))
		}
		den := new(big.Float).SetPrec(portBigPrec).Sub(one, pow)
		terms[c] = new(big.Float).SetPrec(portBigPrec).Quo(new(big.Float).SetPrec(portBigPrec).Sub(one, b), den)
		sum.Add(sum, terms[c])
	}
	out := make([]float64, len(counts))
	for c, term := range terms {
		out[c], _ = new(big.Float).SetPrec(portBigPrec).Quo(term, sum).Float64()
	}
	return out
}

// TestClassWeightsBetaMatchesBigFloat holds ClassWeightsBeta to the formula
// evaluated in math/big, for the betas of the paper and counts up to 1e6
// (where 1 - 0.9999^n must not lose its digits), to 2e-15 (a few ulp: the
// roundings of log(beta), n*log(beta), expm1 and the normalisation), far
// inside SPEC's 1e-12.
func TestClassWeightsBetaMatchesBigFloat(t *testing.T) {
	countSets := [][]float64{
		{1, 2, 3},
		{1, 10, 100, 1000, 1e4, 1e5, 1e6},
		{1e6, 1},
		{5, 5, 5},
		{7, 13, 999999, 1e6, 250000, 42},
		{0.5, 2.5, 1e-3, 3},
		{1e6, 1e6 - 1},
	}
	for _, beta := range []float64{0, 0.5, 0.9, 0.99, 0.999, 0.9999} {
		for _, counts := range countSets {
			t.Run(fmt.Sprintf("beta %v counts %v", beta, counts), func(t *testing.T) {
				got := make([]float64, len(counts))
				require.NoError(t, ClassWeightsBeta(got, counts, beta))
				want := bigClassWeightsBeta(counts, beta)
				var sum float64
				for c := range got {
					assert.InDelta(t, want[c], got[c], 2e-15*want[c], "class %d: %v ulp", c, portULP(got[c], want[c]))
					sum += got[c]
				}
				assert.InDelta(t, 1, sum, 1e-15)
			})
		}
	}
	// beta = 0: uniform, exactly.
	w := make([]float64, 4)
	require.NoError(t, ClassWeightsBeta(w, []float64{1, 1e-300, 1e300, 7}, 0))
	assert.Equal(t, []float64{0.25, 0.25, 0.25, 0.25}, w)
}

// TestClassWeightsBetaAnySize: counts of any finite positive size give
// finite weights that sum to 1, where 1 - beta^n is 1 (huge counts), n times
// |log(beta)| to the last bit (tiny counts, where it may even underflow),
// or anything between.
func TestClassWeightsBetaAnySize(t *testing.T) {
	subnormal := 1e-310 // a variable: as a constant, subnormal / 1e-16 would be exact
	for _, tc := range []struct {
		counts []float64
		beta   float64
		want   []float64
	}{
		{[]float64{1e-308, 1e-308}, 0.9999, []float64{0.5, 0.5}},
		{[]float64{5e-324, 5e-324, 5e-324}, 0.5, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}},
		{[]float64{1e308, 1e308, 1e308, 1e308}, 0.9999, []float64{0.25, 0.25, 0.25, 0.25}},
		{[]float64{math.MaxFloat64, 1}, 0.5, []float64{1.0 / 3, 2.0 / 3}}, // effective numbers 2 and 1
		{[]float64{1e308, 1e6}, 0.9999, []float64{0.5, 0.5}},              // 1 - beta^n = 1 for both
		// Tiny counts: 1 - beta^n = n * |log(beta)|, and the weights are the seed's.
		{[]float64{2e-308, 1e-308}, 0.9, []float64{1.0 / 3, 2.0 / 3}},
		{[]float64{3e-300, 1e-300, 2e-300}, 0.99, []float64{2.0 / 11, 6.0 / 11, 3.0 / 11}},
		{[]float64{1e-20, 3e-20}, 0.5, []float64{0.75, 0.25}},
		// Tiny against large: the tiny count takes (nearly) all the weight.
		{[]float64{5e-324, 1}, 0.9, []float64{1, 5e-324 * -math.Log(0.9) / 0.1}},
		{[]float64{1e-308, 1e308}, 0.99, []float64{1, 1e-308 * -math.Log(0.99)}},
		{[]float64{subnormal, 1e-16, 1}, 0.5, []float64{1, subnormal / 1e-16, subnormal * math.Ln2 / 0.5}},
	} {
		got := make([]float64, len(tc.counts))
		require.NoError(t, ClassWeightsBeta(got, tc.counts, tc.beta))
		var sum float64
		for c, w := range got {
			assert.False(t, math.IsNaN(w) || math.IsInf(w, 0), "counts %v beta %v: weight %d = %v", tc.counts, tc.beta, c, w)
			tol := 1e-15 * tc.want[c]
			if tc.want[c] < 0x1p-1022 {
				tol = 2 * math.SmallestNonzeroFloat64 // a subnormal weight has the digits it has
			}
			assert.InDelta(t, tc.want[c], w, tol, "counts %v beta %v: weight %d", tc.counts, tc.beta, c)
			sum += w
		}
		assert.InDelta(t, 1, sum, 1e-15, "counts %v beta %v: weights %v", tc.counts, tc.beta, got)
	}
}

// TestClassWeightsBetaNearOne: as beta -> 1 the weights approach the seed's
// inverse frequency (ClassWeights), with an error of about n*(1-beta)/2.
func TestClassWeightsBetaNearOne(t *testing.T) {
	counts := []float64{1, 2, 3, 10, 1000}
	seed := make([]float64, len(counts))
	require.NoError(t, ClassWeights(seed, counts))
	for _, gap := range []float64{1e-6, 1e-9, 1e-12, 0x1p-53} {
		got := make([]float64, len(counts))
		require.NoError(t, ClassWeightsBeta(got, counts, 1-gap))
		for c := range got {
			assert.InDelta(t, seed[c], got[c], (1000*gap+4e-16)*seed[c], "beta 1 - %v, class %d", gap, c)
		}
	}
	// Tiny counts take the seed's weights bit for bit.
	tiny := []float64{1e-310, 3e-310, 2e-310}
	want, got := make([]float64, 3), make([]float64, 3)
	require.NoError(t, ClassWeights(want, tiny))
	require.NoError(t, ClassWeightsBeta(got, tiny, 0.999))
	assert.Equal(t, want, got)
}

func TestClassWeightsBetaErrors(t *testing.T) {
	for _, beta := range []float64{1, -0.1, 1.5, math.NaN(), math.Inf(1), math.Inf(-1)} {
		dst := []float64{42, 42}
		err := ClassWeightsBeta(dst, []float64{1, 2}, beta)
		require.ErrorIs(t, err, ErrParam, "beta %v", beta)
		assert.Equal(t, fmt.Sprintf("invalid parameter: beta = %v, want 0 <= beta < 1", beta), err.Error())
		assert.Equal(t, []float64{42, 42}, dst, "nothing written on error")
	}
	for _, tc := range []struct {
		counts []float64
		msg    string
	}{
		{[]float64{1, 0, 3}, "class count 1 is 0"},
		{[]float64{-2}, "class count 0 is -2"},
		{[]float64{1, math.NaN()}, "class count 1 is NaN"},
		{[]float64{1, math.Inf(1)}, "class count 1 is +Inf"},
	} {
		err := ClassWeightsBeta(make([]float64, len(tc.counts)), tc.counts, 0.9)
		require.ErrorIs(t, err, ErrValue)
		assert.Equal(t, "invalid value: "+tc.msg+", want a finite count > 0", err.Error())
	}
	require.ErrorIs(t, ClassWeightsBeta(nil, nil, 0.9), ErrShape)
	require.ErrorIs(t, ClassWeightsBeta(make([]float64, 2), []float64{1, 2, 3}, 0.9), ErrShape)
	require.ErrorIs(t, ClassWeightsBeta(make([]float64, 1), []float64{0}, 2), ErrValue, "counts are checked before beta")
}
