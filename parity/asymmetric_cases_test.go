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

// asymmetricCase is one seeded random input of the asymmetric parity
// tests, generated in float64 and rounded to each element type.
type asymmetricCase struct {
	name                   string
	rows, cols             int
	prm                    goloss.Asymmetric
	labels, preds, weights []float64 // weights empty: none (all 1)
}

var (
	asymmetricClips = []float64{0, 0.05, 0.2}
	// asymmetricGammas are (gamma_neg, gamma_pos): the reference's
	// defaults, plain cross-entropy (w = 1), symmetric focusing,
	// non-integer gammas with gamma_pos < 1, and gamma_pos = 0 beside a
	// gamma_neg < 1 (g < 1 on both sides: SPEC's autodiff exception).
	asymmetricGammas = [][2]float64{{4, 1}, {0, 0}, {2, 2}, {3.3, 0.7}, {0.5, 0}}
	// asymmetricEpses are the clamps of the logs: 0 (the default, 1e-8),
	// 1e-8 given, and a larger one.
	asymmetricEpses = []float64{0, 1e-8, 1e-3}
)

// asymmetricCases returns the 60 cases: every combination of focal_grad,
// from_logits, clip and (gamma_neg, gamma_pos) once, over the shapes of the
// seed cases (each shape three times), eps cycling through
// asymmetricEpses. Class weights and the ignore value
// -1 alternate so that every (focal_grad, from_logits) pair meets all four
// of their combinations. The same seed gives the same cases on every run.
var asymmetricCases = sync.OnceValue(func() []asymmetricCase {
	var cases []asymmetricCase
	i := 0
	for _, focalGrad := range []bool{false, true} {
		for _, fromLogits := range []bool{false, true} {
			for _, clip := range asymmetricClips {
				for _, gammas := range asymmetricGammas {
					shape := shapes[(i*7)%len(shapes)]
					rng := rand.New(rand.NewPCG(5, uint64(i)))
					prm := goloss.Asymmetric{GammaNeg: gammas[0], GammaPos: gammas[1], Clip: clip,
						FocalGrad: focalGrad, FromLogits: fromLogits}
					prm.Eps = asymmetricEpses[i%len(asymmetricEpses)]
					weighted := i%2 == 1
					if (i/2)%2 == 1 {
						prm.HasIgnore, prm.IgnoreValue = true, -1
					}
					c := generateAsymmetric(rng, shape[0], shape[1], prm, weighted)
					input := "prob"
					if fromLogits {
						input = "logits"
					}
					c.name = fmt.Sprintf("%02d_%s_%dx%d_focalgrad%v_clip%v_gneg%v_gpos%v", i, input, shape[0], shape[1],
						focalGrad, clip, gammas[0], gammas[1])
					if prm.Eps != 0 {
						c.name += fmt.Sprintf("_eps%v", prm.Eps)
					}
					if weighted {
						c.name += "_weighted"
					}
					if prm.HasIgnore {
						c.name += "_ignore-1"
					}
					cases = append(cases, c)
					i++
				}
			}
		}
	}
	return cases
})

// generateAsymmetric draws one case with the parameters prm, with class
// weights when weighted. Labels are 0 (most: ASL is for data with many
// negatives), 1 or soft, and with an ignore value 15% are unknown (it), as
// are all the labels of some rows. Rows of probabilities are of five kinds:
//
//   - mixed: uniform values with exact 0s and 1s, values at the clip m
//     (in float32 and float64) and near it, at and around eps,
//     tiny values and values just below 1;
//   - match: predictions equal to the known labels, so 1 - pt = 0 at hard
//     labels (SPEC's exception for g < 1 with focal_grad);
//   - shifted away: every prediction below the clip m, so the negatives'
//     neg clamps to 1 and 1 - pt = 0 (for m = 0: every prediction 0);
//   - tiny: every prediction in [1e-12, 1e-5];
//   - near one: every prediction in [1 - 1e-5, 1 - 1e-12].
//
// Rows of logits are those of the binary cases (see binaryLogit): uniform
// in [-30, 30], moderate, extreme, near 0.
func generateAsymmetric(rng *rand.Rand, rows, cols int, prm goloss.Asymmetric, weighted bool) asymmetricCase {
	c := asymmetricCase{rows: rows, cols: cols, prm: prm}
	n := rows * cols
	c.labels = make([]float64, n)
	c.preds = make([]float64, n)
	for i := range c.labels {
		switch u := rng.Float64(); {
		case prm.HasIgnore && u < 0.15:
			c.labels[i] = prm.IgnoreValue
		case u < 0.6:
		case u < 0.85:
			c.labels[i] = 1
		default:
			c.labels[i] = rng.Float64()
		}
	}
	m := prm.Clip
	for b := range rows {
		y := c.labels[b*cols : (b+1)*cols]
		p := c.preds[b*cols : (b+1)*cols]
		if prm.HasIgnore && rng.Float64() < 0.05 {
			for j := range y {
				y[j] = prm.IgnoreValue
			}
		}
		kind := rng.Float64()
		if prm.FromLogits {
			for j := range p {
				p[j] = binaryLogit(rng, kind)
			}
			continue
		}
		for j := range p {
			switch {
			case kind < 0.5:
				p[j] = mixedAsymmetricProbability(rng, m, AsymmetricEps(prm))
			case kind < 0.65:
				p[j] = y[j]
				if prm.HasIgnore && y[j] == prm.IgnoreValue {
					p[j] = rng.Float64()
				}
			case kind < 0.75:
				p[j] = m * rng.Float64()
			case kind < 0.87:
				p[j] = math.Pow(10, -12+7*rng.Float64())
			default:
				p[j] = 1 - math.Pow(10, -12+7*rng.Float64())
			}
		}
	}
	if weighted {
		c.weights = make([]float64, cols)
		for j := range c.weights {
			switch u := rng.Float64(); {
			case u < 0.1:
			case u < 0.2:
				c.weights[j] = 1
			default:
				c.weights[j] = 2 * rng.Float64()
			}
		}
	}
	return c
}

// mixedAsymmetricProbability draws from uniform (0, 1) most of the time,
// and otherwise from the values the clip m, the eps clamp and the focal
// weight care about.
func mixedAsymmetricProbability(rng *rand.Rand, m, eps float64) float64 {
	switch u := rng.Float64(); {
	case u < 0.55:
		return rng.Float64()
	case u < 0.6:
		return 0
	case u < 0.65:
		return 1
	case u < 0.72:
		// at and near the clip (not within a few ulps of it but at it:
		// there T's rounding of 1 - p + m decides the branch)
		return []float64{m, float64(float32(m)), m * (1 + 1e-3), m * (1 - 1e-3), 2 * m}[rng.IntN(5)]
	case u < 0.8:
		// at and around the eps clamp, in float32 and float64
		return []float64{eps, float64(float32(eps)), eps / 2, 2 * eps, 1 - eps}[rng.IntN(5)]
	case u < 0.9:
		return math.Pow(10, -12+7*rng.Float64())
	default:
		return 1 - math.Pow(10, -12+9*rng.Float64())
	}
}

// typedAsymmetric is a case's labels, predictions and class weights
// rounded to T.
type typedAsymmetric[T goloss.Float] struct {
	labels, preds, weights []T
}

func convertAsymmetric[T goloss.Float](c asymmetricCase) typedAsymmetric[T] {
	return typedAsymmetric[T]{labels: toT[T](c.labels), preds: toT[T](c.preds), weights: toT[T](c.weights)}
}

// TestAsymmetricCasesCoverTheBrief checks that the generated cases hold
// what the asymmetric parity tests promise: every combination of
// focal_grad, from_logits, clip and gammas, class weights and the ignore
// value with each (focal_grad, from_logits) pair, 1×1 and 512×2000 on
// probabilities and on logits, soft and unknown labels, rows with no known
// label, exact 0 and 1 probabilities, probabilities at the clip and at eps,
// negatives shifted to neg = 1, SPEC's 1 - pt = 0 exception with g < 1 in
// the focal_grad mode, logits of ±30 right and wrong, and logits of 0.
func TestAsymmetricCasesCoverTheBrief(t *testing.T) {
	cases := asymmetricCases()
	type combo struct {
		focalGrad, fromLogits bool
		clip                  float64
		gammas                [2]float64
	}
	type extras struct {
		focalGrad, fromLogits, weighted, ignore bool
	}
	seen := map[combo]bool{}
	seenExtras := map[extras]bool{}
	counts := map[string]int{}
	for _, c := range cases {
		prm := c.prm
		seen[combo{prm.FocalGrad, prm.FromLogits, prm.Clip, [2]float64{prm.GammaNeg, prm.GammaPos}}] = true
		seenExtras[extras{prm.FocalGrad, prm.FromLogits, len(c.weights) > 0, prm.HasIgnore}] = true
		input := "probabilities"
		if prm.FromLogits {
			input = "logits"
		}
		if c.rows == 1 && c.cols == 1 {
			counts["1×1 "+input]++
		}
		if c.rows == 512 && c.cols == 2000 {
			counts["512×2000 "+input]++
		}
		for b := range c.rows {
			unknown := 0
			for j := range c.cols {
				if prm.HasIgnore && c.labels[b*c.cols+j] == prm.IgnoreValue {
					unknown++
				}
			}
			if unknown == c.cols {
				counts["row with no known label"]++
			}
		}
		for i, p := range c.preds {
			y := c.labels[i]
			if prm.HasIgnore && y == prm.IgnoreValue {
				counts["unknown labels"]++
				continue
			}
			if y != 0 && y != 1 {
				counts["soft labels"]++
			}
			g := prm.GammaPos*y + prm.GammaNeg*(1-y)
			if prm.FromLogits {
				switch {
				case p == 0:
					counts["logit 0"]++
				case math.Abs(p) == 30 && (p > 0) == (y == 1):
					counts["right logit ±30"]++
				case math.Abs(p) == 30 && (p > 0) == (y == 0):
					counts["wrong logit ±30"]++
				}
				continue
			}
			switch {
			case p == 0:
				counts["probability 0"]++
			case p == 1:
				counts["probability 1"]++
			case prm.Clip > 0 && (p == prm.Clip || p == float64(float32(prm.Clip))):
				counts["probability at the clip"]++
			case p == AsymmetricEps(prm) || p == float64(float32(AsymmetricEps(prm))):
				counts["probability at eps"]++
			}
			if y == 0 && prm.Clip > 0 && p < prm.Clip {
				counts["negative shifted to neg = 1"]++
			}
			u := y*(1-p) + (1-y)*math.Max(p-prm.Clip, 0)
			if u == 0 && g < 1 && prm.FocalGrad && (prm.GammaNeg > 0 || prm.GammaPos > 0) {
				counts["1 - pt = 0 with g < 1, focal_grad"]++
			}
		}
	}
	require.Len(t, cases, 2*2*len(asymmetricClips)*len(asymmetricGammas))
	require.Len(t, seen, len(cases), "every combination")
	require.Len(t, seenExtras, 16, "weights × ignore with every (focal_grad, from_logits)")
	for _, name := range []string{"1×1 probabilities", "1×1 logits", "512×2000 probabilities", "512×2000 logits",
		"soft labels", "unknown labels", "row with no known label", "probability 0", "probability 1",
		"probability at the clip", "probability at eps", "negative shifted to neg = 1",
		"1 - pt = 0 with g < 1, focal_grad", "logit 0", "right logit ±30", "wrong logit ±30"} {
		require.Positive(t, counts[name], name)
	}
}
