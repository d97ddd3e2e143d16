package goloss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The portable asymmetric rows are held to the reference loop by the
// kernel tests, which run on the generic kernel too:
// TestAsymmetricKernelsMatchReference and TestAsymmetricKernelsNonFinite
// (float32, SPEC's 1e-5), TestAsymmetric64KernelsMatchReference (float64,
// 1e-12), with every edge value of asymRowCase. The tests here check what
// those cannot see: that ordinary rows take the fast path, and that the
// portable rows are what the generic kernel runs.

// asymPortGammas are the gamma pairs (gamma_neg, gamma_pos) of every path
// of asymPortSide.pow: 0, 1, 2, other integers, other values, above and
// below 1.
var asymPortGammas = [][2]float64{{0, 0}, {4, 1}, {2, 2}, {0, 3}, {3, 0}, {2.5, 0.5}, {4, 1.5}, {0.5, 0.25}, {13, 7}}

// TestPortableAsymmetricCoverage checks that ordinary rows take the fast
// path for every known element (none left to the reference formulas): a
// guard on the speed, which the comparisons with the reference cannot
// see. Hard labels with some unknown ones; probabilities in (0.01, 0.99)
// with some 0, 1e-12, 1 and the clip m itself; logits in (-30, 30) with
// some 0; every gamma pair, clip 0, 0.05 and 0.2, both gradient modes,
// class weights or none, float64 and float32.
func TestPortableAsymmetricCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const n = 500
	y, p, z, cw := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for c := range p {
		p[c] = 0.01 + 0.98*rng.Float64()
		switch rng.IntN(20) {
		case 0:
			p[c] = 0
		case 1:
			p[c] = 1e-12
		case 2:
			p[c] = 1
		case 3:
			p[c] = 0.05
		}
		z[c] = 60 * (rng.Float64() - 0.5)
		if rng.IntN(20) == 0 {
			z[c] = 0
		}
		cw[c] = rng.Float64()
		switch rng.IntN(10) {
		case 0, 1, 2:
			y[c] = 1
		case 3:
			y[c] = -1 // unknown
		}
	}
	for _, gm := range asymPortGammas {
		for _, clip := range []float64{0, 0.05, 0.2} {
			for _, focalGrad := range []bool{false, true} {
				for _, logits := range []bool{false, true} {
					prm := Asymmetric{GammaNeg: gm[0], GammaPos: gm[1], Clip: clip, FocalGrad: focalGrad, FromLogits: logits,
						HasIgnore: true, IgnoreValue: -1}
					x := p
					if logits {
						x = z
					}
					k64, k32 := asymmetricConsts[float64](prm), asymmetricConsts[float32](prm)
					a64, a32 := newAsymPortRow(&k64), newAsymPortRow(&k32)
					for _, weights := range [][]float64{nil, cw} {
						name := asymName(n, prm, weights != nil)
						if _, ok := asymmetricRowPortableCovered(make([]float64, n), y, x, weights, &k64, &a64); !ok {
							t.Errorf("%s, float64: elements left to the reference formulas", name)
						}
						if _, ok := asymmetricRowPortableCovered(nil, y, x, weights, &k64, &a64); !ok {
							t.Errorf("%s, float64, loss only: elements left to the reference formulas", name)
						}
						y32, x32, w32 := portConv[float32](y), portConv[float32](x), portConv[float32](weights)
						if _, ok := asymmetricRowPortableCovered(make([]float32, n), y32, x32, w32, &k32, &a32); !ok {
							t.Errorf("%s, float32: elements left to the reference formulas", name)
						}
					}
				}
			}
		}
	}
}

// TestPortableAsymmetricIsGeneric checks that the generic kernel runs the
// portable rows: AsymmetricLossGrad on it gives their bits, and, on a row
// where they differ from the reference loop's, not the reference's.
func TestPortableAsymmetricIsGeneric(t *testing.T) {
	useKernel(t, KernelGeneric)
	rng := rand.New(rand.NewPCG(33, 34))
	const n = 301
	differs := 0
	for _, gm := range asymPortGammas {
		for _, logits := range []bool{false, true} {
			prm := Asymmetric{GammaNeg: gm[0], GammaPos: gm[1], Clip: 0.05, FocalGrad: true, FromLogits: logits}
			y, x, cw := asymRowCase(rng, n, false, prm)
			for c := range y {
				y[c] = math.Round(y[c]) // hard labels: the fast path
			}
			k := asymmetricConsts[float64](prm)
			a := newAsymPortRow(&k)
			wantG, refG := make([]float64, n), make([]float64, n)
			want := asymmetricRowPortable(wantG, y, x, cw, &k, &a)
			ref := asymmetricRow(refG, y, x, cw, &k)
			loss, grad := make([]float64, 1), make([]float64, n)
			if err := AsymmetricLossGrad(loss, grad, y, x, cw, n, prm); err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("gammas %v logits %v", gm, logits)
			if math.Float64bits(loss[0]) != math.Float64bits(want) || !portSameBits(grad, wantG) {
				t.Errorf("%s: the generic kernel's results are not the portable row's", name)
			}
			if math.Float64bits(ref) != math.Float64bits(want) || !portSameBits(refG, wantG) {
				differs++
			}
		}
	}
	if differs == 0 {
		t.Errorf("the portable rows gave the reference's bits on every row: the test cannot tell them apart")
	}
}

// TestPortableAsymmetricShiftNearEps holds rows of logits whose shifted
// 1 - p lies at eps, where the clip m is eps or near it and p is within
// rounding of 1, to the reference loop on every kernel: there the
// decision 1 - p + m >= eps depends on the last bit of p, and the
// portable rows leave the elements within their guard band to the
// reference formulas.
func TestPortableAsymmetricShiftNearEps(t *testing.T) {
	const n = 64
	for _, kernel := range Kernels() {
		useKernel(t, kernel)
		for _, eps := range []float64{1e-4, 1e-8} {
			for _, clip := range []float64{eps, eps / 2, eps * (1 + 0x1p-30)} {
				prm := Asymmetric{GammaNeg: 2, GammaPos: 1, Clip: clip, Eps: eps, FocalGrad: true, FromLogits: true}
				y, z := make([]float64, n), make([]float64, n)
				for c := range z {
					z[c] = 20 + 0.5*float64(c) // p from 1 - 2e-9 to 1
				}
				name := fmt.Sprintf("%s eps=%v clip=%v", kernel, eps, clip)
				checkAsymRow64(t, name, y, z, nil, prm)
				checkAsymRow32(t, name, y, z, nil, prm)
			}
		}
	}
}
