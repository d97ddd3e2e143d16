package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The AVX2 float32 seed kernel's first passes (the row sum and the masks of
// p/S inside its clip range; the main pass is seed_f32.go's, for both
// widths), the 8-lane constants of every AVX2 float32 kernel, and the
// loop over 8-lane vectors: ymm registers, vector masks instead of mask
// registers, constants as 8-lane vectors in read-only data. The algorithm
// is the AVX-512 kernel's (seedRowFast16).

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

// sumKernel8: the first pass of the AVX2 float32 seed kernel, the row sum
// in two float64 accumulators of 4 lanes (0-3, 4-7), added lane by lane
// and the 4 results in order; beside it the least and the largest p, which
// tell seedRowFast8 when every p/S lies inside its clip range (no masks
// pass).
func sumKernel8() {
	TEXT("SeedSumF32", NOSPLIT, "func(p []float32) (sum float64, minp, maxp float32)")
	Pragma("noescape")
	Doc("SeedSumF32 returns the sum of p, its 8-lane vectors widened and",
		"added to two float64 accumulators (lanes 0-3 and 4-7), which are then",
		"added lane by lane and the 4 results in order; and bounds of p,",
		"NaN left out: minp is the least of 1 and every p, maxp the largest of",
		"0 and every p (the loop `minp, maxp = min(minp, x), max(maxp, x)`",
		"from 1 and 0, skipping NaN).")
	p := Load(Param("p").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	lo, hi := YMM(), YMM()
	VXORPD(lo, lo, lo)
	VXORPD(hi, hi, hi)
	one, mn, mx := YMM(), YMM(), YMM()
	VBROADCASTSS(f32("one32", 1), one)
	VMOVAPS(one, mn)
	VXORPS(mx, mx, mx)
	loopVectors8("SeedSumF32", n, func(prefix string, tail reg.VecVirtual) {
		v := w8.load(Mem{Base: p}, tail)
		// As in UnitRangeF32: a NaN v is the first source, so skipped;
		// the lanes a tail leaves out hold 0, which the max already has,
		// and take 1 for the min.
		vm := v
		if tail != nil {
			vm = YMM()
			VBLENDVPS(tail, v, one, vm)
		}
		VMINPS(mn, vm, mn)
		VMAXPS(mx, v, mx)
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
	// The 8 lanes of mn and mx folded (no NaN in either).
	x, y := fold8(mn, VMINPS), fold8(mx, VMAXPS)
	// avo stores a float result with legacy MOVSD/MOVSS: clean state
	// first (VZEROUPPER keeps the low 128 bits of every register).
	VZEROUPPER()
	Store(sum, ReturnIndex(0))
	Store(x, ReturnIndex(1))
	Store(y, ReturnIndex(2))
	RET()
}

// fold8 returns lane 0 of an xmm register holding op (VMINPS or VMAXPS)
// over the 8 float32 lanes of v, which hold no NaN (so the order of the
// operands is free): the two halves, then lanes 2, 3, 0, 1, then 1, 0, 3, 2.
func fold8(v reg.VecVirtual, op func(...Op)) reg.VecVirtual {
	x, t := XMM(), XMM()
	VEXTRACTF128(Imm(1), v, x)
	op(x, v.AsX(), x)
	VPERMILPS(Imm(0x4e), x, t)
	op(t, x, x)
	VPERMILPS(Imm(0xb1), x, t)
	op(t, x, x)
	return x
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
