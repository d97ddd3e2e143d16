//go:build goexperiment.simd && !noasm

package goloss

import "simd/archsimd"

// lanes512 is the number of float64 lanes of the kernels in this file.
const lanes512 = 8

// seedRow512F64 computes what seedRow computes, 8 lanes at a time, in three
// passes over the row: (1) S = sum p; (2) the loss terms, the count M of
// p/S inside the clip, and the gradient without its shared term e/C * M/S
// into part; (3) g = part + M-term. part may be g itself; it is only used
// when g is not nil. Sums run in lane accumulators added in lane order at
// the end, so a row gives the same bits on every call.
func seedRow512F64(g, y, p, w []float64, part []float64, k *seedVector) float64 {
	n := len(p)
	zero := archsimd.BroadcastFloat64x8(0)
	one := archsimd.BroadcastFloat64x8(1)

	sumAcc := zero
	for i := 0; i < n; i += lanes512 {
		sumAcc = sumAcc.Add(load512F64(p[i:]))
	}
	sum := sum512(sumAcc)

	sv := archsimd.BroadcastFloat64x8(sum)
	logLo := archsimd.BroadcastFloat64x8(k.logLo)
	ratioLo := archsimd.BroadcastFloat64x8(k.ratioLo)
	ratioHi := archsimd.BroadcastFloat64x8(k.ratioHi)
	gamma := archsimd.BroadcastFloat64x8(k.gamma)
	focalScale := archsimd.BroadcastFloat64x8(k.focalScale)
	smoothW := archsimd.BroadcastFloat64x8(k.smoothW)
	withGrad := g != nil
	focalAcc, logAcc, insideAcc := zero, zero, zero
	for i := 0; i < n; i += lanes512 {
		pv := load512F64(p[i:])
		yv := load512F64(y[i:])
		pos := yv.Greater(zero)
		var invP, gv archsimd.Float64x8
		if withGrad {
			invP = one.Div(pv)
			gv = zero
		}
		// The focal term and its gradient are 0 wherever y > 0 fails
		// (NaN labels included), so a vector without a positive label,
		// the common case of sparse multi-label data, skips them: adding
		// +0 leaves a lane sum unchanged, as no lane sum is ever -0.
		if pos.ToBits() != 0 {
			wv := load512F64(w[i:])
			// logCore512, written out so that the compiler inlines it.
			pc := clip512(pv, logLo, one)
			f, dk := logSplit512(pc, zero)
			ls, lh, lr := logPoly512(f)
			logP := logJoin512(f, dk, ls, lh, lr).Add(pc.Sub(pc))
			diff := yv.Sub(pv)

			// pow = diff^gamma and dpow = gamma * diff^(gamma-1), the
			// latter at its limit where diff = 0.
			var pow, dpow archsimd.Float64x8
			switch k.powKind {
			case powZero:
				pow, dpow = one, zero
			case powInt:
				pm1 := one // diff^(gamma-1) by squaring
				base := diff
				for e := k.powInt - 1; e != 0; e >>= 1 {
					if e&1 != 0 {
						pm1 = pm1.Mul(base)
					}
					if e > 1 {
						base = base.Mul(base)
					}
				}
				// diff - diff turns an infinite diff into NaN, as the
				// reference's pow/diff does.
				pow, dpow = pm1.Mul(diff), gamma.Mul(pm1).Add(diff.Sub(diff))
			default:
				pow = exp512(gamma.Mul(log512(diff)))
				dpow = gamma.Mul(pow).Div(diff).Masked(diff.NotEqual(zero))
			}
			focalAcc = focalAcc.Add(wv.Mul(pow).Mul(logP).Masked(pos))

			if withGrad {
				inLog := pv.GreaterEqual(logLo).And(pv.LessEqual(one))
				deriv := dpow.Mul(logP).Sub(pow.Mul(invP).Masked(inLog))
				gv = focalScale.Mul(wv).Mul(deriv).Masked(pos)
			}
		}

		q := pv.Div(sv)
		inside := q.GreaterEqual(ratioLo).And(q.LessEqual(ratioHi))
		insideAcc = insideAcc.Add(one.Masked(inside))
		qc := clip512(q, ratioLo, ratioHi)
		f, dk := logSplit512(qc, zero)
		ls, lh, lr := logPoly512(f)
		logQ := logJoin512(f, dk, ls, lh, lr).Add(qc.Sub(qc))
		if i+lanes512 > n {
			logQ = logQ.Masked(tailMask512(n - i))
		}
		logAcc = logAcc.Add(logQ)

		if withGrad {
			gv = gv.Sub(smoothW.Mul(invP).Masked(inside))
			store512F64(part[i:], gv)
		}
	}
	focal := -sum512(focalAcc)
	logSum := sum512(logAcc)
	inside := sum512(insideAcc)

	if withGrad {
		shared := archsimd.BroadcastFloat64x8(sharedTerm(k.smoothW, inside, sum))
		for i := 0; i < n; i += lanes512 {
			store512F64(g[i:], load512F64(part[i:]).Add(shared))
		}
	}
	archsimd.ClearAVXUpperBits()
	return k.focalScale*focal - k.smoothW*logSum
}
