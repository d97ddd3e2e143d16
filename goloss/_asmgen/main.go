// Command _asmgen writes goloss's vector kernels with avo: the assembly and
// Go declarations of goloss/internal/avx2 (8 float32 lanes in ymm
// registers) and goloss/internal/avx512 (16 float32 lanes in zmm
// registers, mask registers), one package per run:
//
//	cd goloss/_asmgen && go run . -isa avx2 -group f32 -out ../internal/avx2/f32_amd64.s -stubs ../internal/avx2/f32_amd64.go -pkg avx2
//
// for each ISA and group of kernels (see groups; make asm runs them all,
// make check-asm regenerates them in a scratch folder and requires the
// committed files to match).
//
// The float32 row kernels are each one description over a vector width
// (vec.go: the ISA's registers, masks and constants; vec_math.go: log,
// log1p, exp, u^gamma; vec_rows.go: the row loop and its float64 sums):
// asym_f32.go, binary_f32.go and seed_f32.go (the seed's main pass). Run
// with w8 they give the AVX2 kernels, with w16 the AVX-512 ones. The
// AVX-512 seed kernel for integer gamma (avx512_seed.go: its first passes
// and a main pass written for 16 lanes, faster there than seed_f32.go's,
// see seed_f32.go), the AVX2 seed's first passes (avx2_seed.go), the
// helpers of the AVX2 tests (avx2_misc.go) and the float64 kernels
// (avx2_*64.go, AVX2 on either CPU) have a description per ISA. The
// in-place scale (scale.go, float32 and float64) is one description at
// either width.

// The kernels are written in assembly because Go has no vector types
// without GOEXPERIMENT=simd, and because that experiment's code generation
// spills vectors in loops this size and emits legacy-SSE instructions
// (scalar floats, spills, some shifts) between AVX instructions, which
// cost an SSE/AVX transition each on AMD CPUs. Every function here uses
// VEX or EVEX forms only and ends with VZEROUPPER before any legacy-SSE
// result store and before RET; internal/ssecheck holds the built code to
// that. The generator is its own module so that avo never enters goloss's
// dependencies.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Comparison predicates of VCMPPS (ordered, quiet: false where a lane is NaN).
const (
	cmpLT = 0x11
	cmpLE = 0x12
	cmpGE = 0x1d
	cmpGT = 0x1e
)

// The bits and coefficients of the float32 log (logUnit of avx512_seed.go, vec.logUnit and vec.logFull)
// (Cephes' logf).
const (
	log32Base  = 0x3f3504f3
	log32Shift = 0x3f800000 - log32Base
	mant32Mask = 0x007fffff
	log32Ln2Hi = 0.693359375
	log32Ln2Lo = -2.12194440e-4
)

var logCoefs = []float32{
	7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
	1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
	3.3333331174e-1,
}

// Offsets in the constants array k (goloss's seedAsmConsts, vector_consts.go).
const (
	offAHi        = 0
	offALo        = 4
	offShared     = 8
	offSmoothW    = 12
	offFocalScale = 16
	offGamma      = 20
	offPLo        = 24
	offLogPLo     = 28
	offPowN       = 32
	// Read by the AVX2 main pass only: a flag for non-integer gamma and
	// gamma - gamma_hi.
	offReal    = 40
	offGammaLo = 44
)

// consts holds the constants in read-only data, each declared once.
var consts = map[string]Mem{}

func u32(name string, v uint32) Mem {
	if m, ok := consts[name]; ok {
		return m
	}
	m := ConstData(name, U32(v))
	consts[name] = m
	return m
}

func f32(name string, v float32) Mem { return u32(name, math.Float32bits(v)) }

func logCoefName(i int) string { return fmt.Sprintf("logc%d", i) }

func mathFloat32bits(v float32) uint32 { return math.Float32bits(v) }

func expCoefName(i int) string { return fmt.Sprintf("expc%d", i) }

// The bits of the exp scaling (vec.exp, expNeg): k + roundMagic32
// plus expBiasFix32 is k + 127 in the low bits.
const (
	roundMagicBits32 = 0x4b400000
	expBiasFix32     = 1<<32 - (roundMagicBits32 - 127)
)

// s0 returns a fresh zeroed zmm register.
func s0() reg.VecVirtual {
	z := ZMM()
	VPXORD(z, z, z)
	return z
}

// isa and group pick the kernels one run writes: each run writes one
// assembly file and its Go declarations in goloss/internal/ISA, named
// after the group (make asm runs every pair in groups; make check-asm
// regenerates them in a scratch folder and requires the committed files
// to match).
var (
	isa   = flag.String("isa", "", "the instruction set: avx2 or avx512")
	group = flag.String("group", "f32", "the group of kernels: a key of groups[isa]")
)

// groups lists, per ISA, the groups of kernels and the functions that
// declare them. Each group is one file of its ISA's package.
var groups = map[string]map[string]func(){
	"avx2": {
		// The float32 kernels: seed and binary on 8 float32 lanes, the
		// float32 log, the validation pass, the count of unknown labels.
		"f32": func() {
			logKernel8()
			unitRangeKernels8()
			countKernel8()
			sumKernel8()
			masksKernel8()
			seedMainKernels(w8) // seed_f32.go
			binaryKernels(w8)   // binary_f32.go
		},
		// The asymmetric variant's float32 kernels (asym_f32.go, the
		// description the AVX-512 group shares).
		"asym": func() { asymKernels(w8) },
		// The float64 kernels, 4 float64 lanes.
		"seed64":   seed64Kernels,
		"binary64": binary64Kernels,
		"asym64":   asym64Kernels,
		// x[i] = c * x[i] in place, float32 and float64 (scale.go).
		"scale": func() { scaleKernels(w8) },
	},
	"avx512": {
		"f32": func() {
			logKernel()
			sumKernel()
			masksKernel(false)
			masksKernel(true)
			for _, grad := range []bool{true, false} {
				kernel(grad)
			}
		},
		// The asymmetric variant's float32 kernels: the AVX2 group's
		// description (asym_f32.go) on 16 lanes.
		"asym": func() { asymKernels(w16) },
		// The binary variant's float32 kernels: the AVX2 description
		// (binary_f32.go) on 16 lanes.
		"binary": func() { binaryKernels(w16) },
		// The seed variant's main pass for non-integer gamma: the AVX2
		// description (seed_f32.go) on 16 lanes.
		"seed": func() { seedMainKernels(w16) },
		// The in-place scale: the AVX2 description (scale.go) on zmm.
		"scale": func() { scaleKernels(w16) },
	},
}

func main() {
	flag.Parse()
	ConstraintExpr("!noasm")
	kernels, ok := groups[*isa][*group]
	if !ok {
		fmt.Fprintf(os.Stderr, "-isa %q -group %q: no such kernels\n", *isa, *group)
		os.Exit(2)
	}
	kernels()
	Generate()
}

// squareLoop multiplies pm1 by base^(nPow-1) by squaring, a loop over the
// bits of gamma - 1: for each bit from the lowest, pm1 *= base where it is
// set, then base *= base while higher bits remain. base is overwritten.
// nPow is a register or memory; float32 lanes (VMULPS).
func squareLoop(prefix string, nPow Op, pm1, base reg.VecVirtual) {
	squareLoopMul(prefix, nPow, pm1, base, VMULPS)
}

// squareLoopMul is squareLoop with the lanes' multiply: VMULPS or VMULPD.
func squareLoopMul(prefix string, nPow Op, pm1, base reg.VecVirtual, mul func(...Op)) {
	e := GP64()
	MOVQ(nPow, e)
	DECQ(e)
	Label(prefix + "_sq")
	TESTQ(e, e)
	JZ(LabelRef(prefix + "_sqdone"))
	BTQ(Imm(0), e)
	JCC(LabelRef(prefix + "_nomul"))
	mul(base, pm1, pm1)
	Label(prefix + "_nomul")
	CMPQ(e, Imm(1))
	JBE(LabelRef(prefix + "_nosq"))
	mul(base, base, base)
	Label(prefix + "_nosq")
	SHRQ(Imm(1), e)
	JMP(LabelRef(prefix + "_sq"))
	Label(prefix + "_sqdone")
}

func float32Inf() float32    { return float32(math.Inf(1)) }
func float32NegInf() float32 { return float32(math.Inf(-1)) }
