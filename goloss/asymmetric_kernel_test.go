package goloss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// asymRowCase draws one row of n classes for the asymmetric variant: labels
// 1, 0 or soft, probabilities in [0, 1] or logits in (-20, 20), class
// weights in (0.1, 2) with some 0. hard mixes in the edge values: exact 0
// and 1, eps (1e-8 and 1e-4) and the clip m (0.05 and 0.2) with their float32 neighbours,
// tiny and subnormal probabilities, 1 - 2^-24; logits of ±1000, the
// overflow bounds of exp, and the bounds at which the reference's sigmoid
// crosses eps, 1 - eps and m (asymLogitBounds) with their neighbours.
// With an ignore value a tenth of the labels are unknown, and some of
// their predictions NaN (which must not propagate).
func asymRowCase(rng *rand.Rand, n int, hard bool, prm Asymmetric) (y, x, cw []float64) {
	y, x, cw = make([]float64, n), make([]float64, n), make([]float64, n)
	near := func(v float32) []float64 {
		return []float64{float64(v), float64(math.Nextafter32(v, -1)), float64(math.Nextafter32(v, 2))}
	}
	probEdges := []float64{0, 1, 1e-9, 1e-30, 1e-40, 1 - 0x1p-24, 0.5}
	for _, v := range []float32{1e-8, 1e-4, 0.05, 0.2} {
		probEdges = append(probEdges, near(v)...)
	}
	logitEdges := []float64{1000, -1000, 0, math.Copysign(0, -1), 30, -30, 88, -88, 104, -104, 16, -16}
	for _, clip := range []float64{0.05, 0.2} {
		k := asymmetricConsts[float32](Asymmetric{Clip: clip, Eps: prm.Eps})
		zEps, zNegEps, zClip := asymLogitBounds(&k)
		for _, v := range []float32{zEps, zNegEps, zClip} {
			logitEdges = append(logitEdges, near(v)...)
		}
	}
	for c := range x {
		if prm.FromLogits {
			x[c] = 40 * (rng.Float64() - 0.5)
			if hard && rng.IntN(3) == 0 {
				x[c] = logitEdges[rng.IntN(len(logitEdges))]
			}
		} else {
			x[c] = rng.Float64()
			if hard && rng.IntN(3) == 0 {
				x[c] = probEdges[rng.IntN(len(probEdges))]
			}
		}
		switch r := rng.Float64(); {
		case r < 0.2:
			y[c] = rng.Float64()
		case r < 0.55:
			y[c] = 1
		}
		if prm.HasIgnore && rng.IntN(10) == 0 {
			y[c] = prm.IgnoreValue
			if rng.IntN(4) == 0 {
				x[c] = math.NaN()
			}
		}
		cw[c] = 0.1 + 1.9*rng.Float64()
		if hard && rng.IntN(10) == 0 {
			cw[c] = 0
		}
	}
	return y, x, cw
}

// asymScale returns, for the loss and per gradient element, the sum of the
// magnitudes of the terms that make them up (see seedScale): a float32
// evaluation is accurate to a few ulp of these, not of a result that
// cancels (a soft label's two log terms pull its gradient both ways).
func asymScale(y, x, cw []float64, k *asymmetricConstants) (loss float64, grad []float64) {
	grad = make([]float64, len(x))
	for c := range x {
		if k.unknown.is(y[c]) {
			continue
		}
		p, q, dpdz := x[c], 1-x[c], 1.0
		if k.logits {
			p, q = sigmoids(x[c])
			dpdz = p * q
		}
		// negC = p - m is the magnitudes of its terms, p + m: from logits
		// the float32 p is a rounded sigmoid, and p - m cancels near m.
		neg, negC := q, p
		if k.clip > 0 {
			neg, negC = math.Min(1-p+k.clip, 1), 0
			if p >= k.clip {
				negC = p + k.clip
			}
		}
		lp, dlp := math.Abs(math.Log(math.Max(p, k.eps))), 1/math.Max(p, k.eps)
		ln, dln := math.Abs(math.Log(math.Max(neg, k.eps))), 1/math.Max(neg, k.eps)
		yc, omy := math.Abs(y[c]), math.Abs(1-y[c])
		ce := yc*lp + omy*ln
		u := math.Abs(y[c]*q) + math.Abs((1-y[c])*negC)
		g := math.Abs(k.gammaPos*y[c] + k.gammaNeg*(1-y[c]))
		w, dw := 1.0, 0.0
		if k.focal {
			w = math.Pow(u, g)
			if u > 0 && g != 0 {
				dw = g * math.Pow(u, g-1)
			}
		}
		a := 1.0
		if len(cw) != 0 {
			a = math.Abs(cw[c])
		}
		loss += a * w * ce
		grad[c] = a * dpdz * (w*(yc*dlp+omy*dln) + dw*(yc+omy)*ce)
	}
	return loss, grad
}

// checkAsymRow32 runs one float32 row through AsymmetricLossGrad on the
// active kernel and holds it to the reference loop asymmetricRow in
// float32: the vector kernels compute in float32 lanes, as TensorFlow's
// float32 evaluation of the reference's formulas does, so the SPEC's
// float32 tolerance: the loss within 1e-5 relative, plus 1e-5 of the
// terms' magnitude (asymScale) and 1e-6, each gradient element within 1e-5
// relative plus 1e-5 of its terms' magnitude, NaN and Inf where the reference has them, unknown elements
// exactly 0. It also checks that nothing is written around the gradient,
// that the inputs stay untouched and that the gradient does not change the
// loss. It returns the largest gradient error relative to the magnitudes,
// where they are normal in float32.
func checkAsymRow32(t *testing.T, name string, y64, x64, cw64 []float64, prm Asymmetric) float64 {
	t.Helper()
	y, x, cw := toF32(y64), toF32(x64), toF32(cw64)
	n := len(x)
	prm.NoValidate = true
	k := asymmetricConsts[float32](prm)
	wantG := make([]float32, n)
	wantL := float32(asymmetricRow(wantG, y, x, cw, &k))
	scaleL, scaleG := asymScale(toF64(y), toF64(x), toF64(cw), &k)

	y0, x0, cw0 := slices.Clone(y), slices.Clone(x), slices.Clone(cw)
	loss, guarded := make([]float32, 1), make([]float32, n+2)
	guarded[0], guarded[n+1] = 1234.5, 1234.5
	grad := guarded[1 : n+1]
	require.NoError(t, AsymmetricLossGrad(loss, grad, y, x, cw, n, prm))
	require.Equal(t, float32(1234.5), guarded[0], name)
	require.Equal(t, float32(1234.5), guarded[n+1], name)
	same := func(a, b []float32) bool { return slices.Equal(toBits(toF64(a)), toBits(toF64(b))) }
	require.True(t, same(y0, y) && same(x0, x) && same(cw0, cw), "%s: inputs modified", name)
	lossOnly := make([]float32, 1)
	require.NoError(t, AsymmetricLossGrad(lossOnly, nil, y, x, cw, n, prm))
	require.Equal(t, math.Float32bits(loss[0]), math.Float32bits(lossOnly[0]), "%s: the gradient changes the loss", name)

	const rtol, atol = 1e-5, 1e-6
	if !closeTo(float64(wantL), float64(loss[0]), rtol, rtol*finiteOr0(scaleL)+atol) {
		t.Errorf("%s: float32 loss %v, want %v (terms' magnitude %v)", name, loss[0], wantL, scaleL)
	}
	// Plus 8 steps of float32's subnormals, as checkSeedLanes32; from
	// logits 64: past |z| = 87 e^-|z| is subnormal in float32 (and 0 past
	// 104) where the reference's float64 dp/dz = p(1-p) is not, and the
	// gradient is dp/dz times up to cw/neg (2/m = 40 for m = 0.05).
	floor := 0x1p-146
	if prm.FromLogits {
		floor = 0x1p-143
	}
	worst := 0.0
	for c := range wantG {
		want, got := float64(wantG[c]), float64(grad[c])
		if k.unknown.is(float64(y[c])) {
			if math.Float32bits(grad[c]) != 0 {
				t.Errorf("%s: grad[%d] = %v of an unknown label, want 0", name, c, got)
			}
			continue
		}
		if !closeTo(want, got, rtol, rtol*finiteOr0(scaleG[c])+floor) {
			t.Errorf("%s: float32 grad[%d] = %v, want %v, terms' magnitude %v (y %v, x %v)", name, c, got, want, scaleG[c], y[c], x[c])
			return worst
		}
		if d := math.Abs(got - want); d > 0 && !math.IsInf(d, 0) && scaleG[c] >= 0x1p-126 {
			worst = max(worst, d/scaleG[c])
		}
	}
	return worst
}

// finiteOr0 returns v, or 0 for a magnitude that is not a finite number
// (from labels outside [0, 1], unchecked): then the tolerance is relative
// to the value alone.
func finiteOr0(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func asymName(n int, prm Asymmetric, weights bool) string {
	return fmt.Sprintf("n=%d gamma_neg=%v gamma_pos=%v clip=%v eps=%v focal_grad=%v logits=%v weights=%v ignore=%v",
		n, prm.GammaNeg, prm.GammaPos, prm.Clip, prm.Eps, prm.FocalGrad, prm.FromLogits, weights, prm.HasIgnore)
}

// TestAsymmetricKernelsMatchReference holds every kernel's float32 rows to
// the reference loop asymmetricRow (checkAsymRow32): probabilities and
// logits, both gradient modes, clip 0, 0.05 and 0.2, class weights or
// none, an ignore value or none, eps 1e-8 and (a third) 1e-4, the gamma pairs (gamma_neg, gamma_pos) of
// every path of the vector kernels (0 and 0: w = 1; the defaults 4 and 1,
// 2 and 2, 0 and 3, 3 and 0: integer; 2.5 and 0.5, 4 and 1.5: real), on
// rows of every length up to 37 (every tail of 8 and of 16 lanes, and the float32
// sums' blocks) and a few long ones, with the edge values of asymRowCase.
func TestAsymmetricKernelsMatchReference(t *testing.T) {
	var lengths []int
	for n := 1; n <= 37; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 64, 65, 100, 1000, 1003)
	gammas := [][2]float64{{0, 0}, {4, 1}, {2, 2}, {0, 3}, {3, 0}, {2.5, 0.5}, {4, 1.5}, {0.5, 0.25}}
	for _, kernel := range Kernels() {
		t.Run(kernel, func(t *testing.T) {
			useKernel(t, kernel)
			rng := rand.New(rand.NewPCG(21, 21))
			worst, combo := 0.0, 0
			for _, n := range lengths {
				for _, logits := range []bool{false, true} {
					for _, clip := range []float64{0, 0.05, 0.2} {
						for _, gm := range gammas {
							for _, focalGrad := range []bool{false, true} {
								for variation := range 3 { // no weights; weights; weights and ignore value -1
									combo++
									if n > 37 && combo%4 != 0 {
										continue // a quarter of the grid for long rows
									}
									prm := Asymmetric{GammaNeg: gm[0], GammaPos: gm[1], Clip: clip, FocalGrad: focalGrad, FromLogits: logits}
									if variation == 2 {
										prm.HasIgnore, prm.IgnoreValue = true, -1
									}
									if combo%3 == 0 {
										prm.Eps = 1e-4
									}
									y, x, cw := asymRowCase(rng, n, combo%2 == 0, prm)
									if variation == 0 {
										cw = nil
									}
									name := kernel + " " + asymName(n, prm, cw != nil)
									worst = max(worst, checkAsymRow32(t, name, y, x, cw, prm))
								}
							}
						}
					}
				}
			}
			t.Logf("%s: worst float32 gradient error %.3g of the terms' magnitude", kernel, worst)
		})
	}
}

// TestAsymmetricKernelsNonFinite checks that NaN and ±Inf labels and
// predictions of known elements, finite predictions outside [0, 1] and
// labels outside [0, 1] (validation off), and rows whose u^g overflows
// in float32 (the vector kernels stop and the reference loop takes over)
// give what the reference gives, NaN and Inf included, on every kernel.
func TestAsymmetricKernelsNonFinite(t *testing.T) {
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), -0.5, 1.5, 1e30, -1e30}
	for _, kernel := range Kernels() {
		t.Run(kernel, func(t *testing.T) {
			useKernel(t, kernel)
			rng := rand.New(rand.NewPCG(22, 22))
			for _, n := range []int{1, 3, 8, 13, 40} {
				for _, logits := range []bool{false, true} {
					for _, gm := range [][2]float64{{0, 0}, {4, 1}, {2.5, 0.5}} {
						for _, clip := range []float64{0, 0.05} {
							for _, s := range specials {
								prm := Asymmetric{GammaNeg: gm[0], GammaPos: gm[1], Clip: clip, FocalGrad: rng.IntN(2) == 0, FromLogits: logits}
								if rng.IntN(2) == 0 {
									prm.HasIgnore, prm.IgnoreValue = true, -1
								}
								y, x, cw := asymRowCase(rng, n, true, prm)
								at := rng.IntN(n)
								if rng.IntN(2) == 0 {
									x[at] = s
								} else {
									y[at] = s
								}
								name := fmt.Sprintf("%s %s, %v at %d", kernel, asymName(n, prm, true), s, at)
								checkAsymRow32(t, name, y, x, cw, prm)
							}
						}
					}
				}
			}
		})
	}
}

// TestAsymLogitBounds checks the bounds on z of asymLogitBounds and
// asymLogitBounds64 against the reference's sigmoid: the decision flips
// exactly between a bound and the float32 (float64) below it.
func TestAsymLogitBounds(t *testing.T) {
	// The decisions, in the order asymLogitBoundsOf returns their bounds.
	decisions := func(k *asymmetricConstants) []struct {
		name  string
		holds func(z float64) bool
	} {
		return []struct {
			name  string
			holds func(z float64) bool
		}{
			{"p >= eps", func(z float64) bool { p, _ := sigmoids(z); return p >= k.eps }},
			{"1 - p < eps", func(z float64) bool { _, q := sigmoids(z); return !(q >= k.eps) }},
			{"p >= m", func(z float64) bool { p, _ := sigmoids(z); return p >= k.clip }},
		}
	}
	for _, clip := range []float64{0.05, 0.2, 1, 1e-9} {
		k := asymmetricConsts[float32](Asymmetric{Clip: clip})
		var z32 [3]float32
		z32[0], z32[1], z32[2] = asymLogitBounds(&k)
		for i, d := range decisions(&k) {
			below := math.Nextafter32(z32[i], float32(math.Inf(-1)))
			if !d.holds(float64(z32[i])) || d.holds(float64(below)) {
				t.Errorf("clip %v: %s from z = %v: holds there %v, below %v", clip, d.name, z32[i], d.holds(float64(z32[i])), d.holds(float64(below)))
			}
		}
		// The float64 bounds (asymLogitBounds64), the same way.
		k64 := asymmetricConsts[float64](Asymmetric{Clip: clip})
		var z64 [3]float64
		z64[0], z64[1], z64[2] = asymLogitBounds64(&k64)
		for i, d := range decisions(&k64) {
			below := math.Nextafter(z64[i], math.Inf(-1))
			if !d.holds(z64[i]) || d.holds(below) {
				t.Errorf("clip %v: float64 %s from z = %v: holds there %v, below %v", clip, d.name, z64[i], d.holds(z64[i]), d.holds(below))
			}
		}
	}
}

// checkAsymRow64 holds one float64 row of AsymmetricLossGrad on the active
// kernel to the reference loop asymmetricRow to the SPEC's float64
// tolerance, 1e-12 of the terms' magnitudes (asymScale), as
// checkAsymRow32 does for float32 (guards, inputs, unknown elements). From
// logits, the reference's own p = sigmoid(z) is one rounding of many: the
// tolerance adds how far the reference moves when z moves by 2 ulp (at
// the clip, p - m cancels, and u^g for g < 1 magnifies it).
func checkAsymRow64(t *testing.T, name string, y, x, cw []float64, prm Asymmetric) {
	t.Helper()
	n := len(x)
	prm.NoValidate = true
	k := asymmetricConsts[float64](prm)
	wantG := make([]float64, n)
	wantL := asymmetricRow(wantG, y, x, cw, &k)
	scaleL, scaleG := asymScale(y, x, cw, &k)
	spreadL, spreadG := 0.0, make([]float64, n)
	if prm.FromLogits {
		for _, dir := range []float64{-1, 1} {
			moved := slices.Clone(x)
			for c := range moved {
				moved[c] = math.Nextafter(math.Nextafter(moved[c], dir*math.Inf(1)), dir*math.Inf(1))
			}
			g := make([]float64, n)
			l := asymmetricRow(g, y, moved, cw, &k)
			spreadL = max(spreadL, finiteOr0(math.Abs(l-wantL)))
			for c := range g {
				spreadG[c] = max(spreadG[c], finiteOr0(math.Abs(g[c]-wantG[c])))
			}
		}
	}

	y0, x0, cw0 := slices.Clone(y), slices.Clone(x), slices.Clone(cw)
	loss, guarded := make([]float64, 1), make([]float64, n+2)
	guarded[0], guarded[n+1] = 1234.5, 1234.5
	grad := guarded[1 : n+1]
	require.NoError(t, AsymmetricLossGrad(loss, grad, y, x, cw, n, prm))
	require.Equal(t, 1234.5, guarded[0], name)
	require.Equal(t, 1234.5, guarded[n+1], name)
	require.True(t, slices.Equal(toBits(y0), toBits(y)) && slices.Equal(toBits(x0), toBits(x)) && slices.Equal(toBits(cw0), toBits(cw)), "%s: inputs modified", name)
	lossOnly := make([]float64, 1)
	require.NoError(t, AsymmetricLossGrad(lossOnly, nil, y, x, cw, n, prm))
	require.Equal(t, math.Float64bits(loss[0]), math.Float64bits(lossOnly[0]), "%s: the gradient changes the loss", name)

	const rtol = 1e-12
	if !closeTo(wantL, loss[0], rtol, rtol*finiteOr0(scaleL)+spreadL+1e-300) {
		t.Errorf("%s: loss %v, want %v (terms' magnitude %v)", name, loss[0], wantL, scaleL)
	}
	for c := range wantG {
		if k.unknown.is(y[c]) {
			if math.Float64bits(grad[c]) != 0 {
				t.Errorf("%s: grad[%d] = %v of an unknown label, want 0", name, c, grad[c])
			}
			continue
		}
		if !closeTo(wantG[c], grad[c], rtol, rtol*finiteOr0(scaleG[c])+spreadG[c]+0x1p-1070) {
			t.Errorf("%s: grad[%d] = %v, want %v, terms' magnitude %v (y %v, x %v)", name, c, grad[c], wantG[c], scaleG[c], y[c], x[c])
			return
		}
	}
}

// TestAsymmetric64KernelsMatchReference holds every kernel's float64 rows
// to the reference loop asymmetricRow (checkAsymRow64), on the grid of
// TestAsymmetricKernelsMatchReference, and with NaN, ±Inf and out-of-range
// inputs (validation off; the vector kernels stop on u outside [0, 1] and
// the reference loop takes over).
func TestAsymmetric64KernelsMatchReference(t *testing.T) {
	var lengths []int
	for n := 1; n <= 37; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 64, 65, 100, 1003)
	gammas := [][2]float64{{0, 0}, {4, 1}, {2, 2}, {0, 3}, {3, 0}, {2.5, 0.5}, {4, 1.5}, {0.5, 0.25}}
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), -0.5, 1.5, 1e30, -1e30}
	for _, kernel := range Kernels() {
		t.Run(kernel, func(t *testing.T) {
			useKernel(t, kernel)
			rng := rand.New(rand.NewPCG(23, 23))
			combo := 0
			for _, n := range lengths {
				for _, logits := range []bool{false, true} {
					for _, clip := range []float64{0, 0.05, 0.2} {
						for _, gm := range gammas {
							for _, focalGrad := range []bool{false, true} {
								for variation := range 3 { // no weights; weights; weights and ignore value -1
									combo++
									if n > 37 && combo%4 != 0 {
										continue // a quarter of the grid for long rows
									}
									prm := Asymmetric{GammaNeg: gm[0], GammaPos: gm[1], Clip: clip, FocalGrad: focalGrad, FromLogits: logits}
									if variation == 2 {
										prm.HasIgnore, prm.IgnoreValue = true, -1
									}
									if combo%3 == 0 {
										prm.Eps = 1e-4
									}
									y, x, cw := asymRowCase(rng, n, combo%2 == 0, prm)
									if variation == 0 {
										cw = nil
									}
									if combo%5 == 0 { // a special input somewhere
										at := rng.IntN(n)
										if s := specials[rng.IntN(len(specials))]; rng.IntN(2) == 0 {
											x[at] = s
										} else {
											y[at] = s
										}
									}
									checkAsymRow64(t, kernel+" "+asymName(n, prm, cw != nil), y, x, cw, prm)
								}
							}
						}
					}
				}
			}
		})
	}
}
