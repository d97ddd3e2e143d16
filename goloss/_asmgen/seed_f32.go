package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The main pass of the float32 seed kernel, one description for both
// widths (vec.go): the AVX2 kernel (internal/avx2, 8 lanes, every gamma)
// and its 16-lane form (internal/avx512's SeedMainAny*F32), which AVX-512
// CPUs run for non-integer gamma. For integer gamma they run the
// hand-written main pass of avx512_seed.go: 0.70 against 0.89 ns per
// element with the gradient on dense labels, 0.72 against 0.77 on
// multi-hot ones (BenchmarkSeedMain16, AMD EPYC family 25 model 17; a
// VRCP14PS for this pass's 1/p changed nothing measurable). The masks of p/S
// inside its clip range come from the masks pass of each ISA: one uint8
// per 8 lanes (avx2.SeedMasksF32), one uint16 per 16
// (avx512.SeedMasksF32 or SeedMasksLowF32).

// seedState holds the registers of one main pass.
type seedState struct {
	vec                      *vec
	grad                     bool
	g, y, p, w, k, nPow, off reg.Register
	mask                     Mem
	zero, one                reg.VecVirtual
	acc                      Mem // 2*lanes float64 lane sums on the stack
	focal32                  reg.VecVirtual
	prod, expSum             reg.VecVirtual // log p of the block's inside lanes, as a product (see body)
	powKind                  string
	spill                    Mem // stack slots for values live across the powR loop's exp and log
}

// keeping runs fn with regs kept on the stack in the powR loop (keepOnStack).
func (s *seedState) keeping(regs []reg.VecVirtual, fn func()) {
	s.vec.keepOnStack(s.spill, s.powKind == "powR", regs, fn)
}

func (s *seedState) at(base reg.Register) Mem { return Mem{Base: base, Index: s.off, Scale: 1} }

// seedMainKernels declares the main pass of one width, with and without
// the gradient: SeedMainGradF32 and SeedMainLossF32 on AVX2,
// SeedMainAnyGradF32 and SeedMainAnyLossF32 on AVX-512.
func seedMainKernels(w *vec) {
	for _, grad := range []bool{true, false} {
		seedMainKernel(w, grad)
	}
}

func seedMainKernel(w *vec, grad bool) {
	base, maskType, caller := "SeedMain", "uint8", "seedRowFast8"
	if w.avx512 {
		base, maskType, caller = "SeedMainAny", "uint16", "seedRowFast16"
	}
	accType := fmt.Sprintf("*[%d]float64", 2*w.lanes)
	name, sig := base+"LossF32", "func(y, p, w []float32, masks []"+maskType+", k *[12]uint32, acc "+accType+")"
	if grad {
		name, sig = base+"GradF32", "func(g, y, p, w []float32, masks []"+maskType+", k *[12]uint32, acc "+accType+")"
	}
	h, l := w.lanes/2-1, w.lanes/2
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the main pass of the seed kernel on %d float32 lanes: it", name, w.lanes),
		fmt.Sprintf("stores in acc the float64 lane sums of the focal terms (lanes 0-%d, %d-%d)", h, l, w.lanes-1),
		fmt.Sprintf("and of log p where masks (one %s per %d lanes) marks p/S inside its", maskType, w.lanes),
		fmt.Sprintf("clip range (lanes 0-%d, %d-%d)", h, l, w.lanes-1)+map[bool]string{true: ", and writes the gradient into g.", false: "."}[grad],
		"k is seedVector.mainConsts', as for avx512.SeedMainGradF32, and any gamma:",
		"a non-integer one takes (y-p)^gamma = exp(gamma*log(y-p)). Tested,",
		"through goloss's "+caller+", against the reference loop seedRow to",
		"SPEC's float32 tolerance.")
	s := &seedState{vec: w, grad: grad}
	if grad {
		s.g = Load(Param("g").Base(), GP64())
	}
	s.y = Load(Param("y").Base(), GP64())
	s.p = Load(Param("p").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	s.w = Load(Param("w").Base(), GP64())
	mp := Load(Param("masks").Base(), GP64())
	s.k = Load(Param("k"), GP64())
	accp := Load(Param("acc"), GP64())
	s.nPow = GP64()
	MOVQ(Mem{Base: s.k, Disp: offPowN}, s.nPow)
	// AVX2 instructions reach only 16 ymm registers: the float64 sums live
	// on the stack, and few constants in registers (AVX-512 does the same,
	// from the same description).
	s.zero, s.one = s.vec.V(), s.vec.V()
	w.zero(s.zero)
	VMOVUPS(w.cf("one", 1), s.one)
	vb := w.bytes()
	s.acc = AllocLocal(4 * vb)
	if !w.avx512 { // keepOnStack's slots
		s.spill = AllocLocal(vb * 8)
	}
	for i := 0; i < 4; i++ {
		VMOVUPD(s.zero, s.acc.Offset(vb*i))
	}
	s.focal32, s.prod, s.expSum = s.vec.V(), s.vec.V(), s.vec.V()
	w.zero(s.focal32)
	VMOVUPS(s.one, s.prod)
	w.zeroInt(s.expSum)

	real := GP32()
	MOVL(Mem{Base: s.k, Disp: offReal}, real)
	powKindJumps(name, real, s.nPow)
	w.powLoops(name, []string{"powN", "pow2", "pow0", "powR"}, n, func(kind string) (reg.Register, func(string, reg.Register), func()) {
		s.powKind = kind
		s.off = GP64()
		XORQ(s.off, s.off)
		m := GP64()
		MOVQ(mp, m)
		body := func(prefix string, tail reg.Register) {
			s.mask = Mem{Base: m}
			s.body(prefix, tail)
		}
		return s.off, body, func() { ADDQ(Imm(uint64(w.lanes/8)), m) } // a mask's bytes
	}, s.flush)
	s.flush()
	w.storeSums(s.acc, accp, 4)
	VZEROUPPER()
	RET()
}

// flush adds the block's float32 focal sums into their float64 lanes, and
// its log p sums: per lane, the log of the product of the mantissas (in
// [1, 2^sumBlock)) plus the sum of the exponents times ln 2, in float64.
func (s *seedState) flush() {
	s.vec.flushLanes(s.focal32, s.acc)
	l := s.vec.logUnit(s.prod)
	vb := s.vec.bytes()
	for half := 0; half < 2; half++ {
		lx, ex := s.vec.lowHalf(l), s.vec.lowHalf(s.expSum)
		if half == 1 {
			lx, ex = s.vec.highHalf(l, false), s.vec.highHalf(s.expSum, true)
		}
		a, b := s.vec.V(), s.vec.V()
		VCVTPS2PD(lx, a)
		VCVTDQ2PD(ex, b)
		VFMADD231PD(s.ln2(), b, a) // e*ln2 + log(product)
		acc := s.acc.Offset(2*vb + vb*half)
		VADDPD(acc, a, a)
		VMOVUPD(a, acc)
	}
	VMOVUPS(s.one, s.prod)
	s.vec.zeroInt(s.expSum)
}

// ln2 is the float64 vector ln 2 (4 lanes on AVX2, 8 on AVX-512) in
// read-only data, declared once.
func (s *seedState) ln2() Mem {
	name, lanes := "ln2x64", 4
	if s.vec.avx512 {
		name, lanes = "ln2x64z", 8
	}
	if m, ok := vconsts[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < lanes; i++ {
		DATA(8*i, U64(math.Float64bits(math.Ln2)))
	}
	vconsts[name] = m
	return m
}

func (s *seedState) bcast(off int) reg.VecVirtual {
	y := s.vec.V()
	VBROADCASTSS(Mem{Base: s.k, Disp: off}, y)
	return y
}

func (s *seedState) body(prefix string, tail reg.Register) {
	p := s.vec.load(s.at(s.p), tail)
	// The lane mask of p/S inside its clip range, from its bits.
	in := s.vec.bitsMask(s.mask)

	pn := s.vec.V()
	VMAXPS(s.vec.cf("minnormal", 0x1p-126), p, pn)
	// R's sum of log p over the inside lanes without a log per element:
	// pn = 2^e * m with m in [1, 2); m multiplies into s.prod (1 in the
	// other lanes) and e adds to s.expSum, which flush turns into logs
	// once a block. Only vectors with a positive label take log p (for
	// the focal term).
	m, e := s.vec.V(), s.vec.V()
	s.vec.intAnd(s.vec.c("mant32mask", mant32Mask), pn, m)
	s.vec.intOr(s.one, m, m)
	s.vec.blendTo(in, m, s.one, m)
	VMULPS(m, s.prod, s.prod)
	VPSRLD(Imm(23), pn, e)
	VPSUBD(s.vec.c("bias127", 127), e, e)
	s.vec.zeroUnlessInt(in, e)
	VPADDD(e, s.expSum, s.expSum)

	// The smoothing gradient: in ? smoothW*((aHi - r) + r*res + aLo) :
	// shared, and 1/p refined as r - r*res, for the focal gradient.
	var gv, recip reg.VecVirtual
	if s.grad {
		r := s.vec.V()
		VDIVPS(p, s.one, r) // 1/p
		res := s.vec.V()
		VMOVAPS(p, res)
		VFMADD213PS(s.vec.cf("minusone", -1), r, res) // r*p - 1
		VMULPS(r, res, res)                           // r*res
		d := s.vec.V()
		VSUBPS(r, s.bcast(offAHi), d)
		VADDPS(res, d, d)
		VADDPS(s.bcast(offALo), d, d)
		VMULPS(s.bcast(offSmoothW), d, d)
		gv = s.vec.V()
		s.vec.blendTo(in, d, s.bcast(offShared), gv) // in ? smoothW*d : shared
		recip = r
		VSUBPS(res, r, recip)
	}

	y := s.vec.load(s.at(s.y), tail)
	pos := s.vec.M()
	s.vec.cmpTo(cmpGT, s.zero, y, pos)
	// A vector without a positive label (most of them, with sparse
	// labels) has no focal term and keeps gv as its gradient: it skips the
	// rest. NaN labels are no positive (NaN > 0 is false), as below.
	s.vec.jumpIfNone(pos, prefix+"_nopos")
	logP := s.vec.logUnit(pn)
	diff := s.vec.V()
	VSUBPS(p, y, diff)
	logPc := logP
	VMAXPS(s.bcast(offLogPLo), logP, logPc)
	VMINPS(s.zero, logPc, logPc)
	pow, dpow := s.vec.V(), s.vec.V()
	switch s.powKind {
	case "pow0":
		VMOVAPS(s.one, pow)
		VMOVAPS(s.zero, dpow)
	case "powR":
		// pow = diff^gamma = exp(gamma*log diff) (NaN for diff < 0, as
		// math.Pow gives), dpow = gamma*pow/diff where diff != 0, else 0
		// (focalDeriv's limit for non-integer gamma).
		live := []reg.VecVirtual{s.vec.vecOf(pos), logPc, s.prod, s.expSum} // AVX2 only: pos is a vector there
		if s.grad {
			live = append(live, p, gv, recip)
		}
		s.keeping(live, func() {
			k := func(off int) Mem { return Mem{Base: s.k, Disp: off} }
			pw, _, _ := s.vec.powReal(diff, k(offGamma), k(offGammaLo))
			VMOVAPS(pw, pow)
			nonzero := s.vec.M()
			s.vec.cmpTo(cmpNEQ, s.zero, diff, nonzero)
			VMULPS(s.bcast(offGamma), pow, dpow)
			VDIVPS(diff, dpow, dpow)
			s.vec.zeroUnless(nonzero, dpow)
		})
	default:
		pm1 := diff
		if s.powKind != "pow2" {
			pm1 = s.vec.V()
			base := s.vec.V()
			VMOVAPS(s.one, pm1)
			VMOVAPS(diff, base)
			squareLoop(prefix, s.nPow, pm1, base)
		}
		VMULPS(diff, pm1, pow)
		VMULPS(s.bcast(offGamma), pm1, dpow)
		VSUBPS(diff, diff, diff) // 0, or NaN for an infinite label
		VADDPS(diff, dpow, dpow)
	}
	w := s.vec.load(s.at(s.w), tail)
	ft := s.vec.V()
	VMULPS(pow, w, ft)
	VMULPS(logPc, ft, ft)
	s.vec.zeroUnless(pos, ft)
	VADDPS(ft, s.focal32, s.focal32)

	if s.grad {
		inLog, le1 := s.vec.M(), s.vec.M()
		s.vec.cmpTo(cmpGE, s.bcast(offPLo), p, inLog)
		s.vec.cmpTo(cmpLE, s.one, p, le1)
		s.vec.and(le1, inLog)
		VMULPS(recip, pow, recip) // pow/p
		s.vec.zeroUnless(inLog, recip)
		deriv := dpow
		VMULPS(logPc, dpow, deriv)
		VSUBPS(recip, deriv, deriv)
		VMULPS(s.bcast(offFocalScale), w, w)
		VMULPS(deriv, w, w)
		VADDPS(w, gv, w)
		s.vec.blendTo(pos, w, gv, gv) // lanes without a positive label keep gv
		s.storeGrad(tail, gv)
	}
	JMP(LabelRef(prefix + "_end"))
	Label(prefix + "_nopos")
	if s.grad {
		s.storeGrad(tail, gv)
	}
	Label(prefix + "_end")
}

// storeGrad writes the gradient vector gv at the current offset.
func (s *seedState) storeGrad(tail reg.Register, gv reg.VecVirtual) {
	s.vec.store(gv, s.at(s.g), tail)
}
