//go:build goexperiment.simd && !noasm

package goloss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSeedAsmMatchesGo holds the assembly passes of the float32 seed kernel
// (seedasm512_amd64.s: the row sum, the clip masks and the main pass) to the
// same passes written with archsimd in seedRowFast512F32x16, bit for bit,
// loss and gradient, on random and hard rows of many lengths (every tail
// length), every integer gamma path (0, 1, 2 and the loop) and rows at the
// clip bounds of p/S.
func TestSeedAsmMatchesGo(t *testing.T) {
	if !slices.Contains(Kernels(), KernelAVX512) {
		t.Skip("no AVX-512 on this CPU")
	}
	useKernel(t, KernelAVX512)
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
		y, p, w := toF32(r[0]), toF32(r[1]), toF32(r[2])
		n := len(p)
		for _, gamma := range []float64{0, 1, 2, 3, 5, 8} {
			for _, e := range []float64{0, 0.1, 1} {
				name := fmt.Sprintf("row %d n=%d gamma=%v e=%v", i, n, gamma, e)
				prm := Seed{Gamma: gamma, E: e, NoValidate: true}
				run := func(inGo, withGrad bool) (float32, []float32) {
					old := passesInGo
					passesInGo = inGo
					defer func() { passesInGo = old }()
					loss := make([]float32, 1)
					var grad []float32
					if withGrad {
						grad = make([]float32, n)
					}
					require.NoError(t, SeedLossGrad(loss, grad, y, p, w, n, prm), name)
					return loss[0], grad
				}
				for _, withGrad := range []bool{true, false} {
					goLoss, goGrad := run(true, withGrad)
					asmLoss, asmGrad := run(false, withGrad)
					require.Equal(t, math.Float32bits(goLoss), math.Float32bits(asmLoss), "%s grad=%v: loss %v (asm) against %v (Go)", name, withGrad, asmLoss, goLoss)
					for c := range goGrad {
						require.Equal(t, math.Float32bits(goGrad[c]), math.Float32bits(asmGrad[c]), "%s: grad[%d] %v (asm) against %v (Go), y %v p %v", name, c, asmGrad[c], goGrad[c], y[c], p[c])
					}
				}
			}
		}
	}
}

// TestBinaryAsmMatchesGo holds the assembly loop of the float32 binary
// kernel on probabilities (binaryProbGradF32AVX512) to its archsimd form in
// binaryRow512F32x16, bit for bit, loss and gradient: rows of every tail
// length with edge probabilities, soft labels, out-of-range and non-finite
// inputs (validation off), with and without label smoothing, for no alpha,
// one alpha and per-class alpha, and every integer gamma path, including
// rows where u^gamma overflows (the assembly stops and Go takes over).
func TestBinaryAsmMatchesGo(t *testing.T) {
	if !slices.Contains(Kernels(), KernelAVX512) {
		t.Skip("no AVX-512 on this CPU")
	}
	useKernel(t, KernelAVX512)
	rng := rand.New(rand.NewPCG(10, 10))
	type row struct{ y, x, alpha []float64 }
	var rows []row
	for n := 1; n <= 40; n++ {
		y, x, alpha := binaryRowCase(rng, n, n%2 == 0, false)
		rows = append(rows, row{y, x, alpha})
	}
	for _, n := range []int{100, 1000, 1003} {
		y, x, alpha := binaryRowCase(rng, n, true, false)
		rows = append(rows, row{y, x, alpha})
		odd := slices.Clone(x)
		odd[0], odd[1], odd[2], odd[3], odd[n/2] = -3, 7, math.NaN(), math.Inf(1), 1e30
		rows = append(rows, row{y, odd, alpha})
	}
	for i, r := range rows {
		y, x := toF32(r.y), toF32(r.x)
		n := len(x)
		for _, gamma := range []float64{0, 1, 2, 3, 7} {
			for _, ls := range []float64{0, 0.1} {
				for _, alpha := range [][]float64{nil, {0.25}, r.alpha} {
					name := fmt.Sprintf("row %d n=%d gamma=%v ls=%v alphas=%d", i, n, gamma, ls, len(alpha))
					prm := Binary{Gamma: gamma, Alpha: alpha, LabelSmoothing: ls, NoValidate: true}
					run := func(inGo, withGrad bool) (float32, []float32) {
						old := passesInGo
						passesInGo = inGo
						defer func() { passesInGo = old }()
						loss := make([]float32, 1)
						var grad []float32
						if withGrad {
							grad = make([]float32, n)
						}
						require.NoError(t, BinaryLossGrad(loss, grad, y, x, n, prm), name)
						return loss[0], grad
					}
					for _, withGrad := range []bool{true, false} {
						goLoss, goGrad := run(true, withGrad)
						asmLoss, asmGrad := run(false, withGrad)
						require.Equal(t, math.Float32bits(goLoss), math.Float32bits(asmLoss), "%s grad=%v: loss %v (asm) against %v (Go)", name, withGrad, asmLoss, goLoss)
						for c := range goGrad {
							require.Equal(t, math.Float32bits(goGrad[c]), math.Float32bits(asmGrad[c]), "%s: grad[%d] %v (asm) against %v (Go), y %v x %v", name, c, asmGrad[c], goGrad[c], y[c], x[c])
						}
					}
				}
			}
		}
	}
}
