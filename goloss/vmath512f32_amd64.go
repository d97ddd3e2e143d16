//go:build goexperiment.simd && !noasm

package goloss

import (
	"math"
	"simd/archsimd"
)

// Vector elementary functions on 16 float32 lanes (AVX-512), for the
// float32-lane seed kernel: log with at most 1 ulp of error against
// math.Log rounded to float32 (on [1e-8, 1]: TestVectorLogF32x16), exp
// within a few ulp. Cephes' single-precision algorithms, with FMA.

const (
	// x = 2^k * m with m in [sqrt(2)/2, sqrt(2)): adding log32Shift to the
	// bits of x moves those mantissas into one binade.
	log32Base  = 0x3f3504f3 // bits of float32(sqrt(2)/2)
	log32Shift = 0x3f800000 - log32Base
	mant32Mask = 0x007fffff

	// ln2 = log32Ln2Hi + log32Ln2Lo; log32Ln2Hi has 9 significant bits, so
	// k*log32Ln2Hi is exact for |k| < 2^15.
	log32Ln2Hi = 0.693359375
	log32Ln2Lo = -2.12194440e-4

	// roundMagic32 rounds a float32 below 2^22 in magnitude to an integer
	// when added; the low bits of the sum then hold that integer.
	roundMagic32     = 0x1.8p23
	roundMagicBits32 = 0x4b400000
	// expBiasFix32 turns the bits of k + roundMagic32 into k + 127.
	expBiasFix32 = 1<<32 - (roundMagicBits32 - 127)
)

// logCoreF32x16 returns log(x) for x positive, normal and finite, or NaN where
// x is NaN.
func logCoreF32x16(x archsimd.Float32x16) archsimd.Float32x16 {
	f, kf := logSplitF32x16(x, archsimd.BroadcastFloat32x16(0))
	return logPolyF32x16(f, kf).Add(x.Sub(x))
}

// logF32x16 returns log(x) lane by lane with the special cases of math.Log:
// log(0) = -Inf, log(x < 0) = NaN, log(+Inf) = +Inf, log(NaN) = NaN;
// subnormals are scaled into the normal range first. It is split in small
// functions so that the compiler inlines them into the kernel's loop.
func logF32x16(x archsimd.Float32x16) archsimd.Float32x16 {
	scaled, kadj := logPrepF32x16(x)
	f, kf := logSplitF32x16(scaled, kadj)
	return logFixF32x16(x, logPolyF32x16(f, kf))
}

// logPrepF32x16 scales subnormal x by 2^23 and returns the exponent
// adjustment.
func logPrepF32x16(x archsimd.Float32x16) (scaled, kadj archsimd.Float32x16) {
	tiny := x.Less(archsimd.BroadcastFloat32x16(0x1p-126))
	scaled = x.Mul(archsimd.BroadcastFloat32x16(0x1p23)).Merge(x, tiny)
	return scaled, archsimd.BroadcastFloat32x16(-23).Masked(tiny)
}

// logFixF32x16 puts the special cases of log(x) into r.
func logFixF32x16(x, r archsimd.Float32x16) archsimd.Float32x16 {
	zero := archsimd.BroadcastFloat32x16(0)
	inf := archsimd.BroadcastFloat32x16(float32(math.Inf(1)))
	r = archsimd.BroadcastFloat32x16(float32(math.Inf(-1))).Merge(r, x.Equal(zero))
	r = inf.Merge(r, x.Equal(inf))
	return r.Merge(archsimd.BroadcastFloat32x16(float32(math.NaN())), x.GreaterEqual(zero))
}

// logSplitF32x16 writes x = 2^kf * (1 + f) with 1 + f in [sqrt(2)/2,
// sqrt(2)), kadj added to kf.
func logSplitF32x16(x, kadj archsimd.Float32x16) (f, kf archsimd.Float32x16) {
	u := x.AsUint32x16().Add(archsimd.BroadcastUint32x16(log32Shift))
	kf = u.ShiftAllRight(23).AsInt32x16().ConvertToFloat32().Sub(archsimd.BroadcastFloat32x16(127)).Add(kadj)
	m := u.And(archsimd.BroadcastUint32x16(mant32Mask)).Add(archsimd.BroadcastUint32x16(log32Base)).AsFloat32x16()
	return m.Sub(archsimd.BroadcastFloat32x16(1)), kf
}

// logPolyF32x16 returns kf*ln2 + log(1+f): f - f^2/2 + f^3*P(f) (Cephes'
// logf polynomial), the small terms added first.
func logPolyF32x16(f, kf archsimd.Float32x16) archsimd.Float32x16 {
	z := f.Mul(f)
	p := archsimd.BroadcastFloat32x16(7.0376836292e-2)
	p = p.MulAdd(f, archsimd.BroadcastFloat32x16(-1.1514610310e-1))
	p = p.MulAdd(f, archsimd.BroadcastFloat32x16(1.1676998740e-1))
	p = p.MulAdd(f, archsimd.BroadcastFloat32x16(-1.2420140846e-1))
	p = p.MulAdd(f, archsimd.BroadcastFloat32x16(1.4249322787e-1))
	p = p.MulAdd(f, archsimd.BroadcastFloat32x16(-1.6668057665e-1))
	p = p.MulAdd(f, archsimd.BroadcastFloat32x16(2.0000714765e-1))
	p = p.MulAdd(f, archsimd.BroadcastFloat32x16(-2.4999993993e-1))
	p = p.MulAdd(f, archsimd.BroadcastFloat32x16(3.3333331174e-1))
	y := p.Mul(f).Mul(z)
	y = kf.MulAdd(archsimd.BroadcastFloat32x16(log32Ln2Lo), y)
	y = z.MulAdd(archsimd.BroadcastFloat32x16(-0.5), y)
	return kf.MulAdd(archsimd.BroadcastFloat32x16(log32Ln2Hi), f.Add(y))
}

// expF32x16 returns e^t lane by lane: t = k*ln2 + r, e^r by Cephes' expf
// polynomial, 2^k applied in two halves so that subnormal results round
// once. exp(+Inf) = +Inf, exp(t < -104) = 0, NaN stays NaN. It is split in
// small functions so that the compiler inlines them into the kernel's loop.
func expF32x16(t archsimd.Float32x16) archsimd.Float32x16 {
	r, kf, under := expSplitF32x16(t)
	return expScaleF32x16(expPolyF32x16(r), kf, under)
}

// expSplitF32x16 writes t = kf*ln2 + r, |r| <= ln2/2, after clamping t to
// [-104, 89]; under marks t < -104.
func expSplitF32x16(t archsimd.Float32x16) (r, kf archsimd.Float32x16, under archsimd.Mask32x16) {
	lo := archsimd.BroadcastFloat32x16(-104)
	hi := archsimd.BroadcastFloat32x16(89)
	under = t.Less(lo)
	t = lo.Merge(t, under)
	t = hi.Merge(t, t.Greater(hi))
	magic := archsimd.BroadcastFloat32x16(roundMagic32)
	kf = t.Mul(archsimd.BroadcastFloat32x16(math.Log2E)).Add(magic).Sub(magic)
	r = kf.MulAdd(archsimd.BroadcastFloat32x16(-log32Ln2Hi), t)
	return kf.MulAdd(archsimd.BroadcastFloat32x16(-log32Ln2Lo), r), kf, under
}

// expPolyF32x16 returns e^r for |r| <= ln2/2.
func expPolyF32x16(r archsimd.Float32x16) archsimd.Float32x16 {
	p := archsimd.BroadcastFloat32x16(1.9875691500e-4)
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(1.3981999507e-3))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(8.3334519073e-3))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(4.1665795894e-2))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(1.6666665459e-1))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(5.0000001201e-1))
	return p.Mul(r.Mul(r)).Add(r).Add(archsimd.BroadcastFloat32x16(1))
}

// expScaleF32x16 returns p * 2^kf as 2^k1 * 2^k2 with k1 = round(kf/2),
// each a normal number, and 0 where under is set.
func expScaleF32x16(p, kf archsimd.Float32x16, under archsimd.Mask32x16) archsimd.Float32x16 {
	magic := archsimd.BroadcastFloat32x16(roundMagic32)
	k1b := kf.Mul(archsimd.BroadcastFloat32x16(0.5)).Add(magic)
	k2b := kf.Sub(k1b.Sub(magic)).Add(magic)
	fix := archsimd.BroadcastUint32x16(expBiasFix32)
	s1 := k1b.AsUint32x16().Add(fix).ShiftAllLeft(23).AsFloat32x16()
	s2 := k2b.AsUint32x16().Add(fix).ShiftAllLeft(23).AsFloat32x16()
	return archsimd.BroadcastFloat32x16(0).Merge(p.Mul(s1).Mul(s2), under)
}

// clipF32x16 returns v limited to [lo, hi] as clip does; NaN stays NaN.
func clipF32x16(v, lo, hi archsimd.Float32x16) archsimd.Float32x16 {
	v = lo.Merge(v, v.Less(lo))
	return hi.Merge(v, v.Greater(hi))
}

// addF32x16To64 adds the 16 float32 lanes of v, widened, to the two float64
// accumulators lo (lanes 0-7) and hi (lanes 8-15).
func addF32x16To64(lo, hi archsimd.Float64x8, v archsimd.Float32x16) (archsimd.Float64x8, archsimd.Float64x8) {
	return lo.Add(v.GetLo().ConvertToFloat64()), hi.Add(v.GetHi().ConvertToFloat64())
}
