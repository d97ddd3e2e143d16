// Command _generate writes sumlog_amd64.s and stub_amd64.go for package
// avocmp with avo: sum_i log(x_i), AVX-512, the same operations in the same
// order as the archsimd version in sumlog_simd_amd64.go, so that both give
// the same bits. It is its own module so that avo never enters the main
// module's dependencies.
//
//	go run . -out ../sumlog_amd64.s -stubs ../stub_amd64.go -pkg avocmp
package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// fdlibm's log constants, as in ../consts.go.
const (
	logLg1      = 6.666666666666735130e-01
	logLg2      = 3.999999999940941908e-01
	logLg3      = 2.857142874366239149e-01
	logLg4      = 2.222219843214978396e-01
	logLg5      = 1.818357216161805012e-01
	logLg6      = 1.531383769920937332e-01
	logLg7      = 1.479819860511658591e-01
	logLn2Hi    = 6.93147180369123816490e-01
	logLn2Lo    = 1.90821492927058770002e-10
	logShift    = 0x3ff0000000000000 - 0x3fe6a09e667f3bcd
	logMantBase = 0x3fe6a09e667f3bcd
	mantMask    = 0x000fffffffffffff
	expOr       = 0x4330000000000000
)

// bcast returns a fresh zmm register holding bits in all 8 lanes, loaded
// from a constant in read-only data.
func bcast(name string, bits uint64) reg.VecVirtual {
	z := ZMM()
	VPBROADCASTQ(ConstData(name, U64(bits)), z)
	return z
}

func f64(name string, v float64) reg.VecVirtual { return bcast(name, math.Float64bits(v)) }

func main() {
	ConstraintExpr("amd64")

	TEXT("sumLogAVO", NOSPLIT, "func(x []float64, acc *[8]float64)")
	Doc("sumLogAVO stores in acc the 8 lane sums of log(x), 8 lanes at a time,",
		"the last len(x)%8 elements in a block padded with 1s (a masked load);",
		"x_i positive, normal and finite, or NaN. It computes what",
		"sumLogSIMDBlocks computes, with the same operations.")
	ptr := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	accp := Load(Param("acc"), GP64())

	// The sums start at +0 in a register, not loaded from memory: a 64-byte
	// load of a just-zeroed Go array would stall on store forwarding.
	acc := ZMM()
	VPXORQ(acc, acc, acc)

	// All constants stay in registers across the loop: with 32 zmm
	// registers there is room for them and the temporaries.
	zero = ZMM()
	VPXORQ(zero, zero, zero)
	cShift = bcast("logshift", logShift)
	cExpOr = bcast("expor", expOr)
	cKBias = f64("kbias", 0x1p52+1023)
	cMant = bcast("mantmask", mantMask)
	cMantBase = bcast("mantbase", logMantBase)
	one = f64("one", 1)
	half = f64("half", 0.5)
	two = f64("two", 2)
	lg = []reg.VecVirtual{nil,
		f64("lg1", logLg1), f64("lg2", logLg2), f64("lg3", logLg3), f64("lg4", logLg4),
		f64("lg5", logLg5), f64("lg6", logLg6), f64("lg7", logLg7)}
	ln2Lo = f64("ln2lo", logLn2Lo)
	ln2Hi = f64("ln2hi", logLn2Hi)

	rem := GP64()
	MOVQ(n, rem)
	ANDQ(Imm(7), rem)
	SHRQ(Imm(3), n)
	JZ(LabelRef("tail"))

	Label("loop")
	v := ZMM()
	VMOVUPD(Mem{Base: ptr}, v)
	logAdd(v, acc)
	ADDQ(Imm(64), ptr)
	DECQ(n)
	JNZ(LabelRef("loop"))

	// The tail: the first rem lanes from x, the others 1, as padTail does.
	Label("tail")
	TESTQ(rem, rem)
	JZ(LabelRef("done"))
	bits := GP64()
	MOVQ(U32(1), bits)
	SHLXQ(rem, bits, bits)
	DECQ(bits)
	KMOVB(bits.As32(), reg.K1)
	tv := ZMM()
	VMOVAPD(one, tv)
	VMOVUPD(Mem{Base: ptr}, reg.K1, tv)
	logAdd(tv, acc)

	Label("done")
	VMOVUPD(acc, Mem{Base: accp})
	VZEROUPPER()
	RET()

	Generate()
}

// The constants, set up at the start of main.
var (
	zero, cShift, cExpOr, cKBias, cMant, cMantBase reg.VecVirtual
	one, half, two, ln2Lo, ln2Hi                   reg.VecVirtual
	lg                                             []reg.VecVirtual
)

// logAdd adds log(v) to acc: logSplit512, logPoly512 and logJoin512 of
// goloss, then + (x - x), in the same order. It overwrites v.
func logAdd(v, acc reg.VecVirtual) {
	nan := ZMM()
	VSUBPD(v, v, nan) // x - x: 0, or NaN where x is NaN.

	// logSplit512: x = 2^dk * (1 + f).
	u := v
	VPADDQ(cShift, v, u)
	dk := ZMM()
	VPSRLQ(Imm(52), u, dk)
	VPORQ(cExpOr, dk, dk)
	VSUBPD(cKBias, dk, dk)
	VADDPD(zero, dk, dk) // + kadj, as logCore512 does.
	f := ZMM()
	VPANDQ(cMant, u, f)
	VPADDQ(cMantBase, f, f)
	VSUBPD(one, f, f)

	// logPoly512.
	hfsq := ZMM()
	VMULPD(half, f, hfsq)
	VMULPD(f, hfsq, hfsq)
	s := ZMM()
	VADDPD(two, f, s)
	VDIVPD(s, f, s) // f / (2 + f)
	z := ZMM()
	VMULPD(s, s, z)
	w := ZMM()
	VMULPD(z, z, w)
	t1 := ZMM()
	VMOVAPD(lg[6], t1)
	VFMADD213PD(lg[4], w, t1) // t1 = lg6*w + lg4
	VFMADD213PD(lg[2], w, t1)
	VMULPD(w, t1, t1)
	t2 := ZMM()
	VMOVAPD(lg[7], t2)
	VFMADD213PD(lg[5], w, t2)
	VFMADD213PD(lg[3], w, t2)
	VFMADD213PD(lg[1], w, t2)
	VMULPD(z, t2, t2)
	VADDPD(t1, t2, t2) // r = t2 + t1

	// logJoin512.
	a := ZMM()
	VADDPD(t2, hfsq, a) // hfsq + r
	lo := ZMM()
	VMULPD(ln2Lo, dk, lo)
	VFMADD213PD(lo, s, a) // a = s*(hfsq+r) + dk*ln2Lo
	VSUBPD(hfsq, a, a)
	VADDPD(f, a, a)
	VFMADD213PD(a, ln2Hi, dk) // dk*ln2Hi + a

	VADDPD(nan, dk, dk)
	VADDPD(dk, acc, acc)

}
