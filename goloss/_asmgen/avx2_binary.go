package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The AVX2 form of the float32 binary loop on probabilities, for integer
// gamma: binaryProbGradF32AVX512's steps on 8 float32 lanes, with vector
// masks and the float64 sums on the stack (AVX2 instructions reach only 16
// vector registers).

type binaryState8 struct {
	grad              bool
	g, y, x, a, an, k reg.Register
	off               reg.Register
	smooth, alphaK    reg.Register
	nPow              reg.Register
	zero, one, acc32  reg.VecVirtual
	acc               Mem
	powKind, bail     string
}

func (s *binaryState8) at(base reg.Register) Mem { return Mem{Base: base, Index: s.off, Scale: 1} }

func (s *binaryState8) bcast(off int) reg.VecVirtual {
	v := YMM()
	VBROADCASTSS(Mem{Base: s.k, Disp: off}, v)
	return v
}

func binaryKernel8(grad bool) {
	name, sig := "BinaryProbLossF32", "func(y, x, alpha, alphaNeg []float32, k *[18]uint32, acc *[8]float64) (bail bool)"
	if grad {
		name, sig = "BinaryProbGradF32", "func(g, y, x, alpha, alphaNeg []float32, k *[18]uint32, acc *[8]float64) (bail bool)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" is binaryProbGradF32AVX512 on 8 float32 lanes (AVX2): it stores",
		"in acc the float64 lane sums of the loss terms (lanes 0-3, 4-7)"+map[bool]string{true: " and writes the", false: ""}[grad],
		map[bool]string{true: "gradient into g. ", false: ""}[grad]+"It returns true, having stopped, where u^gamma",
		"overflows. k is as for binaryProbGradF32AVX512.")
	s := &binaryState8{grad: grad, bail: name + "_bail"}
	if grad {
		s.g = Load(Param("g").Base(), GP64())
	}
	s.y = Load(Param("y").Base(), GP64())
	s.x = Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	s.a = Load(Param("alpha").Base(), GP64())
	s.an = Load(Param("alphaNeg").Base(), GP64())
	s.k = Load(Param("k"), GP64())
	accp := Load(Param("acc"), GP64())
	s.smooth, s.alphaK, s.nPow = GP32(), GP32(), GP64()
	MOVL(Mem{Base: s.k, Disp: bSmooth}, s.smooth)
	MOVL(Mem{Base: s.k, Disp: bAlphaKind}, s.alphaK)
	MOVQ(Mem{Base: s.k, Disp: bPowN}, s.nPow)
	s.zero, s.one, s.acc32 = YMM(), YMM(), YMM()
	VXORPS(s.zero, s.zero, s.zero)
	VMOVUPS(v8f("one", 1), s.one)
	VXORPS(s.acc32, s.acc32, s.acc32)
	s.acc = AllocLocal(64)
	VMOVUPD(s.zero, s.acc)
	VMOVUPD(s.zero, s.acc.Offset(32))
	blk := GP64()

	CMPQ(s.nPow, Imm(2))
	JEQ(LabelRef(name + "_pow2"))
	TESTQ(s.nPow, s.nPow)
	JEQ(LabelRef(name + "_pow0"))
	for _, kind := range []string{"powN", "pow2", "pow0"} {
		if kind != "powN" {
			Label(name + "_" + kind)
		}
		s.powKind = kind
		s.off = GP64()
		XORQ(s.off, s.off)
		MOVQ(U32(sumBlock), blk)
		loopVectors8(name+"_"+kind, n, s.body, func() {
			ADDQ(Imm(32), s.off)
			DECQ(blk)
			JNZ(LabelRef(name + "_" + kind + "_inblock"))
			s.flush()
			MOVQ(U32(sumBlock), blk)
			Label(name + "_" + kind + "_inblock")
		})
		JMP(LabelRef(name + "_done"))
	}
	Label(name + "_done")
	s.flush()
	for i := 0; i < 2; i++ {
		v := YMM()
		VMOVUPD(s.acc.Offset(32*i), v)
		VMOVUPD(v, Mem{Base: accp, Disp: 32 * i})
	}
	ok := GP8()
	MOVB(U8(0), ok)
	Store(ok, ReturnIndex(0))
	VZEROUPPER()
	RET()
	Label(s.bail)
	stop := GP8()
	MOVB(U8(1), stop)
	Store(stop, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

func (s *binaryState8) flush() {
	lo := YMM()
	VCVTPS2PD(s.acc32.AsX(), lo)
	VADDPD(s.acc, lo, lo)
	VMOVUPD(lo, s.acc)
	upper := XMM()
	VEXTRACTF128(Imm(1), s.acc32, upper)
	hi := YMM()
	VCVTPS2PD(upper, hi)
	VADDPD(s.acc.Offset(32), hi, hi)
	VMOVUPD(hi, s.acc.Offset(32))
	VXORPS(s.acc32, s.acc32, s.acc32)
}

func (s *binaryState8) body(prefix string, tail reg.VecVirtual) {
	x := load8(s.at(s.x), tail)
	y := load8(s.at(s.y), tail)

	// t and 1 - t, as binaryState.labels.
	t, omt := YMM(), YMM()
	CMPL(s.smooth, Imm(0))
	JNE(LabelRef(prefix + "_smooth"))
	VMOVAPS(y, t)
	VSUBPS(y, s.one, omt)
	JMP(LabelRef(prefix + "_smoothed"))
	Label(prefix + "_smooth")
	t2 := YMM()
	VBROADCASTSS(Mem{Base: s.k, Disp: bHalfHi}, t)
	VFMADD231PS(s.bcast(bKeepHi), y, t)
	VBROADCASTSS(Mem{Base: s.k, Disp: bHalfLo}, t2)
	VFMADD231PS(s.bcast(bKeepLo), y, t2)
	VADDPS(t2, t, t)
	VBROADCASTSS(Mem{Base: s.k, Disp: bOmhHi}, omt)
	VFMADD231PS(s.bcast(bNegKeepHi), y, omt)
	VBROADCASTSS(Mem{Base: s.k, Disp: bOmhLo}, t2)
	VFMADD231PS(s.bcast(bNegKeepLo), y, t2)
	VADDPS(t2, omt, omt)
	Label(prefix + "_smoothed")

	// q = clip(x, eps, 1-eps), NaN staying NaN.
	q, c := YMM(), YMM()
	eps := s.bcast(bEps)
	VCMPPS(Imm(cmpLT), eps, x, c)
	VBLENDVPS(c, eps, x, q)
	epsHi := s.bcast(bEpsHi)
	VCMPPS(Imm(cmpGT), epsHi, q, c)
	VBLENDVPS(c, epsHi, q, q)
	omq := YMM()
	VSUBPS(q, s.one, omq)
	// bce = 0 - (t*log q + (1-t)*(log(1-q) + lo)), lo the rounding error of
	// 1 - q.
	bce := logUnit8(q)
	VMULPS(t, bce, bce)
	lq := logUnit8(omq)
	lo := YMM()
	VSUBPS(omq, s.one, lo)
	VSUBPS(q, lo, lo)
	VADDPS(lo, lq, lq)
	VMULPS(omt, lq, lq)
	VADDPS(lq, bce, bce)
	VSUBPS(bce, s.zero, bce)
	// u = t*(1-x) + (1-t)*x.
	u, tmp := YMM(), YMM()
	VSUBPS(x, s.one, u)
	VMULPS(t, u, u)
	VMULPS(x, omt, tmp)
	VADDPS(tmp, u, u)

	pow, dpow := YMM(), YMM()
	if s.powKind == "pow0" {
		VMOVAPS(s.one, pow)
		VMOVAPS(s.zero, dpow)
	} else {
		pm1 := u
		if s.powKind != "pow2" {
			pm1 = YMM()
			base := YMM()
			VMOVAPS(s.one, pm1)
			VMOVAPS(u, base)
			squareLoop(prefix, s.nPow, pm1, base)
		}
		VMULPS(u, pm1, pow)
		// An infinite u^gamma takes the Go kernel's own path.
		VANDPS(v8("absmask", 0x7fffffff), pow, tmp)
		VCMPPS(Imm(0), v8("inf", 0x7f800000), tmp, tmp) // == +Inf
		ob := GP32()
		VMOVMSKPS(tmp, ob)
		TESTL(ob, ob)
		JNZ(LabelRef(s.bail))
		VMULPS(s.bcast(bGamma), pm1, dpow)
		VSUBPS(u, u, u) // 0, or NaN for an infinite u
		VADDPS(u, dpow, dpow)
	}

	// a: 1, one alpha, or alpha[c].
	a := YMM()
	CMPL(s.alphaK, Imm(1))
	JEQ(LabelRef(prefix + "_alpha1"))
	JA(LabelRef(prefix + "_alphas"))
	VMOVAPS(s.one, a)
	JMP(LabelRef(prefix + "_alphadone"))
	Label(prefix + "_alpha1")
	VMULPS(s.bcast(bAlpha), t, a)
	VMULPS(s.bcast(bAlphaNeg), omt, tmp)
	VADDPS(tmp, a, a)
	JMP(LabelRef(prefix + "_alphadone"))
	Label(prefix + "_alphas")
	av := load8(s.at(s.a), tail)
	VMULPS(av, t, a)
	avn := load8(s.at(s.an), tail)
	VMULPS(avn, omt, tmp)
	VADDPS(tmp, a, a)
	Label(prefix + "_alphadone")

	// term = a*pow*bce + (x - x), NaN for a NaN or infinite x.
	poison := YMM()
	VSUBPS(x, x, poison)
	VMULPS(pow, a, tmp)
	VMULPS(bce, tmp, tmp)
	VADDPS(poison, tmp, tmp)
	if tail != nil {
		VANDPS(tail, tmp, tmp)
	}
	VADDPS(tmp, s.acc32, s.acc32)

	if s.grad {
		// dbce = (q - t) / (q*(1-q)) where eps <= x <= 1-eps, else 0.
		inClip := YMM()
		VCMPPS(Imm(cmpGE), s.bcast(bEps), x, inClip)
		VCMPPS(Imm(cmpLE), s.bcast(bEpsHi), x, tmp)
		VANDPS(tmp, inClip, inClip)
		VMULPS(omq, q, omq) // q*(1-q)
		VSUBPS(t, q, q)     // q - t
		VDIVPS(omq, q, q)
		VANDPS(inClip, q, q) // dbce
		// g = scale*a*(dpow*(1-2t)*bce + pow*dbce) + poison.
		VADDPS(t, t, t)
		VSUBPS(t, s.one, t) // 1 - 2t
		VMULPS(t, dpow, dpow)
		VMULPS(bce, dpow, dpow)
		VMULPS(q, pow, pow)
		VADDPS(pow, dpow, dpow)
		VMULPS(s.bcast(bScale), a, a)
		VMULPS(dpow, a, a)
		VADDPS(poison, a, a)
		if tail != nil {
			VMASKMOVPS(a, tail, s.at(s.g))
		} else {
			VMOVUPS(a, s.at(s.g))
		}
	}
}
