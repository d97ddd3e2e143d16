package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The AVX-512 float32 seed kernel's passes: 16 float32 lanes in zmm
// registers, mask registers, constants as embedded broadcasts.
// state holds the registers of one generated function.
type state struct {
	grad                   bool
	g, y, p, w, m, k, nPow reg.Register
	zero, one, aHi, shared reg.VecVirtual
	acc                    [4]reg.VecVirtual // focal lo, hi; log lo, hi
	focal32, log32         reg.VecVirtual    // float32 sums of the current block
	blk                    reg.Register      // vectors left in the block

	// Per loop: the kind of gamma, the byte offset of the current vector in
	// g, y, p and w, and the address of its mask.
	powKind string
	off     reg.Register
	mask    Mem
}

// at returns the address of the current vector in the row at base.
func (s *state) at(base reg.Register) Mem { return Mem{Base: base, Index: s.off, Scale: 1} }

func kernel(grad bool) {
	name, sig := "SeedMainLossF32", "func(y, p, w []float32, masks []uint16, k *[12]uint32, acc *[32]float64)"
	if grad {
		name, sig = "SeedMainGradF32", "func(g, y, p, w []float32, masks []uint16, k *[12]uint32, acc *[32]float64)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" runs the main pass of seedRowFast16 over one row of",
		"len(p) float32s: it adds the lanes' log p where masks marks p/S inside its",
		"clip range, and the focal terms, to the float64 lane sums it stores in",
		"acc (focal lanes 0-7, 8-15, then log lanes 0-7, 8-15)"+map[bool]string{true: ", and writes the gradient into g.", false: "."}[grad],
		"y, w and masks (one uint16 per 16 lanes) cover len(p) elements; w and",
		"masks are read only as far as needed. k is seedVector.mainConsts',",
		"for integer gamma. Tested, through goloss's seedRowFast16, against the",
		"reference loop seedRow to SPEC's float32 tolerance.")
	s := &state{grad: grad}
	if grad {
		s.g = Load(Param("g").Base(), GP64())
	}
	s.y = Load(Param("y").Base(), GP64())
	s.p = Load(Param("p").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	s.w = Load(Param("w").Base(), GP64())
	s.m = Load(Param("masks").Base(), GP64())
	s.k = Load(Param("k"), GP64())
	accp := Load(Param("acc"), GP64())
	s.nPow = GP64()
	MOVQ(Mem{Base: s.k, Disp: offPowN}, s.nPow)

	s.zero = ZMM()
	VPXORD(s.zero, s.zero, s.zero)
	s.one = ZMM()
	VBROADCASTSS(f32("one", 1), s.one)
	if grad {
		s.aHi = ZMM()
		VBROADCASTSS(Mem{Base: s.k, Disp: offAHi}, s.aHi)
		s.shared = ZMM()
		VBROADCASTSS(Mem{Base: s.k, Disp: offShared}, s.shared)
	}
	for i := range s.acc {
		s.acc[i] = ZMM()
		VPXORD(s.acc[i], s.acc[i], s.acc[i])
	}
	s.focal32, s.log32 = ZMM(), ZMM()
	VPXORD(s.focal32, s.focal32, s.focal32)
	VPXORD(s.log32, s.log32, s.log32)
	s.blk = GP64()

	// One loop per kind of gamma, so that the loop body does not branch on
	// it: 0 (pow 1, dpow 0), 2 (the usual value) and any other integer.
	CMPQ(s.nPow, Imm(2))
	JEQ(LabelRef(name + "_pow2"))
	TESTQ(s.nPow, s.nPow)
	JEQ(LabelRef(name + "_pow0"))
	for _, kind := range []string{"powN", "pow2", "pow0"} {
		if kind != "powN" {
			Label(name + "_" + kind)
		}
		s.powKind = kind
		s.off = GP64()
		XORQ(s.off, s.off)
		m := GP64()
		MOVQ(s.m, m)
		MOVQ(U32(sumBlock), s.blk)
		loopVectors(name+"_"+kind, n, func(prefix string, tail reg.Register) {
			s.mask = Mem{Base: m}
			s.body(prefix, tail)
		}, func() {
			ADDQ(Imm(64), s.off)
			ADDQ(Imm(2), m)
			// At the end of a block, the float32 sums go to the float64 ones.
			DECQ(s.blk)
			JNZ(LabelRef(name + "_" + kind + "_inblock"))
			s.flush()
			MOVQ(U32(sumBlock), s.blk)
			Label(name + "_" + kind + "_inblock")
		})
		JMP(LabelRef(name + "_done"))
	}

	Label(name + "_done")
	s.flush()
	for i, a := range s.acc {
		VMOVUPD(a, Mem{Base: accp, Disp: 64 * i})
	}
	VZEROUPPER()
	RET()
}

// load loads 16 float32s from base, the lanes of tail only (the others 0)
// where tail is not nil.
func load(addr Mem, tail reg.Register) reg.VecVirtual {
	z := ZMM()
	if tail != nil {
		VMOVUPS_Z(addr, tail, z)
	} else {
		VMOVUPS(addr, z)
	}
	return z
}

// sumBlock is sumBlock of seedfast512x16_amd64.go: the vectors whose terms
// are added in float32 before they go, widened, to the float64 sums.
const sumBlock = 8

// flush adds the block's float32 sums, widened, to the float64 ones and
// clears them.
func (s *state) flush() {
	for i, v := range []reg.VecVirtual{s.focal32, s.log32} {
		lo := ZMM()
		VCVTPS2PD(v.AsY(), lo)
		VADDPD(lo, s.acc[2*i], s.acc[2*i])
		upper := YMM()
		VEXTRACTF32X8(Imm(1), v, upper)
		hi := ZMM()
		VCVTPS2PD(upper, hi)
		VADDPD(hi, s.acc[2*i+1], s.acc[2*i+1])
		VPXORD(v, v, v)
	}
}

// body computes one vector of 16 lanes, at the current pointers.
func (s *state) body(prefix string, tail reg.Register) {
	p := load(s.at(s.p), tail)
	y := load(s.at(s.y), tail)
	in := K()
	KMOVW(s.mask, in)

	// log p: logUnit(max(p, 2^-126)).
	pn := ZMM()
	VMAXPS_BCST(f32("minnormal", 0x1p-126), p, pn)
	logP := logUnit(pn)
	VADDPS(logP, s.log32, in, s.log32)

	// The smoothing gradient: in ? smoothW*((aHi - r) + r*res + aLo) :
	// shared, with r = rcp14(p), res = p*r - 1.
	var gv, r, rres reg.VecVirtual
	if s.grad {
		r = ZMM()
		VRCP14PS(p, r)
		res := ZMM()
		VMOVAPS(p, res)
		VFMADD213PS_BCST(f32("minusone", -1), r, res) // res = r*p - 1
		rres = ZMM()
		VMULPS(res, r, rres)
		d := ZMM()
		VSUBPS(r, s.aHi, d)
		VADDPS(rres, d, d)
		VADDPS_BCST(Mem{Base: s.k, Disp: offALo}, d, d)
		gv = ZMM()
		VMOVAPS(s.shared, gv)
		VMULPS_BCST(Mem{Base: s.k, Disp: offSmoothW}, d, in, gv)
	}

	// The focal term, where y > 0. It is computed for every vector: with
	// sparse labels a branch on "any positive lane" would be mispredicted
	// often and cost more than the work it skips.
	pos := K()
	VCMPPS(Imm(cmpGT), s.zero, y, pos)
	w := load(s.at(s.w), tail)
	// log(clip(p, 1e-8, 1)) = min(max(log p, log 1e-8), 0).
	logPc := ZMM()
	VMAXPS_BCST(Mem{Base: s.k, Disp: offLogPLo}, logP, logPc)
	VMINPS(s.zero, logPc, logPc)
	diff := ZMM()
	VSUBPS(p, y, diff)

	// pow = diff^gamma, dpow = gamma*diff^(gamma-1) (+ diff - diff, NaN
	// where diff is infinite); gamma 0 gives pow 1 and dpow 0.
	pow, dpow := ZMM(), ZMM()
	switch s.powKind {
	case "pow0":
		VMOVAPS(s.one, pow)
		VMOVAPS(s.zero, dpow)
	case "pow2":
		// diff^(gamma-1) = diff (1*diff: the same bits as the loop).
		VMULPS(diff, diff, pow)
		VMULPS_BCST(Mem{Base: s.k, Disp: offGamma}, diff, dpow)
		nan := ZMM()
		VSUBPS(diff, diff, nan)
		VADDPS(nan, dpow, dpow)
	default:
		// diff^(gamma-1) by squaring (squareLoop).
		pm1, base := ZMM(), ZMM()
		VMOVAPS(s.one, pm1)
		VMOVAPS(diff, base)
		squareLoop(prefix, s.nPow, pm1, base)
		VMULPS(diff, pm1, pow)
		VMULPS_BCST(Mem{Base: s.k, Disp: offGamma}, pm1, dpow)
		nan := ZMM()
		VSUBPS(diff, diff, nan)
		VADDPS(nan, dpow, dpow)
	}

	// focal += (w*pow)*logPc where y > 0.
	t := ZMM()
	VMULPS(pow, w, t)
	VMULPS(logPc, t, t)
	VADDPS(t, s.focal32, pos, s.focal32)

	if s.grad {
		// deriv = dpow*logPc - [1e-8 <= p <= 1] * pow*(r - r*res);
		// gv += (focalScale*w)*deriv where y > 0.
		inLog, le1 := K(), K()
		VCMPPS_BCST(Imm(cmpGE), Mem{Base: s.k, Disp: offPLo}, p, inLog)
		VCMPPS(Imm(cmpLE), s.one, p, le1)
		KANDW(le1, inLog, inLog)
		recip := ZMM()
		VSUBPS(rres, r, recip)
		v := ZMM()
		VMULPS_Z(recip, pow, inLog, v)
		deriv := ZMM()
		VMULPS(logPc, dpow, deriv)
		VSUBPS(v, deriv, deriv)
		x := ZMM()
		VMULPS_BCST(Mem{Base: s.k, Disp: offFocalScale}, w, x)
		VMULPS(deriv, x, x)
		VADDPS(x, gv, pos, gv) // lanes without a positive label keep gv
	}
	if s.grad {
		if tail != nil {
			VMOVUPS(gv, tail, s.at(s.g))
		} else {
			VMOVUPS(gv, s.at(s.g))
		}
	}
}

// loopVectors emits a loop over the n/16 full vectors of 16 lanes, then
// the last n%16 lanes with a mask (the others 0 on load); body gets that
// mask, nil for full vectors, and step advances the pointers by a vector.
func loopVectors(name string, n reg.Register, body func(prefix string, tail reg.Register), step func()) {
	full := GP64()
	MOVQ(n, full)
	SHRQ(Imm(4), full)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_loop")
	body(name+"_full", nil)
	step()
	DECQ(full)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_tail")
	rem := GP64()
	MOVQ(n, rem)
	ANDQ(Imm(15), rem)
	JZ(LabelRef(name + "_done"))
	body(name+"_part", w16.tailMask(rem))
	Label(name + "_done")
}

// sumKernel: the first pass of the 16-lane seed kernel, the row sum S in two
// float64 accumulators of 8 lanes; beside it the least and the largest p,
// which tell seedRowFast16 when every p/S lies inside its clip range (no
// masks pass) and serve as the check of p (seedSumsInRange), as
// sumKernel8's do.
func sumKernel() {
	TEXT("SeedSumF32", NOSPLIT, "func(p []float32) (sum float64, minp, maxp float32)")
	Pragma("noescape")
	Doc("SeedSumF32 returns the sum of p, its 16-lane vectors widened and",
		"added to two float64 accumulators (lanes 0-7 and 8-15), which are then",
		"added lane by lane and the 8 results in order; and bounds of p,",
		"NaN left out: minp is the least of 1 and every p, maxp the largest of",
		"0 and every p (the loop `minp, maxp = min(minp, x), max(maxp, x)`",
		"from 1 and 0, skipping NaN).")
	p := Load(Param("p").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	lo, hi, mn, mx := ZMM(), ZMM(), ZMM(), ZMM()
	VPXORD(lo, lo, lo)
	VPXORD(hi, hi, hi)
	VPXORD(mx, mx, mx)
	VBROADCASTSS(f32("one32", 1), mn)
	loopVectors("SeedSumF32", n, func(prefix string, tail reg.Register) {
		v := load(Mem{Base: p}, tail)
		// VMINPS and VMAXPS return their second source (Intel order: the
		// accumulator here) where either is NaN, so a NaN v is skipped.
		// The lanes a tail leaves out hold 0, which the max already has;
		// the min leaves them as they were (merge masking).
		if tail != nil {
			VMINPS(mn, v, tail, mn)
		} else {
			VMINPS(mn, v, mn)
		}
		VMAXPS(mx, v, mx)
		w := ZMM()
		VCVTPS2PD(v.AsY(), w)
		VADDPD(w, lo, lo)
		upper := YMM()
		VEXTRACTF32X8(Imm(1), v, upper)
		VCVTPS2PD(upper, w)
		VADDPD(w, hi, hi)
	}, func() { ADDQ(Imm(64), p) })
	// The 8 lanes of lo + hi, added in lane order.
	VADDPD(hi, lo, lo)
	lanes := AllocLocal(64)
	VMOVUPD(lo, lanes)
	sum := XMM()
	VMOVSD(lanes, sum)
	for j := 1; j < 8; j++ {
		VADDSD(lanes.Offset(8*j), sum, sum)
	}
	// The 16 lanes of mn and mx folded (no NaN in either).
	x, y := fold16(mn, VMINPS), fold16(mx, VMAXPS)
	// avo stores float results with legacy MOVSD and MOVSS: clean state
	// first (VZEROUPPER keeps the low 128 bits of every register).
	VZEROUPPER()
	Store(sum, ReturnIndex(0))
	Store(x, ReturnIndex(1))
	Store(y, ReturnIndex(2))
	RET()
}

// fold16 is fold8 over the 16 float32 lanes of a zmm register: its two
// halves, then fold8.
func fold16(v reg.VecVirtual, op func(...Op)) reg.VecVirtual {
	y := YMM()
	VEXTRACTF32X8(Imm(1), v, y)
	op(y, v.AsY(), y)
	return fold8(y, op)
}

// Offsets in the constants of SeedMasksF32 (float32 then float64).
const (
	mInvS     = 0
	mRatioLo  = 4
	mRatioHi  = 8
	mBandLoLo = 12
	mBandLoHi = 16
	mBandHiLo = 20
	mBandHiHi = 24
	mSum64    = 32
	mLo64     = 40
	mHi64     = 48
)

// masksKernel: the second pass of seedRowFast16; with lowOnly, for
// rows where no p/S reaches the band of the upper bound, so that only the
// lower bound decides.
func masksKernel(lowOnly bool) {
	name := "SeedMasksF32"
	if lowOnly {
		name = "SeedMasksLowF32"
	}
	TEXT(name, NOSPLIT, "func(p []float32, masks []uint16, k *[14]uint32) (inside, above int)")
	Pragma("noescape")
	Doc(name+" writes into masks, one uint16 per 16 lanes of p, the",
		"lanes whose p/S lies in [ratioLo, ratioHi], and returns how many do and",
		"how many lie above that range: the second pass of seedRowFast16,",
		"with the same operations. k holds float32 1/S, ratioLo, ratioHi and the",
		"four band bounds, then (at byte 32) float64 S, ratioLo and ratioHi.")
	if lowOnly {
		Doc("For rows whose largest p times 1/S lies below the band of ratioHi:",
			"there p/S <= ratioHi everywhere, and none lies above.")
	}
	p := Load(Param("p").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	m := Load(Param("masks").Base(), GP64())
	k := Load(Param("k"), GP64())
	inside, above := GP64(), GP64()
	XORQ(inside, inside)
	XORQ(above, above)
	loopVectors(name, n, func(prefix string, tail reg.Register) {
		v := load(Mem{Base: p}, tail)
		q := ZMM()
		VMULPS_BCST(Mem{Base: k, Disp: mInvS}, v, q)
		in := K()
		VCMPPS_BCST(Imm(cmpGE), Mem{Base: k, Disp: mRatioLo}, q, in)
		if !lowOnly {
			VCMPPS_BCST(Imm(cmpLE), Mem{Base: k, Disp: mRatioHi}, q, in, in)
		}
		// Within bandRel of a bound, p/S decides in float64.
		near1 := K()
		VCMPPS_BCST(Imm(cmpGT), Mem{Base: k, Disp: mBandLoLo}, q, near1)
		VCMPPS_BCST(Imm(cmpLT), Mem{Base: k, Disp: mBandLoHi}, q, near1, near1)
		if lowOnly {
			KORTESTW(near1, near1)
		} else {
			near2 := K()
			VCMPPS_BCST(Imm(cmpGT), Mem{Base: k, Disp: mBandHiLo}, q, near2)
			VCMPPS_BCST(Imm(cmpLT), Mem{Base: k, Disp: mBandHiHi}, q, near2, near2)
			KORTESTW(near1, near2)
		}
		JZ(LabelRef(prefix + "_decided"))
		inLo, inHi := K(), K()
		for half, kin := range []reg.Register{inLo, inHi} {
			x := YMM()
			if half == 0 {
				VMOVAPS(v.AsY(), x)
			} else {
				VEXTRACTF32X8(Imm(1), v, x)
			}
			d := ZMM()
			VCVTPS2PD(x, d)
			VDIVPD_BCST(Mem{Base: k, Disp: mSum64}, d, d)
			VCMPPD_BCST(Imm(cmpGE), Mem{Base: k, Disp: mLo64}, d, kin)
			VCMPPD_BCST(Imm(cmpLE), Mem{Base: k, Disp: mHi64}, d, kin, kin)
		}
		KUNPCKBW(inLo, inHi, in)
		Label(prefix + "_decided")
		bits, cnt := GP32(), GP32()
		if !lowOnly {
			// A lane outside the range lies above it where p/S > 1/2.
			up := K()
			VCMPPS_BCST(Imm(cmpGT), f32("half", 0.5), q, up)
			KANDNW(up, in, up)
			KMOVW(up, bits)
			POPCNTL(bits, cnt)
			ADDQ(cnt.As64(), above)
		}
		KMOVW(in, bits)
		MOVW(bits.As16(), Mem{Base: m})
		POPCNTL(bits, cnt)
		ADDQ(cnt.As64(), inside)
	}, func() {
		ADDQ(Imm(64), p)
		ADDQ(Imm(2), m)
	})
	Store(inside, ReturnIndex(0))
	Store(above, ReturnIndex(1))
	VZEROUPPER()
	RET()
}

// logKernel: the log of the float32 kernels (logUnit) over a slice, for
// the exhaustive test of its accuracy (TestAsmLogF32).
func logKernel() {
	TEXT("LogF32", NOSPLIT, "func(x, out []float32)")
	Pragma("noescape")
	Doc("LogF32 writes log(x) into out, for x positive and normal, with",
		"the instructions of the float32 assembly kernels; len(x) is a",
		"multiple of 16 and len(out) at least len(x).")
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	out := Load(Param("out").Base(), GP64())
	SHRQ(Imm(4), n)
	JZ(LabelRef("LogF32_done"))
	Label("LogF32_loop")
	v := ZMM()
	VMOVUPS(Mem{Base: x}, v)
	l := logUnit(v)
	VMOVUPS(l, Mem{Base: out})
	ADDQ(Imm(64), x)
	ADDQ(Imm(64), out)
	DECQ(n)
	JNZ(LabelRef("LogF32_loop"))
	Label("LogF32_done")
	VZEROUPPER()
	RET()
}

// logUnit returns log(v) for v positive and normal: Cephes' logf
// polynomial on the split x = 2^k * (1 + f).
func logUnit(v reg.VecVirtual) reg.VecVirtual {
	u := ZMM()
	VPADDD_BCST(u32("log32shift", log32Shift), v, u)
	kf := ZMM()
	VPSRLD(Imm(23), u, kf)
	VCVTDQ2PS(kf, kf)
	VSUBPS_BCST(f32("f127", 127), kf, kf)
	f := u
	VPANDD_BCST(u32("mant32mask", mant32Mask), u, f)
	VPADDD_BCST(u32("log32base", log32Base), f, f)
	VSUBPS_BCST(f32("one", 1), f, f)
	z := ZMM()
	VMULPS(f, f, z)
	poly := ZMM()
	VBROADCASTSS(f32("logc0", logCoefs[0]), poly)
	for i, c := range logCoefs[1:] {
		VFMADD213PS_BCST(f32(logCoefName(i+1), c), f, poly)
	}
	VMULPS(f, poly, poly)
	VMULPS(z, poly, poly)
	VFMADD231PS_BCST(f32("ln2lo", log32Ln2Lo), kf, poly)
	VFMADD231PS_BCST(f32("minushalf", -0.5), z, poly)
	VADDPS(poly, f, f)
	VFMADD231PS_BCST(f32("ln2hi", log32Ln2Hi), kf, f)
	return f
}
