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
// hand-written main pass of avx512_seed.go, which takes every vector's
// focal work without a branch: 0.49 against 0.71 ns per element with the
// gradient on dense labels, 0.49 against 0.44 on multi-hot ones
// (BenchmarkSeedMain16, Zen 5; a VRCP14PS for this pass's 1/p changed
// nothing measurable). The masks of p/S inside its clip range come from
// the masks pass of each ISA: one uint8 per 8 lanes (avx2.SeedMasksF32),
// one uint16 per 16 (avx512.SeedMasksF32 or SeedMasksLowF32); a row
// whose every p/S lies inside runs the Inside form, which takes no masks
// (no mask expanded and three blends fewer per vector: 0.88 -> 0.78 ns per
// element on AVX2 with the gradient, 3% positive labels, Zen 5).

// seedState holds the registers of one main pass.
type seedState struct {
	vec                      *vec
	grad                     bool
	inside                   bool // every lane's p/S inside its clip range: no masks
	g, y, p, w, k, nPow, off reg.Register
	mask                     Mem
	zero, one                reg.VecVirtual
	acc                      Mem // 2*lanes float64 lane sums on the stack
	focal32                  reg.VecVirtual
	prod, expSum             reg.VecVirtual // log p of the block's inside lanes, as a product (see smoothing)
	powKind                  string
	spill                    Mem // stack slots for values live across the powR loop's exp and log
}

// keeping runs fn with regs kept on the stack in the powR loop (keepOnStack).
func (s *seedState) keeping(regs []reg.VecVirtual, fn func()) {
	s.vec.keepOnStack(s.spill, s.powKind == "powR", regs, fn)
}

func (s *seedState) at(base reg.Register) Mem { return Mem{Base: base, Index: s.off, Scale: 1} }

// seedMainKernels declares the main pass of one width, with and without
// the gradient, with masks and in the inside form: SeedMainGradF32,
// SeedMainLossF32, SeedMainInsideGradF32 and SeedMainInsideLossF32 on
// AVX2, SeedMainAny* on AVX-512.
func seedMainKernels(w *vec) {
	for _, inside := range []bool{false, true} {
		for _, grad := range []bool{true, false} {
			seedMainKernel(w, grad, inside)
		}
	}
}

// seedMainKernel emits one main pass in two loops, so that no branch
// depends on where the positive labels fall: the first goes over every
// full vector of the row and takes what every lane needs (the smoothing
// term's log p, as a product, and the smoothing gradient, stored), and
// writes the offset of each vector that holds a positive label into offs,
// counting them without a branch; the second goes over those offsets only
// and adds the focal term and its gradient to what the first stored. The
// tail (the last n%lanes elements, with a tail mask) takes both.
//
// The form before this one branched per vector on "any positive label
// here", which sparse labels take at random (3% positives put one in 22%
// of 8-lane vectors): on AVX2, with the gradient, 0.78 ns per element at
// 3% positives against 0.43 with none and 1.06 with a positive in every
// vector, most of the difference mispredictions. Two loops, AVX2 Inside
// form, one thread, Zen 5, minima of 6 runs of BenchmarkSeed's rows,
// before -> after: no positive label 0.51 -> 0.43, 3% 0.87 -> 0.58, 10%
// 1.29 -> 0.85, every label positive 1.08 -> 1.12 (the second loop loads
// p, y and the stored gradient again, and divides again).
func seedMainKernel(w *vec, grad, inside bool) {
	base, maskType, caller := "SeedMain", "uint8", "seedRowFast8"
	if w.avx512 {
		base, maskType, caller = "SeedMainAny", "uint16", "seedRowFast16"
	}
	masksParam, masksDoc := ", masks []"+maskType, fmt.Sprintf("where masks (one %s per %d lanes) marks p/S inside its", maskType, w.lanes)
	if inside {
		base, masksParam, masksDoc = base+"Inside", "", "for a row whose every p/S lies inside its"
	}
	accType := fmt.Sprintf("*[%d]float64", 2*w.lanes)
	params := "y, p, w []float32" + masksParam + ", offs []uint64, k *[12]uint32, acc " + accType
	name := base + "LossF32"
	if grad {
		name, params = base+"GradF32", "g, "+params
	}
	h, l := w.lanes/2-1, w.lanes/2
	TEXT(name, NOSPLIT, "func("+params+")")
	Pragma("noescape")
	doc := []string{
		fmt.Sprintf("%s is the main pass of the seed kernel on %d float32 lanes: it", name, w.lanes),
		fmt.Sprintf("stores in acc the float64 lane sums of the focal terms (lanes 0-%d, %d-%d)", h, l, w.lanes-1),
		"and of log p " + masksDoc,
		fmt.Sprintf("clip range (lanes 0-%d, %d-%d)", h, l, w.lanes-1) + map[bool]string{true: ", and writes the gradient into g.", false: "."}[grad],
		"offs is scratch for the byte offsets of the vectors with a positive",
		fmt.Sprintf("label: len(offs) >= len(p)/%d. k is seedVector.mainConsts', as for", w.lanes),
		"avx512.SeedMainGradF32, and any gamma: a non-integer one takes",
		"(y-p)^gamma = exp(gamma*log(y-p)). Tested, through goloss's " + caller + ",",
		"against the reference loop seedRow to SPEC's float32 tolerance",
		"(TestSeedAsmMatchesReference, TestSeedKernelsSparseLabels).",
	}
	if inside {
		doc = append(doc, "It gives the bits of the masked form with every lane inside",
			"(TestSeedMainInsideSameBits).")
	}
	Doc(doc...)
	s := &seedState{vec: w, grad: grad, inside: inside}
	if grad {
		s.g = Load(Param("g").Base(), GP64())
	}
	s.y = Load(Param("y").Base(), GP64())
	s.p = Load(Param("p").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	s.w = Load(Param("w").Base(), GP64())
	var m reg.Register // the current vector's mask byte(s)
	if !inside {
		m = Load(Param("masks").Base(), GP64())
	}
	offs := Load(Param("offs").Base(), GP64())
	s.k = Load(Param("k"), GP64())
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

	// The first loop, over the full vectors: the smoothing part, and the
	// offsets of the vectors with a positive label.
	shift := uint64(3)
	if w.avx512 {
		shift = 4
	}
	s.off = GP64()
	XORQ(s.off, s.off)
	npos := GP64()
	XORQ(npos, npos)
	full := GP64()
	MOVQ(n, full)
	SHRQ(Imm(shift), full)
	JZ(LabelRef(name + "_smoothdone"))
	blk := GP64()
	MOVQ(U32(sumBlock), blk)
	Label(name + "_smooth")
	if !inside {
		s.mask = Mem{Base: m}
	}
	pos := s.smoothing(nil)
	// offs[npos] = off, and npos += 1 where the vector holds a positive
	// label (CF of bits - 1 is set where bits is 0).
	MOVQ(s.off, Mem{Base: offs, Index: npos, Scale: 8})
	bits := s.vec.maskBits(pos)
	CMPL(bits, U32(1))
	SBBQ(I32(-1), npos)
	ADDQ(Imm(uint64(vb)), s.off)
	if !inside {
		ADDQ(Imm(uint64(w.lanes/8)), m) // a mask's bytes
	}
	DECQ(blk)
	JNZ(LabelRef(name + "_smoothinblock"))
	s.flushLog(true)
	MOVQ(U32(sumBlock), blk)
	Label(name + "_smoothinblock")
	DECQ(full)
	JNZ(LabelRef(name + "_smooth"))
	Label(name + "_smoothdone")

	// The tail's smoothing part; rem stays its length where it holds a
	// positive label, and becomes 0 where it holds none.
	tailOff, rem := s.off, GP64()
	MOVQ(n, rem)
	ANDQ(Imm(uint64(w.lanes-1)), rem)
	JZ(LabelRef(name + "_smoothtaildone"))
	pos = s.smoothing(w.tailMask(rem))
	bits = s.vec.maskBits(pos)
	TESTL(bits, bits)
	JNZ(LabelRef(name + "_smoothtaildone"))
	XORQ(rem, rem)
	Label(name + "_smoothtaildone")
	s.flushLog(false)

	// The second loop, per power kind, over the vectors with a positive
	// label, then the tail if it holds one.
	real := GP32()
	MOVL(Mem{Base: s.k, Disp: offReal}, real)
	powKindJumps(name, real, s.nPow)
	for i, kind := range []string{"powN", "pow2", "pow0", "powR"} {
		prefix := name + "_" + kind
		if i > 0 {
			Label(prefix)
		}
		s.powKind = kind
		j := GP64()
		XORQ(j, j)
		TESTQ(npos, npos)
		JZ(LabelRef(prefix + "_tail"))
		blk := GP64()
		MOVQ(U32(sumBlock), blk)
		Label(prefix + "_focal")
		s.off = GP64()
		MOVQ(Mem{Base: offs, Index: j, Scale: 8}, s.off)
		s.focal(prefix+"_full", nil)
		DECQ(blk)
		JNZ(LabelRef(prefix + "_inblock"))
		w.flushLanes(s.focal32, s.acc)
		MOVQ(U32(sumBlock), blk)
		Label(prefix + "_inblock")
		INCQ(j)
		CMPQ(j, npos)
		JNE(LabelRef(prefix + "_focal"))
		Label(prefix + "_tail")
		TESTQ(rem, rem)
		JZ(LabelRef(name + "_done"))
		s.off = tailOff
		s.focal(prefix+"_part", w.tailMask(rem))
		JMP(LabelRef(name + "_done"))
	}
	Label(name + "_done")
	w.flushLanes(s.focal32, s.acc)
	w.storeSums(s.acc, Load(Param("acc"), GP64()), 4)
	VZEROUPPER()
	RET()
}

// flushLog adds the block's log p sums into their float64 lanes: per
// lane, the log of the product of the mantissas (in [1, 2^sumBlock)) plus
// the sum of the exponents times ln 2, in float64; with again, it sets the
// product and the exponents up for the next block.
func (s *seedState) flushLog(again bool) {
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
	if again {
		VMOVUPS(s.one, s.prod)
		s.vec.zeroInt(s.expSum)
	}
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

// reciprocal returns r = 1/p and res = r*(r*p - 1), so that r - res is
// 1/p refined and (aHi - r) + res keeps the smoothing gradient's
// cancellation exact.
func (s *seedState) reciprocal(p reg.VecVirtual) (r, res reg.VecVirtual) {
	r = s.vec.V()
	VDIVPS(p, s.one, r) // 1/p
	res = s.vec.V()
	VMOVAPS(p, res)
	VFMADD213PS(s.vec.cf("minusone", -1), r, res) // r*p - 1
	VMULPS(r, res, res)                           // r*res
	return r, res
}

// smoothing is the first loop's work on the vector at s.off (the tail's
// lanes where tail is not nil): R's log p into s.prod and s.expSum, the
// smoothing gradient stored into g, and the mask of the lanes with a
// positive label (NaN labels are no positive: NaN > 0 is false).
func (s *seedState) smoothing(tail reg.Register) reg.Register {
	p := s.vec.load(s.at(s.p), tail)
	// The lane mask of p/S inside its clip range, from its bits; in the
	// inside form every lane of the row (the tail's lanes past the row are
	// not: their p loads as 0).
	in, masked := tail, tail != nil
	if !s.inside {
		in, masked = s.vec.bitsMask(s.mask), true
	}

	pn := s.vec.V()
	VMAXPS(s.vec.cf("minnormal", 0x1p-126), p, pn)
	// R's sum of log p over the inside lanes without a log per element:
	// pn = 2^e * m with m in [1, 2); m multiplies into s.prod (1 in the
	// other lanes) and e adds to s.expSum, which flushLog turns into logs
	// once a block.
	m, e := s.vec.V(), s.vec.V()
	s.vec.intAnd(s.vec.c("mant32mask", mant32Mask), pn, m)
	s.vec.intOr(s.one, m, m)
	if masked {
		s.vec.blendTo(in, m, s.one, m)
	}
	VMULPS(m, s.prod, s.prod)
	VPSRLD(Imm(23), pn, e)
	VPSUBD(s.vec.c("bias127", 127), e, e)
	if masked {
		s.vec.zeroUnlessInt(in, e)
	}
	VPADDD(e, s.expSum, s.expSum)

	// The smoothing gradient: in ? smoothW*((aHi - r) + r*res + aLo) :
	// shared, which the focal loop adds to where a label is positive.
	if s.grad {
		r, res := s.reciprocal(p)
		d := s.vec.V()
		VSUBPS(r, s.bcast(offAHi), d)
		VADDPS(res, d, d)
		VADDPS(s.bcast(offALo), d, d)
		VMULPS(s.bcast(offSmoothW), d, d)
		gv := d
		if masked {
			gv = s.vec.V()
			s.vec.blendTo(in, d, s.bcast(offShared), gv) // in ? smoothW*d : shared
		}
		s.storeGrad(tail, gv)
	}

	y := s.vec.load(s.at(s.y), tail)
	pos := s.vec.M()
	s.vec.cmpTo(cmpGT, s.zero, y, pos)
	return pos
}

// focal is the second loop's work on a vector with a positive label at
// s.off (the tail's lanes where tail is not nil): the focal term into
// s.focal32, and its gradient added to the smoothing gradient in g where
// the label is positive.
func (s *seedState) focal(prefix string, tail reg.Register) {
	p := s.vec.load(s.at(s.p), tail)
	y := s.vec.load(s.at(s.y), tail)
	pos := s.vec.M()
	s.vec.cmpTo(cmpGT, s.zero, y, pos)
	pn := s.vec.V()
	VMAXPS(s.vec.cf("minnormal", 0x1p-126), p, pn)
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
		live := []reg.VecVirtual{s.vec.vecOf(pos), logPc} // AVX2 only: pos is a vector there
		if s.grad {
			live = append(live, p)
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
		r, res := s.reciprocal(p)
		recip := r
		VSUBPS(res, r, recip) // 1/p refined
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
		gv := s.vec.load(s.at(s.g), tail)
		VADDPS(w, gv, w)
		s.vec.blendTo(pos, w, gv, gv) // lanes without a positive label keep gv
		s.storeGrad(tail, gv)
	}
}

// storeGrad writes the gradient vector gv at the current offset.
func (s *seedState) storeGrad(tail reg.Register, gv reg.VecVirtual) {
	s.vec.store(gv, s.at(s.g), tail)
}
