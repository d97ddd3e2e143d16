//go:build goexperiment.simd && amd64

package avocmp

import "simd/archsimd"

// SumLogSIMD returns sum_i log(x_i) for x_i positive, normal and finite
// (NaN in, NaN out), with 8 lane sums added in lane order at the end.
func SumLogSIMD(x []float64) float64 {
	var acc [lanes]float64
	a := sumLogSIMDBlocks(x[:len(x)&^(lanes-1)], archsimd.BroadcastFloat64x8(0))
	if block, ok := padTail(x); ok {
		a = sumLogSIMDBlocks(block[:], a)
	}
	a.Store(&acc)
	return sumLanes(&acc)
}

// sumLogSIMDBlocks adds log(x) to acc 8 lanes at a time; len(x) is a
// multiple of 8.
func sumLogSIMDBlocks(x []float64, acc archsimd.Float64x8) archsimd.Float64x8 {
	zero := archsimd.BroadcastFloat64x8(0)
	for i := 0; i+lanes <= len(x); i += lanes {
		v := archsimd.LoadFloat64x8Slice(x[i:])
		// goloss's logCore512, written out as in its kernels so that the
		// compiler inlines the three pieces.
		f, dk := logSplit512(v, zero)
		s, hfsq, r := logPoly512(f)
		acc = acc.Add(logJoin512(f, dk, s, hfsq, r).Add(v.Sub(v)))
	}
	return acc
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

// SumLogSIMDHoisted is SumLogSIMD with the constants broadcast once before
// the loop, by hand, to see whether the compiler keeps them in registers.
func SumLogSIMDHoisted(x []float64) float64 {
	var acc [lanes]float64
	a := sumLogSIMDHoistedBlocks(x[:len(x)&^(lanes-1)], archsimd.BroadcastFloat64x8(0))
	if block, ok := padTail(x); ok {
		a = sumLogSIMDHoistedBlocks(block[:], a)
	}
	a.Store(&acc)
	return sumLanes(&acc)
}

// sumLogSIMDHoistedBlocks is sumLogSIMDBlocks with hoisted constants.
func sumLogSIMDHoistedBlocks(x []float64, acc archsimd.Float64x8) archsimd.Float64x8 {
	zero := archsimd.BroadcastFloat64x8(0)
	cShift := archsimd.BroadcastUint64x8(logShift)
	cExpOr := archsimd.BroadcastUint64x8(0x4330000000000000)
	cKBias := archsimd.BroadcastFloat64x8(0x1p52 + 1023)
	cMant := archsimd.BroadcastUint64x8(mantMask)
	cMantBase := archsimd.BroadcastUint64x8(logMantBase)
	one := archsimd.BroadcastFloat64x8(1)
	half := archsimd.BroadcastFloat64x8(0.5)
	two := archsimd.BroadcastFloat64x8(2)
	lg1 := archsimd.BroadcastFloat64x8(logLg1)
	lg2 := archsimd.BroadcastFloat64x8(logLg2)
	lg3 := archsimd.BroadcastFloat64x8(logLg3)
	lg4 := archsimd.BroadcastFloat64x8(logLg4)
	lg5 := archsimd.BroadcastFloat64x8(logLg5)
	lg6 := archsimd.BroadcastFloat64x8(logLg6)
	lg7 := archsimd.BroadcastFloat64x8(logLg7)
	ln2Lo := archsimd.BroadcastFloat64x8(logLn2Lo)
	ln2Hi := archsimd.BroadcastFloat64x8(logLn2Hi)
	for i := 0; i+lanes <= len(x); i += lanes {
		v := archsimd.LoadFloat64x8Slice(x[i:])
		u := v.AsUint64x8().Add(cShift)
		kb := u.ShiftAllRight(52).Or(cExpOr).AsFloat64x8()
		dk := kb.Sub(cKBias).Add(zero)
		f := u.And(cMant).Add(cMantBase).AsFloat64x8().Sub(one)
		hfsq := half.Mul(f).Mul(f)
		s := f.Div(two.Add(f))
		z := s.Mul(s)
		w := z.Mul(z)
		t1 := lg6.MulAdd(w, lg4).MulAdd(w, lg2).Mul(w)
		t2 := lg7.MulAdd(w, lg5).MulAdd(w, lg3).MulAdd(w, lg1).Mul(z)
		r := t2.Add(t1)
		a := s.MulAdd(hfsq.Add(r), dk.Mul(ln2Lo)).Sub(hfsq).Add(f)
		acc = acc.Add(dk.MulAdd(ln2Hi, a).Add(v.Sub(v)))
	}
	return acc
}
