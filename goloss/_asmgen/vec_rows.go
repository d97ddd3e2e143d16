package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The frame the float32 row kernels share at either width (binary,
// asymmetric; the seed's main pass, seed_f32.go, has loops of its own and
// shares the sums): one loop over the row per power kind, the terms summed
// in float32 lanes and flushed into float64 lanes every sumBlock vectors,
// and the return (with a bail-out to the caller's portable row).

// loop emits a loop over the n/lanes full vectors of a row, then the last
// n%lanes elements with a tail mask of those lanes (AVX2: all ones where
// loaded, for VMASKMOVPS; AVX-512: a mask register); body gets that mask,
// nil for full vectors, and step advances the pointers by a vector.
func (w *vec) loop(name string, n reg.Register, body func(prefix string, tail reg.Register), step func()) {
	if w.avx512 {
		loopVectors(name, n, body, step)
		return
	}
	loopLanes(name, n, 8, func(prefix string, tail reg.VecVirtual) { body(prefix, tail) }, step)
}

// powLoops emits, for each of kinds, a loop over the row's n elements,
// entered at the label name_kind (the first kind's loop is where the code
// before it falls through to), each followed by a jump to name_done, and
// then the label name_done. begin(kind) sets the kernel up for a kind's
// loop and returns its offset register, which advances a vector's bytes
// each vector, the loop body, and next (nil or what else advances per
// vector). flush adds the float32 lane sums into the float64 ones.
func (w *vec) powLoops(name string, kinds []string, n reg.Register, begin func(kind string) (off reg.Register, body func(string, reg.Register), next func()), flush func()) {
	blk := GP64()
	for i, kind := range kinds {
		if i > 0 {
			Label(name + "_" + kind)
		}
		off, body, next := begin(kind)
		MOVQ(U32(sumBlock), blk)
		w.loop(name+"_"+kind, n, body, func() {
			ADDQ(Imm(uint64(w.bytes())), off)
			if next != nil {
				next()
			}
			DECQ(blk)
			JNZ(LabelRef(name + "_" + kind + "_inblock"))
			flush()
			MOVQ(U32(sumBlock), blk)
			Label(name + "_" + kind + "_inblock")
		})
		JMP(LabelRef(name + "_done"))
	}
	Label(name + "_done")
}

// powKindJumps emits the jumps to the loops of powLoops' kinds powN,
// pow2, pow0 and powR: to name_powR where real is set (a non-integer
// gamma), to name_pow2 for the integer gamma nPow = 2, to name_pow0 for 0,
// and on to the powN loop, which follows, for the others.
func powKindJumps(name string, real, nPow reg.Register) {
	TESTL(real, real)
	JNZ(LabelRef(name + "_powR"))
	CMPQ(nPow, Imm(2))
	JEQ(LabelRef(name + "_pow2"))
	TESTQ(nPow, nPow)
	JEQ(LabelRef(name + "_pow0"))
}

// flushLanes adds the float32 lanes of v into the float64 lanes at acc
// (lanes/2 per vector, two vectors) and zeroes v.
func (w *vec) flushLanes(v reg.VecVirtual, acc Mem) {
	half := w.bytes()
	lo := w.V()
	if w.avx512 {
		VCVTPS2PD(v.AsY(), lo)
	} else {
		VCVTPS2PD(v.AsX(), lo)
	}
	VADDPD(acc, lo, lo)
	VMOVUPD(lo, acc)
	var upper reg.VecVirtual
	if w.avx512 {
		upper = YMM()
		VEXTRACTF64X4(Imm(1), v, upper)
	} else {
		upper = XMM()
		VEXTRACTF128(Imm(1), v, upper)
	}
	hi := w.V()
	VCVTPS2PD(upper, hi)
	VADDPD(acc.Offset(half), hi, hi)
	VMOVUPD(hi, acc.Offset(half))
	w.zero(v)
}

// storeSums copies vectors float64 vectors from acc to the memory at
// accp.
func (w *vec) storeSums(acc Mem, accp reg.Register, vectors int) {
	for i := 0; i < vectors; i++ {
		v := w.V()
		VMOVUPD(acc.Offset(w.bytes()*i), v)
		VMOVUPD(v, Mem{Base: accp, Disp: w.bytes() * i})
	}
}

// returnOrBail ends a row kernel whose result is bail bool: false here,
// and true from the label bail, where the kernel jumps for a row it leaves
// to the portable one. Both clear the upper halves before returning.
func returnOrBail(bail string) {
	ok := GP8()
	MOVB(U8(0), ok)
	Store(ok, ReturnIndex(0))
	VZEROUPPER()
	RET()
	Label(bail)
	stop := GP8()
	MOVB(U8(1), stop)
	Store(stop, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
