package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The AVX2 float64 kernels of the asymmetric variant: asymmetricRow on 4
// float64 lanes, probabilities and logits, one pass over a row, the loss
// terms in a float64 lane accumulator, the gradient written as it goes.
// Each step is the reference's operation, with the float64 log, log1p and
// exp of the binary64 kernels (avx2_binary64.go), except:
//
//   - log1p(-negC) is log(neg) plus the rounding error of neg = 1 - negC,
//     ((1 - neg) - negC), which is what log1p would add;
//   - from logits, sigmoid(-|z|) is e * (1/(1+e)) (as the binary64
//     kernels), and each decision on p (p >= eps, 1 - p >= eps, p >= m) is
//     taken on z against the float64 bound at which the reference's
//     sigmoid crosses it (computed in Go), so that it is the reference's;
//   - u^g for integer gammas is repeated squaring (as math.Pow does), and
//     dw/du = g*u^(g-1) by squaring too; for other gammas, and soft
//     labels, exp(g*log u) with g = gamma_neg + y*(gamma_pos - gamma_neg),
//     and dw/du*ce = g*w*(ce/u) as the reference computes it (or
//     g*exp((g-1)*log u)*ce where w is subnormal).
//
// A vector with a u outside [0, 1] or an infinite u^g (labels or
// predictions outside [0, 1], unchecked) stops the row for the reference
// loop to take over.

// Offsets in the constants array k of the float64 asymmetric kernels (the
// Go side: asymmetric64Consts in goloss/asymmetric64_amd64.go): 4-lane
// float64 vectors, then int64 scalars.
const (
	a64Eps       = 32 * iota // eps
	a64LogEps                // log(eps)
	a64Clip                  // m
	a64Ignore                // the ignore value, NaN without one
	a64GammaNeg              // gamma_neg
	a64GammaDiff             // gamma_pos - gamma_neg
	a64ZEps                  // logits: the least z with sigmoid(z) >= eps
	a64ZNegEps               // logits: the least z with 1 - sigmoid(z) < eps
	a64ZClip                 // logits: the least z with sigmoid(z) >= m
	a64ClipOff               // all ones when m = 0 (nothing shifted), else 0
	a64GammaPos              // gamma_pos
	a64Ints                  // int64: m > 0, FocalGrad, kind of gammas, integer gamma_neg and gamma_pos
)

const (
	a64ClipOn    = a64Ints
	a64FocalGrad = a64Ints + 8
	a64PowKind   = a64Ints + 16 // 0: w = 1; 1: both gammas integers; 2: any other
	a64NNeg      = a64Ints + 24
	a64NPos      = a64Ints + 32
	a64Words     = a64Ints/8 + 5 // the length of k in uint64 words
)

// a64State holds the registers of one generated float64 asymmetric function.
type a64State struct {
	grad, logits                  bool
	g, y, x, cw, k, off           reg.Register
	nNeg, nPos, clipOn, focalGrad reg.Register
	acc                           reg.VecVirtual
	known, poison, dpdz           Mem // stack slots: the known lanes, x-x + y-y, dp/dz from logits
	logPos, dLogPos, dLogNeg      Mem // stack slots for the logs' derivatives and the positive's log
	spill                         Mem // stack slots for the terms live across the real powers
	powKind, bail                 string
}

func (s *a64State) at(base reg.Register) Mem { return Mem{Base: base, Index: s.off, Scale: 1} }
func (s *a64State) kc(off int) Mem           { return Mem{Base: s.k, Disp: off} }
func (s *a64State) slot(i int) Mem           { return s.spill.Offset(32 * i) }

// logEps returns a register holding log(eps).
func (s *a64State) logEps() reg.VecVirtual {
	r := YMM()
	VMOVUPD(s.kc(a64LogEps), r)
	return r
}

// a64zeroReg returns a fresh zeroed register.
func a64zeroReg() reg.VecVirtual {
	z := YMM()
	VXORPD(z, z, z)
	return z
}

// a64recip returns 1/v.
func a64recip(v reg.VecVirtual) reg.VecVirtual {
	r := YMM()
	VMOVUPD(b64one(), r)
	VDIVPD(v, r, r)
	return r
}

func asym64Kernel(grad, logits bool) {
	input, what := "Prob", "probabilities"
	if logits {
		input, what = "Logits", "logits"
	}
	ks := fmt.Sprintf("k *[%d]uint64", a64Words)
	name, sig := "Asym"+input+"LossF64", "func(y, x, cw []float64, "+ks+", acc *[4]float64) (bail bool)"
	if grad {
		name, sig = "Asym"+input+"GradF64", "func(g, y, x, cw []float64, "+ks+", acc *[4]float64) (bail bool)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" computes asymmetricRow[float64] over one row of len(x) "+what,
		"in 4 float64 lanes (AVX2, FMA): it stores in acc the lane sums of",
		"cw*w*ce over the known classes (the loss is minus their sum, added in",
		"lane order)"+map[bool]string{true: " and writes the gradient into g", false: ""}[grad]+". cw holds one class",
		"weight per class (all 1 for none). It returns true, having stopped, at",
		"a u outside [0, 1] or an infinite u^g (inputs outside [0, 1],",
		"unchecked), for the reference loop to take over. k is",
		"asymmetric64Consts (goloss/asymmetric64_amd64.go). Tested against",
		"asymmetricRow (TestAsymmetric64KernelsMatchReference).")
	s := &a64State{grad: grad, logits: logits, bail: name + "_bail"}
	if grad {
		s.g = Load(Param("g").Base(), GP64())
	}
	s.y = Load(Param("y").Base(), GP64())
	s.x = Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	s.cw = Load(Param("cw").Base(), GP64())
	s.k = Load(Param("k"), GP64())
	s.nNeg, s.nPos, s.clipOn, s.focalGrad = GP64(), GP64(), GP64(), GP64()
	MOVQ(s.kc(a64NNeg), s.nNeg)
	MOVQ(s.kc(a64NPos), s.nPos)
	MOVQ(s.kc(a64ClipOn), s.clipOn)
	MOVQ(s.kc(a64FocalGrad), s.focalGrad)
	kind := GP64()
	MOVQ(s.kc(a64PowKind), kind)
	s.acc = a64zeroReg()
	s.known, s.poison, s.dpdz = AllocLocal(32), AllocLocal(32), AllocLocal(32)
	s.logPos, s.dLogPos, s.dLogNeg = AllocLocal(32), AllocLocal(32), AllocLocal(32)
	s.spill = AllocLocal(32 * (a64PowSlot + 5))

	CMPQ(kind, Imm(1))
	JEQ(LabelRef(name + "_powI"))
	JA(LabelRef(name + "_powR"))
	for _, pk := range []string{"pow0", "powI", "powR"} {
		if pk != "pow0" {
			Label(name + "_" + pk)
		}
		s.powKind = pk
		s.off = GP64()
		XORQ(s.off, s.off)
		loopVectors4(name+"_"+pk, n, s.body, func() { ADDQ(Imm(32), s.off) })
		JMP(LabelRef(name + "_done"))
	}
	Label(name + "_done")
	accp := Load(Param("acc"), GP64())
	VMOVUPD(s.acc, Mem{Base: accp})
	returnOrBail(s.bail)
}

// a64Terms are the per-lane values of one vector that the focal weight
// and the sums need, as asymTerms.
type a64Terms struct {
	y, ce, u, dce, du reg.VecVirtual
}

func (s *a64State) body(prefix string, tail reg.VecVirtual) {
	x := load4(s.at(s.x), tail)
	y := load4(s.at(s.y), tail)
	// known: the loaded lanes whose label is not the ignore value; unknown
	// labels become 0 (as asymState8.body).
	known := YMM()
	VCMPPD(Imm(b64CmpNEQU), s.kc(a64Ignore), y, known)
	if tail != nil {
		VANDPD(tail, known, known)
	}
	VANDPD(known, y, y)
	VMOVUPD(known, s.known)
	// poison = (x - x) + (y - y): NaN for a non-finite input, else 0.
	poison, t := YMM(), YMM()
	VSUBPD(x, x, poison)
	VSUBPD(y, y, t)
	VADDPD(t, poison, poison)
	VMOVUPD(poison, s.poison)

	var a a64Terms
	if s.logits {
		a = s.logitTerms(prefix, x, y)
	} else {
		a = s.probTerms(x, y)
	}
	pow, dwce := s.powers(prefix, a)

	cw := load4(s.at(s.cw), tail)
	term := YMM()
	VMULPD(pow, cw, term)
	VMULPD(a.ce, term, term)
	VADDPD(s.poison, term, term)
	VANDPD(s.known, term, term)
	VADDPD(term, s.acc, s.acc)
	if !s.grad {
		return
	}
	// g = -cw*(w*dce + [FocalGrad]*(dw/du*ce)*du)*dp/dz + poison, 0
	// where unknown.
	d := a.dce
	VMULPD(pow, a.dce, d)
	TESTQ(s.focalGrad, s.focalGrad)
	JZ(LabelRef(prefix + "_nofocalgrad"))
	VFMADD231PD(a.du, dwce, d)
	Label(prefix + "_nofocalgrad")
	VMULPD(cw, d, d)
	if s.logits {
		VMULPD(s.dpdz, d, d)
	}
	z := a64zeroReg()
	VSUBPD(d, z, d)
	VADDPD(s.poison, d, d)
	VANDPD(s.known, d, d)
	store4(d, s.at(s.g), tail)
}

// shifted returns S = [p >= m] | clipOff, negC = S ? p - m : 0 and neg
// = 1 - negC, as the reference computes them, from shiftMask = [p >= m]
// and pm = p - m.
func (s *a64State) shifted(shiftMask, pm reg.VecVirtual) (S, negC, neg reg.VecVirtual) {
	S, negC = shiftMask, pm
	VORPD(s.kc(a64ClipOff), S, S)
	VANDPD(S, negC, negC)
	return S, negC, b64oneMinus(negC)
}

// logShifted returns log(max(neg, eps)) plus the rounding error of neg as
// 1 - negC, and stores, with the gradient, [neg >= eps]/neg in its stack
// slot.
func (s *a64State) logShifted(neg, negC reg.VecVirtual) reg.VecVirtual {
	nc := YMM()
	VMAXPD(s.kc(a64Eps), neg, nc)
	if s.grad {
		r := a64recip(nc)
		in := YMM()
		VCMPPD(Imm(cmpGE), s.kc(a64Eps), neg, in)
		VANDPD(in, r, r)
		VMOVUPD(r, s.dLogNeg)
	}
	lo := b64oneMinus(neg)
	VSUBPD(negC, lo, lo)
	logNeg := b64logCore(nc)
	VADDPD(lo, logNeg, logNeg)
	return logNeg
}

// combine returns ce = y*logPos + (1-y)*logNeg, u = y*q + (1-y)*negC and,
// with the gradient, dce = y*dLogPos - S*(1-y)*dLogNeg and du = S*(1-y)
// - y, with logPos, dLogPos and dLogNeg from their stack slots.
func (s *a64State) combine(y, q, S, negC, logNeg reg.VecVirtual) a64Terms {
	omy := b64oneMinus(y)
	a := a64Terms{y: y, ce: YMM(), u: YMM()}
	VMULPD(s.logPos, y, a.ce)
	VFMADD231PD(omy, logNeg, a.ce)
	VMULPD(y, q, a.u)
	VFMADD231PD(omy, negC, a.u)
	if s.grad {
		a.dce = YMM()
		VMULPD(s.dLogPos, y, a.dce)
		dLogNeg := YMM()
		VMULPD(s.dLogNeg, omy, dLogNeg)
		VANDPD(S, dLogNeg, dLogNeg)
		VSUBPD(dLogNeg, a.dce, a.dce)
		a.du = S
		VANDPD(omy, S, a.du)
		VSUBPD(y, a.du, a.du)
	}
	return a
}

// probTerms computes the terms of 4 probabilities p.
func (s *a64State) probTerms(p, y reg.VecVirtual) a64Terms {
	pc := YMM()
	VMAXPD(s.kc(a64Eps), p, pc) // a NaN p gives eps: poison
	if s.grad {
		r := a64recip(pc)
		in := YMM()
		VCMPPD(Imm(cmpGE), s.kc(a64Eps), p, in)
		VANDPD(in, r, r)
		VMOVUPD(r, s.dLogPos)
	}
	VMOVUPD(b64logCore(pc), s.logPos)
	q := b64oneMinus(p)
	sm, pm := YMM(), YMM()
	VCMPPD(Imm(cmpGE), s.kc(a64Clip), p, sm)
	VSUBPD(s.kc(a64Clip), p, pm)
	S, negC, neg := s.shifted(sm, pm)
	logNeg := s.logShifted(neg, negC)
	return s.combine(y, q, S, negC, logNeg)
}

// logitTerms computes the terms of 4 logits z; dp/dz = p*(1-p) goes to its
// stack slot.
func (s *a64State) logitTerms(prefix string, z, y reg.VecVirtual) a64Terms {
	na := YMM()
	VORPD(b64v("signbit", b64SignBit), z, na) // -|z|
	e := b64exp(na)
	d := YMM()
	VADDPD(b64one(), e, d)
	big := a64recip(d) // 1/(1+e)
	small := YMM()
	VMULPD(big, e, small) // e/(1+e)
	right := YMM()
	VCMPPD(Imm(cmpGE), b64zero(), z, right)
	p, q := YMM(), YMM()
	VBLENDVPD(right, big, small, p)
	VBLENDVPD(right, small, big, q)
	l1p := b64log1p(e, big)
	// log p = min(z, 0) - log1p(e) where p >= eps, else log(eps).
	logPos, in := YMM(), YMM()
	VMINPD(b64zero(), z, logPos) // a NaN z gives 0: poison
	VSUBPD(l1p, logPos, logPos)
	VCMPPD(Imm(cmpGE), s.kc(a64ZEps), z, in)
	VBLENDVPD(in, logPos, s.logEps(), logPos)
	VMOVUPD(logPos, s.logPos)
	if s.grad {
		r := a64recip(p)
		VANDPD(in, r, r)
		VMOVUPD(r, s.dLogPos)
		dpdz := YMM()
		VMULPD(q, p, dpdz)
		VMOVUPD(dpdz, s.dpdz)
	}
	// Unshifted (m = 0), log(1 - p) = -max(z, 0) - log1p(e) where 1 - p
	// >= eps, and 1 - p is q.
	logNeg0, in0 := YMM(), YMM()
	VMAXPD(b64zero(), z, logNeg0)
	VADDPD(l1p, logNeg0, logNeg0)
	VXORPD(b64v("signbit", b64SignBit), logNeg0, logNeg0)
	VCMPPD(Imm(cmpLT), s.kc(a64ZNegEps), z, in0)
	VBLENDVPD(in0, logNeg0, s.logEps(), logNeg0)
	sm, pm := YMM(), YMM()
	VCMPPD(Imm(cmpGE), s.kc(a64ZClip), z, sm)
	VSUBPD(s.kc(a64Clip), p, pm)
	VMAXPD(b64zero(), pm, pm)
	S, negC, neg := s.shifted(sm, pm)
	logNeg := YMM()
	TESTQ(s.clipOn, s.clipOn)
	JNZ(LabelRef(prefix + "_shift"))
	VMOVAPD(logNeg0, logNeg)
	if s.grad {
		r := a64recip(q)
		VANDPD(in0, r, r)
		VMOVUPD(r, s.dLogNeg)
	}
	JMP(LabelRef(prefix + "_shifted"))
	Label(prefix + "_shift")
	VMOVAPD(s.logShifted(neg, negC), logNeg)
	Label(prefix + "_shifted")
	return s.combine(y, q, S, negC, logNeg)
}

// The spill slots: the live terms in 0 to 4 (ce, y and u first), then
// the integer powers and the mask of hard labels, then g and log u of the
// real powers.
const a64PowSlot = 5

func (s *a64State) live(a a64Terms) []reg.VecVirtual {
	regs := []reg.VecVirtual{a.ce, a.y, a.u}
	if s.grad {
		regs = append(regs, a.dce, a.du)
	}
	return regs
}

func (s *a64State) store(regs []reg.VecVirtual) {
	for i, r := range regs {
		VMOVUPD(r, s.slot(i))
	}
}

func (s *a64State) load(regs []reg.VecVirtual) {
	for i, r := range regs {
		VMOVUPD(s.slot(i), r)
	}
}

// powers returns w = u^g and, with the gradient, dwce = dw/du * ce, for the
// loop's kind of gammas, as asymState8.powers.
func (s *a64State) powers(prefix string, a a64Terms) (pow, dwce reg.VecVirtual) {
	pow = YMM()
	if s.grad {
		dwce = YMM()
	}
	if s.powKind == "pow0" {
		VMOVUPD(b64one(), pow)
		if s.grad {
			VXORPD(dwce, dwce, dwce)
		}
		return pow, dwce
	}
	// A u outside [0, 1] (inputs outside [0, 1]) takes the reference loop.
	out, t := YMM(), YMM()
	VCMPPD(Imm(cmpLT), b64zero(), a.u, out)
	VCMPPD(Imm(cmpGT), b64one(), a.u, t)
	VORPD(t, out, out)
	ob := GP32()
	VMOVMSKPD(out, ob)
	TESTL(ob, ob)
	JNZ(LabelRef(s.bail))
	if s.powKind == "powR" {
		live := s.live(a)
		s.store(live)
		pw, dpw := s.powReal(prefix, a.u, a.y)
		VMOVAPD(pw, pow)
		if s.grad {
			VMOVAPD(dpw, dwce)
		}
		s.load(live)
		return pow, dwce
	}
	pn, dpn := s.powInt(prefix+"_neg", a.u, s.nNeg, a64GammaNeg)
	pp, dpp := s.powInt(prefix+"_pos", a.u, s.nPos, a64GammaPos)
	isPos := YMM()
	VCMPPD(Imm(b64CmpEQ), b64one(), a.y, isPos) // y == 1
	VBLENDVPD(isPos, pp, pn, pow)
	if s.grad {
		VBLENDVPD(isPos, dpp, dpn, dwce)
		VMULPD(a.ce, dwce, dwce)
	}
	// A vector holding a soft label takes u^g = exp(g*log u) there.
	hard := pn
	VCMPPD(Imm(b64CmpEQ), b64zero(), a.y, hard) // y == 0
	VORPD(isPos, hard, hard)
	hb := GP32()
	VMOVMSKPD(hard, hb)
	CMPL(hb, U32(0xf))
	JEQ(LabelRef(prefix + "_hard"))
	live := s.live(a)
	s.store(live)
	VMOVUPD(pow, s.slot(a64PowSlot))
	if s.grad {
		VMOVUPD(dwce, s.slot(a64PowSlot+1))
	}
	VMOVUPD(hard, s.slot(a64PowSlot+2))
	pw, dpw := s.powReal(prefix, a.u, a.y)
	hm := YMM()
	VMOVUPD(s.slot(a64PowSlot+2), hm)
	VBLENDVPD(hm, s.slot(a64PowSlot), pw, pow)
	if s.grad {
		VBLENDVPD(hm, s.slot(a64PowSlot+1), dpw, dwce)
	}
	s.load(live)
	Label(prefix + "_hard")
	return pow, dwce
}

// powInt returns u^n and, with the gradient, n*u^(n-1) for the integer n
// in the register nPow (n as a float64 vector at offset gammaOff of k): 1
// and 0 for n = 0.
func (s *a64State) powInt(prefix string, u reg.VecVirtual, nPow reg.Register, gammaOff int) (pow, dpow reg.VecVirtual) {
	pow = YMM()
	if s.grad {
		dpow = YMM()
	}
	TESTQ(nPow, nPow)
	JNZ(LabelRef(prefix + "_n"))
	VMOVUPD(b64one(), pow)
	if s.grad {
		VXORPD(dpow, dpow, dpow)
	}
	JMP(LabelRef(prefix + "_pdone"))
	Label(prefix + "_n")
	pm1, base := YMM(), YMM()
	VMOVUPD(b64one(), pm1)
	VMOVAPD(u, base)
	squareLoopMul(prefix, nPow, pm1, base, VMULPD)
	VMULPD(u, pm1, pow)
	if s.grad {
		VMULPD(s.kc(gammaOff), pm1, dpow)
	}
	Label(prefix + "_pdone")
	return pow, dpow
}

// powReal returns u^g = exp(g*log u) for u in [0, 1] with g = gamma_neg +
// y*(gamma_pos - gamma_neg) per lane, 1 where g = 0 (0^0 = 1), and, with
// the gradient, dw/du*ce as the reference's element computes it: g*w*(ce/u)
// where w is normal, g*exp((g-1)*log u)*ce where it is not, 0 where u = 0
// or g = 0. An infinite u^g (a label outside [0, 1]: g < 0) leaves through
// the bail label.
// ce and u are read from their spill slots after the log (s.live).
func (s *a64State) powReal(prefix string, u, y reg.VecVirtual) (pow, dwce reg.VecVirtual) {
	g := YMM()
	VMOVUPD(s.kc(a64GammaNeg), g)
	VFMADD231PD(s.kc(a64GammaDiff), y, g)
	lu := b64log(u)
	t := YMM()
	VMULPD(g, lu, t)
	VMOVUPD(g, s.slot(a64PowSlot+3))
	VMOVUPD(lu, s.slot(a64PowSlot+4))
	pow = b64exp(t)
	gz := YMM()
	VMOVUPD(s.slot(a64PowSlot+3), g)
	VCMPPD(Imm(b64CmpEQ), b64zero(), g, gz)
	VBLENDVPD(gz, b64one(), pow, pow)
	inf := YMM()
	VANDPD(b64v("absmask", b64AbsMask), pow, inf)
	VCMPPD(Imm(b64CmpEQ), b64f("inf", math.Inf(1)), inf, inf)
	ib := GP32()
	VMOVMSKPD(inf, ib)
	TESTL(ib, ib)
	JNZ(LabelRef(s.bail))
	if !s.grad {
		return pow, nil
	}
	dwce = YMM()
	VXORPD(dwce, dwce, dwce)
	TESTQ(s.focalGrad, s.focalGrad)
	JZ(LabelRef(prefix + "_nodw"))
	nonzero := YMM()
	VMOVUPD(s.slot(2), nonzero)
	VCMPPD(Imm(b64CmpNEQU), b64zero(), nonzero, nonzero)
	VANDNPD(nonzero, gz, nonzero) // u != 0 and g != 0
	VMOVUPD(s.slot(0), dwce)
	VDIVPD(s.slot(2), dwce, dwce) // ce/u
	VMULPD(pow, dwce, dwce)
	VMULPD(g, dwce, dwce)
	VANDPD(nonzero, dwce, dwce)
	low := YMM()
	VANDPD(b64v("absmask", b64AbsMask), pow, low)
	VCMPPD(Imm(cmpLT), b64f("tiny", 0x1p-1022), low, low)
	VANDPD(nonzero, low, low)
	lb := GP32()
	VMOVMSKPD(low, lb)
	TESTL(lb, lb)
	JZ(LabelRef(prefix + "_nodw"))
	// w underflowed (to 0 or a subnormal with few digits) where
	// u^(g-1) may not have.
	gm1 := YMM()
	VSUBPD(b64one(), g, gm1)
	VMULPD(s.slot(a64PowSlot+4), gm1, gm1)
	e := b64exp(gm1)
	VMULPD(g, e, e)
	VMULPD(s.slot(0), e, e)
	VBLENDVPD(low, e, dwce, dwce)
	Label(prefix + "_nodw")
	return pow, dwce
}

// asym64Kernels declares the AVX2 float64 asymmetric kernels (group asym64
// of avx2): probabilities and logits, with and without the gradient.
func asym64Kernels() {
	for _, logits := range []bool{false, true} {
		for _, grad := range []bool{true, false} {
			asym64Kernel(grad, logits)
		}
	}
}
