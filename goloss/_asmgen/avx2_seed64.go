package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The AVX2 float64 seed kernels: 4 float64 lanes in ymm registers, the
// algorithm of seedRow512F64 (the archsimd kernel they replace) with the
// clip decision on p/S taken by comparing p with two per-row bounds
// (seed64Bounds in goloss/seed64_amd64.go) rather than by dividing, and 1/p
// computed once per element. The logs are fdlibm's (math.Log's algorithm),
// exp is a degree-13 Taylor polynomial with 2^k applied in two halves.
// Every constant is a 4-lane vector in read-only data or in the per-call
// array k (seed64Slots slots of 4 lanes each), so that instructions take it
// as a memory operand and registers stay free.

// The slots of k, each 4 equal uint64 lanes (32 bytes); the Go side
// (seed64_amd64.go) fills them in the same order.
const (
	s64InvS       = iota // 1/S (per row)
	s64TLo               // the least p with lo <= p/S (per row)
	s64THi               // the greatest p with p/S <= hi (per row)
	s64Shared            // e/C * M/S (per row)
	s64RatioLo           // the clip bounds of p/S
	s64RatioHi           //
	s64LogLo             // the clip bound of the focal log, 1e-8
	s64Gamma             // gamma
	s64FocalScale        // (1-e)/C
	s64SmoothW           // e/C
	s64Kind              // seed64Pow0, seed64Pow2, seed64PowN or seed64PowReal (lane 0)
	s64NPow              // the integer gamma of seed64PowN (lane 0)
	seed64Slots
)

// The kinds of gamma (slot s64Kind).
const (
	seed64Pow0    = 0 // gamma = 0
	seed64Pow2    = 1 // gamma = 2
	seed64PowN    = 2 // another integer gamma: repeated squaring
	seed64PowReal = 3 // exp(gamma * log(y - p))
)

// fdlibm's log (math.Log): coefficients and the bits that split x.
const (
	lg1      = 6.666666666666735130e-01
	lg2      = 3.999999999940941908e-01
	lg3      = 2.857142874366239149e-01
	lg4      = 2.222219843214978396e-01
	lg5      = 1.818357216161805012e-01
	lg6      = 1.531383769920937332e-01
	lg7      = 1.479819860511658591e-01
	ln2Hi64  = 6.93147180369123816490e-01
	ln2Lo64  = 1.90821492927058770002e-10
	log64Mb  = 0x3fe6a09e667f3bcd               // the bits of sqrt(2)/2
	log64Sh  = 0x3ff0000000000000 - log64Mb     // moves [sqrt(2)/2, sqrt(2)) into one binade
	mant64   = 0x000fffffffffffff               // the mantissa field
	magic64  = 0x1.8p52                         // adding it rounds to an integer
	magicB64 = 0x4338000000000000               // its bits
	expFix64 = 1<<64 - (magicB64 - 1023)        // k + magic64 bits -> k + 1023
	kbOr64   = 0x4330000000000000               // 2^52: the exponent field as a float
	kbSub64  = 0x1p52 + 1023                    //
	abs64    = 0x7fffffffffffffff               // clears the sign bit
	minNorm  = 0x1p-1022                        // the least normal float64
	cmpEQ    = 0x00                             // EQ_OQ
	cmpNEQ   = 0x0c                             // NEQ_OQ
	cmpNGE   = 0x19                             // NGE_UQ: true where x < y or unordered
	expLoT   = -746.0                           // exp clamps its argument to [expLoT, expHiT]
	expHiT   = 710.0                            //
	log2e64  = 1.44269504088896340735992468100189214 // math.Log2E
)

// v4consts holds the 4-lane constant vectors, each declared once.
var v4consts = map[string]Mem{}

// v4 returns a 32-byte constant holding bits in each of its 4 lanes.
func v4(name string, bits uint64) Mem {
	if m, ok := v4consts[name]; ok {
		return m
	}
	m := GLOBL("s64"+name, RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(bits))
	}
	v4consts[name] = m
	return m
}

// v4f returns a 32-byte constant holding v in each of its 4 lanes (as bits:
// avo prints F64(1) as the integer 1).
func v4f(name string, v float64) Mem { return v4(name, math.Float64bits(v)) }

// lanes4 is the constant vector 0, 1, 2, 3 (int64), for tail masks.
func lanes4() Mem {
	if m, ok := v4consts["lanes"]; ok {
		return m
	}
	m := GLOBL("s64lanes", RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(uint64(i)))
	}
	v4consts["lanes"] = m
	return m
}

// loopVectors4 runs body over n float64 lanes, 4 at a time, then once more
// for the last n mod 4 with a vector mask of those lanes (all ones where
// loaded; nil for full vectors). step advances the pointers by 32 bytes.
func loopVectors4(name string, n reg.Register, body func(prefix string, tail reg.VecVirtual), step func()) {
	full := GP64()
	MOVQ(n, full)
	SHRQ(Imm(2), full)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_loop")
	body(name+"_full", nil)
	step()
	DECQ(full)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_tail")
	rem := GP64()
	MOVQ(n, rem)
	ANDQ(Imm(3), rem)
	JZ(LabelRef(name + "_done"))
	x := XMM()
	VMOVQ(rem, x) // VEX: a legacy MOVQ here costs an SSE/AVX transition
	tail := YMM()
	VPBROADCASTQ(x, tail)
	VPCMPGTQ(lanes4(), tail, tail) // rem > lane
	body(name+"_part", tail)
	Label(name + "_done")
}

// load4 loads 4 float64 lanes, only the tail's lanes (the others 0) when
// tail is not nil.
func load4(addr Mem, tail reg.VecVirtual) reg.VecVirtual {
	y := YMM()
	if tail != nil {
		VMASKMOVPD(addr, tail, y)
	} else {
		VMOVUPD(addr, y)
	}
	return y
}

// store4 stores 4 float64 lanes, only the tail's when tail is not nil.
func store4(v reg.VecVirtual, addr Mem, tail reg.VecVirtual) {
	if tail != nil {
		VMASKMOVPD(v, tail, addr)
	} else {
		VMOVUPD(v, addr)
	}
}

// logReduced4 returns log(x) for x positive, normal and finite, with kadj
// (nil: none) added to the binary exponent of x: fdlibm's algorithm as
// logSplit512, logPoly512 and logJoin512 compute it. x is overwritten.
func logReduced4(x reg.VecVirtual, kadj reg.VecVirtual) reg.VecVirtual {
	// x = 2^dk * (1 + f), 1 + f in [sqrt(2)/2, sqrt(2)).
	u := x
	VPADDQ(v4("logsh", log64Sh), u, u)
	dk := YMM()
	VPSRLQ(Imm(52), u, dk)
	VPOR(v4("kbor", kbOr64), dk, dk)
	VSUBPD(v4f("kbsub", kbSub64), dk, dk)
	if kadj != nil {
		VADDPD(kadj, dk, dk)
	}
	f := u
	VPAND(v4("mant", mant64), u, f)
	VPADDQ(v4("logmb", log64Mb), f, f)
	VSUBPD(v4f("one", 1), f, f)

	// s = f/(2+f), hfsq = f*f/2, R(s*s).
	s := YMM()
	VADDPD(v4f("two", 2), f, s)
	VDIVPD(s, f, s)
	hfsq := YMM()
	VMULPD(v4f("half", 0.5), f, hfsq)
	VMULPD(f, hfsq, hfsq)
	z, w := YMM(), YMM()
	VMULPD(s, s, z)
	VMULPD(z, z, w)
	t1 := YMM()
	VMOVUPD(v4f("lg6", lg6), t1)
	VFMADD213PD(v4f("lg4", lg4), w, t1)
	VFMADD213PD(v4f("lg2", lg2), w, t1)
	VMULPD(w, t1, t1)
	t2 := w
	VFMADD213PD(v4f("lg5", lg5), v4f("lg7", lg7), t2) // t2 = w*lg7 + lg5
	VFMADD213PD(v4f("lg3", lg3), w2(z), t2)
	_ = t2
	return logJoin4(f, dk, s, hfsq, z, t1)
}

// w2 is a marker helper; see logReduced4 (never called).
func w2(z reg.VecVirtual) reg.VecVirtual { return z }

// logJoin4 is unused (see logReduced4).
func logJoin4(f, dk, s, hfsq, z, t1 reg.VecVirtual) reg.VecVirtual { return f }

var _ = fmt.Sprint
