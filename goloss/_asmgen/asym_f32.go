package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The float32 kernels of the asymmetric variant, one description for both
// widths (vec.go): asymmetricRow on 8 float32 lanes with AVX2
// (internal/avx2) and on 16 with AVX-512 (internal/avx512), probabilities
// and logits, one pass over a row, the loss
// terms added in float32 over blocks of sumBlock vectors and widened into
// float64 lane sums (as the binary kernels do), the gradient written as it
// goes. The steps are the reference's, in float32, in the forms that keep
// their digits:
//
//   - 1 - pt of a negative is neg's complement negC = p - m (0 where the
//     shift clamps), and neg = (1 - p) + m, so that neither cancels;
//     log(neg) takes the rounding error of neg as 1 - negC, ((1 - neg) -
//     negC), as log1p(-negC) would;
//   - from logits, sigmoid(z) and sigmoid(-z) are e*r and r with e =
//     e^-|z| and r = 1/(1+e) (swapped for z < 0), log(sigmoid(±z)) =
//     -softplus(∓z) with log1p(e) as in the binary kernels, and the
//     decisions p >= eps, p >= m and (m = 0) 1 - p >= eps are taken on z
//     against the float32 bound at which the reference's float64 sigmoid
//     crosses them (computed in Go), so that the kernels decide as the
//     reference; just above the clip, p - m is p*(1-m)*(1 - e^-(z-zc))
//     (pMinusClip), which keeps the digits that p - m would lose;
//   - the focal weight u^g: for integer gammas by squaring (u^gamma_neg and
//     u^gamma_pos, blended on y = 1), a vector holding a soft label taking
//     exp(g*log u) for it; for other gammas exp(g*log u) in every lane, g =
//     gamma_neg + y*(gamma_pos - gamma_neg); 0^0 = 1.
//
// A vector where u^g overflows, or where exp(g*log u) meets a negative u
// (predictions outside [0, 1], unchecked), stops the row for the reference
// loop to take over.

// Offsets in the constants array k (goloss's asymmetricVector.asmConsts,
// vector_consts.go): float32 words, then int32 flags, then the integer
// gammas as int64.
const (
	aEps       = 0  // eps (1e-8 by default), rounded to float32
	aLogEps    = 4  // log(eps)
	aClip      = 8  // m
	aIgnore    = 12 // the ignore value; NaN without one
	aGammaNeg  = 16 // gamma_neg
	aGammaDiff = 20 // gamma_pos - gamma_neg
	aZEps      = 24 // logits: the least z with sigmoid(z) >= eps
	aZNegEps   = 28 // logits: the least z with 1 - sigmoid(z) < eps
	aZClip     = 32 // logits: the least z with sigmoid(z) >= m
	aClipOff   = 36 // all ones when m = 0 (nothing shifted), else 0
	aGammaPos  = 40 // gamma_pos
	aClipOn    = 44 // int32: 1 when m > 0
	aFocalGrad = 48 // int32: 1 with FocalGrad
	aPowKind   = 52 // int32: 0 both gammas 0 (w = 1), 1 both integers, 2 other
	aNNeg      = 56 // int64: gamma_neg when integer
	aNPos      = 64 // int64: gamma_pos when integer
	// logits, m > 0: zc = logit(m) as a pair hi, lo, the end of the band
	// [zc, zc + 0.35) where p - m is computed from z - zc, and 1 - m.
	aZcHi         = 72
	aZcLo         = 76
	aZNear        = 80
	aOneMinusClip = 84
)

// asymState holds the registers of one generated asymmetric function.
type asymState struct {
	w                   *vec
	grad, logits        bool
	g, y, x, cw, k, off reg.Register
	nNeg, nPos          reg.Register
	clipOn, focalGrad   reg.Register
	zero, one, acc32    reg.VecVirtual
	acc                 Mem // the float64 lane sums
	known, poison, dpdz Mem // stack slots: the known lanes, x-x + y-y, dp/dz from logits
	spill               Mem // stack slots for the terms live across the real powers' exp and log
	powKind, bail       string
}

func (s *asymState) at(base reg.Register) Mem { return Mem{Base: base, Index: s.off, Scale: 1} }

func (s *asymState) bcast(off int) reg.VecVirtual {
	v := s.w.V()
	VBROADCASTSS(Mem{Base: s.k, Disp: off}, v)
	return v
}

// asymKernels declares the four kernels of one width: probabilities and
// logits, with and without the gradient.
func asymKernels(w *vec) {
	for _, logits := range []bool{false, true} {
		for _, grad := range []bool{true, false} {
			asymKernel(w, grad, logits)
		}
	}
}

func asymKernel(w *vec, grad, logits bool) {
	input, what := "Prob", "probabilities"
	if logits {
		input, what = "Logits", "logits"
	}
	accType := fmt.Sprintf("*[%d]float64", w.lanes)
	name, sig := "Asym"+input+"LossF32", "func(y, x, cw []float32, k *[22]uint32, acc "+accType+") (bail bool)"
	if grad {
		name, sig = "Asym"+input+"GradF32", "func(g, y, x, cw []float32, k *[22]uint32, acc "+accType+") (bail bool)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" runs the asymmetric variant over one row of len(x) float32",
		fmt.Sprintf("%s on %d float32 lanes, as asymmetricRow computes it, in float32: it", what, w.lanes),
		fmt.Sprintf("stores in acc the float64 lane sums (lanes 0-%d, %d-%d) of cw*w*ce over the", w.lanes/2-1, w.lanes/2, w.lanes-1),
		"known classes"+map[bool]string{true: " and writes the gradient into g", false: ""}[grad]+"; the loss is minus their sum.",
		"cw holds one class weight per class (all 1 for none). It returns true,",
		"having stopped, where u^g overflows or a real power meets a negative u,",
		"for the reference loop to take over. k is goloss's",
		"asymmetricVector.asmConsts. Tested against asymmetricRow to SPEC's",
		"float32 tolerance (TestAsymmetricKernelsMatchReference).")
	s := &asymState{w: w, grad: grad, logits: logits, bail: name + "_bail"}
	if grad {
		s.g = Load(Param("g").Base(), GP64())
	}
	s.y = Load(Param("y").Base(), GP64())
	s.x = Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	s.cw = Load(Param("cw").Base(), GP64())
	s.k = Load(Param("k"), GP64())
	accp := Load(Param("acc"), GP64())
	s.nNeg, s.nPos = GP64(), GP64()
	MOVQ(Mem{Base: s.k, Disp: aNNeg}, s.nNeg)
	MOVQ(Mem{Base: s.k, Disp: aNPos}, s.nPos)
	s.clipOn, s.focalGrad = GP32(), GP32()
	MOVL(Mem{Base: s.k, Disp: aClipOn}, s.clipOn)
	MOVL(Mem{Base: s.k, Disp: aFocalGrad}, s.focalGrad)
	kind := GP32()
	MOVL(Mem{Base: s.k, Disp: aPowKind}, kind)
	s.zero, s.one, s.acc32 = s.w.V(), s.w.V(), s.w.V()
	w.zero(s.zero)
	VMOVUPS(w.cf("one", 1), s.one)
	w.zero(s.acc32)
	vb := w.bytes()
	s.acc = AllocLocal(2 * vb)
	s.known, s.poison, s.dpdz = AllocLocal(w.maskBytes()), AllocLocal(vb), AllocLocal(vb)
	if !w.avx512 { // AVX-512 keeps them in its 32 registers
		s.spill = AllocLocal(vb*(asymPowSlot+2) + w.maskBytes())
	}
	VMOVUPD(s.zero, s.acc)
	VMOVUPD(s.zero, s.acc.Offset(vb))

	CMPL(kind, Imm(1))
	JEQ(LabelRef(name + "_powI"))
	JA(LabelRef(name + "_powR"))
	w.powLoops(name, []string{"pow0", "powI", "powR"}, n, func(kind string) (reg.Register, func(string, reg.Register), func()) {
		s.powKind = kind
		s.off = GP64()
		XORQ(s.off, s.off)
		return s.off, s.body, nil
	}, s.flush)
	s.flush()
	s.w.storeSums(s.acc, accp, 2)
	returnOrBail(s.bail)
}

func (s *asymState) flush() { s.w.flushLanes(s.acc32, s.acc) }

// asymTerms are the per-lane values of one vector that the focal weight
// and the sums need: the label (0 where unknown), ce, u = 1 - pt and,
// with the gradient, dce/dp and du/dp.
type asymTerms struct {
	y, ce, u, dce, du reg.VecVirtual
}

func (s *asymState) body(prefix string, tail reg.Register) {
	x := s.w.load(s.at(s.x), tail)
	y := s.w.load(s.at(s.y), tail)
	// known: the lanes loaded whose label is not the ignore value (every
	// label is known without one: the value is NaN). Unknown labels become
	// 0, so that nothing below meets them; their lanes are masked out.
	known := s.w.M()
	s.w.cmpTo(cmpNEQ, s.bcast(aIgnore), y, known)
	if tail != nil {
		s.w.and(tail, known)
	}
	s.w.zeroUnless(known, y)
	s.w.spillMask(known, s.known)
	// poison = (x - x) + (y - y): NaN for a non-finite input, else 0.
	poison, t := s.w.V(), s.w.V()
	VSUBPS(x, x, poison)
	VSUBPS(y, y, t)
	VADDPS(t, poison, poison)
	VMOVUPS(poison, s.poison)

	var a asymTerms
	if s.logits {
		a = s.logitTerms(prefix, x, y)
	} else {
		a = s.probTerms(x, y)
	}
	pow, dwce := s.powers(prefix, a)

	cw := s.w.load(s.at(s.cw), tail)
	term := s.w.V()
	VMULPS(pow, cw, term)
	VMULPS(a.ce, term, term)
	VADDPS(s.poison, term, term)
	s.w.zeroUnlessSpilled(s.known, term)
	VADDPS(term, s.acc32, s.acc32)
	if !s.grad {
		return
	}
	// g = -cw*(w*dce + [FocalGrad]*(dw/du*ce)*du)*dp/dz + poison, 0
	// where unknown.
	d := a.dce
	VMULPS(pow, a.dce, d)
	TESTL(s.focalGrad, s.focalGrad)
	JZ(LabelRef(prefix + "_nofocalgrad"))
	VFMADD231PS(a.du, dwce, d)
	Label(prefix + "_nofocalgrad")
	VMULPS(cw, d, d)
	if s.logits {
		VMULPS(s.dpdz, d, d)
	}
	VSUBPS(d, s.zero, d)
	VADDPS(s.poison, d, d)
	s.w.zeroUnlessSpilled(s.known, d)
	s.w.store(d, s.at(s.g), tail)
}

// shifted returns, from pm = p - m and q = 1 - p, the probability
// shifting's mask S = [p >= m] (every lane when m = 0: nothing is
// shifted), negC = 1 - neg = S ? p - m : 0 and neg = S ? q + m : 1.
// shiftMask is S before the clip-off lanes.
func (s *asymState) shifted(shiftMask reg.Register, pm, q reg.VecVirtual) (S reg.Register, negC, neg reg.VecVirtual) {
	S = shiftMask
	if s.w.avx512 {
		off := GP32()
		MOVL(Mem{Base: s.k, Disp: aClipOff}, off)
		all := K()
		KMOVW(off, all)
		KORW(all, S, S)
	} else {
		VORPS(s.bcast(aClipOff), S, S)
	}
	negC, neg = pm, s.w.V()
	s.w.zeroUnless(S, negC)
	VADDPS(s.bcast(aClip), q, neg)
	s.w.blendTo(S, neg, s.one, neg)
	return S, negC, neg
}

// logNeg returns log(max(neg, eps)) plus the rounding error of neg as
// 1 - negC, and, with the gradient, [neg >= eps]/neg.
func (s *asymState) logShifted(neg, negC reg.VecVirtual) (logNeg, dLogNeg reg.VecVirtual) {
	eps := s.bcast(aEps)
	nc := s.w.V()
	VMAXPS(eps, neg, nc)
	logNeg = s.w.logUnitLean(nc) // logPos, q, S and more are live here
	if s.grad {
		dLogNeg = s.w.V()
		VDIVPS(nc, s.one, dLogNeg)
		in := s.w.M()
		s.w.cmpTo(cmpGE, s.bcast(aEps), neg, in)
		s.w.zeroUnless(in, dLogNeg)
	}
	lo := s.w.V()
	VSUBPS(neg, s.one, lo)
	VSUBPS(negC, lo, lo)
	VADDPS(lo, logNeg, logNeg)
	return logNeg, dLogNeg
}

// combine returns ce = y*logPos + (1-y)*logNeg, u = y*q + (1-y)*negC
// and, with the gradient, dce = y*dLogPos - S*(1-y)*dLogNeg and du =
// S*(1-y) - y. It overwrites logPos, dLogPos, dLogNeg and S.
func (s *asymState) combine(y, q reg.VecVirtual, S reg.Register, negC, logPos, logNeg, dLogPos, dLogNeg reg.VecVirtual) asymTerms {
	omy := s.w.V()
	VSUBPS(y, s.one, omy)
	a := asymTerms{y: y, ce: logPos, u: s.w.V()}
	VMULPS(y, logPos, a.ce)
	VFMADD231PS(omy, logNeg, a.ce)
	VMULPS(y, q, a.u)
	VFMADD231PS(omy, negC, a.u)
	if s.grad {
		a.dce = dLogPos
		VMULPS(y, dLogPos, a.dce)
		VMULPS(omy, dLogNeg, dLogNeg)
		s.w.zeroUnless(S, dLogNeg)
		VSUBPS(dLogNeg, a.dce, a.dce)
		a.du = s.w.maskedTo(S, omy, s.w.vecOf(S))
		VSUBPS(y, a.du, a.du)
	}
	return a
}

// probTerms computes the terms of a vector of probabilities p.
func (s *asymState) probTerms(p, y reg.VecVirtual) asymTerms {
	eps := s.bcast(aEps)
	pc := s.w.V()
	VMAXPS(eps, p, pc)
	logPos := s.w.logUnit(pc)
	var dLogPos reg.VecVirtual
	if s.grad {
		dLogPos = s.w.V()
		VDIVPS(pc, s.one, dLogPos)
		in := s.w.M()
		s.w.cmpTo(cmpGE, s.bcast(aEps), p, in)
		s.w.zeroUnless(in, dLogPos)
	}
	q := s.w.V()
	VSUBPS(p, s.one, q)
	sm := s.w.M()
	s.w.cmpTo(cmpGE, s.bcast(aClip), p, sm)
	pm := s.w.V()
	VSUBPS(s.bcast(aClip), p, pm)
	S, negC, neg := s.shifted(sm, pm, q)
	logNeg, dLogNeg := s.logShifted(neg, negC)
	return s.combine(y, q, S, negC, logPos, logNeg, dLogPos, dLogNeg)
}

// logitTerms computes the terms of a vector of logits z. dp/dz = p*(1-p) goes to
// its stack slot.
func (s *asymState) logitTerms(prefix string, z, y reg.VecVirtual) asymTerms {
	p, q, l1p, _ := s.w.sigmoids(z, s.zero, s.one)
	// log p = min(z, 0) - log1p(e) where p >= eps, else log(eps).
	logPos, in := s.w.V(), s.w.M()
	VMINPS(s.zero, z, logPos)
	VSUBPS(l1p, logPos, logPos)
	s.w.cmpTo(cmpGE, s.bcast(aZEps), z, in)
	s.w.blendTo(in, logPos, s.bcast(aLogEps), logPos)
	var dLogPos reg.VecVirtual
	if s.grad {
		dLogPos = s.w.V()
		VDIVPS(p, s.one, dLogPos)
		s.w.zeroUnless(in, dLogPos)
	}
	// Unshifted (m = 0), log(1 - p) = -max(z, 0) - log1p(e) where
	// 1 - p >= eps.
	logNeg0, in0 := s.w.V(), s.w.M()
	VMAXPS(s.zero, z, logNeg0)
	VADDPS(l1p, logNeg0, logNeg0)
	VSUBPS(logNeg0, s.zero, logNeg0)
	s.w.cmpTo(cmpLT, s.bcast(aZNegEps), z, in0)
	s.w.blendTo(in0, logNeg0, s.bcast(aLogEps), logNeg0)
	sm := s.w.M()
	s.w.cmpTo(cmpGE, s.bcast(aZClip), z, sm)
	if s.grad {
		dpdz := s.w.V()
		VMULPS(q, p, dpdz)
		VMOVUPS(dpdz, s.dpdz)
	}
	pm := s.pMinusClip(prefix, z, p)
	S, negC, negv := s.shifted(sm, pm, q)
	logNeg := s.w.V()
	var dLogNeg reg.VecVirtual
	if s.grad {
		dLogNeg = s.w.V()
	}
	TESTL(s.clipOn, s.clipOn)
	JNZ(LabelRef(prefix + "_shift"))
	VMOVAPS(logNeg0, logNeg)
	if s.grad {
		VDIVPS(negv, s.one, dLogNeg)
		s.w.zeroUnless(in0, dLogNeg)
	}
	JMP(LabelRef(prefix + "_shifted"))
	Label(prefix + "_shift")
	ln, dln := s.logShifted(negv, negC)
	VMOVAPS(ln, logNeg)
	if s.grad {
		VMOVAPS(dln, dLogNeg)
	}
	Label(prefix + "_shifted")
	return s.combine(y, q, S, negC, logPos, logNeg, dLogPos, dLogNeg)
}

// pMinusClip returns p - m for the logits z, p = sigmoid(z) in float32,
// clamped at 0 (the float32 p may lie just below m where the reference's
// does not). Near the clip p - m cancels, and the rounding of p is a
// large part of it, which u^g for g < 1 would magnify: there (z in
// [zc, zc + 0.35), zc = logit(m)) it is p*(1-m)*(1 - e^-d) with d = z -
// zc, 1 - e^-d by its Taylor polynomial of degree 7 (within 2^-25 for
// d < 0.35, relative), so that it keeps its digits.
func (s *asymState) pMinusClip(prefix string, z, p reg.VecVirtual) reg.VecVirtual {
	pm := s.w.V()
	VSUBPS(s.bcast(aClip), p, pm)
	VMAXPS(s.zero, pm, pm)
	near, t := s.w.M(), s.w.V()
	above := s.w.maskIn(t)
	s.w.cmpTo(cmpLT, s.bcast(aZNear), z, near)
	s.w.cmpTo(cmpGE, s.bcast(aZClip), z, above)
	s.w.and(above, near)
	s.w.jumpIfNone(near, prefix+"_far")
	d := s.w.V()
	VSUBPS(s.bcast(aZcHi), z, d) // exact: z is near zc
	VSUBPS(s.bcast(aZcLo), d, d)
	VMAXPS(s.zero, d, d)
	VMOVUPS(s.w.cf("em1c7", 1.0/5040), t)
	for i, c := range []float32{-1.0 / 720, 1.0 / 120, -1.0 / 24, 1.0 / 6, -0.5, 1} {
		VFMADD213PS(s.w.cf(fmt.Sprintf("em1c%d", 6-i), c), d, t)
	}
	VMULPS(d, t, t) // 1 - e^-d
	VMULPS(s.bcast(aOneMinusClip), t, t)
	VMULPS(p, t, t)
	s.w.blendTo(near, t, pm, pm)
	Label(prefix + "_far")
	return pm
}

// bailIfInf leaves the function through its bail label where a lane of
// pow is infinite.
func (s *asymState) bailIfInf(pow reg.VecVirtual) { s.w.jumpIfInf(pow, s.bail) }

// powers returns w = u^g and, with the gradient, dwce = dw/du * ce (nil
// without the gradient) for the loop's kind of gammas.
func (s *asymState) powers(prefix string, a asymTerms) (pow, dpow reg.VecVirtual) {
	pow = s.w.V()
	if s.grad {
		dpow = s.w.V()
	}
	switch s.powKind {
	case "pow0":
		VMOVAPS(s.one, pow)
		if s.grad {
			s.w.zero(dpow)
		}
	case "powR":
		s.keeping(a, func() {
			pw, dpw := s.powReal(prefix, a.u, a.y, a.ce)
			VMOVAPS(pw, pow)
			if s.grad {
				VMOVAPS(dpw, dpow)
			}
		})
	case "powI":
		pn, dpn := s.powInt(prefix+"_neg", a.u, s.nNeg, aGammaNeg)
		pp, dpp := s.powInt(prefix+"_pos", a.u, s.nPos, aGammaPos)
		isPos := s.w.M()
		s.w.cmpTo(0, s.one, a.y, isPos) // y == 1
		s.w.blendTo(isPos, pp, pn, pow)
		if s.grad {
			s.w.blendTo(isPos, dpp, dpn, dpow)
			VMULPS(a.ce, dpow, dpow)
		}
		s.bailIfInf(pow)
		// A vector holding a soft label takes u^g = exp(g*log u) there.
		hard := s.w.maskIn(pn)
		s.w.cmpTo(0, s.zero, a.y, hard) // y == 0
		s.w.or(isPos, hard)
		s.w.jumpIfAll(hard, prefix+"_hard")
		s.keeping(a, func() {
			heldPow := s.w.hold(pow, s.slot(asymPowSlot))
			var heldDpow Op
			if s.grad {
				heldDpow = s.w.hold(dpow, s.slot(asymPowSlot+1))
			}
			s.w.holdMask(hard, s.slot(asymPowSlot+2)) // a mask's size
			pw, dpw := s.powReal(prefix, a.u, a.y, a.ce)
			hm := s.w.heldMask(hard, s.slot(asymPowSlot+2))
			s.w.blendTo(hm, heldPow, pw, pow)
			if s.grad {
				s.w.blendTo(hm, heldDpow, dpw, dpow)
			}
		})
		Label(prefix + "_hard")
	}
	return pow, dpow
}

// The spill slots: the live terms in 0 to 5, then the integer powers and
// the mask of hard labels.
const asymPowSlot = 6

func (s *asymState) slot(i int) Mem { return s.spill.Offset(s.w.bytes() * i) }

// live lists the terms that the sums need after the focal weight (at most
// asymPowSlot), which the real powers' exp and log keep on the stack on
// AVX2 (AVX-512 keeps them in registers).
func (s *asymState) live(a asymTerms) []reg.VecVirtual {
	regs := []reg.VecVirtual{a.ce, a.y, a.u}
	if s.grad {
		regs = append(regs, a.dce, a.du)
	}
	return regs
}

// keeping runs fn, the real powers' exp and log, with the live terms of a
// in the first spill slots on AVX2 (keepOnStack).
func (s *asymState) keeping(a asymTerms, fn func()) {
	s.w.keepOnStack(s.spill, true, s.live(a), fn)
}

// powInt returns u^n and, with the gradient, n*u^(n-1) for the integer n
// in the register nPow (n as a float32 at offset gammaOff of k): 1 and 0
// for n = 0.
func (s *asymState) powInt(prefix string, u reg.VecVirtual, nPow reg.Register, gammaOff int) (pow, dpow reg.VecVirtual) {
	pow = s.w.V()
	if s.grad {
		dpow = s.w.V()
	}
	TESTQ(nPow, nPow)
	JNZ(LabelRef(prefix + "_n"))
	VMOVAPS(s.one, pow)
	if s.grad {
		s.w.zero(dpow)
	}
	JMP(LabelRef(prefix + "_pdone"))
	Label(prefix + "_n")
	pm1, base := s.w.V(), s.w.V()
	VMOVAPS(s.one, pm1)
	VMOVAPS(u, base)
	squareLoop(prefix, nPow, pm1, base)
	VMULPS(u, pm1, pow)
	if s.grad {
		VMULPS(s.bcast(gammaOff), pm1, dpow)
	}
	Label(prefix + "_pdone")
	return pow, dpow
}

// powReal returns u^g = exp(g*log u) with g = gamma_neg + y*(gamma_pos -
// gamma_neg) per lane, 1 where g = 0 (0^0 = 1), and, with the gradient,
// dw/du*ce as the reference computes it: g*u^g*(ce/u) (no overflow of
// u^(g-1) for g < 1 and a tiny u: |ce/u| stays near 1 or below
// -log(eps)/u's bound), 0 where u = 0 or g = 0, g*exp((g-1)*log u)*ce
// where u^g is below float32's normal range. A negative u (a prediction
// outside [0, 1]) leaves through the bail label.
func (s *asymState) powReal(prefix string, u, y, ce reg.VecVirtual) (pow, dpow reg.VecVirtual) {
	s.w.jumpIfAnySign(u, s.bail)
	g := s.w.V()
	VBROADCASTSS(Mem{Base: s.k, Disp: aGammaNeg}, g)
	VFMADD231PS(s.bcast(aGammaDiff), y, g)
	lu := s.w.logFull(u)
	t := s.w.V()
	VMULPS(g, lu, t)
	pow = s.w.exp(t)
	gz := s.w.M()
	s.w.cmpTo(0, s.zero, g, gz)
	s.w.blendTo(gz, s.one, pow, pow)
	s.bailIfInf(pow)
	if !s.grad {
		return pow, nil
	}
	dpow = s.w.V()
	s.w.zero(dpow)
	TESTL(s.focalGrad, s.focalGrad)
	JZ(LabelRef(prefix + "_nodpow"))
	nonzero := s.w.M()
	s.w.cmpTo(cmpNEQ, s.zero, u, nonzero)
	s.w.andNot(nonzero, gz) // u != 0 and g != 0
	VDIVPS(u, ce, dpow)     // ce/u
	VMULPS(pow, dpow, dpow)
	VMULPS(g, dpow, dpow)
	s.w.zeroUnless(nonzero, dpow)
	low := s.w.M()
	s.w.cmpTo(cmpLT, s.w.cf("minnormal", 0x1p-126), pow, low)
	s.w.and(nonzero, low)
	s.w.jumpIfNone(low, prefix+"_nodpow")
	// u^g underflowed (or lost digits) where u^(g-1) may not have.
	gm1 := s.w.V()
	VSUBPS(s.one, g, gm1)
	VMULPS(lu, gm1, gm1)
	dpm1 := s.w.exp(gm1)
	VMULPS(g, dpm1, dpm1)
	VMULPS(ce, dpm1, dpm1)
	s.w.blendTo(low, dpm1, dpow, dpow)
	Label(prefix + "_nodpow")
	return pow, dpow
}
