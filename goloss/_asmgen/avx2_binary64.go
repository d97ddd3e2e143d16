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
//   - log, log1p and exp are the vector ones below (b64log*, b64exp): log
//     is fdlibm's, as math.Log computes it; exp is a degree-13 Taylor
//     polynomial on |r| <= ln2/2 with 2^k applied in two halves, so that
//     subnormal results round once;
//   - u^gamma for integer gamma is repeated squaring (as math.Pow does),
//     and gamma*u^(gamma-1) replaces gamma*u^gamma/u, except where
//     gamma*u^gamma overflows (there the reference's Inf or NaN is kept);
//     for any other gamma, u^gamma = exp(gamma*log u), and where that
//     underflows (u != 0, |u^gamma| < 2^-1022), gamma*exp((gamma-1)*log u);
//   - on probabilities, dbce/dp = (1-t)/(1-q) - t/q is computed as
//     (q-t) / (q*(1-q)): one division and no cancellation;
//   - on logits, sigmoid(-|z|) = e/(1+e) is computed as e * (1/(1+e)), and
//     log1p(e) as log(1+e) plus the rounding error of 1+e divided by 1+e.
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
func b64lanes() Mem {
	if m, ok := b64vconsts["lanes"]; ok {
		return m
	}
	m := GLOBL("b64lanes", RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(uint64(i)))
	}
	b64vconsts["lanes"] = m
	return m
}

func b64one() Mem  { return b64f("one", 1) }
func b64zero() Mem { return b64f("zero", 0) }

// b64loopVectors runs body over n float64 elements 4 at a time, then once
// more over the last n mod 4 with tail, a vector mask of the lanes loaded
// (all ones in a lane's 64 bits), for VMASKMOVPD; step advances the
// pointers after each full vector.
func b64loopVectors(name string, n reg.Register, body func(prefix string, tail reg.VecVirtual), step func()) {
	full := GP64()
	MOVQ(n, full)
	SHRQ(Imm(2), full)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_loop")
	body(name+"_full", nil)
	step()
	DECQ(full)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_tail")
	rem := GP64()
	MOVQ(n, rem)
	ANDQ(Imm(3), rem)
	JZ(LabelRef(name + "_done"))
	x := XMM()
	VMOVQ(rem, x) // VEX: a legacy MOVQ here costs an SSE/AVX transition
	tail := YMM()
	VPBROADCASTQ(x, tail)
	VPCMPGTQ(b64lanes(), tail, tail) // rem > lane
	body(name+"_part", tail)
	Label(name + "_done")
}

func b64load(addr Mem, tail reg.VecVirtual) reg.VecVirtual {
	v := YMM()
	if tail != nil {
		VMASKMOVPD(addr, tail, v)
	} else {
		VMOVUPD(addr, v)
	}
	return v
}

func b64store(v reg.VecVirtual, addr Mem, tail reg.VecVirtual) {
	if tail != nil {
		VMASKMOVPD(v, tail, addr)
	} else {
		VMOVUPD(v, addr)
	}
}

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
	hfsq = YMM()
	VMULPD(b64f("half", 0.5), f, hfsq)
	VMULPD(f, hfsq, hfsq)
	s = YMM()
	VADDPD(b64f("two", 2), f, s)
	VDIVPD(s, f, s) // f / (2+f)
	z, w := YMM(), YMM()
	VMULPD(s, s, z)
	VMULPD(z, z, w)
	lg := func(i int) Mem { return b64f(fmt.Sprintf("loglg%d", i), b64LogLg[i]) }
	t1 := YMM()
	VMOVUPD(lg(6), t1)
	VFMADD213PD(lg(4), w, t1)
	VFMADD213PD(lg(2), w, t1)
	VMULPD(w, t1, t1)
	t2 := YMM()
	VMOVUPD(lg(7), t2)
	VFMADD213PD(lg(5), w, t2)
	VFMADD213PD(lg(3), w, t2)
	VFMADD213PD(lg(1), w, t2)
	VMULPD(z, t2, t2)
	VADDPD(t1, t2, t2)
	return s, hfsq, t2
}

// b64logJoin returns dk*ln2 + log(1+f) from the pieces, as math.Log adds
// them, with c (if not nil) added to the low part: s*(hfsq+R) +
// (dk*ln2lo + c) - hfsq + f + dk*ln2hi.
func b64logJoin(f, dk, s, hfsq, r, c reg.VecVirtual) reg.VecVirtual {
	lo := YMM()
	if c != nil {
		VMOVUPD(c, lo)
		VFMADD231PD(b64f("ln2lo", b64Ln2Lo), dk, lo)
	} else {
		VMULPD(b64f("ln2lo", b64Ln2Lo), dk, lo)
	}
	a := r
	VADDPD(hfsq, r, a)
	VFMADD213PD(lo, s, a) // s*(hfsq+R) + lo
	VSUBPD(hfsq, a, a)
	VADDPD(f, a, a)
	VFMADD231PD(b64f("ln2hi", b64Ln2Hi), dk, a)
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
func b64exp(t reg.VecVirtual) reg.VecVirtual {
	c := YMM()
	VMOVUPD(b64f("explo", -746), c)
	VMAXPD(t, c, t) // -746 > t ? -746 : t, NaN staying NaN
	VMOVUPD(b64f("exphi", 710), c)
	VMINPD(t, c, t) // 710 < t ? 710 : t
	kf := c
	VMOVUPD(b64f("log2e", math.Log2E), kf)
	VFMADD213PD(b64f("roundmag", b64RoundMag), t, kf)
	VSUBPD(b64f("roundmag", b64RoundMag), kf, kf)
	VFMADD231PD(b64f("negln2hi", -b64Ln2Hi), kf, t)
	VFMADD231PD(b64f("negln2lo", -b64Ln2Lo), kf, t)
	r := t
	p := YMM()
	VMOVUPD(b64f("expc13", 1.0/6227020800), p)
	fact := 6227020800.0
	for d := 12; d >= 0; d-- {
		fact /= float64(d + 1)
		VFMADD213PD(b64f(fmt.Sprintf("expc%d", d), 1/fact), r, p)
	}
	k1 := YMM()
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

// b64State holds the registers of one generated function.
type b64State struct {
	grad, logits   bool
	g, y, x, al, k reg.Register
	off            reg.Register
	alphaK, nPow   reg.Register
	one, acc       reg.VecVirtual
	powKind        string
}

func (s *b64State) at(base reg.Register) Mem { return Mem{Base: base, Index: s.off, Scale: 1} }
func (s *b64State) kc(off int) Mem           { return Mem{Base: s.k, Disp: off} }

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
	accp := Load(Param("acc"), GP64())
	s.alphaK, s.nPow = GP64(), GP64()
	MOVQ(s.kc(b64AlphaKind), s.alphaK)
	MOVQ(s.kc(b64PowN), s.nPow)
	kind := GP64()
	MOVQ(s.kc(b64PowKind), kind)
	s.one, s.acc = YMM(), YMM()
	VMOVUPD(b64one(), s.one)
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
		b64loopVectors(name+"_"+pk, n, s.body, func() { ADDQ(Imm(32), s.off) })
		JMP(LabelRef(name + "_done"))
	}
	Label(name + "_done")
	VMOVUPD(s.acc, Mem{Base: accp})
	VZEROUPPER()
	RET()
}

// labels returns t = y*keep + half and 1 - t.
func (s *b64State) labels(tail reg.VecVirtual) (t, omt reg.VecVirtual) {
	t = b64load(s.at(s.y), tail)
	VMULPD(s.kc(b64Keep), t, t)
	VADDPD(s.kc(b64Half), t, t)
	omt = YMM()
	VSUBPD(t, s.one, omt)
	return t, omt
}

// body emits one vector step.
func (s *b64State) body(prefix string, tail reg.VecVirtual) {
	var x, t, omt, bce, u, du, dbce, pow reg.VecVirtual
	if s.logits {
		x, t, omt, bce, u, du, dbce = s.logitTerms(tail)
	} else {
		x, t, omt, bce, u, du, dbce = s.probTerms(tail)
	}
	pow, dpow := s.focal(prefix, u)

	// a: 1, one alpha, or alpha[c].
	a := YMM()
	tmp := YMM()
	CMPQ(s.alphaK, Imm(1))
	JEQ(LabelRef(prefix + "_alpha1"))
	JA(LabelRef(prefix + "_alphas"))
	VMOVAPD(s.one, a)
	JMP(LabelRef(prefix + "_alphadone"))
	Label(prefix + "_alpha1")
	VMULPD(s.kc(b64Alpha), t, a)
	VMULPD(s.kc(b64AlphaNeg), omt, tmp)
	VADDPD(tmp, a, a)
	JMP(LabelRef(prefix + "_alphadone"))
	Label(prefix + "_alphas")
	av := b64load(s.at(s.al), tail)
	VMULPD(av, t, a)
	VSUBPD(av, s.one, av)
	VMULPD(av, omt, tmp)
	VADDPD(tmp, a, a)
	Label(prefix + "_alphadone")

	// term = a*pow*bce + (x - x): NaN for a NaN or infinite x.
	poison := x
	VSUBPD(x, x, poison)
	VMULPD(pow, a, tmp)
	VMULPD(bce, tmp, tmp)
	VADDPD(poison, tmp, tmp)
	if tail != nil {
		VANDPD(tail, tmp, tmp)
	}
	VADDPD(tmp, s.acc, s.acc)

	if s.grad {
		// g = scale*a*(dpow*du*bce + pow*dbce) + poison.
		VMULPD(du, dpow, dpow)
		VMULPD(bce, dpow, dpow)
		VMULPD(dbce, pow, pow)
		VADDPD(pow, dpow, dpow)
		VMULPD(s.kc(b64Scale), a, a)
		VMULPD(dpow, a, a)
		VADDPD(poison, a, a)
		b64store(a, s.at(s.g), tail)
	}
}

// probTerms loads x = p and y and returns, as binaryProbRow computes them,
// t, 1 - t, bce, u and (with the gradient) du/dp = 1 - 2t and dbce/dp.
func (s *b64State) probTerms(tail reg.VecVirtual) (x, t, omt, bce, u, du, dbce reg.VecVirtual) {
	x = b64load(s.at(s.x), tail)
	// q = clip(x, eps, 1-eps) (a NaN x gives eps: the poison term makes its
	// results NaN).
	q := YMM()
	VMAXPD(s.kc(b64Eps), x, q)
	VMINPD(s.kc(b64EpsHi), q, q)
	omq := YMM()
	VSUBPD(q, s.one, omq)
	logQ := b64logCore(q)
	logQN := b64logCore(omq)
	t, omt = s.labels(tail)
	// bce = -(t*log q + (1-t)*log(1-q)).
	bce = logQ
	VMULPD(t, logQ, bce)
	VMULPD(omt, logQN, logQN)
	VADDPD(logQN, bce, bce)
	VXORPD(b64v("signbit", b64SignBit), bce, bce)
	// u = t*(1-x) + (1-t)*x.
	u = YMM()
	VSUBPD(x, s.one, u)
	VMULPD(t, u, u)
	tmp := YMM()
	VMULPD(x, omt, tmp)
	VADDPD(tmp, u, u)
	if s.grad {
		du = YMM()
		VADDPD(t, t, du)
		VSUBPD(du, s.one, du)
		// dbce = (q - t) / (q*(1-q)) where eps <= x <= 1-eps, else 0.
		dbce = q
		VMULPD(q, omq, omq)
		VSUBPD(t, q, dbce)
		VDIVPD(omq, dbce, dbce)
		in := omq
		VCMPPD(Imm(cmpGE), s.kc(b64Eps), x, in)
		VCMPPD(Imm(cmpLE), s.kc(b64EpsHi), x, tmp)
		VANDPD(tmp, in, in)
		VANDPD(in, dbce, dbce)
	}
	return
}

// logitTerms loads x = z and y and returns, as binaryLogitsRow computes
// them, t, 1 - t, bce, u and (with the gradient) du/dz without its focal
// factor, (1-2t)*sigmoid(z)*sigmoid(-z), and dbce/dz = (1-t)*sigmoid(z) -
// t*sigmoid(-z).
func (s *b64State) logitTerms(tail reg.VecVirtual) (x, t, omt, bce, u, du, dbce reg.VecVirtual) {
	x = b64load(s.at(s.x), tail)
	na := YMM()
	VORPD(b64v("signbit", b64SignBit), x, na) // -|z|
	e := b64exp(na)
	d := YMM()
	VADDPD(s.one, e, d) // 1 + e
	big := YMM()
	VDIVPD(d, s.one, big) // 1/(1+e)
	small := YMM()
	VMULPD(big, e, small) // e/(1+e)
	// log1p(e) = log(d) + (e - (d-1))/d.
	c := e
	tmp := YMM()
	VSUBPD(s.one, d, tmp)
	VSUBPD(tmp, e, c)
	VMULPD(big, c, c)
	f, dk := b64logSplit(d, nil)
	ls, hfsq, r := b64logPoly(f)
	l1p := b64logJoin(f, dk, ls, hfsq, r, c)

	t, omt = s.labels(tail)
	// bce = max(z, 0) - z*t + log1p(exp(-|z|)).
	bce = YMM()
	VMAXPD(b64zero(), x, bce) // z > 0 ? z : 0 (a NaN z gives 0: poison)
	VMULPD(t, x, tmp)
	VSUBPD(tmp, bce, bce)
	VADDPD(l1p, bce, bce)
	// sigmoid(z), sigmoid(-z).
	right := tmp
	VCMPPD(Imm(cmpGE), b64zero(), x, right)
	sig, sigNeg := YMM(), YMM()
	VBLENDVPD(right, big, small, sig)
	VBLENDVPD(right, small, big, sigNeg)
	// u = t*sigmoid(-z) + (1-t)*sigmoid(z).
	u = YMM()
	VMULPD(sigNeg, t, u)
	VMULPD(sig, omt, tmp)
	VADDPD(tmp, u, u)
	if s.grad {
		du = YMM()
		VADDPD(t, t, du)
		VSUBPD(du, s.one, du)
		VMULPD(sig, du, du)
		VMULPD(sigNeg, du, du)
		// sigmoid(z) - t, spelled without cancellation.
		dbce = sig
		VMULPD(omt, sig, dbce)
		VMULPD(t, sigNeg, sigNeg)
		VSUBPD(sigNeg, dbce, dbce)
	}
	return
}

// focal returns u^gamma and d(u^gamma)/du, as binaryConstants.focal does.
func (s *b64State) focal(prefix string, u reg.VecVirtual) (pow, dpow reg.VecVirtual) {
	pow, dpow = YMM(), YMM()
	switch s.powKind {
	case "pow0":
		VMOVAPD(s.one, pow)
		VXORPD(dpow, dpow, dpow)
	case "pow2", "powN":
		pm1 := u
		if s.powKind == "powN" {
			pm1 = YMM()
			base := YMM()
			VMOVAPD(s.one, pm1)
			VMOVAPD(u, base)
			b64squareLoop(prefix, s.nPow, pm1, base)
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
		logU := b64log(u)
		VMULPD(s.kc(b64Gamma), logU, pow)
		pow = b64exp(pow)
		VMULPD(s.kc(b64Gamma), pow, dpow)
		VDIVPD(u, dpow, dpow)
		nz := YMM()
		VCMPPD(Imm(b64CmpNEQU), b64zero(), u, nz)
		VANDPD(nz, dpow, dpow) // the limit 0 where u = 0
		// Where u^gamma underflowed (u != 0, |u^gamma| < 2^-1022),
		// gamma*u^(gamma-1) directly.
		under := YMM()
		VANDPD(b64v("absmask", b64AbsMask), pow, under)
		VCMPPD(Imm(cmpLT), b64f("tiny", 0x1p-1022), under, under)
		VANDPD(nz, under, under)
		m := GP32()
		VMOVMSKPD(under, m)
		TESTL(m, m)
		JZ(LabelRef(prefix + "_normal"))
		e := YMM()
		VMULPD(s.kc(b64GammaM1), logU, e)
		e = b64exp(e)
		VMULPD(s.kc(b64Gamma), e, e)
		VBLENDVPD(under, e, dpow, dpow)
		Label(prefix + "_normal")
	}
	return pow, dpow
}

// b64squareLoop multiplies pm1 by base^(nPow-1) by squaring: for each bit
// of nPow - 1 from the lowest, pm1 *= base where it is set, then base *=
// base while higher bits remain. base is overwritten.
func b64squareLoop(prefix string, nPow reg.Register, pm1, base reg.VecVirtual) {
	e := GP64()
	MOVQ(nPow, e)
	DECQ(e)
	Label(prefix + "_sq")
	TESTQ(e, e)
	JZ(LabelRef(prefix + "_sqdone"))
	BTQ(Imm(0), e)
	JCC(LabelRef(prefix + "_nomul"))
	VMULPD(base, pm1, pm1)
	Label(prefix + "_nomul")
	CMPQ(e, Imm(1))
	JBE(LabelRef(prefix + "_nosq"))
	VMULPD(base, base, base)
	Label(prefix + "_nosq")
	SHRQ(Imm(1), e)
	JMP(LabelRef(prefix + "_sq"))
	Label(prefix + "_sqdone")
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
