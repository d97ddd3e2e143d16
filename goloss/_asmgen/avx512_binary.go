package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Offsets in the constants array of the binary kernel (binaryAsmConsts,
// binary512x16_amd64.go): float32 words, then int32 flags and the int64
// integer gamma.
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
	// Read by the AVX2 loops only: a flag for non-integer gamma, and
	// gamma - gamma_hi, gamma - 1 as a pair hi, lo.
	bReal    = 72
	bGammaLo = 76
	bGm1Hi   = 80
	bGm1Lo   = 84
)

// binaryState holds the registers of one generated binary function.
type binaryState struct {
	grad                 bool
	g, y, x, a, an, k    reg.Register
	off                  reg.Register
	zero, one            reg.VecVirtual
	acc32                reg.VecVirtual
	acc                  [2]reg.VecVirtual
	smooth, alphaK, nPow reg.Register
	powKind              string
	bail                 string
	logits               bool
}

func (s *binaryState) at(base reg.Register) Mem { return Mem{Base: base, Index: s.off, Scale: 1} }

// binaryKernel: the loop of binaryRowsF32x16 on float32 probabilities or,
// with logits, of binaryLogitsRow in float32 lanes, for integer gamma.
func binaryKernel(grad, logits bool) {
	input, what := "Prob", "probabilities"
	if logits {
		input, what = "Logits", "logits"
	}
	name, sig := "Binary"+input+"LossF32", "func(y, x, alpha, alphaNeg []float32, k *[18]uint32, acc *[16]float64) (bail bool)"
	if grad {
		name, sig = "Binary"+input+"GradF32", "func(g, y, x, alpha, alphaNeg []float32, k *[18]uint32, acc *[16]float64) (bail bool)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" runs the binary variant over one row of len(x)",
		"float32 "+what+", for integer gamma: it stores in acc the float64",
		"lane sums of the loss terms (lanes 0-7, 8-15)"+map[bool]string{true: " and writes the gradient into g", false: ""}[grad]+".",
		"It returns true, having stopped, where u^gamma overflows, for the",
		"portable row to take over. alpha and alphaNeg are read for per-class",
		"alpha only. Tested, through goloss's binaryRowsF32x16, against the",
		"reference loops binaryProbRow and binaryLogitsRow to SPEC's float32",
		"tolerance.")
	s := &binaryState{grad: grad, bail: name + "_bail", logits: logits}
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

	s.zero = ZMM()
	VPXORD(s.zero, s.zero, s.zero)
	s.one = ZMM()
	VBROADCASTSS(f32("one", 1), s.one)
	s.acc32 = ZMM()
	VPXORD(s.acc32, s.acc32, s.acc32)
	for i := range s.acc {
		s.acc[i] = ZMM()
		VPXORD(s.acc[i], s.acc[i], s.acc[i])
	}
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
		loopVectors(name+"_"+kind, n, s.body, func() {
			ADDQ(Imm(64), s.off)
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
	VMOVUPD(s.acc[0], Mem{Base: accp})
	VMOVUPD(s.acc[1], Mem{Base: accp, Disp: 64})
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

// flush adds the block's float32 sums, widened, to the float64 ones.
func (s *binaryState) flush() {
	lo := ZMM()
	VCVTPS2PD(s.acc32.AsY(), lo)
	VADDPD(lo, s.acc[0], s.acc[0])
	upper := YMM()
	VEXTRACTF32X8(Imm(1), s.acc32, upper)
	hi := ZMM()
	VCVTPS2PD(upper, hi)
	VADDPD(hi, s.acc[1], s.acc[1])
	VPXORD(s.acc32, s.acc32, s.acc32)
}

// logUnit returns log(v) for v positive and normal: Cephes' logf
// polynomial on the split x = 2^k * (1 + f).
func logUnit(v reg.VecVirtual) reg.VecVirtual {
	u := ZMM()
	VPADDD_BCST(u32("log32shift", log32Shift), v, u)
	kf := ZMM()
	VPSRLD(Imm(23), u, kf)
	VCVTDQ2PS(kf, kf)
	VSUBPS_BCST(f32("f127", 127), kf, kf)
	f := u
	VPANDD_BCST(u32("mant32mask", mant32Mask), u, f)
	VPADDD_BCST(u32("log32base", log32Base), f, f)
	VSUBPS_BCST(f32("one", 1), f, f)
	z := ZMM()
	VMULPS(f, f, z)
	poly := ZMM()
	VBROADCASTSS(f32("logc0", logCoefs[0]), poly)
	for i, c := range logCoefs[1:] {
		VFMADD213PS_BCST(f32(logCoefName(i+1), c), f, poly)
	}
	VMULPS(f, poly, poly)
	VMULPS(z, poly, poly)
	VFMADD231PS_BCST(f32("ln2lo", log32Ln2Lo), kf, poly)
	VFMADD231PS_BCST(f32("minushalf", -0.5), z, poly)
	VADDPS(poly, f, f)
	VFMADD231PS_BCST(f32("ln2hi", log32Ln2Hi), kf, f)
	return f
}

// labels returns t = y*keep + half and 1 - t = (1-half) - y*keep, keep,
// half and 1 - half each as a float32 pair hi + lo (without smoothing t = y
// and 1 - t).
func (s *binaryState) labels(prefix string, y reg.VecVirtual) (t, omt reg.VecVirtual) {
	k := func(off int) Mem { return Mem{Base: s.k, Disp: off} }
	t, omt = ZMM(), ZMM()
	CMPL(s.smooth, Imm(0))
	JNE(LabelRef(prefix + "_smooth"))
	VMOVAPS(y, t)
	VSUBPS(y, s.one, omt)
	JMP(LabelRef(prefix + "_smoothed"))
	Label(prefix + "_smooth")
	VBROADCASTSS(k(bHalfHi), t)
	VFMADD231PS_BCST(k(bKeepHi), y, t) // t = y*keepHi + halfHi
	t2 := ZMM()
	VBROADCASTSS(k(bHalfLo), t2)
	VFMADD231PS_BCST(k(bKeepLo), y, t2)
	VADDPS(t2, t, t)
	VBROADCASTSS(k(bOmhHi), omt)
	VFMADD231PS_BCST(k(bNegKeepHi), y, omt)
	VBROADCASTSS(k(bOmhLo), t2)
	VFMADD231PS_BCST(k(bNegKeepLo), y, t2)
	VADDPS(t2, omt, omt)
	Label(prefix + "_smoothed")
	return t, omt
}

// powers returns pow = u^gamma and dpow = gamma*u^(gamma-1) + (u - u) for
// the loop's kind of integer gamma, and leaves the function through its
// bail label where u^gamma is infinite.
func (s *binaryState) powers(prefix string, u reg.VecVirtual) (pow, dpow reg.VecVirtual) {
	pow, dpow = ZMM(), ZMM()
	if s.powKind == "pow0" {
		VMOVAPS(s.one, pow)
		VMOVAPS(s.zero, dpow)
		return pow, dpow
	}
	pm1 := ZMM()
	if s.powKind == "pow2" {
		VMOVAPS(u, pm1) // 1*u
	} else {
		base := ZMM()
		VMOVAPS(s.one, pm1)
		VMOVAPS(u, base)
		squareLoop(prefix, s.nPow, pm1, base)
	}
	VMULPS(u, pm1, pow)
	// An infinite u^gamma takes the Go kernel's own path.
	over := K()
	VFPCLASSPSZ(Imm(0x18), pow, over) // +Inf or -Inf
	KORTESTW(over, over)
	JNZ(LabelRef(s.bail))
	VMULPS_BCST(Mem{Base: s.k, Disp: bGamma}, pm1, dpow)
	nan := ZMM()
	VSUBPS(u, u, nan)
	VADDPS(nan, dpow, dpow)
	return pow, dpow
}

// balance returns a, the class-balancing weight: 1, t*alpha + (1-t)*(1-alpha)
// for one alpha, or the same with alpha[c].
func (s *binaryState) balance(prefix string, tail reg.Register, t, omt reg.VecVirtual) reg.VecVirtual {
	a, tmp := ZMM(), ZMM()
	CMPL(s.alphaK, Imm(1))
	JEQ(LabelRef(prefix + "_alpha1"))
	JA(LabelRef(prefix + "_alphas"))
	VMOVAPS(s.one, a)
	JMP(LabelRef(prefix + "_alphadone"))
	Label(prefix + "_alpha1")
	VMULPS_BCST(Mem{Base: s.k, Disp: bAlpha}, t, a)
	VMULPS_BCST(Mem{Base: s.k, Disp: bAlphaNeg}, omt, tmp)
	VADDPS(tmp, a, a)
	JMP(LabelRef(prefix + "_alphadone"))
	Label(prefix + "_alphas")
	av := load(s.at(s.a), tail)
	VMULPS(av, t, a)
	avn := load(s.at(s.an), tail)
	VMULPS(avn, omt, tmp)
	VADDPS(tmp, a, a)
	Label(prefix + "_alphadone")
	return a
}

// accumulate adds term = a*pow*bce + poison to the block's float32 sums and
// returns poison = x - x (0, or NaN for a NaN or infinite x).
func (s *binaryState) accumulate(tail reg.Register, x, a, pow, bce reg.VecVirtual) reg.VecVirtual {
	poison := ZMM()
	VSUBPS(x, x, poison)
	term := ZMM()
	VMULPS(pow, a, term)
	VMULPS(bce, term, term)
	VADDPS(poison, term, term)
	if tail != nil {
		VADDPS(term, s.acc32, tail, s.acc32)
	} else {
		VADDPS(term, s.acc32, s.acc32)
	}
	return poison
}

// storeGrad writes g = scale*a*(dpow*du*bce + pow*dbce) + poison.
func (s *binaryState) storeGrad(tail reg.Register, a, pow, dpow, du, bce, dbce, poison reg.VecVirtual) {
	gv, tmp := ZMM(), ZMM()
	VMULPS(du, dpow, gv)
	VMULPS(bce, gv, gv)
	VMULPS(dbce, pow, tmp)
	VADDPS(tmp, gv, gv)
	sa := ZMM()
	VMULPS_BCST(Mem{Base: s.k, Disp: bScale}, a, sa)
	VMULPS(gv, sa, gv)
	VADDPS(poison, gv, gv)
	if tail != nil {
		VMOVUPS(gv, tail, s.at(s.g))
	} else {
		VMOVUPS(gv, s.at(s.g))
	}
}

// body computes one vector of 16 probabilities at the current offset.
func (s *binaryState) body(prefix string, tail reg.Register) {
	if s.logits {
		s.logitsBody(prefix, tail)
		return
	}
	x := load(s.at(s.x), tail)
	y := load(s.at(s.y), tail)
	k := func(off int) Mem { return Mem{Base: s.k, Disp: off} }
	t, omt := s.labels(prefix, y)

	// q = clip(x, eps, 1-eps) (NaN stays NaN), 1 - q, log q, and log(1-q)
	// with the rounding error lo of 1 - q added.
	q := ZMM()
	VMOVAPS(x, q)
	low, high := K(), K()
	VCMPPS_BCST(Imm(cmpLT), k(bEps), x, low)
	VBROADCASTSS(k(bEps), low, q)
	VCMPPS_BCST(Imm(cmpGT), k(bEpsHi), q, high)
	VBROADCASTSS(k(bEpsHi), high, q)
	omq := ZMM()
	VSUBPS(q, s.one, omq)
	logQ := logUnit(q)
	lo := ZMM()
	VSUBPS(omq, s.one, lo)
	VSUBPS(q, lo, lo)
	logQNeg := logUnit(omq)
	VADDPS(lo, logQNeg, logQNeg)
	// bce = 0 - (t*log q + (1-t)*log(1-q)); u = t*(1-x) + (1-t)*x.
	bce, tmp := ZMM(), ZMM()
	VMULPS(logQ, t, bce)
	VMULPS(logQNeg, omt, tmp)
	VADDPS(tmp, bce, bce)
	VSUBPS(bce, s.zero, bce)
	u := ZMM()
	VSUBPS(x, s.one, u)
	VMULPS(t, u, u)
	VMULPS(x, omt, tmp)
	VADDPS(tmp, u, u)

	pow, dpow := s.powers(prefix, u)
	a := s.balance(prefix, tail, t, omt)
	poison := s.accumulate(tail, x, a, pow, bce)
	if s.grad {
		// dbce = (q - t) / (q*(1-q)) where eps <= x <= 1-eps, else 0;
		// du = 1 - 2t.
		inClip := K()
		VCMPPS_BCST(Imm(cmpGE), k(bEps), x, inClip)
		VCMPPS_BCST(Imm(cmpLE), k(bEpsHi), x, inClip, inClip)
		num := ZMM()
		VSUBPS(t, q, num)
		den := ZMM()
		VMULPS(omq, q, den)
		dbce := ZMM()
		VDIVPS_Z(den, num, inClip, dbce)
		du := ZMM()
		VADDPS(t, t, du)
		VSUBPS(du, s.one, du)
		s.storeGrad(tail, a, pow, dpow, du, bce, dbce, poison)
	}
}

// expNeg returns e^(-v) for v >= 0 (or NaN): vec.exp's steps (vec_math.go)
// on t = -v, which needs no
// clamp from above; 0 below -104.
func expNeg(v reg.VecVirtual) reg.VecVirtual {
	t := ZMM()
	VXORPS_BCST(u32("signbit", 0x80000000), v, t) // -v
	under := K()
	VCMPPS_BCST(Imm(cmpLT), f32("expunder", -104), t, under)
	VBROADCASTSS(f32("expunder", -104), under, t)
	kf := ZMM()
	VMULPS_BCST(f32("log2e", 1.4426950408889634), t, kf)
	VADDPS_BCST(f32("roundmagic", 0x1.8p23), kf, kf)
	VSUBPS_BCST(f32("roundmagic", 0x1.8p23), kf, kf)
	r := ZMM()
	VMOVAPS(t, r)
	VFMADD231PS_BCST(f32("minusln2hi", -log32Ln2Hi), kf, r) // r = kf*(-ln2Hi) + t
	VFMADD231PS_BCST(f32("minusln2lo", -log32Ln2Lo), kf, r)
	p := ZMM()
	VBROADCASTSS(f32("expc0", 1.9875691500e-4), p)
	for i, c := range []float32{1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1} {
		VFMADD213PS_BCST(f32(expCoefName(i+1), c), r, p)
	}
	r2 := ZMM()
	VMULPS(r, r, r2)
	VMULPS(r2, p, p)
	VADDPS(r, p, p)
	VADDPS_BCST(f32("one", 1), p, p)
	// p * 2^k1 * 2^k2 with k1 = round(kf/2), k2 = kf - k1.
	k1b := ZMM()
	VMULPS_BCST(f32("half", 0.5), kf, k1b)
	VADDPS_BCST(f32("roundmagic", 0x1.8p23), k1b, k1b)
	k2b := ZMM()
	VSUBPS_BCST(f32("roundmagic", 0x1.8p23), k1b, k2b)
	VSUBPS(k2b, kf, k2b)
	VADDPS_BCST(f32("roundmagic", 0x1.8p23), k2b, k2b)
	VPADDD_BCST(u32("expbiasfix", expBiasFix32), k1b, k1b)
	VPSLLD(Imm(23), k1b, k1b)
	VPADDD_BCST(u32("expbiasfix", expBiasFix32), k2b, k2b)
	VPSLLD(Imm(23), k2b, k2b)
	VMULPS(k1b, p, p)
	VMULPS(k2b, p, p)
	VMOVAPS(s0(), under, p) // 0 where t < -104
	return p
}

// logitsBody computes one vector of 16 logits at the current offset, as
// binaryLogitsRow does in float32: e = e^-|z|, r = 1/(1+e), the sigmoids
// r and e*r, log1p(e) = log(1+e) + (e - ((1+e) - 1))*r, and
// bce = max(z, 0) - z*t + log1p(e).
func (s *binaryState) logitsBody(prefix string, tail reg.Register) {
	z := load(s.at(s.x), tail)
	y := load(s.at(s.y), tail)
	t, omt := s.labels(prefix, y)

	abs := ZMM()
	VANDPS_BCST(u32("absmask", 0x7fffffff), z, abs)
	e := expNeg(abs)
	w := ZMM()
	VADDPS_BCST(f32("one", 1), e, w)
	r := ZMM()
	VDIVPS(w, s.one, r) // 1/(1+e)
	small := ZMM()
	VMULPS(r, e, small) // e/(1+e)
	// sig = sigmoid(z), sigNeg = sigmoid(-z): r and e*r, swapped for z < 0.
	sig, sigNeg := ZMM(), ZMM()
	VMOVAPS(r, sig)
	VMOVAPS(small, sigNeg)
	neg := K()
	VCMPPS(Imm(cmpLT), s.zero, z, neg)
	VMOVAPS(small, neg, sig)
	VMOVAPS(r, neg, sigNeg)
	// log1p(e) = log(w) + (e - (w - 1)) * r.
	l1p := logUnit(w)
	c := ZMM()
	VSUBPS_BCST(f32("one", 1), w, c)
	VSUBPS(c, e, c)
	VMULPS(r, c, c)
	VADDPS(c, l1p, l1p)
	// bce = (max(z, 0) - z*t) + log1p(e).
	bce := ZMM()
	VMAXPS(s.zero, z, bce)
	zt := ZMM()
	VMULPS(t, z, zt)
	VSUBPS(zt, bce, bce)
	VADDPS(l1p, bce, bce)
	// u = t*sigNeg + (1-t)*sig.
	u, tmp := ZMM(), ZMM()
	VMULPS(sigNeg, t, u)
	VMULPS(sig, omt, tmp)
	VADDPS(tmp, u, u)

	pow, dpow := s.powers(prefix, u)
	a := s.balance(prefix, tail, t, omt)
	poison := s.accumulate(tail, z, a, pow, bce)
	if s.grad {
		// du = (1 - 2t)*sig*sigNeg; dbce = (1-t)*sig - t*sigNeg.
		du := ZMM()
		VADDPS(t, t, du)
		VSUBPS(du, s.one, du)
		VMULPS(sig, du, du)
		VMULPS(sigNeg, du, du)
		dbce := ZMM()
		VMULPS(sig, omt, dbce)
		VMULPS(sigNeg, t, tmp)
		VSUBPS(tmp, dbce, dbce)
		s.storeGrad(tail, a, pow, dpow, du, bce, dbce, poison)
	}
}
