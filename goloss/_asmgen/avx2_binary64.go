package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The AVX2 float64 binary kernels: binaryProbRow and binaryLogitsRow on 4
// float64 lanes in ymm registers, one pass over a row, the loss terms in a
// lane accumulator and, with the gradient, the gradient written as it goes.
// Each step is the reference's operation in the reference's order, except:
//
//   - log, log1p and exp are the vector ones below (b64log*, b64exp*): log
//     is fdlibm's (math.Log's), its polynomial and final sum reordered for
//     a shorter chain (1.5 ulp); log1p(e) is log(1+e) plus the rounding
//     error of 1+e divided by 1+e; exp is the Taylor polynomial of degree
//     13 on |r| <= ln2/2 by Estrin's scheme, 2^k applied in two halves so
//     that subnormal results round once (or at once where the result is
//     checked to be normal);
//   - u^gamma for integer gamma is repeated squaring (as math.Pow does),
//     and gamma*u^(gamma-1) replaces gamma*u^gamma/u, except where
//     gamma*u^gamma overflows (there the reference's Inf or NaN is kept);
//   - for any other gamma, where every lane's u is positive, normal and
//     finite: u^(gamma-1) = exp((gamma-1)*log u), u^gamma = u^(gamma-1)*u
//     and gamma*u^(gamma-1) as the derivative, kept if u^(gamma-1) is
//     normal and gamma*u^gamma finite in every lane; else u^gamma =
//     exp(gamma*log u) with log's special cases, gamma*u^gamma/u (0 where u
//     = 0), and gamma*exp((gamma-1)*log u) where u^gamma underflowed (u !=
//     0, |u^gamma| < 2^-1022), as binaryConstants.focal;
//   - on probabilities, dbce/dp = (1-t)/(1-q) - t/q is computed as
//     (q-t) / (q*(1-q)): one division and no cancellation;
//   - on logits, sigmoid(-|z|) = e/(1+e) is computed as e * (1/(1+e)).
//
// Every name here starts with b64 (Go identifiers and data symbols alike):
// other groups of the same package declare their own helpers.

// Offsets in the constants array k of the binary64 kernels (the Go side:
// binary64Consts in goloss/binary64_amd64.go): 4-lane float64 vectors,
// then int64 scalars.
const (
	b64Keep     = 32 * iota // t = y*keep + half
	b64Half                 //
	b64Eps                  // the clip bounds of p
	b64EpsHi                //
	b64Gamma                //
	b64GammaM1              // gamma - 1
	b64Scale                // 1/C
	b64Alpha                // the one alpha
	b64AlphaNeg             // 1 - the one alpha
	b64Ints                 // int64: kind of alpha (0 none, 1 one, 2 per class), kind of gamma (0 zero, 1 integer, 2 other), integer gamma
)

const (
	b64AlphaKind = b64Ints
	b64PowKind   = b64Ints + 8
	b64PowN      = b64Ints + 16
	b64Words     = b64Ints/8 + 4 // the length of k in uint64 words
)

// Comparison predicates of VCMPPD beyond those of main.go.
const (
	b64CmpEQ    = 0x00 // ordered, quiet
	b64CmpNEQU  = 0x04 // unordered or not equal, quiet
	b64CmpNGEU  = 0x19 // unordered or less than, quiet
	b64SignBit  = 1 << 63
	b64AbsMask  = 1<<63 - 1
	b64Exp52    = 0x4330000000000000 // the bits of 2^52
	b64RoundMag = 0x1.8p52           // adding it rounds |v| < 2^51 to an integer
	b64RoundBit = 0x4338000000000000 // its bits
	b64BiasFix  = 1<<64 - (b64RoundBit - 1023)
	b64LogShift = 0x3ff0000000000000 - 0x3fe6a09e667f3bcd
	b64LogMant  = 0x3fe6a09e667f3bcd
	b64MantMask = 0x000fffffffffffff
	b64Ln2Hi    = 6.93147180369123816490e-01
	b64Ln2Lo    = 1.90821492927058770002e-10
)

// The coefficients of fdlibm's log (those of math.Log).
var b64LogLg = [8]float64{0,
	6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
	2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
	1.479819860511658591e-01}

// b64vconsts holds the 4-lane constant vectors, each declared once.
var b64vconsts = map[string]Mem{}

// b64v returns a 32-byte read-only constant holding bits in each of its 4
// lanes, named b64<name>.
func b64v(name string, bits uint64) Mem {
	if m, ok := b64vconsts[name]; ok {
		return m
	}
	m := GLOBL("b64"+name, RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(bits)) // U64 of the bits: avo prints F64(1) as the integer 1
	}
	b64vconsts[name] = m
	return m
}

func b64f(name string, v float64) Mem { return b64v(name, math.Float64bits(v)) }

// b64lanes is the constant vector 0, 1, 2, 3 (int64), for tail masks.

func b64one() Mem  { return b64f("one", 1) }
func b64zero() Mem { return b64f("zero", 0) }

// b64logSplit writes x = 2^dk * (1 + f) with 1 + f in [sqrt(2)/2,
// sqrt(2)), for x positive, normal and finite, with kadj (if not nil)
// added to dk.
func b64logSplit(x, kadj reg.VecVirtual) (f, dk reg.VecVirtual) {
	u := YMM()
	VPADDQ(b64v("logshift", b64LogShift), x, u)
	dk = YMM()
	VPSRLQ(Imm(52), u, dk)
	// k + 1023 in the mantissa of 2^52, as a float.
	VPOR(b64v("exp52", b64Exp52), dk, dk)
	VSUBPD(b64f("exp52bias", 0x1p52+1023), dk, dk)
	if kadj != nil {
		VADDPD(kadj, dk, dk)
	}
	f = u
	VPAND(b64v("mantmask", b64MantMask), u, f)
	VPADDQ(b64v("logmant", b64LogMant), f, f)
	VSUBPD(b64one(), f, f)
	return f, dk
}

// b64logPoly evaluates fdlibm's polynomial: s = f/(2+f), hfsq = f*f/2 and
// R(s*s).
func b64logPoly(f reg.VecVirtual) (s, hfsq, r reg.VecVirtual) {
	s = YMM()
	VADDPD(b64f("two", 2), f, s)
	VDIVPD(s, f, s) // f / (2+f)
	hfsq = YMM()
	VMULPD(b64f("half", 0.5), f, hfsq)
	VMULPD(f, hfsq, hfsq)
	z, w, w2 := YMM(), YMM(), YMM()
	VMULPD(s, s, z)
	VMULPD(z, z, w)
	VMULPD(w, w, w2)
	lg := func(i int) Mem { return b64f(fmt.Sprintf("loglg%d", i), b64LogLg[i]) }
	// R = z*(Lg1 + Lg3*w + (Lg5 + Lg7*w)*w^2) + w*(Lg2 + Lg4*w + Lg6*w^2):
	// fdlibm's terms, in a shorter chain.
	t2, a := YMM(), YMM()
	VMOVUPD(lg(3), t2)
	VFMADD213PD(lg(1), w, t2)
	VMOVUPD(lg(7), a)
	VFMADD213PD(lg(5), w, a)
	VFMADD231PD(a, w2, t2)
	VMULPD(z, t2, t2)
	t1 := a
	VMOVUPD(lg(4), t1)
	VFMADD213PD(lg(2), w, t1)
	VFMADD231PD(lg(6), w2, t1)
	VMULPD(w, t1, t1)
	VADDPD(t1, t2, t2)
	return s, hfsq, t2
}

// b64logJoin returns dk*ln2 + log(1+f) from the pieces of math.Log, with c
// (if not nil) added to the low part: (dk*ln2hi + (f - hfsq)) +
// (s*(hfsq+R) + (dk*ln2lo + c)). fdlibm adds the same terms from the
// smallest up; this order has a shorter chain after R, for an error of
// 1.5 ulp instead of 1.
func b64logJoin(f, dk, s, hfsq, r, c reg.VecVirtual) reg.VecVirtual {
	lo := YMM()
	if c != nil {
		VMOVUPD(c, lo)
		VFMADD231PD(b64f("ln2lo", b64Ln2Lo), dk, lo)
	} else {
		VMULPD(b64f("ln2lo", b64Ln2Lo), dk, lo)
	}
	hi := YMM()
	VSUBPD(hfsq, f, hi)
	VFMADD231PD(b64f("ln2hi", b64Ln2Hi), dk, hi)
	a := r
	VADDPD(hfsq, r, a)
	VFMADD213PD(lo, s, a) // s*(hfsq+R) + lo
	VADDPD(hi, a, a)
	return a
}

// b64logCore returns log(x) for x positive, normal and finite (garbage
// elsewhere: the kernels' poison term covers the NaN inputs that reach
// it).
func b64logCore(x reg.VecVirtual) reg.VecVirtual {
	f, dk := b64logSplit(x, nil)
	s, hfsq, r := b64logPoly(f)
	return b64logJoin(f, dk, s, hfsq, r, nil)
}

// b64log returns log(x) with the special cases of math.Log: log(0) =
// -Inf, log(x < 0) = NaN, log(+Inf) = +Inf, log(NaN) = NaN; subnormals
// are scaled by 2^54 into the normal range first.
func b64log(x reg.VecVirtual) reg.VecVirtual {
	tiny := YMM()
	VCMPPD(Imm(cmpLT), b64f("tiny", 0x1p-1022), x, tiny)
	sc := YMM()
	VMULPD(b64f("two54", 0x1p54), x, sc)
	VBLENDVPD(tiny, sc, x, sc)
	kadj := tiny
	VANDPD(b64f("minus54", -54), tiny, kadj)
	f, dk := b64logSplit(sc, kadj)
	s, hfsq, r := b64logPoly(f)
	res := b64logJoin(f, dk, s, hfsq, r, nil)
	m := YMM()
	VCMPPD(Imm(b64CmpEQ), b64zero(), x, m)
	VBLENDVPD(m, b64f("neginf", math.Inf(-1)), res, res)
	VCMPPD(Imm(b64CmpEQ), b64f("inf", math.Inf(1)), x, m)
	VBLENDVPD(m, b64f("inf", math.Inf(1)), res, res)
	VCMPPD(Imm(b64CmpNGEU), b64zero(), x, m) // x < 0 or NaN
	VBLENDVPD(m, b64v("nan", 0x7ff8000000000001), res, res)
	return res
}

// b64exp returns e^t lane by lane (t is overwritten): t = kf*ln2 + r with
// |r| <= ln2/2 after clamping t to [-746, 710] (NaN stays NaN), e^r by its
// Taylor polynomial of degree 13, and 2^kf applied as 2^k1 * 2^k2, k1 =
// round(kf/2), each a normal number. exp(+Inf) = +Inf, exp(-Inf) = 0;
// results overflow to +Inf and underflow to 0 where math.Exp does.
func b64exp(t reg.VecVirtual) reg.VecVirtual { return b64expScaled(t, false) }

// b64expNormal is b64exp for results that the caller then requires to be
// normal and finite: 2^kf is applied at once, exact where the result is
// normal; elsewhere (kf outside [-1022, 1023]) the result is 0, infinite,
// negative or NaN, never a normal number.
func b64expNormal(t reg.VecVirtual) reg.VecVirtual { return b64expScaled(t, true) }

func b64expScaled(t reg.VecVirtual, once bool) reg.VecVirtual {
	c := YMM()
	VMOVUPD(b64f("explo", -746), c)
	VMAXPD(t, c, t) // -746 > t ? -746 : t, NaN staying NaN
	VMOVUPD(b64f("exphi", 710), c)
	VMINPD(t, c, t) // 710 < t ? 710 : t
	kb := c
	VMOVUPD(b64f("log2e", math.Log2E), kb)
	VFMADD213PD(b64f("roundmag", b64RoundMag), t, kb) // kf + magic
	kf := YMM()
	VSUBPD(b64f("roundmag", b64RoundMag), kb, kf)
	VFMADD231PD(b64f("negln2hi", -b64Ln2Hi), kf, t)
	VFMADD231PD(b64f("negln2lo", -b64Ln2Lo), kf, t)
	r := t
	p := b64expPoly(r)
	if once {
		// The low bits of kf + magic hold kf: 2^kf from them.
		VPADDQ(b64v("biasfix", b64BiasFix), kb, kb)
		VPSLLQ(Imm(52), kb, kb)
		VMULPD(kb, p, p)
		return p
	}
	k1 := kb
	VMOVUPD(b64f("roundmag", b64RoundMag), k1)
	VFMADD231PD(b64f("half", 0.5), kf, k1) // round(kf/2) + magic
	k2 := r
	VSUBPD(b64f("roundmag", b64RoundMag), k1, k2)
	VSUBPD(k2, kf, k2)
	VADDPD(b64f("roundmag", b64RoundMag), k2, k2)
	VPADDQ(b64v("biasfix", b64BiasFix), k1, k1)
	VPSLLQ(Imm(52), k1, k1)
	VPADDQ(b64v("biasfix", b64BiasFix), k2, k2)
	VPSLLQ(Imm(52), k2, k2)
	VMULPD(k1, p, p)
	VMULPD(k2, p, p)
	return p
}

// b64expPoly returns e^r for |r| <= ln2/2 (slightly more after the
// rounding of kf): the Taylor polynomial of degree 13, by Estrin's scheme
// (a chain of 5 multiplications instead of Horner's 13, for the latency of
// a loop iteration).
func b64expPoly(r reg.VecVirtual) reg.VecVirtual {
	coef := func(d int) Mem {
		fact := 1.0
		for i := 2; i <= d; i++ {
			fact *= float64(i)
		}
		return b64f(fmt.Sprintf("expc%d", d), 1/fact)
	}
	// q(i) = c[2i] + c[2i+1]*r.
	q := func(i int) reg.VecVirtual {
		v := YMM()
		VMOVUPD(coef(2*i+1), v)
		VFMADD213PD(coef(2*i), r, v)
		return v
	}
	r2, r4 := YMM(), YMM()
	VMULPD(r, r, r2)
	VMULPD(r2, r2, r4)
	// t0 = q0 + q1*r^2 + (q2 + q3*r^2)*r^4, in an order that keeps few
	// registers live.
	t0 := q(0)
	VFMADD231PD(q(1), r2, t0)
	s1 := q(2)
	VFMADD231PD(q(3), r2, s1)
	VFMADD231PD(s1, r4, t0)
	// t1 = q4 + q5*r^2 + q6*r^4.
	t1 := q(4)
	VFMADD231PD(q(5), r2, t1)
	VFMADD231PD(q(6), r4, t1)
	// p = t0 + t1*r^8.
	VMULPD(r4, r4, r4)
	VFMADD231PD(t1, r4, t0)
	return t0
}

// b64State holds the registers of one generated function.
type b64State struct {
	grad, logits   bool
	g, y, x, al, k reg.Register
	off            reg.Register
	nPow           reg.Register
	acc            reg.VecVirtual
	powKind        string
}

func (s *b64State) at(base reg.Register) Mem { return Mem{Base: base, Index: s.off, Scale: 1} }
func (s *b64State) kc(off int) Mem           { return Mem{Base: s.k, Disp: off} }

// b64oneMinus returns 1 - v. AVX2 instructions reach 16 ymm registers only
// (avo allocates the 16 more of AVX-512, whose EVEX forms an AVX2 CPU
// lacks): no register holds the constant 1.
func b64oneMinus(v reg.VecVirtual) reg.VecVirtual {
	r := YMM()
	VMOVUPD(b64one(), r)
	VSUBPD(v, r, r)
	return r
}

// b64Kernel declares BinaryProb{Grad,Loss}F64 or BinaryLogits{Grad,Loss}F64.
func b64Kernel(grad, logits bool) {
	input, what, ref := "Prob", "probabilities", "binaryProbRow"
	if logits {
		input, what, ref = "Logits", "logits", "binaryLogitsRow"
	}
	ks := fmt.Sprintf("k *[%d]uint64", b64Words)
	name, sig := "Binary"+input+"LossF64", "func(y, x, alpha []float64, "+ks+", acc *[4]float64)"
	if grad {
		name, sig = "Binary"+input+"GradF64", "func(g, y, x, alpha []float64, "+ks+", acc *[4]float64)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" computes "+ref+"[float64] over one row of len(x) "+what+" in",
		"4 float64 lanes (AVX2, FMA): it stores in acc the lane sums of the loss",
		"terms a*u^gamma*bce (the caller adds them in lane order and scales them",
		"by 1/C)"+map[bool]string{true: " and writes the gradient into g", false: ""}[grad]+". k is binary64Consts",
		"(goloss/binary64_amd64.go); alpha is read for per-class alpha only.",
		"Tested against "+ref+" (TestBinary64KernelsMatchReference).")
	s := &b64State{grad: grad, logits: logits}
	if grad {
		s.g = Load(Param("g").Base(), GP64())
	}
	s.y = Load(Param("y").Base(), GP64())
	s.x = Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	s.al = Load(Param("alpha").Base(), GP64())
	s.k = Load(Param("k"), GP64())
	s.nPow = GP64()
	MOVQ(s.kc(b64PowN), s.nPow)
	kind := GP64()
	MOVQ(s.kc(b64PowKind), kind)
	s.acc = YMM()
	VXORPD(s.acc, s.acc, s.acc)

	TESTQ(kind, kind)
	JEQ(LabelRef(name + "_pow0"))
	CMPQ(kind, Imm(2))
	JEQ(LabelRef(name + "_powR"))
	CMPQ(s.nPow, Imm(2))
	JEQ(LabelRef(name + "_pow2"))
	for i, pk := range []string{"powN", "pow2", "pow0", "powR"} {
		if i > 0 {
			Label(name + "_" + pk)
		}
		s.powKind = pk
		s.off = GP64()
		XORQ(s.off, s.off)
		loopVectors4(name+"_"+pk, n, s.body, func() { ADDQ(Imm(32), s.off) })
		JMP(LabelRef(name + "_done"))
	}
	Label(name + "_done")
	accp := Load(Param("acc"), GP64())
	VMOVUPD(s.acc, Mem{Base: accp})
	VZEROUPPER()
	RET()
}

// labels returns t = y*keep + half and 1 - t.
func (s *b64State) labels(tail reg.VecVirtual) (t, omt reg.VecVirtual) {
	t = load4(s.at(s.y), tail)
	VMULPD(s.kc(b64Keep), t, t)
	VADDPD(s.kc(b64Half), t, t)
	return t, b64oneMinus(t)
}

// body emits one vector step: the reference's terms, u^gamma and its
// derivative, the loss term into the lane sums and the gradient. Every
// step fits the 16 ymm registers that AVX2 instructions reach (avo also
// allocates the 16 more of AVX-512, whose EVEX forms an AVX2 CPU lacks).
func (s *b64State) body(prefix string, tail reg.VecVirtual) {
	var t, omt, bce, u, du, dbce reg.VecVirtual
	x := load4(s.at(s.x), tail)
	if !s.logits {
		q, logQ, logQN, inv := s.probLogs(x)
		t, omt = s.labels(tail)
		bce, dbce = s.probBce(x, t, omt, q, logQ, logQN, inv)
		u = s.probU(x, t, omt)
		if s.grad {
			du = s.probDu(t)
		}
	} else {
		e, big := s.expSig(prefix, x, tail)
		sig, sigNeg := s.sigmoids(x, e, big)
		l1p := b64log1p(e, big)
		t, omt = s.labels(tail)
		u = s.logitU(t, omt, sig, sigNeg)
		if s.grad {
			du, dbce = s.logitDerivs(t, omt, sig, sigNeg)
		}
		// bce = max(z, 0) - z*t + log1p(exp(-|z|)).
		bce = YMM()
		tmp := YMM()
		VMAXPD(b64zero(), x, bce) // z > 0 ? z : 0 (a NaN z gives 0: poison)
		VMULPD(t, x, tmp)
		VSUBPD(tmp, bce, bce)
		VADDPD(l1p, bce, bce)
	}
	a := s.alpha(prefix, t, omt, tail)
	pow, dpow := s.focal(prefix, u, tail)
	s.finish(tail, a, pow, dpow, bce, du, dbce)
}

// probU returns u = t*(1-x) + (1-t)*x.
func (s *b64State) probU(x, t, omt reg.VecVirtual) reg.VecVirtual {
	u := b64oneMinus(x)
	VMULPD(t, u, u)
	tmp := YMM()
	VMULPD(x, omt, tmp)
	VADDPD(tmp, u, u)
	return u
}

// logitU returns u = t*sigmoid(-z) + (1-t)*sigmoid(z).
func (s *b64State) logitU(t, omt, sig, sigNeg reg.VecVirtual) reg.VecVirtual {
	u, tmp := YMM(), YMM()
	VMULPD(sigNeg, t, u)
	VMULPD(sig, omt, tmp)
	VADDPD(tmp, u, u)
	return u
}

// alpha returns a: 1, t*alpha + (1-t)*(1-alpha) for the one alpha, or
// t*alpha[c] + (1-t)*(1-alpha[c]).
func (s *b64State) alpha(prefix string, t, omt, tail reg.VecVirtual) reg.VecVirtual {
	a := YMM()
	tmp := YMM()
	CMPQ(s.kc(b64AlphaKind), Imm(1))
	JEQ(LabelRef(prefix + "_alpha1"))
	JA(LabelRef(prefix + "_alphas"))
	VMOVUPD(b64one(), a)
	JMP(LabelRef(prefix + "_alphadone"))
	Label(prefix + "_alpha1")
	VMULPD(s.kc(b64Alpha), t, a)
	VMULPD(s.kc(b64AlphaNeg), omt, tmp)
	VADDPD(tmp, a, a)
	JMP(LabelRef(prefix + "_alphadone"))
	Label(prefix + "_alphas")
	av := load4(s.at(s.al), tail)
	VMULPD(av, t, a)
	avn := b64oneMinus(av)
	VMULPD(avn, omt, tmp)
	VADDPD(tmp, a, a)
	Label(prefix + "_alphadone")
	return a
}

// finish adds the loss term a*pow*bce + (x - x) to the lane sums (NaN for
// a NaN or infinite x, as the reference's poison term) and, with the
// gradient, stores scale*a*(dpow*du*bce + pow*dbce) + (x - x).
func (s *b64State) finish(tail, a, pow, dpow, bce, du, dbce reg.VecVirtual) {
	poison := load4(s.at(s.x), tail)
	VSUBPD(poison, poison, poison)
	term := YMM()
	VMULPD(pow, a, term)
	VMULPD(bce, term, term)
	VADDPD(poison, term, term)
	if tail != nil {
		VANDPD(tail, term, term)
	}
	VADDPD(term, s.acc, s.acc)
	if s.grad {
		VMULPD(du, dpow, dpow)
		VMULPD(bce, dpow, dpow)
		VMULPD(dbce, pow, pow)
		VADDPD(pow, dpow, dpow)
		VMULPD(s.kc(b64Scale), a, a)
		VMULPD(dpow, a, a)
		VADDPD(poison, a, a)
		store4(a, s.at(s.g), tail)
	}
}

// probDu returns du/dp = 1 - 2t.
func (s *b64State) probDu(t reg.VecVirtual) reg.VecVirtual {
	du := YMM()
	VADDPD(t, t, du)
	return b64oneMinus(du)
}

// probLogs returns q = clip(x, eps, 1-eps) (a NaN x gives eps: the poison
// term makes its results NaN), log q, log(1-q) and, with the gradient,
// 1/(q*(1-q)).
func (s *b64State) probLogs(x reg.VecVirtual) (q, logQ, logQN, inv reg.VecVirtual) {
	q = YMM()
	VMAXPD(s.kc(b64Eps), x, q)
	VMINPD(s.kc(b64EpsHi), q, q)
	omq := b64oneMinus(q)
	logQ, logQN = b64logCore(q), b64logCore(omq)
	if s.grad {
		inv = YMM()
		VMULPD(q, omq, omq)
		VMOVUPD(b64one(), inv)
		VDIVPD(omq, inv, inv)
	}
	return q, logQ, logQN, inv
}

// probBce returns, as binaryProbRow computes them, bce and (with the
// gradient) dbce/dp, for probabilities x: dbce = (q - t) / (q*(1-q)) where
// eps <= x <= 1-eps, else 0.
func (s *b64State) probBce(x, t, omt, q, logQ, logQN, inv reg.VecVirtual) (bce, dbce reg.VecVirtual) {
	// bce = -(t*log q + (1-t)*log(1-q)).
	bce = logQ
	VMULPD(t, logQ, bce)
	VMULPD(omt, logQN, logQN)
	VADDPD(logQN, bce, bce)
	VXORPD(b64v("signbit", b64SignBit), bce, bce)
	if s.grad {
		dbce = q
		VSUBPD(t, q, dbce)
		VMULPD(inv, dbce, dbce)
		in, tmp := inv, YMM()
		VCMPPD(Imm(cmpGE), s.kc(b64Eps), x, in)
		VCMPPD(Imm(cmpLE), s.kc(b64EpsHi), x, tmp)
		VANDPD(tmp, in, in)
		VANDPD(in, dbce, dbce)
	}
	return bce, dbce
}

// expSig returns e = exp(-|z|) and 1/(1+e): e normal in every lane where
// |z| <= 708 (b64expNormal), else with subnormal results rounded once
// (b64exp).
func (s *b64State) expSig(prefix string, x, tail reg.VecVirtual) (e, big reg.VecVirtual) {
	na := YMM()
	VORPD(b64v("signbit", b64SignBit), x, na) // -|z|
	e, ok := YMM(), YMM()
	VCMPPD(Imm(cmpGE), b64f("minus708", -708), na, ok)
	s.allLanes(ok, tail, prefix+"_bigz")
	VMOVAPD(b64expNormal(na), e)
	JMP(LabelRef(prefix + "_expdone"))
	Label(prefix + "_bigz")
	VMOVAPD(b64exp(na), e)
	Label(prefix + "_expdone")
	d := YMM()
	VADDPD(b64one(), e, d) // 1 + e
	big = YMM()
	VMOVUPD(b64one(), big)
	VDIVPD(d, big, big) // 1/(1+e)
	return e, big
}

// sigmoids returns sigmoid(z) and sigmoid(-z): 1/(1+e) and e*(1/(1+e))
// for e = exp(-|z|), by the sign of z.
func (s *b64State) sigmoids(x, e, big reg.VecVirtual) (sig, sigNeg reg.VecVirtual) {
	small := YMM()
	VMULPD(big, e, small) // e/(1+e)
	right := YMM()
	VCMPPD(Imm(cmpGE), b64zero(), x, right)
	sig, sigNeg = YMM(), YMM()
	VBLENDVPD(right, big, small, sig)
	VBLENDVPD(right, small, big, sigNeg)
	return sig, sigNeg
}

// b64log1p returns log1p(e) for e in [0, 1] from big = 1/(1+e): log(d)
// for d = 1 + e rounded, plus c = (e - (d-1))/d, the rounding error of d
// relative to d (d - 1 and the rounding error are exact).
func b64log1p(e, big reg.VecVirtual) reg.VecVirtual {
	d := YMM()
	VADDPD(b64one(), e, d)
	c, tmp := YMM(), YMM()
	VSUBPD(b64one(), d, tmp)
	VSUBPD(tmp, e, c)
	VMULPD(big, c, c)
	f, dk := b64logSplit(d, nil)
	ls, hfsq, r := b64logPoly(f)
	return b64logJoin(f, dk, ls, hfsq, r, c)
}

// logitDerivs returns du/dz without its focal factor,
// (1-2t)*sigmoid(z)*sigmoid(-z), and dbce/dz = (1-t)*sigmoid(z) -
// t*sigmoid(-z) (sigmoid(z) - t without cancellation). sig and sigNeg are
// overwritten.
func (s *b64State) logitDerivs(t, omt, sig, sigNeg reg.VecVirtual) (du, dbce reg.VecVirtual) {
	du = YMM()
	VADDPD(t, t, du)
	du = b64oneMinus(du)
	VMULPD(sig, du, du)
	VMULPD(sigNeg, du, du)
	dbce = sig
	VMULPD(omt, sig, dbce)
	VMULPD(t, sigNeg, sigNeg)
	VSUBPD(sigNeg, dbce, dbce)
	return du, dbce
}

// focal returns u^gamma and d(u^gamma)/du, as binaryConstants.focal does.
func (s *b64State) focal(prefix string, u, tail reg.VecVirtual) (pow, dpow reg.VecVirtual) {
	pow, dpow = YMM(), YMM()
	switch s.powKind {
	case "pow0":
		VMOVUPD(b64one(), pow)
		VXORPD(dpow, dpow, dpow)
	case "pow2", "powN":
		pm1 := u
		if s.powKind == "powN" {
			pm1 = YMM()
			base := YMM()
			VMOVUPD(b64one(), pm1)
			VMOVAPD(u, base)
			squareLoopMul(prefix, s.nPow, pm1, base, VMULPD)
		}
		VMULPD(u, pm1, pow)
		VMULPD(s.kc(b64Gamma), pm1, dpow)
		// Where gamma*u^gamma overflows, the reference's gamma*pow/u is
		// infinite (or NaN).
		gp, over := YMM(), YMM()
		VMULPD(s.kc(b64Gamma), pow, gp)
		VANDPD(b64v("absmask", b64AbsMask), gp, over)
		VCMPPD(Imm(b64CmpEQ), b64f("inf", math.Inf(1)), over, over)
		m := GP32()
		VMOVMSKPD(over, m)
		TESTL(m, m)
		JZ(LabelRef(prefix + "_finite"))
		VDIVPD(u, gp, gp)
		VBLENDVPD(over, gp, dpow, dpow)
		Label(prefix + "_finite")
		// u - u turns an infinite u into NaN, as the reference's pow/u does.
		uu := gp
		VSUBPD(u, u, uu)
		VADDPD(uu, dpow, dpow)
	case "powR":
		// The common case, every lane's u positive, normal and finite:
		// u^(gamma-1) = exp((gamma-1)*log u), u^gamma = u^(gamma-1)*u and
		// gamma*u^(gamma-1) as the derivative (no division), kept where
		// u^(gamma-1) is normal and gamma*u^gamma finite in every lane.
		ok, c := YMM(), YMM()
		VCMPPD(Imm(cmpGE), b64f("tiny", 0x1p-1022), u, ok)
		VCMPPD(Imm(cmpLT), b64f("inf", math.Inf(1)), u, c)
		VANDPD(c, ok, ok)
		s.allLanes(ok, tail, prefix+"_slow")
		logU := b64logCore(u)
		e := YMM()
		VMULPD(s.kc(b64GammaM1), logU, e)
		pm1 := b64expNormal(e)
		VMULPD(u, pm1, pow)
		VMULPD(s.kc(b64Gamma), pm1, dpow)
		VMULPD(s.kc(b64Gamma), pow, ok)
		VANDPD(b64v("absmask", b64AbsMask), ok, ok)
		VCMPPD(Imm(cmpLT), b64f("inf", math.Inf(1)), ok, ok)
		VCMPPD(Imm(cmpGE), b64f("tiny", 0x1p-1022), pm1, c)
		VANDPD(c, ok, ok)
		s.allLanes(ok, tail, prefix+"_slow")
		JMP(LabelRef(prefix + "_powdone"))

		// Any u: u^gamma = exp(gamma*log u) with log's special cases,
		// gamma*u^gamma/u as the derivative, 0 where u = 0, and where
		// u^gamma underflowed (u != 0, |u^gamma| < 2^-1022),
		// gamma*exp((gamma-1)*log u).
		Label(prefix + "_slow")
		logU = b64log(u)
		p := YMM()
		VMULPD(s.kc(b64Gamma), logU, p)
		p = b64exp(p)
		VMOVAPD(p, pow)
		VMULPD(s.kc(b64Gamma), p, dpow)
		VDIVPD(u, dpow, dpow)
		nz := YMM()
		VCMPPD(Imm(b64CmpNEQU), b64zero(), u, nz)
		VANDPD(nz, dpow, dpow) // the limit 0 where u = 0
		under := YMM()
		VANDPD(b64v("absmask", b64AbsMask), pow, under)
		VCMPPD(Imm(cmpLT), b64f("tiny", 0x1p-1022), under, under)
		VANDPD(nz, under, under)
		m := GP32()
		VMOVMSKPD(under, m)
		TESTL(m, m)
		JZ(LabelRef(prefix + "_powdone"))
		e = YMM()
		VMULPD(s.kc(b64GammaM1), logU, e)
		e = b64exp(e)
		VMULPD(s.kc(b64Gamma), e, e)
		VBLENDVPD(under, e, dpow, dpow)
		Label(prefix + "_powdone")
	}
	return pow, dpow
}

// allLanes jumps to label unless mask is set in every lane (every lane of
// tail, if not nil).
func (s *b64State) allLanes(mask, tail reg.VecVirtual, label string) {
	m := GP32()
	VMOVMSKPD(mask, m)
	if tail == nil {
		CMPL(m, Imm(15))
	} else {
		tb := GP32()
		VMOVMSKPD(tail, tb)
		ANDL(tb, m)
		CMPL(m, tb)
	}
	JNE(LabelRef(label))
}

// binary64Kernels declares the AVX2 float64 binary kernels (group binary64
// of avx2): 4 float64 lanes, probabilities and logits, with and without
// the gradient.
func binary64Kernels() {
	for _, logits := range []bool{false, true} {
		for _, grad := range []bool{true, false} {
			b64Kernel(grad, logits)
		}
	}
}
