package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The float32 elementary functions of the AVX2 kernels on 8 lanes, for
// non-integer gamma and for logits: the full log (subnormals, 0, negative,
// infinite and NaN arguments as math.Log gives them), the exp (Cephes'
// expf polynomial, 2^k applied in two halves so that subnormal results
// round once) and u^gamma = exp(gamma*log u). Same operations as the
// AVX-512 float32 kernels'.

// VCMPPS predicates, unordered: true where a lane is NaN.
const (
	cmpNEQ = 0x04 // not equal
	cmpNGE = 0x19 // not greater or equal
)

// blend8 returns mask ? a : b, lane by lane.
func blend8(mask reg.VecVirtual, a, b Op) reg.VecVirtual {
	d := YMM()
	VBLENDVPS(mask, a, b, d)
	return d
}

// logFull8 returns log(x) with math.Log's special cases: subnormals are
// scaled by 2^23 first; log(0) = -Inf, log(x < 0) = NaN, log(+Inf) =
// +Inf, log(NaN) = NaN.
func logFull8(x reg.VecVirtual) reg.VecVirtual {
	tiny := YMM()
	VCMPPS(Imm(cmpLT), v8f("minnormal", 0x1p-126), x, tiny)
	scaled := YMM()
	VMULPS(v8f("two23", 0x1p23), x, scaled)
	VBLENDVPS(tiny, scaled, x, scaled)
	// logUnit8 on the scaled value, then kf - 23 where it was scaled:
	// the same as logSplit with kadj.
	u := YMM()
	VPADDD(v8("log32shift", log32Shift), scaled, u)
	kf := YMM()
	VPSRLD(Imm(23), u, kf)
	VCVTDQ2PS(kf, kf)
	VSUBPS(v8f("f127", 127), kf, kf)
	adj := YMM()
	VANDPS(v8f("minus23", -23), tiny, adj)
	VADDPS(adj, kf, kf)
	f := u
	VPAND(v8("mant32mask", mant32Mask), u, f)
	VPADDD(v8("log32base", log32Base), f, f)
	VSUBPS(v8f("one", 1), f, f)
	z := YMM()
	VMULPS(f, f, z)
	poly := logPoly8(f, z)
	VMULPS(f, poly, poly)
	VMULPS(z, poly, poly)
	VFMADD231PS(v8f("ln2lo", log32Ln2Lo), kf, poly)
	VFMADD231PS(v8f("minushalf", -0.5), z, poly)
	VADDPS(poly, f, f)
	VFMADD231PS(v8f("ln2hi", log32Ln2Hi), kf, f)
	// The special cases: 0 gives -Inf, +Inf gives +Inf, x < 0 or NaN NaN.
	m := YMM()
	VXORPS(z, z, z)
	VCMPPS(Imm(0), z, x, m) // x == 0
	VBLENDVPS(m, v8f("minusinf", float32NegInf()), f, f)
	VCMPPS(Imm(0), v8f("inf", float32Inf()), x, m) // x == +Inf
	VBLENDVPS(m, v8f("inf", float32Inf()), f, f)
	VCMPPS(Imm(cmpNGE), z, x, m) // not x >= 0: x < 0 or NaN
	VBLENDVPS(m, v8("nan", 0x7fc00000), f, f)
	return f
}

// logPoly8 returns the log polynomial logCoefs (c0 f^8 + c1 f^7 + ... +
// c8) at f, z = f*f, as E(z) + f*O(z): the even powers (c0 z^4 + c2 z^3
// + ... + c8) and the odd ones (c1 z^3 + ... + c7) by Horner in z, two
// independent chains of five and four FMAs and one FMA to join them,
// instead of one chain of nine (the kernels run out of scheduler room, not
// of FMA units, on the long chain); one register more than Horner in f.
// TestAsmLogF32 holds the log to 1 ulp on every float32 in [1e-8, 1].
func logPoly8(f, z reg.VecVirtual) reg.VecVirtual {
	even, odd := everyOther8(logCoefs, logCoefName, 0, z), everyOther8(logCoefs, logCoefName, 1, z)
	VFMADD231PS(odd, f, even)
	return even
}

// everyOther8 returns c[first]*x^k + c[first+2]*x^(k-1) + ... (every other
// coefficient of c, the first the highest power) at x by Horner, its
// constants named by name: one half of a polynomial split into its even
// and odd powers, with x the square of its variable.
func everyOther8(c []float32, name func(int) string, first int, x reg.VecVirtual) reg.VecVirtual {
	h := YMM()
	VMOVUPS(v8f(name(first), c[first]), h)
	for i := first + 2; i < len(c); i += 2 {
		VFMADD213PS(v8f(name(i), c[i]), x, h)
	}
	return h
}

// hornerPoly8 is logPoly8 by Horner in f: one chain of nine FMAs.
func hornerPoly8(f, _ reg.VecVirtual) reg.VecVirtual {
	poly := YMM()
	VMOVUPS(v8f(logCoefName(0), logCoefs[0]), poly)
	for i, c := range logCoefs[1:] {
		VFMADD213PS(v8f(logCoefName(i+1), c), f, poly)
	}
	return poly
}

// expCoefs are exp8's polynomial, c0 (of r^5) to c5 (of 1).
var expCoefs = []float32{1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1}

// exp8 returns e^t: t clamped to [-104, 89], t = kf*ln2 + r, e^r by the
// polynomial, times 2^k1 * 2^k2 with k1 = round(kf/2); 0 where t < -104,
// +Inf above the float32 range, NaN for NaN.
func exp8(t reg.VecVirtual) reg.VecVirtual {
	under := YMM()
	VCMPPS(Imm(cmpLT), v8f("expunder", -104), t, under)
	// The clamp by max and min, whose second source (t) is what they give
	// for NaN, one instruction each on the chain; the rounding of kf to an
	// integer (nearest, even on ties) by VROUNDPS: the bits of the
	// round-magic addition and subtraction, in one instruction.
	tc, m := YMM(), YMM()
	VMOVUPS(v8f("expunder", -104), m)
	VMAXPS(t, m, tc) // m > t ? m : t
	VMOVUPS(v8f("expover", 89), m)
	VMINPS(tc, m, tc) // m < tc ? m : tc
	kf := YMM()
	VMULPS(v8f("log2e", 1.4426950408889634), tc, kf)
	VROUNDPS(Imm(0), kf, kf)
	r := tc
	VFMADD231PS(v8f("minusln2hi", -log32Ln2Hi), kf, r) // r = kf*(-ln2Hi) + t
	VFMADD231PS(v8f("minusln2lo", -log32Ln2Lo), kf, r)
	// e^r = 1 + r + r^2*P(r), P = c0 r^5 + ... + c5 as E(r^2) + r*O(r^2)
	// (the even and the odd powers, two short chains), and r^2*P + r in
	// one FMA.
	r2 := m
	VMULPS(r, r, r2)
	p, odd := everyOther8(expCoefs, expCoefName, 1, r2), everyOther8(expCoefs, expCoefName, 0, r2)
	VFMADD231PS(odd, r, p)
	VFMADD213PS(r, r2, p) // r^2*P + r
	VADDPS(v8f("one", 1), p, p)
	k1b, k2b := YMM(), r
	VMULPS(v8f("half", 0.5), kf, k1b)
	VADDPS(v8f("roundmagic", 0x1.8p23), k1b, k1b)
	VSUBPS(v8f("roundmagic", 0x1.8p23), k1b, k2b)
	VSUBPS(k2b, kf, k2b)
	VADDPS(v8f("roundmagic", 0x1.8p23), k2b, k2b)
	VPADDD(v8("expbiasfix", expBiasFix32), k1b, k1b)
	VPSLLD(Imm(23), k1b, k1b)
	VPADDD(v8("expbiasfix", expBiasFix32), k2b, k2b)
	VPSLLD(Imm(23), k2b, k2b)
	VMULPS(k1b, p, p)
	VMULPS(k2b, p, p)
	VANDNPS(p, under, p) // 0 where t < -104
	return p
}

// powReal8 returns u^gamma = exp(gamma*log u) for a non-integer gamma
// given as the float32 pair gHi + gLo (so that gamma*log u loses nothing
// to the rounding of gamma to float32), and log u and log u clamped to
// [-1000, 1000] (finite where log u is ±Inf, for the correction term).
func powReal8(u reg.VecVirtual, gHi, gLo Mem) (pow, lu, lub reg.VecVirtual) {
	lu = logFull8(u)
	lub = YMM()
	VMAXPS(v8f("ldmin", -1000), lu, lub)
	VMINPS(v8f("ldmax", 1000), lub, lub)
	t, g := YMM(), YMM()
	VBROADCASTSS(gLo, g)
	VMULPS(g, lub, t)
	VBROADCASTSS(gHi, g)
	VFMADD231PS(g, lu, t) // lu*gHi + lub*gLo
	return exp8(t), lu, lub
}

// keepOnStack runs fn with the values of regs stored in the 32-byte slots
// of spill and loaded back after it, when on is set: the powR loops' exp
// and log need more than AVX2's 16 vector registers otherwise (avo would
// allocate Y16 and up, which only AVX-512 has; internal/avx2's
// TestNoAVX512 fails on that). The other loops keep them in registers.
func keepOnStack(spill Mem, on bool, regs []reg.VecVirtual, fn func()) {
	if !on {
		fn()
		return
	}
	for i, r := range regs {
		VMOVUPS(r, spill.Offset(32*i))
	}
	fn()
	for i, r := range regs {
		VMOVUPS(spill.Offset(32*i), r)
	}
}

// lanes4 is the constant vector 0, 1, 2, 3 (int64), for the tail masks of
// the float64 kernels.
func lanes4() Mem {
	if m, ok := vconsts["lanes4"]; ok {
		return m
	}
	m := GLOBL("lanes4", RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(uint64(i)))
	}
	vconsts["lanes4"] = m
	return m
}

// loopVectors4 is loopVectors8 for 4 float64 lanes: the tail gets a vector
// mask of its lanes (all ones in a loaded lane's 64 bits, for VMASKMOVPD).
func loopVectors4(name string, n reg.Register, body func(prefix string, tail reg.VecVirtual), step func()) {
	loopLanes(name, n, 4, body, step)
}

// loopLanes emits a loop over the n/lanes full ymm vectors of 8 float32 or
// 4 float64 lanes, then the last n%lanes with a vector mask of those lanes
// (all ones where loaded, for VMASKMOVPS/PD); body gets that mask, nil for
// full vectors, and step advances the pointers by a vector.
func loopLanes(name string, n reg.Register, lanes int, body func(prefix string, tail reg.VecVirtual), step func()) {
	shift := uint64(3)
	if lanes == 4 {
		shift = 2
	}
	full := GP64()
	MOVQ(n, full)
	SHRQ(Imm(shift), full)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_loop")
	body(name+"_full", nil)
	step()
	DECQ(full)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_tail")
	rem := GP64()
	MOVQ(n, rem)
	ANDQ(Imm(uint64(lanes-1)), rem)
	JZ(LabelRef(name + "_done"))
	x := XMM()
	VMOVQ(rem, x) // VEX: a legacy MOVQ here costs an SSE/AVX transition
	tail := YMM()
	if lanes == 4 {
		VPBROADCASTQ(x, tail)
		VPCMPGTQ(lanes4(), tail, tail) // rem > lane
	} else {
		VPBROADCASTD(x, tail)
		VPCMPGTD(lanes8(), tail, tail)
	}
	body(name+"_part", tail)
	Label(name + "_done")
}

// load4 loads 4 float64 lanes; with a tail mask only its lanes, the others 0.
func load4(addr Mem, tail reg.VecVirtual) reg.VecVirtual {
	y := YMM()
	if tail != nil {
		VMASKMOVPD(addr, tail, y)
	} else {
		VMOVUPD(addr, y)
	}
	return y
}

// store4 stores 4 float64 lanes; with a tail mask only its lanes.
func store4(v reg.VecVirtual, addr Mem, tail reg.VecVirtual) {
	if tail != nil {
		VMASKMOVPD(v, tail, addr)
	} else {
		VMOVUPD(v, addr)
	}
}
