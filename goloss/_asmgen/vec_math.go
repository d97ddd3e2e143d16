package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The float32 elementary functions of the kernels on one vector of either
// width (w8: the AVX2 kernels, w16: the AVX-512 kernels written with
// them): the log of a value in [2^-126, 1] (logUnit, Cephes' logf), log(1+e)
// for e in [0, 1] (log1pUnit), the full log (logFull: subnormals, 0,
// negative, infinite and NaN arguments as math.Log gives them) and the exp
// (Cephes' expf polynomial, 2^k applied in two halves so that subnormal
// results round once). TestAsmLogF32 and TestAsmLog1pF32 hold the logs to
// 1 ulp; the kernels' tests hold the rest to SPEC's float32 tolerance.

// logUnit returns log v for v in [2^-126, 1] with short dependency
// chains: the polynomial by logPoly, and the terms after it computed
// beside it. TestAsmLogF32 holds it (avx2.LogF32) to 1 ulp on every
// float32 in [1e-8, 1].
func (w *vec) logUnit(v reg.VecVirtual) reg.VecVirtual { return w.logUnitBy(v, false) }

// logUnitLean is logUnit as it was before the short chains: Horner's
// polynomial (hornerPoly) and the terms after it in sequence, with two
// registers fewer, for a log among many live values (AVX2 has 16).
func (w *vec) logUnitLean(v reg.VecVirtual) reg.VecVirtual { return w.logUnitBy(v, true) }

func (w *vec) logUnitBy(v reg.VecVirtual, lean bool) reg.VecVirtual {
	u := w.V()
	VPADDD(w.c("log32shift", log32Shift), v, u)
	kf := w.V()
	VPSRLD(Imm(23), u, kf)
	VCVTDQ2PS(kf, kf)
	VSUBPS(w.cf("f127", 127), kf, kf)
	f := u
	w.intAnd(w.c("mant32mask", mant32Mask), u, f)
	VPADDD(w.c("log32base", log32Base), f, f)
	VSUBPS(w.cf("one", 1), f, f)
	return w.logReduced(f, kf, lean)
}

// log1pUnit returns log(1+e) for e in [0, 1] (NaN for NaN), the log of
// logUnit without rounding 1+e: f = e where e <= sqrt(2)-1, else f =
// (e-1)/2 = (1+e)/2 - 1 (one FMA, exact for e >= 1/2) and k = 1. No
// correction term for the rounding of 1+e is needed, and the integer steps
// of the reduction leave the chain from e to the log. TestAsmLog1pF32 holds
// it to 1 ulp of math.Log1p on every float32 in [1e-8, 1] and every 97th
// below.
func (w *vec) log1pUnit(e reg.VecVirtual) reg.VecVirtual {
	big := w.M()
	w.cmpTo(cmpGT, w.cf("sqrt2m1", 0.41421356), e, big)
	h, f := w.V(), w.V()
	VMOVUPS(w.cf("half", 0.5), h)
	VFMADD213PS(w.cf("minushalf", -0.5), e, h) // e/2 - 1/2
	w.blendTo(big, h, e, f)
	kf := w.maskedTo(big, w.cf("one", 1), w.vecOf(big))
	return w.logReduced(f, kf, false)
}

// logReduced returns kf*ln2 + log(1+f) for f in [sqrt(1/2)-1, sqrt(2)-1]:
// f - f^2/2 + f^3*P(f), and kf*ln2 in two parts.
func (w *vec) logReduced(f, kf reg.VecVirtual, lean bool) reg.VecVirtual {
	logPoly := w.logPoly
	if lean {
		logPoly = w.hornerPoly
	}
	z := w.V()
	VMULPS(f, f, z)
	poly := logPoly(f, z)
	if lean {
		VMULPS(f, poly, poly)
		VMULPS(z, poly, poly)
		VFMADD231PS(w.cf("ln2lo", log32Ln2Lo), kf, poly)
		VFMADD231PS(w.cf("minushalf", -0.5), z, poly)
	} else {
		// The same terms with a shorter chain after the polynomial:
		// poly*f^3 + (kf*ln2lo - z/2), the f^3 and the parenthesis
		// computed beside it.
		f3, b := w.V(), w.V()
		VMULPS(f, z, f3)
		VMULPS(w.cf("minushalf", -0.5), z, b)
		VFMADD231PS(w.cf("ln2lo", log32Ln2Lo), kf, b)
		VFMADD213PS(b, f3, poly) // poly*f3 + b
	}
	VADDPS(poly, f, f)
	VFMADD231PS(w.cf("ln2hi", log32Ln2Hi), kf, f)
	return f
}

// logFull returns log(x) with math.Log's special cases: subnormals are
// scaled by 2^23 first; log(0) = -Inf, log(x < 0) = NaN, log(+Inf) =
// +Inf, log(NaN) = NaN.
func (w *vec) logFull(x reg.VecVirtual) reg.VecVirtual {
	tiny := w.M()
	w.cmpTo(cmpLT, w.cf("minnormal", 0x1p-126), x, tiny)
	scaled := w.V()
	VMULPS(w.cf("two23", 0x1p23), x, scaled)
	w.blendTo(tiny, scaled, x, scaled)
	// logUnit on the scaled value, then kf - 23 where it was scaled: the
	// same as logSplit with kadj.
	u := w.V()
	VPADDD(w.c("log32shift", log32Shift), scaled, u)
	kf := w.V()
	VPSRLD(Imm(23), u, kf)
	VCVTDQ2PS(kf, kf)
	VSUBPS(w.cf("f127", 127), kf, kf)
	adj := w.V()
	w.maskedTo(tiny, w.cf("minus23", -23), adj)
	VADDPS(adj, kf, kf)
	f := u
	w.intAnd(w.c("mant32mask", mant32Mask), u, f)
	VPADDD(w.c("log32base", log32Base), f, f)
	VSUBPS(w.cf("one", 1), f, f)
	z := w.V()
	VMULPS(f, f, z)
	poly := w.logPoly(f, z)
	VMULPS(f, poly, poly)
	VMULPS(z, poly, poly)
	VFMADD231PS(w.cf("ln2lo", log32Ln2Lo), kf, poly)
	VFMADD231PS(w.cf("minushalf", -0.5), z, poly)
	VADDPS(poly, f, f)
	VFMADD231PS(w.cf("ln2hi", log32Ln2Hi), kf, f)
	// The special cases: 0 gives -Inf, +Inf gives +Inf, x < 0 or NaN NaN.
	m := w.M()
	w.zero(z)
	w.cmpTo(0, z, x, m) // x == 0
	w.blendTo(m, w.cf("minusinf", float32NegInf()), f, f)
	w.cmpTo(0, w.cf("inf", float32Inf()), x, m) // x == +Inf
	w.blendTo(m, w.cf("inf", float32Inf()), f, f)
	w.cmpTo(cmpNGE, z, x, m) // not x >= 0: x < 0 or NaN
	w.blendTo(m, w.c("nan", 0x7fc00000), f, f)
	return f
}

// logPoly returns the log polynomial logCoefs (c0 f^8 + c1 f^7 + ... +
// c8) at f, z = f*f, as E(z) + f*O(z): the even powers (c0 z^4 + c2 z^3
// + ... + c8) and the odd ones (c1 z^3 + ... + c7) by Horner in z, two
// independent chains of five and four FMAs and one FMA to join them,
// instead of one chain of nine (the kernels run out of scheduler room, not
// of FMA units, on the long chain); one register more than Horner in f.
// TestAsmLogF32 holds the log to 1 ulp on every float32 in [1e-8, 1].
func (w *vec) logPoly(f, z reg.VecVirtual) reg.VecVirtual {
	even, odd := w.everyOther(logCoefs, logCoefName, 0, z), w.everyOther(logCoefs, logCoefName, 1, z)
	VFMADD231PS(odd, f, even)
	return even
}

// everyOther returns c[first]*x^k + c[first+2]*x^(k-1) + ... (every other
// coefficient of c, the first the highest power) at x by Horner, its
// constants named by name: one half of a polynomial split into its even
// and odd powers, with x the square of its variable.
func (w *vec) everyOther(c []float32, name func(int) string, first int, x reg.VecVirtual) reg.VecVirtual {
	h := w.V()
	VMOVUPS(w.cf(name(first), c[first]), h)
	for i := first + 2; i < len(c); i += 2 {
		VFMADD213PS(w.cf(name(i), c[i]), x, h)
	}
	return h
}

// hornerPoly is logPoly by Horner in f: one chain of nine FMAs.
func (w *vec) hornerPoly(f, _ reg.VecVirtual) reg.VecVirtual {
	poly := w.V()
	VMOVUPS(w.cf(logCoefName(0), logCoefs[0]), poly)
	for i, c := range logCoefs[1:] {
		VFMADD213PS(w.cf(logCoefName(i+1), c), f, poly)
	}
	return poly
}

// expCoefs are exp's polynomial, c0 (of r^5) to c5 (of 1).
var expCoefs = []float32{1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1}

// exp returns e^t: t clamped to [-104, 89], t = kf*ln2 + r, e^r by the
// polynomial, times 2^k1 * 2^k2 with k1 = round(kf/2); 0 where t < -104,
// +Inf above the float32 range, NaN for NaN.
func (w *vec) exp(t reg.VecVirtual) reg.VecVirtual {
	under := w.M()
	w.cmpTo(cmpLT, w.cf("expunder", -104), t, under)
	// The clamp by max and min, whose second source (t) is what they give
	// for NaN, one instruction each on the chain; the rounding of kf to an
	// integer (nearest, even on ties) in one instruction (VROUNDPS,
	// VRNDSCALEPS): the bits of the round-magic addition and subtraction.
	tc, m := w.V(), w.V()
	VMOVUPS(w.cf("expunder", -104), m)
	VMAXPS(t, m, tc) // m > t ? m : t
	VMOVUPS(w.cf("expover", 89), m)
	VMINPS(tc, m, tc) // m < tc ? m : tc
	kf := w.V()
	VMULPS(w.cf("log2e", 1.4426950408889634), tc, kf)
	w.roundEven(kf, kf)
	r := tc
	VFMADD231PS(w.cf("minusln2hi", -log32Ln2Hi), kf, r) // r = kf*(-ln2Hi) + t
	VFMADD231PS(w.cf("minusln2lo", -log32Ln2Lo), kf, r)
	// e^r = 1 + r + r^2*P(r), P = c0 r^5 + ... + c5 as E(r^2) + r*O(r^2)
	// (the even and the odd powers, two short chains), and r^2*P + r in
	// one FMA.
	r2 := m
	VMULPS(r, r, r2)
	p, odd := w.everyOther(expCoefs, expCoefName, 1, r2), w.everyOther(expCoefs, expCoefName, 0, r2)
	VFMADD231PS(odd, r, p)
	VFMADD213PS(r, r2, p) // r^2*P + r
	VADDPS(w.cf("one", 1), p, p)
	k1b, k2b := w.V(), r
	VMULPS(w.cf("half", 0.5), kf, k1b)
	VADDPS(w.cf("roundmagic", 0x1.8p23), k1b, k1b)
	VSUBPS(w.cf("roundmagic", 0x1.8p23), k1b, k2b)
	VSUBPS(k2b, kf, k2b)
	VADDPS(w.cf("roundmagic", 0x1.8p23), k2b, k2b)
	VPADDD(w.c("expbiasfix", expBiasFix32), k1b, k1b)
	VPSLLD(Imm(23), k1b, k1b)
	VPADDD(w.c("expbiasfix", expBiasFix32), k2b, k2b)
	VPSLLD(Imm(23), k2b, k2b)
	VMULPS(k1b, p, p)
	VMULPS(k2b, p, p)
	w.zeroWhere(under, p) // 0 where t < -104
	return p
}

// powReal returns u^gamma = exp(gamma*log u) for a non-integer gamma
// given as the float32 pair gHi + gLo (so that gamma*log u loses nothing
// to the rounding of gamma to float32), and log u and log u clamped to
// [-1000, 1000] (finite where log u is ±Inf, for the correction term).
func (w *vec) powReal(u reg.VecVirtual, gHi, gLo Mem) (pow, lu, lub reg.VecVirtual) {
	lu = w.logFull(u)
	lub = w.V()
	VMAXPS(w.cf("ldmin", -1000), lu, lub)
	VMINPS(w.cf("ldmax", 1000), lub, lub)
	t, g := w.V(), w.V()
	VBROADCASTSS(gLo, g)
	VMULPS(g, lub, t)
	VBROADCASTSS(gHi, g)
	VFMADD231PS(g, lu, t) // lu*gHi + lub*gLo
	return w.exp(t), lu, lub
}

// keepOnStack runs fn with the values of regs stored in the vector-sized
// slots of spill and loaded back after it, when on is set and the ISA is
// AVX2: the powR loops' exp and log need more than AVX2's 16 vector
// registers otherwise (avo would allocate Y16 and up, which only AVX-512
// has; internal/avx2's TestNoAVX512 fails on that). The other loops, and
// AVX-512 with its 32, keep them in registers.
func (w *vec) keepOnStack(spill Mem, on bool, regs []reg.VecVirtual, fn func()) {
	if !on || w.avx512 {
		fn()
		return
	}
	for i, r := range regs {
		VMOVUPS(r, spill.Offset(w.bytes()*i))
	}
	fn()
	for i, r := range regs {
		VMOVUPS(spill.Offset(w.bytes()*i), r)
	}
}

// sigmoids returns, for the logits z, sig = sigmoid(z) and sigNeg =
// sigmoid(-z) in float32, as r = 1/(1+e) and e*r with e = e^-|z| (swapped
// for z < 0), and l1p = log1p(e) (log1pUnit, which does not round 1+e),
// so that log(sig) = min(z, 0) - l1p and log(sigNeg) = -max(z, 0) - l1p.
// scratch is a register the caller may reuse (it held r). zero and one
// hold 0 and 1.
func (w *vec) sigmoids(z, zero, one reg.VecVirtual) (sig, sigNeg, l1p, scratch reg.VecVirtual) {
	nabs := w.V()
	w.bitOr(w.c("signbit", 0x80000000), z, nabs) // -|z|
	e := w.exp(nabs)
	l1p = w.log1pUnit(e) // first, while few values are live
	ope := w.V()
	VADDPS(one, e, ope)
	r := w.V()
	VDIVPS(ope, one, r) // 1/(1+e)
	small := w.V()
	VMULPS(r, e, small) // e/(1+e)
	neg := w.M()
	w.cmpTo(cmpLT, zero, z, neg)
	sig = w.blend(neg, small, r)
	sigNeg = w.blend(neg, r, small)
	return sig, sigNeg, l1p, r
}
