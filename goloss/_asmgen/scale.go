package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// scaleKernels: x[i] = c * x[i] in place, float32 and float64, at the
// width of w (ymm on AVX2, zmm on AVX-512), for goloss's scaleGrad.
func scaleKernels(w *vec) {
	for _, f64 := range []bool{false, true} {
		scaleKernel(w, f64)
	}
}

// scaleKernel writes ScaleF32 or ScaleF64: 4 vectors per iteration, then
// single vectors, then the last len(x) mod lanes under a mask (AVX2: a
// vector mask from lanes8 or lanes4 for VMASKMOVPS/PD; AVX-512: a mask
// register of the low rem bits). One VMULPS/PD per lane, no FMA.
func scaleKernel(w *vec, f64 bool) {
	name, elem, size := "ScaleF32", "float32", 4
	if f64 {
		name, elem, size = "ScaleF64", "float64", 8
	}
	bytes := w.bytes()
	lanes := bytes / size
	shift := uint64(2) // log2(lanes) for 4, 8 or 16 lanes
	for 1<<shift < lanes {
		shift++
	}
	const unroll = 4
	V, tailHow := YMM, "with VMASKMOVP"+map[bool]string{false: "S", true: "D"}[f64]+" (a vector mask of those lanes)"
	if w.avx512 {
		V, tailHow = ZMM, "with a masked load and store (a mask register of those lanes)"
	}
	mul, store := VMULPS, VMOVUPS
	if f64 {
		mul, store = VMULPD, VMOVUPD
	}
	TEXT(name, NOSPLIT, "func(x []"+elem+", c "+elem+")")
	Pragma("noescape")
	Doc(name+" multiplies every x[i] by c in place, as the loop",
		"`for i := range x { x[i] = c * x[i] }` does, bit for bit (one IEEE multiply",
		fmt.Sprintf("each, no FMA): %d vectors of %d bytes at a time, then one vector, then", unroll, bytes),
		fmt.Sprintf("the last len(x) mod %d %s.", lanes, tailHow))
	p := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	arg, err := Param("c").Resolve()
	if err != nil {
		panic(err)
	}
	cv := V()
	if f64 {
		VBROADCASTSD(arg.Addr, cv) // VEX/EVEX: Load would use legacy MOVSD
	} else {
		VBROADCASTSS(arg.Addr, cv)
	}

	blocks := GP64()
	MOVQ(n, blocks)
	SHRQ(Imm(shift+2), blocks)
	JZ(LabelRef(name + "_vectors"))
	Label(name + "_loop4")
	var v [unroll]reg.VecVirtual
	for i := range unroll {
		v[i] = V()
		mul(Mem{Base: p, Disp: bytes * i}, cv, v[i])
	}
	for i := range unroll {
		store(v[i], Mem{Base: p, Disp: bytes * i})
	}
	ADDQ(U32(bytes*unroll), p)
	DECQ(blocks)
	JNZ(LabelRef(name + "_loop4"))

	Label(name + "_vectors")
	vectors := GP64()
	MOVQ(n, vectors)
	SHRQ(Imm(shift), vectors)
	ANDQ(Imm(unroll-1), vectors)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_loop")
	x := V()
	mul(Mem{Base: p}, cv, x)
	store(x, Mem{Base: p})
	ADDQ(Imm(uint64(bytes)), p)
	DECQ(vectors)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_tail")
	ANDQ(Imm(uint64(lanes-1)), n)
	JZ(LabelRef(name + "_done"))
	t := V()
	if w.avx512 {
		m := w.tailMask(n) // a bit per lane, float32 or float64
		if f64 {
			VMOVUPD_Z(Mem{Base: p}, m, t)
		} else {
			VMOVUPS_Z(Mem{Base: p}, m, t)
		}
		mul(cv, t, t)
		store(t, m, Mem{Base: p})
	} else {
		xr := XMM()
		VMOVQ(n, xr) // VEX: a legacy MOVQ here costs an SSE/AVX transition
		m := YMM()
		if f64 {
			VPBROADCASTQ(xr, m)
			VPCMPGTQ(lanes4(), m, m) // rem > lane
			VMASKMOVPD(Mem{Base: p}, m, t)
			mul(cv, t, t)
			VMASKMOVPD(t, m, Mem{Base: p})
		} else {
			VPBROADCASTD(xr, m)
			VPCMPGTD(lanes8(), m, m)
			VMASKMOVPS(Mem{Base: p}, m, t)
			mul(cv, t, t)
			VMASKMOVPS(t, m, Mem{Base: p})
		}
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
