//go:build goexperiment.simd && !noasm

package goloss

import (
	"math"
	"simd/archsimd"
)

// Vector elementary functions on float64 lanes, written once for AVX-512
// (this file) and generated for AVX2 by gen_simd.go. They use only
// operations that both instruction sets have, so both paths compute the
// same bits lane by lane.

// logCore512 returns log(x) for x positive, normal and finite, or NaN where x
// is NaN: fdlibm's algorithm, as math.Log computes it.
func logCore512(x archsimd.Float64x8) archsimd.Float64x8 {
	return logReduced512(x, archsimd.BroadcastFloat64x8(0)).Add(x.Sub(x))
}

// log512 returns log(x) lane by lane with the special cases of math.Log:
// log(0) = -Inf, log(x < 0) = NaN, log(+Inf) = +Inf, log(NaN) = NaN;
// subnormals are scaled into the normal range first.
func log512(x archsimd.Float64x8) archsimd.Float64x8 {
	zero := archsimd.BroadcastFloat64x8(0)
	inf := archsimd.BroadcastFloat64x8(math.Inf(1))
	tiny := x.Less(archsimd.BroadcastFloat64x8(0x1p-1022))
	scaled := x.Mul(archsimd.BroadcastFloat64x8(0x1p54)).Merge(x, tiny)
	r := logReduced512(scaled, archsimd.BroadcastFloat64x8(-54).Masked(tiny))
	r = archsimd.BroadcastFloat64x8(math.Inf(-1)).Merge(r, x.Equal(zero))
	r = inf.Merge(r, x.Equal(inf))
	return r.Merge(archsimd.BroadcastFloat64x8(math.NaN()), x.GreaterEqual(zero))
}

// logReduced512 is the core of log512 for positive normal x, with kadj
// added to the binary exponent of x. It is split in three small functions
// so that the compiler inlines them into the kernels' loops.
func logReduced512(x, kadj archsimd.Float64x8) archsimd.Float64x8 {
	f, dk := logSplit512(x, kadj)
	s, hfsq, r := logPoly512(f)
	return logJoin512(f, dk, s, hfsq, r)
}

// logSplit512 writes x = 2^dk * (1 + f) with 1 + f in [sqrt(2)/2, sqrt(2)).
func logSplit512(x, kadj archsimd.Float64x8) (f, dk archsimd.Float64x8) {
	u := x.AsUint64x8().Add(archsimd.BroadcastUint64x8(logShift))
	// k + 1023 as a float: the exponent field, put into the mantissa of 2^52.
	kb := u.ShiftAllRight(52).Or(archsimd.BroadcastUint64x8(0x4330000000000000)).AsFloat64x8()
	dk = kb.Sub(archsimd.BroadcastFloat64x8(0x1p52 + 1023)).Add(kadj)
	m := u.And(archsimd.BroadcastUint64x8(mantMask)).Add(archsimd.BroadcastUint64x8(logMantBase)).AsFloat64x8()
	return m.Sub(archsimd.BroadcastFloat64x8(1)), dk
}

// logPoly512 evaluates fdlibm's polynomial: s = f/(2+f), hfsq = f*f/2 and
// R(s*s).
func logPoly512(f archsimd.Float64x8) (s, hfsq, r archsimd.Float64x8) {
	hfsq = archsimd.BroadcastFloat64x8(0.5).Mul(f).Mul(f)
	s = f.Div(archsimd.BroadcastFloat64x8(2).Add(f))
	z := s.Mul(s)
	w := z.Mul(z)
	t1 := archsimd.BroadcastFloat64x8(logLg6).MulAdd(w, archsimd.BroadcastFloat64x8(logLg4))
	t1 = t1.MulAdd(w, archsimd.BroadcastFloat64x8(logLg2)).Mul(w)
	t2 := archsimd.BroadcastFloat64x8(logLg7).MulAdd(w, archsimd.BroadcastFloat64x8(logLg5))
	t2 = t2.MulAdd(w, archsimd.BroadcastFloat64x8(logLg3))
	t2 = t2.MulAdd(w, archsimd.BroadcastFloat64x8(logLg1)).Mul(z)
	return s, hfsq, t2.Add(t1)
}

// logJoin512 returns dk*ln2 + log(1+f) from the pieces, as math.Log adds them.
func logJoin512(f, dk, s, hfsq, r archsimd.Float64x8) archsimd.Float64x8 {
	a := s.MulAdd(hfsq.Add(r), dk.Mul(archsimd.BroadcastFloat64x8(logLn2Lo)))
	a = a.Sub(hfsq).Add(f)
	return dk.MulAdd(archsimd.BroadcastFloat64x8(logLn2Hi), a)
}

// log1p512 returns log(1+x) lane by lane for x in [0, 2^52] (the kernels
// need [0, 1]) or NaN: fdlibm's log1p, math.Log1p's algorithm, on the log
// kernel above.
func log1p512(x archsimd.Float64x8) archsimd.Float64x8 {
	u := archsimd.BroadcastFloat64x8(1).Add(x)
	return log1pJoin512(x, u, archsimd.BroadcastFloat64x8(1).Div(u))
}

// log1pJoin512 returns log(1+x) from u = 1+x rounded and inv = 1/u, which a
// kernel may already hold: log(u) plus the rounding error of u relative to
// u, (x - (u-1))/u, which is exact for x in [0, 2^52] (u-1 is exact, and so
// is the rounding error of 1+x).
func log1pJoin512(x, u, inv archsimd.Float64x8) archsimd.Float64x8 {
	f, dk := logSplit512(u, archsimd.BroadcastFloat64x8(0))
	s, hfsq, r := logPoly512(f)
	return log1pFinish512(x, u, inv, f, dk, s, hfsq, r)
}

// log1pFinish512 is logJoin512 with the correction (x - (u-1))/u added.
func log1pFinish512(x, u, inv, f, dk, s, hfsq, r archsimd.Float64x8) archsimd.Float64x8 {
	c := x.Sub(u.Sub(archsimd.BroadcastFloat64x8(1))).Mul(inv)
	a := s.MulAdd(hfsq.Add(r), dk.MulAdd(archsimd.BroadcastFloat64x8(logLn2Lo), c))
	a = a.Sub(hfsq).Add(f)
	return dk.MulAdd(archsimd.BroadcastFloat64x8(logLn2Hi), a)
}

// exp512 returns e^t lane by lane: t = k*ln2 + r with |r| <= ln2/2, e^r by
// its Taylor polynomial of degree 13, and 2^k applied in two halves so that
// subnormal results round once. exp(+Inf) = +Inf, exp(-Inf) = 0, NaN stays
// NaN; results overflow to +Inf and underflow to 0 where math.Exp does. It
// is split in three small functions so that the compiler inlines them into
// the kernels' loops.
func exp512(t archsimd.Float64x8) archsimd.Float64x8 {
	r, kf := expSplit512(t)
	return expScale512(expPoly512(r), kf)
}

// expSplit512 writes t = kf*ln2 + r, |r| <= ln2/2, after clamping t to
// [-746, 710].
func expSplit512(t archsimd.Float64x8) (r, kf archsimd.Float64x8) {
	lo := archsimd.BroadcastFloat64x8(-746)
	hi := archsimd.BroadcastFloat64x8(710)
	t = lo.Merge(t, t.Less(lo))
	t = hi.Merge(t, t.Greater(hi))
	magic := archsimd.BroadcastFloat64x8(roundMagic)
	kf = t.Mul(archsimd.BroadcastFloat64x8(math.Log2E)).Add(magic).Sub(magic)
	r = kf.MulAdd(archsimd.BroadcastFloat64x8(-logLn2Hi), t)
	return kf.MulAdd(archsimd.BroadcastFloat64x8(-logLn2Lo), r), kf
}

// expPoly512 returns e^r for |r| <= ln2/2, in two halves that the
// compiler inlines.
func expPoly512(r archsimd.Float64x8) archsimd.Float64x8 {
	return expPolyLow512(expPolyHigh512(r), r)
}

// expPolyHigh512 evaluates the terms of degree 13 down to 7 of e^r by Horner's rule.
func expPolyHigh512(r archsimd.Float64x8) archsimd.Float64x8 {
	p := archsimd.BroadcastFloat64x8(1.0 / 6227020800) // 1/13!
	p = p.MulAdd(r, archsimd.BroadcastFloat64x8(1.0/479001600))
	p = p.MulAdd(r, archsimd.BroadcastFloat64x8(1.0/39916800))
	p = p.MulAdd(r, archsimd.BroadcastFloat64x8(1.0/3628800))
	p = p.MulAdd(r, archsimd.BroadcastFloat64x8(1.0/362880))
	p = p.MulAdd(r, archsimd.BroadcastFloat64x8(1.0/40320))
	return p.MulAdd(r, archsimd.BroadcastFloat64x8(1.0/5040))
}

// expPolyLow512 continues expPolyHigh512's Horner's rule down to degree 0.
func expPolyLow512(p, r archsimd.Float64x8) archsimd.Float64x8 {
	p = p.MulAdd(r, archsimd.BroadcastFloat64x8(1.0/720))
	p = p.MulAdd(r, archsimd.BroadcastFloat64x8(1.0/120))
	p = p.MulAdd(r, archsimd.BroadcastFloat64x8(1.0/24))
	p = p.MulAdd(r, archsimd.BroadcastFloat64x8(1.0/6))
	p = p.MulAdd(r, archsimd.BroadcastFloat64x8(0.5))
	one := archsimd.BroadcastFloat64x8(1)
	p = p.MulAdd(r, one)
	return p.MulAdd(r, one)
}

// expScale512 returns p * 2^kf as 2^k1 * 2^k2 with k1 = round(kf/2): each
// half is a normal number.
func expScale512(p, kf archsimd.Float64x8) archsimd.Float64x8 {
	magic := archsimd.BroadcastFloat64x8(roundMagic)
	k1b := kf.Mul(archsimd.BroadcastFloat64x8(0.5)).Add(magic)
	k2b := kf.Sub(k1b.Sub(magic)).Add(magic)
	fix := archsimd.BroadcastUint64x8(expBiasFix)
	s1 := k1b.AsUint64x8().Add(fix).ShiftAllLeft(52).AsFloat64x8()
	s2 := k2b.AsUint64x8().Add(fix).ShiftAllLeft(52).AsFloat64x8()
	return p.Mul(s1).Mul(s2)
}

// neg512 returns -v exactly, as Go's unary minus: the sign bit flipped.
func neg512(v archsimd.Float64x8) archsimd.Float64x8 {
	return v.AsUint64x8().Xor(archsimd.BroadcastUint64x8(1 << 63)).AsFloat64x8()
}

// abs512 returns |v| as math.Abs does: the sign bit cleared.
func abs512(v archsimd.Float64x8) archsimd.Float64x8 {
	return v.AsUint64x8().And(archsimd.BroadcastUint64x8(1<<63 - 1)).AsFloat64x8()
}

// clip512 returns v limited to [lo, hi] as clip does; NaN stays NaN.
func clip512(v, lo, hi archsimd.Float64x8) archsimd.Float64x8 {
	v = lo.Merge(v, v.Less(lo))
	return hi.Merge(v, v.Greater(hi))
}

// tailMask512 returns the mask of the first r lanes.
func tailMask512(r int) archsimd.Mask64x8 {
	return archsimd.LoadFloat64x8Slice(tailOnes[len(tailOnes)/2-r:]).Greater(archsimd.BroadcastFloat64x8(0))
}

// sum512 adds the lanes of v in lane order.
func sum512(v archsimd.Float64x8) float64 {
	var a [8]float64
	v.Store(&a)
	var s float64
	for _, x := range a {
		s += x
	}
	return s
}

// Loads and stores of float64 lanes from either element type.

func load512F64(s []float64) archsimd.Float64x8 { return archsimd.LoadFloat64x8SlicePart(s) }

func store512F64(s []float64, v archsimd.Float64x8) { v.StoreSlicePart(s) }

func load512F32(s []float32) archsimd.Float64x8 {
	return archsimd.LoadFloat32x8SlicePart(s).ConvertToFloat64()
}

func store512F32(s []float32, v archsimd.Float64x8) { v.ConvertToFloat32().StoreSlicePart(s) }
