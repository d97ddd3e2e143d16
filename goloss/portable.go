package goloss

import "math"

// The portable kernel: seedRowPortable, binaryProbRowPortable and
// binaryLogitsRowPortable compute what the reference loops seedRow,
// binaryProbRow and binaryLogitsRow compute, to SPEC's accuracy, in pure Go
// (no assembly, no unsafe, no archsimd) and several times faster. The
// reference loops stay the definition and the tests' oracle.
//
// How:
//
//   - log, exp and non-integer powers come from portable_math.go: a table
//     log within about 0.5 ulp without a division (float64 rows; rows of
//     float32 inputs take a shorter one, good to 2^-30), a table exp, and
//     x^(gamma-1) = exp((gamma-1)*log x) with (gamma-1)*log x carried in
//     two parts, so that gamma*x^(gamma-1) and x^gamma = x^(gamma-1) * x
//     need no division;
//   - integer gamma is repeated multiplication (gamma = 2 has a loop of its
//     own), and gamma*(y-p)^(gamma-1) comes without dividing by y - p;
//   - seed: log(q) = log(p) - log(S) inside the clip range, so one log per
//     element serves both terms; the clip decision ratioLo <= p/S <=
//     ratioHi, which seedRow makes on q = p/S rounded, is made on p against
//     the exact bounds pLo and pHi of that decision (portRatioBounds): the same
//     decision for every p, bit for bit;
//   - seed with integer gamma: the positive-label mask is applied without a
//     branch (labels are random bits of data, a branch on them mispredicts);
//   - binary on probabilities: a hard label needs one of the two logs of
//     the cross-entropy only;
//   - the loops hold no calls: an element the fast path does not cover
//     exactly (a non-finite input, p outside [1e-8, 1] in the seed, a power
//     that leaves the normal range, ...) is left out and then computed by
//     the reference formulas in a second pass, and a row the fast path does
//     not cover (S = 0, S not finite, gamma above 64 or 1000) goes to the
//     reference loop.
//
// Sums run in float64 for both element types, as in the reference; the
// elements of the second pass are added after the others, which changes
// the last bits of a sum only.

// Kinds of gamma.
const (
	portPowZero = iota // gamma = 0
	portPowInt         // integer gamma in [1, portPowIntMax]
	portPowFrac        // gamma not an integer, up to portPowFracMax
	portPowRef         // larger gamma: the reference loop
)

// The largest gammas of the fast paths: integer powers by multiplication,
// other powers by exp(log).
const (
	portPowIntMax  = 64
	portPowFracMax = 1000
)

// portPowOf returns the kind of gamma and, for an integer, its value.
func portPowOf(gamma float64) (kind, n int) {
	switch {
	case gamma == 0:
		return portPowZero, 0
	case gamma != math.Trunc(gamma):
		if gamma <= portPowFracMax {
			return portPowFrac, 0
		}
	case gamma <= portPowIntMax:
		return portPowInt, int(gamma)
	}
	return portPowRef, 0
}

// portPowMin returns the least base x > 0 for which the fast paths compute
// x^gamma and gamma*x^(gamma-1) as the reference does, and its log (-Inf
// for x = 0): x^gamma normal (the reference divides it by x, or, in
// binaryConstants.focal, takes another branch when it is not), and for a
// non-integer gamma exp((gamma-1)*log x) normal too. Bases below it, except
// 0, take the reference path. It costs at most one math.Exp: rows can be
// short.
func portPowMin(kind, n int, gamma float64) (x, logx float64) {
	switch kind {
	case portPowInt: // 2^-floor(1000/n): x^n >= 2^-1000
		m := 1000 / n
		return math.Ldexp(1, -m), -float64(m) * math.Ln2
	case portPowFrac: // e^-700 <= x^gamma and x^(gamma-1) <= e^700
		logx = math.Max(-700/gamma, -1020*math.Ln2)
		logx = math.Max(logx, -700/math.Abs(gamma-1)) // gamma != 1
		return math.Exp(logx), logx
	}
	return 0, math.Inf(-1)
}

// portIntPow returns d^n and n*d^(n-1) by repeated squaring, n >= 1.
func portIntPow(d float64, n int) (pow, dpow float64) {
	pm1 := 1.0 // d^(n-1)
	for e, b := n-1, d; e != 0; e >>= 1 {
		if e&1 != 0 {
			pm1 *= b
		}
		b *= b
	}
	return pm1 * d, float64(n) * pm1
}

// portIs32 reports whether T is float32; the compiler folds it to a
// constant in each instantiation, so that a branch on it costs nothing.
func portIs32[T Float]() bool { return T(1)+T(0x1p-30) == T(1) }

// The non-integer powers, x^(gamma-1) = exp((gamma-1)*log x), are written
// out in the loops so that the compiler inlines them: for float64 rows
// log x in two parts (logPortJoin) and (gamma-1)*log x in two parts
// (powPortMul), so that the power is within a few ulp; for float32 rows
// plainly (their rounding, |(gamma-1)*log x| * 2^-53, is far below what
// SPEC allows them).

// ---------------------------------------------------------------------------
// seed

// seedPortRow holds what the portable seed kernel computes once per row.
type seedPortRow struct {
	sum            float64 // S, summed as seedRow sums it
	pLo, pHi       float64 // ratioLo <= fl(p/S) <= ratioHi exactly when pLo <= p <= pHi
	logS           float64
	logRLo, logRHi float64 // math.Log(ratioLo), math.Log(ratioHi)
	shared         float64 // e/C * M/S
	dMin           float64 // the fast path needs |y - p| >= dMin or y - p = 0 where y > 0
	tiny           bool    // pLo >= 1e-8: the fast path takes p in [0, 1e-8) too
	gm1            portGamma
}

// portRatioBounds returns the smallest pLo with lo <= fl(pLo/s) and the largest
// pHi with fl(pHi/s) <= hi, for s positive, normal and finite and 0 < lo <
// hi < 1. fl(p/s) is non-decreasing in p, so lo <= fl(p/s) <= hi exactly
// when pLo <= p <= pHi. The first guesses lo*s and hi*s are within an ulp or
// two of the bounds; each loop steps a few times at most.
func portRatioBounds(s, lo, hi float64) (pLo, pHi float64) {
	pLo = lo * s
	if pLo/s >= lo {
		for d := math.Nextafter(pLo, 0); d/s >= lo; d = math.Nextafter(d, 0) {
			pLo = d
		}
	} else {
		for pLo/s < lo {
			pLo = math.Nextafter(pLo, math.Inf(1))
		}
	}
	pHi = hi * s
	if pHi/s <= hi {
		for u := math.Nextafter(pHi, math.Inf(1)); u/s <= hi; u = math.Nextafter(u, math.Inf(1)) {
			pHi = u
		}
	} else {
		for pHi/s > hi {
			pHi = math.Nextafter(pHi, math.Inf(-1))
		}
	}
	return pLo, pHi
}

// seedRowPortableCovered computes one row's loss and, when g is not nil, its
// gradient into g: the same contract as seedRow (y, p, w and g of one
// length), to SPEC's accuracy. It also reports whether every element took
// the fast path (covered): false where a row or element went to the
// reference formulas, which costs speed, never accuracy.
func seedRowPortableCovered[T Float](g, y, p, w []T, k *seedConstants) (loss float64, covered bool) {
	n := len(p)
	y, w = y[:n], w[:n]
	if g != nil {
		g = g[:n]
	}
	// S as seedRow sums it, and the range of p: the loop waits on the
	// additions, the comparisons come free.
	var sum float64
	pMin, pMax := math.Inf(1), math.Inf(-1)
	for _, v := range p {
		x := float64(v)
		sum += x
		if x < pMin {
			pMin = x
		}
		if x > pMax {
			pMax = x
		}
	}
	kind, ni := portPowOf(k.gamma)
	if !(sum >= 0x1p-1022 && sum <= math.MaxFloat64) || kind == portPowRef {
		return seedRow(g, y, p, w, k), false // S = 0 (NaN row), S not finite, huge gamma
	}
	s := seedPortRow{sum: sum, logS: math.Log(sum)}
	s.logRLo, s.logRHi = portLogRatio(k.ratioLo, k.ratioHi)
	if kind == portPowFrac {
		s.gm1 = portSplitGamma(k.gamma - 1)
	}
	// On the fast path |y - p| is 0 or in [dMin, 2], dMin at least 2^-80
	// (always so for p >= 1e-8): its powers up to 12 need no check.
	s.dMin = 0x1p-80
	if k.gamma > 12 {
		m, _ := portPowMin(kind, ni, k.gamma)
		s.dMin = max(s.dMin, m)
	}
	s.pLo, s.pHi = portRatioBounds(sum, k.ratioLo, k.ratioHi)
	// Where pLo >= 1e-8, a p below 1e-8 needs no log of its own: its p/S
	// is clipped, and its focal log is log(1e-8).
	s.tiny = s.pLo >= k.logLo
	if g != nil && k.smoothW != 0 { // else e/C * M/S = +0 whatever M
		inside := n // the common case: every p/S inside the clip range
		if !(s.pLo <= pMin && pMax <= s.pHi) {
			inside = 0
			for _, v := range p {
				if x := float64(v); s.pLo <= x && x <= s.pHi {
					inside++
				}
			}
		}
		s.shared = sharedTerm(k.smoothW, float64(inside), sum)
	}
	var focal, logSum float64
	var slow bool
	switch {
	case kind == portPowFrac:
		focal, logSum, slow = seedPortFrac(g, y, p, w, k, &s)
	case ni == 2:
		focal, logSum, slow = seedPort2(g, y, p, w, k, &s)
	default:
		focal, logSum, slow = seedPortInt(g, y, p, w, k, &s, ni)
	}
	if slow {
		// The elements the fast path left out, by the reference formulas.
		for c := range p {
			pc, yc := float64(p[c]), float64(y[c])
			if s.fast(pc, yc, k.logLo) {
				continue
			}
			ft, lt, d := seedPortSlow(pc, yc, float64(w[c]), k, &s, g != nil)
			focal -= ft
			logSum += lt
			if g != nil {
				g[c] = T(d)
			}
		}
	}
	return k.focalScale*focal - k.smoothW*logSum, !slow
}

// seedRowPortable is seedRowPortableCovered without the report.
func seedRowPortable[T Float](g, y, p, w []T, k *seedConstants) float64 {
	loss, _ := seedRowPortableCovered(g, y, p, w, k)
	return loss
}

// portLogRatios holds math.Log of the seed's clip bounds of p/S, as
// float64 and float32 round them, computed once: rows can be short.
var portLogRatios = [2][4]float64{
	{1e-7, 1 - 1e-7, math.Log(1e-7), math.Log(1 - 1e-7)},
	{float64(float32(1e-7)), float64(float32(1 - 1e-7)), math.Log(float64(float32(1e-7))), math.Log(float64(float32(1 - 1e-7)))},
}

// portLogRatio returns math.Log(lo) and math.Log(hi).
func portLogRatio(lo, hi float64) (float64, float64) {
	for _, r := range &portLogRatios {
		if lo == r[0] && hi == r[1] {
			return r[2], r[3]
		}
	}
	return math.Log(lo), math.Log(hi)
}

// fast reports whether the fast path of the seed covers an element: p in
// [1e-8, 1], or in [0, 1e-8) where the row allows it (tiny), y <= 2, and
// where y > 0, |y - p| = 0 or at least dMin, so that the power of y - p is
// normal. (For p >= 1e-8, |y - p| is 0 or at least 2^-80 anyway.)
func (s *seedPortRow) fast(pc, yc, lo float64) bool {
	diff := yc - pc
	return (pc >= lo || s.tiny && pc >= 0) && pc <= 1 && yc <= 2 && (yc <= 0 || diff == 0 || math.Abs(diff) >= s.dMin)
}

// logQ returns log(clip(p/S, ratioLo, ratioHi)) from lp = log p, and
// whether p/S is inside the clip range.
// The difference is within a few ulp of log p and log S: p/S is inside
// only for p >= 1e-8 on the fast path (see tiny), and then S >= 1e-8 too,
// so that where log p and log S are close both are at most 18.5 in
// magnitude.
func (s *seedPortRow) logQ(pc, lp float64) (lq float64, inside bool) {
	if pc < s.pLo {
		return s.logRLo, false
	}
	if pc > s.pHi {
		return s.logRHi, false
	}
	return lp - s.logS, true
}

// portMaskPos returns y - p and w where y > 0, else 0 and 0, without a
// branch.
func portMaskPos(yc, pc, wc float64) (diff, wm float64) {
	var m uint64
	if yc > 0 {
		m = 1<<64 - 1
	}
	return math.Float64frombits(math.Float64bits(yc-pc) & m), math.Float64frombits(math.Float64bits(wc) & m)
}

// seedPort2 is the main pass of seedRowPortable for gamma = 2: it returns
// the row's focal sum and log sum as seedRow accumulates them, and writes
// the gradient, for the elements the fast path covers; slow says whether it
// left any out.
func seedPort2[T Float](g, y, p, w []T, k *seedConstants, s *seedPortRow) (focal, logSum float64, slow bool) {
	y, w = y[:len(p)], w[:len(p)]
	is32, grad := portIs32[T](), g != nil
	lo := k.logLo
	for c := range p {
		pc, yc := float64(p[c]), float64(y[c])
		// s.fast, the common case first: for p >= 1e-8 the test on y - p
		// always holds.
		if !(pc >= lo && pc <= 1 && yc <= 2) && !s.fast(pc, yc, lo) {
			slow = true
			continue
		}
		x := pc // clip(p, 1e-8, 1); a branch: p < 1e-8 is rare
		if pc < lo {
			x = lo
		}
		kd, r, e := logPortSplit(x)
		var lp float64 // log x: log p wherever p/S is inside
		if is32 {
			lp = logPortLow(kd, r, e)
		} else {
			lp = logPortFull(kd, r, e)
		}
		lq, inside := s.logQ(pc, lp)
		logSum += lq

		// The focal term where y > 0: the mask zeroes y - p and w
		// elsewhere, which zeroes the term.
		diff, wm := portMaskPos(yc, pc, float64(w[c]))
		pow := diff * diff
		focal -= wm * pow * lp
		if grad {
			inv := 1 / x // 1/p where it counts: the clip of the focal log passes p, or p/S is inside
			dp := pow * inv
			if pc < lo {
				dp = 0 // the clip passes no gradient
			}
			d := s.shared + k.focalScale*wm*(2*diff*lp-dp)
			if inside {
				d -= k.smoothW * inv
			}
			g[c] = T(d)
		}
	}
	return focal, logSum, slow
}

// seedPortInt is seedPort2 for any integer gamma n (0 included).
func seedPortInt[T Float](g, y, p, w []T, k *seedConstants, s *seedPortRow, n int) (focal, logSum float64, slow bool) {
	y, w = y[:len(p)], w[:len(p)]
	is32, grad := portIs32[T](), g != nil
	lo := k.logLo
	for c := range p {
		pc, yc := float64(p[c]), float64(y[c])
		if !s.fast(pc, yc, lo) {
			slow = true
			continue
		}
		x := pc // clip(p, 1e-8, 1)
		if pc < lo {
			x = lo
		}
		kd, r, e := logPortSplit(x)
		var lp float64 // log x
		if is32 {
			lp = logPortLow(kd, r, e)
		} else {
			lp = logPortFull(kd, r, e)
		}
		lq, inside := s.logQ(pc, lp)
		logSum += lq

		diff, wm := portMaskPos(yc, pc, float64(w[c]))
		var pow, dpow float64 // (y-p)^n, n*(y-p)^(n-1)
		switch n {
		case 0:
			pow, dpow = 1, 0
		case 1:
			pow, dpow = diff, 1
		default:
			pow, dpow = portIntPow(diff, n)
		}
		focal -= wm * pow * lp
		if grad {
			inv := 1 / x
			dp := pow * inv
			if pc < lo {
				dp = 0
			}
			d := s.shared + k.focalScale*wm*(dpow*lp-dp)
			if inside {
				d -= k.smoothW * inv
			}
			g[c] = T(d)
		}
	}
	return focal, logSum, slow
}

// seedPortFrac is seedPort2 for a gamma that is not an integer: the focal
// term needs (y-p)^(gamma-1) = exp((gamma-1)*log(y-p)), so it is computed
// only where y > 0; (y-p)^gamma is that times y - p.
func seedPortFrac[T Float](g, y, p, w []T, k *seedConstants, s *seedPortRow) (focal, logSum float64, slow bool) {
	y, w = y[:len(p)], w[:len(p)]
	is32, grad := portIs32[T](), g != nil
	lo, gamma := k.logLo, k.gamma
	for c := range p {
		pc, yc := float64(p[c]), float64(y[c])
		if !s.fast(pc, yc, lo) {
			slow = true
			continue
		}
		pos := yc > 0
		var pow, dpow float64 // (y-p)^gamma, gamma*(y-p)^(gamma-1) where y > 0
		if pos {
			switch diff := yc - pc; {
			case diff > 0: // in [dMin, 2]
				kd, r, e := logPortSplit(diff)
				var th, tl float64 // (gamma-1)*log(diff)
				if is32 {
					th = s.gm1.g * logPortLow(kd, r, e)
				} else {
					hi, lo := logPortJoin(kd, r, e)
					th, tl = powPortMul(&s.gm1, hi, lo+r*r*logPortPoly(r))
				}
				rr, sc, tail := expPortSplit(th, tl)
				pm1 := sc + sc*expPortPoly(rr, tail) // diff^(gamma-1)
				pow, dpow = pm1*diff, gamma*pm1
			case diff == 0:
				pow, dpow = 0, 0 // 0^gamma, and the limit of the derivative
			default:
				pow, dpow = math.NaN(), math.NaN() // no real power
			}
		}
		x := pc // clip(p, 1e-8, 1)
		if pc < lo {
			x = lo
		}
		kd, r, e := logPortSplit(x)
		var lp float64 // log x
		if is32 {
			lp = logPortLow(kd, r, e)
		} else {
			lp = logPortFull(kd, r, e)
		}
		lq, inside := s.logQ(pc, lp)
		logSum += lq

		var inv float64
		if grad {
			inv = 1 / x
		}
		d := s.shared
		if pos {
			wc := float64(w[c])
			focal -= wc * pow * lp
			dp := pow * inv
			if pc < lo {
				dp = 0
			}
			d += k.focalScale * wc * (dpow*lp - dp)
		}
		if grad {
			if inside {
				d -= k.smoothW * inv
			}
			g[c] = T(d)
		}
	}
	return focal, logSum, slow
}

// seedPortSlow returns one element's focal term (to subtract), log term (to
// add) and gradient exactly as seedRow computes them.
//
//go:noinline
func seedPortSlow(pc, yc, wc float64, k *seedConstants, s *seedPortRow, grad bool) (focalTerm, logTerm, d float64) {
	if yc > 0 {
		focalTerm = wc * math.Pow(yc-pc, k.gamma) * math.Log(clip(pc, k.logLo, 1))
	}
	q := pc / s.sum
	logTerm = math.Log(clip(q, k.ratioLo, k.ratioHi))
	if grad {
		d = s.shared
		if yc > 0 {
			d += k.focalScale * wc * focalDeriv(yc-pc, pc, k.gamma, k.logLo)
		}
		if k.ratioLo <= q && q <= k.ratioHi {
			d -= k.smoothW / pc
		}
	}
	return focalTerm, logTerm, d
}

// ---------------------------------------------------------------------------
// binary

// binaryPortRow holds what the portable binary kernels compute once per
// row.
type binaryPortRow struct {
	kind, n  int
	uMin     float64 // the fast path needs u = 0 or u >= uMin (portPowMin)
	uMinBits uint64  // math.Float64bits(uMin)
	zMax     float64 // logits: the fast path needs |z| <= zMax
	gm1      portGamma
	alpha    int     // 0: no balancing, 1: one alpha, 2: one per class
	alpha1   float64 // the one alpha
}

func newBinaryPortRow(k *binaryConstants) binaryPortRow {
	var b binaryPortRow
	b.kind, b.n = portPowOf(k.gamma)
	if b.kind == portPowFrac {
		b.gm1 = portSplitGamma(k.gamma - 1)
	}
	var logMin float64
	b.uMin, logMin = portPowMin(b.kind, b.n, k.gamma)
	b.uMinBits = max(math.Float64bits(b.uMin), 1) // uMin = 0 (gamma = 0): every u
	// From logits u >= min(sigmoid(z), sigmoid(-z)) >= e^-|z|/2, which is
	// at least uMin where |z| <= -log(2*uMin) (less a margin); e^-|z| is
	// normal for |z| <= portExpMax.
	b.zMax = math.Min(portExpMax, -logMin-math.Ln2-1)
	switch len(k.alpha) {
	case 0:
	case 1:
		b.alpha, b.alpha1 = 1, k.alpha[0]
	default:
		b.alpha = 2
	}
	return b
}

// balance returns the class-balancing weight a of class c for target t:
// t*alpha + (1-t)*(1-alpha) as binaryConstants.balance computes it (the
// same bits for one alpha as for that alpha repeated per class), 1
// without balancing.
func (b *binaryPortRow) balance(alpha []float64, c int, t float64) float64 {
	switch b.alpha {
	case 0:
		return 1
	case 1:
		return t*b.alpha1 + (1-t)*(1-b.alpha1)
	}
	return t*alpha[c] + (1-t)*(1-alpha[c])
}

// intPow returns u^n and n*u^(n-1) for an integer gamma n (0 included).
func (b *binaryPortRow) intPow(u float64) (pow, dpow float64) {
	switch b.n {
	case 2:
		return u * u, 2 * u
	case 0:
		return 1, 0
	case 1:
		return u, 1
	}
	return portIntPow(u, b.n)
}

// fastProb reports whether the fast path of the binary variant on
// probabilities covers an element: p and t in [0, 1] (so u in [0, 1]), and
// u = 0 or u^gamma normal.
func (b *binaryPortRow) fastProb(pc, t, u float64) bool {
	// On the bits: x in [+0, 1] is bits(x) <= bits(1) (negative numbers
	// and NaN have larger bits), and for u >= +0, u = 0 or u >= uMin is
	// bits(u) - 1 >= bits(uMin) - 1, unsigned.
	const one = 0x3ff0000000000000
	return math.Float64bits(pc) <= one && math.Float64bits(t) <= one && math.Float64bits(u)-1 >= b.uMinBits-1
}

// portTU returns the smoothed label t = y*keep + half and u = t*(1-p) +
// (1-t)*p, each product rounded (no fused multiply-add), so that the main
// pass and the second pass, which recompute them to find the elements the
// main pass left out, agree on every platform.
func portTU(yc, pc, keep, half float64) (t, u float64) {
	t = float64(yc*keep) + half
	return t, float64(t*(1-pc)) + float64((1-t)*pc)
}

// binaryProbRowPortableCovered computes one row of the binary variant on
// probabilities: the same contract as binaryProbRow, to SPEC's accuracy. It
// also reports whether every element took the fast path (covered): false
// where a row or element went to the reference formulas, which costs speed,
// never accuracy.
func binaryProbRowPortableCovered[T Float](g, y, p []T, k *binaryConstants) (loss float64, covered bool) {
	n := len(p)
	y = y[:n]
	if g != nil {
		g = g[:n]
	}
	b := newBinaryPortRow(k)
	if b.kind == portPowRef {
		return binaryProbRow(g, y, p, k), false
	}
	var alpha []float64
	if b.alpha == 2 {
		alpha = k.alpha[:n]
	}
	var sum float64
	var slow bool
	if b.kind == portPowFrac {
		sum, slow = binaryProbFrac(g, y, p, k, &b, alpha)
	} else {
		sum, slow = binaryProbInt(g, y, p, k, &b, alpha)
	}
	if slow {
		for c := range p {
			pc := float64(p[c])
			t, u := portTU(float64(y[c]), pc, k.keep, k.half)
			if b.fastProb(pc, t, u) {
				continue
			}
			if k.unknown.is(float64(y[c])) { // left out by the main pass (binaryPortSkipsUnknown)
				if g != nil {
					g[c] = 0
				}
				continue
			}
			term, gc := binaryProbSlow(pc, t, c, k, g != nil)
			sum += term
			if g != nil {
				g[c] = T(gc)
			}
		}
	}
	return k.scale * sum, !slow
}

// binaryProbRowPortable is binaryProbRowPortableCovered without the report.
func binaryProbRowPortable[T Float](g, y, p []T, k *binaryConstants) float64 {
	loss, _ := binaryProbRowPortableCovered(g, y, p, k)
	return loss
}

// binaryProbInt is the main pass of binaryProbRowPortable for an integer
// gamma: it returns the row's sum of a * u^gamma * bce and writes the
// gradient for the elements the fast path covers; slow says whether it
// left any out.
func binaryProbInt[T Float](g, y, p []T, k *binaryConstants, b *binaryPortRow, alpha []float64) (sum float64, slow bool) {
	y = y[:len(p)]
	is32, grad := portIs32[T](), g != nil
	keep, half, eps, epsHi := k.keep, k.half, k.eps, k.epsHi
	for c := range p {
		pc := float64(p[c])
		t, u := portTU(float64(y[c]), pc, keep, half)
		if !b.fastProb(pc, t, u) {
			slow = true
			continue
		}
		q, inClip := pc, true
		if pc < eps {
			q, inClip = eps, false
		} else if pc > epsHi {
			q, inClip = epsHi, false
		}
		om := 1 - q
		var bce float64 // -(t*log q + (1-t)*log(1-q))
		if t == 0 || t == 1 {
			// One of the two terms: -log(q) or -log(1-q).
			kd, r, e := logPortSplit(selectPort(t < 0.5, om, q)) // t < 0.5: t = 0, a compare the compiler turns into a CMOV
			if is32 {
				bce = -logPortLow(kd, r, e)
			} else {
				bce = -logPortFull(kd, r, e)
			}
		} else {
			var lq, l1 float64
			kd, r, e := logPortSplit(q)
			kd1, r1, e1 := logPortSplit(om)
			if is32 {
				lq, l1 = logPortLow(kd, r, e), logPortLow(kd1, r1, e1)
			} else {
				lq, l1 = logPortFull(kd, r, e), logPortFull(kd1, r1, e1)
			}
			bce = -(t*lq + (1-t)*l1)
		}
		pow, dpow := b.intPow(u)
		a := b.balance(alpha, c, t)
		sum += a * pow * bce
		if grad {
			var dbce float64 // (1-t)/(1-q) - t/q
			if inClip {
				dbce = ((1-t)*q - t*om) / (q * om)
			}
			g[c] = T(k.scale * a * (dpow*(1-2*t)*bce + pow*dbce))
		}
	}
	return sum, slow
}

// binaryProbFrac is binaryProbInt for a gamma that is not an integer:
// u^(gamma-1) = exp((gamma-1)*log u), where log u, for hard labels, is one
// of the two logs of the cross-entropy (u = 1 - q for t = 1, q for t = 0).
func binaryProbFrac[T Float](g, y, p []T, k *binaryConstants, b *binaryPortRow, alpha []float64) (sum float64, slow bool) {
	y = y[:len(p)]
	is32, grad := portIs32[T](), g != nil
	keep, half, eps, epsHi, gamma := k.keep, k.half, k.eps, k.epsHi, k.gamma
	for c := range p {
		pc := float64(p[c])
		t, u := portTU(float64(y[c]), pc, keep, half)
		if !b.fastProb(pc, t, u) {
			slow = true
			continue
		}
		q, inClip := pc, true
		if pc < eps {
			q, inClip = eps, false
		} else if pc > epsHi {
			q, inClip = epsHi, false
		}
		om := 1 - q
		var lq, l1 float64
		kd, r, e := logPortSplit(q)
		kd1, r1, e1 := logPortSplit(om)
		if is32 {
			lq, l1 = logPortLow(kd, r, e), logPortLow(kd1, r1, e1)
		} else {
			lq, l1 = logPortFull(kd, r, e), logPortFull(kd1, r1, e1)
		}
		bce := -(t*lq + (1-t)*l1)

		var th, tl float64 // (gamma-1)*log u
		if (t == 0 || t == 1) && inClip {
			lu := selectPort(t < 0.5, lq, l1)
			if th = b.gm1.g * lu; !is32 {
				th, tl = powPortMul(&b.gm1, lu, 0)
			}
		} else {
			kd, r, e := logPortSplit(selectPort(u < b.uMin, 1, u)) // u < uMin: u = 0, any log will do
			if is32 {
				th = b.gm1.g * logPortLow(kd, r, e)
			} else {
				hi, lo := logPortJoin(kd, r, e)
				th, tl = powPortMul(&b.gm1, hi, lo+r*r*logPortPoly(r))
			}
		}
		rr, sc, tail := expPortSplit(th, tl)
		pm1 := sc + sc*expPortPoly(rr, tail) // u^(gamma-1)
		pow, dpow := pm1*u, selectPort(u < b.uMin, 0, gamma*pm1)
		a := b.balance(alpha, c, t)
		sum += a * pow * bce
		if grad {
			var dbce float64 // (1-t)/(1-q) - t/q
			if inClip {
				dbce = ((1-t)*q - t*om) / (q * om)
			}
			g[c] = T(k.scale * a * (dpow*(1-2*t)*bce + pow*dbce))
		}
	}
	return sum, slow
}

// binaryProbSlow returns one element's loss term (before the 1/C) and
// gradient exactly as binaryProbRow computes them.
//
//go:noinline
func binaryProbSlow(pc, t float64, c int, k *binaryConstants, grad bool) (term, gc float64) {
	q := clip(pc, k.eps, k.epsHi)
	bce := -(t*math.Log(q) + (1-t)*math.Log(1-q))
	u := t*(1-pc) + (1-t)*pc
	pow, dpow := k.focal(u)
	a := k.balance(c, t)
	poison := pc - pc
	term = a*pow*bce + poison
	if grad {
		var dbce float64
		if k.eps <= pc && pc <= k.epsHi {
			dbce = (1-t)/(1-q) - t/q
		}
		gc = k.scale*a*(dpow*(1-2*t)*bce+pow*dbce) + poison
	}
	return term, gc
}

// binaryLogitsRowPortableCovered computes one row of the binary variant on
// logits: the same contract as binaryLogitsRow, to SPEC's accuracy. It also
// reports whether every element took the fast path (covered): false where a
// row or element went to the reference formulas, which costs speed, never
// accuracy.
func binaryLogitsRowPortableCovered[T Float](g, y, z []T, k *binaryConstants) (loss float64, covered bool) {
	n := len(z)
	y = y[:n]
	if g != nil {
		g = g[:n]
	}
	b := newBinaryPortRow(k)
	if b.kind == portPowRef {
		return binaryLogitsRow(g, y, z, k), false
	}
	var alpha []float64
	if b.alpha == 2 {
		alpha = k.alpha[:n]
	}
	sum, slow := binaryLogits(g, y, z, k, &b, alpha)
	if slow {
		for c := range z {
			zc := float64(z[c])
			t := float64(float64(y[c])*k.keep) + k.half // as the main pass rounds it
			if math.Abs(zc) <= b.zMax && t >= 0 && t <= 1 {
				continue
			}
			if k.unknown.is(float64(y[c])) { // left out by the main pass (binaryPortSkipsUnknown)
				if g != nil {
					g[c] = 0
				}
				continue
			}
			term, gc := binaryLogitsSlow(zc, t, c, k, g != nil)
			sum += term
			if g != nil {
				g[c] = T(gc)
			}
		}
	}
	return k.scale * sum, !slow
}

// binaryLogitsRowPortable is binaryLogitsRowPortableCovered without the report.
func binaryLogitsRowPortable[T Float](g, y, z []T, k *binaryConstants) float64 {
	loss, _ := binaryLogitsRowPortableCovered(g, y, z, k)
	return loss
}

// binaryLogits is the main pass of binaryLogitsRowPortable, as
// binaryProbInt is of binaryProbRowPortable, for any gamma.
func binaryLogits[T Float](g, y, z []T, k *binaryConstants, b *binaryPortRow, alpha []float64) (sum float64, slow bool) {
	if b.kind == portPowFrac {
		return binaryLogitsFrac(g, y, z, k, b, alpha)
	}
	y = y[:len(z)]
	is32, grad := portIs32[T](), g != nil
	keep, half, zMax := k.keep, k.half, b.zMax
	for c := range z {
		zc := float64(z[c])
		t := float64(float64(y[c])*keep) + half // rounded as the second pass rounds it
		az := math.Abs(zc)
		// The fast path: t in [0, 1] and |z| <= zMax (e^-|z| normal, u = 0
		// or u^gamma normal).
		if !(az <= zMax && t >= 0 && t <= 1) {
			slow = true
			continue
		}
		rr, sc, tail := expPortSplit(-az, 0)
		ez := sc + sc*expPortPoly(rr, tail) // e^-|z| in (0, 1]
		up := 1 + ez
		inv := 1 / up
		small := ez * inv // e/(1+e)
		pos := zc >= 0
		sig, sigNeg := selectPort(pos, inv, small), selectPort(pos, small, inv)
		// log1p(e) = log(1+e rounded) + (e - (up-1))/up, exact for e in [0, 1].
		kd, r, e := logPortSplit(up)
		var lup float64
		if is32 {
			lup = logPortLow(kd, r, e)
		} else {
			lup = logPortFull(kd, r, e)
		}
		bce := (zc+az)*0.5 - zc*t + (lup + (ez-(up-1))*inv) // (z+|z|)/2 = max(z, 0) exactly
		u := t*sigNeg + (1-t)*sig
		pow, dpow := b.intPow(u)
		a := b.balance(alpha, c, t)
		sum += a * pow * bce
		if grad {
			du := (1 - 2*t) * sig * sigNeg
			dbce := (1-t)*sig - t*sigNeg
			g[c] = T(k.scale * a * (dpow*du*bce + pow*dbce))
		}
	}
	return sum, slow
}

// binaryLogitsFrac is binaryLogits for a gamma that is not an integer:
// u^(gamma-1) = exp((gamma-1)*log u), where log u, for hard labels, is
// -softplus(-z) or -softplus(z), from the pieces of the cross-entropy.
func binaryLogitsFrac[T Float](g, y, z []T, k *binaryConstants, b *binaryPortRow, alpha []float64) (sum float64, slow bool) {
	y = y[:len(z)]
	is32, grad := portIs32[T](), g != nil
	keep, half, zMax, gamma := k.keep, k.half, b.zMax, k.gamma
	for c := range z {
		zc := float64(z[c])
		t := float64(float64(y[c])*keep) + half // rounded as the second pass rounds it
		az := math.Abs(zc)
		if !(az <= zMax && t >= 0 && t <= 1) {
			slow = true
			continue
		}
		rr, sc, tail := expPortSplit(-az, 0)
		ez := sc + sc*expPortPoly(rr, tail)
		up := 1 + ez
		inv := 1 / up
		small := ez * inv
		pos := zc >= 0
		sig, sigNeg := selectPort(pos, inv, small), selectPort(pos, small, inv)
		kd, r, e := logPortSplit(up)
		var lup float64
		if is32 {
			lup = logPortLow(kd, r, e)
		} else {
			lup = logPortFull(kd, r, e)
		}
		l1p := lup + (ez-(up-1))*inv
		relu := (zc + az) * 0.5
		bce := relu - zc*t + l1p
		u := t*sigNeg + (1-t)*sig

		var th, tl float64 // (gamma-1)*log u
		if t == 0 || t == 1 {
			// u = sigmoid(z) or sigmoid(-z): log u = -softplus(-z) or
			// -softplus(z).
			lu := -(selectPort(t < 0.5, relu-zc, relu) + l1p)
			if th = b.gm1.g * lu; !is32 {
				th, tl = powPortMul(&b.gm1, lu, 0)
			}
		} else {
			kd, r, e := logPortSplit(u)
			if is32 {
				th = b.gm1.g * logPortLow(kd, r, e)
			} else {
				hi, lo := logPortJoin(kd, r, e)
				th, tl = powPortMul(&b.gm1, hi, lo+r*r*logPortPoly(r))
			}
		}
		rr, sc, tail = expPortSplit(th, tl)
		pm1 := sc + sc*expPortPoly(rr, tail) // u^(gamma-1)
		pow, dpow := pm1*u, gamma*pm1
		a := b.balance(alpha, c, t)
		sum += a * pow * bce
		if grad {
			du := (1 - 2*t) * sig * sigNeg
			dbce := (1-t)*sig - t*sigNeg
			g[c] = T(k.scale * a * (dpow*du*bce + pow*dbce))
		}
	}
	return sum, slow
}

// binaryLogitsSlow returns one element's loss term (before the 1/C) and
// gradient exactly as binaryLogitsRow computes them.
//
//go:noinline
func binaryLogitsSlow(zc, t float64, c int, k *binaryConstants, grad bool) (term, gc float64) {
	sig, sigNeg := sigmoids(zc)
	bce := math.Max(zc, 0) - zc*t + math.Log1p(math.Exp(-math.Abs(zc)))
	u := t*sigNeg + (1-t)*sig
	pow, dpow := k.focal(u)
	a := k.balance(c, t)
	poison := zc - zc
	term = a*pow*bce + poison
	if grad {
		du := (1 - 2*t) * sig * sigNeg
		dbce := (1-t)*sig - t*sigNeg
		gc = k.scale*a*(dpow*du*bce+pow*dbce) + poison
	}
	return term, gc
}
