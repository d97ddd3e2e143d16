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

// binaryCase is one seeded random input of the binary parity tests,
// generated in float64 and rounded to each element type.
type binaryCase struct {
	name          string
	rows, cols    int
	prm           goloss.Binary
	alphaKind     int // index into alphaKinds
	labels, preds []float64
}

var (
	labelSmoothings = []float64{0, 0.1}
	// alphaKinds: no class balancing, one alpha, one alpha per class.
	alphaKinds = []string{"none", "scalar", "per_class"}
)

// binaryCases returns the 60 cases: every combination of from_logits,
// gamma, label smoothing and alpha kind once, over the shapes of the seed
// cases (each shape three times). The same seed gives the same cases on
// every run.
var binaryCases = sync.OnceValue(func() []binaryCase {
	var cases []binaryCase
	i := 0
	for _, fromLogits := range []bool{false, true} {
		for _, gamma := range gammas {
			for _, ls := range labelSmoothings {
				for kind, alphaKind := range alphaKinds {
					shape := shapes[(i*7)%len(shapes)]
					rng := rand.New(rand.NewPCG(4, uint64(i)))
					c := generateBinary(rng, shape[0], shape[1], goloss.Binary{Gamma: gamma, LabelSmoothing: ls, FromLogits: fromLogits}, kind)
					input := "prob"
					if fromLogits {
						input = "logits"
					}
					c.name = fmt.Sprintf("%02d_%s_%dx%d_gamma%v_ls%v_alpha_%s", i, input, shape[0], shape[1], gamma, ls, alphaKind)
					cases = append(cases, c)
					i++
				}
			}
		}
	}
	return cases
})

// generateBinary draws one case with the parameters prm and alpha of the
// kind alphaKinds[alphaKind]. Labels are 0, 1 or soft, element by element.
// Rows of probabilities are of five kinds:
//
//   - mixed: uniform values with exact 0s and 1s, values at and around
//     the clip bounds 1e-7 and 1 - 1e-7 (in float32 and float64), tiny
//     values and values just below 1;
//   - match: predictions equal to the labels, so 1 - pt = 0 at hard labels
//     without label smoothing (SPEC's exception for gamma < 1);
//   - confident: every prediction exactly 0 or 1, right or wrong (the
//     clip bounds decide the loss);
//   - tiny: every prediction in [1e-12, 1e-5], where Keras's 1 - pt
//     cancels at negatives;
//   - near one: every prediction in [1 - 1e-5, 1 - 1e-12].
//
// Rows of logits are uniform in [-30, 30], moderate in [-5, 5], extreme
// (±30, ±20, ±16.6355324 where float32's sigmoid reaches 1, ±9), or near 0
// (exact 0, ±1e-8, ±1e-3, ±0.5).
func generateBinary(rng *rand.Rand, rows, cols int, prm goloss.Binary, alphaKind int) binaryCase {
	c := binaryCase{rows: rows, cols: cols, prm: prm, alphaKind: alphaKind}
	n := rows * cols
	c.labels = make([]float64, n)
	c.preds = make([]float64, n)
	for i := range c.labels {
		switch u := rng.Float64(); {
		case u < 0.35:
		case u < 0.7:
			c.labels[i] = 1
		default:
			c.labels[i] = rng.Float64()
		}
	}
	for b := range rows {
		y := c.labels[b*cols : (b+1)*cols]
		p := c.preds[b*cols : (b+1)*cols]
		kind := rng.Float64()
		if prm.FromLogits {
			for j := range p {
				p[j] = binaryLogit(rng, kind)
			}
			continue
		}
		switch {
		case kind < 0.5:
			for j := range p {
				p[j] = mixedBinaryProbability(rng)
			}
		case kind < 0.65:
			copy(p, y)
		case kind < 0.75:
			for j := range p {
				p[j] = float64(rng.IntN(2))
			}
		case kind < 0.87:
			for j := range p {
				p[j] = math.Pow(10, -12+7*rng.Float64())
			}
		default:
			for j := range p {
				p[j] = 1 - math.Pow(10, -12+7*rng.Float64())
			}
		}
	}
	switch alphaKind {
	case 1:
		c.prm.Alpha = []float64{[]float64{0.25, rng.Float64()}[rng.IntN(2)]}
	case 2:
		c.prm.Alpha = make([]float64, cols)
		for j := range c.prm.Alpha {
			switch u := rng.Float64(); {
			case u < 0.1:
			case u < 0.2:
				c.prm.Alpha[j] = 1
			default:
				c.prm.Alpha[j] = rng.Float64()
			}
		}
	}
	return c
}

// mixedBinaryProbability draws from uniform (0, 1) most of the time, and
// otherwise from the values the clip and the focal factor care about.
func mixedBinaryProbability(rng *rand.Rand) float64 {
	switch u := rng.Float64(); {
	case u < 0.6:
		return rng.Float64()
	case u < 0.66:
		return 0
	case u < 0.72:
		return 1
	case u < 0.8:
		// at and around the clip bounds, in float32 and float64
		return []float64{float64(float32(1e-7)), 1e-7, 5e-8, 1e-8, 2e-7,
			float64(float32(1 - 1e-7)), 1 - 1e-7, 1 - 2e-7, 1 - 5e-8}[rng.IntN(9)]
	case u < 0.9:
		return math.Pow(10, -12+7*rng.Float64())
	default:
		return 1 - math.Pow(10, -12+9*rng.Float64())
	}
}

// binaryLogit draws a logit for a row of the given kind (see generateBinary).
func binaryLogit(rng *rand.Rand, kind float64) float64 {
	sign := float64(1 - 2*rng.IntN(2))
	switch {
	case kind < 0.5:
		return 60*rng.Float64() - 30
	case kind < 0.7:
		return 10*rng.Float64() - 5
	case kind < 0.85:
		return sign * []float64{30, 20, 16.6355324, 9}[rng.IntN(4)]
	default:
		return sign * []float64{0, 1e-8, 1e-3, 0.5}[rng.IntN(4)]
	}
}

// typedBinary is a case's labels and predictions rounded to T.
type typedBinary[T goloss.Float] struct {
	labels, preds []T
}

func convertBinary[T goloss.Float](c binaryCase) typedBinary[T] {
	return typedBinary[T]{labels: toT[T](c.labels), preds: toT[T](c.preds)}
}

// TestBinaryCasesCoverTheBrief checks that the generated cases hold what
// the binary parity tests promise: at least 40 cases, every combination of
// from_logits, gamma, label smoothing and alpha kind, 1×1 and 512×2000 on
// probabilities and on logits, soft labels, exact 0 and 1 probabilities,
// probabilities at the clip bounds, SPEC's 1 - pt = 0 exception, logits of
// ±30 right and wrong, and logits of exactly 0.
func TestBinaryCasesCoverTheBrief(t *testing.T) {
	cases := binaryCases()
	require.GreaterOrEqual(t, len(cases), 40)
	type combo struct {
		fromLogits bool
		gamma, ls  float64
		alpha      int
	}
	seen := map[combo]bool{}
	counts := map[string]int{}
	for _, c := range cases {
		seen[combo{c.prm.FromLogits, c.prm.Gamma, c.prm.LabelSmoothing, c.alphaKind}] = true
		input := "probabilities"
		if c.prm.FromLogits {
			input = "logits"
		}
		if c.rows == 1 && c.cols == 1 {
			counts["1×1 "+input]++
		}
		if c.rows == 512 && c.cols == 2000 {
			counts["512×2000 "+input]++
		}
		for i, p := range c.preds {
			y := c.labels[i]
			if y != 0 && y != 1 {
				counts["soft labels"]++
			}
			if c.prm.FromLogits {
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
			switch p {
			case 0:
				counts["probability 0"]++
			case 1:
				counts["probability 1"]++
			case 1e-7, float64(float32(1e-7)), 1 - 1e-7, float64(float32(1 - 1e-7)):
				counts["probability at a clip bound"]++
			}
			if p == y && (y == 0 || y == 1) && c.prm.LabelSmoothing == 0 && c.prm.Gamma < 1 {
				counts["1 - pt = 0 with gamma < 1"]++
			}
		}
	}
	require.Len(t, seen, 2*len(gammas)*len(labelSmoothings)*len(alphaKinds), "every combination")
	for _, name := range []string{"1×1 probabilities", "1×1 logits", "512×2000 probabilities", "512×2000 logits",
		"soft labels", "probability 0", "probability 1", "probability at a clip bound", "1 - pt = 0 with gamma < 1",
		"logit 0", "right logit ±30", "wrong logit ±30"} {
		require.Positive(t, counts[name], name)
	}
}
