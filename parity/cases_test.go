//go:build tensorflow

package parity

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gofocal/gofocal/goloss"
)

// parityCase is one seeded random input of the parity tests, generated in
// float64 and rounded to each element type.
type parityCase struct {
	name                    string
	rows, cols              int
	gamma, e                float64
	soft                    bool
	labels, preds, weights  []float64
	hasClipRows, hasMatches bool // for the coverage check
}

var (
	gammas = []float64{0, 0.5, 1, 2, 3.7}
	es     = []float64{0, 0.1, 1}
	// shapes from 1×1 to 512×2000; each is used three times.
	shapes = [][2]int{
		{1, 1}, {1, 2}, {2, 1}, {1, 9}, {3, 3}, {4, 10}, {9, 4}, {16, 16}, {5, 100}, {2, 1000},
		{32, 64}, {64, 20}, {7, 333}, {100, 50}, {128, 300}, {256, 128}, {40, 800}, {300, 7}, {20, 2000}, {512, 2000},
	}
)

// parityCases returns the 60 cases: every (gamma, e) pair with hard and
// with soft labels, twice, over the shapes. The same seed gives the same
// cases on every run.
var parityCases = sync.OnceValue(func() []parityCase {
	var cases []parityCase
	i := 0
	for round := range 2 {
		for _, soft := range []bool{false, true} {
			for _, gamma := range gammas {
				for _, e := range es {
					shape := shapes[(i*7+round)%len(shapes)]
					rng := rand.New(rand.NewPCG(20260, uint64(i)))
					c := generate(rng, shape[0], shape[1], gamma, e, soft)
					c.name = fmt.Sprintf("%02d_%dx%d_gamma%v_e%v", i, shape[0], shape[1], gamma, e)
					if soft {
						c.name += "_soft"
					}
					cases = append(cases, c)
					i++
				}
			}
		}
	}
	return cases
})

// generate draws one case. Rows are of five kinds:
//
//   - mixed: uniform predictions with exact 0s and 1s, tiny values at and
//     around the focal clip bound 1e-8, and values just below 1;
//   - dominant: one large prediction and the rest 0 or tiny, so that p/S
//     hits both clip bounds of the smoothing term;
//   - flat: every prediction equal, so that the smoothing gradient
//     M/S - 1/p cancels to 0 (tiny flat rows make both terms ~1e8);
//   - tiny: every prediction in [1e-9, 1e-6];
//   - match: predictions equal to the labels, so y - p = 0 at the positives.
//
// Labels are hard {0, 1} or soft. With a non-integer gamma, a soft positive
// label is at least its prediction (y - p < 0 has no real power; see
// TestNaNAgrees for that case).
func generate(rng *rand.Rand, rows, cols int, gamma, e float64, soft bool) parityCase {
	c := parityCase{rows: rows, cols: cols, gamma: gamma, e: e, soft: soft}
	n := rows * cols
	c.labels = make([]float64, n)
	c.preds = make([]float64, n)
	integerGamma := gamma == math.Trunc(gamma)
	for b := range rows {
		y := c.labels[b*cols : (b+1)*cols]
		p := c.preds[b*cols : (b+1)*cols]
		kind := rng.Float64()
		switch {
		case kind < 0.55:
			for j := range p {
				p[j] = mixedPrediction(rng)
			}
		case kind < 0.7:
			for j := range p {
				if rng.IntN(2) == 0 {
					p[j] = 0
				} else {
					p[j] = tinyPrediction(rng)
				}
			}
			p[rng.IntN(cols)] = []float64{1, 0.9, 0.5, rng.Float64()}[rng.IntN(4)]
			c.hasClipRows = true
		case kind < 0.8:
			v := rng.Float64()
			if rng.IntN(2) == 0 {
				v = tinyPrediction(rng)
			}
			for j := range p {
				p[j] = v
			}
		case kind < 0.9:
			for j := range p {
				p[j] = math.Pow(10, -9+3*rng.Float64())
			}
		default:
			for j := range p {
				p[j] = float64(rng.IntN(2))
			}
			copy(y, p)
			if soft {
				// soft labels equal to soft predictions
				for j := range p {
					if y[j] > 0 {
						y[j] = rng.Float64()
						p[j] = y[j]
					}
				}
			}
			c.hasMatches = true
		}
		if kind < 0.9 {
			for j := range y {
				y[j] = label(rng, p[j], soft, integerGamma)
			}
		}
		var sum float64
		for _, v := range p {
			sum += v
		}
		if sum == 0 { // SPEC: a zero row is NaN; TestNaNAgrees has those
			p[0] = 0.5
			if y[0] > 0 {
				p[0] = y[0] // keeps y >= p
			}
		}
	}
	counts := make([]float64, cols)
	for j := range counts {
		counts[j] = float64(1 + rng.IntN(1000))
	}
	c.weights = make([]float64, cols)
	if err := goloss.ClassWeights(c.weights, counts); err != nil {
		panic(err)
	}
	return c
}

// mixedPrediction draws from uniform (0, 1) most of the time, and otherwise
// from the values the clips and the special cases care about.
func mixedPrediction(rng *rand.Rand) float64 {
	switch u := rng.Float64(); {
	case u < 0.7:
		return rng.Float64()
	case u < 0.75:
		return 0
	case u < 0.8:
		return 1
	case u < 0.9:
		return tinyPrediction(rng)
	case u < 0.95:
		return 1 - math.Pow(10, -4-4*rng.Float64())
	default:
		return 1e-3 * rng.Float64()
	}
}

// tinyPrediction returns values at and around the focal clip bound 1e-8.
func tinyPrediction(rng *rand.Rand) float64 {
	switch rng.IntN(6) {
	case 0:
		return float64(float32(1e-8)) // the float32 bound itself
	case 1:
		return 1e-8 // the float64 bound itself
	case 2:
		return 1e-9
	case 3:
		return 5e-9
	case 4:
		return 1e-8 * (1 + rng.Float64())
	default:
		return 1e-7 * (1 + 9*rng.Float64())
	}
}

// label draws the label of a prediction p: 0 with probability 0.6 (0.7
// for hard labels), otherwise 1 or a soft label.
func label(rng *rand.Rand, p float64, soft, integerGamma bool) float64 {
	if !soft {
		if rng.Float64() < 0.3 {
			return 1
		}
		return 0
	}
	switch u := rng.Float64(); {
	case u < 0.6:
		return 0
	case u < 0.65:
		return p // y - p = 0 with a soft label
	case u < 0.7:
		return 1
	case integerGamma:
		return rng.Float64()
	default:
		return p + rng.Float64()*(1-p)
	}
}

// typed is a case rounded to the element type T.
type typed[T goloss.Float] struct {
	labels, preds, weights []T
}

func convert[T goloss.Float](c parityCase) typed[T] {
	return typed[T]{labels: toT[T](c.labels), preds: toT[T](c.preds), weights: toT[T](c.weights)}
}

func toT[T goloss.Float](v []float64) []T {
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = T(x)
	}
	return out
}

func toFloat64[T goloss.Float](v []T) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestCasesCoverTheBrief checks that the generated cases hold what the
// parity tests promise: at least 50 cases, every gamma and e, hard and soft
// labels, 1×1 and 512×2000, exact 0 and 1 predictions, values at the focal
// clip bound, rows clipped by the smoothing term's bounds, and y = p.
func TestCasesCoverTheBrief(t *testing.T) {
	cases := parityCases()
	require.GreaterOrEqual(t, len(cases), 50)
	type pair struct{ gamma, e float64 }
	seen := map[pair]int{}
	var soft, zeros, ones, atBound, clipRows, matches, small, large int
	for _, c := range cases {
		seen[pair{c.gamma, c.e}]++
		if c.soft {
			soft++
		}
		if c.hasClipRows {
			clipRows++
		}
		if c.hasMatches {
			matches++
		}
		if c.rows == 1 && c.cols == 1 {
			small++
		}
		if c.rows == 512 && c.cols == 2000 {
			large++
		}
		for _, p := range c.preds {
			switch p {
			case 0:
				zeros++
			case 1:
				ones++
			case 1e-8, float64(float32(1e-8)):
				atBound++
			}
		}
	}
	require.Len(t, seen, len(gammas)*len(es), "every (gamma, e) pair")
	require.Positive(t, soft)
	require.Less(t, soft, len(cases))
	for name, n := range map[string]int{"zeros": zeros, "ones": ones, "at the 1e-8 bound": atBound,
		"rows clipped by p/S": clipRows, "y = p": matches, "1×1": small, "512×2000": large} {
		require.Positive(t, n, name)
	}
}
