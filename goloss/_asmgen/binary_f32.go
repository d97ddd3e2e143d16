package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The float32 binary kernels for every gamma, on probabilities and on
// logits, one description for both widths (vec.go): internal/avx2's on 8
// lanes and internal/avx512's on 16. Keras's float32 steps: the smoothed
// label and the clip, the logs (one per element for a vector of hard
// labels), u = 1 - pt and u^gamma in float32 (integer gamma by squaring,
// 0 and 2 in loops of their own, others as exp(gamma*log u),
// vec.powReal), the loss terms summed in float32 over blocks of sumBlock
// vectors and widened into float64 lane sums on the stack (AVX2
// instructions reach only 16 vector registers), and for the kernels with
// an ignore value (SPEC "Partial labels") lanes whose label equals it add
// nothing and get a zero gradient. (Until the descriptions were shared,
// AVX-512 had hand-written kernels for integer gamma; these are as fast or
// faster on the AMD EPYC family 25 model 17 of BENCHMARKS.md.)

// Offsets in the constants array of the binary kernels (goloss's
// binaryVector.asmConsts, vector_consts.go): float32 words, then int32
// flags and the int64 integer gamma.
const (
	bKeepHi    = 0
	bKeepLo    = 4
	bNegKeepHi = 8
	bNegKeepLo = 12
	bHalfHi    = 16
	bHalfLo    = 20
	bOmhHi     = 24
	bOmhLo     = 28
	bEps       = 32
	bEpsHi     = 36
	bGamma     = 40
	bScale     = 44
	bAlpha     = 48
	bAlphaNeg  = 52
	bSmooth    = 56
	bAlphaKind = 60
	bPowN      = 64
	// A flag for non-integer gamma, and gamma - gamma_hi, gamma - 1 as a
	// pair hi, lo.
	bReal    = 72
	bGammaLo = 76
	bGm1Hi   = 80
	bGm1Lo   = 84
)

// bIgnore is the offset in k of the ignore value, float32, NaN without one
// (read by the kernels with an ignore value only).
const bIgnore = 88

type binaryRowState struct {
	w                 *vec
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
func (s *binaryRowState) keeping(regs []reg.VecVirtual, fn func()) {
	s.w.keepOnStack(s.spill, s.powKind == "powR", regs, fn)
}

func (s *binaryRowState) at(base reg.Register) Mem { return Mem{Base: base, Index: s.off, Scale: 1} }

func (s *binaryRowState) bcast(off int) reg.VecVirtual {
	v := s.w.V()
	VBROADCASTSS(Mem{Base: s.k, Disp: off}, v)
	return v
}

// binaryKernels declares the 8 kernels of one width: loss or loss and
// gradient, probabilities or logits, with or without an ignore value (the
// kernels without one do not pay for the mask of known lanes).
func binaryKernels(w *vec) {
	for _, ignore := range []bool{false, true} {
		for _, logits := range []bool{false, true} {
			for _, grad := range []bool{true, false} {
				binaryRowKernel(w, grad, logits, ignore)
			}
		}
	}
}

// binaryRowKernel emits one kernel of the width w.
func binaryRowKernel(w *vec, grad, logits, ignore bool) {
	input, what, ref := "Prob", "probabilities", "binaryProbRow"
	if logits {
		input, what, ref = "Logits", "logits", "binaryLogitsRow"
	}
	if ignore {
		input += "Ignore"
	}
	accType := fmt.Sprintf("*[%d]float64", w.lanes)
	name, sig := "Binary"+input+"LossF32", "func(y, x, alpha, alphaNeg []float32, k *[23]uint32, acc "+accType+") (bail bool)"
	if grad {
		name, sig = "Binary"+input+"GradF32", "func(g, y, x, alpha, alphaNeg []float32, k *[23]uint32, acc "+accType+") (bail bool)"
	}
	scaleDoc := "scale 1/C."
	if ignore {
		scaleDoc = "scale the row's 1/K; a label equal to its ignore value adds nothing and gets a zero gradient."
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" runs the binary variant over one row of len(x) float32",
		fmt.Sprintf("%s on %d float32 lanes, as %s computes it in float32", what, w.lanes, ref),
		"(the float32 steps of the AVX-512 kernels): it stores in acc the float64",
		fmt.Sprintf("lane sums of the loss terms (lanes 0-%d, %d-%d)", w.lanes/2-1, w.lanes/2, w.lanes-1)+map[bool]string{true: " and writes the gradient into g", false: ""}[grad]+".",
		"It returns true, having stopped, where u^gamma overflows, for the",
		"portable row to take over. k is goloss's binaryVector.asmConsts, its",
		scaleDoc+" alpha and alphaNeg are read for per-class alpha only.",
		"Tested against "+ref+" to SPEC's float32 tolerance",
		"(TestBinaryAsmMatchesReference, TestBinaryKernelsUnknownLabels).")
	s := &binaryRowState{w: w, grad: grad, bail: name + "_bail", logits: logits, ignore: ignore}
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
	s.zero, s.one, s.acc32 = s.w.V(), s.w.V(), s.w.V()
	w.zero(s.zero)
	VMOVUPS(w.cf("one", 1), s.one)
	w.zero(s.acc32)
	vb := w.bytes()
	s.acc = AllocLocal(2 * vb)
	if !w.avx512 { // keepOnStack's slots
		s.spill = AllocLocal(vb * 6)
	}
	if ignore {
		s.known = AllocLocal(w.maskBytes())
	}
	VMOVUPD(s.zero, s.acc)
	VMOVUPD(s.zero, s.acc.Offset(vb))

	powKindJumps(name, s.real, s.nPow)
	w.powLoops(name, []string{"powN", "pow2", "pow0", "powR"}, n, func(kind string) (reg.Register, func(string, reg.Register), func()) {
		s.powKind = kind
		s.off = GP64()
		XORQ(s.off, s.off)
		return s.off, s.body, nil
	}, s.flush)
	s.flush()
	s.w.storeSums(s.acc, accp, 2)
	returnOrBail(s.bail)
}

func (s *binaryRowState) flush() { s.w.flushLanes(s.acc32, s.acc) }

// labels returns t = y*keep + half and 1 - t = (1-half) - y*keep, keep,
// half and 1 - half each as a float32 pair hi + lo (without smoothing t = y
// and 1 - t).
func (s *binaryRowState) labels(prefix string, y reg.VecVirtual) (t, omt reg.VecVirtual) {
	t, omt = s.w.V(), s.w.V()
	CMPL(s.smooth, Imm(0))
	JNE(LabelRef(prefix + "_smooth"))
	VMOVAPS(y, t)
	VSUBPS(y, s.one, omt)
	JMP(LabelRef(prefix + "_smoothed"))
	Label(prefix + "_smooth")
	t2 := s.w.V()
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
func (s *binaryRowState) bailIfInf(pow reg.VecVirtual) { s.w.jumpIfInf(pow, s.bail) }

// powers returns pow = u^gamma and dpow = d(u^gamma)/du for the loop's kind
// of gamma, with binaryConstants.focal's limits: dpow = gamma*u^(gamma-1)
// + (u - u) for integer gamma; for other gamma gamma*pow/u where u != 0,
// 0 where u = 0, and gamma*u^(gamma-1) computed directly where u^gamma is
// below the normal range. u is overwritten.
func (s *binaryRowState) powers(prefix string, u reg.VecVirtual) (pow, dpow reg.VecVirtual) {
	pow, dpow = s.w.V(), s.w.V()
	switch s.powKind {
	case "pow0":
		VMOVAPS(s.one, pow)
		VMOVAPS(s.zero, dpow)
		return pow, dpow
	case "powR":
		k := func(off int) Mem { return Mem{Base: s.k, Disp: off} }
		p, lu, lub := s.w.powReal(u, k(bGamma), k(bGammaLo))
		pow = p
		s.bailIfInf(pow)
		nonzero := s.w.M()
		s.w.cmpTo(cmpNEQ, s.zero, u, nonzero)
		VMULPS(s.bcast(bGamma), pow, dpow)
		VDIVPS(u, dpow, dpow)
		s.w.zeroUnless(nonzero, dpow)
		low := s.w.M()
		s.w.cmpTo(cmpLT, s.w.cf("minnormal", 0x1p-126), pow, low)
		s.w.and(nonzero, low)
		s.w.jumpIfNone(low, prefix+"_nolow")
		// u^gamma underflowed (or lost digits) where u^(gamma-1) may not
		// have.
		t, g := s.w.V(), s.w.V()
		VBROADCASTSS(k(bGm1Lo), g)
		VMULPS(g, lub, t)
		VBROADCASTSS(k(bGm1Hi), g)
		VFMADD231PS(g, lu, t)
		dpm1 := s.w.exp(t)
		VMULPS(s.bcast(bGamma), dpm1, dpm1)
		VSUBPS(u, u, t)
		VADDPS(t, dpm1, dpm1)
		s.w.blendTo(low, dpm1, dpow, dpow)
		Label(prefix + "_nolow")
		return pow, dpow
	}
	pm1 := u
	if s.powKind != "pow2" {
		pm1 = s.w.V()
		base := s.w.V()
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

// balance returns a: 1, one alpha (alpha*t + (1-alpha)*(1-t)), or the
// same with alpha[c].
func (s *binaryRowState) balance(prefix string, tail reg.Register, t, omt reg.VecVirtual) reg.VecVirtual {
	a, tmp := s.w.V(), s.w.V()
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
	av := s.w.load(s.at(s.a), tail)
	VMULPS(av, t, a)
	avn := s.w.load(s.at(s.an), tail)
	VMULPS(avn, omt, tmp)
	VADDPS(tmp, a, a)
	Label(prefix + "_alphadone")
	return a
}

// accumulate adds term = a*pow*bce + poison, where known, to the block's
// float32 sums and returns poison = x - x (0, or NaN for a NaN or infinite
// x).
func (s *binaryRowState) accumulate(tail reg.Register, x, a, pow, bce reg.VecVirtual) reg.VecVirtual {
	poison, tmp := s.w.V(), s.w.V()
	VSUBPS(x, x, poison)
	VMULPS(pow, a, tmp)
	VMULPS(bce, tmp, tmp)
	VADDPS(poison, tmp, tmp)
	if s.ignore {
		s.w.zeroUnlessSpilled(s.known, tmp)
	} else if tail != nil {
		s.w.zeroUnless(tail, tmp)
	}
	VADDPS(tmp, s.acc32, s.acc32)
	return poison
}

// storeGrad writes g = scale*a*(dpow*du*bce + pow*dbce) + poison, 0 where
// not known; it overwrites its arguments.
func (s *binaryRowState) storeGrad(tail reg.Register, a, pow, dpow, du, bce, dbce, poison reg.VecVirtual) {
	VMULPS(du, dpow, dpow)
	VMULPS(bce, dpow, dpow)
	VMULPS(dbce, pow, pow)
	VADDPS(pow, dpow, dpow)
	VMULPS(s.bcast(bScale), a, a)
	VMULPS(dpow, a, a)
	VADDPS(poison, a, a)
	if s.ignore {
		s.w.zeroUnlessSpilled(s.known, a)
	}
	s.w.store(a, s.at(s.g), tail)
}

// knownLabels loads the labels of the current vector and stores the mask
// of the known lanes: loaded, and with a label other than the ignore value
// (every label, without one: the value is NaN). Unknown labels become 0,
// so that nothing below meets them; their lanes are masked out.
func (s *binaryRowState) knownLabels(tail reg.Register) reg.VecVirtual {
	y := s.w.load(s.at(s.y), tail)
	if !s.ignore {
		return y // every loaded lane is known
	}
	known := s.w.M()
	s.w.cmpTo(cmpNEQ, s.bcast(bIgnore), y, known)
	if tail != nil {
		s.w.and(tail, known)
	}
	s.w.zeroUnless(known, y)
	s.w.spillMask(known, s.known)
	return y
}

func (s *binaryRowState) body(prefix string, tail reg.Register) {
	if s.logits {
		s.logitsBody(prefix, tail)
		return
	}
	x := s.w.load(s.at(s.x), tail)
	y := s.knownLabels(tail)
	t, omt := s.labels(prefix, y)

	// q = clip(x, eps, 1-eps), NaN staying NaN.
	q, c := s.w.V(), s.w.M()
	eps := s.bcast(bEps)
	s.w.cmpTo(cmpLT, eps, x, c)
	s.w.blendTo(c, eps, x, q)
	epsHi := s.bcast(bEpsHi)
	s.w.cmpTo(cmpGT, epsHi, q, c)
	s.w.blendTo(c, epsHi, q, q)
	omq := s.w.V()
	VSUBPS(q, s.one, omq)
	// bce = 0 - (t*log q + (1-t)*(log(1-q) + lo)), lo the rounding error of
	// 1 - q.
	lo := s.w.V()
	VSUBPS(omq, s.one, lo)
	VSUBPS(q, lo, lo)
	bce := s.crossEntropy(prefix, y, t, omt, q, omq, lo)
	// u = t*(1-x) + (1-t)*x.
	u, tmp := s.w.V(), s.w.V()
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
		inClip := s.w.M()
		s.w.cmpTo(cmpGE, s.bcast(bEps), x, inClip)
		below := s.w.maskIn(tmp)
		s.w.cmpTo(cmpLE, s.bcast(bEpsHi), x, below)
		s.w.and(below, inClip)
		VMULPS(omq, q, omq) // q*(1-q)
		VSUBPS(t, q, q)     // q - t
		VDIVPS(omq, q, q)
		s.w.zeroUnless(inClip, q) // dbce
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
func (s *binaryRowState) crossEntropy(prefix string, y, t, omt, q, omq, lo reg.VecVirtual) reg.VecVirtual {
	bce := s.w.V()
	CMPL(s.smooth, Imm(0))
	JNE(LabelRef(prefix + "_soft"))
	one, hard := s.w.M(), s.w.M()
	s.w.cmpTo(0, s.one, y, one) // y == 1
	s.w.cmpTo(0, s.zero, y, hard)
	s.w.or(one, hard)
	s.w.jumpIfNotAll(hard, prefix+"_soft")
	v := s.w.V()
	s.w.blendTo(one, q, omq, v) // y == 1 ? q : 1 - q
	lv := s.w.logUnit(v)
	s.w.zeroWhere(one, lo) // lo where y == 0, else 0
	VADDPS(lo, lv, lv)
	VSUBPS(lv, s.zero, bce)
	JMP(LabelRef(prefix + "_bce"))
	Label(prefix + "_soft")
	lp := s.w.logUnit(q)
	VMULPS(t, lp, lp)
	lq := s.w.logUnit(omq)
	VADDPS(lo, lq, lq)
	VMULPS(omt, lq, lq)
	VADDPS(lq, lp, lp)
	VSUBPS(lp, s.zero, bce)
	Label(prefix + "_bce")
	return bce
}

// logitsBody computes one vector of logits at the current offset, as
// binaryLogitsRow does in float32: e = e^-|z|, r = 1/(1+e), the
// sigmoids r and e*r, log1p(e) (s.w.log1pUnit), and bce = max(z, 0) - z*t +
// log1p(e).
func (s *binaryRowState) logitsBody(prefix string, tail reg.Register) {
	z := s.w.load(s.at(s.x), tail)
	y := s.knownLabels(tail)
	t, omt := s.labels(prefix, y)

	sig, sigNeg, l1p, r := s.w.sigmoids(z, s.zero, s.one)
	// bce = (max(z, 0) - z*t) + log1p(e).
	bce := s.w.V()
	VMAXPS(s.zero, z, bce)
	VMULPS(t, z, r)
	VSUBPS(r, bce, bce)
	VADDPS(l1p, bce, bce)
	// u = t*sigNeg + (1-t)*sig.
	u, tmp := s.w.V(), s.w.V()
	VMULPS(sigNeg, t, u)
	VMULPS(sig, omt, tmp)
	VADDPS(tmp, u, u)

	var pow, dpow reg.VecVirtual
	s.keeping([]reg.VecVirtual{z, t, omt, sig, sigNeg, bce}, func() { pow, dpow = s.powers(prefix, u) })
	a := s.balance(prefix, tail, t, omt)
	poison := s.accumulate(tail, z, a, pow, bce)
	if s.grad {
		// du = (1 - 2t)*sig*sigNeg; dbce = (1-t)*sig - t*sigNeg.
		du := s.w.V()
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
