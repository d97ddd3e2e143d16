package goloss

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of the portable kernel (portable.go) and its elementary functions
// (portable_math.go).

// portBigPrec is the precision of the math/big references.
const portBigPrec = 256

func portBig(x float64) *big.Float { return new(big.Float).SetPrec(portBigPrec).SetFloat64(x) }

// portBigLog returns log(x) for x > 0 to portBigPrec bits: x = 2^k * m with
// m in [sqrt(2)/2, sqrt(2)), log m = 2*atanh((m-1)/(m+1)), ln2 likewise.
func portBigLog(x *big.Float) *big.Float {
	m := new(big.Float).SetPrec(portBigPrec)
	k := x.MantExp(m) // x = m * 2^k, m in [0.5, 1)
	if m.Cmp(portBig(math.Sqrt2/2)) < 0 {
		m.SetMantExp(m, 1)
		k--
	}
	res := portBigAtanhLog(m)
	if k != 0 {
		ln2 := portBigAtanhLog(portBig(2))
		res.Add(res, ln2.Mul(ln2, portBig(float64(k))))
	}
	return res
}

// portBigAtanhLog returns log(m) = 2*atanh((m-1)/(m+1)) by its series.
func portBigAtanhLog(m *big.Float) *big.Float {
	one := portBig(1)
	s := new(big.Float).SetPrec(portBigPrec).Sub(m, one)
	s.Quo(s, new(big.Float).SetPrec(portBigPrec).Add(m, one))
	s2 := new(big.Float).SetPrec(portBigPrec).Mul(s, s)
	term := new(big.Float).SetPrec(portBigPrec).Set(s)
	sum := new(big.Float).SetPrec(portBigPrec)
	tiny := new(big.Float).SetPrec(portBigPrec).SetMantExp(one, -portBigPrec-8)
	for k := 1; term.Sign() != 0; k += 2 {
		t := new(big.Float).SetPrec(portBigPrec).Quo(term, portBig(float64(k)))
		sum.Add(sum, t)
		if new(big.Float).Abs(t).Cmp(tiny) < 0 {
			break
		}
		term.Mul(term, s2)
	}
	return sum.Mul(sum, portBig(2))
}

// portBigExp returns e^x to portBigPrec bits: e^x = (e^(x/2^j))^(2^j), the
// inner power by its Taylor series.
func portBigExp(x *big.Float) *big.Float {
	const j = 16
	y := new(big.Float).SetPrec(portBigPrec).SetMantExp(x, -j)
	sum := portBig(1)
	term := portBig(1)
	tiny := new(big.Float).SetPrec(portBigPrec).SetMantExp(portBig(1), -portBigPrec-8)
	for k := 1; ; k++ {
		term.Mul(term, y)
		term.Quo(term, portBig(float64(k)))
		sum.Add(sum, term)
		if new(big.Float).Abs(term).Cmp(tiny) < 0 {
			break
		}
	}
	for range j {
		sum.Mul(sum, sum)
	}
	return sum
}

// portULP returns |got - want| in units of the last place of want.
func portULP(got, want float64) float64 {
	if got == want {
		return 0
	}
	a := math.Abs(want)
	ulp := math.Nextafter(a, math.Inf(1)) - a
	if a == 0 {
		ulp = math.SmallestNonzeroFloat64
	}
	return math.Abs(got-want) / ulp
}

// portULPBig returns |got - want| in units of the last place of want rounded
// to float64.
func portULPBig(got float64, want *big.Float) float64 {
	w, _ := want.Float64()
	a := math.Abs(w)
	ulp := math.Nextafter(a, math.Inf(1)) - a
	d := new(big.Float).SetPrec(portBigPrec).Sub(portBig(got), want)
	f, _ := d.Float64()
	return math.Abs(f) / ulp
}

// TestPortableTables regenerates the tables of portable_math.go with
// math/big and checks that they hold exactly those values.
func TestPortableTables(t *testing.T) {
	for i, e := range portLogTab {
		var c float64
		switch {
		case i == portLogN/2-1 || i == portLogN/2:
			c = 1 // the two intervals next to 1: r = z - 1 exactly
		case i < portLogN/2:
			c = 0.75 + (float64(i)+0.5)/(2*portLogN) // [0.75, 1) in 64 intervals
		default:
			c = 1 + (float64(i-portLogN/2)+0.5)/portLogN // [1, 1.5) in 64 intervals
		}
		l := portBigLog(portBig(c))
		// hi on the grid of 2^-32, lo the rest.
		sc, _ := new(big.Float).SetPrec(portBigPrec).SetMantExp(l, 32).Float64()
		hi := math.Ldexp(math.Round(sc), -32)
		lo, _ := new(big.Float).SetPrec(portBigPrec).Sub(l, portBig(hi)).Float64()
		require.Equal(t, portLogEntry{c, 1 / c, hi, lo}, e, "log table entry %d", i)
	}
	root := portBig(2) // 2^(1/128)
	for range portExpBits {
		root.Sqrt(root)
	}
	v := portBig(1)
	for i, e := range portExpTab {
		hi, _ := v.Float64()
		tail, _ := new(big.Float).SetPrec(portBigPrec).Quo(v, portBig(hi)).Sub(new(big.Float).SetPrec(portBigPrec).Quo(v, portBig(hi)), portBig(1)).Float64()
		require.Equal(t, portExpEntry{math.Float64bits(hi) - uint64(i)<<45, tail}, e, "exp table entry %d", i)
		v.Mul(v, root)
	}
}

// portSamples returns n, or a tenth of it with -short: the sweeps of the
// portable math run in full in make test's first `go test ./...`; the
// -short runs (each kernel, noasm, and under qemu, where math/big is slow)
// take a sample.
func portSamples(n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}

// portLogInputs returns n random positive finite float64 values over every
// binade (normal and subnormal), plus values near 1 and near the interval
// edges of the table, plus the values the kernels meet ([1e-8, 1] and the
// clip bounds).
func portLogInputs(n int) []float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := []float64{1, math.Nextafter(1, 0), math.Nextafter(1, 2), 0.75, math.Nextafter(0.75, 0), 1.5, math.Nextafter(1.5, 0),
		2, 0.5, 1e-8, float64(float32(1e-8)), 1e-7, float64(float32(1e-7)), 1 - 1e-7, float64(float32(1 - 1e-7)),
		math.MaxFloat64, 0x1p-1022, math.SmallestNonzeroFloat64, 0x1p-1060, math.E, 10}
	for len(xs) < n {
		switch rng.IntN(4) {
		case 0: // any bit pattern of a positive finite number
			xs = append(xs, math.Float64frombits(rng.Uint64N(0x7ff0000000000000-1)+1))
		case 1: // near 1
			xs = append(xs, 1+(rng.Float64()-0.5)*math.Ldexp(1, -rng.IntN(50)))
		case 2: // the kernels' range
			xs = append(xs, math.Max(1e-8, rng.Float64()*math.Ldexp(1, -rng.IntN(27))))
		default: // next to an interval edge of the table
			edge := 0.75 + float64(rng.IntN(192))*0x1p-8
			xs = append(xs, math.Ldexp(edge+float64(rng.IntN(5)-2)*0x1p-52, rng.IntN(20)-10))
		}
	}
	return xs
}

// TestPortableLog compares logPortAny with math.Log over many values and
// reports the largest error in ulp, against math.Log and, on a sample,
// against log computed with math/big. The kernels need well under 1e-12
// relative; the log keeps within about 1 ulp.
func TestPortableLog(t *testing.T) {
	xs := portLogInputs(portSamples(2_000_000))
	var worst, worstBig float64
	var worstX, worstBigX float64
	for i, x := range xs {
		got, want := logPortAny(x), math.Log(x)
		if u := portULP(got, want); u > worst {
			worst, worstX = u, x
		}
		if i%100 == 0 && x != 1 {
			if u := portULPBig(got, portBigLog(portBig(x))); u > worstBig {
				worstBig, worstBigX = u, x
			}
		}
	}
	t.Logf("log: max error %.3f ulp against math.Log (at %v), %.3f ulp against math/big (at %v), %d values", worst, worstX, worstBig, worstBigX, len(xs))
	assert.LessOrEqual(t, worst, 1.5, "against math.Log")
	assert.LessOrEqual(t, worstBig, 1.0, "against math/big")
	for _, x := range []float64{0, math.Copysign(0, -1), -1, math.Inf(1), math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat64} {
		got, want := logPortAny(x), math.Log(x)
		assert.True(t, got == want || math.IsNaN(got) && math.IsNaN(want), "log(%v) = %v, want %v", x, got, want)
	}
	assert.Equal(t, 0.0, logPort(1), "log(1) is exactly 0")
}

// TestPortableLogLow measures logPortLow, the log of rows of float32
// inputs, against math.Log: its relative error must stay far below SPEC's
// float32 tolerance (1e-5); it is about 2^-30 (the truncation of the
// polynomial at r = 2^-7).
func TestPortableLogLow(t *testing.T) {
	var worst float64
	var worstX float64
	for _, x := range portLogInputs(portSamples(500_000)) {
		if x < 0x1p-1022 {
			continue
		}
		kd, r, e := logPortSplit(x)
		got, want := logPortLow(kd, r, e), math.Log(x)
		rel := math.Abs(got - want)
		if want != 0 {
			rel /= math.Abs(want)
		}
		if rel > worst {
			worst, worstX = rel, x
		}
	}
	t.Logf("log (float32 rows): max relative error %.3g (at %v)", worst, worstX)
	assert.Less(t, worst, 0x1p-30)
}

// TestPortableExp compares expPortAny with math.Exp over [-745, 710] and
// reports the largest error in ulp.
func TestPortableExp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	xs := []float64{0, -0.0, 1, -1, portExpMax, -portExpMax, 1e-300, -1e-300, 0x1p-40, math.Ln2 / 256, -math.Ln2 / 256}
	for n := portSamples(1_000_000); len(xs) < n; {
		switch rng.IntN(3) {
		case 0:
			xs = append(xs, (rng.Float64()*2-1)*portExpMax)
		case 1:
			xs = append(xs, (rng.Float64()*2-1)*math.Ldexp(1, -rng.IntN(60)))
		default:
			xs = append(xs, -rng.Float64()*40) // exp(-|z|) of the logit kernel
		}
	}
	var worst, worstBig, worstX float64
	for i, x := range xs {
		got, want := expPortAny(x), math.Exp(x)
		if u := portULP(got, want); u > worst {
			worst, worstX = u, x
		}
		if i%200 == 0 {
			worstBig = math.Max(worstBig, portULPBig(got, portBigExp(portBig(x))))
		}
	}
	t.Logf("exp: max error %.3f ulp against math.Exp (at %v), %.3f ulp against math/big, %d values", worst, worstX, worstBig, len(xs))
	assert.LessOrEqual(t, worst, 2.5, "against math.Exp, itself within 1 ulp")
	assert.LessOrEqual(t, worstBig, 1.0, "against math/big")
	for _, x := range []float64{-746, -1000, 710, 1000, math.Inf(1), math.Inf(-1), math.NaN()} {
		got, want := expPortAny(x), math.Exp(x)
		assert.True(t, got == want || math.IsNaN(got) && math.IsNaN(want), "exp(%v) = %v, want %v", x, got, want)
	}
}

// TestPortablePow compares powPortAny with math.Pow and, on a sample, with
// math/big, for the non-integer gammas of the kernels, and reports the
// largest relative errors.
func TestPortablePow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var worst, worstBig float64
	for _, gamma := range []float64{0.5, 2.5, 3.7, 0.1, 1.5, 7.25, 11.3} {
		g := portSplitGamma(gamma)
		require.Equal(t, gamma, g.gh+g.gl)
		for i := range portSamples(200_000) {
			x := rng.Float64() * math.Ldexp(1, -rng.IntN(80))
			if i%7 == 0 {
				x = 1 + rng.Float64() // above 1
			}
			got, want := powPortAny(x, &g), math.Pow(x, gamma)
			if want == 0 || math.IsInf(want, 0) {
				assert.Equal(t, want, got)
				continue
			}
			if want < 0x1p-1022 { // subnormal: compared in ulp below
				assert.LessOrEqual(t, portULP(got, want), 1.0)
				continue
			}
			worst = math.Max(worst, math.Abs(got-want)/want)
			if i%50 == 0 {
				l := portBigLog(portBig(x))
				exact := portBigExp(l.Mul(l, portBig(gamma)))
				d, _ := new(big.Float).SetPrec(portBigPrec).Sub(portBig(got), exact).Float64()
				e, _ := exact.Float64()
				worstBig = math.Max(worstBig, math.Abs(d)/e)
			}
		}
		for _, x := range []float64{0, 1, -1, -0.5, math.Inf(1), math.NaN(), 0x1p-1074, 0x1p-1030} {
			got, want := powPortAny(x, &g), math.Pow(x, gamma)
			assert.True(t, got == want || math.IsNaN(got) && math.IsNaN(want), "pow(%v, %v) = %v, want %v", x, gamma, got, want)
		}
	}
	t.Logf("pow: max relative error %.3g against math.Pow, %.3g against math/big", worst, worstBig)
	assert.Less(t, worst, 1e-14, "against math.Pow")
	assert.Less(t, worstBig, 4e-16, "against math/big")
}

// ---------------------------------------------------------------------------
// The kernels against the reference loops.

// Tolerances. float64: 1e-12 of the sum of the magnitudes of the terms
// that make up a result (portSeedScale, portBinaryScale): where the terms
// do not cancel that is within a factor of 1e-12 relative to the result
// itself; where they do (a soft label's gradient, the shared term against
// e/C/p in a uniform row) no float64 evaluation is accurate to more than a
// few ulp of those terms. float32: SPEC's 1e-5 relative or 1e-6 absolute,
// against the reference run on the same float32 inputs (loss and gradient),
// with the same magnitude-of-terms rule where terms cancel.
const (
	portRtol64 = 1e-12
	portRtol32 = 1e-5
	portAtol32 = 1e-6
)

// portCell accumulates, for one cell of the comparison (variant, type,
// loss or gradient), the largest errors seen: relative to the result where
// the terms do not cancel (scale <= 2*|want|), and relative to the scale
// everywhere.
type portCell struct {
	rel, scaled float64
	n           int
}

// portCells are the cells of the loss and of the gradient.
type portCells struct{ loss, grad portCell }

func (c *portCells) String() string {
	return fmt.Sprintf("loss: %d values, max error %.3g relative (no cancellation), %.3g of the terms' magnitudes; gradient: %d values, %.3g, %.3g",
		c.loss.n, c.loss.rel, c.loss.scaled, c.grad.n, c.grad.rel, c.grad.scaled)
}

func (c *portCell) add(want, got, scale float64) {
	if math.IsNaN(want) || math.IsInf(want, 0) || want == got {
		c.n++
		return
	}
	c.n++
	d := math.Abs(got - want)
	if scale <= 2*math.Abs(want) {
		c.rel = math.Max(c.rel, d/math.Abs(want))
	}
	if scale > 0 {
		c.scaled = math.Max(c.scaled, d/scale)
	}
}

// portClose reports whether got agrees with want: the same NaN and Inf,
// else float64: within rtol of max(|want|, scale); float32: within rtol of
// max(|want|, scale) or atol.
func portClose(want, got, scale float64, f32 bool) bool {
	switch {
	case math.IsNaN(want):
		return math.IsNaN(got)
	case math.IsInf(want, 0):
		return got == want
	case math.IsNaN(got) || math.IsInf(got, 0):
		return false
	}
	if math.IsNaN(scale) || math.IsInf(scale, 0) {
		scale = 0
	}
	m := math.Max(math.Abs(want), scale)
	d := math.Abs(got - want)
	if f32 {
		return d <= portRtol32*m || d <= portAtol32
	}
	return d <= portRtol64*m
}

// portSeedScale returns the sum of the magnitudes of the terms of the loss
// and of each gradient element of one seed row (float64 inputs).
func portSeedScale(y, p, w []float64, k *seedConstants) (loss float64, grad []float64) {
	var sum float64
	for _, v := range p {
		sum += v
	}
	inside := 0
	for _, v := range p {
		if q := v / sum; k.ratioLo <= q && q <= k.ratioHi {
			inside++
		}
	}
	shared := math.Abs(k.smoothW * float64(inside) / sum)
	grad = make([]float64, len(p))
	for c := range p {
		lp := math.Abs(math.Log(clip(p[c], k.logLo, 1)))
		q := p[c] / sum
		loss += k.smoothW * math.Abs(math.Log(clip(q, k.ratioLo, k.ratioHi)))
		grad[c] = shared
		if k.ratioLo <= q && q <= k.ratioHi {
			grad[c] += math.Abs(k.smoothW / p[c])
		}
		if y[c] > 0 {
			d := y[c] - p[c]
			pw := math.Abs(math.Pow(d, k.gamma))
			aw := math.Abs(w[c])
			loss += k.focalScale * aw * pw * lp
			if d != 0 && k.gamma != 0 {
				grad[c] += k.focalScale * aw * k.gamma * math.Abs(pw/d) * lp
			} else if k.gamma == 1 {
				grad[c] += k.focalScale * aw * lp
			}
			if k.logLo <= p[c] && p[c] <= 1 {
				grad[c] += k.focalScale * aw * pw / math.Abs(p[c])
			}
		}
	}
	return loss, grad
}

// portBinaryScale is portSeedScale for the binary variant.
func portBinaryScale(y, x []float64, k *binaryConstants, logits bool) (loss float64, grad []float64) {
	grad = make([]float64, len(x))
	for c := range x {
		t := y[c]*k.keep + k.half
		a := math.Abs(k.balance(c, t))
		var bce, u, du, dbce float64
		if logits {
			sig, sigNeg := sigmoids(x[c])
			bce = math.Abs(math.Max(x[c], 0)) + math.Abs(x[c]*t) + math.Log1p(math.Exp(-math.Abs(x[c])))
			u = math.Abs(t*sigNeg + (1-t)*sig)
			du = math.Abs((1 - 2*t) * sig * sigNeg)
			dbce = math.Abs((1-t)*sig) + math.Abs(t*sigNeg)
		} else {
			q := clip(x[c], k.eps, k.epsHi)
			bce = math.Abs(t*math.Log(q)) + math.Abs((1-t)*math.Log(1-q))
			u = math.Abs(t*(1-x[c]) + (1-t)*x[c])
			du = math.Abs(1 - 2*t)
			if k.eps <= x[c] && x[c] <= k.epsHi {
				dbce = math.Abs((1-t)/(1-q)) + math.Abs(t/q)
			}
		}
		pow, dpow := k.focal(u)
		loss += k.scale * a * math.Abs(pow) * bce
		grad[c] = k.scale * a * (math.Abs(dpow)*du*bce + math.Abs(pow)*dbce)
	}
	return loss, grad
}

// portGuard is the number of guard cells on each side of a gradient, and
// portGuardValue their content.
const (
	portGuard      = 3
	portGuardValue = -12345.5
)

// portGradBuf returns a gradient of n elements inside a buffer with guard
// cells on each side (the gradient's capacity reaches the end guards).
func portGradBuf[T Float](n int) (buf, g []T) {
	buf = make([]T, n+2*portGuard)
	for i := range buf {
		buf[i] = portGuardValue
	}
	return buf, buf[portGuard : portGuard+n]
}

// portCheckGuards fails unless the guard cells of buf are untouched.
func portCheckGuards[T Float](t *testing.T, name string, buf []T) {
	t.Helper()
	for _, i := range []int{0, 1, 2, len(buf) - 3, len(buf) - 2, len(buf) - 1} {
		if buf[i] != portGuardValue {
			t.Fatalf("%s: guard cell %d overwritten: %v", name, i, buf[i])
		}
	}
}

// portRowFunc is one of the row kernels, seed (w non-nil) or binary.
type portRowFunc[T Float] func(g, y, p []T) float64

// portCompare runs the reference and the portable row, with and without a
// gradient, and compares loss and gradient; it returns false after
// reporting the first mismatch. Inputs must stay unchanged.
func portCompare[T Float](t *testing.T, name string, ref, port portRowFunc[T], y, p []T, scaleL float64, scaleG []float64, cell *portCells) bool {
	t.Helper()
	f32 := portIs32[T]()
	y0, p0 := append([]T(nil), y...), append([]T(nil), p...)
	n := len(p)
	wantG := make([]T, n)
	wantL := ref(wantG, y, p)
	buf, g := portGradBuf[T](n)
	gotL := port(g, y, p)
	portCheckGuards(t, name, buf)
	gotL0 := port(nil, y, p) // the loss alone
	if !portSameBits(y, y0) || !portSameBits(p, p0) {
		t.Errorf("%s: inputs modified", name)
		return false
	}
	cell.loss.add(wantL, gotL, scaleL)
	if !portClose(wantL, gotL, scaleL, f32) {
		t.Errorf("%s: loss %v, want %v (scale %v, diff %.3g)", name, gotL, wantL, scaleL, gotL-wantL)
		return false
	}
	if !(gotL0 == gotL || math.IsNaN(gotL0) && math.IsNaN(gotL)) {
		t.Errorf("%s: loss without gradient %v, with gradient %v", name, gotL0, gotL)
		return false
	}
	for c := range g {
		want, got := float64(wantG[c]), float64(g[c])
		cell.grad.add(want, got, scaleG[c])
		if !portClose(want, got, scaleG[c], f32) {
			t.Errorf("%s: grad[%d] = %v, want %v (scale %v, diff %.3g; y %v, p %v)", name, c, got, want, scaleG[c], got-want, y[c], p[c])
			return false
		}
	}
	return true
}

func portSameBits[T Float](a, b []T) bool {
	for i := range a {
		if math.Float64bits(float64(a[i])) != math.Float64bits(float64(b[i])) {
			return false
		}
	}
	return true
}

func portF64[T Float](v []T) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func portConv[T Float](v []float64) []T {
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = T(x)
	}
	return out
}

// portSizes are the row lengths of the random tests.
func portSizes() []int {
	var ns []int
	for n := 1; n <= 70; n++ {
		ns = append(ns, n)
	}
	return append(ns, 1000)
}

var portGammas = []float64{0, 1, 2, 3, 2.5, 0.5, 3.7}

// portSeedRow draws one seed row of n classes: p uniform with, when hard,
// exact 0 and 1, values at and around 1e-8, tiny values; labels 0, 1, soft
// labels above p and, rarely, below it (NaN for a non-integer gamma), y = p.
func portSeedRow(rng *rand.Rand, n int, hard bool) (y, p, w []float64) {
	y, p, w = make([]float64, n), make([]float64, n), make([]float64, n)
	edges := []float64{0, 1, 1e-8, float64(float32(1e-8)), math.Nextafter(1e-8, 0), math.Nextafter(1e-8, 1), 1e-9, 1e-30, 1e-300}
	for c := range p {
		p[c] = rng.Float64()
		if hard && rng.IntN(8) == 0 {
			p[c] = edges[rng.IntN(len(edges))]
		}
		w[c] = 0.1 + rng.Float64()
		switch r := rng.Float64(); {
		case r < 0.15:
			y[c] = p[c] + (1-p[c])*rng.Float64()
		case r < 0.18:
			y[c] = p[c] * rng.Float64() // soft label below p
		case r < 0.22 && hard:
			y[c] = p[c]
		case r < 0.6:
			y[c] = 1
		}
	}
	return y, p, w
}

// TestPortableSeedRandom holds seedRowPortable to seedRow on random rows
// of every length 1..70 and 1000, every gamma of portGammas, e in {0, 0.1,
// 1}, float64 and float32.
func TestPortableSeedRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var c64, c32 portCells
	for _, n := range portSizes() {
		for _, gamma := range portGammas {
			for _, e := range []float64{0, 0.1, 1} {
				for _, hard := range []bool{false, true} {
					y, p, w := portSeedRow(rng, n, hard)
					name := fmt.Sprintf("n=%d/gamma=%v/e=%v/hard=%v", n, gamma, e, hard)
					prm := Seed{Gamma: gamma, E: e}
					if !portCheckSeed(t, name+"/float64", y, p, w, prm, &c64) ||
						!portCheckSeed(t, name+"/float32", portConv[float32](y), portConv[float32](p), portConv[float32](w), prm, &c32) {
						return
					}
				}
			}
		}
	}
	t.Logf("seed float64: %v", &c64)
	t.Logf("seed float32: %v", &c32)
}

// portCheckSeed compares seedRowPortable with seedRow on one row.
func portCheckSeed[T Float](t *testing.T, name string, y, p, w []T, prm Seed, cell *portCells) bool {
	t.Helper()
	k := seedConsts[T](prm, len(p))
	scaleL, scaleG := portSeedScale(portF64(y), portF64(p), portF64(w), &k)
	ref := func(g, y, p []T) float64 { return seedRow(g, y, p, w, &k) }
	port := func(g, y, p []T) float64 {
		if g == nil {
			return seedRowPortable(nil, y, p, w, &k)
		}
		return seedRowPortable(g, y, p, w, &k)
	}
	return portCompare(t, name, ref, port, y, p, scaleL, scaleG, cell)
}

// portBinaryRow draws one binary row of n classes: probabilities uniform
// or logits in [-20, 20], with edge values mixed in when hard; labels 0, 1
// and soft.
func portBinaryRow(rng *rand.Rand, n int, hard, logits bool) (y, x, alpha []float64) {
	y, x, alpha = make([]float64, n), make([]float64, n), make([]float64, n)
	probEdges := []float64{0, 1, 1e-7, float64(float32(1e-7)), 1 - 1e-7, float64(float32(1 - 1e-7)),
		math.Nextafter(1e-7, 0), math.Nextafter(1e-7, 1), math.Nextafter(1-1e-7, 0), math.Nextafter(1-1e-7, 2),
		1e-9, 1e-30, 1e-160, 1e-300, 5e-324, math.Nextafter(1, 0), 0.5}
	logitEdges := []float64{1000, -1000, 0, math.Copysign(0, -1), 30, -30, 40, -40, 745, -745, 708, -708, 709, -709,
		1e-30, -1e-30, 16, -16, 36.7, -36.7, 400, -400}
	for c := range x {
		if logits {
			x[c] = 40 * (rng.Float64() - 0.5)
			if hard && rng.IntN(4) == 0 {
				x[c] = logitEdges[rng.IntN(len(logitEdges))]
			}
		} else {
			x[c] = rng.Float64()
			if hard && rng.IntN(4) == 0 {
				x[c] = probEdges[rng.IntN(len(probEdges))]
			}
		}
		switch r := rng.Float64(); {
		case r < 0.2:
			y[c] = rng.Float64()
		case r < 0.3 && hard && !logits:
			y[c] = x[c]
		case r < 0.65:
			y[c] = 1
		}
		alpha[c] = rng.Float64()
	}
	return y, x, alpha
}

// TestPortableBinaryRandom holds binaryProbRowPortable and
// binaryLogitsRowPortable to binaryProbRow and binaryLogitsRow on random
// rows of every length 1..70 and 1000, every gamma of portGammas, alpha
// none, one and per class, label smoothing 0 and 0.1, float64 and float32.
func TestPortableBinaryRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	cells := map[string]*portCells{}
	for _, logits := range []bool{false, true} {
		for _, n := range portSizes() {
			for _, gamma := range portGammas {
				for _, alphaKind := range []string{"none", "one", "per-class"} {
					for _, ls := range []float64{0, 0.1} {
						hard := n%2 == 0
						y, x, alpha := portBinaryRow(rng, n, hard, logits)
						prm := Binary{Gamma: gamma, LabelSmoothing: ls, FromLogits: logits}
						switch alphaKind {
						case "one":
							prm.Alpha = alpha[:1]
						case "per-class":
							prm.Alpha = alpha
						}
						name := fmt.Sprintf("logits=%v/n=%d/gamma=%v/alpha=%s/ls=%v/hard=%v", logits, n, gamma, alphaKind, ls, hard)
						key := fmt.Sprintf("logits=%v", logits)
						if cells[key+"/float64"] == nil {
							cells[key+"/float64"], cells[key+"/float32"] = &portCells{}, &portCells{}
						}
						if !portCheckBinary(t, name+"/float64", y, x, prm, cells[key+"/float64"]) ||
							!portCheckBinary(t, name+"/float32", portConv[float32](y), portConv[float32](x), prm, cells[key+"/float32"]) {
							return
						}
					}
				}
			}
		}
	}
	for _, key := range []string{"logits=false/float64", "logits=false/float32", "logits=true/float64", "logits=true/float32"} {
		t.Logf("binary %s: %v", key, cells[key])
	}
}

// portCheckBinary compares the portable binary row with the reference on
// one row.
func portCheckBinary[T Float](t *testing.T, name string, y, x []T, prm Binary, cell *portCells) bool {
	t.Helper()
	k := newBinaryConstants[T](prm, len(x))
	scaleL, scaleG := portBinaryScale(portF64(y), portF64(x), &k, prm.FromLogits)
	ref := func(g, y, x []T) float64 { return binaryProbRow(g, y, x, &k) }
	port := func(g, y, x []T) float64 { return binaryProbRowPortable(g, y, x, &k) }
	if prm.FromLogits {
		ref = func(g, y, x []T) float64 { return binaryLogitsRow(g, y, x, &k) }
		port = func(g, y, x []T) float64 { return binaryLogitsRowPortable(g, y, x, &k) }
	}
	return portCompare(t, name, ref, port, y, x, scaleL, scaleG, cell)
}

// TestPortableRatioBounds checks that the exact bounds of the seed's clip
// decision give the decision ratioLo <= fl(p/S) <= ratioHi for p at, next
// to and around the bounds, for random and extreme S, with the bounds of
// float32 and float64.
func TestPortableRatioBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, bounds := range [][2]float64{{1e-7, 1 - 1e-7}, {float64(float32(1e-7)), float64(float32(1 - 1e-7))}} {
		lo, hi := bounds[0], bounds[1]
		sums := []float64{1, 0x1p-1022, 1e-300, 1e-30, 3, 1000, 1e300, math.MaxFloat64, math.Nextafter(1, 2)}
		for range 20000 {
			sums = append(sums, math.Ldexp(1+rng.Float64(), rng.IntN(200)-100))
		}
		for _, s := range sums {
			pLo, pHi := portRatioBounds(s, lo, hi)
			for _, p := range []float64{pLo, pHi, lo * s, hi * s} {
				for _, x := range []float64{p, math.Nextafter(p, 0), math.Nextafter(p, math.Inf(1)), math.Nextafter(math.Nextafter(p, 0), 0)} {
					want := lo <= x/s && x/s <= hi
					if got := pLo <= x && x <= pHi; got != want {
						t.Fatalf("S = %v, p = %v: inside %v, want %v (pLo %v, pHi %v)", s, x, got, want, pLo, pHi)
					}
				}
			}
			if !(lo <= pLo/s) || lo <= math.Nextafter(pLo, 0)/s || !(pHi/s <= hi) || math.Nextafter(pHi, math.Inf(1))/s <= hi {
				t.Fatalf("S = %v: pLo %v or pHi %v not the extreme", s, pLo, pHi)
			}
		}
	}
}

// portSeedEdgeRows returns rows of the seed's edge cases for element type T:
// zeros, ones, exactly the clip bounds 1e-8, 1e-7 and 1-1e-7 rounded to T,
// NaN, ±Inf, subnormals, rows summing to 0, soft labels below p, y = p,
// negative and huge inputs (as NoValidate lets through), tiny sums.
func portSeedEdgeRows[T Float](rng *rand.Rand) (ys, ps, ws [][]float64) {
	lo8, lo7, hi7 := float64(T(1e-8)), float64(T(1e-7)), float64(T(1-1e-7))
	add := func(y, p, w []float64) {
		if w == nil {
			w = make([]float64, len(p))
			for c := range w {
				w[c] = 0.5 + float64(c%3)
			}
		}
		ys, ps, ws = append(ys, y), append(ps, p), append(ws, w)
	}
	nan, inf := math.NaN(), math.Inf(1)
	add([]float64{1, 0, 1}, []float64{0, 0, 0}, nil)   // S = 0: NaN row
	add([]float64{1}, []float64{0}, nil)               // one class, S = 0
	add([]float64{1, 1, 0}, []float64{1, 1, 1}, nil)   // ones
	add([]float64{1}, []float64{1}, nil)               // one class, p/S = 1 clipped
	add([]float64{1}, []float64{0.3}, nil)             // one class
	add([]float64{1, 0}, []float64{lo7, 1 - lo7}, nil) // p/S at both bounds (S = 1)
	add([]float64{0, 1}, []float64{lo7, hi7}, nil)     // near both bounds
	add([]float64{1, 1, 0, 1}, []float64{lo8, math.Nextafter(lo8, 0), math.Nextafter(lo8, 1), 0.5}, nil)
	add([]float64{1, 0.5, 0.2}, []float64{0.5, 0.5, 0.5}, nil)                // y = p, soft labels below p
	add([]float64{0.3, 0.7, 1}, []float64{0.3, 0.7, 1}, nil)                  // y = p everywhere
	add([]float64{1, 1, 1}, []float64{nan, 0.5, 0.2}, nil)                    // NaN p
	add([]float64{nan, 1, 0}, []float64{0.5, 0.5, 0.2}, nil)                  // NaN y
	add([]float64{1, 1, 0}, []float64{0.5, 0.5, 0.2}, []float64{nan, 1, inf}) // NaN and Inf weights
	add([]float64{1, 0, 1}, []float64{inf, 0.5, 0.2}, nil)                    // +Inf p: S = Inf
	add([]float64{1, 0, 1}, []float64{-inf, 0.5, 0.2}, nil)                   // -Inf p
	add([]float64{inf, -inf, 1}, []float64{0.5, 0.5, 0.2}, nil)               // infinite labels
	add([]float64{1, 1, 0}, []float64{5e-324, 1e-310, 0.5}, nil)              // subnormal p
	add([]float64{5e-324, 1e-310, 1}, []float64{0, 0.1, 0.5}, nil)            // subnormal labels
	add([]float64{1, 1}, []float64{5e-324, 5e-324}, nil)                      // subnormal sum
	add([]float64{1, 0, 1}, []float64{1e-300, 1e-300, 1e-300}, nil)           // tiny sum
	add([]float64{1, 1, 0}, []float64{1e-30, 2e-30, 1e-30}, nil)              // tiny sum, p/S inside
	add([]float64{1, 0, 1}, []float64{-0.1, 0.5, 0.7}, nil)                   // negative p
	add([]float64{3, 1e300, -1}, []float64{0.5, 0.5, 0.2}, nil)               // labels beyond 2, huge
	add([]float64{1e-300, 1e-30, 1}, []float64{0.5, 1e-30, 0.2}, nil)         // tiny labels
	add([]float64{1, 1, 1}, []float64{0.2, 0.3, 0.4}, []float64{0, 1e300, 1e-300})
	add([]float64{1, 0, 1, 1}, []float64{0, 0, 0.5, 0}, nil) // zeros with a positive sum
	// p/S exactly at, below and above the bounds, for random rows.
	for range 40 {
		n := 2 + rng.IntN(30)
		y, p, _ := portSeedRow(rng, n, false)
		for c := range p {
			p[c] = float64(T(p[c]))
		}
		for _, hiSide := range []bool{false, true} {
			if hiSide { // one dominant class: p[0]/S near 1 - 1e-7
				p[0] = 1
				for c := 1; c < n; c++ {
					p[c] = float64(T(1e-7 / float64(n) * rng.Float64() * 2))
				}
			}
			for _, step := range []int{-1, 0, 1} {
				q := append([]float64(nil), p...)
				for range 10 { // set q[0] to a bound of the sum it makes
					var s float64
					for _, v := range q {
						s += float64(T(v))
					}
					pLo, pHi := portRatioBounds(s, lo7, hi7)
					x := pLo
					if hiSide {
						x = pHi
					}
					q[0] = float64(T(x))
				}
				x := T(q[0])
				switch step {
				case -1:
					x = portNextT(x, false)
				case 1:
					x = portNextT(x, true)
				}
				q[0] = float64(x)
				add(y, q, nil)
			}
		}
	}
	return ys, ps, ws
}

// portNextT returns the next T after x, up or down.
func portNextT[T Float](x T, up bool) T {
	if portIs32[T]() {
		d := float32(math.Inf(-1))
		if up {
			d = float32(math.Inf(1))
		}
		return T(math.Nextafter32(float32(x), d))
	}
	d := math.Inf(-1)
	if up {
		d = math.Inf(1)
	}
	return T(math.Nextafter(float64(x), d))
}

// TestPortableSeedEdges holds seedRowPortable to seedRow on the edge rows,
// for every gamma and e, float64 and float32; NaN must match NaN.
func TestPortableSeedEdges(t *testing.T) {
	portSeedEdges[float64](t)
	portSeedEdges[float32](t)
}

func portSeedEdges[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	ys, ps, ws := portSeedEdgeRows[T](rng)
	var cell portCells
	for i := range ps {
		for _, gamma := range append(portGammas, 13, 13.5, 64, 65, 1000.5) {
			for _, e := range []float64{0, 0.1, 1} {
				name := fmt.Sprintf("%T/row %d %v/gamma=%v/e=%v", T(0), i, ps[i], gamma, e)
				if !portCheckSeed(t, name, portConv[T](ys[i]), portConv[T](ps[i]), portConv[T](ws[i]), Seed{Gamma: gamma, E: e}, &cell) {
					return
				}
			}
		}
	}
	t.Logf("seed edges %T: %v", T(0), &cell)
}

// TestPortableBinaryEdges holds the binary rows to the reference on rows
// made of edge values: probabilities 0, 1, the clip bounds rounded to T and
// their neighbours, NaN, ±Inf, subnormals, values outside [0, 1]; logits
// 0, ±1e-30, ±16, ±40, ±400, ±708, ±709, ±745, ±1000, ±Inf, NaN; labels 0,
// 1, soft, NaN, outside [0, 1].
func TestPortableBinaryEdges(t *testing.T) {
	portBinaryEdges[float64](t)
	portBinaryEdges[float32](t)
}

func portBinaryEdges[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	nan, inf := math.NaN(), math.Inf(1)
	eps, epsHi := T(1e-7), T(1-1e-7)
	probs := []float64{0, 1, float64(eps), float64(epsHi), float64(portNextT(eps, false)), float64(portNextT(eps, true)),
		float64(portNextT(epsHi, false)), float64(portNextT(epsHi, true)), nan, inf, -inf, 5e-324, 1e-310, 1e-40,
		1e-160, 1e-30, 0.5, -0.5, 1.5, 0.25, 0.75, math.Nextafter(1, 0)}
	logits := []float64{0, math.Copysign(0, -1), 1e-30, -1e-30, 1, -1, 16, -16, 40, -40, 400, -400, 700, -700, 708, -708,
		708.5, -708.5, 709, -709, 745, -745, 746, -746, 1000, -1000, inf, -inf, nan, 5e-324, 88, -88, 104, -104}
	labels := []float64{0, 1, 0.5, 0.3, 0.9, nan, inf, -1, 2, 1e-30}
	var cell portCells
	for _, fromLogits := range []bool{false, true} {
		xs := probs
		if fromLogits {
			xs = logits
		}
		for i := range 300 {
			n := 1 + rng.IntN(8)
			y, x := make([]float64, n), make([]float64, n)
			for c := range x {
				x[c] = xs[rng.IntN(len(xs))]
				y[c] = labels[rng.IntN(len(labels))]
				if i%2 == 0 { // mostly valid labels
					y[c] = labels[rng.IntN(5)]
				}
			}
			for _, gamma := range append(portGammas, 13, 13.5, 65, 1000.5) {
				for _, ls := range []float64{0, 0.1} {
					prm := Binary{Gamma: gamma, LabelSmoothing: ls, FromLogits: fromLogits}
					if i%3 == 1 {
						prm.Alpha = []float64{0.25}
					} else if i%3 == 2 {
						prm.Alpha = make([]float64, n)
						for c := range prm.Alpha {
							prm.Alpha[c] = float64(c%3) / 2
						}
					}
					name := fmt.Sprintf("%T/logits=%v/row %d x=%v y=%v/gamma=%v/ls=%v/alpha=%v", T(0), fromLogits, i, x, y, gamma, ls, prm.Alpha)
					if !portCheckBinary(t, name, portConv[T](y), portConv[T](x), prm, &cell) {
						return
					}
				}
			}
		}
	}
	t.Logf("binary edges %T: %v", T(0), &cell)
}

// TestPortableFastPathCoverage checks that ordinary rows take the fast
// path for every element (no element left to the reference formulas): a
// guard on the speed, which the comparisons with the reference cannot see.
// Rows of probabilities in (0.01, 0.99) with some 0, 1e-12 and 1 (seed:
// labels 0, 1 and soft labels above p) and logits in (-30, 30), every
// gamma, e and label smoothing.
func TestPortableFastPathCoverage(t *testing.T) {
	slow := 0
	count := func(_ float64, covered bool) {
		if !covered {
			slow++
		}
	}
	rng := rand.New(rand.NewPCG(17, 18))
	const n = 500
	y, p, x, w := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for c := range p {
		p[c] = 0.01 + 0.98*rng.Float64()
		switch rng.IntN(20) {
		case 0:
			p[c] = 0
		case 1:
			p[c] = 1e-12 // below the clip of the focal log, p/S clipped
		case 2:
			p[c] = 1
		}
		x[c] = 60 * (rng.Float64() - 0.5)
		w[c] = rng.Float64()
		switch rng.IntN(3) {
		case 0:
			y[c] = p[c] + (1-p[c])*rng.Float64()
		case 1:
			y[c] = 1
		}
	}
	check := func(name string) {
		t.Helper()
		if slow != 0 {
			t.Errorf("%s: %d rows left elements to the reference formulas", name, slow)
		}
		slow = 0
	}
	for _, gamma := range append(portGammas, 13, 13.5) {
		for _, e := range []float64{0, 0.1, 1} {
			k64, k32 := seedConsts[float64](Seed{Gamma: gamma, E: e}, n), seedConsts[float32](Seed{Gamma: gamma, E: e}, n)
			count(seedRowPortableCovered(make([]float64, n), y, p, w, &k64))
			count(seedRowPortableCovered(make([]float32, n), portConv[float32](y), portConv[float32](p), portConv[float32](w), &k32))
			check(fmt.Sprintf("seed gamma=%v e=%v", gamma, e))
		}
		for _, ls := range []float64{0, 0.1} {
			for _, alpha := range [][]float64{nil, {0.25}, w} {
				prm := Binary{Gamma: gamma, LabelSmoothing: ls, Alpha: alpha}
				k64, k32 := newBinaryConstants[float64](prm, n), newBinaryConstants[float32](prm, n)
				count(binaryProbRowPortableCovered(make([]float64, n), y, p, &k64))
				count(binaryProbRowPortableCovered(make([]float32, n), portConv[float32](y), portConv[float32](p), &k32))
				count(binaryLogitsRowPortableCovered(make([]float64, n), y, x, &k64))
				count(binaryLogitsRowPortableCovered(make([]float32, n), portConv[float32](y), portConv[float32](x), &k32))
				check(fmt.Sprintf("binary gamma=%v ls=%v alpha=%d", gamma, ls, len(alpha)))
			}
		}
	}
}
