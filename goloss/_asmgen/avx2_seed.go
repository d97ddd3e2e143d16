package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The AVX2 form of the float32 seed kernel's passes: 8 float32 lanes in ymm
// registers, vector masks instead of mask registers, constants as 8-lane
// vectors in read-only data, 1/p by division (AVX2 has no 14-bit
// reciprocal). The algorithm is the AVX-512 kernel's (seedRowFast16).

// vconsts holds the 8-lane constant vectors, each declared once.
var vconsts = map[string]Mem{}

// v8 returns a 32-byte constant holding bits in each of its 8 lanes.
func v8(name string, bits uint32) Mem {
	if m, ok := vconsts[name]; ok {
		return m
	}
	m := GLOBL(name+"8", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(bits))
	}
	vconsts[name] = m
	return m
}

func v8f(name string, v float32) Mem { return v8(name, mathFloat32bits(v)) }

// lanes8 is the constant vector 0, 1, ..., 7 (int32), for tail masks.
func lanes8() Mem {
	if m, ok := vconsts["lanes"]; ok {
		return m
	}
	m := GLOBL("lanes8", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(uint32(i)))
	}
	vconsts["lanes"] = m
	return m
}

// bits8 is the constant vector 1, 2, 4, ..., 128 (int32), to expand an
// 8-bit mask into a vector mask.
func bits8() Mem {
	if m, ok := vconsts["bits"]; ok {
		return m
	}
	m := GLOBL("bits8", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(uint32(1)<<i))
	}
	vconsts["bits"] = m
	return m
}

// loopVectors8 is loopVectors for 8 lanes: the tail gets a vector mask of
// its lanes (all ones where loaded).
func loopVectors8(name string, n reg.Register, body func(prefix string, tail reg.VecVirtual), step func()) {
	loopLanes(name, n, 8, body, step)
}

// sumKernel8: seedSumF32AVX2, the row sum in two float64 accumulators of 4
// lanes (0-3, 4-7), added lane by lane and the 4 results in order.
func sumKernel8() {
	TEXT("SeedSumF32", NOSPLIT, "func(p []float32) (sum float64)")
	Pragma("noescape")
	Doc("SeedSumF32 returns the sum of p, its 8-lane vectors widened and",
		"added to two float64 accumulators (lanes 0-3 and 4-7), which are then",
		"added lane by lane and the 4 results in order.")
	p := Load(Param("p").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	lo, hi := YMM(), YMM()
	VXORPD(lo, lo, lo)
	VXORPD(hi, hi, hi)
	loopVectors8("SeedSumF32", n, func(prefix string, tail reg.VecVirtual) {
		v := w8.load(Mem{Base: p}, tail)
		w := YMM()
		VCVTPS2PD(v.AsX(), w)
		VADDPD(w, lo, lo)
		upper := XMM()
		VEXTRACTF128(Imm(1), v, upper)
		VCVTPS2PD(upper, w)
		VADDPD(w, hi, hi)
	}, func() { ADDQ(Imm(32), p) })
	VADDPD(hi, lo, lo)
	lanes := AllocLocal(32)
	VMOVUPD(lo, lanes)
	sum := XMM()
	VMOVSD(lanes, sum)
	for j := 1; j < 4; j++ {
		VADDSD(lanes.Offset(8*j), sum, sum)
	}
	// avo stores a float result with legacy MOVSD: clean state first
	// (VZEROUPPER keeps the low 128 bits of every register).
	VZEROUPPER()
	Store(sum, ReturnIndex(0))
	RET()
}

// masksKernel8: seedMasksF32AVX2, the second pass, one uint8 mask per 8
// lanes.
func masksKernel8() {
	name := "SeedMasksF32"
	TEXT(name, NOSPLIT, "func(p []float32, masks []uint8, k *[14]uint32) (inside, above int)")
	Pragma("noescape")
	Doc(name+" writes into masks, one uint8 per 8 lanes of p, the lanes whose",
		"p/S lies in [ratioLo, ratioHi], and returns how many do and how many lie",
		"above that range, as avx512.SeedMasksF32 does. k is as there.")
	p := Load(Param("p").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	m := Load(Param("masks").Base(), GP64())
	k := Load(Param("k"), GP64())
	inside, above := GP64(), GP64()
	XORQ(inside, inside)
	XORQ(above, above)
	bc := func(off int) reg.VecVirtual {
		y := YMM()
		VBROADCASTSS(Mem{Base: k, Disp: off}, y)
		return y
	}
	invS, lo, hi := bc(mInvS), bc(mRatioLo), bc(mRatioHi)
	bLL, bLH, bHL, bHH := bc(mBandLoLo), bc(mBandLoHi), bc(mBandHiLo), bc(mBandHiHi)
	loopVectors8(name, n, func(prefix string, tail reg.VecVirtual) {
		v := w8.load(Mem{Base: p}, tail)
		q := YMM()
		VMULPS(invS, v, q)
		in, t := YMM(), YMM()
		VCMPPS(Imm(cmpGE), lo, q, in)
		VCMPPS(Imm(cmpLE), hi, q, t)
		VANDPS(t, in, in)
		near, t2 := YMM(), YMM()
		VCMPPS(Imm(cmpGT), bLL, q, near)
		VCMPPS(Imm(cmpLT), bLH, q, t)
		VANDPS(t, near, near)
		VCMPPS(Imm(cmpGT), bHL, q, t)
		VCMPPS(Imm(cmpLT), bHH, q, t2)
		VANDPS(t2, t, t)
		VORPS(t, near, near)
		inBits := GP32()
		VMOVMSKPS(in, inBits)
		nb := GP32()
		VMOVMSKPS(near, nb)
		TESTL(nb, nb)
		JZ(LabelRef(prefix + "_decided"))
		// Within bandRel of a bound, p/S decides in float64.
		s64, lo64, hi64 := YMM(), YMM(), YMM()
		VBROADCASTSD(Mem{Base: k, Disp: mSum64}, s64)
		VBROADCASTSD(Mem{Base: k, Disp: mLo64}, lo64)
		VBROADCASTSD(Mem{Base: k, Disp: mHi64}, hi64)
		XORL(inBits, inBits)
		for half := 0; half < 2; half++ {
			x := XMM()
			if half == 0 {
				VMOVAPS(v.AsX(), x)
			} else {
				VEXTRACTF128(Imm(1), v, x)
			}
			d, c1, c2 := YMM(), YMM(), YMM()
			VCVTPS2PD(x, d)
			VDIVPD(s64, d, d)
			VCMPPD(Imm(cmpGE), lo64, d, c1)
			VCMPPD(Imm(cmpLE), hi64, d, c2)
			VANDPD(c2, c1, c1)
			hb := GP32()
			VMOVMSKPD(c1, hb)
			if half == 1 {
				SHLL(Imm(4), hb)
			}
			ORL(hb, inBits)
		}
		Label(prefix + "_decided")
		// A lane outside the range lies above it where p/S > 1/2.
		up := YMM()
		VCMPPS(Imm(cmpGT), v8f("half", 0.5), q, up)
		ub := GP32()
		VMOVMSKPS(up, ub)
		notIn := GP32()
		MOVL(inBits, notIn)
		NOTL(notIn)
		ANDL(notIn, ub) // ub &^ inBits
		POPCNTL(ub, ub)
		ADDQ(ub.As64(), above)
		MOVB(inBits.As8(), Mem{Base: m})
		cnt := GP32()
		POPCNTL(inBits, cnt)
		ADDQ(cnt.As64(), inside)
	}, func() {
		ADDQ(Imm(32), p)
		ADDQ(Imm(1), m)
	})
	Store(inside, ReturnIndex(0))
	Store(above, ReturnIndex(1))
	VZEROUPPER()
	RET()
}

// state8 holds the registers of one AVX2 main pass.
type state8 struct {
	grad                     bool
	g, y, p, w, k, nPow, off reg.Register
	mask                     Mem
	zero, one                reg.VecVirtual
	acc                      Mem // 16 float64 lane sums on the stack
	focal32                  reg.VecVirtual
	prod, expSum             reg.VecVirtual // log p of the block's inside lanes, as a product (see body)
	powKind                  string
	spill                    Mem // stack slots for values live across the powR loop's exp and log
}

// keeping runs fn with regs kept on the stack in the powR loop (keepOnStack).
func (s *state8) keeping(regs []reg.VecVirtual, fn func()) {
	w8.keepOnStack(s.spill, s.powKind == "powR", regs, fn)
}

func (s *state8) at(base reg.Register) Mem { return Mem{Base: base, Index: s.off, Scale: 1} }

// mainKernel8: seedMainGradF32AVX2 and seedMainLossF32AVX2.
func mainKernel8(grad bool) {
	name, sig := "SeedMainLossF32", "func(y, p, w []float32, masks []uint8, k *[12]uint32, acc *[16]float64)"
	if grad {
		name, sig = "SeedMainGradF32", "func(g, y, p, w []float32, masks []uint8, k *[12]uint32, acc *[16]float64)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" is the main pass of the seed kernel on 8 float32 lanes: it",
		"stores in acc the float64 lane sums of the focal terms (lanes 0-3, 4-7)",
		"and of log p where masks (one uint8 per 8 lanes) marks p/S inside its",
		"clip range (lanes 0-3, 4-7)"+map[bool]string{true: ", and writes the gradient into g.", false: "."}[grad],
		"k is seedVector.mainConsts', as for avx512.SeedMainGradF32, and any gamma:",
		"a non-integer one takes (y-p)^gamma = exp(gamma*log(y-p)). Tested,",
		"through goloss's seedRowFast8, against the reference loop seedRow to",
		"SPEC's float32 tolerance.")
	s := &state8{grad: grad}
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
	// on the stack, and few constants in registers.
	s.zero, s.one = YMM(), YMM()
	VXORPS(s.zero, s.zero, s.zero)
	VMOVUPS(v8f("one", 1), s.one)
	s.acc = AllocLocal(128)
	s.spill = AllocLocal(32 * 8)
	for i := 0; i < 4; i++ {
		VMOVUPD(s.zero, s.acc.Offset(32*i))
	}
	s.focal32, s.prod, s.expSum = YMM(), YMM(), YMM()
	VXORPS(s.focal32, s.focal32, s.focal32)
	VMOVUPS(s.one, s.prod)
	VPXOR(s.expSum, s.expSum, s.expSum)

	real := GP32()
	MOVL(Mem{Base: s.k, Disp: offReal}, real)
	TESTL(real, real)
	JNZ(LabelRef(name + "_powR"))
	CMPQ(s.nPow, Imm(2))
	JEQ(LabelRef(name + "_pow2"))
	TESTQ(s.nPow, s.nPow)
	JEQ(LabelRef(name + "_pow0"))
	powLoops8(name, []string{"powN", "pow2", "pow0", "powR"}, n, func(kind string) (reg.Register, func(string, reg.VecVirtual), func()) {
		s.powKind = kind
		s.off = GP64()
		XORQ(s.off, s.off)
		m := GP64()
		MOVQ(mp, m)
		body := func(prefix string, tail reg.VecVirtual) {
			s.mask = Mem{Base: m}
			s.body(prefix, tail)
		}
		return s.off, body, func() { ADDQ(Imm(1), m) }
	}, s.flush)
	s.flush()
	w8.storeSums(s.acc, accp, 4)
	VZEROUPPER()
	RET()
}

// flush adds the block's float32 focal sums into their float64 lanes, and
// its log p sums: per lane, the log of the product of the mantissas (in
// [1, 2^sumBlock)) plus the sum of the exponents times ln 2, in float64.
func (s *state8) flush() {
	w8.flushLanes(s.focal32, s.acc)
	l := w8.logUnit(s.prod)
	for half := 0; half < 2; half++ {
		lx, ex := l.AsX(), s.expSum.AsX()
		if half == 1 {
			lx, ex = XMM(), XMM()
			VEXTRACTF128(Imm(1), l, lx)
			VEXTRACTI128(Imm(1), s.expSum, ex)
		}
		a, b := YMM(), YMM()
		VCVTPS2PD(lx, a)
		VCVTDQ2PD(ex, b)
		VFMADD231PD(ln2x64(), b, a) // e*ln2 + log(product)
		acc := s.acc.Offset(64 + 32*half)
		VADDPD(acc, a, a)
		VMOVUPD(a, acc)
	}
	VMOVUPS(s.one, s.prod)
	VPXOR(s.expSum, s.expSum, s.expSum)
}

// ln2x64 is the 4-lane float64 vector ln 2 in read-only data, declared
// once.
func ln2x64() Mem {
	if m, ok := vconsts["ln2x64"]; ok {
		return m
	}
	m := GLOBL("ln2x64", RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(math.Float64bits(math.Ln2)))
	}
	vconsts["ln2x64"] = m
	return m
}

func (s *state8) bcast(off int) reg.VecVirtual {
	y := YMM()
	VBROADCASTSS(Mem{Base: s.k, Disp: off}, y)
	return y
}

func (s *state8) body(prefix string, tail reg.VecVirtual) {
	p := w8.load(s.at(s.p), tail)
	// The lane mask of p/S inside its clip range, from the byte.
	mb := GP32()
	MOVBLZX(s.mask, mb)
	mx := XMM()
	VMOVQ(mb.As64(), mx)
	in := YMM()
	VPBROADCASTD(mx, in)
	VPAND(bits8(), in, in)
	VPCMPEQD(bits8(), in, in)

	pn := YMM()
	VMAXPS(v8f("minnormal", 0x1p-126), p, pn)
	// R's sum of log p over the inside lanes without a log per element:
	// pn = 2^e * m with m in [1, 2); m multiplies into s.prod (1 in the
	// other lanes) and e adds to s.expSum, which flush turns into logs
	// once a block. Only vectors with a positive label take log p (for
	// the focal term).
	m, e := YMM(), YMM()
	VPAND(v8("mant32mask", mant32Mask), pn, m)
	VPOR(s.one, m, m)
	VBLENDVPS(in, m, s.one, m)
	VMULPS(m, s.prod, s.prod)
	VPSRLD(Imm(23), pn, e)
	VPSUBD(v8("bias127", 127), e, e)
	VPAND(in, e, e)
	VPADDD(e, s.expSum, s.expSum)

	// The smoothing gradient: in ? smoothW*((aHi - r) + r*res + aLo) :
	// shared, and 1/p refined as r - r*res, for the focal gradient.
	var gv, recip reg.VecVirtual
	if s.grad {
		r := YMM()
		VDIVPS(p, s.one, r) // 1/p
		res := YMM()
		VMOVAPS(p, res)
		VFMADD213PS(v8f("minusone", -1), r, res) // r*p - 1
		VMULPS(r, res, res)                      // r*res
		d := YMM()
		VSUBPS(r, s.bcast(offAHi), d)
		VADDPS(res, d, d)
		VADDPS(s.bcast(offALo), d, d)
		VMULPS(s.bcast(offSmoothW), d, d)
		gv = YMM()
		VBLENDVPS(in, d, s.bcast(offShared), gv) // in ? smoothW*d : shared
		recip = r
		VSUBPS(res, r, recip)
	}

	y := w8.load(s.at(s.y), tail)
	pos := YMM()
	VCMPPS(Imm(cmpGT), s.zero, y, pos)
	// A vector without a positive label (most of them, with sparse
	// labels) has no focal term and keeps gv as its gradient: it skips the
	// rest. NaN labels are no positive (NaN > 0 is false), as below.
	pm := GP32()
	VMOVMSKPS(pos, pm)
	TESTL(pm, pm)
	JZ(LabelRef(prefix + "_nopos"))
	logP := w8.logUnit(pn)
	diff := YMM()
	VSUBPS(p, y, diff)
	logPc := logP
	VMAXPS(s.bcast(offLogPLo), logP, logPc)
	VMINPS(s.zero, logPc, logPc)
	pow, dpow := YMM(), YMM()
	switch s.powKind {
	case "pow0":
		VMOVAPS(s.one, pow)
		VMOVAPS(s.zero, dpow)
	case "powR":
		// pow = diff^gamma = exp(gamma*log diff) (NaN for diff < 0, as
		// math.Pow gives), dpow = gamma*pow/diff where diff != 0, else 0
		// (focalDeriv's limit for non-integer gamma).
		live := []reg.VecVirtual{pos, logPc, s.prod, s.expSum}
		if s.grad {
			live = append(live, p, gv, recip)
		}
		s.keeping(live, func() {
			k := func(off int) Mem { return Mem{Base: s.k, Disp: off} }
			pw, _, _ := w8.powReal(diff, k(offGamma), k(offGammaLo))
			VMOVAPS(pw, pow)
			nonzero := YMM()
			VCMPPS(Imm(cmpNEQ), s.zero, diff, nonzero)
			VMULPS(s.bcast(offGamma), pow, dpow)
			VDIVPS(diff, dpow, dpow)
			VANDPS(nonzero, dpow, dpow)
		})
	default:
		pm1 := diff
		if s.powKind != "pow2" {
			pm1 = YMM()
			base := YMM()
			VMOVAPS(s.one, pm1)
			VMOVAPS(diff, base)
			squareLoop(prefix, s.nPow, pm1, base)
		}
		VMULPS(diff, pm1, pow)
		VMULPS(s.bcast(offGamma), pm1, dpow)
		VSUBPS(diff, diff, diff) // 0, or NaN for an infinite label
		VADDPS(diff, dpow, dpow)
	}
	w := w8.load(s.at(s.w), tail)
	ft := YMM()
	VMULPS(pow, w, ft)
	VMULPS(logPc, ft, ft)
	VANDPS(pos, ft, ft)
	VADDPS(ft, s.focal32, s.focal32)

	if s.grad {
		inLog, le1 := YMM(), YMM()
		VCMPPS(Imm(cmpGE), s.bcast(offPLo), p, inLog)
		VCMPPS(Imm(cmpLE), s.one, p, le1)
		VANDPS(le1, inLog, inLog)
		VMULPS(recip, pow, recip) // pow/p
		VANDPS(inLog, recip, recip)
		deriv := dpow
		VMULPS(logPc, dpow, deriv)
		VSUBPS(recip, deriv, deriv)
		VMULPS(s.bcast(offFocalScale), w, w)
		VMULPS(deriv, w, w)
		VADDPS(w, gv, w)
		VBLENDVPS(pos, w, gv, gv) // lanes without a positive label keep gv
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
func (s *state8) storeGrad(tail, gv reg.VecVirtual) {
	if tail != nil {
		VMASKMOVPS(gv, tail, s.at(s.g))
	} else {
		VMOVUPS(gv, s.at(s.g))
	}
}
