//go:build goexperiment.simd && !noasm

package goloss

import (
	"math"
	"simd/archsimd"
)

// binaryRow512F32x16 computes what binaryProbRow computes for float32
// probabilities, in 16 float32 lanes, as Keras's float32 evaluation does:
// the smoothed label, the clip, the logs, u = 1 - pt and its powers in
// float32. The clip decisions compare the float32 inputs with the float32
// bounds, as the reference does on the widened inputs. The loss terms are
// widened into two float64 accumulators (lanes 0-7 and 8-15), added in lane
// order at the end, so a row gives the same bits on every call and long
// rows keep the SPEC's tolerance (the terms of sumBlock vectors are added in
// float32 first, as seedMainGo does). For integer gamma the loop runs in
// assembly (binaryProbGradF32AVX512, the same operations). Otherwise each step is binaryRow512F64's
// (dbce/dp as (q-t) / (q*(1-q)), integer gamma by repeated
// multiplication, u^gamma by exp(gamma*log u) else), with the logs and exp
// of vmath512f32_amd64.go. Results agree with the float64 reference to a
// few float32 ulp of the terms' magnitudes, not to the bit as the widening
// kernel binaryRow512F32 does. alpha and alphaNegs hold the per-class
// alpha[c] and 1 - alpha[c], each rounded to float32 from float64 (so that
// 1 - alpha keeps its digits for alpha near 1), for alphaPerClass only.
func binaryRow512F32x16(g, y, x, alpha, alphaNegs []float32, k *binaryVector) float64 {
	n := len(x)
	zero64 := archsimd.BroadcastFloat64x8(0)
	zero := archsimd.BroadcastFloat32x16(0)
	one := archsimd.BroadcastFloat32x16(1)
	two := archsimd.BroadcastFloat32x16(2)
	// keep, half and 1 - half each as a float32 pair hi + lo, so that t
	// and 1 - t keep their digits with label smoothing (1 - t of 0.05
	// from float32(0.95) alone would be off by 6e-7 relative).
	smooth := k.half != 0 || k.keep != 1
	keepHi, halfHi, omhHi := float32(k.keep), float32(k.half), float32(1-k.half)
	keepHiV, keepLoV := archsimd.BroadcastFloat32x16(keepHi), archsimd.BroadcastFloat32x16(float32(k.keep-float64(keepHi)))
	negKeepHiV, negKeepLoV := archsimd.BroadcastFloat32x16(-keepHi), archsimd.BroadcastFloat32x16(-float32(k.keep-float64(keepHi)))
	halfHiV, halfLoV := archsimd.BroadcastFloat32x16(halfHi), archsimd.BroadcastFloat32x16(float32(k.half-float64(halfHi)))
	omhHiV, omhLoV := archsimd.BroadcastFloat32x16(omhHi), archsimd.BroadcastFloat32x16(float32(1-k.half-float64(omhHi)))
	eps := archsimd.BroadcastFloat32x16(float32(k.eps))
	epsHi := archsimd.BroadcastFloat32x16(float32(k.epsHi))
	// gamma = gammaHi + gammaLo, so that gamma*log(u) loses nothing to the
	// rounding of gamma to float32 (as in seedRow512F32x16).
	gammaHi := float32(k.gamma)
	gammaHiV := archsimd.BroadcastFloat32x16(gammaHi)
	gammaLoV := archsimd.BroadcastFloat32x16(float32(k.gamma - float64(gammaHi)))
	gm1Hi := float32(k.gamma - 1)
	gm1HiV := archsimd.BroadcastFloat32x16(gm1Hi)
	gm1LoV := archsimd.BroadcastFloat32x16(float32(k.gamma - 1 - float64(gm1Hi)))
	ldMin, ldMax := archsimd.BroadcastFloat32x16(-1000), archsimd.BroadcastFloat32x16(1000)
	inf := archsimd.BroadcastFloat32x16(float32(math.Inf(1)))
	tiny := archsimd.BroadcastFloat32x16(0x1p-126)
	scale := archsimd.BroadcastFloat32x16(float32(k.scale))
	alphaV := archsimd.BroadcastFloat32x16(float32(k.alpha1))
	alphaNeg := archsimd.BroadcastFloat32x16(float32(1 - k.alpha1))
	withGrad := g != nil
	if k.powKind != powReal && !passesInGo {
		// The same loop in assembly, for integer gamma; it stops where
		// u^gamma overflows, handled below.
		var acc [16]float64
		var bail bool
		if withGrad {
			bail = binaryProbGradF32AVX512(g, y, x, alpha, alphaNegs, &k.asmConsts, &acc)
		} else {
			bail = binaryProbLossF32AVX512(y, x, alpha, alphaNegs, &k.asmConsts, &acc)
		}
		if !bail {
			return k.scale * pairSum(acc[0:8], acc[8:16])
		}
	}
	accLo, accHi := zero64, zero64
	// The loss terms are added in float32 over blocks of sumBlock vectors,
	// each then added, widened, to the float64 sums.
	acc32 := zero
	for i := 0; i < n; i += lanes512x16 {
		xv := archsimd.LoadFloat32x16SlicePart(x[i:])
		yv := archsimd.LoadFloat32x16SlicePart(y[i:])
		t, oneMinusT := yv, one.Sub(yv)
		if smooth {
			// t = y*keep + half and 1 - t = (1-half) - y*keep, each
			// product exact in the FMA.
			t = yv.MulAdd(keepHiV, halfHiV).Add(yv.MulAdd(keepLoV, halfLoV))
			oneMinusT = yv.MulAdd(negKeepHiV, omhHiV).Add(yv.MulAdd(negKeepLoV, omhLoV))
		}

		q := clipF32x16(xv, eps, epsHi)
		oneMinusQ := one.Sub(q)
		// logCoreF32x16 twice, written out so that the compiler inlines
		// it, without its NaN for a NaN q: the poison below makes the
		// lanes of a NaN or infinite x NaN.
		f, kf := logSplitUnitF32x16(q)
		logQ := logPolyF32x16(f, kf)
		// log(1-q) as log(w) + lo/w ~ log(w) + lo with w + lo = 1 - q,
		// lo the rounding error of w = 1 - q, exact by Fast2Sum: for q
		// near eps, w alone would be off by up to half its ulp, that is
		// 30% of log(1-q). lo/w differs from lo by lo*q/(1-q), within 3e-8
		// of log(1-q)'s 1 ulp for every q.
		lo := one.Sub(oneMinusQ).Sub(q)
		f, kf = logSplitUnitF32x16(oneMinusQ)
		logQNeg := logPolyF32x16(f, kf).Add(lo)
		bce := zero.Sub(t.Mul(logQ).Add(oneMinusT.Mul(logQNeg)))
		u := t.Mul(one.Sub(xv)).Add(oneMinusT.Mul(xv))

		// pow = u^gamma and dpow = gamma * u^(gamma-1), the latter at its
		// limit where u = 0.
		var pow, dpow archsimd.Float32x16
		switch k.powKind {
		case powZero:
			pow, dpow = one, zero
		case powInt:
			pm1 := one // u^(gamma-1) by squaring
			base := u
			for e := k.powInt - 1; e != 0; e >>= 1 {
				if e&1 != 0 {
					pm1 = pm1.Mul(base)
				}
				if e > 1 {
					base = base.Mul(base)
				}
			}
			pow, dpow = pm1.Mul(u), gammaHiV.Mul(pm1)
			if over := pow.Equal(inf).Or(pow.Equal(zero.Sub(inf))); over.ToBits() != 0 {
				// The reference's gamma*pow/u is infinite there.
				dpow = gammaHiV.Mul(pow).Div(u).Merge(dpow, over)
			}
			// u - u turns an infinite u into NaN, as the reference's
			// pow/u does.
			dpow = dpow.Add(u.Sub(u))
		default:
			// logF32x16 and expF32x16, written out so that the compiler
			// inlines them.
			su, kadj := logPrepF32x16(u)
			fu, ku := logSplitF32x16(su, kadj)
			lu := logFixF32x16(u, logPolyF32x16(fu, ku))
			// The correction lu*gammaLo, on lu bounded so that it stays
			// finite where lu is ±Inf (u 0 or +Inf).
			lub := lu.Max(ldMin).Min(ldMax)
			r, ke, under := expSplitF32x16(lu.MulAdd(gammaHiV, lub.Mul(gammaLoV)))
			pow = expScaleF32x16(expPolyF32x16(r), ke, under)
			nonzero := u.NotEqual(zero)
			dpow = gammaHiV.Mul(pow).Div(u).Masked(nonzero)
			if low := pow.Less(tiny).And(nonzero); low.ToBits() != 0 {
				// u^gamma underflowed (or lost digits) where u^(gamma-1)
				// may not have.
				r, ke, under = expSplitF32x16(lu.MulAdd(gm1HiV, lub.Mul(gm1LoV)))
				dpm1 := gammaHiV.Mul(expScaleF32x16(expPolyF32x16(r), ke, under)).Add(u.Sub(u))
				dpow = dpm1.Merge(dpow, low)
			}
		}

		// a, the class-balancing weight.
		var a archsimd.Float32x16
		switch k.alphaKind {
		case alphaNone:
			a = one
		case alphaOne:
			a = t.Mul(alphaV).Add(oneMinusT.Mul(alphaNeg))
		default:
			av := archsimd.LoadFloat32x16SlicePart(alpha[i:])
			avNeg := archsimd.LoadFloat32x16SlicePart(alphaNegs[i:])
			a = t.Mul(av).Add(oneMinusT.Mul(avNeg))
		}

		// x - x is 0, or NaN for an infinite or NaN x: SPEC's NaN for
		// non-finite inputs, in the loss and the gradient.
		poison := xv.Sub(xv)
		term := a.Mul(pow).Mul(bce).Add(poison)
		if i+lanes512x16 > n {
			acc32 = acc32.Add(term).Merge(acc32, archsimd.Mask32x16FromBits(uint16(1)<<(n-i)-1))
		} else {
			acc32 = acc32.Add(term)
		}
		if i/lanes512x16%sumBlock == sumBlock-1 || i+lanes512x16 >= n {
			accLo, accHi = addF32x16To64(accLo, accHi, acc32)
			acc32 = zero
		}
		if withGrad {
			inClip := xv.GreaterEqual(eps).And(xv.LessEqual(epsHi))
			dbce := q.Sub(t).Div(q.Mul(oneMinusQ)).Masked(inClip)
			du := one.Sub(two.Mul(t))
			gv := scale.Mul(a).Mul(dpow.Mul(du).Mul(bce).Add(pow.Mul(dbce))).Add(poison)
			gv.StoreSlicePart(g[i:])
		}
	}
	archsimd.ClearAVXUpperBits()
	return k.scale * sum512(accLo.Add(accHi))
}

// logSplitUnitF32x16 is logSplitF32x16 without an exponent adjustment, for
// x positive and normal.
func logSplitUnitF32x16(x archsimd.Float32x16) (f, kf archsimd.Float32x16) {
	u := x.AsUint32x16().Add(archsimd.BroadcastUint32x16(log32Shift))
	kf = u.ShiftAllRight(23).AsInt32x16().ConvertToFloat32().Sub(archsimd.BroadcastFloat32x16(127))
	m := u.And(archsimd.BroadcastUint32x16(mant32Mask)).Add(archsimd.BroadcastUint32x16(log32Base)).AsFloat32x16()
	return m.Sub(archsimd.BroadcastFloat32x16(1)), kf
}

// binaryAsmConsts sets k.asmConsts, the constants of the assembly loops of
// binaryRow512F32x16 (binaryProbGradF32AVX512, generated by _asmgen):
// float32 keep, -keep, half and 1 - half as pairs hi, lo; the clip bounds
// eps and 1 - eps; gamma; the scale 1/C; alpha and 1 - alpha; then int32
// flags: label smoothing, the kind of alpha; then the integer gamma as an
// int64 (0: pow 1 and dpow 0).
func binaryAsmConsts(k *binaryVector) {
	keepHi, halfHi, omhHi := float32(k.keep), float32(k.half), float32(1-k.half)
	for i, v := range []float32{
		keepHi, float32(k.keep - float64(keepHi)), -keepHi, -float32(k.keep - float64(keepHi)),
		halfHi, float32(k.half - float64(halfHi)), omhHi, float32(1 - k.half - float64(omhHi)),
		float32(k.eps), float32(k.epsHi), float32(k.gamma), float32(k.scale),
		float32(k.alpha1), float32(1 - k.alpha1),
	} {
		k.asmConsts[i] = math.Float32bits(v)
	}
	if k.half != 0 || k.keep != 1 {
		k.asmConsts[14] = 1
	}
	k.asmConsts[15] = uint32(k.alphaKind)
	nPow := uint64(0)
	if k.powKind == powInt {
		nPow = k.powInt
	}
	k.asmConsts[16], k.asmConsts[17] = uint32(nPow), uint32(nPow>>32)
}

// binaryLogitsRow512F32x16 computes what binaryLogitsRow computes for
// float32 logits and integer gamma, in 16 float32 lanes, as Keras's float32
// evaluation does (binaryLogitsGradF32AVX512: e = e^-|z|, the sigmoids
// 1/(1+e) and e/(1+e), log1p(e) = log(1+e) + (e - ((1+e) - 1))/(1+e), the
// stable cross-entropy max(z, 0) - z*t + log1p(e), then the steps of
// binaryRow512F32x16), with the float64 sums of the other float32 kernels.
// A row where u^gamma overflows is computed again by binaryRow512F32 (float64
// lanes).
func binaryLogitsRow512F32x16(g, y, z, alpha, alphaNegs []float32, k *binaryVector) float64 {
	var acc [16]float64
	var bail bool
	if g != nil {
		bail = binaryLogitsGradF32AVX512(g, y, z, alpha, alphaNegs, &k.asmConsts, &acc)
	} else {
		bail = binaryLogitsLossF32AVX512(y, z, alpha, alphaNegs, &k.asmConsts, &acc)
	}
	if bail {
		return binaryRow512F32(g, y, z, k)
	}
	return k.scale * pairSum(acc[0:8], acc[8:16])
}
