package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The AVX2 float64 seed kernels (group seed64 of avx2): seedRow on 4
// float64 lanes in ymm registers. The algorithm is seedRow512F64's (the
// archsimd kernel they replace): a pass for the row sum S, with the
// gradient a pass for the count M of p/S inside its clip range, and a main
// pass for the loss sums and the gradient, written once. The main pass
// differs from the reference loop in these ways, each within the SPEC's
// 1e-12 (the tests hold it to seedRow):
//
//   - the clip decision lo <= p/S <= hi is taken by comparing p with two
//     per-row bounds tLo and tHi, the least and the greatest p whose
//     rounded p/S lies in the range (found in Go, seed64Bounds): it
//     decides exactly as the division does, without dividing; the log's
//     argument q is then p * (1/S), clipped, within an ulp of p/S;
//   - 1/p is one division per element, shared by the focal and smoothing
//     gradients (the reference divides twice);
//   - (y-p)^gamma is repeated squaring for integer gamma, with
//     gamma*(y-p)^(gamma-1) for the reference's gamma*pow/diff except where
//     they differ (pow overflowing or underflowing), and exp(gamma*log(y-p))
//     otherwise;
//   - the logs are fdlibm's reduction and polynomial, the terms added as
//     2s + s*R in an FMA (within 2 ulp of math.Log), and exp is a
//     degree-13 Taylor polynomial on |r| <= ln2/2 with 2^k applied in two
//     halves, so that subnormal results round once (within 2 ulp of
//     math.Exp); both polynomials by Estrin's scheme, whose chains of
//     dependent operations are shorter than Horner's;
//   - a vector of 4 lanes without a positive label skips the focal term;
//   - the main pass prefetches the lines it reads and writes a row ahead,
//     so that the next row's passes find them cached.
//
// Every constant is a 4-lane vector, in read-only data or in the per-call
// array k (seed64Slots slots of 4 equal lanes), so that instructions take
// it as a memory operand: AVX2 instructions reach only 16 ymm registers
// (avo allocates from all 32 without a word; goloss's TestSeed64AsmVEX
// checks the output).
func seed64Kernels() {
	seed64Math()
	seed64Sum()
	seed64Inside()
	for _, grad := range []bool{true, false} {
		seed64Main(grad)
	}
}

// The slots of k, each 4 equal uint64 lanes (32 bytes); goloss's
// seed64_amd64.go fills them in this order.
const (
	s64InvS       = iota // 1/S (per row)
	s64TLo               // the least p with lo <= p/S (per row)
	s64THi               // the greatest p with p/S <= hi (per row)
	s64Shared            // e/C * M/S (per row)
	s64RatioLo           // the clip bounds of p/S
	s64RatioHi           //
	s64LogLo             // the clip bound of the focal log, 1e-8
	s64Gamma             // gamma
	s64FocalScale        // (1-e)/C
	s64SmoothW           // e/C
	s64Kind              // seed64Pow0, seed64Pow2, seed64PowN or seed64PowReal (lane 0)
	s64NPow              // the integer gamma of seed64PowN (lane 0)
	s64Ahead             // how far ahead of p, y and g to prefetch, in bytes (lane 0)
	seed64Slots
)

// s64K is the Go type of k.
var s64K = fmt.Sprintf("[%d]uint64", 4*seed64Slots)

// The kinds of gamma (slot s64Kind).
const (
	seed64Pow0    = 0 // gamma = 0
	seed64Pow2    = 1 // gamma = 2
	seed64PowN    = 2 // another integer gamma: repeated squaring
	seed64PowReal = 3 // exp(gamma * log(y - p))
)

// fdlibm's log (math.Log) and exp512's constants.
const (
	s64L1        = 6.666666666666735130e-01
	s64L2        = 3.999999999940941908e-01
	s64L3        = 2.857142874366239149e-01
	s64L4        = 2.222219843214978396e-01
	s64L5        = 1.818357216161805012e-01
	s64L6        = 1.531383769920937332e-01
	s64L7        = 1.479819860511658591e-01
	s64Ln2Hi     = 6.93147180369123816490e-01
	s64Ln2Lo     = 1.90821492927058770002e-10
	s64LogMb     = 0x3fe6a09e667f3bcd            // the bits of sqrt(2)/2
	s64LogSh     = 0x3ff0000000000000 - s64LogMb // adding it moves [sqrt(2)/2, sqrt(2)) into one binade
	s64Mant      = 0x000fffffffffffff            // the mantissa field
	s64KbOr      = 0x4330000000000000            // the bits of 2^52: the exponent field as a float
	s64KbSub     = 0x1p52 + 1023                 //
	s64Magic     = 0x1.8p52                      // adding it rounds to an integer held in the low bits
	s64MagicBits = 0x4338000000000000            // its bits
	s64ExpFix    = 1<<64 - (s64MagicBits - 1023) // k + s64Magic's bits plus s64ExpFix: k + 1023
	s64Abs       = 0x7fffffffffffffff            // clears the sign bit
	s64MinNorm   = 0x1p-1022                     // the least normal float64
	s64ExpLo     = -746.0                        // exp clamps its argument to [s64ExpLo, s64ExpHi]
	s64ExpHi     = 710.0
)

// More VCMPPD predicates.
const (
	s64CmpEQ  = 0x00 // EQ_OQ
	s64CmpNEQ = 0x0c // NEQ_OQ
	s64CmpNGE = 0x19 // NGE_UQ: x < y or unordered
	s64CmpNLT = 0x15 // NLT_UQ: x >= y or unordered
)

// s64Consts holds the 4-lane constant vectors, each declared once.
var s64Consts = map[string]Mem{}

// s64v returns a 32-byte constant holding bits in each of its 4 lanes.
func s64v(name string, bits uint64) Mem {
	if m, ok := s64Consts[name]; ok {
		return m
	}
	m := GLOBL("s64"+name, RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(bits))
	}
	s64Consts[name] = m
	return m
}

// s64vf returns a 32-byte constant holding v in each of its 4 lanes, as bits
// (avo prints F64(1) as the integer 1).
func s64vf(name string, v float64) Mem { return s64v(name, math.Float64bits(v)) }

// s64LogReduced returns log(x) for x positive, normal and finite, with kadj
// (nil: 0) added to the binary exponent of x: fdlibm's reduction and
// polynomial (logSplit512, logPoly512), its terms added as below.
func s64LogReduced(x, kadj reg.VecVirtual) reg.VecVirtual {
	// x = 2^dk * (1 + f), 1 + f in [sqrt(2)/2, sqrt(2)).
	u := YMM()
	VPADDQ(s64v("logsh", s64LogSh), x, u)
	dk := YMM()
	VPSRLQ(Imm(52), u, dk)
	VPOR(s64v("kbor", s64KbOr), dk, dk)
	VSUBPD(s64vf("kbsub", s64KbSub), dk, dk)
	if kadj != nil {
		VADDPD(kadj, dk, dk)
	}
	m := u
	VPAND(s64v("mant", s64Mant), u, m)
	VPADDQ(s64v("logmb", s64LogMb), m, m) // 1 + f
	f := YMM()
	VSUBPD(s64vf("one", 1), m, f) // exact
	s := m
	VADDPD(s64vf("one", 1), m, s) // 2 + f, from m: a step shorter

	// s = f/(2+f), and log(1+f) = 2s + s*R(s*s) with fdlibm's
	// polynomial R(z) = z*(lg1 + lg2*z + ... + lg7*z^6), evaluated by
	// Estrin's scheme (a shorter chain than fdlibm's two Horner sums).
	// fdlibm adds the same terms as f - (hfsq - s*(hfsq+R)), hfsq = f*f/2,
	// which equals 2s + s*R; this form takes 3 fewer multiplications and
	// stays within 2 ulp of math.Log (goloss's TestMathF64).
	VDIVPD(s, f, s)
	z, w := f, YMM()
	VMULPD(s, s, z)
	VMULPD(z, z, w)
	c := YMM()
	VMOVUPD(s64vf("lg6", s64L6), c)
	VFMADD213PD(s64vf("lg5", s64L5), z, c) // lg5 + lg6*z
	VFMADD231PD(s64vf("lg7", s64L7), w, c) // + lg7*z^2
	a := YMM()
	VMOVUPD(s64vf("lg2", s64L2), a)
	VFMADD213PD(s64vf("lg1", s64L1), z, a) // lg1 + lg2*z
	b := YMM()
	VMOVUPD(s64vf("lg4", s64L4), b)
	VFMADD213PD(s64vf("lg3", s64L3), z, b) // lg3 + lg4*z
	VFMADD231PD(b, w, a)                   // + (lg3 + lg4*z)*z^2
	VMULPD(w, w, w)
	VFMADD231PD(c, w, a) // + (lg5 + lg6*z + lg7*z^2)*z^4
	sz := z
	VMULPD(s, z, sz)
	t := s
	VADDPD(s, s, t)       // 2s
	VFMADD231PD(sz, a, t) // + s*R

	// dk*ln2 + log(1+f) in one rounding: the product dk*ln2 is exact in
	// the FMA (ln2 rounded to float64 is 0.17 ulp off).
	VFMADD231PD(s64vf("ln2", math.Ln2), dk, t)
	return t
}

// s64LogFull returns log(x) lane by lane with math.Log's special cases, as
// log512: log(0) = -Inf, log(x < 0) = NaN, log(+Inf) = +Inf, NaN stays NaN;
// subnormals are scaled by 2^54 first.
func s64LogFull(x reg.VecVirtual) reg.VecVirtual {
	tiny := YMM()
	VCMPPD(Imm(cmpLT), s64vf("minnorm", s64MinNorm), x, tiny)
	sc := YMM()
	VMULPD(s64vf("two54", 0x1p54), x, sc)
	VBLENDVPD(tiny, sc, x, sc) // tiny ? x*2^54 : x
	kadj := tiny
	VANDPD(s64vf("m54", -54), tiny, kadj)
	r := s64LogReduced(sc, kadj)
	t := YMM()
	VCMPPD(Imm(s64CmpEQ), s64vf("zero", 0), x, t)
	VBLENDVPD(t, s64vf("ninf", math.Inf(-1)), r, r)
	VCMPPD(Imm(s64CmpEQ), s64vf("inf", math.Inf(1)), x, t)
	VBLENDVPD(t, s64vf("inf", math.Inf(1)), r, r)
	VCMPPD(Imm(s64CmpNGE), s64vf("zero", 0), x, t) // x < 0 or NaN
	VBLENDVPD(t, s64v("nan", 0x7ff8000000000001), r, r)
	return r
}

// s64Exp returns e^t lane by lane as exp512 does: t = k*ln2 + r with
// |r| <= ln2/2 after clamping t to [-746, 710], e^r by its Taylor
// polynomial of degree 13, and 2^k applied in two halves so that
// subnormal results round once; e^+Inf = +Inf, e^-Inf = 0, NaN stays NaN,
// overflow and underflow where math.Exp has them. t is overwritten.
func s64Exp(t reg.VecVirtual) reg.VecVirtual {
	// VMAXPD and VMINPD return their first operand (in Go's order) where
	// a lane is NaN: t, so that NaN stays NaN.
	b := YMM()
	VMOVUPD(s64vf("explo", s64ExpLo), b)
	VMAXPD(t, b, t)
	VMOVUPD(s64vf("exphi", s64ExpHi), b)
	VMINPD(t, b, t)
	kf := b
	VMULPD(s64vf("log2e", math.Log2E), t, kf)
	VROUNDPD(Imm(0), kf, kf) // to nearest, ties to even: kf + magic - magic

	r := t
	VFMADD231PD(s64vf("mln2hi", -s64Ln2Hi), kf, r) // r = kf*(-ln2hi) + t
	VFMADD231PD(s64vf("mln2lo", -s64Ln2Lo), kf, r)

	// e^r = sum_i r^i/i! for i <= 13 by Estrin's scheme (a shorter chain
	// of dependent operations than Horner's rule): pairs c_i + c_(i+1)*r,
	// combined with r^2, r^4 and r^8.
	c := func(i int) Mem {
		f := 1.0
		for j := 2; j <= i; j++ {
			f *= float64(j)
		}
		return s64vf(fmt.Sprintf("expc%d", i), 1/f)
	}
	pair := func(i int) reg.VecVirtual { // c_i + c_(i+1)*r
		q := YMM()
		VMOVUPD(c(i+1), q)
		VFMADD213PD(c(i), r, q)
		return q
	}
	quad := func(i int, r2 reg.VecVirtual) reg.VecVirtual { // pair(i) + pair(i+2)*r^2
		lo, hi := pair(i), pair(i+2)
		VFMADD231PD(hi, r2, lo)
		return lo
	}
	r2 := YMM()
	VMULPD(r, r, r2)
	s0 := quad(0, r2)
	s1 := quad(4, r2)
	r4 := YMM()
	VMULPD(r2, r2, r4)
	VFMADD231PD(s1, r4, s0) // terms 0-7
	s2 := quad(8, r2)
	s3 := r2
	VMOVUPD(c(13), s3)
	VFMADD213PD(c(12), r, s3) // c12 + c13*r
	VFMADD231PD(s3, r4, s2)   // terms 8-13, over r^8
	VMULPD(r4, r4, r4)
	p := s0
	VFMADD231PD(s2, r4, p)

	// p * 2^k1 * 2^k2, k1 = round(kf/2), k2 = kf - k1.
	k1 := r
	VMULPD(s64vf("half", 0.5), kf, k1)
	VADDPD(s64vf("magic", s64Magic), k1, k1)
	k2 := YMM()
	VSUBPD(s64vf("magic", s64Magic), k1, k2)
	VSUBPD(k2, kf, k2)
	VADDPD(s64vf("magic", s64Magic), k2, k2)
	VPADDQ(s64v("expfix", s64ExpFix), k1, k1)
	VPSLLQ(Imm(52), k1, k1)
	VPADDQ(s64v("expfix", s64ExpFix), k2, k2)
	VPSLLQ(Imm(52), k2, k2)
	VMULPD(k1, p, p)
	VMULPD(k2, p, p)
	return p
}

// seed64Math: the kernels' log and exp over a slice, for the tests of
// their accuracy.
func seed64Math() {
	TEXT("MathF64", NOSPLIT, "func(x, out []float64, fn int)")
	Pragma("noescape")
	Doc("MathF64 writes into out, for each 4 values of x (len(x) a multiple of 4,",
		"len(out) at least len(x)), with the instructions of the float64 seed",
		"kernels: log(x) for x positive, normal and finite (fn 0: the log of",
		"SeedMainGradF64's smoothing and focal terms), log(x) for any x (fn 1: the",
		"log of its non-integer gamma) or e^x (fn 2). Tested against math.Log and",
		"math.Exp.")
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	out := Load(Param("out").Base(), GP64())
	fn := Load(Param("fn"), GP64())
	SHRQ(Imm(2), n)
	JZ(LabelRef("MathF64_done"))
	for i, name := range []string{"log", "logfull", "exp"} {
		CMPQ(fn, Imm(uint64(i)))
		JEQ(LabelRef("MathF64_" + name))
	}
	JMP(LabelRef("MathF64_done"))
	for i, name := range []string{"log", "logfull", "exp"} {
		Label("MathF64_" + name)
		Label("MathF64_" + name + "_loop")
		v := YMM()
		VMOVUPD(Mem{Base: x}, v)
		var r reg.VecVirtual
		switch i {
		case 0:
			r = s64LogReduced(v, nil)
		case 1:
			r = s64LogFull(v)
		case 2:
			r = s64Exp(v)
		}
		VMOVUPD(r, Mem{Base: out})
		ADDQ(Imm(32), x)
		ADDQ(Imm(32), out)
		DECQ(n)
		JNZ(LabelRef("MathF64_" + name + "_loop"))
		JMP(LabelRef("MathF64_done"))
	}
	Label("MathF64_done")
	VZEROUPPER()
	RET()
}

// seed64Sum: the row sum in two accumulators of 4 lanes (even and odd
// vectors), added lane by lane and the 4 results in order.
func seed64Sum() {
	TEXT("SeedSumF64", NOSPLIT, "func(p []float64) (sum float64)")
	Pragma("noescape")
	Doc("SeedSumF64 returns the sum of p in two accumulators of 4 float64 lanes",
		"(the even and the odd vectors of 4), added lane by lane and the 4",
		"results in order: the row sum S of the float64 seed kernel (seedRow's",
		"first loop, in another order).")
	p := Load(Param("p").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	a0, a1 := YMM(), YMM()
	VXORPD(a0, a0, a0)
	VXORPD(a1, a1, a1)
	pairs := GP64()
	MOVQ(n, pairs)
	SHRQ(Imm(3), pairs)
	JZ(LabelRef("SeedSumF64_rest"))
	Label("SeedSumF64_loop")
	VADDPD(Mem{Base: p}, a0, a0)
	VADDPD(Mem{Base: p, Disp: 32}, a1, a1)
	ADDQ(Imm(64), p)
	DECQ(pairs)
	JNZ(LabelRef("SeedSumF64_loop"))
	Label("SeedSumF64_rest")
	rest := GP64()
	MOVQ(n, rest)
	ANDQ(Imm(7), rest)
	loopVectors4("SeedSumF64_r", rest, func(prefix string, tail reg.VecVirtual) {
		if tail == nil {
			VADDPD(Mem{Base: p}, a0, a0)
			return
		}
		v := load4(Mem{Base: p}, tail)
		VADDPD(v, a1, a1)
	}, func() { ADDQ(Imm(32), p) })
	VADDPD(a1, a0, a0)
	hi := XMM()
	VEXTRACTF128(Imm(1), a0, hi)
	lo, t := a0.AsX(), XMM()
	sum := XMM()
	VPERMILPD(Imm(1), lo, t)
	VADDSD(t, lo, sum) // l0 + l1
	VADDSD(hi, sum, sum)
	VPERMILPD(Imm(1), hi, t)
	VADDSD(t, sum, sum)
	// avo stores a float result with legacy MOVSD: clean state first
	// (VZEROUPPER keeps the low 128 bits of every register).
	VZEROUPPER()
	Store(sum, ReturnIndex(0))
	RET()
}

// seed64Inside: the count M of the lanes tLo <= p <= tHi.
func seed64Inside() {
	TEXT("SeedInsideF64", NOSPLIT, "func(p []float64, k *"+s64K+") (inside int)")
	Pragma("noescape")
	Doc("SeedInsideF64 returns how many p lie in [tLo, tHi] (slots 1 and 2 of k,",
		"4 lanes each): the count M of seedRow's p/S inside [ratioLo, ratioHi],",
		"tLo and tHi being the least and greatest p whose p/S rounds into it.")
	p := Load(Param("p").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	k := Load(Param("k"), GP64())
	cnt := YMM()
	VPXOR(cnt, cnt, cnt)
	loopVectors4("SeedInsideF64", n, func(prefix string, tail reg.VecVirtual) {
		v := load4(Mem{Base: p}, tail)
		in, t := YMM(), YMM()
		VCMPPD(Imm(cmpGE), Mem{Base: k, Disp: 32 * s64TLo}, v, in)
		VCMPPD(Imm(cmpLE), Mem{Base: k, Disp: 32 * s64THi}, v, t)
		VANDPD(t, in, in)
		if tail != nil {
			VANDPD(tail, in, in)
		}
		VPSUBQ(in, cnt, cnt) // a lane inside is -1
	}, func() { ADDQ(Imm(32), p) })
	hi, lo := XMM(), cnt.AsX()
	VEXTRACTI128(Imm(1), cnt, hi)
	VPADDQ(hi, lo, lo)
	VPSHUFD(Imm(0x4e), lo, hi)
	VPADDQ(hi, lo, lo)
	r := GP64()
	VMOVQ(lo, r)
	VZEROUPPER()
	Store(r, ReturnIndex(0))
	RET()
}

// seed64State holds the registers of one main pass.
type seed64State struct {
	grad               bool
	kind               int
	g, y, p, w, k, off reg.Register
	ahead              []reg.Register // p, y and g plus the prefetch distance
	focal, logq        reg.VecVirtual
}

func (s *seed64State) at(base reg.Register) Mem { return Mem{Base: base, Index: s.off, Scale: 1} }

func (s *seed64State) kv(slot int) Mem { return Mem{Base: s.k, Disp: 32 * slot} }

// seed64Main: SeedMainGradF64 and SeedMainLossF64.
func seed64Main(grad bool) {
	name, sig := "SeedMainLossF64", "func(y, p, w []float64, k *"+s64K+", acc *[8]float64)"
	if grad {
		name, sig = "SeedMainGradF64", "func(g, y, p, w []float64, k *"+s64K+", acc *[8]float64)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	doc := []string{
		name + " is the main pass of the float64 seed kernel on 4 lanes, tested",
		"against seedRow: it stores in acc the lane sums of w*(y-p)^gamma*log(clip(p,",
		"1e-8, 1)) over the lanes with y > 0 (acc[0:4]) and of log(clip(p/S, ratioLo,",
		"ratioHi)) (acc[4:8]), p/S taken as p*(1/S)",
	}
	if grad {
		doc[len(doc)-1] += ", and writes the gradient into g:"
		doc = append(doc,
			"seedRow's, with the clip decision on p/S taken as tLo <= p <= tHi, 1/p",
			"computed once and the shared term e/C*M/S from k.")
	} else {
		doc[len(doc)-1] += "."
	}
	doc = append(doc, "k holds seed64Slots slots of 4 lanes (goloss's seed64Consts).")
	Doc(doc...)
	s := &seed64State{grad: grad}
	if grad {
		s.g = Load(Param("g").Base(), GP64())
	}
	s.y = Load(Param("y").Base(), GP64())
	s.p = Load(Param("p").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	s.w = Load(Param("w").Base(), GP64())
	s.k = Load(Param("k"), GP64())
	// The main pass prefetches the lines it will read and write a row
	// later (the next row of a matrix): the row sum and the count of
	// that row then read cached lines, and this pass computes while
	// they arrive. Prefetches never fault.
	for _, r := range []reg.Register{s.p, s.y, s.g} {
		if r == nil {
			continue
		}
		a := GP64()
		MOVQ(s.kv(s64Ahead), a)
		ADDQ(r, a)
		s.ahead = append(s.ahead, a)
	}
	s.focal, s.logq = YMM(), YMM()
	VXORPD(s.focal, s.focal, s.focal)
	VXORPD(s.logq, s.logq, s.logq)
	s.off = GP64()
	kind := GP64()
	MOVQ(s.kv(s64Kind), kind)
	CMPQ(kind, Imm(seed64Pow2))
	JEQ(LabelRef(name + "_pow2"))
	CMPQ(kind, Imm(seed64PowN))
	JEQ(LabelRef(name + "_powN"))
	CMPQ(kind, Imm(seed64PowReal))
	JEQ(LabelRef(name + "_powReal"))
	for _, kd := range []struct {
		kind  int
		label string
	}{{seed64Pow0, "pow0"}, {seed64Pow2, "pow2"}, {seed64PowN, "powN"}, {seed64PowReal, "powReal"}} {
		Label(name + "_" + kd.label)
		s.kind = kd.kind
		XORQ(s.off, s.off)
		loopVectors4(name+"_"+kd.label, n, s.body, func() {
			for _, a := range s.ahead {
				PREFETCHT0(s.at(a))
			}
			ADDQ(Imm(32), s.off)
		})
		JMP(LabelRef(name + "_done"))
	}
	Label(name + "_done")
	accp := Load(Param("acc"), GP64())
	VMOVUPD(s.focal, Mem{Base: accp})
	VMOVUPD(s.logq, Mem{Base: accp, Disp: 32})
	VZEROUPPER()
	RET()
}

// body computes one vector of 4 lanes.
func (s *seed64State) body(prefix string, tail reg.VecVirtual) {
	p := load4(s.at(s.p), tail)

	// The smoothing term: log(clip(p*(1/S), lo, hi)). p and 1/S are
	// finite, so q is not NaN.
	q := YMM()
	VMULPD(s.kv(s64InvS), p, q)
	VMAXPD(s.kv(s64RatioLo), q, q)
	VMINPD(s.kv(s64RatioHi), q, q)
	lq := s64LogReduced(q, nil)
	if tail != nil {
		VANDPD(tail, lq, lq)
	}
	VADDPD(lq, s.logq, s.logq)

	// The focal term, skipped where no lane has a positive label (y > 0
	// fails for NaN too): adding +0 leaves a lane sum unchanged. With the
	// gradient both paths define 1/p and d = shared (+ the focal
	// gradient), as late as they can: registers are few.
	y := load4(s.at(s.y), tail)
	pos := YMM()
	VCMPPD(Imm(cmpGT), s64vf("zero", 0), y, pos)
	mb := GP32()
	VMOVMSKPD(pos, mb)
	TESTL(mb, mb)
	JZ(LabelRef(prefix + "_nopos"))
	var invP, d reg.VecVirtual
	if s.grad {
		invP, d = YMM(), YMM()
	}
	s.focalTerm(prefix, tail, p, y, pos, invP, d)
	if s.grad {
		JMP(LabelRef(prefix + "_join"))
	}
	Label(prefix + "_nopos")
	if !s.grad {
		return
	}
	s.recip(p, invP)
	VMOVUPD(s.kv(s64Shared), d)
	Label(prefix + "_join")

	// d -= e/C * 1/p where lo <= p/S <= hi.
	in, t := YMM(), YMM()
	VCMPPD(Imm(cmpGE), s.kv(s64TLo), p, in)
	VCMPPD(Imm(cmpLE), s.kv(s64THi), p, t)
	VANDPD(t, in, in)
	sm := invP
	VMULPD(s.kv(s64SmoothW), invP, sm)
	VANDPD(in, sm, sm)
	VSUBPD(sm, d, d)
	store4(d, s.at(s.g), tail)
}

// recip sets invP = 1/p.
func (s *seed64State) recip(p, invP reg.VecVirtual) {
	VMOVUPD(s64vf("one", 1), invP)
	VDIVPD(p, invP, invP)
}

// focalTerm adds w*pow*log(clip p) to the focal sums where pos, and with
// the gradient sets invP = 1/p and d = shared + focalScale*w*focalDeriv.
func (s *seed64State) focalTerm(prefix string, tail, p, y, pos, invP, d reg.VecVirtual) {
	diff := y
	VSUBPD(p, y, diff) // y - p
	pow, dpow := s.power(prefix, diff, pos)

	pc := YMM()
	VMAXPD(s.kv(s64LogLo), p, pc)
	VMINPD(s64vf("one", 1), pc, pc)
	lp := s64LogReduced(pc, nil)
	w := load4(s.at(s.w), tail)
	ft := YMM()
	if pow != nil {
		VMULPD(pow, w, ft) // w*pow
		VMULPD(lp, ft, ft)
	} else {
		VMULPD(lp, w, ft)
	}
	VANDPD(pos, ft, ft)
	VADDPD(ft, s.focal, s.focal)
	if !s.grad {
		return
	}

	// focalDeriv: dpow*log(clip p) - [1e-8 <= p <= 1] * pow/p.
	// 1e-8 <= p <= 1 exactly where the clip leaves p as it is.
	inLog, t := YMM(), YMM()
	VCMPPD(Imm(s64CmpEQ), pc, p, inLog)
	s.recip(p, invP)
	pp := t
	if pow != nil {
		VMULPD(invP, pow, pp)
		VANDPD(inLog, pp, pp)
	} else {
		VANDPD(inLog, invP, pp)
	}
	deriv := inLog
	if dpow != nil {
		VMULPD(lp, dpow, deriv)
	} else {
		VXORPD(deriv, deriv, deriv)
	}
	VSUBPD(pp, deriv, deriv)
	fw := w
	VMULPD(s.kv(s64FocalScale), w, fw)
	VMULPD(deriv, fw, fw)
	VANDPD(pos, fw, fw)
	VADDPD(s.kv(s64Shared), fw, d) // shared + the focal gradient
}

// power returns pow = diff^gamma and, with the gradient, dpow =
// gamma*diff^(gamma-1) at its limit where diff = 0 (nil, nil for gamma 0:
// pow 1 and dpow 0).
func (s *seed64State) power(prefix string, diff, pos reg.VecVirtual) (pow, dpow reg.VecVirtual) {
	switch s.kind {
	case seed64Pow0:
		return nil, nil
	case seed64PowReal:
		return s.powerReal(prefix, diff, pos)
	}
	var pm1 reg.VecVirtual // diff^(gamma-1)
	if s.kind == seed64Pow2 {
		pm1 = diff
	} else {
		pm1 = YMM()
		VMOVUPD(s64vf("one", 1), pm1)
		base := YMM()
		VMOVAPD(diff, base)
		squareLoopMul(prefix, s.kv(s64NPow), pm1, base, VMULPD)
	}
	pow = YMM()
	VMULPD(diff, pm1, pow)
	if !s.grad {
		return pow, nil
	}
	dpow = YMM()
	VMULPD(s.kv(s64Gamma), pm1, dpow)
	s.fixup(prefix, pow, dpow, diff, pos)
	return pow, dpow
}

// fixup replaces dpow = gamma*diff^(gamma-1) by the reference's
// gamma*pow/diff where they differ, in the lanes with y > 0: where pow
// overflows (or diff is +Inf: NaN) or underflows below the normal range
// with diff != 0. Such lanes are rare: a branch skips the division.
func (s *seed64State) fixup(prefix string, pow, dpow, diff, pos reg.VecVirtual) {
	ap, c1, c2 := YMM(), YMM(), YMM()
	VANDPD(s64v("abs", s64Abs), pow, ap)
	VCMPPD(Imm(s64CmpEQ), s64vf("inf", math.Inf(1)), ap, c1)
	VCMPPD(Imm(cmpLT), s64vf("minnorm", s64MinNorm), ap, c2)
	VCMPPD(Imm(s64CmpNEQ), s64vf("zero", 0), diff, ap)
	VANDPD(ap, c2, c2)
	VORPD(c2, c1, c1)
	VANDPD(pos, c1, c1)
	mb := GP32()
	VMOVMSKPD(c1, mb)
	TESTL(mb, mb)
	JZ(LabelRef(prefix + "_nofix"))
	alt := c2
	VMULPD(s.kv(s64Gamma), pow, alt)
	VDIVPD(diff, alt, alt)
	VBLENDVPD(c1, alt, dpow, dpow)
	Label(prefix + "_nofix")
}

// powerReal returns pow = exp(gamma*log(diff)) (NaN where diff < 0, 0 where
// diff = 0, from log's -Inf) and, with the gradient, dpow = gamma*pow/diff
// as gamma*pow * (1/diff), 0 where diff = 0; where |diff| is subnormal or
// above 2^1021 (1/diff infinite or subnormal) in a lane with y > 0, the
// division itself (a branch skips it: such lanes are rare).
func (s *seed64State) powerReal(prefix string, diff, pos reg.VecVirtual) (pow, dpow reg.VecVirtual) {
	var rd reg.VecVirtual
	if s.grad {
		// 1/diff, divided while log and exp run.
		rd = YMM()
		VMOVUPD(s64vf("one", 1), rd)
		VDIVPD(diff, rd, rd)
	}
	l := s64LogFull(diff)
	VMULPD(s.kv(s64Gamma), l, l)
	pow = s64Exp(l)
	if !s.grad {
		return pow, nil
	}
	dpow = YMM()
	VMULPD(s.kv(s64Gamma), pow, dpow)
	VMULPD(rd, dpow, rd) // gamma*pow * (1/diff)
	nz, odd := YMM(), YMM()
	VCMPPD(Imm(s64CmpNEQ), s64vf("zero", 0), diff, nz)
	VANDPD(s64v("abs", s64Abs), diff, odd)
	VCMPPD(Imm(s64CmpNLT), s64vf("big", 0x1p1021), odd, dpow) // NLT: and NaN
	VCMPPD(Imm(cmpLT), s64vf("minnorm", s64MinNorm), odd, odd)
	VORPD(dpow, odd, odd)
	VANDPD(nz, odd, odd)
	VANDPD(pos, odd, odd)
	mb := GP32()
	VMOVMSKPD(odd, mb)
	VANDPD(nz, rd, rd)
	TESTL(mb, mb)
	JZ(LabelRef(prefix + "_realdone"))
	VMULPD(s.kv(s64Gamma), pow, dpow)
	VDIVPD(diff, dpow, dpow)
	VBLENDVPD(odd, dpow, rd, rd)
	Label(prefix + "_realdone")
	return pow, rd
}
