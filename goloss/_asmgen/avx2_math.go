package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The 4-lane float64 loops of the AVX2 kernels (the float32 ones are
// vec_rows.go's, at either width).

// VCMPPS predicates, unordered: true where a lane is NaN.
const (
	cmpNEQ = 0x04 // not equal
	cmpNGE = 0x19 // not greater or equal
)

// lanes4 is the constant vector 0, 1, 2, 3 (int64), for the tail masks of
// the float64 kernels.
func lanes4() Mem {
	if m, ok := vconsts["lanes4"]; ok {
		return m
	}
	m := GLOBL("lanes4", RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(uint64(i)))
	}
	vconsts["lanes4"] = m
	return m
}

// loopVectors4 is loopVectors8 for 4 float64 lanes: the tail gets a vector
// mask of its lanes (all ones in a loaded lane's 64 bits, for VMASKMOVPD).
func loopVectors4(name string, n reg.Register, body func(prefix string, tail reg.VecVirtual), step func()) {
	loopLanes(name, n, 4, body, step)
}

// loopLanes emits a loop over the n/lanes full ymm vectors of 8 float32 or
// 4 float64 lanes, then the last n%lanes with a vector mask of those lanes
// (all ones where loaded, for VMASKMOVPS/PD); body gets that mask, nil for
// full vectors, and step advances the pointers by a vector.
func loopLanes(name string, n reg.Register, lanes int, body func(prefix string, tail reg.VecVirtual), step func()) {
	shift := uint64(3)
	if lanes == 4 {
		shift = 2
	}
	full := GP64()
	MOVQ(n, full)
	SHRQ(Imm(shift), full)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_loop")
	body(name+"_full", nil)
	step()
	DECQ(full)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_tail")
	rem := GP64()
	MOVQ(n, rem)
	ANDQ(Imm(uint64(lanes-1)), rem)
	JZ(LabelRef(name + "_done"))
	x := XMM()
	VMOVQ(rem, x) // VEX: a legacy MOVQ here costs an SSE/AVX transition
	tail := YMM()
	if lanes == 4 {
		VPBROADCASTQ(x, tail)
		VPCMPGTQ(lanes4(), tail, tail) // rem > lane
	} else {
		VPBROADCASTD(x, tail)
		VPCMPGTD(lanes8(), tail, tail)
	}
	body(name+"_part", tail)
	Label(name + "_done")
}

// load4 loads 4 float64 lanes; with a tail mask only its lanes, the others 0.
func load4(addr Mem, tail reg.VecVirtual) reg.VecVirtual {
	y := YMM()
	if tail != nil {
		VMASKMOVPD(addr, tail, y)
	} else {
		VMOVUPD(addr, y)
	}
	return y
}

// store4 stores 4 float64 lanes; with a tail mask only its lanes.
func store4(v reg.VecVirtual, addr Mem, tail reg.VecVirtual) {
	if tail != nil {
		VMASKMOVPD(v, tail, addr)
	} else {
		VMOVUPD(v, addr)
	}
}
