package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The frame the 8-lane float32 row kernels share (seed, binary,
// asymmetric): one loop over the row per power kind, the terms summed in
// float32 lanes and flushed into float64 lanes every sumBlock vectors, and
// the return (with a bail-out to the caller's portable row).

// powLoops8 emits, for each of kinds, a loop over the row's n elements,
// entered at the label name_kind (the first kind's loop is where the code
// before it falls through to), each followed by a jump to name_done, and
// then the label name_done. begin(kind) sets the kernel up for a kind's
// loop and returns its offset register, which advances 32 bytes a vector,
// the loop body, and next (nil or what else advances per vector). flush
// adds the float32 lane sums into the float64 ones.
func powLoops8(name string, kinds []string, n reg.Register, begin func(kind string) (off reg.Register, body func(string, reg.VecVirtual), next func()), flush func()) {
	blk := GP64()
	for i, kind := range kinds {
		if i > 0 {
			Label(name + "_" + kind)
		}
		off, body, next := begin(kind)
		MOVQ(U32(sumBlock), blk)
		loopVectors8(name+"_"+kind, n, body, func() {
			ADDQ(Imm(32), off)
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

// flushLanes8 adds the 8 float32 lanes of v into the 8 float64 lanes at acc
// and zeroes v.
func flushLanes8(v reg.VecVirtual, acc Mem) {
	lo := YMM()
	VCVTPS2PD(v.AsX(), lo)
	VADDPD(acc, lo, lo)
	VMOVUPD(lo, acc)
	upper := XMM()
	VEXTRACTF128(Imm(1), v, upper)
	hi := YMM()
	VCVTPS2PD(upper, hi)
	VADDPD(acc.Offset(32), hi, hi)
	VMOVUPD(hi, acc.Offset(32))
	VXORPS(v, v, v)
}

// storeSums copies vectors 4-lane float64 vectors from acc to the memory
// at accp.
func storeSums(acc Mem, accp reg.Register, vectors int) {
	for i := 0; i < vectors; i++ {
		v := YMM()
		VMOVUPD(acc.Offset(32*i), v)
		VMOVUPD(v, Mem{Base: accp, Disp: 32 * i})
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
