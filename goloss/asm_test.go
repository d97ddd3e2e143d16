package goloss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSeedAsmMatchesReference holds the assembly of the float32 seed
// kernels (the row sum, the clip masks and the main pass of internal/avx2
// and internal/avx512) to the reference loop seedRow, to SPEC's float32
// tolerance (checkSeedRow32), loss and gradient, with guard values around
// the gradient, on random and hard rows of many lengths (every tail length
// of 8 and 16 lanes), every integer gamma path (0, 1, 2 and the loop) and
// rows at the clip bounds of p/S, on every vector kernel this CPU has.
func TestSeedAsmMatchesReference(t *testing.T) {
	requireVectorKernels(t)
	rng := rand.New(rand.NewPCG(9, 9))
	var rows [][3][]float64
	for n := 1; n <= 70; n++ {
		y, p, w := seedRowCase(rng, n, n%2 == 0)
		rows = append(rows, [3][]float64{y, p, w})
	}
	for _, n := range []int{100, 1000, 1003} {
		for _, hard := range []bool{false, true} {
			y, p, w := seedRowCase(rng, n, hard)
			rows = append(rows, [3][]float64{y, p, w})
			// Small sums (S < 1), and predictions above 1 or below 0
			// (validation off).
			small, odd := make([]float64, n), slices.Clone(p)
			for c := range p {
				small[c] = p[c] * 1e-3
			}
			odd[0], odd[n/2] = 1.5, -0.25
			rows = append(rows, [3][]float64{y, small, w}, [3][]float64{y, odd, w})
		}
	}
	// Rows whose p/S lies on or near a clip bound.
	for _, p := range [][]float64{
		{1e-8, 0.5, 5e-9, 0, 1.8489914266070626e-08, 1.0499832203456976e-08, 9.99999993922529e-09},
		{1, 5e-8, 5e-8},
		{1e-7, 0.9999999, 0},
		{0.9999999, 1e-7, 1e-7 * (1 + 0x1p-21), 1e-7 * (1 - 0x1p-21)},
	} {
		y, w := make([]float64, len(p)), make([]float64, len(p))
		for c := range y {
			y[c], w[c] = float64(c%2), 1
		}
		rows = append(rows, [3][]float64{y, p, w})
	}
	for i, r := range rows {
		n := len(r[1])
		for _, gamma := range []float64{0, 1, 2, 3, 5, 8} {
			for _, e := range []float64{0, 0.1, 1} {
				name := fmt.Sprintf("row %d n=%d gamma=%v e=%v", i, n, gamma, e)
				for _, kernel := range vectorKernels() {
					useKernel(t, kernel)
					checkSeedRow32(t, kernel+" "+name, r[0], r[1], r[2], Seed{Gamma: gamma, E: e})
				}
			}
		}
	}
}

// TestBinaryAsmMatchesReference holds the assembly loops of the float32
// binary kernels (probabilities on avx2 and avx512, logits on avx512) to
// the reference loops binaryProbRow and binaryLogitsRow, to SPEC's float32
// tolerance (checkBinaryRow32), loss and gradient: rows of every tail
// length with edge inputs, soft labels, out-of-range and non-finite inputs
// (validation off), with and without label smoothing, for no alpha, one
// alpha and per-class alpha, and every integer gamma path, including rows
// where u^gamma overflows (the assembly stops and the portable row takes
// over).
func TestBinaryAsmMatchesReference(t *testing.T) {
	requireVectorKernels(t)
	rng := rand.New(rand.NewPCG(10, 10))
	type row struct {
		y, x, alpha []float64
		logits      bool
	}
	var rows []row
	for _, logits := range []bool{false, true} {
		for n := 1; n <= 40; n++ {
			y, x, alpha := binaryRowCase(rng, n, n%2 == 0, logits)
			rows = append(rows, row{y, x, alpha, logits})
		}
		for _, n := range []int{100, 1000, 1003} {
			y, x, alpha := binaryRowCase(rng, n, true, logits)
			rows = append(rows, row{y, x, alpha, logits})
			odd := slices.Clone(x)
			odd[0], odd[1], odd[2], odd[3], odd[n/2] = -3, 7, math.NaN(), math.Inf(1), 1e30
			rows = append(rows, row{y, odd, alpha, logits})
		}
	}
	// Hard labels (0 and 1 only: the float32 kernels' one-log vectors for
	// probabilities) on the same predictions, edge values included.
	for _, r := range slices.Clone(rows) {
		hard := make([]float64, len(r.y))
		for c, v := range r.y {
			if v >= 0.5 {
				hard[c] = 1
			}
		}
		rows = append(rows, row{hard, r.x, r.alpha, r.logits})
	}
	{
		for i, r := range rows {
			n := len(r.x)
			for _, gamma := range []float64{0, 1, 2, 3, 7} {
				for _, ls := range []float64{0, 0.1} {
					for _, alpha := range [][]float64{nil, {0.25}, r.alpha} {
						prm := Binary{Gamma: gamma, Alpha: alpha, LabelSmoothing: ls, FromLogits: r.logits, NoValidate: true}
						name := fmt.Sprintf("row %d %s", i, binaryName(n, prm))
						for _, kernel := range vectorKernels() {
							useKernel(t, kernel)
							checkBinaryRow32(t, kernel+" "+name, r.y, r.x, prm)
						}
					}
				}
			}
		}
	}
}

// requireVectorKernels skips a test of the vector kernels, saying so, on a
// CPU or build with none (TestMain reports every kernel not run).
func requireVectorKernels(t *testing.T) {
	if len(vectorKernels()) == 0 {
		t.Skipf("no vector kernel in this build or on this CPU (have %v)", Kernels())
	}
}

// TestSeedKernelsSparseLabels holds the float32 vector seed kernels to the
// reference loop seedRow on multi-hot labels with few positives, as
// long-tailed data has them: the main pass adds the focal term only in the
// vectors that hold a positive label, from a list of them it builds per
// row, so rows with none, with one positive in the first vector, at each
// end of the last full vector, in the tail, and with 1 to 20% positives,
// on lengths around the vector widths, every power kind. A matrix of those
// rows in one call, the list reused from row to row, gives each row the
// bits of that row alone.
func TestSeedKernelsSparseLabels(t *testing.T) {
	requireVectorKernels(t)
	rng := rand.New(rand.NewPCG(12, 7))
	byLen := map[int][][3][]float64{}
	lengths := []int{1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 100, 1000, 1003}
	for _, n := range lengths {
		add := func(y []float64) {
			_, p, w := seedRowCase(rng, n, false)
			byLen[n] = append(byLen[n], [3][]float64{y, p, w})
		}
		for _, rate := range []float64{0, 0.01, 0.05, 0.2} {
			y := make([]float64, n)
			for c := range y {
				if rng.Float64() < rate {
					y[c] = 1
				}
			}
			add(y)
		}
		for _, at := range []int{0, 7, 8, 15, 16, n/8*8 - 8, n/8*8 - 1, n - 1} {
			if at < 0 || at >= n {
				continue
			}
			y := make([]float64, n)
			y[at] = 1
			add(y)
			soft := make([]float64, n)
			soft[at] = 0.7
			add(soft)
		}
	}
	bits := func(v []float32) []uint32 {
		b := make([]uint32, len(v))
		for i, x := range v {
			b[i] = math.Float32bits(x)
		}
		return b
	}
	for _, kernel := range vectorKernels() {
		useKernel(t, kernel)
		for _, gamma := range []float64{0, 1, 2, 3, 3.7} {
			prm := Seed{Gamma: gamma, E: 0.1, NoValidate: true}
			for _, n := range lengths {
				rows := byLen[n]
				var y, p []float32
				for i, r := range rows {
					checkSeedRow32(t, fmt.Sprintf("%s n=%d row %d gamma=%v", kernel, n, i, gamma), r[0], r[1], r[2], prm)
					y, p = append(y, toF32(r[0])...), append(p, toF32(r[1])...)
				}
				w := toF32(rows[0][2])
				loss, grad := make([]float32, len(rows)), make([]float32, len(p))
				require.NoError(t, SeedLossGrad(loss, grad, y, p, w, n, prm))
				for i := range rows {
					l1, g1 := make([]float32, 1), make([]float32, n)
					require.NoError(t, SeedLossGrad(l1, g1, y[i*n:(i+1)*n], p[i*n:(i+1)*n], w, n, prm))
					require.Equal(t, math.Float32bits(l1[0]), math.Float32bits(loss[i]), "%s n=%d gamma=%v: row %d of the matrix, alone", kernel, n, gamma, i)
					require.Equal(t, bits(g1), bits(grad[i*n:(i+1)*n]), "%s n=%d gamma=%v: row %d's gradient, alone", kernel, n, gamma, i)
				}
			}
		}
	}
}
