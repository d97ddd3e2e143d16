package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// vec is one vector ISA as the kernels written once for both widths see
// it (asym_f32.go, with vec_math.go and vec_rows.go): float32 lanes in ymm
// registers with vector masks (AVX2, w8), or in zmm registers with mask
// registers (AVX-512 F and DQ, w16). A kernel is a description in terms of
// these methods and of the instructions whose form is the same at both
// widths (VADDPS, VFMADD231PS, VPADDD, VBROADCASTSS, ...: avo picks the
// encoding from the registers); each method emits one operation in its
// ISA's form. The AVX2 forms are the instructions the 8-lane kernels were
// first written with, in the same order and with the same registers
// allocated, so that one description gives the AVX2 file byte for byte
// (make check-asm holds it) and its 16-lane AVX-512 counterpart.
//
// A mask is a reg.Register: a ymm register with all ones in the lanes
// where it holds (AVX2) or a mask register (AVX-512). Where an AVX2 kernel
// computes a mask into a register it reuses, maskIn gives that register on
// AVX2 and a fresh mask register on AVX-512.
type vec struct {
	lanes  int // float32 lanes per vector
	avx512 bool
}

var (
	w8  = &vec{lanes: 8}
	w16 = &vec{lanes: 16, avx512: true}
)

// bytes is the size of one vector.
func (w *vec) bytes() int { return 4 * w.lanes }

// V allocates a vector register.
func (w *vec) V() reg.VecVirtual {
	if w.avx512 {
		return ZMM()
	}
	return YMM()
}

// M allocates a mask: a vector register on AVX2, a mask register on
// AVX-512.
func (w *vec) M() reg.Register {
	if w.avx512 {
		return K()
	}
	return YMM()
}

// maskIn returns v to hold a mask on AVX2 (v is free by then) and a new
// mask register on AVX-512.
func (w *vec) maskIn(v reg.VecVirtual) reg.Register {
	if w.avx512 {
		return K()
	}
	return v
}

// vecOf returns the vector register that holds the mask m on AVX2, to be
// reused for a vector, and nil (allocate one) on AVX-512.
func (w *vec) vecOf(m reg.Register) reg.VecVirtual {
	if w.avx512 {
		return nil
	}
	return m.(reg.VecVirtual)
}

// c returns a constant vector holding bits in each lane, declared once
// per name (the AVX2 ones are v8's).
func (w *vec) c(name string, bits uint32) Mem {
	if !w.avx512 {
		return v8(name, bits)
	}
	key := name + "/16"
	if m, ok := vconsts[key]; ok {
		return m
	}
	m := GLOBL(name+"16", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(bits))
	}
	vconsts[key] = m
	return m
}

func (w *vec) cf(name string, v float32) Mem { return w.c(name, math.Float32bits(v)) }

// zero sets v to 0.
func (w *vec) zero(v reg.VecVirtual) {
	if w.avx512 {
		VPXORD(v, v, v)
	} else {
		VXORPS(v, v, v)
	}
}

// load loads a vector from addr; with a tail mask only its lanes, the
// others 0.
func (w *vec) load(addr Mem, tail reg.Register) reg.VecVirtual {
	v := w.V()
	switch {
	case tail == nil:
		VMOVUPS(addr, v)
	case w.avx512:
		VMOVUPS_Z(addr, tail, v)
	default:
		VMASKMOVPS(addr, tail, v)
	}
	return v
}

// store stores v at addr; with a tail mask only its lanes.
func (w *vec) store(v reg.VecVirtual, addr Mem, tail reg.Register) {
	switch {
	case tail == nil:
		VMOVUPS(v, addr)
	case w.avx512:
		VMOVUPS(v, tail, addr)
	default:
		VMASKMOVPS(v, tail, addr)
	}
}

// cmpTo sets the mask m to the lanes where b pred a holds (VCMPPS's
// operand order: VCMPPS(pred, a, b, m)).
func (w *vec) cmpTo(pred uint64, a Op, b reg.VecVirtual, m reg.Register) {
	VCMPPS(Imm(pred), a, b, m)
}

// and sets the mask m to m and a.
func (w *vec) and(a, m reg.Register) {
	if w.avx512 {
		KANDW(a, m, m)
	} else {
		VANDPS(a, m, m)
	}
}

// or sets the mask m to m or a.
func (w *vec) or(a, m reg.Register) {
	if w.avx512 {
		KORW(a, m, m)
	} else {
		VORPS(a, m, m)
	}
}

// andNot sets the mask m to m and not a.
func (w *vec) andNot(m, a reg.Register) {
	if w.avx512 {
		KANDNW(m, a, m)
	} else {
		VANDNPS(m, a, m)
	}
}

// blendTo sets d to m ? a : b lane by lane; a may be in memory.
func (w *vec) blendTo(m reg.Register, a Op, b, d reg.VecVirtual) {
	if w.avx512 {
		VBLENDMPS(a, b, m, d)
	} else {
		VBLENDVPS(m, a, b, d)
	}
}

// blend returns m ? a : b in a new register.
func (w *vec) blend(m reg.Register, a Op, b reg.VecVirtual) reg.VecVirtual {
	d := w.V()
	w.blendTo(m, a, b, d)
	return d
}

// zeroUnless clears the lanes of v outside the mask m.
func (w *vec) zeroUnless(m reg.Register, v reg.VecVirtual) {
	if w.avx512 {
		VMOVAPS_Z(v, m, v)
	} else {
		VANDPS(m, v, v)
	}
}

// zeroUnlessSpilled is zeroUnless with the mask in its stack slot
// (spillMask).
func (w *vec) zeroUnlessSpilled(slot Mem, v reg.VecVirtual) {
	if w.avx512 {
		m := K()
		KMOVW(slot, m)
		VMOVAPS_Z(v, m, v)
	} else {
		VANDPS(slot, v, v)
	}
}

// zeroWhere clears the lanes of v inside the mask m.
func (w *vec) zeroWhere(m reg.Register, v reg.VecVirtual) {
	if w.avx512 {
		n := K()
		KNOTW(m, n)
		VMOVAPS_Z(v, n, v)
	} else {
		VANDNPS(v, m, v)
	}
}

// maskedTo returns m ? a : 0 in d, or in a new register where d is nil;
// a may be in memory.
func (w *vec) maskedTo(m reg.Register, a Op, d reg.VecVirtual) reg.VecVirtual {
	if d == nil {
		d = w.V()
	}
	if w.avx512 {
		VMOVUPS_Z(a, m, d)
	} else {
		VANDPS(a, m, d)
	}
	return d
}

// maskBytes is the size of a mask's stack slot: a vector on AVX2, 16 bits
// (in 8 bytes) on AVX-512.
func (w *vec) maskBytes() int {
	if w.avx512 {
		return 8
	}
	return w.bytes()
}

// spillMask stores the mask m in slot (maskBytes) and reloadMask loads it
// back.
func (w *vec) spillMask(m reg.Register, slot Mem) {
	if w.avx512 {
		KMOVW(m, slot)
	} else {
		VMOVUPS(m, slot)
	}
}

func (w *vec) reloadMask(slot Mem) reg.Register {
	m := w.M()
	if w.avx512 {
		KMOVW(slot, m)
	} else {
		VMOVUPS(slot, m)
	}
	return m
}

// hold keeps v across code that needs many registers: on AVX2 in slot,
// which it returns as the operand that reads v back, on AVX-512 (32
// registers) in its register, which it returns. holdMask and heldMask do
// that for a mask: heldMask returns the mask reloaded from slot on AVX2,
// m itself on AVX-512.
func (w *vec) hold(v reg.VecVirtual, slot Mem) Op {
	if w.avx512 {
		return v
	}
	VMOVUPS(v, slot)
	return slot
}

func (w *vec) holdMask(m reg.Register, slot Mem) {
	if !w.avx512 {
		w.spillMask(m, slot)
	}
}

func (w *vec) heldMask(m reg.Register, slot Mem) reg.Register {
	if w.avx512 {
		return m
	}
	return w.reloadMask(slot)
}

// jumpIfAny jumps to label where the mask m holds in some lane,
// jumpIfNone where it holds in none, jumpIfAll where it holds in every
// lane.
func (w *vec) jumpIfAny(m reg.Register, label string) {
	w.testMask(m)
	JNZ(LabelRef(label))
}

func (w *vec) jumpIfNone(m reg.Register, label string) {
	w.testMask(m)
	JZ(LabelRef(label))
}

func (w *vec) jumpIfAll(m reg.Register, label string) {
	if w.avx512 {
		KORTESTW(m, m) // CF: every bit set
		JCS(LabelRef(label))
		return
	}
	b := GP32()
	VMOVMSKPS(m, b)
	CMPL(b, U32(0xff))
	JEQ(LabelRef(label))
}

// jumpIfNotAll jumps to label where the mask m does not hold in every
// lane.
func (w *vec) jumpIfNotAll(m reg.Register, label string) {
	if w.avx512 {
		KORTESTW(m, m)
		JCC(LabelRef(label))
		return
	}
	b := GP32()
	VMOVMSKPS(m, b)
	CMPL(b, U8(0xff))
	JNE(LabelRef(label))
}

// jumpIfInf jumps to label where a lane of v is infinite.
func (w *vec) jumpIfInf(v reg.VecVirtual, label string) {
	tmp := w.V()
	w.bitAnd(w.c("absmask", 0x7fffffff), v, tmp)
	inf := w.maskIn(tmp)
	w.cmpTo(0, w.c("inf", 0x7f800000), tmp, inf) // == +Inf
	w.jumpIfAny(inf, label)
}

// maskBits returns the bits of the mask m, one per lane, in a general
// register.
func (w *vec) maskBits(m reg.Register) reg.GPVirtual {
	b := GP32()
	if w.avx512 {
		KMOVW(m, b)
	} else {
		VMOVMSKPS(m, b)
	}
	return b
}

// tailMask returns the mask of the first rem lanes (0 < rem < lanes): all
// ones in those float32 lanes of a vector register (AVX2, for VMASKMOVPS),
// a mask register with a bit per lane (AVX-512, float32 or float64 lanes).
func (w *vec) tailMask(rem reg.Register) reg.Register {
	if w.avx512 {
		bits := GP64()
		MOVQ(U32(1), bits)
		SHLXQ(rem, bits, bits)
		DECQ(bits)
		tail := K()
		KMOVW(bits.As32(), tail)
		return tail
	}
	x := XMM()
	VMOVQ(rem, x) // VEX: a legacy MOVQ here costs an SSE/AVX transition
	tail := YMM()
	VPBROADCASTD(x, tail)
	VPCMPGTD(lanes8(), tail, tail) // rem > lane
	return tail
}

func (w *vec) testMask(m reg.Register) {
	if w.avx512 {
		KORTESTW(m, m)
		return
	}
	b := GP32()
	VMOVMSKPS(m, b)
	TESTL(b, b)
}

// jumpIfAnySign jumps to label where a lane of v has its sign bit set.
func (w *vec) jumpIfAnySign(v reg.VecVirtual, label string) {
	if w.avx512 {
		m := K()
		VPMOVD2M(v, m)
		w.jumpIfAny(m, label)
		return
	}
	w.jumpIfAny(v, label)
}

// bitOr, bitAnd and intAnd are the bitwise or and and of vectors (AVX2:
// the float forms VORPS, VANDPS and the integer VPAND; AVX-512: VPORD
// and VPANDD).
func (w *vec) bitOr(a Op, b, d reg.VecVirtual) {
	if w.avx512 {
		VPORD(a, b, d)
	} else {
		VORPS(a, b, d)
	}
}

func (w *vec) bitAnd(a Op, b, d reg.VecVirtual) {
	if w.avx512 {
		VPANDD(a, b, d)
	} else {
		VANDPS(a, b, d)
	}
}

func (w *vec) intAnd(a Op, b, d reg.VecVirtual) {
	if w.avx512 {
		VPANDD(a, b, d)
	} else {
		VPAND(a, b, d)
	}
}

// zeroInt sets v to 0 with the integer instruction (VPXOR, VPXORD).
func (w *vec) zeroInt(v reg.VecVirtual) {
	if w.avx512 {
		VPXORD(v, v, v)
	} else {
		VPXOR(v, v, v)
	}
}

// intOr is the bitwise or of vectors with the integer instruction (VPOR,
// VPORD).
func (w *vec) intOr(a Op, b, d reg.VecVirtual) {
	if w.avx512 {
		VPORD(a, b, d)
	} else {
		VPOR(a, b, d)
	}
}

// zeroUnlessInt is zeroUnless with the integer instruction on AVX2 (VPAND).
func (w *vec) zeroUnlessInt(m reg.Register, v reg.VecVirtual) {
	if w.avx512 {
		VMOVDQU32_Z(v, m, v)
	} else {
		VPAND(m, v, v)
	}
}

// bitsMask returns the mask of the lanes whose bit is set at addr: one
// byte per 8 lanes (AVX2: the bits spread over the lanes by bits8), one
// uint16 per 16 (AVX-512: the mask register loaded).
func (w *vec) bitsMask(addr Mem) reg.Register {
	if w.avx512 {
		m := K()
		KMOVW(addr, m)
		return m
	}
	mb := GP32()
	MOVBLZX(addr, mb)
	mx := XMM()
	VMOVQ(mb.As64(), mx)
	in := YMM()
	VPBROADCASTD(mx, in)
	VPAND(bits8(), in, in)
	VPCMPEQD(bits8(), in, in)
	return in
}

// lowHalf returns the lower half of v (xmm of a ymm, ymm of a zmm), and
// highHalf the upper one, extracted into a new register (float or, with
// integer, the integer instruction).
func (w *vec) lowHalf(v reg.VecVirtual) reg.Register {
	if w.avx512 {
		return v.AsY()
	}
	return v.AsX()
}

func (w *vec) highHalf(v reg.VecVirtual, integer bool) reg.Register {
	switch {
	case w.avx512 && integer:
		h := YMM()
		VEXTRACTI64X4(Imm(1), v, h)
		return h
	case w.avx512:
		h := YMM()
		VEXTRACTF64X4(Imm(1), v, h)
		return h
	case integer:
		h := XMM()
		VEXTRACTI128(Imm(1), v, h)
		return h
	default:
		h := XMM()
		VEXTRACTF128(Imm(1), v, h)
		return h
	}
}

// roundEven rounds the lanes of a to integers, to nearest with ties to
// even, into d.
func (w *vec) roundEven(a, d reg.VecVirtual) {
	if w.avx512 {
		VRNDSCALEPS(Imm(0), a, d)
	} else {
		VROUNDPS(Imm(0), a, d)
	}
}
