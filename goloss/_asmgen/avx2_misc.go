package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// logKernel8: the float32 logs and the exp of the AVX2 kernels (w8.logUnit,
// logUnitLean, log1pUnit, exp; vec_math.go) over a slice, for the exhaustive tests
// of their accuracy.
func logKernel8() {
	for _, k := range []struct {
		name, what, which, test string
		fn                      func(reg.VecVirtual) reg.VecVirtual
	}{
		{"LogF32", "log(x), for x positive and normal,", "the log of SeedMainGradF32",
			"math.Log rounded to float32 over every float32 in [1e-8, 1]", w8.logUnit},
		{"LogLeanF32", "log(x), for x positive and normal,", "the asymmetric kernels' log of the shifted negatives",
			"math.Log rounded to float32 over every float32 in [1e-8, 1]", w8.logUnitLean},
		{"Log1pF32", "log1p(x), for x in [0, 1] or NaN,", "log1p(e^-|z|) of the logits kernels",
			"math.Log1p rounded to float32 over every float32 in [1e-8, 1]", w8.log1pUnit},
		{"ExpF32", "e^x", "the exp of the logits and non-integer gamma kernels",
			"math.Exp rounded to float32 over float32s in [-104, 89] and the special values", w8.exp},
	} {
		name, log := k.name, k.fn
		TEXT(name, NOSPLIT, "func(x, out []float32)")
		Pragma("noescape")
		Doc(name+" writes "+k.what+" into out with the instructions of the",
			"AVX2 float32 kernels ("+k.which+"); len(x) is a multiple of 8 and",
			"len(out) at least len(x). Tested against "+k.test+".")
		x := Load(Param("x").Base(), GP64())
		n := Load(Param("x").Len(), GP64())
		out := Load(Param("out").Base(), GP64())
		SHRQ(Imm(3), n)
		JZ(LabelRef(name + "_done"))
		Label(name + "_loop")
		v := YMM()
		VMOVUPS(Mem{Base: x}, v)
		l := log(v)
		VMOVUPS(l, Mem{Base: out})
		ADDQ(Imm(32), x)
		ADDQ(Imm(32), out)
		DECQ(n)
		JNZ(LabelRef(name + "_loop"))
		Label(name + "_done")
		VZEROUPPER()
		RET()
	}
}

// unitRangeKernels8: the quick check of the probabilities and labels,
// float32 and float64: is every value in [0, 1] or NaN (or, for the Or
// forms, equal to the ignore value v)? (The reference is the loop of
// goloss.checkUnitValues, which names the first offending value.)
func unitRangeKernels8() {
	for _, f64 := range []bool{false, true} {
		unitRangeMinMax8(f64)
	}
	for _, f64 := range []bool{false, true} {
		unitRangeOrKernel8(f64)
	}
}

// unitRangeMinMax8 writes UnitRangeF32 or UnitRangeF64: the least and the
// largest value of s, NaN left out, in four pairs of accumulators (a
// vector load and two operations per vector, against a load and four for
// the compares that unitRangeOrKernel8 keeps), then min >= 0 and max <= 1. VMINPS
// and VMAXPS return their second source where either is NaN, and a NaN x
// is the first one here (min(x, acc) = x < acc ? x : acc), so a NaN is
// skipped; the accumulators start at 1 (min) and 0 (max) and never hold
// NaN. -0 < 0 is false, as in the loop.
func unitRangeMinMax8(f64 bool) {
	name, sig, lanes, shift, size := "UnitRangeF32", "func(s []float32) (ok bool)", 8, 3, 4
	elem := "float32"
	if f64 {
		name, sig, lanes, shift, size, elem = "UnitRangeF64", "func(s []float64) (ok bool)", 4, 2, 8, "float64"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" reports whether every value of s lies in [0, 1] or is NaN,",
		"as the loop `for _, x := range s { if x < 0 || x > 1 { return false } }`",
		"does: from the least and the largest "+elem+" of s, NaN left out, taken 4",
		"vectors of 32 bytes at a time, then one vector, then the last",
		"len(s) mod "+map[bool]string{false: "8", true: "4"}[f64]+" values one by one.")
	p := Load(Param("s").Base(), GP64())
	n := Load(Param("s").Len(), GP64())
	const unroll = 4
	var lo, hi [unroll]reg.VecVirtual
	one := YMM()
	if f64 {
		VBROADCASTSD(one64(), one)
	} else {
		VBROADCASTSS(f32("one32", 1), one)
	}
	for i := range unroll {
		lo[i], hi[i] = YMM(), YMM()
		VMOVAPS(one, lo[i])
		VXORPS(hi[i], hi[i], hi[i])
	}
	minmax := func(acc int, x reg.VecVirtual) {
		if f64 {
			VMINPD(lo[acc], x, lo[acc])
			VMAXPD(hi[acc], x, hi[acc])
		} else {
			VMINPS(lo[acc], x, lo[acc])
			VMAXPS(hi[acc], x, hi[acc])
		}
	}
	load := func(m Mem, x reg.VecVirtual) {
		if f64 {
			VMOVUPD(m, x)
		} else {
			VMOVUPS(m, x)
		}
	}
	blocks := GP64()
	MOVQ(n, blocks)
	SHRQ(Imm(uint64(shift+2)), blocks)
	JZ(LabelRef(name + "_vectors"))
	Label(name + "_loop4")
	for i := range unroll {
		x := YMM()
		load(Mem{Base: p, Disp: 32 * i}, x)
		minmax(i, x)
	}
	ADDQ(Imm(32*unroll), p)
	DECQ(blocks)
	JNZ(LabelRef(name + "_loop4"))
	Label(name + "_vectors")
	vectors := GP64()
	MOVQ(n, vectors)
	SHRQ(Imm(uint64(shift)), vectors)
	ANDQ(Imm(unroll-1), vectors)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_loop")
	x := YMM()
	load(Mem{Base: p}, x)
	minmax(0, x)
	ADDQ(Imm(32), p)
	DECQ(vectors)
	JNZ(LabelRef(name + "_loop"))
	// The last values one by one, into accumulators of their own: a VEX
	// scalar operation copies the other lanes of Intel's first source (x,
	// whose load zeroed them) and zeroes the upper half, and 0 is harmless to a
	// minimum tested for < 0 and a maximum tested for > 1.
	Label(name + "_tail")
	sLo, sHi := YMM(), YMM()
	VMOVAPS(one, sLo)
	VXORPS(sHi, sHi, sHi)
	ANDQ(Imm(uint64(lanes-1)), n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_scalar")
	xs := XMM()
	if f64 {
		VMOVSD(Mem{Base: p}, xs)
		VMINSD(sLo.AsX(), xs, sLo.AsX())
		VMAXSD(sHi.AsX(), xs, sHi.AsX())
	} else {
		VMOVSS(Mem{Base: p}, xs)
		VMINSS(sLo.AsX(), xs, sLo.AsX())
		VMAXSS(sHi.AsX(), xs, sHi.AsX())
	}
	ADDQ(Imm(uint64(size)), p)
	DECQ(n)
	JNZ(LabelRef(name + "_scalar"))
	Label(name + "_done")
	lo[0], hi[0] = minMaxPair(f64, lo[0], hi[0], sLo, sHi)
	for i := 1; i < unroll; i++ {
		lo[0], hi[0] = minMaxPair(f64, lo[0], hi[0], lo[i], hi[i])
	}
	zero, bad := YMM(), YMM()
	VXORPS(zero, zero, zero)
	if f64 {
		VCMPPD(Imm(cmpLT), zero, lo[0], lo[0])
		VCMPPD(Imm(cmpGT), one, hi[0], bad)
	} else {
		VCMPPS(Imm(cmpLT), zero, lo[0], lo[0])
		VCMPPS(Imm(cmpGT), one, hi[0], bad)
	}
	VORPS(lo[0], bad, bad)
	returnNoneSet(bad)
}

// one64 is the float64 1 in read-only data, declared once.
func one64() Mem {
	if m, ok := consts["one64"]; ok {
		return m
	}
	m := ConstData("one64", U64(math.Float64bits(1))) // avo prints F64(1) as the integer 1
	consts["one64"] = m
	return m
}

// unitRangeOrKernel8 writes UnitRangeOrF32 or UnitRangeOrF64: per vector,
// the compares x < 0 and x > 1 (false for NaN), and x != v.
func unitRangeOrKernel8(f64 bool) {
	name, lanes, shift, elem := "UnitRangeOrF32", 8, 3, "float32"
	if f64 {
		name, lanes, shift, elem = "UnitRangeOrF64", 4, 2, "float64"
	}
	TEXT(name, NOSPLIT, "func(s []"+elem+", v "+elem+") (ok bool)")
	Pragma("noescape")
	Doc(name+" reports whether every value of s lies in [0, 1], is NaN or equals v,",
		"as the loop `for _, x := range s { if (x < 0 || x > 1) && x != v { return false } }`",
		"does; it reads 32 bytes at a time and the last len(s) mod "+map[bool]string{false: "8", true: "4"}[f64]+" one by one.")
	p := Load(Param("s").Base(), GP64())
	n := Load(Param("s").Len(), GP64())
	zero, one, bad := YMM(), YMM(), YMM()
	VXORPS(zero, zero, zero)
	VXORPS(bad, bad, bad)
	if f64 {
		VBROADCASTSD(one64(), one)
	} else {
		VBROADCASTSS(f32("one32", 1), one)
	}
	arg, err := Param("v").Resolve()
	if err != nil {
		panic(err)
	}
	vv := YMM()
	if f64 {
		VBROADCASTSD(arg.Addr, vv) // VEX: Load would use legacy MOVSD
	} else {
		VBROADCASTSS(arg.Addr, vv)
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
		VORPD(gt, lt, lt)
		VCMPPD(Imm(0), vv, v, gt) // x == v
		VANDNPD(lt, gt, lt)
		VORPD(lt, bad, bad)
	} else {
		VMOVUPS(Mem{Base: p}, v)
		VCMPPS(Imm(cmpLT), zero, v, lt)
		VCMPPS(Imm(cmpGT), one, v, gt)
		VORPS(gt, lt, lt)
		VCMPPS(Imm(0), vv, v, gt) // x == v
		VANDNPS(lt, gt, lt)
		VORPS(lt, bad, bad)
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
		VORPD(g2, l2, l2)
		VCMPSD(Imm(0), vv.AsX(), x, g2)
		VANDNPD(l2, g2, l2)
		VORPD(l2.AsY(), bad, bad)
		ADDQ(Imm(8), p)
	} else {
		VMOVSS(Mem{Base: p}, x)
		VCMPSS(Imm(cmpLT), zero.AsX(), x, l2)
		VCMPSS(Imm(cmpGT), one.AsX(), x, g2)
		VORPS(g2, l2, l2)
		VCMPSS(Imm(0), vv.AsX(), x, g2)
		VANDNPS(l2, g2, l2)
		VORPS(l2.AsY(), bad, bad)
		ADDQ(Imm(4), p)
	}
	DECQ(n)
	JNZ(LabelRef(name + "_scalar"))
	Label(name + "_done")
	returnNoneSet(bad)
}

// returnNoneSet returns ok = no lane of bad set, clearing the upper halves
// first.
func returnNoneSet(bad reg.VecVirtual) {
	bits := GP32()
	VMOVMSKPS(bad, bits)
	VZEROUPPER()
	ok := GP8()
	TESTL(bits, bits)
	SETEQ(ok)
	Store(ok, ReturnIndex(0))
	RET()
}

// minMaxPair folds the accumulators lo2, hi2 into lo, hi (no NaN in
// either, so the order of the operands is free).
func minMaxPair(f64 bool, lo, hi, lo2, hi2 reg.VecVirtual) (reg.VecVirtual, reg.VecVirtual) {
	if f64 {
		VMINPD(lo, lo2, lo)
		VMAXPD(hi, hi2, hi)
	} else {
		VMINPS(lo, lo2, lo)
		VMAXPS(hi, hi2, hi)
	}
	return lo, hi
}

// countKernel8: how many labels of a row equal the ignore value, for the
// binary variant's mean over the known classes.
func countKernel8() {
	TEXT("CountEqualF32", NOSPLIT, "func(s []float32, v float32) (n int)")
	Pragma("noescape")
	Doc("CountEqualF32 returns how many values of s equal v, as the loop",
		"`for _, x := range s { if x == v { n++ } }` does (none for a NaN v).")
	p := Load(Param("s").Base(), GP64())
	n := Load(Param("s").Len(), GP64())
	arg, err := Param("v").Resolve()
	if err != nil {
		panic(err)
	}
	vv := YMM()
	VBROADCASTSS(arg.Addr, vv) // VEX: Load would use legacy MOVSS
	count := GP64()
	XORQ(count, count)
	loopVectors8("CountEqualF32", n, func(prefix string, tail reg.VecVirtual) {
		x := w8.load(Mem{Base: p}, tail)
		eq := YMM()
		VCMPPS(Imm(0), vv, x, eq) // x == v, false for NaN
		if tail != nil {
			VANDPS(tail, eq, eq)
		}
		bits := GP32()
		VMOVMSKPS(eq, bits)
		POPCNTL(bits, bits)
		ADDQ(bits.As64(), count)
	}, func() { ADDQ(Imm(32), p) })
	Store(count, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
