//go:build !noasm

package goloss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/gofocal/gofocal/goloss/internal/avx2"
	"github.com/gofocal/gofocal/goloss/internal/cpu"
	"github.com/stretchr/testify/require"
)

func requireAVX2(t testing.TB) {
	if !cpu.X86.AVX2FMA {
		t.Skip("this CPU has no AVX2 with FMA")
	}
}

// checkSeedRowsF64x4 runs one row through seedRowsF64x4, with and without
// the gradient, and holds it to seedRow: the loss and each gradient element
// within 1e-12 relative plus 1e-12 of the magnitude of the terms that make
// it up (seedScale: a float64 evaluation is accurate to a few ulp of those,
// not of a result that cancels), NaN where the reference has NaN, the same
// infinities; guard values on both sides of the gradient stay untouched, and
// the loss has the same bits with and without the gradient. It returns the
// largest error relative to the terms' magnitude.
func checkSeedRowsF64x4(t *testing.T, name string, y, p, w []float64, gamma, e float64) float64 {
	t.Helper()
	n := len(p)
	k := seedConsts[float64](Seed{Gamma: gamma, E: e}, n)
	wantG := make([]float64, n)
	wantL := seedRow(wantG, y, p, w, &k)
	scaleL, scaleG := seedScale(y, p, w, &k)

	const guard = -7.25
	guarded := make([]float64, n+8)
	for i := range guarded {
		guarded[i] = guard
	}
	grad := guarded[4 : n+4]
	loss := []float64{guard, guard, guard}
	require.True(t, seedRowsF64x4(loss[1:2], grad, y, p, w, n, &k))
	for i, v := range guarded {
		if i < 4 || i >= n+4 {
			require.Equal(t, math.Float64bits(guard), math.Float64bits(v), "%s: written outside the gradient at %d", name, i-4)
		}
	}
	require.Equal(t, guard, loss[0], name)
	require.Equal(t, guard, loss[2], name)
	lossOnly := []float64{guard}
	require.True(t, seedRowsF64x4(lossOnly, nil, y, p, w, n, &k))
	require.Equal(t, math.Float64bits(loss[1]), math.Float64bits(lossOnly[0]), "%s: the gradient changes the loss", name)

	const rtol = 1e-12
	worst := 0.0
	if got := loss[1]; !closeTo(wantL, got, rtol, rtol*scaleL) {
		t.Errorf("%s: loss %v, want %v (terms' magnitude %v)", name, got, wantL, scaleL)
	} else if d := math.Abs(got - wantL); d > 0 && !math.IsInf(d, 0) {
		worst = d / (math.Abs(wantL) + scaleL)
	}
	for c, got := range grad {
		if !closeTo(wantG[c], got, rtol, rtol*scaleG[c]) {
			t.Errorf("%s: grad[%d] = %v, want %v (terms' magnitude %v; y %v, p %v)", name, c, got, wantG[c], scaleG[c], y[c], p[c])
			return worst
		}
		if d := math.Abs(got - wantG[c]); d > 0 && !math.IsInf(d, 0) {
			worst = max(worst, d/(math.Abs(wantG[c])+scaleG[c]))
		}
	}
	return worst
}

var seed64Gammas = []float64{0, 1, 2, 3, 2.5, 0.5, 3.7}

// TestSeedRowsF64x4 holds the AVX2 float64 seed kernel (seedRowsF64x4:
// avx2.SeedSumF64, SeedInsideF64, SeedMainGradF64 and SeedMainLossF64) to
// the reference loop seedRow on every row length 1..70, 1000 and 1003
// (every tail length of 4 lanes), with random and hard rows (seedRowCase:
// p = 0 and 1, at and around the focal clip bound, tiny p/S, y = p, soft
// labels), for every path of gamma (0, 1, 2, the squaring loop, and
// exp(gamma*log(y-p))) and e in {0, 0.1, 1}.
func TestSeedRowsF64x4(t *testing.T) {
	requireAVX2(t)
	rng := rand.New(rand.NewPCG(64, 4))
	lengths := []int{1000, 1003}
	for n := 1; n <= 70; n++ {
		lengths = append(lengths, n)
	}
	worst := 0.0
	for _, n := range lengths {
		for _, hard := range []bool{false, true} {
			y, p, w := seedRowCase(rng, n, hard)
			if hard {
				// Soft labels below their predictions: NaN for a
				// non-integer gamma.
				for c := range y {
					if rng.IntN(8) == 0 {
						y[c] = p[c] * rng.Float64()
					}
				}
			}
			for _, gamma := range seed64Gammas {
				for _, e := range []float64{0, 0.1, 1} {
					name := fmt.Sprintf("n=%d hard=%v gamma=%v e=%v", n, hard, gamma, e)
					worst = max(worst, checkSeedRowsF64x4(t, name, y, p, w, gamma, e))
				}
			}
		}
	}
	t.Logf("worst error %.3g of the terms' magnitude", worst)
}

// TestSeedRowsF64x4Edges checks the rows and values that take the kernel's
// special paths: non-finite labels and predictions, labels whose
// (y-p)^gamma overflows or underflows (the reference's gamma*pow/diff
// then differs from gamma*diff^(gamma-1)), subnormal predictions and
// differences, negative sums (validation off), and the rows that go to
// the portable row (S = 0, tiny, huge, infinite or NaN).
func TestSeedRowsF64x4Edges(t *testing.T) {
	requireAVX2(t)
	rng := rand.New(rand.NewPCG(64, 5))
	labels := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e200, -1e200, 1e100, 1e80, 3e-310, 1e-170, 1e-300}
	preds := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, 5e-324, 1e-310, 2.5e-308, 1e-300, -0.5, 1.5, 1e300}
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 13, 40} {
		for rep := 0; rep < 6; rep++ {
			for _, gamma := range seed64Gammas {
				y, p, w := seedRowCase(rng, n, true)
				at := rng.IntN(n)
				name := fmt.Sprintf("n=%d gamma=%v", n, gamma)
				switch rep {
				case 0:
					y[at] = labels[rng.IntN(len(labels))]
					name += fmt.Sprintf(" y[%d]=%v", at, y[at])
				case 1:
					p[at] = preds[rng.IntN(len(preds))]
					name += fmt.Sprintf(" p[%d]=%v", at, p[at])
				case 2: // tiny predictions and differences
					for c := range p {
						p[c] = preds[4+rng.IntN(4)] * rng.Float64()
						y[c] = p[c] + labels[7+rng.IntN(3)]*rng.Float64()
					}
					p[at] = 0.25
					name += " tiny"
				case 3: // a negative row, and a row of mixed signs
					for c := range p {
						p[c] = -p[c]
					}
					if n > 2 {
						p[at] = 3
					}
					name += " negative"
				case 4: // rows for the portable row
					switch rng.IntN(4) {
					case 0:
						clear(p)
					case 1:
						for c := range p {
							p[c] *= 1e-300
						}
					case 2:
						for c := range p {
							p[c] *= 1e300
						}
					case 3:
						p[at] = math.MaxFloat64
						if n > 1 {
							p[(at+1)%n] = math.MaxFloat64
						}
					}
					name += " portable"
				case 5: // labels that overflow (y-p)^gamma
					for c := range y {
						if rng.IntN(2) == 0 {
							y[c] = labels[3+rng.IntN(4)]
						}
					}
					name += " huge labels"
				}
				for _, e := range []float64{0, 0.1, 1} {
					checkSeedRowsF64x4(t, fmt.Sprintf("%s e=%v", name, e), y, p, w, gamma, e)
				}
			}
		}
	}
}

// TestSeedRowsF64x4ClipBound checks rows of up to 4 classes, whose lane sum
// is the reference's sequential sum bit for bit, with one p/S on a clip
// bound of the smoothing term and its neighbours one ulp either side: the
// kernel's comparisons of p with seed64Bounds must decide as the
// reference's division does.
func TestSeedRowsF64x4ClipBound(t *testing.T) {
	requireAVX2(t)
	k := seedConsts[float64](Seed{}, 1)
	for _, rest := range [][]float64{{1, 0.5}, {0.3}, {1e-7, 0.25, 0.7}, {1.0000001e-7}, {2e-7, 3e-7}, {0.9}} {
		for _, upper := range []bool{false, true} {
			// Find x with x at a bound of its row's S: x = t(S(x)).
			x := 0.5
			for range 20 {
				p := append([]float64{x}, rest...)
				lo, hi := seed64Bounds(avx2.SeedSumF64(p), k.ratioLo, k.ratioHi)
				if upper {
					x = hi
				} else {
					x = lo
				}
			}
			for _, d := range []float64{-2, -1, 0, 1, 2} {
				xd := x
				for range int(math.Abs(d)) {
					xd = math.Nextafter(xd, math.Copysign(math.Inf(1), d))
				}
				p := append([]float64{xd}, rest...)
				var sum float64
				for _, v := range p {
					sum += v
				}
				require.Equal(t, sum, avx2.SeedSumF64(p))
				y, w := make([]float64, len(p)), make([]float64, len(p))
				for c := range y {
					y[c], w[c] = float64(c%2), 1
				}
				for _, gamma := range []float64{2, 2.5} {
					for _, e := range []float64{0.1, 1} {
						name := fmt.Sprintf("p=%v upper=%v q=%v gamma=%v e=%v", p, upper, xd/sum, gamma, e)
						checkSeedRowsF64x4(t, name, y, p, w, gamma, e)
					}
				}
			}
		}
	}
}

// TestSeed64Bounds checks that the bounds of seed64Bounds decide as the
// reference's division: lo <= p/S && p/S <= hi exactly when
// tLo <= p && p <= tHi, for sums of every sign and magnitude the kernel
// takes and predictions at, around and far from the bounds.
func TestSeed64Bounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(64, 6))
	for _, T := range []string{"float64", "float32"} {
		k := seedConsts[float64](Seed{}, 1)
		if T == "float32" {
			k = seedConsts[float32](Seed{}, 1)
		}
		for i := 0; i < 20000; i++ {
			s := math.Ldexp(0.5+rng.Float64(), rng.IntN(1900)-950)
			if i%7 == 0 {
				s = math.Ldexp(1, rng.IntN(1900)-950) // powers of 2
			}
			if rng.IntN(2) == 0 {
				s = -s
			}
			tLo, tHi := seed64Bounds(s, k.ratioLo, k.ratioHi)
			check := func(p float64) {
				q := p / s
				want := k.ratioLo <= q && q <= k.ratioHi
				if got := tLo <= p && p <= tHi; got != want {
					t.Fatalf("S=%v p=%v: p/S=%v inside %v, bounds [%v, %v] say %v", s, p, q, want, tLo, tHi, got)
				}
			}
			for _, b := range []float64{tLo, tHi, k.ratioLo * s, k.ratioHi * s, s, -s, s * rng.Float64()} {
				check(b)
				lo, hi := b, b
				for range 3 {
					lo, hi = math.Nextafter(lo, math.Inf(-1)), math.Nextafter(hi, math.Inf(1))
					check(lo)
					check(hi)
				}
			}
		}
	}
}

// TestSeed64AsmVEX checks that the generated assembly of the float64 seed
// kernels names no register that only EVEX reaches (avo allocates from
// all 32 vector registers; AVX2 CPUs have 16).
func TestSeed64AsmVEX(t *testing.T) {
	src, err := os.ReadFile("internal/avx2/seed64_amd64.s")
	require.NoError(t, err)
	evex := regexp.MustCompile(`\b([XYZ](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[0-7])\b`)
	if m := evex.FindAll(src, 5); m != nil {
		t.Errorf("EVEX-only registers in seed64_amd64.s: %q", m)
	}
}

// BenchmarkSeedRowF64x4 runs one cached row of 1000 classes through
// seedRowsF64x4 and reports ns per element.
func BenchmarkSeedRowF64x4(b *testing.B) {
	requireAVX2(b)
	const n = 1000
	c := seedCase{rows: 1, cols: n, gamma: 2, e: 0.1, soft: true}
	labels, preds, weights := c.random(1)
	sparse := sparseLabels(n, 0.03, 2)
	for _, gamma := range []float64{0, 2, 3, 3.7} {
		for _, grad := range []bool{true, false} {
			for _, lb := range []struct {
				name string
				y    []float64
			}{{"dense", labels}, {"pos=3%", sparse}} {
				b.Run(fmt.Sprintf("gamma=%v/grad=%v/%s", gamma, grad, lb.name), func(b *testing.B) {
					k := seedConsts[float64](Seed{Gamma: gamma, E: 0.1}, n)
					loss := make([]float64, 1)
					var g []float64
					if grad {
						g = make([]float64, n)
					}
					y := slices.Clone(lb.y)
					for b.Loop() {
						seedRowsF64x4(loss, g, y, preds, weights, n, &k)
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
				})
			}
		}
	}
}

// ulpDiff returns how many float64 steps lie between a and b (0 when both
// are NaN or equal).
func ulpDiff(a, b float64) float64 {
	if a == b || math.IsNaN(a) && math.IsNaN(b) {
		return 0
	}
	if math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) || math.Signbit(a) != math.Signbit(b) {
		return math.Inf(1)
	}
	d := int64(math.Float64bits(a)) - int64(math.Float64bits(b))
	return math.Abs(float64(d))
}

// logRef is math.Log, with subnormal x scaled into the normal range first:
// math.Log on amd64 (its assembly) takes the exponent field of a subnormal
// as it stands (math.Log(5e-324) = -709.09, not -744.44).
func logRef(x float64) float64 {
	if x > 0 && x < 0x1p-1022 {
		return math.Log(x*0x1p54) - 54*math.Ln2
	}
	return math.Log(x)
}

// expRef is math.Exp, computed as e^(x-1) * e for x above 709: math.Exp on
// amd64 (its assembly) overflows before the true overflow bound
// (math.Exp(709.78) = +Inf, e^709.78 = 1.7928e308).
func expRef(x float64) float64 {
	if x > 709 && x < 710 {
		return math.Exp(x-1) * math.E
	}
	return math.Exp(x)
}

// TestMathF64 holds the log and exp of the float64 seed kernels
// (avx2.MathF64) to math.Log and math.Exp: within 2 ulp on random values
// over the ranges the kernels use (the logs of clip(p), of clip(p/S) and of
// y - p; exp up to its overflow and into the subnormals), with math.Log's
// and math.Exp's special values exactly.
func TestMathF64(t *testing.T) {
	requireAVX2(t)
	rng := rand.New(rand.NewPCG(64, 7))
	const n = 1 << 16
	x, out := make([]float64, n), make([]float64, n)
	run := func(name string, fn int, ref func(float64) float64, maxUlp float64) {
		avx2.MathF64(x, out, fn)
		worst := 0.0
		for i, v := range x {
			want := ref(v)
			d := ulpDiff(want, out[i])
			if want == 0 && out[i] == 0 {
				d = 0
			}
			if d > maxUlp {
				t.Fatalf("%s(%v) = %v, want %v (%v ulp)", name, v, out[i], want, d)
			}
			worst = max(worst, d)
		}
		t.Logf("%s: worst %v ulp", name, worst)
	}
	// fn 0: x positive, normal, finite; [1e-8, 1] is what the kernels take.
	for i := range x {
		switch i % 4 {
		case 0:
			x[i] = math.Exp(-rng.Float64() * 18.5) // [1e-8, 1]
		case 1:
			x[i] = 1 - rng.Float64()*1e-6 // near 1
		case 2:
			x[i] = math.Ldexp(0.5+rng.Float64(), rng.IntN(2040)-1021)
		default:
			x[i] = 1 + (rng.Float64()-0.5)*0.1
		}
	}
	x[0], x[1], x[2], x[3] = 1, 0x1p-1022, math.MaxFloat64, math.Sqrt2/2
	run("log", 0, math.Log, 2)
	// fn 1: every float64, special values included.
	specials := []float64{0, math.Copysign(0, -1), -1, math.Inf(1), math.Inf(-1), math.NaN(), 5e-324, 1e-310, 0x1p-1022, -1e-310, 1, math.MaxFloat64}
	for i := range x {
		if i < len(specials) {
			x[i] = specials[i]
			continue
		}
		x[i] = math.Float64frombits(rng.Uint64() &^ (1 << 63))
		if i%3 == 0 {
			x[i] = math.Ldexp(rng.Float64(), -1022) // subnormal
		}
	}
	run("logfull", 1, logRef, 2)
	// fn 2: exp over [-750, 720], special values included.
	specials = []float64{0, math.Inf(1), math.Inf(-1), math.NaN(), 709.78, 709.79, -708.4, -745.1, -745.2, -746, 1e-300, -1e-300}
	for i := range x {
		if i < len(specials) {
			x[i] = specials[i]
			continue
		}
		switch i % 3 {
		case 0:
			x[i] = (rng.Float64() - 0.5) * 1470
		case 1:
			x[i] = (rng.Float64() - 0.5) * 2
		default:
			x[i] = -708 - rng.Float64()*38 // subnormal results
		}
	}
	run("exp", 2, expRef, 2)
}
