package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// logKernel8: the float32 log of the AVX2 kernels (logUnit8) over a slice,
// for the exhaustive test of its accuracy.
func logKernel8() {
	TEXT("LogF32", NOSPLIT, "func(x, out []float32)")
	Pragma("noescape")
	Doc("LogF32 writes log(x) into out, for x positive and normal, with the",
		"instructions of the AVX2 float32 kernels (the log of SeedMainGradF32);",
		"len(x) is a multiple of 8 and len(out) at least len(x). Tested against",
		"math.Log rounded to float32 over every float32 in [1e-8, 1].")
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	out := Load(Param("out").Base(), GP64())
	SHRQ(Imm(3), n)
	JZ(LabelRef("LogF32_done"))
	Label("LogF32_loop")
	v := YMM()
	VMOVUPS(Mem{Base: x}, v)
	l := logUnit8(v)
	VMOVUPS(l, Mem{Base: out})
	ADDQ(Imm(32), x)
	ADDQ(Imm(32), out)
	DECQ(n)
	JNZ(LabelRef("LogF32_loop"))
	Label("LogF32_done")
	VZEROUPPER()
	RET()
}

// unitRangeKernels8: the quick check of the probabilities, float32 and
// float64: is every value in [0, 1] or NaN? (The reference is the loop
// of goloss.checkProbabilities, which names the first offending value.)
func unitRangeKernels8() {
	for _, f64 := range []bool{false, true} {
		name, sig, lanes, shift := "UnitRangeF32", "func(s []float32) (ok bool)", 8, 3
		if f64 {
			name, sig, lanes, shift = "UnitRangeF64", "func(s []float64) (ok bool)", 4, 2
		}
		TEXT(name, NOSPLIT, sig)
		Pragma("noescape")
		Doc(name+" reports whether every value of s lies in [0, 1] or is NaN,",
			"as the loop `for _, v := range s { if v < 0 || v > 1 { return false } }`",
			"does; it reads 32 bytes at a time and the last len(s) mod "+map[bool]string{false: "8", true: "4"}[f64]+" one by one.")
		p := Load(Param("s").Base(), GP64())
		n := Load(Param("s").Len(), GP64())
		zero, one, bad := YMM(), YMM(), YMM()
		VXORPS(zero, zero, zero)
		VXORPS(bad, bad, bad)
		if f64 {
			VBROADCASTSD(ConstData("one64", U64(math.Float64bits(1))), one) // avo prints F64(1) as the integer 1
		} else {
			VBROADCASTSS(f32("one32", 1), one)
		}
		full := GP64()
		MOVQ(n, full)
		SHRQ(Imm(uint64(shift)), full)
		JZ(LabelRef(name + "_tail"))
		Label(name + "_loop")
		v, lt, gt := YMM(), YMM(), YMM()
		if f64 {
			VMOVUPD(Mem{Base: p}, v)
			VCMPPD(Imm(cmpLT), zero, v, lt)
			VCMPPD(Imm(cmpGT), one, v, gt)
			VORPD(lt, bad, bad)
			VORPD(gt, bad, bad)
		} else {
			VMOVUPS(Mem{Base: p}, v)
			VCMPPS(Imm(cmpLT), zero, v, lt)
			VCMPPS(Imm(cmpGT), one, v, gt)
			VORPS(lt, bad, bad)
			VORPS(gt, bad, bad)
		}
		ADDQ(Imm(32), p)
		DECQ(full)
		JNZ(LabelRef(name + "_loop"))
		Label(name + "_tail")
		ANDQ(Imm(uint64(lanes-1)), n)
		JZ(LabelRef(name + "_done"))
		Label(name + "_scalar")
		x, l2, g2 := XMM(), XMM(), XMM()
		if f64 {
			VMOVSD(Mem{Base: p}, x)
			VCMPSD(Imm(cmpLT), zero.AsX(), x, l2)
			VCMPSD(Imm(cmpGT), one.AsX(), x, g2)
			VORPD(l2.AsY(), bad, bad)
			VORPD(g2.AsY(), bad, bad)
			ADDQ(Imm(8), p)
		} else {
			VMOVSS(Mem{Base: p}, x)
			VCMPSS(Imm(cmpLT), zero.AsX(), x, l2)
			VCMPSS(Imm(cmpGT), one.AsX(), x, g2)
			VORPS(l2.AsY(), bad, bad)
			VORPS(g2.AsY(), bad, bad)
			ADDQ(Imm(4), p)
		}
		DECQ(n)
		JNZ(LabelRef(name + "_scalar"))
		Label(name + "_done")
		bits := GP32()
		VMOVMSKPS(bad, bits)
		VZEROUPPER()
		ok := GP8()
		TESTL(bits, bits)
		SETEQ(ok)
		Store(ok, ReturnIndex(0))
		RET()
	}
}
