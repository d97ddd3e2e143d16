package goloss

import "math"

// The portable kernel of the asymmetric variant: asymmetricRowPortable
// computes what the reference loop asymmetricRow computes, to SPEC's
// accuracy, in plain Go with the elementary functions of portable_math.go,
// and several times faster (BenchmarkPortableAsymmetric). The generic
// kernel runs it, and so do arm64 and the noasm build. How:
//
//   - a hard label (0 or 1) needs one log: log p for a positive, log(neg)
//     for a negative, the latter as log1p(-(1 - neg)) with the rounding
//     error of 1 - neg corrected (neg = 1 - p, or 1 - (p - m) with
//     probability shifting), so that it keeps its digits near p = 0 (or m);
//   - each side's power w = u^gamma and gamma*u^(gamma-1) is repeated
//     multiplication for an integer gamma and exp((gamma-1)*log u) for
//     another (asymPortSide.pow), never math.Pow;
//   - from logits, one e^-|z| gives p, 1 - p, dp/dz and both softpluses;
//     the decisions p >= eps, 1 - p >= eps and p >= m are made on z
//     against the bounds at which the reference's sigmoid crosses them
//     (asymLogitBounds64), so that they are the reference's for every z;
//   - an element the fast path does not cover (a soft label, a
//     non-finite input, p outside [0, 1], u^gamma or u^(gamma-1) out of
//     the normal range, a shifted 1 - p within rounding of eps) is
//     computed where it stands by the reference's formulas
//     (asymmetricConstants.term), and a row whose gammas the fast path
//     does not take (an integer above 64, another above 1000) by the
//     reference loop.
//
// The sum runs in float64 in the reference's order for both element
// types; float32 rows take the shorter log (logPortLow) and the power
// without the compensated product, as the other portable rows do.

// asymPortSide is the power of one side: the positives (gamma_pos) or the
// negatives (gamma_neg).
type asymPortSide struct {
	kind, n int // portPowOf
	gamma   float64
	gm1     portGamma // gamma - 1, for a gamma that is not an integer
	uMin    float64   // the fast path needs u = 0 or u >= uMin (portPowMin)
}

func newAsymPortSide(gamma float64) asymPortSide {
	s := asymPortSide{gamma: gamma}
	s.kind, s.n = portPowOf(gamma)
	if s.kind == portPowFrac {
		s.gm1 = portSplitGamma(gamma - 1)
	}
	s.uMin, _ = portPowMin(s.kind, s.n, gamma)
	return s
}

// covers reports whether the fast path computes u^gamma for u in [0, 1]:
// u = 0 or u >= uMin.
func (s *asymPortSide) covers(u float64) bool { return u == 0 || u >= s.uMin }

// pow returns w = u^gamma and dw = gamma*u^(gamma-1), 0 where u = 0 (the
// limit the reference takes: ce = 0 there), for u that covers allows.
// 0^0 = 1.
func (s *asymPortSide) pow(u float64, is32 bool) (w, dw float64) {
	switch s.kind {
	case portPowZero:
		return 1, 0
	case portPowInt:
		switch s.n {
		case 1:
			return u, selectPort(u > 0, 1, 0)
		case 2:
			return u * u, 2 * u
		}
		return portIntPow(u, s.n)
	}
	// u^(gamma-1) = exp((gamma-1)*log u); u = 0 takes log 1, and then w = 0
	// and dw = 0.
	kd, r, e := logPortSplit(selectPort(u > 0, u, 1))
	var th, tl float64
	if is32 {
		th = s.gm1.g * logPortLow(kd, r, e)
	} else {
		hi, lo := logPortJoin(kd, r, e)
		th, tl = powPortMul(&s.gm1, hi, lo+r*r*logPortPoly(r))
	}
	rr, sc, tail := expPortSplit(th, tl)
	pm1 := sc + sc*expPortPoly(rr, tail)
	return pm1 * u, selectPort(u > 0, s.gamma*pm1, 0)
}

// asymPortRow holds what the portable asymmetric kernel computes once per
// call.
type asymPortRow struct {
	pos, neg asymPortSide
	logMin   float64 // log p on the fast path needs p >= logMin: p >= eps and normal
	// From logits: p >= eps exactly when z >= zEps, 1 - p >= eps exactly
	// when !(z >= zNegEps), p >= m exactly when z >= zClip.
	zEps, zNegEps, zClip float64
}

func newAsymPortRow(k *asymmetricConstants) asymPortRow {
	a := asymPortRow{logMin: math.Max(k.eps, 0x1p-1022)}
	if k.focal { // else w = 1: both gammas are 0
		a.pos, a.neg = newAsymPortSide(k.gammaPos), newAsymPortSide(k.gammaNeg)
	}
	if k.logits {
		a.zEps, a.zNegEps, a.zClip = asymLogitBounds64(k)
	}
	return a
}

// asymmetricRowPortableCovered computes one row's loss and, when g is not
// nil, its gradient: the same contract as asymmetricRow, to SPEC's
// accuracy. It also reports whether every known element took the fast
// path (covered): false where an element or the row went to the reference
// formulas, which costs speed, never accuracy.
func asymmetricRowPortableCovered[T Float](g, y, x, cw []T, k *asymmetricConstants, a *asymPortRow) (loss float64, covered bool) {
	if a.pos.kind == portPowRef || a.neg.kind == portPowRef {
		return asymmetricRow(g, y, x, cw, k), false
	}
	if k.logits {
		return asymPortLogits(g, y, x, cw, k, a)
	}
	return asymPortProb(g, y, x, cw, k, a)
}

// asymmetricRowPortable is asymmetricRowPortableCovered without the report.
func asymmetricRowPortable[T Float](g, y, x, cw []T, k *asymmetricConstants, a *asymPortRow) float64 {
	loss, _ := asymmetricRowPortableCovered(g, y, x, cw, k, a)
	return loss
}

// asymPortLog1pNeg returns log(neg) = log1p(-negC) for neg = fl(1 - negC)
// in [2^-53, 1] and negC in [0, 1]: the log of the rounded neg plus the
// rounding error of 1 - negC over neg (Goldberg's log1p).
func asymPortLog1pNeg(neg, negC float64, is32 bool) float64 {
	kd, r, e := logPortSplit(neg)
	var l float64
	if is32 {
		l = logPortLow(kd, r, e)
	} else {
		l = logPortFull(kd, r, e)
	}
	return l + ((1-neg)-negC)/neg
}

// asymPortProb is asymmetricRowPortableCovered on probabilities.
func asymPortProb[T Float](g, y, x, cw []T, k *asymmetricConstants, a *asymPortRow) (loss float64, covered bool) {
	y = y[:len(x)]
	if g != nil {
		g = g[:len(x)]
	}
	is32, grad := portIs32[T](), g != nil
	eps, logEps, clip, logMin := k.eps, k.logEps, k.clip, a.logMin
	covered = true
	var sum float64 // sum_c cw * w * ce over the known classes
	for c := range x {
		yc, pc := float64(y[c]), float64(x[c])
		if k.unknown.is(yc) {
			if grad {
				g[c] = 0
			}
			continue
		}
		wc := 1.0
		if len(cw) != 0 {
			wc = float64(cw[c])
		}
		var ce, dce, w, dwce float64
		fast := math.Float64bits(pc) <= 0x3ff0000000000000 // p in [+0, 1]
		switch {
		case !fast:
		case yc == 1: // ce = log(max(p, eps)), u = 1 - p, du/dp = -1
			u := 1 - pc
			switch {
			case !a.pos.covers(u):
				fast = false
			case pc >= logMin:
				kd, r, e := logPortSplit(pc)
				if is32 {
					ce = logPortLow(kd, r, e)
				} else {
					ce = logPortFull(kd, r, e)
				}
				dce = 1 / pc
			case pc < eps:
				ce = logEps
			default: // a subnormal float64 p >= eps
				fast = false
			}
			var dw float64
			w, dw = a.pos.pow(u, is32)
			dwce = -dw * ce
		case yc == 0: // ce = log(max(neg, eps)), u = 1 - neg
			negC, neg, dNeg := pc, 1-pc, -1.0
			if clip > 0 {
				if pc >= clip {
					negC = pc - clip
					neg = 1 - negC
				} else {
					negC, neg, dNeg = 0, 1, 0
				}
			}
			if !a.neg.covers(negC) {
				fast = false
			}
			switch {
			case negC == 0: // neg = 1 (p below m, or p = 0): ce = 0, and dce = 0 or -1
				dce = dNeg
			case neg >= eps:
				ce = asymPortLog1pNeg(neg, negC, is32)
				dce = dNeg / neg
			default:
				ce = logEps
			}
			var dw float64
			w, dw = a.neg.pow(negC, is32)
			dwce = -dNeg * dw * ce
		default:
			fast = false
		}
		if !fast {
			covered = false
			term, gc := k.term(yc, pc, wc)
			sum += term
			if grad {
				g[c] = T(gc)
			}
			continue
		}
		sum += wc * w * ce
		if grad {
			d := w * dce
			if k.focalGrad {
				d += dwce
			}
			g[c] = T(-wc*d + 0) // + 0: +0 where the reference adds its +0 poison
		}
	}
	return -sum, covered
}

// asymPortLogits is asymmetricRowPortableCovered on logits.
func asymPortLogits[T Float](g, y, x, cw []T, k *asymmetricConstants, a *asymPortRow) (loss float64, covered bool) {
	y = y[:len(x)]
	if g != nil {
		g = g[:len(x)]
	}
	is32, grad := portIs32[T](), g != nil
	eps, logEps, clip := k.eps, k.logEps, k.clip
	// The guard band of neg >= eps with probability shifting, where neg
	// comes from this p, not the reference's: a few ulp apart.
	epsLo, epsHi := eps*(1-0x1p-40), eps*(1+0x1p-40)
	covered = true
	var sum float64 // sum_c cw * w * ce over the known classes
	for c := range x {
		yc, zc := float64(y[c]), float64(x[c])
		if k.unknown.is(yc) {
			if grad {
				g[c] = 0
			}
			continue
		}
		wc := 1.0
		if len(cw) != 0 {
			wc = float64(cw[c])
		}
		az := math.Abs(zc)
		fast := az <= portExpMax && (yc == 1 || yc == 0)
		var ce, dce, w, dwce, dpdz float64
		if fast {
			rr, sc, tail := expPortSplit(-az, 0)
			ez := sc + sc*expPortPoly(rr, tail) // e^-|z| in (0, 1]
			up := 1 + ez
			inv := 1 / up
			small := ez * inv
			p, q := selectPort(zc >= 0, inv, small), selectPort(zc >= 0, small, inv)
			dpdz = p * q
			// log1p(e^-|z|) = log(1+e rounded) + (e - (up-1))/up, for the
			// softpluses: a negative with probability shifting needs none.
			var l1p float64
			if yc == 1 || clip == 0 {
				kd, r, e := logPortSplit(up)
				if is32 {
					l1p = logPortLow(kd, r, e)
				} else {
					l1p = logPortFull(kd, r, e)
				}
				l1p += (ez - (up - 1)) * inv
			}
			relu := (zc + az) * 0.5 // max(z, 0), exactly
			if yc == 1 {
				// ce = log(max(p, eps)) = -softplus(-z) where p >= eps; u = 1 - p.
				if zc >= a.zEps {
					ce, dce = -(relu - zc + l1p), 1/p
				} else {
					ce = logEps
				}
				fast = a.pos.covers(q)
				var dw float64
				w, dw = a.pos.pow(q, is32)
				dwce = -dw * ce
			} else {
				negC, neg, dNeg := p, q, -1.0
				if clip > 0 {
					if zc >= a.zClip {
						negC = math.Max(p-clip, 0)
						neg = 1 - negC
					} else {
						negC, neg, dNeg = 0, 1, 0
					}
					switch {
					case negC == 0: // neg = 1: ce = 0, and dce = 0 or -1
						dce = dNeg
					case neg >= epsHi:
						ce, dce = asymPortLog1pNeg(neg, negC, is32), dNeg/neg
					case neg < epsLo:
						ce = logEps
					default:
						fast = false
					}
				} else if !(zc >= a.zNegEps) { // 1 - p >= eps: ce = -softplus(z)
					ce, dce = -(relu + l1p), -1/q
				} else {
					ce = logEps
				}
				fast = fast && a.neg.covers(negC)
				var dw float64
				w, dw = a.neg.pow(negC, is32)
				dwce = -dNeg * dw * ce
			}
		}
		if !fast {
			covered = false
			term, gc := k.term(yc, zc, wc)
			sum += term
			if grad {
				g[c] = T(gc)
			}
			continue
		}
		sum += wc * w * ce
		if grad {
			d := w * dce
			if k.focalGrad {
				d += dwce
			}
			g[c] = T(-wc*d*dpdz + 0) // + 0: +0 where the reference adds its +0 poison
		}
	}
	return -sum, covered
}
