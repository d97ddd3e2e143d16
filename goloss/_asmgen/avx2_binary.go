package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The AVX2 form of the float32 binary loops, on probabilities and on
// logits, for every gamma: the AVX-512 kernels' steps (avx512_binary.go)
// on 8 float32 lanes, with vector masks and the float64 sums on the stack
// (AVX2 instructions reach only 16 vector registers), a fourth loop
// for non-integer gamma (u^gamma = exp(gamma*log u), avx2_math.go), and
// an ignore value (SPEC "Partial labels"): lanes whose label equals it add
// nothing and get a zero gradient (the AVX-512 kernels have none).

// bIgnore is the offset in k of the ignore value, float32, NaN without one
// (read by the AVX2 loops only).
const bIgnore = 88

type binaryState8 struct {
	grad              bool
	g, y, x, a, an, k reg.Register
	off               reg.Register
	smooth, alphaK    reg.Register
	nPow              reg.Register
	zero, one, acc32  reg.VecVirtual
	acc               Mem
	powKind, bail     string
	logits            bool
	real              reg.Register
	spill             Mem  // stack slots for values live across the powR loop's exp and log
	known             Mem  // the stack slot of the known lanes' mask (with ignore)
	ignore            bool // the kernel of calls with an ignore value
}

// keeping runs fn with regs kept on the stack in the powR loop (keepOnStack).
func (s *binaryState8) keeping(regs []reg.VecVirtual, fn func()) {
	keepOnStack(s.spill, s.powKind == "powR", regs, fn)
}

func (s *binaryState8) at(base reg.Register) Mem { return Mem{Base: base, Index: s.off, Scale: 1} }

func (s *binaryState8) bcast(off int) reg.VecVirtual {
	v := YMM()
	VBROADCASTSS(Mem{Base: s.k, Disp: off}, v)
	return v
}

// binaryKernel8 emits one of the 8 kernels: loss or loss and gradient, on
// probabilities or logits, with or without an ignore value (the kernels
// without one are those from before ignore values, which do not pay for
// the mask of known lanes).
func binaryKernel8(grad, logits, ignore bool) {
	input, what, ref := "Prob", "probabilities", "binaryProbRow"
	if logits {
		input, what, ref = "Logits", "logits", "binaryLogitsRow"
	}
	if ignore {
		input += "Ignore"
	}
	name, sig := "Binary"+input+"LossF32", "func(y, x, alpha, alphaNeg []float32, k *[23]uint32, acc *[8]float64) (bail bool)"
	if grad {
		name, sig = "Binary"+input+"GradF32", "func(g, y, x, alpha, alphaNeg []float32, k *[23]uint32, acc *[8]float64) (bail bool)"
	}
	scaleDoc := "scale 1/C."
	if ignore {
		scaleDoc = "scale the row's 1/K; a label equal to its ignore value adds nothing and gets a zero gradient."
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" runs the binary variant over one row of len(x) float32",
		what+" on 8 float32 lanes, as "+ref+" computes it in float32",
		"(the float32 steps of the AVX-512 kernels): it stores in acc the float64",
		"lane sums of the loss terms (lanes 0-3, 4-7)"+map[bool]string{true: " and writes the gradient into g", false: ""}[grad]+".",
		"It returns true, having stopped, where u^gamma overflows, for the",
		"portable row to take over. k is goloss's binaryVector.asmConsts, its",
		scaleDoc+" alpha and alphaNeg are read for per-class alpha only.",
		"Tested against "+ref+" to SPEC's float32 tolerance",
		"(TestBinaryAsmMatchesReference, TestBinaryKernelsUnknownLabels).")
	s := &binaryState8{grad: grad, bail: name + "_bail", logits: logits, ignore: ignore}
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
	s.real = GP32()
	MOVL(Mem{Base: s.k, Disp: bReal}, s.real)
	s.zero, s.one, s.acc32 = YMM(), YMM(), YMM()
	VXORPS(s.zero, s.zero, s.zero)
	VMOVUPS(v8f("one", 1), s.one)
	VXORPS(s.acc32, s.acc32, s.acc32)
	s.acc = AllocLocal(64)
	s.spill = AllocLocal(32 * 6)
	if ignore {
		s.known = AllocLocal(32)
	}
	VMOVUPD(s.zero, s.acc)
	VMOVUPD(s.zero, s.acc.Offset(32))

	TESTL(s.real, s.real)
	JNZ(LabelRef(name + "_powR"))
	CMPQ(s.nPow, Imm(2))
	JEQ(LabelRef(name + "_pow2"))
	TESTQ(s.nPow, s.nPow)
	JEQ(LabelRef(name + "_pow0"))
	powLoops8(name, []string{"powN", "pow2", "pow0", "powR"}, n, func(kind string) (reg.Register, func(string, reg.VecVirtual), func()) {
		s.powKind = kind
		s.off = GP64()
		XORQ(s.off, s.off)
		return s.off, s.body, nil
	}, s.flush)
	s.flush()
	w8.storeSums(s.acc, accp, 2)
	returnOrBail(s.bail)
}

func (s *binaryState8) flush() { w8.flushLanes(s.acc32, s.acc) }

// labels returns t = y*keep + half and 1 - t = (1-half) - y*keep, as
// binaryState.labels does.
func (s *binaryState8) labels(prefix string, y reg.VecVirtual) (t, omt reg.VecVirtual) {
	t, omt = YMM(), YMM()
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
	return t, omt
}

// bailIfInf leaves the function through its bail label where a lane of
// pow is infinite.
func (s *binaryState8) bailIfInf(pow reg.VecVirtual) {
	tmp := YMM()
	VANDPS(v8("absmask", 0x7fffffff), pow, tmp)
	VCMPPS(Imm(0), v8("inf", 0x7f800000), tmp, tmp) // == +Inf
	ob := GP32()
	VMOVMSKPS(tmp, ob)
	TESTL(ob, ob)
	JNZ(LabelRef(s.bail))
}

// powers returns pow = u^gamma and dpow = d(u^gamma)/du for the loop's kind
// of gamma, with binaryConstants.focal's limits: dpow = gamma*u^(gamma-1)
// + (u - u) for integer gamma; for other gamma gamma*pow/u where u != 0,
// 0 where u = 0, and gamma*u^(gamma-1) computed directly where u^gamma is
// below the normal range. u is overwritten.
func (s *binaryState8) powers(prefix string, u reg.VecVirtual) (pow, dpow reg.VecVirtual) {
	pow, dpow = YMM(), YMM()
	switch s.powKind {
	case "pow0":
		VMOVAPS(s.one, pow)
		VMOVAPS(s.zero, dpow)
		return pow, dpow
	case "powR":
		k := func(off int) Mem { return Mem{Base: s.k, Disp: off} }
		p, lu, lub := powReal8(u, k(bGamma), k(bGammaLo))
		pow = p
		s.bailIfInf(pow)
		nonzero := YMM()
		VCMPPS(Imm(cmpNEQ), s.zero, u, nonzero)
		VMULPS(s.bcast(bGamma), pow, dpow)
		VDIVPS(u, dpow, dpow)
		VANDPS(nonzero, dpow, dpow)
		low := YMM()
		VCMPPS(Imm(cmpLT), v8f("minnormal", 0x1p-126), pow, low)
		VANDPS(nonzero, low, low)
		lb := GP32()
		VMOVMSKPS(low, lb)
		TESTL(lb, lb)
		JZ(LabelRef(prefix + "_nolow"))
		// u^gamma underflowed (or lost digits) where u^(gamma-1) may not
		// have.
		t, g := YMM(), YMM()
		VBROADCASTSS(k(bGm1Lo), g)
		VMULPS(g, lub, t)
		VBROADCASTSS(k(bGm1Hi), g)
		VFMADD231PS(g, lu, t)
		dpm1 := w8.exp(t)
		VMULPS(s.bcast(bGamma), dpm1, dpm1)
		VSUBPS(u, u, t)
		VADDPS(t, dpm1, dpm1)
		VBLENDVPS(low, dpm1, dpow, dpow)
		Label(prefix + "_nolow")
		return pow, dpow
	}
	pm1 := u
	if s.powKind != "pow2" {
		pm1 = YMM()
		base := YMM()
		VMOVAPS(s.one, pm1)
		VMOVAPS(u, base)
		squareLoop(prefix, s.nPow, pm1, base)
	}
	VMULPS(u, pm1, pow)
	// An infinite u^gamma takes the portable row.
	s.bailIfInf(pow)
	VMULPS(s.bcast(bGamma), pm1, dpow)
	VSUBPS(u, u, u) // 0, or NaN for an infinite u
	VADDPS(u, dpow, dpow)
	return pow, dpow
}

// balance returns a: 1, one alpha, or alpha[c], as binaryState.balance.
func (s *binaryState8) balance(prefix string, tail, t, omt reg.VecVirtual) reg.VecVirtual {
	a, tmp := YMM(), YMM()
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
	av := w8.load(s.at(s.a), tail)
	VMULPS(av, t, a)
	avn := w8.load(s.at(s.an), tail)
	VMULPS(avn, omt, tmp)
	VADDPS(tmp, a, a)
	Label(prefix + "_alphadone")
	return a
}

// accumulate adds term = a*pow*bce + poison, where known, to the block's
// float32 sums and returns poison = x - x (0, or NaN for a NaN or infinite
// x).
func (s *binaryState8) accumulate(tail, x, a, pow, bce reg.VecVirtual) reg.VecVirtual {
	poison, tmp := YMM(), YMM()
	VSUBPS(x, x, poison)
	VMULPS(pow, a, tmp)
	VMULPS(bce, tmp, tmp)
	VADDPS(poison, tmp, tmp)
	if s.ignore {
		VANDPS(s.known, tmp, tmp)
	} else if tail != nil {
		VANDPS(tail, tmp, tmp)
	}
	VADDPS(tmp, s.acc32, s.acc32)
	return poison
}

// storeGrad writes g = scale*a*(dpow*du*bce + pow*dbce) + poison, 0 where
// not known; it overwrites its arguments.
func (s *binaryState8) storeGrad(tail, a, pow, dpow, du, bce, dbce, poison reg.VecVirtual) {
	VMULPS(du, dpow, dpow)
	VMULPS(bce, dpow, dpow)
	VMULPS(dbce, pow, pow)
	VADDPS(pow, dpow, dpow)
	VMULPS(s.bcast(bScale), a, a)
	VMULPS(dpow, a, a)
	VADDPS(poison, a, a)
	if s.ignore {
		VANDPS(s.known, a, a)
	}
	if tail != nil {
		VMASKMOVPS(a, tail, s.at(s.g))
	} else {
		VMOVUPS(a, s.at(s.g))
	}
}

// knownLabels loads the labels of the current vector and stores the mask
// of the known lanes: loaded, and with a label other than the ignore value
// (every label, without one: the value is NaN). Unknown labels become 0,
// so that nothing below meets them; their lanes are masked out.
func (s *binaryState8) knownLabels(tail reg.VecVirtual) reg.VecVirtual {
	y := w8.load(s.at(s.y), tail)
	if !s.ignore {
		return y // every loaded lane is known
	}
	known := YMM()
	VCMPPS(Imm(cmpNEQ), s.bcast(bIgnore), y, known)
	if tail != nil {
		VANDPS(tail, known, known)
	}
	VANDPS(known, y, y)
	VMOVUPS(known, s.known)
	return y
}

func (s *binaryState8) body(prefix string, tail reg.VecVirtual) {
	if s.logits {
		s.logitsBody(prefix, tail)
		return
	}
	x := w8.load(s.at(s.x), tail)
	y := s.knownLabels(tail)
	t, omt := s.labels(prefix, y)

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
	lo := YMM()
	VSUBPS(omq, s.one, lo)
	VSUBPS(q, lo, lo)
	bce := s.crossEntropy(prefix, y, t, omt, q, omq, lo)
	// u = t*(1-x) + (1-t)*x.
	u, tmp := YMM(), YMM()
	VSUBPS(x, s.one, u)
	VMULPS(t, u, u)
	VMULPS(x, omt, tmp)
	VADDPS(tmp, u, u)

	var pow, dpow reg.VecVirtual
	s.keeping([]reg.VecVirtual{x, t, omt, q, omq, bce}, func() { pow, dpow = s.powers(prefix, u) })
	a := s.balance(prefix, tail, t, omt)
	poison := s.accumulate(tail, x, a, pow, bce)
	if s.grad {
		// dbce = (q - t) / (q*(1-q)) where eps <= x <= 1-eps, else 0;
		// du = 1 - 2t.
		inClip := YMM()
		VCMPPS(Imm(cmpGE), s.bcast(bEps), x, inClip)
		VCMPPS(Imm(cmpLE), s.bcast(bEpsHi), x, tmp)
		VANDPS(tmp, inClip, inClip)
		VMULPS(omq, q, omq) // q*(1-q)
		VSUBPS(t, q, q)     // q - t
		VDIVPS(omq, q, q)
		VANDPS(inClip, q, q) // dbce
		VADDPS(t, t, t)
		VSUBPS(t, s.one, t) // 1 - 2t
		s.storeGrad(tail, a, pow, dpow, t, bce, q, poison)
	}
}

// crossEntropy returns bce = 0 - (t*log q + (1-t)*(log(1-q) + lo)). A
// vector whose labels are all 0 or 1, without label smoothing (hard labels,
// the usual case), takes one log per lane: 0 - log q where t = 1, 0 -
// (log(1-q) + lo) where t = 0, the same bits as the two logs give there
// (the other term is a zero, as q and 1-q are at least eps). Other vectors
// take both logs. lo is overwritten.
func (s *binaryState8) crossEntropy(prefix string, y, t, omt, q, omq, lo reg.VecVirtual) reg.VecVirtual {
	bce := YMM()
	CMPL(s.smooth, Imm(0))
	JNE(LabelRef(prefix + "_soft"))
	one, hard := YMM(), YMM()
	VCMPPS(Imm(0), s.one, y, one) // y == 1
	VCMPPS(Imm(0), s.zero, y, hard)
	VORPS(one, hard, hard)
	hb := GP32()
	VMOVMSKPS(hard, hb)
	CMPL(hb, U8(0xff))
	JNE(LabelRef(prefix + "_soft"))
	v := YMM()
	VBLENDVPS(one, q, omq, v) // y == 1 ? q : 1 - q
	lv := w8.logUnit(v)
	VANDNPS(lo, one, lo) // lo where y == 0, else 0
	VADDPS(lo, lv, lv)
	VSUBPS(lv, s.zero, bce)
	JMP(LabelRef(prefix + "_bce"))
	Label(prefix + "_soft")
	lp := w8.logUnit(q)
	VMULPS(t, lp, lp)
	lq := w8.logUnit(omq)
	VADDPS(lo, lq, lq)
	VMULPS(omt, lq, lq)
	VADDPS(lq, lp, lp)
	VSUBPS(lp, s.zero, bce)
	Label(prefix + "_bce")
	return bce
}

// logitsBody computes one vector of 8 logits at the current offset, as
// binaryState.logitsBody does on 16: e = e^-|z|, r = 1/(1+e), the
// sigmoids r and e*r, log1p(e) (w8.log1pUnit), and bce = max(z, 0) - z*t +
// log1p(e).
func (s *binaryState8) logitsBody(prefix string, tail reg.VecVirtual) {
	z := w8.load(s.at(s.x), tail)
	y := s.knownLabels(tail)
	t, omt := s.labels(prefix, y)

	nabs := YMM()
	VORPS(v8("signbit", 0x80000000), z, nabs) // -|z|
	e := w8.exp(nabs)
	l1p := w8.log1pUnit(e) // first, while few values are live
	w := YMM()
	VADDPS(s.one, e, w)
	r := YMM()
	VDIVPS(w, s.one, r) // 1/(1+e)
	small := YMM()
	VMULPS(r, e, small) // e/(1+e)
	// sig = sigmoid(z), sigNeg = sigmoid(-z): r and e*r, swapped for z < 0.
	neg := YMM()
	VCMPPS(Imm(cmpLT), s.zero, z, neg)
	sig := w8.blend(neg, small, r)
	sigNeg := w8.blend(neg, r, small)
	// bce = (max(z, 0) - z*t) + log1p(e).
	bce := YMM()
	VMAXPS(s.zero, z, bce)
	VMULPS(t, z, r)
	VSUBPS(r, bce, bce)
	VADDPS(l1p, bce, bce)
	// u = t*sigNeg + (1-t)*sig.
	u, tmp := YMM(), YMM()
	VMULPS(sigNeg, t, u)
	VMULPS(sig, omt, tmp)
	VADDPS(tmp, u, u)

	var pow, dpow reg.VecVirtual
	s.keeping([]reg.VecVirtual{z, t, omt, sig, sigNeg, bce}, func() { pow, dpow = s.powers(prefix, u) })
	a := s.balance(prefix, tail, t, omt)
	poison := s.accumulate(tail, z, a, pow, bce)
	if s.grad {
		// du = (1 - 2t)*sig*sigNeg; dbce = (1-t)*sig - t*sigNeg.
		du := YMM()
		VADDPS(t, t, du)
		VSUBPS(du, s.one, du)
		VMULPS(sig, du, du)
		VMULPS(sigNeg, du, du)
		VMULPS(sig, omt, omt)
		VMULPS(sigNeg, t, t)
		VSUBPS(t, omt, omt) // dbce
		s.storeGrad(tail, a, pow, dpow, du, bce, omt, poison)
	}
}
